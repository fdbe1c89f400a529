//! Unit tests of the reader on small hand-written files; the real clips are covered by
//! `tests/bvh_testdata.rs`.

use super::fk::{mat_vec, norm3, sub3};
use super::*;

const TWO_JOINTS: &str = "HIERARCHY
ROOT Hips
{
\tOFFSET 0 0 0
\tCHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
\tJOINT Spine
\t{
\t\tOFFSET 0 10 0
\t\tCHANNELS 3 Zrotation Xrotation Yrotation
\t\tEnd Site
\t\t{
\t\t\tOFFSET 0 5 0
\t\t}
\t}
}
MOTION
Frames: 2
Frame Time: 0.0333333
1 2 3 0 0 0 0 0 0
1 2 3 90 0 0 0 0 0
";

fn close(a: [f64; 3], b: [f64; 3]) -> bool {
    norm3(sub3(a, b)) < 1e-9
}

#[test]
fn parses_hierarchy_channels_and_frames() {
    let bvh = parse(TWO_JOINTS.as_bytes()).unwrap();
    assert_eq!(bvh.joints.len(), 2);
    assert_eq!(bvh.joints[1].parent, Some(0));
    assert_eq!(bvh.joints[1].channel_start, 6);
    assert_eq!(
        bvh.joints[1].channels,
        vec![Channel::Zrotation, Channel::Xrotation, Channel::Yrotation]
    );
    assert_eq!(bvh.joints[1].end_sites, vec![[0.0, 5.0, 0.0]]);
    assert_eq!(bvh.frame_count(), 2);
    assert_eq!(bvh.frame(1)[3], 90.0);
    assert!((bvh.fps() - 30.0).abs() < 1e-3);
}

#[test]
fn forward_kinematics_rotates_children() {
    let bvh = parse(TWO_JOINTS.as_bytes()).unwrap();
    let p0 = bvh.world_positions(0);
    assert!(close(p0[0], [1.0, 2.0, 3.0]));
    assert!(close(p0[1], [1.0, 12.0, 3.0]));
    // Root turned 90° about Z: the child's +Y offset points to −X.
    let p1 = bvh.world_positions(1);
    assert!(close(p1[1], [-9.0, 2.0, 3.0]), "{:?}", p1[1]);
    let ends = bvh.end_site_positions(1);
    assert!(close(ends[0].1, [-14.0, 2.0, 3.0]));
}

#[test]
fn channel_order_is_respected() {
    // Z then X: Rz(90)·Rx(90) applied to +Y: Rx(90) maps +Y to +Z, Rz keeps +Z.
    let text = TWO_JOINTS.replace("1 2 3 90 0 0 0 0 0", "0 0 0 0 0 0 90 90 0");
    let bvh = parse(text.as_bytes()).unwrap();
    let (p, r) = bvh.world_pose(1);
    assert!(close(p[1], [0.0, 10.0, 0.0]));
    assert!(
        close(mat_vec(&r[1], [0.0, 5.0, 0.0]), [0.0, 0.0, 5.0]),
        "{:?}",
        mat_vec(&r[1], [0.0, 5.0, 0.0])
    );
}

#[test]
fn six_channels_on_a_child_replace_its_offset() {
    let text = TWO_JOINTS
        .replace(
            "CHANNELS 3 Zrotation Xrotation Yrotation",
            "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
        )
        .replace("1 2 3 0 0 0 0 0 0", "0 0 0 0 0 0 0 20 0 0 0 0")
        .replace("1 2 3 90 0 0 0 0 0", "0 0 0 0 0 0 0 30 0 0 0 0");
    let bvh = parse(text.as_bytes()).unwrap();
    assert_eq!(bvh.channels_per_frame, 12);
    assert!(close(bvh.world_positions(0)[1], [0.0, 20.0, 0.0]));
    assert!(close(bvh.world_positions(1)[1], [0.0, 30.0, 0.0]));
    let converted = bvh.to_animation();
    assert_eq!(converted.approximated_joints, vec!["Spine".to_string()]);
}

#[test]
fn odd_whitespace_crlf_and_namespaces() {
    let text = TWO_JOINTS
        .replace('\n', "\r\n")
        .replace("ROOT Hips", "ROOT   mixamorig:Hips ")
        .replace("Frames: 2", "Frames:\t2")
        .replace("Frame Time: 0.0333333", "Frame   Time:0.0333333");
    let bvh = parse(text.as_bytes()).unwrap();
    assert_eq!(bvh.joints[0].name, "mixamorig:Hips");
    assert_eq!(bvh.joints[0].short_name(), "Hips");
    assert_eq!(bvh.frame_count(), 2);
}

