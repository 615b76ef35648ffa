//! Face detection with YuNet: pre-processing, the ONNX session, and the
//! decoder of its per-stride outputs into boxes and five landmarks.
//!
//! The detector runs `yunet_n_dynamic` on the whole image at a working size
//! chosen per image ([`working_size`]); [`quality`] measures each face.
//!
//! Decoding follows `../shared/models/README.md` (and OpenCV's
//! `FaceDetectorYN`, the upstream reference): one anchor per cell on strides
//! 8, 16 and 32; score = sqrt(cls * obj); NMS at IoU 0.3.

use image::RgbImage;
use ndarray::Array4;

use crate::error::{ImageError, SetupError};
use crate::geometry::{nms, BBox, Letterbox};
use crate::manifest::ModelId;
use crate::preprocess::{
    letterbox_tensor, resize, resize_region, write_nchw, ChannelOrder, Normalize,
};
use crate::probe::{self, Stage};
use crate::result::{Face, Landmarks, Point};
use crate::runtime::{Dim, Expect, Model, Runtime};

pub mod quality;
pub mod survey;

pub const DEFAULT_THRESHOLD: f32 = 0.6;
pub const NMS_IOU: f32 = 0.3;
const STRIDES: [u32; 3] = [8, 16, 32];
/// Input side of the fixed `yunet` model (`yunet_n_640_640`).
pub const FIXED_INPUT: u32 = 640;

/// The raw outputs of one stride, flattened row-major over the grid.
pub struct StrideOutputs<'a> {
    pub stride: u32,
    pub cls: &'a [f32],
    pub obj: &'a [f32],
    pub bbox: &'a [f32],
    pub kps: &'a [f32],
}

/// Decodes YuNet's outputs for an input of `input_w` x `input_h` into faces
/// in input pixels, above `threshold`, before NMS.
pub fn decode(strides: &[StrideOutputs], input_w: u32, input_h: u32, threshold: f32) -> Vec<Face> {
    let mut faces = Vec::new();
    for so in strides {
        let s = so.stride as f32;
        let cols = (input_w / so.stride) as usize;
        let rows = (input_h / so.stride) as usize;
        let n = (cols * rows)
            .min(so.cls.len())
            .min(so.obj.len())
            .min(so.bbox.len() / 4)
            .min(so.kps.len() / 10);
        for i in 0..n {
            let score = (so.cls[i].clamp(0.0, 1.0) * so.obj[i].clamp(0.0, 1.0)).sqrt();
            // A NaN score (a broken model file) must not pass as a face.
            if score.is_nan() || score < threshold {
                continue;
            }
            let (row, col) = ((i / cols) as f32, (i % cols) as f32);
            let b = &so.bbox[i * 4..i * 4 + 4];
            let cx = (col + b[0]) * s;
            let cy = (row + b[1]) * s;
            let w = b[2].exp() * s;
            let h = b[3].exp() * s;
            let k = &so.kps[i * 10..i * 10 + 10];
            let lm: [[f32; 2]; 5] =
                std::array::from_fn(|j| [(k[2 * j] + col) * s, (k[2 * j + 1] + row) * s]);
            faces.push(Face {
                bbox: BBox::from_center(cx, cy, w, h),
                score,
                landmarks: Landmarks::from_array(lm),
                ..Default::default()
            });
        }
    }
    faces
}

/// Keeps the best of overlapping faces (NMS at IoU 0.3), best first.
pub fn suppress(faces: Vec<Face>) -> Vec<Face> {
    let boxes: Vec<BBox> = faces.iter().map(|f| f.bbox).collect();
    let scores: Vec<f32> = faces.iter().map(|f| f.score).collect();
    let keep = nms(&boxes, &scores, NMS_IOU);
    keep.into_iter().map(|i| faces[i].clone()).collect()
}

/// Maps a face from working-image pixels back to the upright image: undo
/// the offset of the tile it was found in (`dx`, `dy`, working pixels; 0 for
/// a whole-image pass), then the scale.
pub fn unmap(face: &Face, lb: &Letterbox, dx: f32, dy: f32, width: u32, height: u32) -> Face {
    Face {
        bbox: lb
            .unmap(&face.bbox.translate(dx, dy))
            .clip(width as f32, height as f32),
        landmarks: face.landmarks.map(|p| {
            let (x, y) = lb.unmap_point(p.0 + dx, p.1 + dy);
            Point(x, y)
        }),
        ..face.clone()
    }
}

