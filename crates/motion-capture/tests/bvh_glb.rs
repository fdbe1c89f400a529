//! Every real clip of `shared/testdata/bvh`, converted to glb: the glb is read back here with an
//! independent reader (GLB container, glTF JSON, accessors, node TRS, LINEAR animation sampling)
//! and its forward kinematics at several frames must equal the BVH file's own, mapped through
//! the reader's normalisation (Y up, cm → m), within 1e-3 of the figure's height.

use std::path::PathBuf;

use motion_capture::bvh;
use serde_json::Value;

fn clips() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/bvh"
    ));
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "test data missing at {}: {e}; run scripts/test.sh",
            dir.display()
        )
    });
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bvh"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert_eq!(out.len(), 12, "expected the 12 clips of the test data");
    out
}

type V3 = [f64; 3];
type Q = [f64; 4]; // x, y, z, w as glTF stores them

/// The two chunks of a GLB container.
fn split_glb(bytes: &[u8]) -> (Value, Vec<u8>) {
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) as usize;
    assert_eq!(&bytes[0..4], b"glTF", "GLB magic");
    assert_eq!(u32_at(4), 2, "GLB version");
    assert_eq!(u32_at(8), bytes.len(), "GLB length field");
    let json_len = u32_at(12);
    assert_eq!(&bytes[16..20], b"JSON");
    let json: Value = serde_json::from_slice(&bytes[20..20 + json_len]).expect("JSON chunk");
    let bin_start = 20 + json_len;
    let bin = if bin_start < bytes.len() {
        let bin_len = u32_at(bin_start);
        assert_eq!(&bytes[bin_start + 4..bin_start + 8], b"BIN\0");
        bytes[bin_start + 8..bin_start + 8 + bin_len].to_vec()
    } else {
        Vec::new()
    };
    (json, bin)
}

/// Reads a float accessor as rows of `width` numbers.
fn read_accessor(gltf: &Value, bin: &[u8], index: usize) -> Vec<Vec<f64>> {
    let acc = &gltf["accessors"][index];
    assert_eq!(acc["componentType"], 5126, "float accessor");
    let width = match acc["type"].as_str().unwrap() {
        "SCALAR" => 1,
        "VEC3" => 3,
        "VEC4" => 4,
        "MAT4" => 16,
        t => panic!("accessor type {t}"),
    };
    let count = acc["count"].as_u64().unwrap() as usize;
    let view = &gltf["bufferViews"][acc["bufferView"].as_u64().unwrap() as usize];
    assert_eq!(view["buffer"].as_u64().unwrap_or(0), 0);
    let base = view["byteOffset"].as_u64().unwrap_or(0) as usize
        + acc["byteOffset"].as_u64().unwrap_or(0) as usize;
    let stride = view["byteStride"]
        .as_u64()
        .map(|s| s as usize)
        .unwrap_or(width * 4);
    (0..count)
        .map(|i| {
            (0..width)
                .map(|k| {
                    let o = base + i * stride + k * 4;
                    f32::from_le_bytes(bin[o..o + 4].try_into().unwrap()) as f64
                })
                .collect()
        })
        .collect()
}

fn vec_of(v: &Value, default: &[f64]) -> Vec<f64> {
    match v.as_array() {
        Some(a) => a.iter().map(|x| x.as_f64().unwrap()).collect(),
        None => default.to_vec(),
    }
}

fn q_mul(a: Q, b: Q) -> Q {
    let [ax, ay, az, aw] = a;
    let [bx, by, bz, bw] = b;
    [
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ]
}

fn q_rotate(q: Q, v: V3) -> V3 {
    let u = [q[0], q[1], q[2]];
    let cross = |a: V3, b: V3| {
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    };
    let t = cross(u, v).map(|x| 2.0 * x);
    let c = cross(u, t);
    [
        v[0] + q[3] * t[0] + c[0],
        v[1] + q[3] * t[1] + c[1],
        v[2] + q[3] * t[2] + c[2],
    ]
}

fn q_normalize(q: Q) -> Q {
    let n = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
    q.map(|x| x / n)
}

/// glTF LINEAR sampling: translations lerp, rotations slerp (a normalised lerp on the shorter
/// arc is within 1e-6 here because neighbouring keys are close; the test samples at keys anyway).
fn sample(times: &[Vec<f64>], values: &[Vec<f64>], t: f64) -> Vec<f64> {
    let last = times.len() - 1;
    if t <= times[0][0] {
        return values[0].clone();
    }
    if t >= times[last][0] {
        return values[last].clone();
    }
    let i = times.partition_point(|k| k[0] <= t) - 1;
    let (t0, t1) = (times[i][0], times[i + 1][0]);
    let u = (t - t0) / (t1 - t0);
    let (a, b) = (&values[i], &values[i + 1]);
    let sign = if a.len() == 4 && a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() < 0.0 {
        -1.0
    } else {
        1.0
    };
    a.iter()
        .zip(b)
        .map(|(x, y)| x + (sign * y - x) * u)
        .collect()
}