#[test]
fn named_end_sites_and_braces_on_the_same_line_are_accepted() {
    for end in ["End Site Spine_end", "End Site {", "End Site Spine_end {"] {
        let text = TWO_JOINTS.replace("End Site\n\t\t{", &format!("{end}\n"));
        let text = if end.ends_with('{') {
            text
        } else {
            text.replace(&format!("{end}\n"), &format!("{end}\n{{"))
        };
        let bvh = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{end}: {e}"));
        assert_eq!(bvh.joints[1].end_sites, vec![[0.0, 5.0, 0.0]], "{end}");
    }
}

#[test]
fn brace_on_the_joint_line_is_accepted() {
    let text = TWO_JOINTS.replace("JOINT Spine\n\t{", "JOINT Spine {");
    let bvh = parse(text.as_bytes()).unwrap();
    assert_eq!(bvh.joints[1].name, "Spine");
}

fn err(text: &str) -> BvhError {
    parse(text.as_bytes()).expect_err("must be rejected")
}

#[test]
fn rejects_what_is_not_a_bvh() {
    assert_eq!(err(""), BvhError::NotBvh);
    assert_eq!(err("\u{89}PNG\r\n"), BvhError::NotBvh);
    assert_eq!(err("{\"json\": true}"), BvhError::NotBvh);
}

#[test]
fn rejects_truncated_files() {
    for cut in [10, 40, 120, 200, TWO_JOINTS.len() - 8] {
        let e = err(&TWO_JOINTS[..cut]);
        assert!(
            matches!(e, BvhError::Truncated(_) | BvhError::Syntax { .. }),
            "cut {cut}: {e}"
        );
    }
    let e = err(&TWO_JOINTS[..TWO_JOINTS.len() - 8]);
    assert!(e.to_string().contains("18 values"), "{e}");
}

#[test]
fn rejects_non_finite_and_huge_numbers() {
    for bad in ["NaN", "inf", "-infinity", "1e300", "12abc"] {
        let text = TWO_JOINTS.replace("1 2 3 90", &format!("1 2 {bad} 90"));
        assert!(
            matches!(err(&text), BvhError::BadNumber { line: 20, .. }),
            "{bad}"
        );
    }
    let text = TWO_JOINTS.replace("OFFSET 0 10 0", "OFFSET 0 nan 0");
    assert!(matches!(err(&text), BvhError::BadNumber { line: 8, .. }));
}

#[test]
fn rejects_structural_errors_with_a_line() {
    let cases = [
        TWO_JOINTS.replace("CHANNELS 3 Zrotation", "CHANNELS 3 Wrotation"),
        TWO_JOINTS.replace("CHANNELS 3", "CHANNELS 9"),
        TWO_JOINTS.replace("\tOFFSET 0 10 0\n", ""),
        TWO_JOINTS.replace("\t}\n}\nMOTION", "\t}\nMOTION"),
        TWO_JOINTS.replace("ROOT Hips", "ROOT"),
        TWO_JOINTS.replace("Frame Time: 0.0333333", "Frame Time: 0"),
        TWO_JOINTS.replace("Frames: 2", "Frames: two"),
        TWO_JOINTS.replace("MOTION", "MOTION\nROOT Again"),
        TWO_JOINTS.replace(
            "Zrotation Xrotation Yrotation",
            "Zrotation Zrotation Yrotation",
        ),
    ];
    for text in cases {
        let e = err(&text);
        assert!(matches!(e, BvhError::Syntax { .. }), "{e}");
    }
    assert_eq!(
        err(&TWO_JOINTS.replace("Frames: 2", "Frames: 0")),
        BvhError::NoFrames
    );
}

#[test]
fn values_past_the_announced_frames_are_ignored() {
    let bvh = parse(format!("{TWO_JOINTS}1 2 3 0 0 0 0 0 0\n").as_bytes()).unwrap();
    assert_eq!(bvh.frame_count(), 2);
}

