//! The parts of the TFLite schema (version 3) that the BlazePose models use, read with [`flatbuf`].
//!
//! Field ids follow `tensorflow/lite/schema/schema.fbs`. Union fields take two ids (type, then value).

use super::convert::ConvertError;
use super::flatbuf::Table;

/// Builtin operator codes that occur in the pinned models.
pub mod op {
    pub const ADD: i32 = 0;
    pub const CONCATENATION: i32 = 2;
    pub const CONV_2D: i32 = 3;
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    pub const DEPTH_TO_SPACE: i32 = 5;
    pub const DEQUANTIZE: i32 = 6;
    pub const LOGISTIC: i32 = 14;
    pub const MAX_POOL_2D: i32 = 17;
    pub const RESHAPE: i32 = 22;
    pub const RESIZE_BILINEAR: i32 = 23;
    pub const PAD: i32 = 34;
    pub const DENSIFY: i32 = 124;
}

/// Element types (`TensorType` in the schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    I32,
    Other(u8),
}

impl DType {
    fn from_code(code: u8) -> Self {
        match code {
            0 => DType::F32,
            1 => DType::F16,
            2 => DType::I32,
            other => DType::Other(other),
        }
    }
}

/// `Padding` in the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    Same,
    Valid,
}

/// `ActivationFunctionType` restricted to what a converter can express.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    None,
    Relu,
    Relu6,
    Other(i8),
}

impl Activation {
    fn from_code(code: i8) -> Self {
        match code {
            0 => Activation::None,
            1 => Activation::Relu,
            3 => Activation::Relu6,
            other => Activation::Other(other),
        }
    }
}

/// One storage level of a sparse tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DimMeta {
    Dense(usize),
    SparseCsr {
        segments: Vec<usize>,
        indices: Vec<usize>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sparsity {
    pub traversal_order: Vec<usize>,
    pub block_map: Vec<usize>,
    pub levels: Vec<DimMeta>,
}

#[derive(Clone, Debug)]
pub struct Tensor<'a> {
    pub name: String,
    pub shape: Vec<i64>,
    pub dtype: DType,
    /// Constant data (`None` for activations: the buffer is empty).
    pub data: Option<&'a [u8]>,
    pub sparsity: Option<Sparsity>,
}

/// Spatial options shared by convolutions and pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub padding: Padding,
    pub stride: [i64; 2],
    pub dilation: [i64; 2],
    /// Pooling only: filter height and width.
    pub filter: [i64; 2],
}

#[derive(Clone, Debug, PartialEq)]
pub enum Options {
    None,
    Conv {
        window: Window,
        act: Activation,
    },
    Depthwise {
        window: Window,
        act: Activation,
        multiplier: i32,
    },
    Pool {
        window: Window,
        act: Activation,
    },
    Add {
        act: Activation,
    },
    Concat {
        axis: i32,
        act: Activation,
    },
    Reshape {
        new_shape: Vec<i32>,
    },
    Resize {
        align_corners: bool,
        half_pixel: bool,
    },
    DepthToSpace {
        block: i64,
    },
}

#[derive(Clone, Debug)]
pub struct Operator {
    pub code: i32,
    /// Tensor indices; -1 marks an omitted optional input.
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub options: Options,
}

#[derive(Clone, Debug)]
pub struct Model<'a> {
    pub tensors: Vec<Tensor<'a>>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    pub operators: Vec<Operator>,
}

/// The most elements one tensor may have, and all constants together once expanded (sparse ones are
/// stored small): 2^26, 256 MiB of f32. The pinned models' largest tensor has about 1.1 M elements
/// and their constants about 3.2 M together.
pub const MAX_ELEMENTS: usize = 1 << 26;
/// The highest tensor rank accepted (TFLite's kernels go to 6). Bounds the sparse walk's recursion.
pub const MAX_RANK: usize = 8;

fn invalid(what: impl Into<String>) -> ConvertError {
    ConvertError::Invalid(what.into())
}

fn unsupported(what: impl Into<String>) -> ConvertError {
    ConvertError::Unsupported(what.into())
}

fn to_indices(v: Vec<i32>, what: &str) -> Result<Vec<usize>, ConvertError> {
    v.into_iter()
        .map(|i| usize::try_from(i).map_err(|_| invalid(format!("negative {what}: {i}"))))
        .collect()
}

