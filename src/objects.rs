//! Object detection with YOLOX-Nano (COCO-80): pre-processing, the ONNX
//! session, and the decoder of its grid output into labelled boxes.
//!
//! Decoding follows `../shared/models/README.md`: strides 8, 16, 32
//! concatenated row-major; score = obj * cls; class-aware NMS at IoU 0.45.

use image::RgbImage;
use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;
use serde::Serialize;

use crate::error::{ImageError, SetupError};
use crate::geometry::{nms, BBox, Letterbox};
use crate::preprocess::{letterbox_tensor, ChannelOrder, Normalize};
use crate::runtime::Runtime;

pub const DEFAULT_THRESHOLD: f32 = 0.3;
pub const NMS_IOU: f32 = 0.45;
pub const INPUT: u32 = 416;
const STRIDES: [u32; 3] = [8, 16, 32];
const PAD: f32 = 114.0;

/// COCO-80 class names in the model's output order.
pub const COCO_LABELS: [&str; 80] = [
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
];

/// A detected object in upright image pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Object {
    pub label: &'static str,
    pub class_id: usize,
    pub score: f32,
    #[serde(rename = "box")]
    pub bbox: BBox,
}

/// Decodes the `[N, 85]` output of an `input_w` x `input_h` input into
/// objects in input pixels above `threshold`, before NMS.
pub fn decode(output: &[f32], input_w: u32, input_h: u32, threshold: f32) -> Vec<Object> {
    const ROW: usize = 85;
    let mut objects = Vec::new();
    let mut offset = 0usize;
    for s in STRIDES {
        let cols = (input_w / s) as usize;
        let rows = (input_h / s) as usize;
        for i in 0..cols * rows {
            let start = (offset + i) * ROW;
            let Some(r) = output.get(start..start + ROW) else {
                return objects;
            };
            let obj = r[4];
            if obj < threshold {
                // score = obj * cls <= obj, so nothing in this cell can pass.
                continue;
            }
            let (class_id, cls) = r[5..]
                .iter()
                .copied()
                .enumerate()
                .fold((0, f32::MIN), |a, (i, v)| if v > a.1 { (i, v) } else { a });
            let score = obj * cls;
            if score < threshold {
                continue;
            }
            let (row, col) = ((i / cols) as f32, (i % cols) as f32);
            let sf = s as f32;
            objects.push(Object {
                label: COCO_LABELS[class_id],
                class_id,
                score,
                bbox: BBox::from_center(
                    (r[0] + col) * sf,
                    (r[1] + row) * sf,
                    r[2].exp() * sf,
                    r[3].exp() * sf,
                ),
            });
        }
        offset += cols * rows;
    }
    objects
}

/// Class-aware NMS: boxes of different classes never suppress each other.
pub fn suppress(objects: Vec<Object>) -> Vec<Object> {
    let mut kept = Vec::new();
    let mut classes: Vec<usize> = objects.iter().map(|o| o.class_id).collect();
    classes.sort_unstable();
    classes.dedup();
    for c in classes {
        let group: Vec<&Object> = objects.iter().filter(|o| o.class_id == c).collect();
        let boxes: Vec<BBox> = group.iter().map(|o| o.bbox).collect();
        let scores: Vec<f32> = group.iter().map(|o| o.score).collect();
        kept.extend(
            nms(&boxes, &scores, NMS_IOU)
                .into_iter()
                .map(|i| group[i].clone()),
        );
    }
    kept.sort_by(|a, b| b.score.total_cmp(&a.score));
    kept
}

/// The YOLOX pre-processing: BGR, raw 0..255, letterboxed top-left, pad 114.
pub fn preprocess(img: &RgbImage) -> (Array4<f32>, Letterbox) {
    letterbox_tensor(img, INPUT, INPUT, PAD, ChannelOrder::Bgr, &Normalize::RAW)
}

/// A YOLOX session and its settings. One per worker thread.
pub struct ObjectDetector {
    session: Session,
    pub threshold: f32,
}

impl ObjectDetector {
    pub fn new(rt: &Runtime, intra_threads: usize, threshold: f32) -> Result<Self, SetupError> {
        Ok(ObjectDetector {
            session: rt.session("yolox", intra_threads)?,
            threshold,
        })
    }

    /// Runs the model on a prepared tensor; objects in input pixels, before NMS.
    pub fn infer(&mut self, input: &Array4<f32>) -> Result<Vec<Object>, ImageError> {
        let (ih, iw) = (input.shape()[2] as u32, input.shape()[3] as u32);
        let outputs = self
            .session
            .run(ort::inputs!["images" => TensorRef::from_array_view(input.view())?])?;
        let (_, data) = outputs[0].try_extract_tensor::<f32>()?;
        Ok(decode(data, iw, ih, self.threshold))
    }

