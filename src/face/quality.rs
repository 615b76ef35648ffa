//! What cloud face services report about each face without any extra model:
//! head pose from the five landmarks, blur and exposure from the face crop,
//! and whether the face is large enough for a cloud service to detect it.
//!
//! The levels follow Azure AI Face's documented scales (Face API reference,
//! `BlurProperties` and `ExposureProperties`): a value in 0..1, with
//! [0, 0.25) low blur / under-exposed, [0.25, 0.75) medium blur / good
//! exposure, [0.75, 1] high blur / over-exposed.

use image::imageops::{self, FilterType};
use image::RgbImage;

use crate::geometry::BBox;
use crate::result::{Blur, BlurLevel, Exposure, ExposureLevel, Face, HeadPose, Landmarks};

/// Nose tip in front of the eye-mouth plane, in eye distances (about 25 mm
/// for a 63 mm interpupillary distance; generic head models used for pose
/// estimation put it at 0.35-0.45).
pub const NOSE_DEPTH: f32 = 0.4;
/// Nose height between the eye line (0) and the mouth line (1) on a frontal
/// face, and the eye-mouth distance in eye distances, as YuNet places its
/// landmarks: medians over the 27 sample faces with |yaw| < 15 degrees
/// (0.573 and 0.994). YuNet puts the nose lower than the ArcFace alignment
/// template does (0.495 and 1.154 there), so the template would read every
/// face as looking down by 12 degrees.
pub const FRONTAL_NOSE_RATIO: f32 = 0.57;
pub const EYE_MOUTH_RATIO: f32 = 1.0;

/// Estimates the head pose from the five landmarks (see [`HeadPose`]).
pub fn head_pose(lm: &Landmarks) -> HeadPose {
    let p = lm.to_array();
    let (dx, dy) = (p[1][0] - p[0][0], p[1][1] - p[0][1]);
    let roll = dy.atan2(dx);
    // Undo the roll about the eye midpoint: eyes on the x axis, left eye at
    // negative x, mouth below (positive y).
    let (ex, ey) = ((p[0][0] + p[1][0]) / 2.0, (p[0][1] + p[1][1]) / 2.0);
    let (sin, cos) = (-roll).sin_cos();
    let q: [[f32; 2]; 5] = std::array::from_fn(|i| {
        let (x, y) = (p[i][0] - ex, p[i][1] - ey);
        [x * cos - y * sin, x * sin + y * cos]
    });
    let half_eye = (dx * dx + dy * dy).sqrt() / 2.0;
    let nose = q[2];
    let mouth = [(q[3][0] + q[4][0]) / 2.0, (q[3][1] + q[4][1]) / 2.0];

    // The projected midline runs from the eye midpoint (origin) to the
    // mouth midpoint; the nose's sideways offset is measured from it at the
    // nose's height.
    let midline_x = if mouth[1].abs() > f32::EPSILON {
        mouth[0] * nose[1] / mouth[1]
    } else {
        0.0
    };
    // Pitch needs the mouth below the eyes; a degenerate face gives 0.
    let pitch = if mouth[1] > f32::EPSILON {
        let r = nose[1] / mouth[1];
        ((FRONTAL_NOSE_RATIO - r) * EYE_MOUTH_RATIO / NOSE_DEPTH).atan()
    } else {
        0.0
    };
    let offset = nose[0] - midline_x;
    let w_over_d = 0.5 / NOSE_DEPTH;
    let yaw = (offset * w_over_d * pitch.cos()).atan2(half_eye);
    HeadPose {
        roll: roll.to_degrees(),
        yaw: yaw.to_degrees(),
        pitch: pitch.to_degrees(),
    }
}

/// Side of the square the face crop is resampled to before measuring blur:
/// blur is judged relative to the face, so a face of a few pixels reads as
/// blurred (it carries little detail), whatever the photo's resolution.
pub const CROP_SIDE: u32 = 64;