/// Reads a model and checks what the converter relies on ([`validate`]). Only one subgraph is
/// supported (all pinned models have one).
pub fn parse(buf: &[u8]) -> Result<Model<'_>, ConvertError> {
    if buf.len() < 8 || &buf[4..8] != b"TFL3" {
        return Err(invalid(
            "not a TFLite schema v3 file (missing TFL3 identifier)",
        ));
    }
    let root = Table::root(buf)?;
    let codes = read_opcodes(&root)?;
    let buffers = read_buffers(&root)?;
    let subgraphs = root
        .vector(2)?
        .ok_or_else(|| invalid("model has no subgraphs"))?;
    if subgraphs.len() != 1 {
        return Err(invalid(format!(
            "expected one subgraph, found {}",
            subgraphs.len()
        )));
    }
    let sg = subgraphs.table(0)?;
    let tensors = match sg.vector(0)? {
        Some(v) => v
            .tables()?
            .iter()
            .map(|t| read_tensor(t, &buffers))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let inputs = to_indices(
        sg.vector(1)?
            .map(|v| v.i32s())
            .transpose()?
            .unwrap_or_default(),
        "input",
    )?;
    let outputs = to_indices(
        sg.vector(2)?
            .map(|v| v.i32s())
            .transpose()?
            .unwrap_or_default(),
        "output",
    )?;
    let operators = match sg.vector(3)? {
        Some(v) => v
            .tables()?
            .iter()
            .enumerate()
            .map(|(k, t)| read_operator(t, &codes).map_err(|e| e.context(&format!("operator {k}"))))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let model = Model {
        tensors,
        inputs,
        outputs,
        operators,
    };
    validate(&model)?;
    Ok(model)
}

/// What a corrupt file could otherwise turn into a panic, a huge allocation or a deep recursion:
/// every tensor index in range (-1, an absent optional input, only among operator inputs), ranks at
/// most [`MAX_RANK`], sizes at most [`MAX_ELEMENTS`], sparsity with one level per dimension.
fn validate(model: &Model<'_>) -> Result<(), ConvertError> {
    let mut constant_elements = 0usize;
    for (i, t) in model.tensors.iter().enumerate() {
        let n = check_tensor(t).map_err(|e| e.context(&format!("tensor {i} ({})", t.name)))?;
        if t.data.is_some() || t.sparsity.is_some() {
            constant_elements = constant_elements.saturating_add(n);
        }
    }
    if constant_elements > MAX_ELEMENTS {
        return Err(invalid(format!(
            "constants of {constant_elements} elements in all (at most {MAX_ELEMENTS})"
        )));
    }
    let count = model.tensors.len();
    for (what, indices) in [
        ("graph input", &model.inputs),
        ("graph output", &model.outputs),
    ] {
        if let Some(i) = indices.iter().find(|&&i| i >= count) {
            return Err(invalid(format!("{what} {i} out of {count} tensors")));
        }
    }
    for (k, o) in model.operators.iter().enumerate() {
        check_operands(o, count)
            .map_err(|e| e.context(&format!("operator {k} (code {})", o.code)))?;
    }
    Ok(())
}

/// An operator's inputs are tensor indices or -1 (an absent optional input); its outputs are indices.
fn check_operands(o: &Operator, count: usize) -> Result<(), ConvertError> {
    let inputs = o.inputs.iter().filter(|&&i| i != -1).map(|&i| ("input", i));
    let outputs = o.outputs.iter().map(|&i| ("output", i));
    for (what, i) in inputs.chain(outputs) {
        if usize::try_from(i).map_or(true, |i| i >= count) {
            return Err(invalid(format!("{what} tensor {i} out of {count} tensors")));
        }
    }
    Ok(())
}

/// A tensor's rank, dimensions and sparsity; returns its element count.
fn check_tensor(t: &Tensor<'_>) -> Result<usize, ConvertError> {
    if t.shape.len() > MAX_RANK {
        return Err(invalid(format!(
            "rank {} (at most {MAX_RANK})",
            t.shape.len()
        )));
    }
    let elements = t
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
        .ok_or_else(|| invalid(format!("bad shape {:?}", t.shape)))?;
    if elements > MAX_ELEMENTS {
        return Err(invalid(format!(
            "shape {:?} has {elements} elements (at most {MAX_ELEMENTS})",
            t.shape
        )));
    }
    if let Some(s) = &t.sparsity {
        if !s.block_map.is_empty() {
            return Err(unsupported("block-sparse tensors"));
        }
        if s.traversal_order.len() != t.shape.len() || s.levels.len() != t.shape.len() {
            return Err(invalid(format!(
                "sparsity of {} levels and {} traversal entries for rank {}",
                s.levels.len(),
                s.traversal_order.len(),
                t.shape.len()
            )));
        }
    }
    Ok(elements)
}

/// The schema's rule: the operator code is the larger of `builtin_code` and `deprecated_builtin_code`.
fn read_opcodes(root: &Table<'_>) -> Result<Vec<i32>, ConvertError> {
    let Some(v) = root.vector(1)? else {
        return Ok(Vec::new());
    };
    v.tables()?
        .iter()
        .map(|t| Ok(i32::from(t.i8(0, 0)?).max(t.i32(3, 0)?)))
        .collect()
}

fn read_buffers<'a>(root: &Table<'a>) -> Result<Vec<Option<&'a [u8]>>, ConvertError> {
    let Some(v) = root.vector(4)? else {
        return Ok(Vec::new());
    };
    v.tables()?
        .iter()
        .map(|b| {
            // `offset` is a ulong: a file over 4 GiB may point past 2^32 with zero low bits.
            if b.u64(1, 0)? != 0 {
                return Err(invalid(
                    "buffers stored outside the flatbuffer are not supported",
                ));
            }
            Ok(b.vector(0)?
                .map(|d| d.bytes(1))
                .transpose()?
                .filter(|d| !d.is_empty()))
        })
        .collect()
}

