//! Small vector and quaternion helpers for the skeleton code (f32, right-handed).
//!
//! Kept local on purpose: the engine needs a dozen operations, not a linear-algebra crate.

/// A 3-vector.
pub type Vec3 = [f32; 3];

pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn scale(a: Vec3, s: f32) -> Vec3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

pub fn dot(a: Vec3, b: Vec3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub fn norm(a: Vec3) -> f32 {
    dot(a, a).sqrt()
}

pub fn dist(a: Vec3, b: Vec3) -> f32 {
    norm(sub(a, b))
}

/// Distance across the floor (X and Z; Y is up) between `a` and `b`.
pub fn dist_across(a: Vec3, b: Vec3) -> f32 {
    (a[0] - b[0]).hypot(a[2] - b[2])
}

/// Unit vector along `a`; `fallback` when `a` is (nearly) zero.
pub fn normalize_or(a: Vec3, fallback: Vec3) -> Vec3 {
    let n = norm(a);
    if n > 1e-9 {
        scale(a, 1.0 / n)
    } else {
        fallback
    }
}

pub fn lerp(a: Vec3, b: Vec3, t: f32) -> Vec3 {
    add(a, scale(sub(b, a), t))
}

pub fn midpoint(a: Vec3, b: Vec3) -> Vec3 {
    lerp(a, b, 0.5)
}

/// The mean of `points`; the origin when there are none.
pub fn mean(points: &[Vec3]) -> Vec3 {
    let sum = points.iter().fold([0.0; 3], |s, p| add(s, *p));
    scale(sum, 1.0 / points.len().max(1) as f32)
}

/// The part of `v` perpendicular to the unit vector `axis`.
pub fn reject(v: Vec3, axis: Vec3) -> Vec3 {
    sub(v, scale(axis, dot(v, axis)))
}

/// A unit quaternion `w + xi + yj + zk` (Hamilton convention, rotates column vectors).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quat {
    pub w: f32,
    pub x: f32,
    pub y: f32,
    pub z: f32,
}

impl Default for Quat {
    fn default() -> Self {
        Quat::IDENTITY
    }
}

impl Quat {
    pub const IDENTITY: Quat = Quat {
        w: 1.0,
        x: 0.0,
        y: 0.0,
        z: 0.0,
    };

    pub fn from_axis_angle(axis: Vec3, angle_rad: f32) -> Quat {
        let a = normalize_or(axis, [1.0, 0.0, 0.0]);
        let (s, c) = (angle_rad * 0.5).sin_cos();
        Quat {
            w: c,
            x: a[0] * s,
            y: a[1] * s,
            z: a[2] * s,
        }
    }

    /// The shortest rotation taking the direction of `from` onto the direction of `to`.
    pub fn from_to(from: Vec3, to: Vec3) -> Quat {
        let (a, b) = (
            normalize_or(from, [0.0, 1.0, 0.0]),
            normalize_or(to, [0.0, 1.0, 0.0]),
        );
        let axis = cross(a, b);
        let sin = norm(axis);
        let cos = dot(a, b);
        if sin < 1e-6 {
            return if cos > 0.0 {
                Quat::IDENTITY
            } else {
                Quat::from_axis_angle(any_perpendicular(a), std::f32::consts::PI)
            };
        }
        Quat::from_axis_angle(axis, sin.atan2(cos))
    }

    /// The rotation whose matrix has the given orthonormal columns (the images of X, Y, Z).
    pub fn from_basis(x: Vec3, y: Vec3, z: Vec3) -> Quat {
        // Shepperd's method: pick the largest diagonal term for numerical stability.
        let (m00, m11, m22) = (x[0], y[1], z[2]);
        let trace = m00 + m11 + m22;
        let q = if trace > 0.0 {
            let s = (trace + 1.0).sqrt() * 2.0;
            Quat {
                w: 0.25 * s,
                x: (y[2] - z[1]) / s,
                y: (z[0] - x[2]) / s,
                z: (x[1] - y[0]) / s,
            }
        } else if m00 > m11 && m00 > m22 {
            let s = (1.0 + m00 - m11 - m22).sqrt() * 2.0;
            Quat {
                w: (y[2] - z[1]) / s,
                x: 0.25 * s,
                y: (y[0] + x[1]) / s,
                z: (z[0] + x[2]) / s,
            }
        } else if m11 > m22 {
            let s = (1.0 + m11 - m00 - m22).sqrt() * 2.0;
            Quat {
                w: (z[0] - x[2]) / s,
                x: (y[0] + x[1]) / s,
                y: 0.25 * s,
                z: (z[1] + y[2]) / s,
            }
        } else {
            let s = (1.0 + m22 - m00 - m11).sqrt() * 2.0;
            Quat {
                w: (x[1] - y[0]) / s,
                x: (z[0] + x[2]) / s,
                y: (z[1] + y[2]) / s,
                z: 0.25 * s,
            }
        };
        q.normalized()
    }

