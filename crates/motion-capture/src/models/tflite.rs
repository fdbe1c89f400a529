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

fn invalid(what: impl Into<String>) -> ConvertError {
    ConvertError::Invalid(what.into())
}

fn to_indices(v: Vec<i32>, what: &str) -> Result<Vec<usize>, ConvertError> {
    v.into_iter()
        .map(|i| usize::try_from(i).map_err(|_| invalid(format!("negative {what}: {i}"))))
        .collect()
}

/// Reads a model. Only one subgraph is supported (all pinned models have one).
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
            .map(|t| read_operator(t, &codes))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok(Model {
        tensors,
        inputs,
        outputs,
        operators,
    })
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
            if b.u32(1, 0)? != 0 {
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

/// Reads the builtin options table of the operators we convert (field ids per option table).
fn read_options(code: i32, o: &Table<'_>) -> Result<Options, ConvertError> {
    let act = |id| -> Result<Activation, ConvertError> { Ok(Activation::from_code(o.i8(id, 0)?)) };
    let window = |dil_w: u16, dil_h: u16, filter: [i64; 2]| -> Result<Window, ConvertError> {
        Ok(Window {
            padding: padding(o.u8(0, 0)?)?,
            stride: [i64::from(o.i32(2, 1)?), i64::from(o.i32(1, 1)?)],
            dilation: [i64::from(o.i32(dil_h, 1)?), i64::from(o.i32(dil_w, 1)?)],
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
            let filter = [i64::from(o.i32(4, 1)?), i64::from(o.i32(3, 1)?)];
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
            block: i64::from(o.i32(0, 1)?),
        },
        _ => Options::None,
    })
}
