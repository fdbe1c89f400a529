//! `motion.glb`: glTF 2.0 binary with a skinned box-per-bone body and the animation
//! (api-contract §9.5). The JSON is built with `gltf-json`; the GLB container is ours.
//!
//! Units are metres (the animation's centimetres ÷ 100); glTF is Y up and the figure faces +Z,
//! the same axes as the animation. The bind pose is the rest pose (the T-pose).

use gltf_json as json;
use json::validation::{Checked, USize64};
use json::{Index, accessor, animation, buffer, mesh, scene};

use crate::animation::Animation;
use crate::animation::math::Quat;
use crate::animation::math::{Vec3, add, any_perpendicular, cross, norm, normalize_or, scale, sub};

#[derive(Debug, thiserror::Error)]
pub enum GlbError {
    #[error("the animation has no joints")]
    NoJoints,
    #[error("the animation has no frames")]
    NoFrames,
    #[error("serialising the glTF JSON: {0}")]
    Json(String),
}

/// The binary payload, one buffer; every view starts 4-byte aligned.
#[derive(Default)]
struct Bin {
    data: Vec<u8>,
}

impl Bin {
    fn push_f32(&mut self, values: &[f32]) -> (usize, usize) {
        self.align();
        let start = self.data.len();
        for v in values {
            self.data.extend_from_slice(&v.to_le_bytes());
        }
        (start, self.data.len() - start)
    }

    fn push_u16(&mut self, values: &[u16]) -> (usize, usize) {
        self.align();
        let start = self.data.len();
        for v in values {
            self.data.extend_from_slice(&v.to_le_bytes());
        }
        (start, self.data.len() - start)
    }

    fn push_u8(&mut self, values: &[u8]) -> (usize, usize) {
        self.align();
        let start = self.data.len();
        self.data.extend_from_slice(values);
        (start, self.data.len() - start)
    }

    fn align(&mut self) {
        while !self.data.len().is_multiple_of(4) {
            self.data.push(0);
        }
    }
}

struct Builder {
    root: json::Root,
    bin: Bin,
    buffer: Index<json::Buffer>,
}

