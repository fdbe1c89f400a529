//! TFLite → ONNX conversion for the pinned BlazePose models.
//!
//! Weights are folded into float32 initializers (fp16 `DEQUANTIZE` and sparse `DENSIFY` are constant
//! folded). Activations are kept NCHW inside the graph; only the input, the tensors around `RESHAPE`
//! and the 4-D outputs are transposed, so the graph's interface keeps TFLite's NHWC names and shapes.
//! Output is a pure function of the input bytes (no maps iterated, no timestamps): byte-identical runs.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::flatbuf::le_values;
use super::onnx::{Attr, Data, Graph, Initializer, Node, ValueInfo, encode_model};
use super::tflite::{
    self, Activation, DType, Model, Operator, Options, Padding, Tensor, Window, op,
};

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("corrupt flatbuffer: {0}")]
    Flatbuffer(String),
    #[error("invalid model: {0}")]
    Invalid(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl ConvertError {
    /// Prefixes the message with where the problem is (an operator, a tensor).
    pub(crate) fn context(self, at: &str) -> Self {
        match self {
            ConvertError::Invalid(m) => ConvertError::Invalid(format!("{at}: {m}")),
            ConvertError::Unsupported(m) => ConvertError::Unsupported(format!("{at}: {m}")),
            other => other,
        }
    }
}

fn invalid(what: impl Into<String>) -> ConvertError {
    ConvertError::Invalid(what.into())
}

fn unsupported(what: impl Into<String>) -> ConvertError {
    ConvertError::Unsupported(what.into())
}

/// Converts a `.tflite` file's bytes into `.onnx` bytes.
///
/// The outputs named in `drop_outputs` are left out of the graph, together with every node and
/// initializer that only they need (the landmark model's segmentation decoder: about half of its
/// run time, unused by the pipeline). The other outputs are computed by the same nodes as before.
pub fn tflite_to_onnx(
    tflite_bytes: &[u8],
    graph_name: &str,
    drop_outputs: &[&str],
) -> Result<Vec<u8>, ConvertError> {
    let model = tflite::parse(tflite_bytes)?;
    let mut graph = Converter::new(&model, graph_name)?.run()?;
    drop_graph_outputs(&mut graph, drop_outputs)?;
    let doc = "Converted from a MediaPipe TFLite model (Apache-2.0): fp16 and sparse weights expanded to float32.";
    Ok(encode_model(&graph, "motiond-tflite2onnx", doc))
}

/// Removes the named outputs, then every node whose outputs nothing needs and every initializer no
/// remaining node reads. Order of what is kept is unchanged, so the result stays deterministic.
fn drop_graph_outputs(graph: &mut Graph, drop: &[&str]) -> Result<(), ConvertError> {
    if let Some(name) = drop
        .iter()
        .find(|d| !graph.outputs.iter().any(|o| o.name == **d))
    {
        return Err(invalid(format!("no graph output named {name} to drop")));
    }
    graph.outputs.retain(|o| !drop.contains(&o.name.as_str()));
    let mut needed: HashSet<String> = graph.outputs.iter().map(|o| o.name.clone()).collect();
    // Nodes are in topological order, so one backward pass finds everything the outputs need.
    let mut keep = vec![false; graph.nodes.len()];
    for (k, node) in graph.nodes.iter().enumerate().rev() {
        if node.outputs.iter().any(|o| needed.contains(o)) {
            keep[k] = true;
            needed.extend(node.inputs.iter().cloned());
        }
    }
    let mut keep = keep.into_iter();
    graph.nodes.retain(|_| keep.next().unwrap_or(false));
    graph.initializers.retain(|i| needed.contains(&i.name));
    Ok(())
}

/// A folded constant: shape (TFLite layout) and values.
#[derive(Clone, Debug, PartialEq)]
enum Const {
    F32 { shape: Vec<i64>, values: Vec<f32> },
    I32 { shape: Vec<i64>, values: Vec<i32> },
}

/// IEEE 754 binary16 → binary32, exact for every input (subnormals, infinities, NaN).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    let bits = match (exp, mant) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: value = m * 2^-24; normalise the mantissa.
            let shift = m.leading_zeros() - 21;
            let m = (m << shift) & 0x3ff;
            sign | ((127 - 15 + 1 - shift) << 23) | (m << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

fn element_count(shape: &[i64]) -> Result<usize, ConvertError> {
    shape.iter().try_fold(1usize, |acc, &d| {
        usize::try_from(d)
            .ok()
            .and_then(|d| acc.checked_mul(d))
            .ok_or_else(|| invalid(format!("bad shape {shape:?}")))
    })
}

/// Expands a TFLite sparse tensor (values in storage order) to a dense row-major tensor.
///
/// Walks the storage levels carrying a position: a DENSE level of size n maps position p to p·n + i,
/// a SPARSE_CSR level maps it to the entries `segments[p]..segments[p+1]`; after the last level the
/// position indexes `values`.
pub fn densify<T: Copy + Default>(
    sparsity: &tflite::Sparsity,
    shape: &[i64],
    values: &[T],
) -> Result<Vec<T>, ConvertError> {
    if !sparsity.block_map.is_empty() {
        return Err(unsupported("block-sparse tensors"));
    }
    if sparsity.traversal_order.len() != shape.len() || sparsity.levels.len() != shape.len() {
        return Err(invalid("sparsity levels do not match the tensor rank"));
    }
    // Non-decreasing segments keep the entries of different positions apart, so the walk visits
    // each stored index at most once (a crafted file cannot make it revisit them many times).
    let decreasing = |level: &tflite::DimMeta| match level {
        tflite::DimMeta::SparseCsr { segments, .. } => segments.windows(2).any(|w| w[0] > w[1]),
        tflite::DimMeta::Dense(_) => false,
    };
    if sparsity.levels.iter().any(decreasing) {
        return Err(invalid("sparse segments decrease"));
    }
    let mut dense = vec![T::default(); element_count(shape)?];
    let mut coords = vec![0usize; shape.len()];
    let walk = Walk {
        sparsity,
        shape,
        values,
    };
    walk.level(0, 0, &mut coords, &mut dense)?;
    Ok(dense)
}

struct Walk<'a, T> {
    sparsity: &'a tflite::Sparsity,
    shape: &'a [i64],
    values: &'a [T],
}

impl<T: Copy> Walk<'_, T> {
    fn level(
        &self,
        k: usize,
        p: usize,
        coords: &mut [usize],
        dense: &mut [T],
    ) -> Result<(), ConvertError> {
        if k == self.sparsity.levels.len() {
            let mut index = 0usize;
            for (c, &d) in coords.iter().zip(self.shape) {
                index = index * d as usize + c;
            }
            let v = *self
                .values
                .get(p)
                .ok_or_else(|| invalid("sparse value index out of range"))?;
            *dense
                .get_mut(index)
                .ok_or_else(|| invalid("sparse coordinate out of range"))? = v;
            return Ok(());
        }
        let (Some(&dim), Some(level)) = (
            self.sparsity.traversal_order.get(k),
            self.sparsity.levels.get(k),
        ) else {
            return Err(invalid("more sparsity levels than traversal entries"));
        };
        let size = match self.shape.get(dim) {
            Some(&d) => d as usize,
            None => return Err(invalid("traversal order names a missing dimension")),
        };
        match level {
            tflite::DimMeta::Dense(n) => {
                if *n != size {
                    return Err(invalid(format!(
                        "dense level of {n} for a dimension of {size}"
                    )));
                }
                for i in 0..size {
                    coords[dim] = i;
                    self.level(k + 1, p * size + i, coords, dense)?;
                }
            }
            tflite::DimMeta::SparseCsr { segments, indices } => {
                let (Some(&from), Some(&to)) = (segments.get(p), segments.get(p + 1)) else {
                    return Err(invalid("sparse segment index out of range"));
                };
                for j in from..to {
                    coords[dim] = *indices
                        .get(j)
                        .filter(|&&c| c < size)
                        .ok_or_else(|| invalid("sparse index out of range"))?;
                    self.level(k + 1, j, coords, dense)?;
                }
            }
        }
        Ok(())
    }
}

