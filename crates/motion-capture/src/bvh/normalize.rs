//! Guessing a BVH file's up axis, units and facing, so that any file can be shown and
//! exported in the engine's conventions: Y up, centimetres, facing +Z, floor at Y = 0.
//!
//! The result is one similarity transform, `p_out = scale · R · p_file + translation`, kept in
//! a [`Normalization`] so that tests can map the file's own forward kinematics onto the
//! converted animation and compare.

use super::Bvh;
use super::fk::{Mat3, add3, mat_mul, mat_vec, norm3, sub3};

/// The file's up axis, as detected from where the head is relative to the feet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpAxis {
    PosX,
    NegX,
    PosY,
    NegY,
    PosZ,
    NegZ,
}

/// The file's length unit, guessed from the skeleton's height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Millimetres,
    Centimetres,
    Metres,
    Inches,
    /// No plausible human height in any unit (for example the CMU conversions, ~25 units tall):
    /// the figure is scaled to [`NOMINAL_HEIGHT_CM`].
    Unknown,
}

/// Height given to skeletons whose unit cannot be recognised.
pub const NOMINAL_HEIGHT_CM: f64 = 170.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Normalization {
    pub up: UpAxis,
    pub unit: Unit,
    /// Estimated standing height, in file units (the basis of the unit guess).
    pub height_file_units: f64,
    /// File units → centimetres.
    pub scale: f64,
    /// File axes → output axes: the up-axis change, then a turn about Y to face +Z.
    pub rotation: Mat3,
    /// Added last, cm: puts the floor at Y = 0 and the first frame's root over the origin.
    pub translation: [f64; 3],
}

impl Normalization {
    /// Maps a point from file coordinates to output coordinates (cm, Y up).
    pub fn apply(&self, p: [f64; 3]) -> [f64; 3] {
        let r = mat_vec(&self.rotation, p);
        add3(
            [r[0] * self.scale, r[1] * self.scale, r[2] * self.scale],
            self.translation,
        )
    }

    /// Maps a direction (offset) from file coordinates to output coordinates.
    pub fn apply_vector(&self, v: [f64; 3]) -> [f64; 3] {
        let r = mat_vec(&self.rotation, v);
        [r[0] * self.scale, r[1] * self.scale, r[2] * self.scale]
    }

    /// The skeleton's height in centimetres.
    pub fn height_cm(&self) -> f64 {
        self.height_file_units * self.scale
    }
}

/// Bone chains zig-zag (hip joints, collar bones), so head-to-toe chains run longer than the
/// standing height: 1.09-1.26 times the tallest frame on the 12 test clips.
const CHAIN_TO_HEIGHT: f64 = 0.87;

/// At most this many frames are sampled to detect the up axis and the facing.
const SAMPLES: usize = 16;

impl Bvh {
    /// Detects up axis, unit and facing, and the grounding translation.
    pub fn normalization(&self) -> Normalization {
        let up = self.detect_up_axis();
        let up_rotation = up_rotation(up);
        let height = self.height_estimate(&up_rotation);
        let (unit, scale) = guess_unit(height);
        let yaw = self.facing_yaw(&up_rotation);
        let rotation = mat_mul(
            &super::fk::axis_rotation(1, -yaw.to_degrees()),
            &up_rotation,
        );
        let mut n = Normalization {
            up,
            unit,
            height_file_units: height,
            scale,
            rotation,
            translation: [0.0; 3],
        };
        n.translation = self.grounding(&n);
        n
    }

    fn sample_frames(&self) -> Vec<usize> {
        let n = self.frame_count();
        let k = n.min(SAMPLES);
        (0..k).map(|i| i * n / k).collect()
    }

