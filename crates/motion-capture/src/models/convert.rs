//! TFLite → ONNX conversion for the pinned BlazePose models.
//!
//! Weights are folded into float32 initializers (fp16 `DEQUANTIZE` and sparse `DENSIFY` are constant
//! folded). Activations are kept NCHW inside the graph; only the input, the tensors around `RESHAPE`
//! and the 4-D outputs are transposed, so the graph's interface keeps TFLite's NHWC names and shapes.
//! Output is a pure function of the input bytes (no maps iterated, no timestamps): byte-identical runs.

use std::collections::{HashMap, HashSet};

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
        let dim = self.sparsity.traversal_order[k];
        if dim >= coords.len() {
            return Err(invalid("traversal order names a missing dimension"));
        }
        match &self.sparsity.levels[k] {
            tflite::DimMeta::Dense(n) => {
                for i in 0..*n {
                    coords[dim] = i;
                    self.level(k + 1, p * n + i, coords, dense)?;
                }
            }
            tflite::DimMeta::SparseCsr { segments, indices } => {
                let (Some(&from), Some(&to)) = (segments.get(p), segments.get(p + 1)) else {
                    return Err(invalid("sparse segment index out of range"));
                };
                for j in from..to {
                    coords[dim] = *indices
                        .get(j)
                        .ok_or_else(|| invalid("sparse index out of range"))?;
                    self.level(k + 1, j, coords, dense)?;
                }
            }
        }
        Ok(())
    }
}

/// Explicit SAME padding for one spatial axis: (before, after), the odd pixel going after.
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

/// Permutes a dense row-major tensor: output dim i is input dim `perm[i]`.
fn transpose<T: Copy + Default>(values: &[T], shape: &[i64], perm: &[usize]) -> (Vec<T>, Vec<i64>) {
    let rank = shape.len();
    let out_shape: Vec<i64> = perm.iter().map(|&p| shape[p]).collect();
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
    (out, out_shape)
}

const NHWC_TO_NCHW: [usize; 4] = [0, 3, 1, 2];
const NCHW_TO_NHWC: [usize; 4] = [0, 2, 3, 1];

/// Position of NHWC axis `a` in NCHW.
fn nchw_axis(a: usize) -> usize {
    [0, 2, 3, 1][a]
}

struct Converter<'m, 'a> {
    model: &'m Model<'a>,
    graph: Graph,
    consts: Vec<Option<Const>>,
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
            .map(load_const)
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
            self.operator(k, op).map_err(|e| match e {
                ConvertError::Invalid(m) => {
                    invalid(format!("operator {k} (code {}): {m}", op.code))
                }
                ConvertError::Unsupported(m) => {
                    unsupported(format!("operator {k} (code {}): {m}", op.code))
                }
                other => other,
            })?;
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

    fn index(i: i32) -> Result<usize, ConvertError> {
        usize::try_from(i).map_err(|_| invalid("missing required operand"))
    }

    fn activation(&self, i: i32) -> Result<String, ConvertError> {
        let i = Self::index(i)?;
        self.names[i].clone().ok_or_else(|| {
            invalid(format!(
                "tensor {i} ({}) used before it is produced",
                self.tensor(i).map(|t| t.name.as_str()).unwrap_or("?")
            ))
        })
    }

    fn constant(&self, i: i32) -> Result<&Const, ConvertError> {
        let i = Self::index(i)?;
        self.consts[i]
            .as_ref()
            .ok_or_else(|| unsupported(format!("tensor {i} must be a constant")))
    }

    fn shape(&self, i: i32) -> Result<&'m [i64], ConvertError> {
        Ok(&self.tensor(Self::index(i)?)?.shape)
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

    /// Emits an initializer once per `key` and returns its name.
    fn initializer(&mut self, key: String, dims: Vec<i64>, data: impl FnOnce() -> Data) -> String {
        if let Some(name) = self.emitted.get(&key) {
            return name.clone();
        }
        let name = format!("c{}_{}", self.graph.initializers.len(), key);
        self.graph.initializers.push(Initializer {
            name: name.clone(),
            dims,
            data: data(),
        });
        self.emitted.insert(key, name.clone());
        name
    }