/// Contrast-normalised sharpness at which blur `value` is 0.5, and how
/// steeply the value falls around it. Calibrated on the sample faces and
/// Gaussian-blurred copies of them (sigma in pixels of the 64 px crop):
/// the sharp portraits read 0.00-0.02, three faces of the soft 1927 Solvay
/// scan 0.08-0.48;
/// sigma 1.5 gives 0.05-0.41 on the portraits, sigma 3 gives 0.71-0.94.
const SHARPNESS_MID: f32 = 0.02;
const SHARPNESS_SLOPE: f32 = 2.0;

/// Luma (Rec. 601, 0..1) of the inner part of the face box, resampled to
/// `CROP_SIDE` x `CROP_SIDE`. The inner part (70 % of the width, 80 % of the
/// height) keeps hair and background out. `None` when the box is empty.
pub fn face_luma(img: &RgbImage, b: &BBox) -> Option<Vec<f32>> {
    let inner = BBox {
        x: b.x + b.w * 0.15,
        y: b.y + b.h * 0.1,
        w: b.w * 0.7,
        h: b.h * 0.8,
    }
    .clip(img.width() as f32, img.height() as f32);
    let (x0, y0) = (inner.x.floor() as u32, inner.y.floor() as u32);
    let x1 = (inner.right().ceil() as u32).min(img.width());
    let y1 = (inner.bottom().ceil() as u32).min(img.height());
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    let crop = imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
    let small = imageops::resize(&crop, CROP_SIDE, CROP_SIDE, FilterType::Triangle);
    Some(
        small
            .pixels()
            .map(|p| (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32) / 255.0)
            .collect(),
    )
}

/// Blur from the variance of the Laplacian, divided by the variance of the
/// luma itself so that a dark or low-contrast face is not taken for a
/// blurred one, mapped to 0..1 (larger = blurrier).
pub fn blur(luma: &[f32], side: usize) -> Blur {
    let mean = luma.iter().sum::<f32>() / luma.len().max(1) as f32;
    let var = luma.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / luma.len().max(1) as f32;
    let mut lap = Vec::with_capacity(luma.len());
    for y in 1..side.saturating_sub(1) {
        for x in 1..side - 1 {
            let i = y * side + x;
            lap.push(luma[i - 1] + luma[i + 1] + luma[i - side] + luma[i + side] - 4.0 * luma[i]);
        }
    }
    let lmean = lap.iter().sum::<f32>() / lap.len().max(1) as f32;
    let lvar = lap.iter().map(|v| (v - lmean).powi(2)).sum::<f32>() / lap.len().max(1) as f32;
    // A flat crop has no detail at all; the floor keeps noise in a nearly
    // flat crop from reading as sharp.
    let sharpness = lvar / var.max(1e-3);
    let value = 1.0 / (1.0 + (sharpness / SHARPNESS_MID).powf(SHARPNESS_SLOPE));
    Blur {
        level: if value < 0.25 {
            BlurLevel::Low
        } else if value < 0.75 {
            BlurLevel::Medium
        } else {
            BlurLevel::High
        },
        value,
    }
}

/// Exposure from the face crop's luma: the midpoint of its 5th and 95th
/// percentiles. Shadows and highlights both count, so a dark-skinned face
/// with lit highlights is well exposed, while a face whose highlights are
/// dark is under-exposed, and one whose shadows are bright over-exposed.
pub fn exposure(luma: &[f32]) -> Exposure {
    if luma.is_empty() {
        return Exposure::default();
    }
    let mut v = luma.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f32| v[((v.len() - 1) as f32 * q).round() as usize];
    let value = ((at(0.05) + at(0.95)) / 2.0).clamp(0.0, 1.0);
    Exposure {
        level: if value < 0.25 {
            ExposureLevel::Under
        } else if value < 0.75 {
            ExposureLevel::Good
        } else {
            ExposureLevel::Over
        },
        value,
    }
}