#[test]
fn enforces_limits_before_allocating() {
    let limits = Limits {
        max_joints: 1,
        ..Limits::default()
    };
    assert!(matches!(
        parse_with_limits(TWO_JOINTS.as_bytes(), &limits),
        Err(BvhError::TooLarge(_))
    ));
    let limits = Limits {
        max_frames: 1,
        ..Limits::default()
    };
    assert!(matches!(
        parse_with_limits(TWO_JOINTS.as_bytes(), &limits),
        Err(BvhError::TooLarge(_))
    ));
    let limits = Limits {
        max_bytes: 10,
        ..Limits::default()
    };
    assert!(matches!(
        parse_with_limits(TWO_JOINTS.as_bytes(), &limits),
        Err(BvhError::TooLarge(_))
    ));
    // A huge announced frame count with a tiny body must fail on the count, not allocate.
    let text = TWO_JOINTS.replace("Frames: 2", "Frames: 18446744073709551615");
    assert!(matches!(
        err(&text),
        BvhError::TooLarge(_) | BvhError::Syntax { .. }
    ));
    let text = TWO_JOINTS.replace("Frames: 2", "Frames: 70000");
    assert!(matches!(err(&text), BvhError::Truncated(_)));
}

#[test]
fn never_panics_on_any_prefix_or_byte_flip() {
    let bytes = TWO_JOINTS.as_bytes();
    for cut in 0..bytes.len() {
        let _ = parse(&bytes[..cut]);
    }
    for i in 0..bytes.len() {
        for b in [b'{', b'}', b'\n', b'-', b'9', 0xff, b' '] {
            let mut v = bytes.to_vec();
            v[i] = b;
            if let Ok(bvh) = parse(&v) {
                let _ = bvh.to_animation();
            }
        }
    }
}

#[test]
fn z_up_files_are_turned_to_y_up_and_inches_to_cm() {
    // A 70-inch figure lying along +Z, facing −Y (left toward +X in Z-up means facing −Y).
    let text = "HIERARCHY
ROOT Hips
{
OFFSET 0 0 35
CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
JOINT Head
{
OFFSET 0 0 30
CHANNELS 3 Zrotation Yrotation Xrotation
End Site
{
OFFSET 0 0 5
}
}
JOINT LeftUpLeg
{
OFFSET 4 0 0
CHANNELS 3 Zrotation Yrotation Xrotation
JOINT LeftFoot
{
OFFSET 0 0 -35
CHANNELS 3 Zrotation Yrotation Xrotation
End Site
{
OFFSET 0 -3 0
}
}
}
JOINT RightUpLeg
{
OFFSET -4 0 0
CHANNELS 3 Zrotation Yrotation Xrotation
JOINT RightFoot
{
OFFSET 0 0 -35
CHANNELS 3 Zrotation Yrotation Xrotation
}
}
}
MOTION
Frames: 1
Frame Time: 0.01
0 0 35 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
";
    let bvh = parse(text.as_bytes()).unwrap();
    let n = bvh.normalization();
    assert_eq!(n.up, UpAxis::PosZ);
    assert_eq!(n.unit, Unit::Inches, "height {}", n.height_file_units);
    let c = bvh.to_animation();
    let p = c.animation.world_positions(&c.animation.frames[0]);
    let (hips, head, left) = (p[0], p[1], p[2]);
    assert!(
        head[1] > hips[1] + 70.0,
        "head above hips: {head:?} {hips:?}"
    );
    assert!(left[0] > hips[0] + 5.0, "left side toward +X: {left:?}");
    assert!(
        hips[1] > 80.0 && hips[1] < 95.0,
        "35 in of legs ≈ 89 cm: {hips:?}"
    );
}

#[test]
fn the_side_of_a_joint_is_read_from_every_common_naming() {
    use super::side_of;
    for left in [
        "LeftUpLeg",
        "L_Thigh",
        "thigh_l",
        "thigh.L",
        "LThigh",
        "lThigh",
        "Bip01 L Thigh",
    ] {
        assert_eq!(side_of(left), Some(true), "{left}");
    }
    for right in [
        "RightArm",
        "R_Arm",
        "arm_r",
        "RArm",
        "rShldr",
        "Bip01 R Calf",
    ] {
        assert_eq!(side_of(right), Some(false), "{right}");
    }
    for neither in ["Hips", "Spine1", "Head", "Bip01 Pelvis", "lowerback"] {
        assert_eq!(side_of(neither), None, "{neither}");
    }
}
