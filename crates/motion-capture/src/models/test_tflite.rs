//! Small TFLite files for tests, written from plain Rust values.
//!
//! [`Obj`] is one flatbuffer table as (field id, value) pairs, so a test can take a valid model and
//! change one field to make it malformed. The writer lays each vtable out just before its table and
//! every referenced object after its referrer (offsets point forward), which `flatbuf.rs` reads like
//! `flatc` output. Field ids follow `tensorflow/lite/schema/schema.fbs`, as in `tflite.rs`.

use super::tflite::op;

/// A field's value.
#[derive(Clone, Debug)]
pub enum Field {
    U8(u8),
    I32(i32),
    U64(u64),
    Ints(Vec<i32>),
    Bytes(Vec<u8>),
    Str(String),
    Table(Obj),
    Tables(Vec<Obj>),
}

/// One table: its fields by id.
#[derive(Clone, Debug, Default)]
pub struct Obj(pub Vec<(u16, Field)>);

impl Obj {
    /// Sets (or adds) field `id`.
    pub fn set(&mut self, id: u16, value: Field) -> &mut Self {
        self.0.retain(|(i, _)| *i != id);
        self.0.push((id, value));
        self
    }
}

fn inline_size(f: &Field) -> usize {
    match f {
        Field::U8(_) => 1,
        Field::U64(_) => 8,
        _ => 4,
    }
}

fn patch_offset(out: &mut [u8], at: usize, target: usize) {
    let off = u32::try_from(target - at).expect("test model under 4 GiB");
    out[at..at + 4].copy_from_slice(&off.to_le_bytes());
}

/// Writes a table (vtable first) and what it references; returns the table's position.
fn write_table(out: &mut Vec<u8>, obj: &Obj) -> usize {
    let slots = obj
        .0
        .iter()
        .map(|(id, _)| *id as usize + 1)
        .max()
        .unwrap_or(0);
    let mut field_offsets = vec![0u16; slots];
    let mut size = 4;
    for (id, f) in &obj.0 {
        field_offsets[*id as usize] = size as u16;
        size += inline_size(f);
    }
    let vtable = out.len();
    out.extend_from_slice(&(4 + 2 * slots as u16).to_le_bytes());
    out.extend_from_slice(&(size as u16).to_le_bytes());
    for o in field_offsets {
        out.extend_from_slice(&o.to_le_bytes());
    }
    let table = out.len();
    out.extend_from_slice(&((table - vtable) as i32).to_le_bytes());
    let mut refs = Vec::new();
    for (_, f) in &obj.0 {
        match f {
            Field::U8(v) => out.push(*v),
            Field::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
            Field::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
            other => {
                refs.push((out.len(), other));
                out.extend_from_slice(&[0; 4]);
            }
        }
    }
    for (at, f) in refs {
        let target = write_referenced(out, f);
        patch_offset(out, at, target);
    }
    table
}

/// Writes a vector, string or table; returns the position an offset to it holds.
fn write_referenced(out: &mut Vec<u8>, f: &Field) -> usize {
    let start = out.len();
    let mut vector = |len: usize, bytes: &[u8]| {
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(bytes);
        start
    };
    match f {
        Field::Ints(v) => vector(
            v.len(),
            &v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>(),
        ),
        Field::Bytes(b) => vector(b.len(), b),
        Field::Str(s) => vector(s.len(), &[s.as_bytes(), &[0]].concat()),
        Field::Table(obj) => write_table(out, obj),
        Field::Tables(objs) => {
            vector(objs.len(), &vec![0; 4 * objs.len()]);
            for (k, obj) in objs.iter().enumerate() {
                let table = write_table(out, obj);
                patch_offset(out, start + 4 + 4 * k, table);
            }
            start
        }
        scalar => panic!("{scalar:?} is stored inline"),
    }
}

/// A model with one subgraph, as tables a test can change before [`TestModel::bytes`].
#[derive(Clone, Debug, Default)]
pub struct TestModel {
    /// Builtin operator codes; an operator's `opcode_index` points here.
    pub codes: Vec<i32>,
    pub buffers: Vec<Obj>,
    pub tensors: Vec<Obj>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub operators: Vec<Obj>,
}

pub const F32: u8 = 0;

impl TestModel {
    pub fn bytes(&self) -> Vec<u8> {
        let codes = self.codes.iter().map(|&c| Obj(vec![(3, Field::I32(c))]));
        let subgraph = Obj(vec![
            (0, Field::Tables(self.tensors.clone())),
            (1, Field::Ints(self.inputs.clone())),
            (2, Field::Ints(self.outputs.clone())),
            (3, Field::Tables(self.operators.clone())),
        ]);
        let root = Obj(vec![
            (0, Field::I32(3)),
            (1, Field::Tables(codes.collect())),
            (2, Field::Tables(vec![subgraph])),
            (4, Field::Tables(self.buffers.clone())),
        ]);
        let mut out = vec![0, 0, 0, 0];
        out.extend_from_slice(b"TFL3");
        let table = write_table(&mut out, &root);
        patch_offset(&mut out, 0, table);
        out
    }

    /// Adds a tensor (with its own buffer, empty for an activation) and returns its index.
    pub fn tensor(&mut self, name: &str, shape: &[i32], dtype: u8, data: &[u8]) -> i32 {
        self.buffers
            .push(Obj(vec![(0, Field::Bytes(data.to_vec()))]));
        self.tensors.push(Obj(vec![
            (0, Field::Ints(shape.to_vec())),
            (1, Field::U8(dtype)),
            (2, Field::I32(self.buffers.len() as i32 - 1)),
            (3, Field::Str(name.to_owned())),
        ]));
        self.tensors.len() as i32 - 1
    }