/// A face of a region pass this close (working pixels) to an inner side of
/// the region is a part of one that goes on past it.
const CUT_MARGIN: f32 = 2.0;

/// Rounds up to the next multiple of 32, the granularity of YuNet's input.
pub fn ceil32(v: u32) -> u32 {
    v.div_ceil(32).max(1) * 32
}

/// Working-size policy: the whole image in one pass of `yunet_n_dynamic`,
/// its longer side scaled to [`MIN_WORKING_SIDE`]..=[`MAX_WORKING_SIDE`].
/// See ARCHITECTURE.md ("Faces") for the measurements behind it.
///
/// At 1920, faces of 12 px in the working image are still found (a 6000 px
/// crowd photo with 464 faces of 40 px: all of them), at a third of the
/// cost of 3840; larger working sizes make YuNet read background texture as
/// large faces (the brick wall of the Solvay photo scores 0.49 at 1920,
/// 0.62 at 1955, 0.63 at 2240).
pub const MAX_WORKING_SIDE: u32 = 1920;
/// Small photos are scaled up, as the fixed 640 model did: 9 px faces in a
/// 320 px photo are found only when scaled up (29 of 29, against 19).
pub const MIN_WORKING_SIDE: u32 = 640;

/// The working image for an image of `w` x `h`: scaled, aspect ratio kept,
/// so that its longer side is within `min_side..=max_side`, then padded at
/// the right and bottom to multiples of 32. Returns the letterbox and the
/// model input size.
pub fn working_size(w: u32, h: u32, min_side: u32, max_side: u32) -> (Letterbox, u32, u32) {
    let long = w.max(h).max(1) as f64;
    let scale = long.clamp(min_side as f64, max_side.max(min_side) as f64) / long;
    let rw = ((w.max(1) as f64 * scale).round() as u32).max(1);
    let rh = ((h.max(1) as f64 * scale).round() as u32).max(1);
    let lb = Letterbox {
        scale: scale as f32,
        resized_w: rw,
        resized_h: rh,
    };
    (lb, ceil32(rw), ceil32(rh))
}

/// The YuNet pre-processing for the fixed-size model: BGR, raw 0..255,
/// letterboxed top-left, pad 0.
pub fn preprocess(img: &RgbImage, input_w: u32, input_h: u32) -> (Array4<f32>, Letterbox) {
    letterbox_tensor(
        img,
        input_w,
        input_h,
        0.0,
        ChannelOrder::Bgr,
        &Normalize::RAW,
    )
}

/// Writes an already scaled image (or a tile of one) into a zero-padded
/// `input_w` x `input_h` BGR tensor at the top-left: YuNet's letterbox.
pub fn to_input(img: &RgbImage, input_w: u32, input_h: u32) -> Array4<f32> {
    let mut t = Array4::<f32>::zeros((1, 3, input_h as usize, input_w as usize));
    write_nchw(img, &mut t, ChannelOrder::Bgr, &Normalize::RAW);
    t
}

/// The output names YuNet gives each stride: scores, objectness, box and
/// landmark offsets.
const OUTPUTS: [[&str; 4]; 3] = [
    ["cls_8", "obj_8", "bbox_8", "kps_8"],
    ["cls_16", "obj_16", "bbox_16", "kps_16"],
    ["cls_32", "obj_32", "bbox_32", "kps_32"],
];
/// Values per cell of each of those outputs.
const PER_CELL: [usize; 4] = [1, 1, 4, 10];

/// A YuNet session and its settings. One per worker thread.
pub struct FaceDetector {
    session: Model,
    pub threshold: f32,
    pub min_side: u32,
    pub max_side: u32,
    /// Survey large photos at this longer side first and read at the full
    /// working size only where the survey says faces may be too small for
    /// it ([`survey`]); `None` reads every photo whole at its working size.
    pub survey_side: Option<u32>,
}