/// Node world positions (metres) at time `t`, by node index.
fn world_positions(gltf: &Value, bin: &[u8], t: f64) -> Vec<V3> {
    let nodes = gltf["nodes"].as_array().unwrap();
    let mut local_t: Vec<V3> = nodes
        .iter()
        .map(|n| vec_of(&n["translation"], &[0.0; 3]).try_into().unwrap())
        .collect();
    let mut local_r: Vec<Q> = nodes
        .iter()
        .map(|n| {
            vec_of(&n["rotation"], &[0.0, 0.0, 0.0, 1.0])
                .try_into()
                .unwrap()
        })
        .collect();
    for n in nodes {
        let s = vec_of(&n["scale"], &[1.0; 3]);
        assert!(
            s.iter().all(|x| (x - 1.0).abs() < 1e-9),
            "node scale is not used by the exporter"
        );
    }
    let anim = &gltf["animations"][0];
    for ch in anim["channels"].as_array().unwrap() {
        let sampler = &anim["samplers"][ch["sampler"].as_u64().unwrap() as usize];
        assert_eq!(
            sampler["interpolation"].as_str().unwrap_or("LINEAR"),
            "LINEAR"
        );
        let times = read_accessor(gltf, bin, sampler["input"].as_u64().unwrap() as usize);
        let values = read_accessor(gltf, bin, sampler["output"].as_u64().unwrap() as usize);
        let node = ch["target"]["node"].as_u64().unwrap() as usize;
        let v = sample(&times, &values, t);
        match ch["target"]["path"].as_str().unwrap() {
            "translation" => local_t[node] = v.try_into().unwrap(),
            "rotation" => local_r[node] = q_normalize(v.try_into().unwrap()),
            p => panic!("unexpected animated path {p}"),
        }
    }
    let mut parent = vec![None; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for c in n["children"].as_array().into_iter().flatten() {
            parent[c.as_u64().unwrap() as usize] = Some(i);
        }
    }
    let mut world: Vec<Option<(V3, Q)>> = vec![None; nodes.len()];
    fn resolve(
        i: usize,
        parent: &[Option<usize>],
        lt: &[V3],
        lr: &[Q],
        world: &mut Vec<Option<(V3, Q)>>,
    ) -> (V3, Q) {
        if let Some(w) = world[i] {
            return w;
        }
        let w = match parent[i] {
            None => (lt[i], lr[i]),
            Some(p) => {
                let (pt, pr) = resolve(p, parent, lt, lr, world);
                let o = q_rotate(pr, lt[i]);
                ([pt[0] + o[0], pt[1] + o[1], pt[2] + o[2]], q_mul(pr, lr[i]))
            }
        };
        world[i] = Some(w);
        w
    }
    (0..nodes.len())
        .map(|i| resolve(i, &parent, &local_t, &local_r, &mut world).0)
        .collect()
}

#[test]
fn glb_forward_kinematics_equals_the_bvh_files_own() {
    for (name, bytes) in clips() {
        let parsed = bvh::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let converted = parsed.to_animation();
        let glb = motion_capture::catalog::glb_for(&converted.animation)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (gltf, bin) = split_glb(&glb);
        let nodes = gltf["nodes"].as_array().unwrap();
        // Joint nodes by name, in the BVH's joint order.
        let node_of: Vec<usize> = converted
            .animation
            .skeleton
            .joints
            .iter()
            .map(|j| {
                nodes
                    .iter()
                    .position(|n| n["name"] == j.name.as_str())
                    .unwrap_or_else(|| panic!("{name}: no node {}", j.name))
            })
            .collect();
        let n = &converted.normalization;
        let tolerance = 1e-3 * n.height_cm();
        let frames = parsed.frame_count();
        let picks = [
            0,
            1,
            frames / 7,
            frames / 3,
            frames / 2,
            2 * frames / 3,
            frames - 1,
        ];
        for f in picks {
            let t = f as f64 * parsed.frame_time_s;
            let glb_world = world_positions(&gltf, &bin, t);
            for (j, p_file) in parsed.world_positions(f).into_iter().enumerate() {
                let expected = n.apply(p_file);
                let got = glb_world[node_of[j]].map(|v| v * 100.0);
                let d = ((expected[0] - got[0]).powi(2)
                    + (expected[1] - got[1]).powi(2)
                    + (expected[2] - got[2]).powi(2))
                .sqrt();
                assert!(
                    d <= tolerance,
                    "{name} frame {f} joint {j}: bvh {expected:?} cm, glb {got:?} cm"
                );
            }
        }
    }
}

/// The glbs of all 12 clips (19 to 60 joints, fingers included) pass the Khronos validator.
#[test]
fn glb_of_every_clip_passes_the_khronos_validator() {
    let tools = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/js"));
    assert!(
        tools.join("node_modules/gltf-validator").exists(),
        "gltf-validator missing: run scripts/test.sh (it runs npm ci in tools/js)"
    );
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in clips() {
        let animation = bvh::parse(&bytes).unwrap().to_animation().animation;
        let path = dir.path().join(format!("{name}.glb"));
        std::fs::write(&path, motion_capture::catalog::glb_for(&animation).unwrap()).unwrap();
        let out = std::process::Command::new("node")
            .arg(tools.join("validate_gltf.mjs"))
            .arg(&path)
            .output()
            .expect("node runs (run scripts/test.sh)");
        assert!(
            out.status.success(),
            "validator failed to run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["numErrors"], 0, "{name}: {report}");
    }
}