    /// Orthonormal frame from a primary axis (exact) and a secondary hint (made perpendicular),
    /// returned as the rotation taking the rest pair (`rest_primary`, `rest_secondary`) onto it.
    pub fn from_two_axes(
        rest_primary: Vec3,
        rest_secondary: Vec3,
        primary: Vec3,
        secondary: Vec3,
    ) -> Quat {
        let frame = |p: Vec3, s: Vec3| {
            let p = normalize_or(p, [0.0, 1.0, 0.0]);
            let s = normalize_or(reject(s, p), any_perpendicular(p));
            let t = cross(p, s);
            (p, s, t)
        };
        let (rp, rs, rt) = frame(rest_primary, rest_secondary);
        let (p, s, t) = frame(primary, secondary);
        // R = [p s t] * [rp rs rt]^T, built column by column.
        let col = |i: usize| -> Vec3 {
            [
                p[0] * rp[i] + s[0] * rs[i] + t[0] * rt[i],
                p[1] * rp[i] + s[1] * rs[i] + t[1] * rt[i],
                p[2] * rp[i] + s[2] * rs[i] + t[2] * rt[i],
            ]
        };
        Quat::from_basis(col(0), col(1), col(2))
    }

    pub fn compose(self, b: Quat) -> Quat {
        let a = self;
        Quat {
            w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
            x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
            y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
            z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
        }
    }

    pub fn conjugate(self) -> Quat {
        Quat {
            w: self.w,
            x: -self.x,
            y: -self.y,
            z: -self.z,
        }
    }

    pub fn dot(self, b: Quat) -> f32 {
        self.w * b.w + self.x * b.x + self.y * b.y + self.z * b.z
    }

    pub fn negated(self) -> Quat {
        Quat {
            w: -self.w,
            x: -self.x,
            y: -self.y,
            z: -self.z,
        }
    }

    pub fn normalized(self) -> Quat {
        let n = self.dot(self).sqrt();
        if n < 1e-12 {
            return Quat::IDENTITY;
        }
        Quat {
            w: self.w / n,
            x: self.x / n,
            y: self.y / n,
            z: self.z / n,
        }
    }

    pub fn rotate(self, v: Vec3) -> Vec3 {
        // v' = v + 2w(u×v) + 2u×(u×v), with u the vector part.
        let u = [self.x, self.y, self.z];
        let t = scale(cross(u, v), 2.0);
        add(add(v, scale(t, self.w)), cross(u, t))
    }

    /// Spherical interpolation along the shorter arc.
    pub fn slerp(self, b: Quat, t: f32) -> Quat {
        let mut b = b;
        let mut d = self.dot(b);
        if d < 0.0 {
            b = b.negated();
            d = -d;
        }
        if d > 0.9995 {
            let q = Quat {
                w: self.w + (b.w - self.w) * t,
                x: self.x + (b.x - self.x) * t,
                y: self.y + (b.y - self.y) * t,
                z: self.z + (b.z - self.z) * t,
            };
            return q.normalized();
        }
        let theta = d.clamp(-1.0, 1.0).acos();
        let s = theta.sin();
        let (ka, kb) = (((1.0 - t) * theta).sin() / s, (t * theta).sin() / s);
        Quat {
            w: self.w * ka + b.w * kb,
            x: self.x * ka + b.x * kb,
            y: self.y * ka + b.y * kb,
            z: self.z * ka + b.z * kb,
        }
        .normalized()
    }

    /// Rotation angle in radians, 0..π.
    pub fn angle(self) -> f32 {
        2.0 * self.w.abs().clamp(0.0, 1.0).acos()
    }

    /// The angle (radians, 0..π) of the rotation that takes `self` to `other`.
    pub fn angle_to(self, other: Quat) -> f32 {
        2.0 * self.dot(other).abs().clamp(0.0, 1.0).acos()
    }

    /// The rotation matrix, row-major.
    pub fn to_matrix(self) -> [[f32; 3]; 3] {
        let c0 = self.rotate([1.0, 0.0, 0.0]);
        let c1 = self.rotate([0.0, 1.0, 0.0]);
        let c2 = self.rotate([0.0, 0.0, 1.0]);
        [
            [c0[0], c1[0], c2[0]],
            [c0[1], c1[1], c2[1]],
            [c0[2], c1[2], c2[2]],
        ]
    }