/// Explicit SAME padding for one spatial axis: (before, after), the odd pixel going after.
/// `stride` and `dilation` are at least 1 (`tflite::parse` refuses others).
pub fn same_pads(input: i64, kernel: i64, stride: i64, dilation: i64) -> (i64, i64) {
    let out = (input + stride - 1) / stride;
    let effective = (kernel - 1) * dilation + 1;
    let total = ((out - 1) * stride + effective - input).max(0);
    (total / 2, total - total / 2)
}

/// ONNX `pads` for a 2-D window: [top, left, bottom, right].
fn window_pads(window: &Window, input_hw: [i64; 2], kernel_hw: [i64; 2]) -> Vec<i64> {
    match window.padding {
        Padding::Valid => vec![0; 4],
        Padding::Same => {
            let (t, b) = same_pads(
                input_hw[0],
                kernel_hw[0],
                window.stride[0],
                window.dilation[0],
            );
            let (l, r) = same_pads(
                input_hw[1],
                kernel_hw[1],
                window.stride[1],
                window.dilation[1],
            );
            vec![t, l, b, r]
        }
    }
}

/// The shape after [`transpose`]: output dim i is input dim `perm[i]`.
fn permuted(shape: &[i64], perm: &[usize]) -> Result<Vec<i64>, ConvertError> {
    let mut seen = vec![false; shape.len()];
    let is_permutation = perm.len() == shape.len()
        && perm
            .iter()
            .all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
    if !is_permutation {
        return Err(invalid(format!(
            "{perm:?} does not permute shape {shape:?}"
        )));
    }
    Ok(perm.iter().map(|&p| shape[p]).collect())
}