    /// Adds an operator (and its code) and returns it, to set options on.
    pub fn operator(&mut self, code: i32, inputs: &[i32], outputs: &[i32]) -> &mut Obj {
        let index = match self.codes.iter().position(|&c| c == code) {
            Some(i) => i,
            None => {
                self.codes.push(code);
                self.codes.len() - 1
            }
        };
        self.operators.push(Obj(vec![
            (0, Field::I32(index as i32)),
            (1, Field::Ints(inputs.to_vec())),
            (2, Field::Ints(outputs.to_vec())),
        ]));
        self.operators.last_mut().expect("just pushed")
    }
}

pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// input [1, 2, 2, 1] → LOGISTIC → output.
pub fn logistic() -> TestModel {
    let mut m = TestModel::default();
    let x = m.tensor("input", &[1, 2, 2, 1], F32, &[]);
    let y = m.tensor("output", &[1, 2, 2, 1], F32, &[]);
    m.operator(op::LOGISTIC, &[x], &[y]);
    (m.inputs, m.outputs) = (vec![x], vec![y]);
    m
}

/// input [1, 4, 4, 1] → 3×3 CONV_2D (SAME, stride 2, bias, RELU) → output [1, 2, 2, 2].
pub fn conv() -> TestModel {
    let mut m = TestModel::default();
    let x = m.tensor("input", &[1, 4, 4, 1], F32, &[]);
    let weights: Vec<f32> = (0..18).map(|i| i as f32 / 8.0).collect();
    let w = m.tensor("w", &[2, 3, 3, 1], F32, &f32_bytes(&weights));
    let b = m.tensor("b", &[2], F32, &f32_bytes(&[0.5, -0.5]));
    let y = m.tensor("output", &[1, 2, 2, 2], F32, &[]);
    // Conv2DOptions: padding 0 (SAME), stride_w 1, stride_h 2, fused_activation_function 3.
    let options = Obj(vec![
        (0, Field::U8(0)),
        (1, Field::I32(2)),
        (2, Field::I32(2)),
        (3, Field::U8(1)),
    ]);
    m.operator(op::CONV_2D, &[x, w, b], &[y])
        .set(3, Field::U8(1))
        .set(4, Field::Table(options));
    (m.inputs, m.outputs) = (vec![x], vec![y]);
    m
}

/// input [1, 2, 2, 1] + DENSIFY(sparse [2] constant [0, 5]) → output [1, 2, 2, 2].
pub fn sparse_add() -> TestModel {
    let mut m = TestModel::default();
    let x = m.tensor("input", &[1, 2, 2, 1], F32, &[]);
    let s = m.tensor("sparse", &[2], F32, &f32_bytes(&[5.0]));
    m.tensors[s as usize].set(SPARSITY, sparsity(&[0], vec![csr_level(&[0, 1], &[1])]));
    let d = m.tensor("dense", &[2], F32, &[]);
    let y = m.tensor("output", &[1, 2, 2, 2], F32, &[]);
    m.operator(op::DENSIFY, &[s], &[d]);
    m.operator(op::ADD, &[x, d], &[y])
        .set(OPTIONS, Field::Table(Obj::default()));
    (m.inputs, m.outputs) = (vec![x], vec![y]);
    m
}

/// Field id of an operator's `builtin_options` table.
pub const OPTIONS: u16 = 4;
/// Field ids of an operator's input and output index vectors.
pub const OP_INPUTS: u16 = 1;
pub const OP_OUTPUTS: u16 = 2;
/// Field ids of a tensor's shape and sparsity.
pub const SHAPE: u16 = 0;
pub const SPARSITY: u16 = 6;

/// The options table of `m`'s operator `k`.
pub fn options(m: &mut TestModel, k: usize) -> &mut Obj {
    let (_, Field::Table(o)) = m.operators[k]
        .0
        .iter_mut()
        .find(|(id, _)| *id == OPTIONS)
        .expect("operator has options")
    else {
        panic!("options are a table");
    };
    o
}

/// `SparsityParameters` with the given traversal order and levels (`DimensionMetadata` tables).
pub fn sparsity(order: &[i32], levels: Vec<Obj>) -> Field {
    Field::Table(Obj(vec![
        (0, Field::Ints(order.to_vec())),
        (2, Field::Tables(levels)),
    ]))
}

/// A DENSE storage level of `size`.
pub fn dense_level(size: i32) -> Obj {
    Obj(vec![(0, Field::U8(0)), (1, Field::I32(size))])
}

/// A SPARSE_CSR storage level with int32 segments and indices.
pub fn csr_level(segments: &[i32], indices: &[i32]) -> Obj {
    let int32_vector = |v: &[i32]| Field::Table(Obj(vec![(0, Field::Ints(v.to_vec()))]));
    Obj(vec![
        (0, Field::U8(1)),
        (2, Field::U8(1)),
        (3, int32_vector(segments)),
        (4, Field::U8(1)),
        (5, int32_vector(indices)),
    ])
}

/// The fuzz target's seeds are these models; `MOTIOND_WRITE_FUZZ_SEEDS=1` rewrites them.
#[test]
fn fuzz_seeds_are_the_test_models() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/tflite_convert");
    let models = [
        ("logistic.tflite", logistic()),
        ("conv.tflite", conv()),
        ("sparse_add.tflite", sparse_add()),
    ];
    for (file, model) in models {
        let path = dir.join(file);
        if std::env::var_os("MOTIOND_WRITE_FUZZ_SEEDS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, model.bytes()).unwrap();
        }
        assert!(
            std::fs::read(&path).ok() == Some(model.bytes()),
            "{} is stale: rerun this test with MOTIOND_WRITE_FUZZ_SEEDS=1",
            path.display()
        );
    }
}