impl Builder {
    fn view(
        &mut self,
        (offset, len): (usize, usize),
        target: Option<buffer::Target>,
    ) -> Index<buffer::View> {
        self.root.push(buffer::View {
            buffer: self.buffer,
            byte_length: USize64::from(len),
            byte_offset: Some(USize64::from(offset)),
            byte_stride: None,
            name: None,
            target: target.map(Checked::Valid),
            extensions: None,
            extras: Default::default(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn accessor(
        &mut self,
        view: Index<buffer::View>,
        count: usize,
        component: accessor::ComponentType,
        type_: accessor::Type,
        min: Option<serde_json::Value>,
        max: Option<serde_json::Value>,
    ) -> Index<json::Accessor> {
        self.root.push(json::Accessor {
            buffer_view: Some(view),
            byte_offset: None,
            count: USize64::from(count),
            component_type: Checked::Valid(accessor::GenericComponentType(component)),
            extensions: None,
            extras: Default::default(),
            type_: Checked::Valid(type_),
            min,
            max,
            name: None,
            normalized: false,
            sparse: None,
        })
    }

    fn floats(
        &mut self,
        values: &[f32],
        type_: accessor::Type,
        target: Option<buffer::Target>,
    ) -> Index<json::Accessor> {
        let width = match type_ {
            accessor::Type::Scalar => 1,
            accessor::Type::Vec3 => 3,
            accessor::Type::Vec4 => 4,
            accessor::Type::Mat4 => 16,
            _ => 1,
        };
        let range = self.bin.push_f32(values);
        let view = self.view(range, target);
        self.accessor(
            view,
            values.len() / width,
            accessor::ComponentType::F32,
            type_,
            None,
            None,
        )
    }
}

/// Builds `motion.glb` for `anim`.
pub fn to_glb(anim: &Animation) -> Result<Vec<u8>, GlbError> {
    let joints = &anim.skeleton.joints;
    if joints.is_empty() {
        return Err(GlbError::NoJoints);
    }
    if anim.frames.is_empty() {
        return Err(GlbError::NoFrames);
    }
    let mut root = json::Root::default();
    root.asset.generator = Some("motiond".into());
    let buffer = root.push(json::Buffer {
        byte_length: USize64(0),
        name: None,
        uri: None,
        extensions: None,
        extras: Default::default(),
    });
    let mut b = Builder {
        root,
        bin: Bin::default(),
        buffer,
    };

    let joint_nodes = add_joint_nodes(&mut b, anim);
    let skin = add_skin(&mut b, anim, &joint_nodes);
    let mesh = add_body_mesh(&mut b, anim);
    let roots: Vec<usize> = (0..joints.len())
        .filter(|&i| joints[i].parent.is_none())
        .collect();
    let motion = b.root.push(scene::Node {
        children: Some(roots.iter().map(|&i| joint_nodes[i]).collect()),
        name: Some("motion".into()),
        ..Default::default()
    });
    let body = b.root.push(scene::Node {
        mesh: Some(mesh),
        skin: Some(skin),
        name: Some("body".into()),
        ..Default::default()
    });
    let scene = b.root.push(json::Scene {
        extensions: None,
        extras: Default::default(),
        name: Some("motion".into()),
        nodes: vec![motion, body],
    });
    b.root.scene = Some(scene);
    add_animation(&mut b, anim, &joint_nodes);

    b.bin.align();
    b.root.buffers[0].byte_length = USize64::from(b.bin.data.len());
    let json_bytes = b.root.to_vec().map_err(|e| GlbError::Json(e.to_string()))?;
    Ok(glb_container(json_bytes, b.bin.data))
}

fn add_joint_nodes(b: &mut Builder, anim: &Animation) -> Vec<Index<scene::Node>> {
    let joints = &anim.skeleton.joints;
    let first = &anim.frames[0];
    // Nodes are created in joint order, so joint i is node i.
    let nodes: Vec<Index<scene::Node>> = joints
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let mut t = j.offset;
            if j.parent.is_none() {
                t = add(t, first.root_translation);
            }
            let q = first
                .rotations
                .get(i)
                .copied()
                .unwrap_or_default()
                .normalized();
            b.root.push(scene::Node {
                name: Some(j.name.clone()),
                translation: Some(scale(t, 0.01)),
                rotation: Some(scene::UnitQuaternion([q.x, q.y, q.z, q.w])),
                ..Default::default()
            })
        })
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        let children: Vec<Index<scene::Node>> =
            anim.skeleton.children(i).map(|c| nodes[c]).collect();
        if !children.is_empty() {
            b.root.nodes[node.value()].children = Some(children);
        }
    }
    nodes
}

fn add_skin(b: &mut Builder, anim: &Animation, nodes: &[Index<scene::Node>]) -> Index<json::Skin> {
    // Bind pose = rest pose: no rotation, so each inverse bind matrix is a pure translation.
    let rest = anim.skeleton.rest_positions();
    let mut ibm = Vec::with_capacity(rest.len() * 16);
    for p in &rest {
        let p = scale(*p, 0.01);
        ibm.extend_from_slice(&[
            1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -p[0], -p[1], -p[2], 1.0,
        ]);
    }
    let ibm = b.floats(&ibm, accessor::Type::Mat4, None);
    b.root.push(json::Skin {
        extensions: None,
        extras: Default::default(),
        inverse_bind_matrices: Some(ibm),
        joints: nodes.to_vec(),
        name: Some("skeleton".into()),
        skeleton: Some(nodes[0]),
    })
}

/// One box per bone (joint → child joint or end site) in the bind pose, weighted to the joint.
fn add_body_mesh(b: &mut Builder, anim: &Animation) -> Index<json::Mesh> {
    let m = bone_boxes(anim);
    let attributes = skinned_attributes(b, &m);
    let idx_range = b.bin.push_u16(&m.indices);
    let idx_view = b.view(idx_range, Some(buffer::Target::ElementArrayBuffer));
    let indices = b.accessor(
        idx_view,
        m.indices.len(),
        accessor::ComponentType::U16,
        accessor::Type::Scalar,
        None,
        None,
    );
    b.root.push(json::Mesh {
        extensions: None,
        extras: Default::default(),
        name: Some("bones".into()),
        primitives: vec![mesh::Primitive {
            attributes,
            extensions: None,
            extras: Default::default(),
            indices: Some(indices),
            material: None,
            mode: Checked::Valid(mesh::Mode::Triangles),
            targets: None,
        }],
        weights: None,
    })
}

/// One box per bone of the rest pose (metres), each bound to its parent joint alone.
fn bone_boxes(anim: &Animation) -> BoxMesh {
    let sk = &anim.skeleton;
    let rest = sk.rest_positions();
    let mut m = BoxMesh::default();
    for (i, j) in sk.joints.iter().enumerate() {
        let mut tips: Vec<Vec3> = sk.children(i).map(|c| rest[c]).collect();
        if let Some(e) = j.end_site {
            tips.push(add(rest[i], e));
        }
        for tip in tips {
            m.add_box(scale(rest[i], 0.01), scale(tip, 0.01), i as u8);
        }
    }
    m
}

/// Positions (with the bounds glTF requires), normals, and one joint per vertex at weight 1.
fn skinned_attributes(
    b: &mut Builder,
    m: &BoxMesh,
) -> std::collections::BTreeMap<Checked<mesh::Semantic>, Index<json::Accessor>> {
    let (lo, hi) = m.bounds();
    let pos_range = b.bin.push_f32(&m.positions.concat());
    let pos_view = b.view(pos_range, Some(buffer::Target::ArrayBuffer));
    let count = m.positions.len();
    let positions = b.accessor(
        pos_view,
        count,
        accessor::ComponentType::F32,
        accessor::Type::Vec3,
        Some(serde_json::json!(lo)),
        Some(serde_json::json!(hi)),
    );
    let normals = b.floats(
        &m.normals.concat(),
        accessor::Type::Vec3,
        Some(buffer::Target::ArrayBuffer),
    );
    let joint_bytes: Vec<u8> = m.joints.iter().flat_map(|&j| [j, 0, 0, 0]).collect();
    let joint_range = b.bin.push_u8(&joint_bytes);
    let joint_view = b.view(joint_range, Some(buffer::Target::ArrayBuffer));
    let joints0 = b.accessor(
        joint_view,
        count,
        accessor::ComponentType::U8,
        accessor::Type::Vec4,
        None,
        None,
    );
    let weights: Vec<f32> = (0..count).flat_map(|_| [1.0, 0.0, 0.0, 0.0]).collect();
    let weights0 = b.floats(
        &weights,
        accessor::Type::Vec4,
        Some(buffer::Target::ArrayBuffer),
    );
    std::collections::BTreeMap::from([
        (Checked::Valid(mesh::Semantic::Positions), positions),
        (Checked::Valid(mesh::Semantic::Normals), normals),
        (Checked::Valid(mesh::Semantic::Joints(0)), joints0),
        (Checked::Valid(mesh::Semantic::Weights(0)), weights0),
    ])
}

#[derive(Default)]
struct BoxMesh {
    positions: Vec<[f32; 3]>,
    normals: Vec<[f32; 3]>,
    joints: Vec<u8>,
    indices: Vec<u16>,
}

/// The six faces of a bone's box: the normal and four corners, counter-clockwise seen from
/// outside, in the box's frame (u, v across the bone in half-widths, then 0 at the bone's start
/// and 1 at its end).
const BOX_FACES: [([f32; 3], [[f32; 3]; 4]); 6] = [
    (
        [1., 0., 0.],
        [[1., -1., 0.], [1., 1., 0.], [1., 1., 1.], [1., -1., 1.]],
    ),
    (
        [-1., 0., 0.],
        [[-1., 1., 0.], [-1., -1., 0.], [-1., -1., 1.], [-1., 1., 1.]],
    ),
    (
        [0., 1., 0.],
        [[1., 1., 0.], [-1., 1., 0.], [-1., 1., 1.], [1., 1., 1.]],
    ),
    (
        [0., -1., 0.],
        [[-1., -1., 0.], [1., -1., 0.], [1., -1., 1.], [-1., -1., 1.]],
    ),
    (
        [0., 0., 1.],
        [[1., -1., 1.], [1., 1., 1.], [-1., 1., 1.], [-1., -1., 1.]],
    ),
    (
        [0., 0., -1.],
        [[-1., -1., 0.], [-1., 1., 0.], [1., 1., 0.], [1., -1., 0.]],
    ),
];

impl BoxMesh {
    /// A box around the segment a→b (metres), with its own vertices per face (flat normals).
    fn add_box(&mut self, a: Vec3, b: Vec3, joint: u8) {
        let d = sub(b, a);
        let len = norm(d);
        if len < 1e-4 {
            return;
        }
        let axis = normalize_or(d, [0.0, 1.0, 0.0]);
        let u = any_perpendicular(axis);
        let v = cross(axis, u);
        let half = (0.12 * len).clamp(0.01, 0.06);
        let corner = |s: f32, t: f32, end: f32| {
            add(
                add(add(a, scale(d, end)), scale(u, s * half)),
                scale(v, t * half),
            )
        };
        let in_box_frame =
            |c: [f32; 3]| add(add(scale(u, c[0]), scale(v, c[1])), scale(axis, c[2]));
        let faces = BOX_FACES.map(|(normal, corners)| {
            (
                in_box_frame(normal),
                corners.map(|[s, t, end]| corner(s, t, end)),
            )
        });
        for (n, quad) in faces {
            let base = self.positions.len() as u16;
            // Wind each triangle so that its geometric normal agrees with the face normal.
            let geo = cross(sub(quad[1], quad[0]), sub(quad[2], quad[0]));
            let flip = crate::animation::math::dot(geo, n) < 0.0;
            for p in quad {
                self.positions.push(p);
                self.normals.push(n);
                self.joints.push(joint);
            }
            let tri: [u16; 6] = if flip {
                [0, 2, 1, 0, 3, 2]
            } else {
                [0, 1, 2, 0, 2, 3]
            };
            self.indices.extend(tri.iter().map(|k| base + k));
        }
    }