impl FaceDetector {
    pub fn new(rt: &Runtime, intra_threads: usize, threshold: f32) -> Result<Self, SetupError> {
        // `yunet_n_dynamic` takes any input whose sides are multiples of 32.
        Self::with_model(rt, ModelId::YunetDynamic, intra_threads, threshold)
    }

    /// A detector on another YuNet export (for comparisons: the fixed
    /// `yunet` model only takes 640 x 640 inputs, see [`preprocess`]).
    pub fn with_model(
        rt: &Runtime,
        model: ModelId,
        intra_threads: usize,
        threshold: f32,
    ) -> Result<Self, SetupError> {
        Ok(FaceDetector {
            session: rt.session(model, intra_threads)?,
            threshold,
            min_side: MIN_WORKING_SIDE,
            max_side: MAX_WORKING_SIDE,
            survey_side: None,
        })
    }

    /// Runs the model on a prepared input tensor and decodes it, in input
    /// pixels, before NMS.
    pub fn infer(&mut self, input: &Array4<f32>) -> Result<Vec<Face>, ImageError> {
        self.infer_at(input, self.threshold)
    }

    /// [`infer`](Self::infer) keeping candidates from `threshold` up.
    fn infer_at(&mut self, input: &Array4<f32>, threshold: f32) -> Result<Vec<Face>, ImageError> {
        probe::input(self.session.id(), input);
        let clock = probe::clock();
        let (ih, iw) = (input.shape()[2] as u32, input.shape()[3] as u32);
        let dims = Self::output_dims(input)?;
        let expected: Vec<Expect> = OUTPUTS
            .iter()
            .flatten()
            .zip(&dims)
            .map(|(name, dims)| Expect { name, dims })
            .collect();
        let faces = self.session.run(input, &expected, |t| {
            let views: Vec<StrideOutputs> = STRIDES
                .iter()
                .zip(t.chunks(4))
                .map(|(&stride, t)| StrideOutputs {
                    stride,
                    cls: t[0].data,
                    obj: t[1].data,
                    bbox: t[2].data,
                    kps: t[3].data,
                })
                .collect();
            Ok(decode(&views, iw, ih, threshold))
        })?;
        clock.stop(Stage::FaceInference);
        Ok(faces)
    }

    /// The shapes of the twelve outputs (in [`OUTPUTS`] order) for an
    /// input tensor: per stride `[1, cells, k]`.
    fn output_dims(input: &Array4<f32>) -> Result<Vec<[Dim; 3]>, ImageError> {
        let (ih, iw) = (input.shape()[2], input.shape()[3]);
        if input.shape()[0] != 1 || ih % 32 != 0 || iw % 32 != 0 {
            return Err(ImageError::Inference(format!(
                "YuNet takes one image with sides that are multiples of 32, not {:?}",
                input.shape()
            )));
        }
        Ok(STRIDES
            .iter()
            .flat_map(|&s| {
                let cells = (ih / s as usize) * (iw / s as usize);
                PER_CELL.map(|k| [Dim::Is(1), Dim::Is(cells), Dim::Is(k)])
            })
            .collect())
    }

    /// Finds faces in an upright image (boxes, scores, landmarks in its
    /// pixels, best first), without the quality measures.
    pub fn locate(&mut self, img: &RgbImage) -> Result<Vec<Face>, ImageError> {
        self.locate_among(img, &[])
    }

