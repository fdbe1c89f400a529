//! The ONNX model structure we emit, encoded with [`proto`](super::proto).
//!
//! Field numbers follow `onnx/onnx.proto` (ModelProto, GraphProto, NodeProto, AttributeProto,
//! TensorProto, ValueInfoProto, TypeProto, TensorShapeProto). Only float32 and int64 tensors occur.

use super::proto::Msg;

/// ONNX `TensorProto.DataType` values we use.
const FLOAT: i64 = 1;
const INT64: i64 = 7;

/// The opset we target and the IR version that introduced it.
pub const OPSET: i64 = 13;
const IR_VERSION: i64 = 7;

#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Str(String),
}

#[derive(Clone, Debug)]
pub struct Node {
    pub op_type: &'static str,
    pub name: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: Vec<(&'static str, Attr)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

#[derive(Clone, Debug)]
pub struct Initializer {
    pub name: String,
    pub dims: Vec<i64>,
    pub data: Data,
}

/// A float32 graph input or output with a static shape.
#[derive(Clone, Debug)]
pub struct ValueInfo {
    pub name: String,
    pub dims: Vec<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub name: String,
    pub nodes: Vec<Node>,
    pub initializers: Vec<Initializer>,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
}

fn attribute(name: &str, attr: &Attr) -> Msg {
    // AttributeProto: name=1, i=3, s=4, ints=8, type=20 (INT=2, STRING=3, INTS=7).
    let mut m = Msg::new();
    m.string(1, name);
    match attr {
        Attr::Int(v) => m.int(3, *v).int(20, 2),
        Attr::Str(s) => m.string(4, s).int(20, 3),
        Attr::Ints(vs) => m.ints(8, vs).int(20, 7),
    };
    m
}

fn node(n: &Node) -> Msg {
    // NodeProto: input=1, output=2, name=3, op_type=4, attribute=5.
    let mut m = Msg::new();
    for i in &n.inputs {
        m.string(1, i);
    }
    for o in &n.outputs {
        m.string(2, o);
    }
    m.string(3, &n.name).string(4, n.op_type);
    for (name, attr) in &n.attrs {
        m.msg(5, &attribute(name, attr));
    }
    m
}

fn tensor(t: &Initializer) -> Msg {
    // TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian).
    let mut m = Msg::new();
    m.ints(1, &t.dims);
    let raw: Vec<u8> = match &t.data {
        Data::F32(v) => {
            m.int(2, FLOAT);
            v.iter().flat_map(|x| x.to_le_bytes()).collect()
        }
        Data::I64(v) => {
            m.int(2, INT64);
            v.iter().flat_map(|x| x.to_le_bytes()).collect()
        }
    };
    m.string(8, &t.name).bytes(9, &raw);
    m
}

fn value_info(v: &ValueInfo) -> Msg {
    // ValueInfoProto{name=1, type=2}; TypeProto{tensor_type=1}; Tensor{elem_type=1, shape=2};
    // TensorShapeProto{dim=1}; Dimension{dim_value=1}.
    let mut shape = Msg::new();
    for &d in &v.dims {
        shape.msg(1, Msg::new().int(1, d));
    }
    let mut tensor_type = Msg::new();
    tensor_type.int(1, FLOAT).msg(2, &shape);
    let mut ty = Msg::new();
    ty.msg(1, &tensor_type);
    let mut m = Msg::new();
    m.string(1, &v.name).msg(2, &ty);
    m
}

fn graph(g: &Graph) -> Msg {
    // GraphProto: node=1, name=2, initializer=5, input=11, output=12.
    let mut m = Msg::new();
    for n in &g.nodes {
        m.msg(1, &node(n));
    }
    m.string(2, &g.name);
    for t in &g.initializers {
        m.msg(5, &tensor(t));
    }
    for i in &g.inputs {
        m.msg(11, &value_info(i));
    }
    for o in &g.outputs {
        m.msg(12, &value_info(o));
    }
    m
}

/// Encodes a whole `ModelProto` (ir_version=1, producer_name=2, producer_version=3, graph=7,
/// opset_import=8 with OperatorSetIdProto{domain=1, version=2}).
pub fn encode_model(g: &Graph, producer: &str, doc: &str) -> Vec<u8> {
    let mut opset = Msg::new();
    opset.string(1, "").int(2, OPSET);
    let mut m = Msg::new();
    m.int(1, IR_VERSION)
        .string(2, producer)
        .string(3, "1")
        .string(6, doc)
        .msg(7, &graph(g))
        .msg(8, &opset);
    m.into_bytes()
}