    fn bounds(&self) -> ([f32; 3], [f32; 3]) {
        let mut lo = [f32::INFINITY; 3];
        let mut hi = [f32::NEG_INFINITY; 3];
        for p in &self.positions {
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        (lo, hi)
    }
}

/// The keyframe times (seconds), one per frame, with the bounds glTF requires.
fn add_keyframe_times(b: &mut Builder, anim: &Animation) -> Index<json::Accessor> {
    let n = anim.frames.len();
    let times: Vec<f32> = (0..n)
        .map(|i| (i as f64 * anim.frame_time_s) as f32)
        .collect();
    let range = b.bin.push_f32(&times);
    let view = b.view(range, None);
    b.accessor(
        view,
        n,
        accessor::ComponentType::F32,
        accessor::Type::Scalar,
        Some(serde_json::json!([times[0]])),
        Some(serde_json::json!([times[n - 1]])),
    )
}

/// Joint `joint`'s rotation per frame as x, y, z, w: unit quaternions, each in the hemisphere
/// of the one before, so that linear interpolation takes the short way.
fn rotation_track(anim: &Animation, joint: usize) -> Vec<f32> {
    let mut prev: Option<Quat> = None;
    let mut q = Vec::with_capacity(anim.frames.len() * 4);
    for f in &anim.frames {
        let mut r = f
            .rotations
            .get(joint)
            .copied()
            .unwrap_or_default()
            .normalized();
        if prev.is_some_and(|p| p.dot(r) < 0.0) {
            r = r.negated();
        }
        prev = Some(r);
        q.extend_from_slice(&[r.x, r.y, r.z, r.w]);
    }
    q
}

fn add_animation(b: &mut Builder, anim: &Animation, nodes: &[Index<scene::Node>]) {
    let input = add_keyframe_times(b, anim);
    let mut samplers = Vec::new();
    let mut channels = Vec::new();
    let mut channel =
        |output: Index<json::Accessor>, node: Index<scene::Node>, path: animation::Property| {
            let sampler = Index::push(
                &mut samplers,
                animation::Sampler {
                    extensions: None,
                    extras: Default::default(),
                    input,
                    interpolation: Checked::Valid(animation::Interpolation::Linear),
                    output,
                },
            );
            channels.push(animation::Channel {
                sampler,
                target: animation::Target {
                    extensions: None,
                    extras: Default::default(),
                    node,
                    path: Checked::Valid(path),
                },
                extensions: None,
                extras: Default::default(),
            });
        };
    for (i, j) in anim.skeleton.joints.iter().enumerate() {
        if j.parent.is_none() {
            let t: Vec<f32> = anim
                .frames
                .iter()
                .flat_map(|f| scale(add(f.root_translation, j.offset), 0.01))
                .collect();
            let out = b.floats(&t, accessor::Type::Vec3, None);
            channel(out, nodes[i], animation::Property::Translation);
        }
        let out = b.floats(&rotation_track(anim, i), accessor::Type::Vec4, None);
        channel(out, nodes[i], animation::Property::Rotation);
    }
    b.root.push(json::Animation {
        extensions: None,
        extras: Default::default(),
        channels,
        name: Some("motion".into()),
        samplers,
    });
}

/// The GLB container: a 12-byte header, the JSON chunk (space-padded) and the BIN chunk.
pub fn glb_container(mut json_bytes: Vec<u8>, mut bin: Vec<u8>) -> Vec<u8> {
    while !json_bytes.len().is_multiple_of(4) {
        json_bytes.push(b' ');
    }
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let total = 12 + 8 + json_bytes.len() + if bin.is_empty() { 0 } else { 8 + bin.len() };
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(json_bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&json_bytes);
    if !bin.is_empty() {
        out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
        out.extend_from_slice(b"BIN\0");
        out.extend_from_slice(&bin);
    }
    out
}
