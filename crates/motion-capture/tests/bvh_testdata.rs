//! The BVH reader on every real clip of `shared/testdata/bvh`: parse, frame counts, the
//! detected axes and units, and the converted animation's forward kinematics against the file's.

use std::path::PathBuf;

use motion_capture::bvh::{self, Bvh, Unit, UpAxis};

fn testdata_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/bvh"
    ))
}

/// Every `.bvh` of the test data, sorted; fails (never skips) when the folder is missing.
fn clips() -> Vec<(String, Vec<u8>)> {
    let dir = testdata_dir();
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

/// The `Frames:` number, read with a plain text search independent of the parser.
fn header_frames(bytes: &[u8]) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Frames:"))
        .expect("Frames: line");
    line.trim_start()["Frames:".len()..].trim().parse().unwrap()
}

fn parse(name: &str, bytes: &[u8]) -> Bvh {
    bvh::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_clip_parses_with_the_header_frame_count() {
    for (name, bytes) in clips() {
        let bvh = parse(&name, &bytes);
        assert_eq!(bvh.frame_count(), header_frames(&bytes), "{name}");
        assert!(
            (25.0..=125.0).contains(&bvh.fps()),
            "{name}: {} fps",
            bvh.fps()
        );
        let channels: usize = bvh.joints.iter().map(|j| j.channels.len()).sum();
        assert_eq!(channels, bvh.channels_per_frame);
        assert_eq!(
            bvh.joints[0].channels.len(),
            6,
            "{name}: root has position channels"
        );
    }
}

#[test]
fn up_axis_and_units_are_detected() {
    for (name, bytes) in clips() {
        let n = parse(&name, &bytes).normalization();
        let expected_up = if name.starts_with("animated_drawings_fair1") {
            UpAxis::PosZ
        } else {
            UpAxis::PosY
        };
        assert_eq!(n.up, expected_up, "{name}");
        // The README's heights: ~25 units (CMU), ~40-45 (fair1): no human unit; ~150-180: cm.
        let expected_unit =
            if name.starts_with("cmu") || name.contains("cmu1") || name.contains("fair1") {
                Unit::Unknown
            } else {
                Unit::Centimetres
            };
        assert_eq!(
            n.unit, expected_unit,
            "{name}: height {:.1}",
            n.height_file_units
        );
        assert!(
            (140.0..=200.0).contains(&n.height_cm()),
            "{name}: {:.1} cm",
            n.height_cm()
        );
    }
}

#[test]
fn converted_animation_matches_the_files_own_forward_kinematics() {
    for (name, bytes) in clips() {
        let bvh = parse(&name, &bytes);
        let converted = bvh.to_animation();
        let anim = &converted.animation;
        let n = &converted.normalization;
        assert_eq!(anim.frames.len(), bvh.frame_count(), "{name}");
        assert!(converted.approximated_joints.is_empty(), "{name}");
        let tolerance = 1e-3 * n.height_cm();
        let step = (bvh.frame_count() / 25).max(1);
        for f in (0..bvh.frame_count()).step_by(step) {
            let expected: Vec<[f64; 3]> = bvh
                .world_positions(f)
                .into_iter()
                .map(|p| n.apply(p))
                .collect();
            let got = anim.world_positions(&anim.frames[f]);
            for (j, (e, g)) in expected.iter().zip(&got).enumerate() {
                let d = ((e[0] - g[0] as f64).powi(2)
                    + (e[1] - g[1] as f64).powi(2)
                    + (e[2] - g[2] as f64).powi(2))
                .sqrt();
                assert!(d <= tolerance, "{name} frame {f} joint {j}: {e:?} vs {g:?}");
            }
        }
    }
}

#[test]
fn normalised_clips_stand_on_the_floor_facing_forward() {
    for (name, bytes) in clips() {
        let converted = parse(&name, &bytes).to_animation();
        let anim = &converted.animation;
        let first = anim.world_positions(&anim.frames[0]);
        // Starts over the origin.
        assert!(
            first[0][0].abs() < 1e-3 && first[0][2].abs() < 1e-3,
            "{name}: {:?}",
            first[0]
        );
        // Head above hips in the first frame, by a good part of the height.
        let head = anim
            .skeleton
            .joints
            .iter()
            .position(|j| j.name.to_lowercase().contains("head"))
            .unwrap();
        assert!(
            first[head][1] - first[0][1] > 0.15 * converted.normalization.height_cm() as f32,
            "{name}"
        );
        // The lowest point of the clip is on the floor.
        let lowest = anim
            .frames
            .iter()
            .flat_map(|f| {
                anim.world_positions(f)
                    .into_iter()
                    .chain(anim.end_site_positions(f).into_iter().flatten())
            })
            .map(|p| p[1])
            .fold(f32::INFINITY, f32::min);
        assert!(lowest.abs() < 1e-2, "{name}: lowest point {lowest}");
    }
}

/// Cheap deterministic mutations of every real clip (truncations, flipped bytes in the
/// hierarchy and in the motion data): the reader must answer with a value or an error.
#[test]
fn mutated_real_clips_never_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for (name, bytes) in clips() {
        let motion_at = bytes
            .windows(6)
            .position(|w| w == b"MOTION")
            .unwrap_or(bytes.len() / 2);
        for _ in 0..20 {
            // Cut in the hierarchy: always an error. Cut anywhere: never a panic.
            let cut = next(motion_at);
            assert!(
                bvh::parse(&bytes[..cut]).is_err(),
                "{name}: a cut at {cut} must not parse"
            );
            let _ = bvh::parse(&bytes[..next(bytes.len())]);
        }
        for round in 0..30 {
            let mut v = bytes.clone();
            let region = if round % 2 == 0 {
                motion_at.max(1)
            } else {
                v.len()
            };
            for _ in 0..3 {
                let i = next(region);
                v[i] = b"{}-.9 \nAEeNn:\t\0\xff"[next(16)];
            }
            if let Ok(parsed) = bvh::parse(&v) {
                let _ = parsed.to_animation();
            }
        }
    }
}