    /// [`locate`](Self::locate), told where the object detector found
    /// `people` (image pixels): with a survey side set, a large photo is
    /// surveyed first and read at full size only where [`survey::plan`]
    /// says small faces may be.
    pub fn locate_among(
        &mut self,
        img: &RgbImage,
        people: &[BBox],
    ) -> Result<Vec<Face>, ImageError> {
        let (w, h) = img.dimensions();
        let (lb, iw, ih) = working_size(w, h, self.min_side, self.max_side);
        let full_side = lb.resized_w.max(lb.resized_h) as f32;
        let side = match self.survey_side {
            Some(side) if w > 0 && h > 0 && full_side > side as f32 * survey::MIN_GAIN => side,
            _ => return self.whole(img, &lb, iw, ih, self.threshold),
        };
        let (slb, siw, sih) = working_size(w, h, self.min_side.min(side), side);
        let hint = survey::HINT_THRESHOLD.min(self.threshold);
        let (faces, weak): (Vec<Face>, Vec<Face>) = self
            .whole(img, &slb, siw, sih, hint)?
            .into_iter()
            .partition(|f| f.score >= self.threshold);
        let seen = survey::Survey {
            faces: &faces,
            weak: &weak,
            people,
            survey_scale: slb.scale,
        };
        match survey::plan(&seen, lb.scale, lb.resized_w, lb.resized_h) {
            survey::Plan::Done => Ok(faces),
            survey::Plan::Whole => self.whole(img, &lb, iw, ih, self.threshold),
            survey::Plan::Regions(rects) => {
                let mut all = faces;
                for r in rects {
                    all.extend(self.region(img, &lb, r)?);
                }
                Ok(probe::time(Stage::FacePostprocess, || suppress(all)))
            }
        }
    }

    /// One pass over the whole image scaled by `lb` into an `iw` x `ih`
    /// input: faces from `threshold` up, after NMS, in image pixels.
    fn whole(
        &mut self,
        img: &RgbImage,
        lb: &Letterbox,
        iw: u32,
        ih: u32,
        threshold: f32,
    ) -> Result<Vec<Face>, ImageError> {
        let (w, h) = img.dimensions();
        let input = probe::time(Stage::FacePreprocess, || {
            to_input(&resize(img, lb.resized_w, lb.resized_h), iw, ih)
        });
        self.pass(input, threshold, lb, (0.0, 0.0), (w, h), |_| true)
    }

    /// One pass over the rectangle `r` of the full working image (scaled
    /// by `lb`), read straight from the image's pixels: faces after NMS,
    /// in image pixels, without those cut off by an inner side of `r`.
    fn region(
        &mut self,
        img: &RgbImage,
        lb: &Letterbox,
        r: survey::Rect,
    ) -> Result<Vec<Face>, ImageError> {
        let (w, h) = img.dimensions();
        let s = lb.scale;
        let x0 = ((r.x as f32 / s).floor() as u32).min(w - 1);
        let y0 = ((r.y as f32 / s).floor() as u32).min(h - 1);
        let x1 = (((r.x + r.w) as f32 / s).ceil() as u32).clamp(x0 + 1, w);
        let y1 = (((r.y + r.h) as f32 / s).ceil() as u32).clamp(y0 + 1, h);
        let cw = (((x1 - x0) as f32 * s).round() as u32).max(1);
        let ch = (((y1 - y0) as f32 * s).round() as u32).max(1);
        let input = probe::time(Stage::FacePreprocess, || {
            let crop = resize_region(img, (x0, y0, x1 - x0, y1 - y0), cw, ch);
            to_input(&crop, ceil32(cw), ceil32(ch))
        });
        let (dx, dy) = (x0 as f32 * s, y0 as f32 * s);
        self.pass(input, self.threshold, lb, (dx, dy), (w, h), |f| {
            let at = f.bbox.translate(dx, dy);
            !r.cuts(&at, lb.resized_w, lb.resized_h, CUT_MARGIN)
        })
    }

    /// Inference on `input`, the part of the working image (scaled by
    /// `lb`) from `(dx, dy)`: faces from `threshold` up, after NMS, those
    /// `keep` accepts (in input pixels), mapped to the `w` x `h` image.
    fn pass(
        &mut self,
        input: Array4<f32>,
        threshold: f32,
        lb: &Letterbox,
        (dx, dy): (f32, f32),
        (w, h): (u32, u32),
        keep: impl Fn(&Face) -> bool,
    ) -> Result<Vec<Face>, ImageError> {
        let candidates = self.infer_at(&input, threshold)?;
        // The input is not needed for decoding: its memory goes first.
        drop(input);
        Ok(probe::time(Stage::FacePostprocess, || {
            suppress(candidates)
                .iter()
                .filter(|f| keep(f))
                .map(|f| unmap(f, lb, dx, dy, w, h))
                .collect()
        }))
    }

    /// Finds faces in an upright image and measures each: head pose, blur,
    /// exposure and size against the cloud minimum.
    pub fn detect(&mut self, img: &RgbImage) -> Result<Vec<Face>, ImageError> {
        self.detect_among(img, &[])
    }

