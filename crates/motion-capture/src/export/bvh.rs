//! `motion.bvh` writer (api-contract §9.4): standard BVH text, Y up, centimetres, channels
//! `Zrotation Yrotation Xrotation` (R = Rz·Ry·Rx), degrees, 6 decimals, no exponents.

use std::fmt::Write;

use crate::animation::Animation;
use crate::animation::math::Quat;

/// Renders `anim` as BVH text.
pub fn to_bvh(anim: &Animation) -> String {
    let sk = &anim.skeleton;
    let mut s = String::with_capacity(4096 + anim.frames.len() * sk.joints.len() * 36);
    s.push_str("HIERARCHY\n");
    for (i, j) in sk.joints.iter().enumerate() {
        if j.parent.is_none() {
            write_joint(&mut s, anim, i, 0);
        }
    }
    s.push_str("MOTION\n");
    let _ = writeln!(s, "Frames: {}", anim.frames.len());
    let _ = writeln!(s, "Frame Time: {:.7}", anim.frame_time_s);
    for (f, angles) in anim.frames.iter().zip(euler_tracks(anim)) {
        let mut first = true;
        let mut put = |v: f32, s: &mut String| {
            if !first {
                s.push(' ');
            }
            first = false;
            s.push_str(&num(v));
        };
        for (i, j) in sk.joints.iter().enumerate() {
            if j.parent.is_none() {
                for k in 0..3 {
                    put(f.root_translation[k] + j.offset[k], &mut s);
                }
            }
            let (z, y, x) = angles[i];
            put(z, &mut s);
            put(y, &mut s);
            put(x, &mut s);
        }
        s.push('\n');
    }
    s
}

fn write_joint(s: &mut String, anim: &Animation, i: usize, depth: usize) {
    let j = &anim.skeleton.joints[i];
    let pad = "\t".repeat(depth);
    let _ = writeln!(
        s,
        "{pad}{} {}",
        if j.parent.is_none() { "ROOT" } else { "JOINT" },
        j.name
    );
    let _ = writeln!(s, "{pad}{{");
    // The root's OFFSET stays zero: its position channels carry the translation (BVH readers
    // disagree on whether they add the root OFFSET).
    let off = if j.parent.is_none() {
        [0.0; 3]
    } else {
        j.offset
    };
    let _ = writeln!(
        s,
        "{pad}\tOFFSET {} {} {}",
        num(off[0]),
        num(off[1]),
        num(off[2])
    );
    if j.parent.is_none() {
        let _ = writeln!(
            s,
            "{pad}\tCHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation"
        );
    } else {
        let _ = writeln!(s, "{pad}\tCHANNELS 3 Zrotation Yrotation Xrotation");
    }
    let children: Vec<usize> = anim.skeleton.children(i).collect();
    for c in &children {
        write_joint(s, anim, *c, depth + 1);
    }
    if children.is_empty() {
        let e = j.end_site.unwrap_or([0.0, 0.0, 0.0]);
        let _ = writeln!(s, "{pad}\tEnd Site");
        let _ = writeln!(s, "{pad}\t{{");
        let _ = writeln!(
            s,
            "{pad}\t\tOFFSET {} {} {}",
            num(e[0]),
            num(e[1]),
            num(e[2])
        );
        let _ = writeln!(s, "{pad}\t}}");
    }
    let _ = writeln!(s, "{pad}}}");
}

/// Decimal with 6 digits after the point, no exponent, no negative zero.
pub fn num(v: f32) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.6}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// Per frame, per joint: (z, y, x) Euler angles in degrees, kept continuous over time (see
/// [`continuous_euler`]), so importers that interpolate or filter Euler curves see no jumps.
pub fn euler_tracks(anim: &Animation) -> Vec<Vec<(f32, f32, f32)>> {
    let nj = anim.skeleton.joints.len();
    let mut prev: Vec<Option<[f32; 3]>> = vec![None; nj];
    anim.frames
        .iter()
        .map(|f| {
            (0..nj)
                .map(|i| {
                    let q = f.rotations.get(i).copied().unwrap_or(Quat::IDENTITY);
                    let chosen = continuous_euler(q, prev[i]);
                    prev[i] = Some(chosen);
                    (chosen[0], chosen[1], chosen[2])
                })
                .collect()
        })
        .collect()
}