    /// Up is the dominant axis of "head minus feet", averaged over sampled frames.
    fn detect_up_axis(&self) -> UpAxis {
        let head = self.find_by(|n| n.contains("head"));
        let feet: Vec<usize> =
            self.find_all(|n| n.contains("foot") || n.contains("toe") || n.contains("ankle"));
        let Some(head) = head else {
            return UpAxis::PosY;
        };
        let mut sum = [0.0; 3];
        for f in self.sample_frames() {
            let p = self.world_positions(f);
            let base = if feet.is_empty() {
                p[0]
            } else {
                centroid(feet.iter().map(|&i| p[i]))
            };
            sum = add3(sum, sub3(p[head], base));
        }
        if norm3(sum) < 1e-9 {
            return UpAxis::PosY; // head on the feet: nothing to learn, keep the BVH default
        }
        let axis = (0..3)
            .max_by(|&a, &b| sum[a].abs().total_cmp(&sum[b].abs()))
            .unwrap_or(1);
        match (axis, sum[axis] >= 0.0) {
            (0, true) => UpAxis::PosX,
            (0, false) => UpAxis::NegX,
            (2, true) => UpAxis::PosZ,
            (2, false) => UpAxis::NegZ,
            (_, false) => UpAxis::NegY,
            _ => UpAxis::PosY,
        }
    }

    /// Standing height estimated from the head-top to toe-tip length along the bones (pose
    /// independent, so a clip that never stands up still gets its unit right), or, without a
    /// head and feet, the rest pose's extent along the up axis.
    fn height_estimate(&self, up_rotation: &Mat3) -> f64 {
        let head = self.find_by(|n| n.contains("head"));
        let foot = self.find_by(|n| n.contains("foot") || n.contains("ankle"));
        let chain = head
            .zip(foot)
            .map(|(h, f)| self.chain_length(self.deepest_leaf(h), self.deepest_leaf(f)));
        match chain {
            Some(len) if len > 0.0 => len * CHAIN_TO_HEIGHT,
            _ => self.rest_extent(up_rotation),
        }
    }

    fn rest_extent(&self, up_rotation: &Mat3) -> f64 {
        let mut rest: Vec<[f64; 3]> = Vec::with_capacity(self.joints.len());
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for j in &self.joints {
            let p = match j.parent {
                Some(p) => add3(rest[p], j.offset),
                None => j.offset,
            };
            rest.push(p);
            let ends = j.end_sites.iter().map(|e| add3(p, *e));
            for q in std::iter::once(p).chain(ends) {
                let y = mat_vec(up_rotation, q)[1];
                lo = lo.min(y);
                hi = hi.max(y);
            }
        }
        (hi - lo).max(0.0)
    }

    /// Bone length from joint `a` (plus its end site) to joint `b` (plus its end site).
    fn chain_length(&self, a: usize, b: usize) -> f64 {
        let ancestors = |mut i: usize| {
            let mut v = vec![i];
            while let Some(p) = self.joints[i].parent {
                v.push(p);
                i = p;
            }
            v
        };
        let (pa, pb) = (ancestors(a), ancestors(b));
        let common = pa.iter().find(|i| pb.contains(i)).copied().unwrap_or(0);
        let up_to = |path: &[usize]| -> f64 {
            path.iter()
                .take_while(|&&i| i != common)
                .map(|&i| norm3(self.joints[i].offset))
                .sum()
        };
        let end = |i: usize| {
            self.joints[i]
                .end_sites
                .first()
                .map(|e| norm3(*e))
                .unwrap_or(0.0)
        };
        up_to(&pa) + up_to(&pb) + end(a) + end(b)
    }

    /// Follows the first child down to a leaf (a foot's toe tip).
    fn deepest_leaf(&self, mut i: usize) -> usize {
        while let Some(child) = self.joints.iter().position(|j| j.parent == Some(i)) {
            i = child;
        }
        i
    }

    /// Heading (radians about +Y) of the figure in the first frame; 0 means facing +Z.
    fn facing_yaw(&self, up_rotation: &Mat3) -> f64 {
        let sided = |left: bool| {
            let all: Vec<usize> = (0..self.joints.len())
                .filter(|&i| side_of(self.joints[i].short_name()) == Some(left))
                .collect();
            let legs: Vec<usize> = all
                .iter()
                .copied()
                .filter(|&i| is_leg(self.joints[i].short_name()))
                .collect();
            if legs.is_empty() { all } else { legs }
        };
        let (left, right) = (sided(true), sided(false));
        if left.is_empty() || right.is_empty() {
            return 0.0;
        }
        let p: Vec<[f64; 3]> = self
            .world_positions(0)
            .iter()
            .map(|q| mat_vec(up_rotation, *q))
            .collect();
        let across = sub3(
            centroid(left.iter().map(|&i| p[i])),
            centroid(right.iter().map(|&i| p[i])),
        );
        // Facing = across × up, with up = +Y: (-az, 0, ax).
        let (fx, fz) = (-across[2], across[0]);
        if fx.hypot(fz) < 1e-9 {
            return 0.0;
        }
        fx.atan2(fz)
    }