    fn i64_initializer(&mut self, key: String, values: Vec<i64>) -> String {
        let dims = vec![values.len() as i64];
        self.initializer(key, dims, || Data::I64(values))
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
            self.names[i] = Some(internal);
        } else {
            self.names[i] = Some(t.name.clone());
        }
        Ok(())
    }

    fn graph_output(&mut self, i: usize) -> Result<(), ConvertError> {
        let t = self.tensor(i)?;
        let internal = self.activation(i as i32)?;
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
                let x = self.activation(o.inputs[0])?;
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
        let input = o
            .inputs
            .first()
            .copied()
            .ok_or_else(|| invalid("no input"))?;
        let src = self.tensor(Self::index(input)?)?;
        if o.code == op::DEQUANTIZE && src.dtype != DType::F16 {
            return Err(unsupported(format!(
                "DEQUANTIZE of {:?} (only fp16 constants)",
                src.dtype
            )));
        }
        let value = self.constant(input)?.clone();
        let out = Self::index(*o.outputs.first().ok_or_else(|| invalid("no output"))?)?;
        self.consts[out] = Some(value);
        Ok(())
    }

    /// Names the op's single output `t<index>` and records it.
    fn output_name(&mut self, o: &Operator) -> Result<String, ConvertError> {
        let out = Self::index(*o.outputs.first().ok_or_else(|| invalid("no output"))?)?;
        let name = format!("t{out}");
        self.names[out] = Some(name.clone());
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
                let lo = self.initializer("relu6_min".into(), vec![], || Data::F32(vec![0.0]));
                let hi = self.initializer("relu6_max".into(), vec![], || Data::F32(vec![6.0]));
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
        let x = self.activation(o.inputs[0])?;
        let in_shape = self.shape(o.inputs[0])?;
        let Const::F32 {
            shape: w_shape,
            values: w,
        } = self.constant(o.inputs[1])?.clone()
        else {
            return Err(unsupported("integer convolution weights"));
        };
        if in_shape.len() != 4 || w_shape.len() != 4 {
            return Err(invalid("convolution needs 4-D input and filter"));
        }
        // OHWI → OIHW; depthwise [1, kh, kw, C·m] → [C·m, 1, kh, kw] (the same permutation [3,0,1,2]).
        let perm: &[usize] = if depthwise {
            &[3, 0, 1, 2]
        } else {
            &[0, 3, 1, 2]
        };
        let (w_data, w_dims) = transpose(&w, &w_shape, perm);
        let w_index = Self::index(o.inputs[1])?;
        let w_name = self.initializer(format!("w{w_index}"), w_dims.clone(), || Data::F32(w_data));
        let mut inputs = vec![x, w_name];
        if let Some(&b) = o.inputs.get(2).filter(|&&b| b >= 0) {
            let Const::F32 { shape, values } = self.constant(b)?.clone() else {
                return Err(unsupported("integer bias"));
            };
            inputs.push(self.initializer(format!("b{b}"), shape, || Data::F32(values)));
        }
        let kernel = [w_dims[2], w_dims[3]];
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

    fn max_pool(&mut self, k: usize, o: &Operator) -> Result<(), ConvertError> {
        let Options::Pool { window, act } = o.options.clone() else {
            return Err(invalid("pool without options"));
        };
        let x = self.activation(o.inputs[0])?;
        let in_shape = self.shape(o.inputs[0])?;
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
    fn elementwise_operand(&mut self, i: i32, out_rank: usize) -> Result<String, ConvertError> {
        let index = Self::index(i)?;
        if self.consts[index].is_none() {
            return self.activation(i);
        }
        let Const::F32 { shape, values } = self.constant(i)?.clone() else {
            return Err(unsupported("integer operand of ADD"));
        };
        let (values, dims) = if out_rank == 4 {
            // Left-pad the shape with ones (numpy broadcasting), then move channels first.
            let mut full = vec![1i64; 4 - shape.len().min(4)];
            full.extend_from_slice(&shape);
            transpose(&values, &full, &NHWC_TO_NCHW)
        } else {
            (values, shape)
        };
        Ok(self.initializer(format!("k{index}"), dims, || Data::F32(values)))
    }

    fn add(&mut self, k: usize, o: &Operator) -> Result<(), ConvertError> {
        let Options::Add { act } = o.options else {
            return Err(invalid("ADD without options"));
        };
        let rank = self.shape(o.outputs[0])?.len();
        let a = self.elementwise_operand(o.inputs[0], rank)?;
        let b = self.elementwise_operand(o.inputs[1], rank)?;
        let name = format!("add_{k}");
        self.with_activation(o, name.clone(), act, |c, out| {
            c.push("Add", name, vec![a, b], vec![out], vec![])
        })
    }

    /// PAD: the amounts constant may be shared by several PAD ops, so it is only read, never changed.
    fn pad(&mut self, k: usize, o: &Operator) -> Result<(), ConvertError> {
        let x = self.activation(o.inputs[0])?;
        let Const::I32 { values, .. } = self.constant(o.inputs[1])?.clone() else {
            return Err(unsupported("PAD amounts must be int32"));
        };
        let rank = self.shape(o.inputs[0])?.len();
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
        let p = self.i64_initializer(format!("pads{}", o.inputs[1]), pads);
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
        let x = self.activation(o.inputs[0])?;
        let in_shape = self.shape(o.inputs[0])?;
        let Const::I32 { values: size, .. } = self.constant(o.inputs[1])?.clone() else {
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
        let s = self.i64_initializer(key, sizes);
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
        let x = self.activation(o.inputs[0])?;
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
        let mut x = self.activation(o.inputs[0])?;
        let in_rank = self.shape(o.inputs[0])?.len();
        let out_shape = self.shape(o.outputs[0])?.to_vec();
        let new_shape: Vec<i64> = match (o.inputs.get(1).filter(|&&i| i >= 0), &o.options) {
            (Some(&s), _) => match self.constant(s)? {
                Const::I32 { values, .. } => values.iter().map(|&v| i64::from(v)).collect(),
                Const::F32 { .. } => return Err(unsupported("float RESHAPE shape")),
            },
            (None, Options::Reshape { new_shape }) if !new_shape.is_empty() => {
                new_shape.iter().map(|&v| i64::from(v)).collect()
            }
            _ => out_shape.clone(),
        };
        if in_rank == 4 {
            let nhwc = format!("t{}_nhwc", o.inputs[0]);
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
        let s = self.i64_initializer(key, new_shape);
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
        let rank = self.shape(o.outputs[0])?.len() as i32;
        let axis = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&axis) {
            return Err(invalid(format!("concatenation axis {axis} out of range")));
        }
        let axis = if rank == 4 {
            nchw_axis(axis as usize)
        } else {
            axis as usize
        };
        let inputs = o
            .inputs
            .iter()
            .map(|&i| self.activation(i))
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
    fn transpose_ohwi_to_oihw() {
        // O=1, H=1, W=2, I=3: values indexed (w, i) → OIHW indexed (i, w).
        let (v, shape) = transpose(&[0, 1, 2, 10, 11, 12], &[1, 1, 2, 3], &[0, 3, 1, 2]);
        assert_eq!(shape, vec![1, 3, 1, 2]);
        assert_eq!(v, vec![0, 10, 1, 11, 2, 12]);
    }
}