    /// Euler angles (radians) `(z, y, x)` such that R = Rz(z)·Ry(y)·Rx(x), the BVH reading of
    /// the channel order `Zrotation Yrotation Xrotation`.
    pub fn to_euler_zyx(self) -> (f32, f32, f32) {
        let m = self.to_matrix();
        // R = Rz Ry Rx: m[2][0] = -sin(y).
        let sy = (-m[2][0]).clamp(-1.0, 1.0);
        let y = sy.asin();
        if sy.abs() < 0.999_999 {
            let x = m[2][1].atan2(m[2][2]);
            let z = m[1][0].atan2(m[0][0]);
            (z, y, x)
        } else {
            // Gimbal lock: fold everything into z.
            let z = (-m[0][1]).atan2(m[1][1]);
            (z, y, 0.0)
        }
    }

    /// Inverse of [`Quat::to_euler_zyx`].
    pub fn from_euler_zyx(z: f32, y: f32, x: f32) -> Quat {
        let qz = Quat::from_axis_angle([0.0, 0.0, 1.0], z);
        let qy = Quat::from_axis_angle([0.0, 1.0, 0.0], y);
        let qx = Quat::from_axis_angle([1.0, 0.0, 0.0], x);
        qz.compose(qy).compose(qx)
    }
}

impl std::ops::Mul for Quat {
    type Output = Quat;

    /// Rotation composition: `(a * b).rotate(v) == a.rotate(b.rotate(v))`.
    fn mul(self, b: Quat) -> Quat {
        self.compose(b)
    }
}

impl std::ops::Neg for Quat {
    type Output = Quat;

    /// The same rotation with all four components negated.
    fn neg(self) -> Quat {
        self.negated()
    }
}

/// Some unit vector perpendicular to the unit vector `v`.
pub fn any_perpendicular(v: Vec3) -> Vec3 {
    let other = if v[0].abs() < 0.9 {
        [1.0, 0.0, 0.0]
    } else {
        [0.0, 1.0, 0.0]
    };
    normalize_or(cross(v, other), [0.0, 0.0, 1.0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_to_takes_one_direction_onto_another() {
        for (a, b) in [
            ([1.0, 0.0, 0.0], [0.0, 2.0, 0.0]),
            ([0.3, -0.5, 0.8], [0.3, -0.5, 0.8]),
            ([0.0, 0.0, 1.0], [0.0, 0.0, -3.0]),
            ([1.0, 2.0, 3.0], [-2.0, 0.5, 1.0]),
        ] {
            let got = Quat::from_to(a, b).rotate(normalize_or(a, [0.0; 3]));
            assert!(
                dist(got, normalize_or(b, [0.0; 3])) < 1e-5,
                "{a:?} -> {b:?}: {got:?}"
            );
        }
    }

    fn close(a: Vec3, b: Vec3) -> bool {
        dist(a, b) < 1e-4
    }

    #[test]
    fn rotate_quarter_turn_about_y_takes_z_to_x() {
        let q = Quat::from_axis_angle([0.0, 1.0, 0.0], std::f32::consts::FRAC_PI_2);
        assert!(close(q.rotate([0.0, 0.0, 1.0]), [1.0, 0.0, 0.0]));
    }

    #[test]
    fn angle_to_is_the_turn_between_two_rotations_either_sign() {
        let quarter = Quat::from_axis_angle([0.0, 1.0, 0.0], std::f32::consts::FRAC_PI_2);
        assert!((Quat::IDENTITY.angle_to(quarter) - std::f32::consts::FRAC_PI_2).abs() < 1e-6);
        assert!(quarter.angle_to(quarter.negated()) < 1e-3);
        assert_eq!(
            quarter.angle_to(quarter),
            quarter.conjugate().compose(quarter).angle()
        );
    }

    #[test]
    fn euler_round_trip() {
        for &(z, y, x) in &[(0.3, -0.7, 1.1), (-2.5, 0.2, -0.4), (0.0, 1.2, 3.0)] {
            let q = Quat::from_euler_zyx(z, y, x);
            let (z2, y2, x2) = q.to_euler_zyx();
            let q2 = Quat::from_euler_zyx(z2, y2, x2);
            assert!(q.dot(q2).abs() > 0.99999, "{z} {y} {x} -> {z2} {y2} {x2}");
        }
    }

    #[test]
    fn two_axes_maps_rest_frame_onto_target() {
        let q = Quat::from_two_axes(
            [1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, -1.0, 0.0],
            [1.0, 0.0, 0.3],
        );
        assert!(close(q.rotate([1.0, 0.0, 0.0]), [0.0, -1.0, 0.0]));
        let s = q.rotate([0.0, 0.0, 1.0]);
        assert!(close(s, normalize_or([1.0, 0.0, 0.3], [0.0; 3])));
    }

    #[test]
    fn basis_round_trip() {
        let q = Quat::from_euler_zyx(0.4, -0.3, 2.0);
        let b = Quat::from_basis(
            q.rotate([1.0, 0.0, 0.0]),
            q.rotate([0.0, 1.0, 0.0]),
            q.rotate([0.0, 0.0, 1.0]),
        );
        assert!(q.dot(b).abs() > 0.99999);
    }
}