    /// Detects objects in an upright image; boxes in its pixels.
    pub fn detect(&mut self, img: &RgbImage) -> Result<Vec<Object>, ImageError> {
        let (w, h) = img.dimensions();
        let (input, lb) = preprocess(img);
        let objects = suppress(self.infer(&input)?);
        Ok(objects
            .into_iter()
            .map(|o| Object {
                bbox: lb.unmap(&o.bbox).clip(w as f32, h as f32),
                ..o
            })
            .filter(|o| o.bbox.area() > 0.0)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_output() -> Vec<f32> {
        vec![0.0; 3549 * 85]
    }

    fn set(out: &mut [f32], cell: usize, xywh: [f32; 4], obj: f32, class: usize, cls: f32) {
        let r = &mut out[cell * 85..cell * 85 + 85];
        r[..4].copy_from_slice(&xywh);
        r[4] = obj;
        r[5 + class] = cls;
    }

    #[test]
    fn a_known_cell_on_each_stride_decodes_to_a_known_box() {
        let mut out = empty_output();
        // Stride 8, 52 columns: cell 53 = row 1, col 1.
        set(&mut out, 53, [0.5, 0.5, 0.0, 0.0], 0.9, 16, 0.8);
        // Stride 32 starts after 52*52 + 26*26 = 3380 cells; cell 13 = row 1, col 0.
        set(
            &mut out,
            3380 + 13,
            [0.0, 0.5, 2f32.ln(), 1f32.ln()],
            0.5,
            0,
            0.9,
        );
        let objs = decode(&out, 416, 416, 0.3);
        assert_eq!(objs.len(), 2);
        let dog = objs.iter().find(|o| o.label == "dog").unwrap();
        assert!((dog.score - 0.72).abs() < 1e-6);
        assert_eq!(dog.bbox, BBox::from_center(12.0, 12.0, 8.0, 8.0));
        let person = objs.iter().find(|o| o.class_id == 0).unwrap();
        assert_eq!(person.bbox, BBox::from_center(0.0, 48.0, 64.0, 32.0));
    }

    #[test]
    fn score_is_objectness_times_class_and_thresholded() {
        let mut out = empty_output();
        set(&mut out, 0, [0.0; 4], 0.5, 3, 0.5); // 0.25 < 0.3
        assert!(decode(&out, 416, 416, 0.3).is_empty());
        assert_eq!(decode(&out, 416, 416, 0.2).len(), 1);
        // A short (corrupt) output yields what it holds, without panicking.
        assert!(decode(&out[..100], 416, 416, 0.2).len() <= 1);
    }

    #[test]
    fn nms_is_class_aware() {
        let o = |class_id: usize, x: f32, score: f32| Object {
            label: COCO_LABELS[class_id],
            class_id,
            score,
            bbox: BBox {
                x,
                y: 0.0,
                w: 10.0,
                h: 10.0,
            },
        };
        let kept = suppress(vec![o(0, 0.0, 0.9), o(0, 1.0, 0.8), o(16, 0.0, 0.7)]);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[1].label, "dog");
    }

    #[test]
    fn coco_labels_are_in_standard_order() {
        assert_eq!(COCO_LABELS[0], "person");
        assert_eq!(COCO_LABELS[16], "dog");
        assert_eq!(COCO_LABELS[41], "cup");
        assert_eq!(COCO_LABELS[79], "toothbrush");
    }
}

/// Per-image counts by label, most frequent first (ties by label).
pub fn counts(objects: &[Object]) -> Vec<(&'static str, usize)> {
    let mut map = std::collections::BTreeMap::<&'static str, usize>::new();
    for o in objects {
        *map.entry(o.label).or_default() += 1;
    }
    let mut v: Vec<_> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v
}

/// A line a person reads at a glance: "2 people, 1 dog, 1 bicycle".
pub fn scene_line(counts: &[(&'static str, usize)]) -> String {
    if counts.is_empty() {
        return "no objects recognised".into();
    }
    counts
        .iter()
        .map(|&(label, n)| format!("{n} {}", plural(label, n)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(label: &str, n: usize) -> String {
    if n == 1 {
        return label.into();
    }
    match label {
        "person" => "people".into(),
        "sheep" | "skis" | "scissors" => label.into(),
        "bus" | "glass" | "couch" | "sandwich" | "toothbrush" | "wine glass" => {
            format!("{label}es")
        }
        "knife" => "knives".into(),
        _ => format!("{label}s"),
    }
}

#[cfg(test)]
mod summary_tests {
    use super::*;

    #[test]
    fn scene_line_counts_and_pluralises() {
        let o = |class_id: usize| Object {
            label: COCO_LABELS[class_id],
            class_id,
            score: 0.9,
            bbox: BBox::default(),
        };
        let c = counts(&[o(0), o(16), o(0), o(1)]);
        assert_eq!(c, vec![("person", 2), ("bicycle", 1), ("dog", 1)]);
        assert_eq!(scene_line(&c), "2 people, 1 bicycle, 1 dog");
        assert_eq!(scene_line(&counts(&[o(5), o(5), o(41)])), "2 buses, 1 cup");
        assert_eq!(scene_line(&[]), "no objects recognised");
    }
}