/// Permutes a dense row-major tensor: output dim i is input dim `perm[i]`.
fn transpose<T: Copy + Default>(
    values: &[T],
    shape: &[i64],
    perm: &[usize],
) -> Result<Vec<T>, ConvertError> {
    let out_shape = permuted(shape, perm)?;
    if values.len() != element_count(shape)? {
        return Err(invalid(format!(
            "{} values for shape {shape:?}",
            values.len()
        )));
    }
    let rank = shape.len();
    let mut in_strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * shape[i + 1] as usize;
    }
    let mut out = vec![T::default(); values.len()];
    let mut idx = vec![0usize; rank];
    for slot in out.iter_mut() {
        let src: usize = idx.iter().zip(perm).map(|(&c, &p)| c * in_strides[p]).sum();
        *slot = values[src];
        for d in (0..rank).rev() {
            idx[d] += 1;
            if (idx[d] as i64) < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(out)
}

const NHWC_TO_NCHW: [usize; 4] = [0, 3, 1, 2];
const NCHW_TO_NHWC: [usize; 4] = [0, 2, 3, 1];

/// Tensor index of operand `k` in `list`; `None` when it is -1 (an absent optional input).
/// (`tflite::parse` has checked that every index is -1 or names a tensor.)
fn operand(list: &[i32], k: usize, what: &str) -> Result<Option<usize>, ConvertError> {
    let i = list
        .get(k)
        .ok_or_else(|| invalid(format!("{what} {k} missing ({} given)", list.len())))?;
    Ok(usize::try_from(*i).ok())
}

/// Tensor index of the operator's required input `k`.
fn input(o: &Operator, k: usize) -> Result<usize, ConvertError> {
    operand(&o.inputs, k, "input")?.ok_or_else(|| invalid(format!("required input {k} absent")))
}

/// Tensor index of the operator's optional input `k`: `None` when absent or left out.
fn optional_input(o: &Operator, k: usize) -> Result<Option<usize>, ConvertError> {
    if k < o.inputs.len() {
        operand(&o.inputs, k, "input")
    } else {
        Ok(None)
    }
}

/// Tensor index of the operator's output `k`.
fn output(o: &Operator, k: usize) -> Result<usize, ConvertError> {
    operand(&o.outputs, k, "output")?.ok_or_else(|| invalid(format!("output {k} absent")))
}

/// Position of NHWC axis `a` in NCHW.
fn nchw_axis(a: usize) -> usize {
    [0, 2, 3, 1][a]
}

struct Converter<'m, 'a> {
    model: &'m Model<'a>,
    graph: Graph,
    /// Constants by tensor index, shared (a folded DEQUANTIZE output is its input's constant).
    consts: Vec<Option<Rc<Const>>>,
    /// ONNX name of each activation tensor (NCHW when 4-D).
    names: Vec<Option<String>>,
    /// Initializers already emitted, by a key describing their content's origin.
    emitted: HashMap<String, String>,
}

impl<'m, 'a> Converter<'m, 'a> {
    fn new(model: &'m Model<'a>, graph_name: &str) -> Result<Self, ConvertError> {
        let consts = model
            .tensors
            .iter()
            .enumerate()
            .map(|(i, t)| match load_const(t) {
                Ok(c) => Ok(c.map(Rc::new)),
                Err(e) => Err(e.context(&format!("tensor {i} ({})", t.name))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Converter {
            model,
            graph: Graph {
                name: graph_name.to_owned(),
                ..Graph::default()
            },
            consts,
            names: vec![None; model.tensors.len()],
            emitted: HashMap::new(),
        })
    }

    fn run(mut self) -> Result<Graph, ConvertError> {
        for &i in &self.model.inputs {
            self.graph_input(i)?;
        }
        for (k, op) in self.model.operators.iter().enumerate() {
            self.operator(k, op)
                .map_err(|e| e.context(&format!("operator {k} (code {})", op.code)))?;
        }
        for &o in &self.model.outputs {
            self.graph_output(o)?;
        }
        Ok(self.graph)
    }

    fn tensor(&self, i: usize) -> Result<&'m Tensor<'a>, ConvertError> {
        self.model
            .tensors
            .get(i)
            .ok_or_else(|| invalid(format!("tensor index {i} out of range")))
    }

    fn activation(&self, i: usize) -> Result<String, ConvertError> {
        let name = &self.tensor(i)?.name;
        self.names
            .get(i)
            .cloned()
            .flatten()
            .ok_or_else(|| invalid(format!("tensor {i} ({name}) used before it is produced")))
    }

    /// The constant at tensor `i`, or `None` for an activation.
    fn constant_or_none(&self, i: usize) -> Result<Option<Rc<Const>>, ConvertError> {
        self.tensor(i)?;
        Ok(self.consts.get(i).cloned().flatten())
    }

    fn constant(&self, i: usize) -> Result<Rc<Const>, ConvertError> {
        self.constant_or_none(i)?
            .ok_or_else(|| unsupported(format!("tensor {i} must be a constant")))
    }

    fn shape(&self, i: usize) -> Result<&'m [i64], ConvertError> {
        Ok(&self.tensor(i)?.shape)
    }

    /// Records the ONNX name of tensor `i`.
    fn set_name(&mut self, i: usize, name: String) -> Result<(), ConvertError> {
        *self
            .names
            .get_mut(i)
            .ok_or_else(|| invalid(format!("tensor index {i} out of range")))? = Some(name);
        Ok(())
    }

    fn push(
        &mut self,
        op_type: &'static str,
        name: String,
        inputs: Vec<String>,
        outputs: Vec<String>,
        attrs: Vec<(&'static str, Attr)>,
    ) {
        self.graph.nodes.push(Node {
            op_type,
            name,
            inputs,
            outputs,
            attrs,
        });
    }

    /// Emits an initializer once per `key` and returns its name; `data` only runs the first time.
    fn initializer(
        &mut self,
        key: String,
        dims: Vec<i64>,
        data: impl FnOnce() -> Result<Data, ConvertError>,
    ) -> Result<String, ConvertError> {
        if let Some(name) = self.emitted.get(&key) {
            return Ok(name.clone());
        }
        let name = format!("c{}_{}", self.graph.initializers.len(), key);
        self.graph.initializers.push(Initializer {
            name: name.clone(),
            dims,
            data: data()?,
        });
        self.emitted.insert(key, name.clone());
        Ok(name)
    }

    fn i64_initializer(&mut self, key: String, values: Vec<i64>) -> Result<String, ConvertError> {
        let dims = vec![values.len() as i64];
        self.initializer(key, dims, || Ok(Data::I64(values)))
    }

    fn graph_input(&mut self, i: usize) -> Result<(), ConvertError> {
        let t = self.tensor(i)?;
        self.graph.inputs.push(ValueInfo {
            name: t.name.clone(),
            dims: t.shape.clone(),
        });
        if t.shape.len() == 4 {
            let internal = format!("t{i}");
            let perm = Attr::Ints(NHWC_TO_NCHW.iter().map(|&p| p as i64).collect());
            self.push(
                "Transpose",
                format!("input_{i}_to_nchw"),
                vec![t.name.clone()],
                vec![internal.clone()],
                vec![("perm", perm)],
            );
            self.set_name(i, internal)
        } else {
            self.set_name(i, t.name.clone())
        }
    }

    fn graph_output(&mut self, i: usize) -> Result<(), ConvertError> {
        let t = self.tensor(i)?;
        let internal = self.activation(i)?;
        self.graph.outputs.push(ValueInfo {
            name: t.name.clone(),
            dims: t.shape.clone(),
        });
        let name = format!("output_{i}");
        if t.shape.len() == 4 {
            let perm = Attr::Ints(NCHW_TO_NHWC.iter().map(|&p| p as i64).collect());
            self.push(
                "Transpose",
                name,
                vec![internal],
                vec![t.name.clone()],
                vec![("perm", perm)],
            );
        } else {
            self.push(
                "Identity",
                name,
                vec![internal],
                vec![t.name.clone()],
                vec![],
            );
        }
        Ok(())
    }

    fn operator(&mut self, k: usize, o: &Operator) -> Result<(), ConvertError> {
        match o.code {
            op::DEQUANTIZE | op::DENSIFY => self.fold(o),
            op::CONV_2D | op::DEPTHWISE_CONV_2D => self.conv(k, o),
            op::ADD => self.add(k, o),
            op::PAD => self.pad(k, o),
            op::RESIZE_BILINEAR => self.resize(k, o),
            op::DEPTH_TO_SPACE => self.depth_to_space(k, o),
            op::RESHAPE => self.reshape(k, o),
            op::CONCATENATION => self.concat(k, o),
            op::MAX_POOL_2D => self.max_pool(k, o),
            op::LOGISTIC => {
                let x = self.activation(input(o, 0)?)?;
                let out = self.output_name(o)?;
                self.push(
                    "Sigmoid",
                    format!("sigmoid_{k}"),
                    vec![x],
                    vec![out],
                    vec![],
                );
                Ok(())
            }
            other => Err(unsupported(format!("TFLite builtin operator {other}"))),
        }
    }

    /// DEQUANTIZE (fp16 → fp32) and DENSIFY: the constant was already decoded to dense f32 on load.
    fn fold(&mut self, o: &Operator) -> Result<(), ConvertError> {
        let (src, out) = (input(o, 0)?, output(o, 0)?);
        let dtype = self.tensor(src)?.dtype;
        if o.code == op::DEQUANTIZE && dtype != DType::F16 {
            return Err(unsupported(format!(
                "DEQUANTIZE of {dtype:?} (only fp16 constants)"
            )));
        }
        if self.shape(out)? != self.shape(src)? {
            return Err(invalid("folded output's shape differs from its input's"));
        }
        let value = self.constant(src)?;
        *self
            .consts
            .get_mut(out)
            .ok_or_else(|| invalid(format!("tensor index {out} out of range")))? = Some(value);
        Ok(())
    }

    /// Names the op's single output `t<index>` and records it.
    fn output_name(&mut self, o: &Operator) -> Result<String, ConvertError> {
        let out = output(o, 0)?;
        let name = format!("t{out}");
        self.set_name(out, name.clone())?;
        Ok(name)
    }

    /// Emits the op writing to a temporary when a fused activation follows, then the activation.
    fn with_activation(
        &mut self,
        o: &Operator,
        node_name: String,
        act: Activation,
        emit: impl FnOnce(&mut Self, String),
    ) -> Result<(), ConvertError> {
        let out = self.output_name(o)?;
        match act {
            Activation::None => emit(self, out),
            Activation::Relu => {
                let pre = format!("{out}_pre");
                emit(self, pre.clone());
                self.push(
                    "Relu",
                    format!("{node_name}_relu"),
                    vec![pre],
                    vec![out],
                    vec![],
                );
            }
            Activation::Relu6 => {
                let pre = format!("{out}_pre");
                emit(self, pre.clone());
                let lo =
                    self.initializer("relu6_min".into(), vec![], || Ok(Data::F32(vec![0.0])))?;
                let hi =
                    self.initializer("relu6_max".into(), vec![], || Ok(Data::F32(vec![6.0])))?;
                self.push(
                    "Clip",
                    format!("{node_name}_relu6"),
                    vec![pre, lo, hi],
                    vec![out],
                    vec![],
                );
            }
            Activation::Other(code) => return Err(unsupported(format!("fused activation {code}"))),
        }
        Ok(())
    }

    fn conv(&mut self, k: usize, o: &Operator) -> Result<(), ConvertError> {
        let (window, act, depthwise) = match &o.options {
            Options::Conv { window, act } => (*window, *act, false),
            Options::Depthwise { window, act, .. } => (*window, *act, true),
            _ => return Err(invalid("convolution without options")),
        };
        let xi = input(o, 0)?;
        let x = self.activation(xi)?;
        let in_shape = self.shape(xi)?;
        if in_shape.len() != 4 {
            return Err(invalid("convolution needs a 4-D input"));
        }
        let (w_name, kernel) = self.conv_weights(input(o, 1)?, depthwise)?;
        let mut inputs = vec![x, w_name];
        if let Some(b) = optional_input(o, 2)? {
            let bias = self.constant(b)?;
            let Const::F32 { shape, values } = &*bias else {
                return Err(unsupported("integer bias"));
            };
            let name = self.initializer(format!("b{b}"), shape.clone(), || {
                Ok(Data::F32(values.clone()))
            })?;
            inputs.push(name);
        }
        let group = if depthwise { in_shape[3] } else { 1 };
        let attrs = vec![
            ("dilations", Attr::Ints(window.dilation.to_vec())),
            ("group", Attr::Int(group)),
            ("kernel_shape", Attr::Ints(kernel.to_vec())),
            (
                "pads",
                Attr::Ints(window_pads(&window, [in_shape[1], in_shape[2]], kernel)),
            ),
            ("strides", Attr::Ints(window.stride.to_vec())),
        ];
        let name = format!("conv_{k}");
        self.with_activation(o, name.clone(), act, |c, out| {
            c.push("Conv", name, inputs, vec![out], attrs)
        })
    }

    /// The filter as an OIHW initializer; returns its name and the kernel's height and width.
    fn conv_weights(
        &mut self,
        wi: usize,
        depthwise: bool,
    ) -> Result<(String, [i64; 2]), ConvertError> {
        let weights = self.constant(wi)?;
        let Const::F32 { shape, values } = &*weights else {
            return Err(unsupported("integer convolution weights"));
        };
        if shape.len() != 4 {
            return Err(invalid("convolution needs a 4-D filter"));
        }
        // OHWI → OIHW; depthwise [1, kh, kw, C·m] → [C·m, 1, kh, kw] (the same permutation [3,0,1,2]).
        let perm: &[usize] = if depthwise {
            &[3, 0, 1, 2]
        } else {
            &[0, 3, 1, 2]
        };
        let dims = permuted(shape, perm)?;
        let kernel = [dims[2], dims[3]];
        let name = self.initializer(format!("w{wi}"), dims, || {
            Ok(Data::F32(transpose(values, shape, perm)?))
        })?;
        Ok((name, kernel))
    }

    fn max_pool(&mut self, k: usize, o: &Operator) -> Result<(), ConvertError> {
        let Options::Pool { window, act } = o.options.clone() else {
            return Err(invalid("pool without options"));
        };
        let xi = input(o, 0)?;
        let x = self.activation(xi)?;
        let in_shape = self.shape(xi)?;
        if in_shape.len() != 4 {
            return Err(invalid("MAX_POOL_2D needs a 4-D input"));
        }
        let attrs = vec![
            ("kernel_shape", Attr::Ints(window.filter.to_vec())),
            (
                "pads",
                Attr::Ints(window_pads(
                    &window,
                    [in_shape[1], in_shape[2]],
                    window.filter,
                )),
            ),
            ("strides", Attr::Ints(window.stride.to_vec())),
        ];
        let name = format!("maxpool_{k}");
        self.with_activation(o, name.clone(), act, |c, out| {
            c.push("MaxPool", name, vec![x], vec![out], attrs)
        })
    }

    /// An operand of an elementwise op: an activation, or a constant made to broadcast like the
    /// NHWC original against a 4-D (NCHW) activation.
    fn elementwise_operand(&mut self, i: usize, out_rank: usize) -> Result<String, ConvertError> {
        let Some(constant) = self.constant_or_none(i)? else {
            return self.activation(i);
        };
        let Const::F32 { shape, values } = &*constant else {
            return Err(unsupported("integer operand of ADD"));
        };
        if out_rank != 4 {
            return self.initializer(format!("k{i}"), shape.clone(), || {
                Ok(Data::F32(values.clone()))
            });
        }
        if shape.len() > 4 {
            return Err(invalid(format!(
                "operand of shape {shape:?} for a 4-D output"
            )));
        }
        // Left-pad the shape with ones (numpy broadcasting), then move channels first.
        let mut full = vec![1i64; 4 - shape.len()];
        full.extend_from_slice(shape);
        let dims = permuted(&full, &NHWC_TO_NCHW)?;
        self.initializer(format!("k{i}"), dims, || {
            Ok(Data::F32(transpose(values, &full, &NHWC_TO_NCHW)?))
        })
    }

    fn add(&mut self, k: usize, o: &Operator) -> Result<(), ConvertError> {
        let Options::Add { act } = o.options else {
            return Err(invalid("ADD without options"));
        };
        let rank = self.shape(output(o, 0)?)?.len();
        let a = self.elementwise_operand(input(o, 0)?, rank)?;
        let b = self.elementwise_operand(input(o, 1)?, rank)?;
        let name = format!("add_{k}");
        self.with_activation(o, name.clone(), act, |c, out| {
            c.push("Add", name, vec![a, b], vec![out], vec![])
        })
    }

    /// PAD: the amounts constant may be shared by several PAD ops, so it is only read, never changed.
    fn pad(&mut self, k: usize, o: &Operator) -> Result<(), ConvertError> {
        let (xi, pi) = (input(o, 0)?, input(o, 1)?);
        let x = self.activation(xi)?;
        let amounts = self.constant(pi)?;
        let Const::I32 { values, .. } = &*amounts else {
            return Err(unsupported("PAD amounts must be int32"));
        };
        let rank = self.shape(xi)?.len();
        if values.len() != 2 * rank {
            return Err(invalid("PAD amounts do not match the input rank"));
        }
        let order: Vec<usize> = if rank == 4 {
            NHWC_TO_NCHW.to_vec()
        } else {
            (0..rank).collect()
        };
        let before = order.iter().map(|&d| i64::from(values[2 * d]));
        let after = order.iter().map(|&d| i64::from(values[2 * d + 1]));
        let pads: Vec<i64> = before.chain(after).collect();
        let p = self.i64_initializer(format!("pads{pi}"), pads)?;
        let out = self.output_name(o)?;
        self.push(
            "Pad",
            format!("pad_{k}"),
            vec![x, p],
            vec![out],
            vec![("mode", Attr::Str("constant".into()))],
        );
        Ok(())
    }

    fn resize(&mut self, k: usize, o: &Operator) -> Result<(), ConvertError> {
        if o.options
            != (Options::Resize {
                align_corners: false,
                half_pixel: true,
            })
        {
            return Err(unsupported(format!("RESIZE_BILINEAR with {:?}", o.options)));
        }
        let xi = input(o, 0)?;
        let x = self.activation(xi)?;
        let in_shape = self.shape(xi)?;
        let size = self.constant(input(o, 1)?)?;
        let Const::I32 { values: size, .. } = &*size else {
            return Err(unsupported("RESIZE_BILINEAR size must be int32"));
        };
        if in_shape.len() != 4 || size.len() != 2 {
            return Err(invalid(
                "RESIZE_BILINEAR needs a 4-D input and a 2-element size",
            ));
        }
        let sizes = vec![
            in_shape[0],
            in_shape[3],
            i64::from(size[0]),
            i64::from(size[1]),
        ];
        let key = format!("sizes_{}x{}x{}x{}", sizes[0], sizes[1], sizes[2], sizes[3]);
        let s = self.i64_initializer(key, sizes)?;
        let out = self.output_name(o)?;
        let attrs = vec![
            (
                "coordinate_transformation_mode",
                Attr::Str("half_pixel".into()),
            ),
            ("mode", Attr::Str("linear".into())),
        ];
        self.push(
            "Resize",
            format!("resize_{k}"),
            vec![x, String::new(), String::new(), s],
            vec![out],
            attrs,
        );
        Ok(())
    }

    fn depth_to_space(&mut self, k: usize, o: &Operator) -> Result<(), ConvertError> {
        let Options::DepthToSpace { block } = o.options else {
            return Err(invalid("DEPTH_TO_SPACE without options"));
        };
        let x = self.activation(input(o, 0)?)?;
        let out = self.output_name(o)?;
        // TensorFlow's channel order is ONNX's DCR mode.
        let attrs = vec![
            ("blocksize", Attr::Int(block)),
            ("mode", Attr::Str("DCR".into())),
        ];
        self.push(
            "DepthToSpace",
            format!("d2s_{k}"),
            vec![x],
            vec![out],
            attrs,
        );
        Ok(())
    }

    /// RESHAPE has NHWC semantics: go back to NHWC before it, and to NCHW after it when 4-D.
    fn reshape(&mut self, k: usize, o: &Operator) -> Result<(), ConvertError> {
        let xi = input(o, 0)?;
        let mut x = self.activation(xi)?;
        let in_rank = self.shape(xi)?.len();
        let out_shape = self.shape(output(o, 0)?)?.to_vec();
        let new_shape: Vec<i64> = match (optional_input(o, 1)?, &o.options) {
            (Some(s), _) => match &*self.constant(s)? {
                Const::I32 { values, .. } => values.iter().map(|&v| i64::from(v)).collect(),
                Const::F32 { .. } => return Err(unsupported("float RESHAPE shape")),
            },
            (None, Options::Reshape { new_shape }) if !new_shape.is_empty() => {
                new_shape.iter().map(|&v| i64::from(v)).collect()
            }
            _ => out_shape.clone(),
        };
        if in_rank == 4 {
            let nhwc = format!("t{xi}_nhwc");
            let perm = Attr::Ints(NCHW_TO_NHWC.iter().map(|&p| p as i64).collect());
            self.push(
                "Transpose",
                format!("reshape_{k}_in"),
                vec![x],
                vec![nhwc.clone()],
                vec![("perm", perm)],
            );
            x = nhwc;
        }
        let key = format!(
            "shape_{}",
            new_shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("x")
        );
        let s = self.i64_initializer(key, new_shape)?;
        let out = self.output_name(o)?;
        if out_shape.len() == 4 {
            let nhwc = format!("{out}_nhwc");
            self.push(
                "Reshape",
                format!("reshape_{k}"),
                vec![x, s],
                vec![nhwc.clone()],
                vec![],
            );
            let perm = Attr::Ints(NHWC_TO_NCHW.iter().map(|&p| p as i64).collect());
            self.push(
                "Transpose",
                format!("reshape_{k}_out"),
                vec![nhwc],
                vec![out],
                vec![("perm", perm)],
            );
        } else {
            self.push(
                "Reshape",
                format!("reshape_{k}"),
                vec![x, s],
                vec![out],
                vec![],
            );
        }
        Ok(())
    }

    fn concat(&mut self, k: usize, o: &Operator) -> Result<(), ConvertError> {
        let Options::Concat { axis, act } = o.options else {
            return Err(invalid("CONCATENATION without options"));
        };
        let rank = self.shape(output(o, 0)?)?.len() as i32;
        let axis = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&axis) {
            return Err(invalid(format!("concatenation axis {axis} out of range")));
        }
        let axis = if rank == 4 {
            nchw_axis(axis as usize)
        } else {
            axis as usize
        };
        if o.inputs.is_empty() {
            return Err(invalid("CONCATENATION without inputs"));
        }
        let inputs = (0..o.inputs.len())
            .map(|k| self.activation(input(o, k)?))
            .collect::<Result<Vec<_>, _>>()?;
        let name = format!("concat_{k}");
        let attrs = vec![("axis", Attr::Int(axis as i64))];
        self.with_activation(o, name.clone(), act, |c, out| {
            c.push("Concat", name, inputs, vec![out], attrs)
        })
    }
}

/// Decodes a constant tensor to dense f32 (fp16 and f32) or i32 values.
fn load_const(t: &Tensor<'_>) -> Result<Option<Const>, ConvertError> {
    let Some(data) = t.data else { return Ok(None) };
    let shape = t.shape.clone();
    let (values, width): (Const, usize) = match t.dtype {
        DType::F16 => {
            let values = le_values(data, |b| f16_to_f32(u16::from_le_bytes(b)));
            (Const::F32 { shape, values }, 2)
        }
        DType::F32 => {
            let values = le_values(data, f32::from_le_bytes);
            (Const::F32 { shape, values }, 4)
        }
        DType::I32 => {
            let values = le_values(data, i32::from_le_bytes);
            (Const::I32 { shape, values }, 4)
        }
        DType::Other(code) => {
            return Err(unsupported(format!(
                "constant of tensor type {code} ({})",
                t.name
            )));
        }
    };
    if data.len() % width != 0 {
        return Err(invalid(format!(
            "constant {} has a partial element",
            t.name
        )));
    }
    let values = match &t.sparsity {
        Some(s) => densify_const(s, values)?,
        None => values,
    };
    let len = match &values {
        Const::F32 { values, .. } => values.len(),
        Const::I32 { values, .. } => values.len(),
    };
    if len != element_count(&t.shape)? {
        return Err(invalid(format!(
            "constant {} has {len} values for shape {:?}",
            t.name, t.shape
        )));
    }
    Ok(Some(values))
}

/// The dense form of a sparse constant.
fn densify_const(sparsity: &tflite::Sparsity, c: Const) -> Result<Const, ConvertError> {
    Ok(match c {
        Const::F32 { shape, values } => Const::F32 {
            values: densify(sparsity, &shape, &values)?,
            shape,
        },
        Const::I32 { shape, values } => Const::I32 {
            values: densify(sparsity, &shape, &values)?,
            shape,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_tflite::{self as tm, Field, OP_INPUTS, OP_OUTPUTS, Obj, TestModel};
    use crate::models::tflite::{DimMeta, Sparsity};

    #[test]
    fn same_padding_puts_the_odd_pixel_after() {
        // 224 input, 3×3 kernel, stride 2: output 112, total padding 1 → (0, 1).
        assert_eq!(same_pads(224, 3, 2, 1), (0, 1));
        // stride 1, 5×5: total 4 → (2, 2).
        assert_eq!(same_pads(64, 5, 1, 1), (2, 2));
        // 2×2 kernel, stride 1: total 1 → (0, 1).
        assert_eq!(same_pads(8, 2, 1, 1), (0, 1));
        // dilation 2, 3×3 → effective 5 → (2, 2).
        assert_eq!(same_pads(10, 3, 1, 2), (2, 2));
        // Never negative: 1×1 kernel stride 2 on an even size.
        assert_eq!(same_pads(8, 1, 2, 1), (0, 0));
    }

    #[test]
    fn f16_decoding_covers_all_classes() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
    }

    #[test]
    fn densify_expands_csr_levels() {
        // A 2×3 matrix [[0, 5, 0], [7, 0, 8]]: row level dense, column level CSR.
        let s = Sparsity {
            traversal_order: vec![0, 1],
            block_map: vec![],
            levels: vec![
                DimMeta::Dense(2),
                DimMeta::SparseCsr {
                    segments: vec![0, 1, 3],
                    indices: vec![1, 0, 2],
                },
            ],
        };
        let dense = densify(&s, &[2, 3], &[5.0f32, 7.0, 8.0]).unwrap();
        assert_eq!(dense, vec![0.0, 5.0, 0.0, 7.0, 0.0, 8.0]);
    }

    #[test]
    fn densify_follows_the_traversal_order() {
        // Same matrix stored column-major: level 0 walks dimension 1 (columns, dense),
        // level 1 walks dimension 0 (rows, CSR).
        let s = Sparsity {
            traversal_order: vec![1, 0],
            block_map: vec![],
            levels: vec![
                DimMeta::Dense(3),
                DimMeta::SparseCsr {
                    segments: vec![0, 1, 2, 3],
                    indices: vec![1, 0, 1],
                },
            ],
        };
        let dense = densify(&s, &[2, 3], &[7.0f32, 5.0, 8.0]).unwrap();
        assert_eq!(dense, vec![0.0, 5.0, 0.0, 7.0, 0.0, 8.0]);
    }

    #[test]
    fn densify_rejects_out_of_range_indices() {
        let s = Sparsity {
            traversal_order: vec![0],
            block_map: vec![],
            levels: vec![DimMeta::SparseCsr {
                segments: vec![0, 1],
                indices: vec![9],
            }],
        };
        assert!(densify(&s, &[3], &[1.0f32]).is_err());
    }

    #[test]
    fn densify_rejects_inconsistent_levels() {
        let csr = |segments: Vec<usize>, indices: Vec<usize>| Sparsity {
            traversal_order: vec![0, 1],
            block_map: vec![],
            levels: vec![DimMeta::Dense(2), DimMeta::SparseCsr { segments, indices }],
        };
        // Column index 3 of a 2×3 matrix.
        let err = densify(&csr(vec![0, 1, 1], vec![3]), &[2, 3], &[1.0f32]).unwrap_err();
        assert!(
            err.to_string().contains("sparse index out of range"),
            "{err}"
        );
        // Segments that go back would let rows share (and the walk revisit) entries.
        let err = densify(&csr(vec![0, 2, 0], vec![0, 1]), &[2, 3], &[1.0f32; 2]).unwrap_err();
        assert!(err.to_string().contains("segments decrease"), "{err}");
        // A dense level whose size is not its dimension's.
        let mut s = csr(vec![0, 1, 1], vec![0]);
        s.levels[0] = DimMeta::Dense(1 << 40);
        let err = densify(&s, &[2, 3], &[1.0f32]).unwrap_err();
        assert!(err.to_string().contains("dense level of"), "{err}");
    }

    #[test]
    fn transpose_ohwi_to_oihw() {
        // O=1, H=1, W=2, I=3: values indexed (w, i) → OIHW indexed (i, w).
        let perm = [0, 3, 1, 2];
        let v = transpose(&[0, 1, 2, 10, 11, 12], &[1, 1, 2, 3], &perm).unwrap();
        assert_eq!(permuted(&[1, 1, 2, 3], &perm).unwrap(), vec![1, 3, 1, 2]);
        assert_eq!(v, vec![0, 10, 1, 11, 2, 12]);
    }

    #[test]
    fn transpose_checks_values_and_permutation() {
        assert!(transpose(&[0; 5], &[1, 1, 2, 3], &[0, 3, 1, 2]).is_err());
        assert!(transpose(&[0; 6], &[1, 1, 2, 3], &[0, 3, 1, 1]).is_err());
        assert!(transpose(&[0; 6], &[1, 1, 2, 3, 1], &[0, 3, 1, 2]).is_err());
        assert!(transpose(&[0; 6], &[1, 1, 2, 3], &[0, 3, 1, 4]).is_err());
    }

    /// The error converting `m` gives: it must be refused, without a panic.
    fn convert_error(m: &TestModel) -> String {
        match tflite_to_onnx(&m.bytes(), "m", &[]) {
            Ok(_) => panic!("malformed model converted: {m:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn test_models_convert() {
        for m in [tm::logistic(), tm::conv(), tm::sparse_add()] {
            let onnx = tflite_to_onnx(&m.bytes(), "m", &[]).unwrap();
            assert_eq!(onnx, tflite_to_onnx(&m.bytes(), "m", &[]).unwrap());
        }
        // The sparse constant [0, 5] becomes a dense initializer (channels last → [1, 2, 1, 1]).
        let bytes = tm::sparse_add().bytes();
        let model = tflite::parse(&bytes).unwrap();
        let graph = Converter::new(&model, "m").unwrap().run().unwrap();
        let k = &graph.initializers[0];
        assert_eq!(
            (k.dims.clone(), &k.data),
            (vec![1, 2, 1, 1], &Data::F32(vec![0.0, 5.0]))
        );
    }

    #[test]
    fn sparse_segments_out_of_order_are_an_error() {
        let mut m = tm::sparse_add();
        let levels = vec![tm::csr_level(&[1, 0], &[1])];
        m.tensors[1].set(tm::SPARSITY, tm::sparsity(&[0], levels));
        let err = convert_error(&m);
        assert!(
            err.contains("tensor 1 (sparse): sparse segments decrease"),
            "{err}"
        );
    }

    /// Every operator the converter knows, given too few operands (or an absent required one),
    /// is an error naming the operator.
    #[test]
    fn missing_operands_are_errors() {
        let codes = [
            op::ADD,
            op::CONCATENATION,
            op::CONV_2D,
            op::DEPTHWISE_CONV_2D,
            op::DEPTH_TO_SPACE,
            op::DEQUANTIZE,
            op::LOGISTIC,
            op::MAX_POOL_2D,
            op::RESHAPE,
            op::RESIZE_BILINEAR,
            op::PAD,
            op::DENSIFY,
        ];
        let operands: [(&[i32], &[i32]); 3] = [(&[], &[1]), (&[-1], &[1]), (&[0], &[])];
        for code in codes {
            for (inputs, outputs) in operands {
                let mut m = tm::logistic();
                m.codes[0] = code;
                m.operators[0]
                    .set(OP_INPUTS, Field::Ints(inputs.to_vec()))
                    .set(OP_OUTPUTS, Field::Ints(outputs.to_vec()))
                    .set(tm::OPTIONS, Field::Table(Obj::default()));
                let err = convert_error(&m);
                assert!(err.contains(&format!("operator 0 (code {code})")), "{err}");
            }
        }
        let mut m = tm::conv();
        m.operators[0].set(OP_INPUTS, Field::Ints(vec![0]));
        assert!(convert_error(&m).contains("input 1 missing (1 given)"));
    }

    #[test]
    fn crafted_files_are_errors() {
        // The reviewed crashes, rebuilt small: LOGISTIC without input, with an input or output
        // index past the tensor list, a stride of 0, a huge sparse constant, 10^4 sparsity levels.
        let mut no_input = tm::logistic();
        no_input.operators[0].set(OP_INPUTS, Field::Ints(vec![]));
        let mut big_input = tm::logistic();
        big_input.operators[0].set(OP_INPUTS, Field::Ints(vec![100_000]));
        let mut big_output = tm::logistic();
        big_output.operators[0].set(OP_OUTPUTS, Field::Ints(vec![100_000]));
        let mut stride0 = tm::conv();
        tm::options(&mut stride0, 0).set(1, Field::I32(0));
        let mut huge = tm::logistic();
        let t = huge.tensor("huge", &[393_216, 393_216], tm::F32, &[]);
        let levels = vec![tm::dense_level(393_216), tm::dense_level(393_216)];
        huge.tensors[t as usize].set(tm::SPARSITY, tm::sparsity(&[0, 1], levels));
        let mut deep = tm::logistic();
        let t = deep.tensor("deep", &[1; 10_000], tm::F32, &[]);
        let levels = vec![tm::dense_level(1); 10_000];
        deep.tensors[t as usize].set(tm::SPARSITY, tm::sparsity(&[0; 10_000], levels));
        for (m, expected) in [
            (no_input, "input 0 missing (0 given)"),
            (big_input, "input tensor 100000 out of 2 tensors"),
            (big_output, "output tensor 100000 out of 2 tensors"),
            (stride0, "operator 0: stride [2, 0]"),
            (huge, "at most 67108864"),
            (deep, "rank 10000"),
        ] {
            let err = convert_error(&m);
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn constant_operand_of_higher_rank_is_an_error() {
        // ADD of a 4-D activation and a 5-D constant.
        let mut m = tm::logistic();
        let c = m.tensor("c", &[1, 1, 1, 1, 1], tm::F32, &tm::f32_bytes(&[1.0]));
        m.codes[0] = op::ADD;
        m.operators[0]
            .set(OP_INPUTS, Field::Ints(vec![0, c]))
            .set(tm::OPTIONS, Field::Table(Obj::default()));
        let err = convert_error(&m);
        assert!(
            err.contains("operand of shape [1, 1, 1, 1, 1] for a 4-D output"),
            "{err}"
        );
    }

    #[test]
    fn folded_constant_keeps_its_shape() {
        // DEQUANTIZE of a 2-element fp16 constant into a 4-element tensor.
        let mut m = tm::logistic();
        let h = m.tensor("h", &[2], 1, &[0, 0x3c, 0, 0x3c]);
        let f = m.tensor("f", &[4], tm::F32, &[]);
        m.operator(op::DEQUANTIZE, &[h], &[f]);
        let err = convert_error(&m);
        assert!(err.contains("folded output's shape differs"), "{err}");
    }
}