fn read_tensor<'a>(
    t: &Table<'a>,
    buffers: &[Option<&'a [u8]>],
) -> Result<Tensor<'a>, ConvertError> {
    let shape = t
        .vector(0)?
        .map(|v| v.i32s())
        .transpose()?
        .unwrap_or_default();
    let buffer = t.u32(2, 0)? as usize;
    let data = *buffers
        .get(buffer)
        .ok_or_else(|| invalid(format!("buffer index {buffer} out of range")))?;
    Ok(Tensor {
        name: t.string(3)?.unwrap_or_default().to_owned(),
        shape: shape.into_iter().map(i64::from).collect(),
        dtype: DType::from_code(t.u8(1, 0)?),
        data,
        sparsity: t.table(6)?.map(|s| read_sparsity(&s)).transpose()?,
    })
}

fn read_sparsity(s: &Table<'_>) -> Result<Sparsity, ConvertError> {
    let traversal_order = to_indices(
        s.vector(0)?
            .map(|v| v.i32s())
            .transpose()?
            .unwrap_or_default(),
        "order",
    )?;
    let block_map = to_indices(
        s.vector(1)?
            .map(|v| v.i32s())
            .transpose()?
            .unwrap_or_default(),
        "block",
    )?;
    let levels = match s.vector(2)? {
        Some(v) => v
            .tables()?
            .iter()
            .map(read_dim_meta)
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok(Sparsity {
        traversal_order,
        block_map,
        levels,
    })
}

fn read_dim_meta(d: &Table<'_>) -> Result<DimMeta, ConvertError> {
    match d.u8(0, 0)? {
        0 => Ok(DimMeta::Dense(
            usize::try_from(d.i32(1, 0)?).map_err(|_| invalid("negative dense_size"))?,
        )),
        1 => Ok(DimMeta::SparseCsr {
            segments: read_index_union(d, 2)?,
            indices: read_index_union(d, 4)?,
        }),
        other => Err(invalid(format!("unknown dimension type {other}"))),
    }
}

/// `SparseIndexVector` union: type byte at `type_id`, table at `type_id + 1` whose field 0 is the values.
fn read_index_union(d: &Table<'_>, type_id: u16) -> Result<Vec<usize>, ConvertError> {
    let kind = d.u8(type_id, 0)?;
    let table = d
        .table(type_id + 1)?
        .ok_or_else(|| invalid("sparse index vector missing"))?;
    let Some(values) = table.vector(0)? else {
        return Ok(Vec::new());
    };
    match kind {
        1 => to_indices(values.i32s()?, "sparse index"),
        2 => Ok(values.u16s()?.into_iter().map(usize::from).collect()),
        3 => Ok(values.bytes(1)?.iter().map(|&b| usize::from(b)).collect()),
        other => Err(invalid(format!("unknown sparse index vector type {other}"))),
    }
}

fn read_operator(t: &Table<'_>, codes: &[i32]) -> Result<Operator, ConvertError> {
    let index = t.u32(0, 0)? as usize;
    let code = *codes
        .get(index)
        .ok_or_else(|| invalid(format!("opcode index {index} out of range")))?;
    let inputs = t
        .vector(1)?
        .map(|v| v.i32s())
        .transpose()?
        .unwrap_or_default();
    let outputs = t
        .vector(2)?
        .map(|v| v.i32s())
        .transpose()?
        .unwrap_or_default();
    let options = match t.table(4)? {
        Some(o) => read_options(code, &o)?,
        None => Options::None,
    };
    Ok(Operator {
        code,
        inputs,
        outputs,
        options,
    })
}

fn padding(code: u8) -> Result<Padding, ConvertError> {
    match code {
        0 => Ok(Padding::Same),
        1 => Ok(Padding::Valid),
        other => Err(invalid(format!("unknown padding {other}"))),
    }
}

/// `values` (strides, dilations, sizes) are all at least 1.
fn at_least_one<const N: usize>(what: &str, values: [i64; N]) -> Result<[i64; N], ConvertError> {
    if values.iter().all(|&v| v >= 1) {
        Ok(values)
    } else {
        Err(invalid(format!("{what} {values:?} (each at least 1)")))
    }
}

/// Reads the builtin options table of the operators we convert (field ids per option table).
fn read_options(code: i32, o: &Table<'_>) -> Result<Options, ConvertError> {
    let act = |id| -> Result<Activation, ConvertError> { Ok(Activation::from_code(o.i8(id, 0)?)) };
    let window = |dil_w: u16, dil_h: u16, filter: [i64; 2]| -> Result<Window, ConvertError> {
        let stride = [i64::from(o.i32(2, 1)?), i64::from(o.i32(1, 1)?)];
        let dilation = [i64::from(o.i32(dil_h, 1)?), i64::from(o.i32(dil_w, 1)?)];
        Ok(Window {
            padding: padding(o.u8(0, 0)?)?,
            stride: at_least_one("stride", stride)?,
            dilation: at_least_one("dilation", dilation)?,
            filter,
        })
    };
    Ok(match code {
        op::CONV_2D => Options::Conv {
            window: window(4, 5, [0, 0])?,
            act: act(3)?,
        },
        op::DEPTHWISE_CONV_2D => Options::Depthwise {
            window: window(5, 6, [0, 0])?,
            act: act(4)?,
            multiplier: o.i32(3, 1)?,
        },
        op::MAX_POOL_2D => {
            let filter = at_least_one(
                "filter size",
                [i64::from(o.i32(4, 1)?), i64::from(o.i32(3, 1)?)],
            )?;
            // Pool2DOptions has no dilation: ids 90/91 are never present, so the default 1 is used.
            Options::Pool {
                window: window(90, 91, filter)?,
                act: act(5)?,
            }
        }
        op::ADD => Options::Add { act: act(0)? },
        op::CONCATENATION => Options::Concat {
            axis: o.i32(0, 0)?,
            act: act(1)?,
        },
        op::RESHAPE => Options::Reshape {
            new_shape: o
                .vector(0)?
                .map(|v| v.i32s())
                .transpose()?
                .unwrap_or_default(),
        },
        op::RESIZE_BILINEAR => Options::Resize {
            align_corners: o.bool(2)?,
            half_pixel: o.bool(3)?,
        },
        op::DEPTH_TO_SPACE => Options::DepthToSpace {
            block: at_least_one("block size", [i64::from(o.i32(0, 1)?)])?[0],
        },
        _ => Options::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_tflite::{
        self as tm, F32, Field, OP_INPUTS, OP_OUTPUTS, Obj, TestModel,
    };

    /// The error `m` gives: it must be refused when parsed, without a panic.
    fn parse_error(m: &TestModel) -> String {
        match parse(&m.bytes()) {
            Ok(_) => panic!("malformed model accepted: {m:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn test_models_parse() {
        let m = tm::logistic().bytes();
        let logistic = parse(&m).unwrap();
        assert_eq!(logistic.operators[0].code, op::LOGISTIC);
        assert_eq!(logistic.tensors[1].shape, vec![1, 2, 2, 1]);
        let m = tm::conv().bytes();
        let conv = parse(&m).unwrap();
        let Options::Conv { window, act } = &conv.operators[0].options else {
            panic!("{:?}", conv.operators[0].options);
        };
        assert_eq!((window.stride, window.dilation), ([2, 2], [1, 1]));
        assert_eq!(*act, Activation::Relu);
    }

    #[test]
    fn operand_indices_must_name_tensors() {
        let cases = [
            (
                OP_INPUTS,
                vec![100_000],
                "input tensor 100000 out of 2 tensors",
            ),
            (OP_INPUTS, vec![-2], "input tensor -2 out of 2 tensors"),
            (OP_OUTPUTS, vec![7], "output tensor 7 out of 2 tensors"),
            (OP_OUTPUTS, vec![-1], "output tensor -1 out of 2 tensors"),
        ];
        for (field, indices, expected) in cases {
            let mut m = tm::logistic();
            m.operators[0].set(field, Field::Ints(indices));
            let err = parse_error(&m);
            assert!(err.contains(expected), "{err}");
            assert!(err.contains("operator 0 (code 14)"), "{err}");
        }
        let mut m = tm::logistic();
        m.outputs = vec![2];
        assert!(parse_error(&m).contains("graph output 2 out of 2"));
        // -1 marks an absent optional input and is accepted here (the converter decides).
        let mut m = tm::logistic();
        m.operators[0].set(OP_INPUTS, Field::Ints(vec![0, -1]));
        parse(&m.bytes()).unwrap();
    }

    #[test]
    fn ranks_and_sizes_are_bounded() {
        let cases: [(&[i32], &str); 4] = [
            (&[1; 9], "rank 9 (at most 8)"),
            (&[1 << 20, 1 << 20], "has 1099511627776 elements"),
            (&[i32::MAX; 8], "bad shape"),
            (&[2, -1], "bad shape"),
        ];
        for (shape, expected) in cases {
            let mut m = tm::logistic();
            m.tensors[1].set(tm::SHAPE, Field::Ints(shape.to_vec()));
            let err = parse_error(&m);
            assert!(err.contains(expected), "{err}");
            assert!(err.contains("tensor 1 (output)"), "{err}");
        }
    }

    #[test]
    fn constants_together_are_bounded() {
        // Two sparse constants of 2^26 elements each: each is allowed, both are not.
        let mut m = tm::logistic();
        for name in ["a", "b"] {
            let t = m.tensor(name, &[1 << 13, 1 << 13], F32, &[]);
            let levels = vec![tm::dense_level(1 << 13), tm::dense_level(1 << 13)];
            m.tensors[t as usize].set(tm::SPARSITY, tm::sparsity(&[0, 1], levels));
        }
        let err = parse_error(&m);
        assert!(err.contains("134217728 elements in all"), "{err}");
    }

    #[test]
    fn sparsity_has_one_level_per_dimension() {
        // Many levels for a rank-1 tensor: refused before anything recurses over them.
        let mut m = tm::logistic();
        let t = m.tensor("s", &[4], F32, &[]);
        let levels = vec![tm::dense_level(4); 10_000];
        let order = vec![0; 10_000];
        m.tensors[t as usize].set(tm::SPARSITY, tm::sparsity(&order, levels));
        let err = parse_error(&m);
        assert!(err.contains("sparsity of 10000 levels"), "{err}");

        let mut m = tm::logistic();
        let t = m.tensor("s", &[4], F32, &[]);
        let block_sparse = Obj(vec![
            (0, Field::Ints(vec![0, 1])),
            (1, Field::Ints(vec![0])),
            (
                2,
                Field::Tables(vec![tm::dense_level(2), tm::dense_level(2)]),
            ),
        ]);
        m.tensors[t as usize].set(tm::SPARSITY, Field::Table(block_sparse));
        assert!(parse_error(&m).contains("unsupported: tensor 2 (s): block-sparse"));
    }

    #[test]
    fn window_sizes_are_at_least_one() {
        let conv_with = |field: u16| {
            let mut m = tm::conv();
            tm::options(&mut m, 0).set(field, Field::I32(0));
            m
        };
        // Conv2DOptions: 1 stride_w, 2 stride_h, 4 dilation_w, 5 dilation_h.
        assert!(parse_error(&conv_with(1)).contains("stride [2, 0] (each at least 1)"));
        assert!(parse_error(&conv_with(2)).contains("stride [0, 2]"));
        assert!(parse_error(&conv_with(4)).contains("dilation [1, 0]"));
        assert!(parse_error(&conv_with(5)).contains("dilation [0, 1]"));
        // Pool2DOptions field 3 is filter_width; DepthToSpaceOptions field 0 is block_size.
        for (code, field, expected) in [
            (op::MAX_POOL_2D, 3, "filter size [1, 0]"),
            (op::DEPTH_TO_SPACE, 0, "block size [0]"),
        ] {
            let mut m = tm::logistic();
            m.codes[0] = code;
            let options = Obj(vec![(field, Field::I32(0))]);
            m.operators[0].set(tm::OPTIONS, Field::Table(options));
            let err = parse_error(&m);
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn buffer_offset_is_read_as_64_bits() {
        // An offset of exactly 2^32: its low 32 bits are zero.
        let mut m = tm::logistic();
        m.buffers[0].set(1, Field::U64(1 << 32));
        assert!(parse_error(&m).contains("outside the flatbuffer"));
    }
}
