//! The BVH reader (`motion_capture::bvh`), built for untrusted files: any bytes end in a
//! `Bvh` or a `BvhError`, never a panic; an accepted file's forward kinematics and its
//! conversion to an animation are finite and do not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motion_capture::bvh::{Limits, parse_with_limits};

fuzz_target!(|data: &[u8]| {
    // Tighter than the defaults so that one input stays fast; the checks are the same code.
    let limits = Limits {
        max_bytes: 1 << 20,
        max_joints: 64,
        max_frames: 256,
        max_values: 64 * 256,
    };
    let Ok(bvh) = parse_with_limits(data, &limits) else {
        return;
    };
    assert!(!bvh.joints.is_empty());
    assert!(bvh.frame_time_s.is_finite() && bvh.frame_time_s > 0.0);
    assert!(bvh.frame_count() <= limits.max_frames);
    for (i, j) in bvh.joints.iter().enumerate() {
        assert!(j.parent.is_none_or(|p| p < i), "joints are parents-first");
    }
    if bvh.frame_count() > 0 {
        let (positions, _) = bvh.world_pose(bvh.frame_count() - 1);
        assert_eq!(positions.len(), bvh.joints.len());
        assert!(
            positions.iter().flatten().all(|v| v.is_finite()),
            "FK must stay finite"
        );
        let _ = bvh.to_animation();
    }
});