    /// Lowest point of the clip to Y = 0; first frame's root to X = Z = 0.
    fn grounding(&self, n: &Normalization) -> [f64; 3] {
        let mut floor = f64::INFINITY;
        for f in 0..self.frame_count() {
            for p in self.points(f) {
                floor = floor.min(n.apply(p)[1]);
            }
        }
        let root = n.apply(self.world_positions(0)[0]);
        [
            -root[0],
            if floor.is_finite() { -floor } else { 0.0 },
            -root[2],
        ]
    }

    fn find_by(&self, pred: impl Fn(&str) -> bool) -> Option<usize> {
        self.joints
            .iter()
            .position(|j| pred(&j.short_name().to_ascii_lowercase()))
    }

    fn find_all(&self, pred: impl Fn(&str) -> bool) -> Vec<usize> {
        (0..self.joints.len())
            .filter(|&i| pred(&self.joints[i].short_name().to_ascii_lowercase()))
            .collect()
    }
}

fn centroid(points: impl Iterator<Item = [f64; 3]>) -> [f64; 3] {
    let (mut sum, mut n) = ([0.0; 3], 0.0);
    for p in points {
        sum = add3(sum, p);
        n += 1.0;
    }
    if n == 0.0 { sum } else { sum.map(|v| v / n) }
}

/// The proper rotation taking the detected up axis onto +Y.
fn up_rotation(up: UpAxis) -> Mat3 {
    match up {
        UpAxis::PosY => [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        UpAxis::NegY => [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]],
        // (x, y, z) → (x, z, −y): −90° about X.
        UpAxis::PosZ => [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]],
        UpAxis::NegZ => [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]],
        // (x, y, z) → (−y, x, z): −90° about Z... as a matrix taking +X to +Y.
        UpAxis::PosX => [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
        UpAxis::NegX => [[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
    }
}

/// Picks the unit in which `height` is a plausible adult height; else scales the figure to a nominal height. The ranges do not
/// overlap, so the guess is deterministic. (AnimatedDrawings' fair1 clips, ~45-52 units, would
/// be 1.2 m in inches: treated as unknown.)
pub fn guess_unit(height: f64) -> (Unit, f64) {
    if !(height.is_finite() && height > 0.0) {
        return (Unit::Unknown, 1.0);
    }
    match height {
        h if (0.5..=3.0).contains(&h) => (Unit::Metres, 100.0),
        h if (55.0..100.0).contains(&h) => (Unit::Inches, 2.54),
        h if (100.0..=300.0).contains(&h) => (Unit::Centimetres, 1.0),
        h if (500.0..=3000.0).contains(&h) => (Unit::Millimetres, 0.1),
        h => (Unit::Unknown, NOMINAL_HEIGHT_CM / h),
    }
}

/// `Some(true)` for a left-side joint name, `Some(false)` for right, `None` otherwise: `Left…`,
/// `L_…`, `…_L`, `….L`, `LThigh` and Daz/Poser's `lThigh`, 3ds Max Biped's `Bip01 L Thigh`.
pub(crate) fn side_of(name: &str) -> Option<bool> {
    let lower = name.to_ascii_lowercase();
    let second_upper = |c: char| {
        name.chars().nth(1).is_some_and(|s| s.is_ascii_uppercase())
            && name.starts_with([c, c.to_ascii_lowercase()])
    };
    let word = |w: &str| lower.split(' ').any(|part| part == w);
    if lower.starts_with("left")
        || lower.starts_with("l_")
        || lower.ends_with("_l")
        || lower.ends_with(".l")
        || second_upper('L')
        || word("l")
    {
        Some(true)
    } else if lower.starts_with("right")
        || lower.starts_with("r_")
        || lower.ends_with("_r")
        || lower.ends_with(".r")
        || second_upper('R')
        || word("r")
    {
        Some(false)
    } else {
        None
    }
}

fn is_leg(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "hip", "upleg", "thigh", "leg", "knee", "shin", "calf", "foot", "ankle",
    ]
    .iter()
    .any(|k| n.contains(k))
}