/// The smallest face a cloud service documents it can detect in an image
/// of `width` x `height`, in pixels per side.
///
/// Azure AI Face (Microsoft Learn, "Face detection, attributes, and input
/// data", input requirements): "The minimum detectable face size is 36 x 36
/// pixels in an image that is no larger than 1920 x 1080 pixels. Images with
/// larger than 1920 x 1080 pixels have a proportionally larger minimum face
/// size." We read "proportionally" as the factor by which the image must
/// shrink to fit within 1920 x 1080 in either orientation (long side against
/// 1920, short side against 1080): a 3840 x 2160 photo needs 72 px faces.
pub fn cloud_min_face_px(width: u32, height: u32) -> f32 {
    let (long, short) = (width.max(height) as f32, width.min(height) as f32);
    36.0 * (long / 1920.0).max(short / 1080.0).max(1.0)
}

/// Fills in everything [`Face`] reports beyond the detection itself.
pub fn assess(img: &RgbImage, face: &mut Face) {
    face.head_pose = head_pose(&face.landmarks);
    match face_luma(img, &face.bbox) {
        Some(luma) => {
            face.blur = blur(&luma, CROP_SIDE as usize);
            face.exposure = exposure(&luma);
        }
        // A box with no pixels inside the image shows no detail at all.
        None => {
            face.blur = Blur {
                level: BlurLevel::High,
                value: 1.0,
            }
        }
    }
    face.size_px = face.bbox.w.min(face.bbox.h).round().max(0.0) as u32;
    let min = cloud_min_face_px(img.width(), img.height());
    face.cloud_min_size_px = min.ceil() as u32;
    face.below_cloud_min_size = (face.size_px as f32) < min;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::Point;

    /// The generic face (eye distance 1, x right, y down, z towards the
    /// camera).
    fn model() -> [[f32; 3]; 5] {
        let (e, m) = (0.5, EYE_MOUTH_RATIO);
        [
            [-e, 0.0, 0.0],
            [e, 0.0, 0.0],
            [0.0, FRONTAL_NOSE_RATIO * m, NOSE_DEPTH],
            [-0.425, m, 0.0],
            [0.425, m, 0.0],
        ]
    }

    /// Orthographic view of the model nodded by pitch, turned by yaw, then
    /// tilted by roll (degrees), scaled by 100 and moved to (300, 200).
    fn project(yaw: f32, pitch: f32, roll: f32) -> Landmarks {
        let (sy, cy) = yaw.to_radians().sin_cos();
        let (sp, cp) = pitch.to_radians().sin_cos();
        let (sr, cr) = roll.to_radians().sin_cos();
        let pts = model().map(|[x, y, z]| {
            // pitch about the horizontal axis: +z (nose) moves up, to -y
            let (y, z) = (y * cp - z * sp, y * sp + z * cp);
            // yaw about the vertical axis: +z moves towards +x
            let x = x * cy + z * sy;
            // roll in the image plane, clockwise on screen for positive
            let (x, y) = (x * cr - y * sr, x * sr + y * cr);
            [300.0 + 100.0 * x, 200.0 + 100.0 * y]
        });
        Landmarks::from_array(pts)
    }

    #[test]
    fn a_frontal_face_has_no_pose() {
        let p = head_pose(&project(0.0, 0.0, 0.0));
        assert!(
            p.roll.abs() < 1e-3 && p.yaw.abs() < 1e-3 && p.pitch.abs() < 0.1,
            "{p:?}"
        );
    }

    #[test]
    fn roll_is_the_eye_line_angle() {
        let mut lm = project(0.0, 0.0, 0.0);
        lm.left_eye = Point(100.0, 100.0);
        lm.right_eye = Point(200.0, 200.0);
        assert!((head_pose(&lm).roll - 45.0).abs() < 1e-4);
        lm.right_eye = Point(200.0, 0.0);
        assert!((head_pose(&lm).roll + 45.0).abs() < 1e-4);
        for roll in [-150.0, -30.0, 10.0, 89.0] {
            let p = head_pose(&project(0.0, 0.0, roll));
            assert!((p.roll - roll).abs() < 1e-3, "{roll}: {p:?}");
        }
    }

    #[test]
    fn yaw_and_pitch_of_the_generic_face_are_recovered_under_any_roll() {
        for (yaw, pitch, roll) in [
            (30.0, 0.0, 0.0),
            (-30.0, 0.0, 0.0),
            (0.0, 20.0, 0.0),
            (0.0, -20.0, 0.0),
            (45.0, 0.0, 25.0),
            (-20.0, 15.0, -40.0),
            (60.0, -10.0, 170.0),
        ] {
            let p = head_pose(&project(yaw, pitch, roll));
            let close = |a: f32, b: f32| (a - b).abs() < 0.01;
            assert!(
                close(p.yaw, yaw) && close(p.pitch, pitch) && close(p.roll, roll),
                "{yaw} {pitch} {roll}: {p:?}"
            );
        }
    }

    #[test]
    fn a_mirrored_face_has_the_opposite_yaw() {
        let a = head_pose(&project(25.0, 5.0, 0.0));
        let m = project(25.0, 5.0, 0.0).to_array();
        let mirror = |p: [f32; 2]| [600.0 - p[0], p[1]];
        // Mirroring swaps image-left and image-right.
        let b = head_pose(&Landmarks::from_array([
            mirror(m[1]),
            mirror(m[0]),
            mirror(m[2]),
            mirror(m[4]),
            mirror(m[3]),
        ]));
        assert!((a.yaw + b.yaw).abs() < 1e-3 && (a.pitch - b.pitch).abs() < 1e-3);
    }

    #[test]
    fn degenerate_landmarks_give_finite_angles() {
        let p = head_pose(&Landmarks::default());
        assert!(p.roll.is_finite() && p.yaw.is_finite() && p.pitch.is_finite());
    }

    /// A 64x64 luma pattern: fine checks (sharp) or a smooth gradient.
    fn pattern(check: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..CROP_SIDE * CROP_SIDE)
            .map(|i| {
                let (x, y) = ((i % CROP_SIDE) as usize, (i / CROP_SIDE) as usize);
                if (x / check + y / check).is_multiple_of(2) {
                    lo
                } else {
                    hi
                }
            })
            .collect()
    }

    #[test]
    fn fine_detail_is_sharp_smooth_or_flat_crops_are_blurred() {
        let side = CROP_SIDE as usize;
        let sharp = blur(&pattern(4, 0.2, 0.8), side);
        assert_eq!(sharp.level, BlurLevel::Low, "{sharp:?}");
        // The same checks at low contrast are just as sharp.
        let faint = blur(&pattern(4, 0.45, 0.55), side);
        assert!((faint.value - sharp.value).abs() < 0.01, "{faint:?}");
        let gradient: Vec<f32> = (0..side * side).map(|i| (i % side) as f32 / 64.0).collect();
        assert_eq!(blur(&gradient, side).level, BlurLevel::High);
        let flat = blur(&vec![0.5; side * side], side);
        assert_eq!(flat.level, BlurLevel::High);
        assert!(flat.value > 0.99);
    }

    #[test]
    fn exposure_levels_follow_the_crop_brightness() {
        let e = exposure(&pattern(4, 0.02, 0.2));
        assert_eq!(
            (e.level, (e.value * 100.0).round()),
            (ExposureLevel::Under, 11.0)
        );
        assert_eq!(exposure(&pattern(4, 0.2, 0.8)).level, ExposureLevel::Good);
        // Dark skin with lit highlights is not under-exposed.
        let mut dark = vec![0.12; 4096];
        dark[..600].fill(0.6);
        assert_eq!(exposure(&dark).level, ExposureLevel::Good);
        assert_eq!(exposure(&pattern(4, 0.7, 1.0)).level, ExposureLevel::Over);
        assert_eq!(exposure(&[]).level, ExposureLevel::Good);
    }

    #[test]
    fn cloud_minimum_grows_with_images_over_1920_by_1080() {
        assert_eq!(cloud_min_face_px(640, 480), 36.0);
        assert_eq!(cloud_min_face_px(1920, 1080), 36.0);
        assert_eq!(cloud_min_face_px(1080, 1920), 36.0);
        assert_eq!(cloud_min_face_px(3840, 2160), 72.0);
        // A square photo is limited by its short side against 1080.
        assert_eq!(cloud_min_face_px(2160, 2160), 72.0);
        assert!((cloud_min_face_px(3000, 2171) - 72.37).abs() < 0.01);
    }
}