    /// [`detect`](Self::detect) with the people the object detector found
    /// (see [`locate_among`](Self::locate_among)).
    pub fn detect_among(
        &mut self,
        img: &RgbImage,
        people: &[BBox],
    ) -> Result<Vec<Face>, ImageError> {
        let mut faces = self.locate_among(img, people)?;
        probe::time(Stage::FacePostprocess, || {
            for f in &mut faces {
                quality::assess(img, f);
            }
        });
        Ok(faces)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outputs for a 64x64 input where every cell scores zero but one.
    fn grid(
        stride: u32,
        cell: usize,
        cls: f32,
        obj: f32,
        b: [f32; 4],
        k: [f32; 10],
    ) -> [Vec<f32>; 4] {
        let n = ((64 / stride) * (64 / stride)) as usize;
        let mut out = [
            vec![0.0; n],
            vec![0.0; n],
            vec![0.0; n * 4],
            vec![0.0; n * 10],
        ];
        out[0][cell] = cls;
        out[1][cell] = obj;
        out[2][cell * 4..cell * 4 + 4].copy_from_slice(&b);
        out[3][cell * 10..cell * 10 + 10].copy_from_slice(&k);
        out
    }

    #[test]
    fn a_known_cell_decodes_to_a_known_box_and_landmarks() {
        // Stride 16 on 64 px: 4 columns. Cell 6 = row 1, col 2.
        let g = grid(
            16,
            6,
            0.81,
            1.0,
            [0.5, 0.25, 0.0, 1f32.ln() + 2f32.ln()],
            [0.1, 0.2, 0.9, 0.2, 0.5, 0.5, 0.2, 0.8, 0.8, 0.8],
        );
        let so = StrideOutputs {
            stride: 16,
            cls: &g[0],
            obj: &g[1],
            bbox: &g[2],
            kps: &g[3],
        };
        let faces = decode(&[so], 64, 64, 0.6);
        assert_eq!(faces.len(), 1);
        let f = &faces[0];
        assert!((f.score - 0.9).abs() < 1e-6);
        // cx = (2 + 0.5) * 16 = 40, cy = (1 + 0.25) * 16 = 20, w = 16, h = 32
        let want = BBox::from_center(40.0, 20.0, 16.0, 32.0);
        assert!(
            (f.bbox.x - want.x).abs() < 1e-4 && (f.bbox.h - want.h).abs() < 1e-4,
            "{:?}",
            f.bbox
        );
        assert!((f.landmarks.left_eye.0 - 33.6).abs() < 1e-4);
        assert!((f.landmarks.left_eye.1 - 19.2).abs() < 1e-4);
        assert!((f.landmarks.mouth_right.0 - 44.8).abs() < 1e-4);
    }

    #[test]
    fn scores_below_threshold_and_out_of_range_values_are_handled() {
        // sqrt(0.3 * 1.0) = 0.548 < 0.6
        let g = grid(32, 0, 0.3, 1.0, [0.0; 4], [0.0; 10]);
        let so = StrideOutputs {
            stride: 32,
            cls: &g[0],
            obj: &g[1],
            bbox: &g[2],
            kps: &g[3],
        };
        assert!(decode(&[so], 64, 64, 0.6).is_empty());
        // Values over 1 are clamped, not trusted.
        let g = grid(32, 3, 7.0, 1.5, [0.0; 4], [0.0; 10]);
        let so = StrideOutputs {
            stride: 32,
            cls: &g[0],
            obj: &g[1],
            bbox: &g[2],
            kps: &g[3],
        };
        let f = decode(&[so], 64, 64, 0.6);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].score, 1.0);
    }

    #[test]
    fn suppress_removes_duplicates_of_one_face() {
        let f = |x: f32, score: f32| Face {
            bbox: BBox {
                x,
                y: 0.0,
                w: 10.0,
                h: 10.0,
            },
            score,
            ..Default::default()
        };
        let kept = suppress(vec![f(0.0, 0.7), f(1.0, 0.9), f(30.0, 0.8)]);
        assert_eq!(
            kept.iter().map(|f| f.score).collect::<Vec<_>>(),
            vec![0.9, 0.8]
        );
    }

    #[test]
    fn suppress_uses_iou_0_3_and_keeps_the_best_faces_landmarks() {
        let f = |x: f32, score: f32, eye: f32| Face {
            bbox: BBox {
                x,
                y: 0.0,
                w: 10.0,
                h: 10.0,
            },
            score,
            landmarks: Landmarks {
                left_eye: Point(eye, eye),
                ..Default::default()
            },
            ..Default::default()
        };
        // Shifted by 5: IoU 50/150 = 0.33 > 0.3, one face.
        let kept = suppress(vec![f(0.0, 0.7, 1.0), f(5.0, 0.8, 2.0)]);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].landmarks.left_eye, Point(2.0, 2.0));
        // Shifted by 6: IoU 40/160 = 0.25, two faces side by side.
        assert_eq!(suppress(vec![f(0.0, 0.7, 1.0), f(6.0, 0.8, 2.0)]).len(), 2);
        assert!(suppress(vec![]).is_empty());
    }

    #[test]
    fn non_square_inputs_index_cells_by_the_input_width() {
        // 96 x 64 at stride 32: 3 columns, 2 rows; cell 4 = row 1, col 1.
        let n = 6;
        let (mut cls, mut obj) = (vec![0.0; n], vec![0.0; n]);
        let (bbox, kps) = (vec![0.0; n * 4], vec![0.0; n * 10]);
        cls[4] = 1.0;
        obj[4] = 1.0;
        let so = StrideOutputs {
            stride: 32,
            cls: &cls,
            obj: &obj,
            bbox: &bbox,
            kps: &kps,
        };
        let f = decode(&[so], 96, 64, 0.6);
        assert_eq!(f.len(), 1);
        // cx = 32, cy = 32, w = h = exp(0) * 32
        assert_eq!(f[0].bbox, BBox::from_center(32.0, 32.0, 32.0, 32.0));
        assert_eq!(f[0].landmarks.nose, Point(32.0, 32.0));
    }

    #[test]
    fn working_size_caps_large_photos_and_scales_small_ones_up() {
        let size = |w, h| {
            let (lb, iw, ih) = working_size(w, h, MIN_WORKING_SIDE, MAX_WORKING_SIDE);
            (lb.resized_w, lb.resized_h, iw, ih)
        };
        assert_eq!(size(3000, 2171), (1920, 1389, 1920, 1408));
        assert_eq!(size(2171, 3000), (1389, 1920, 1408, 1920));
        assert_eq!(size(6000, 4342), (1920, 1389, 1920, 1408));
        // Between the bounds: native size, padded to multiples of 32.
        assert_eq!(size(1000, 801), (1000, 801, 1024, 832));
        assert_eq!(size(512, 512), (640, 640, 640, 640));
        assert_eq!(size(320, 232), (640, 464, 640, 480));
        assert_eq!(size(1, 1), (640, 640, 640, 640));
        let (lb, _, _) = working_size(3000, 2171, MIN_WORKING_SIDE, MAX_WORKING_SIDE);
        assert!((lb.scale - 0.64).abs() < 1e-6);
    }

    #[test]
    fn unmap_undoes_tile_offset_then_scale_and_clips() {
        let lb = Letterbox {
            scale: 0.5,
            resized_w: 50,
            resized_h: 50,
        };
        let f = Face {
            bbox: BBox {
                x: 10.0,
                y: 20.0,
                w: 8.0,
                h: 8.0,
            },
            landmarks: Landmarks {
                nose: Point(14.0, 24.0),
                ..Default::default()
            },
            score: 0.9,
            ..Default::default()
        };
        let u = unmap(&f, &lb, 5.0, 0.0, 100, 100);
        assert_eq!(
            u.bbox,
            BBox {
                x: 30.0,
                y: 40.0,
                w: 16.0,
                h: 16.0
            }
        );
        assert_eq!(u.landmarks.nose, Point(38.0, 48.0));
        assert_eq!(u.score, 0.9);
        // Parts outside the image are cut off.
        assert_eq!(unmap(&f, &lb, 40.0, 0.0, 100, 100).bbox.right(), 100.0);
    }
}