/// The (z, y, x) angles of `q` in degrees nearest the previous frame's `prev`: of the channel
/// order's two solutions, each turned by whole turns to the previous angles, the nearer. At
/// gimbal lock (y at ±90°, where only z and x together are fixed, and the decomposition puts
/// it all in z) x keeps its previous value: an elbow bent a right angle swung its forearm's z
/// and x channels by tens of degrees there. A rotation that is not finite repeats the
/// previous angles rather than spreading NaN through the rest of the track.
fn continuous_euler(q: Quat, prev: Option<[f32; 3]>) -> [f32; 3] {
    if ![q.w, q.x, q.y, q.z].iter().all(|v| v.is_finite()) {
        return prev.unwrap_or([0.0; 3]);
    }
    let (z, y, x) = q.to_euler_zyx();
    let a = [z.to_degrees(), y.to_degrees(), x.to_degrees()];
    let Some(p) = prev else {
        return a;
    };
    if x == 0.0 && y.cos().abs() < 2e-3 {
        let error = |e: &[f32; 3]| {
            let [z, y, x] = e.map(f32::to_radians);
            Quat::from_euler_zyx(z, y, x).angle_to(q)
        };
        let keep_x = [a[0] + p[2], a[0] - p[2]].map(|z| [z, a[1], p[2]]);
        let nearest = if error(&keep_x[0]) <= error(&keep_x[1]) {
            keep_x[0]
        } else {
            keep_x[1]
        };
        return unwrap_to(nearest, p);
    }
    let alt = [a[0] + 180.0, 180.0 - a[1], a[2] + 180.0];
    let a = unwrap_to(a, p);
    let b = unwrap_to(alt, p);
    if distance(a, p) <= distance(b, p) {
        a
    } else {
        b
    }
}

fn unwrap_to(a: [f32; 3], p: [f32; 3]) -> [f32; 3] {
    std::array::from_fn(|k| a[k] - 360.0 * ((a[k] - p[k]) / 360.0).round())
}

fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    (0..3).map(|k| (a[k] - b[k]).abs()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_no_exponent_and_no_negative_zero() {
        assert_eq!(num(1e-9), "0.000000");
        assert_eq!(num(-1e-9), "0.000000");
        assert_eq!(num(12345678.0), "12345678.000000");
        assert_eq!(num(-2.5), "-2.500000");
    }

    #[test]
    fn at_gimbal_lock_x_keeps_its_previous_value() {
        let rad = |e: [f32; 3]| e.map(f32::to_radians);
        for (locked_y, previous) in [(90.0, [20.0, 89.0, 35.0]), (-90.0, [-40.0, -89.5, 70.0])] {
            let [z, y, x] = rad([10.0, locked_y, 25.0]);
            let locked = Quat::from_euler_zyx(z, y, x);
            let got = continuous_euler(locked, Some(previous));
            assert_eq!(got[2], previous[2], "x kept at y {locked_y}");
            let [z, y, x] = rad(got);
            let error = Quat::from_euler_zyx(z, y, x).angle_to(locked).to_degrees();
            assert!(error < 0.1, "y {locked_y}: {got:?} is {error}° off");
        }
    }

    #[test]
    fn a_rotation_that_is_not_finite_repeats_the_previous_angles() {
        let nan = Quat {
            w: f32::NAN,
            ..Quat::IDENTITY
        };
        assert_eq!(
            continuous_euler(nan, Some([1.0, 2.0, 3.0])),
            [1.0, 2.0, 3.0]
        );
        assert_eq!(continuous_euler(nan, None), [0.0; 3]);
        let turned = Quat::from_axis_angle([0.0, 0.0, 1.0], 0.5);
        let after = continuous_euler(turned, Some([1.0, 2.0, 3.0]));
        assert!((after[0] - 0.5f32.to_degrees()).abs() < 1e-3, "{after:?}");
    }

    #[test]
    fn unwrap_keeps_angles_near_the_previous_frame() {
        let a = unwrap_to([-179.0, 0.0, 181.0], [179.0, 0.0, -179.0]);
        assert_eq!(a, [181.0, 0.0, -179.0]);
    }
}
