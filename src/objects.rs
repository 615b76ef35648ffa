//! Object detection with YOLOX-Nano (COCO-80): pre-processing, the ONNX
//! session, the decoder of its grid output into labelled boxes, the
//! suppression of duplicates, tiles over large images, and the per-image
//! summaries (`counts`, `scene_line`).
//!
//! Decoding follows `../shared/models/README.md`: strides 8, 16, 32
//! concatenated row-major; score = obj * cls; class-aware NMS at IoU 0.45.

mod labels;
mod scene;
mod tiles;

use std::borrow::Cow;

use image::RgbImage;
use ndarray::Array4;

use crate::error::{ImageError, SetupError};
use crate::geometry::{nms, BBox, Letterbox};
use crate::manifest::ModelId;
use crate::preprocess::{letterbox_tensor, resize, ChannelOrder, Normalize};
use crate::probe::{self, Stage};
use crate::result::Object;
use crate::runtime::{Dim, Expect, Model, Runtime};

pub use labels::COCO_LABELS;
pub use scene::{counts, scene_line, SCENE_TAGS, SCENE_TAG_CONFIDENCE};
pub use tiles::{part_of, Region, Tiling};

pub const DEFAULT_THRESHOLD: f32 = 0.3;
pub const NMS_IOU: f32 = 0.45;
/// Boxes of different classes overlapping more than this are one object
/// read two ways (a dog also scored as a cat); the higher score stays.
/// Measured on the samples: such pairs overlap by 0.9 and more, while two
/// real objects of different classes overlap by far less (ARCHITECTURE.md).
pub const CROSS_CLASS_IOU: f32 = 0.85;
pub const INPUT: u32 = 416;
const STRIDES: [u32; 3] = [8, 16, 32];
const PAD: f32 = 114.0;
/// Values per cell of the output: box (4), objectness, 80 class scores.
const ROW: usize = 85;

/// Tiling used unless turned off: two tiles along the longer side of images
/// of 1000 px and more where at least two people were found. ARCHITECTURE.md
/// has the measurements behind these values (three across finds a few more
/// people but cuts ordinary photos' objects into fragments, and costs twice
/// as much).
pub const DEFAULT_TILING: Tiling = Tiling {
    min_side: 1000,
    min_people: 2,
    across: 2,
    overlap: 0.3,
    edge_margin: 0.01,
};
/// COCO's class id of a person.
pub const PERSON: usize = 0;

/// Decodes the `[N, 85]` output of an `input_w` x `input_h` input into
/// objects in input pixels above `threshold`, before NMS.
pub fn decode(output: &[f32], input_w: u32, input_h: u32, threshold: f32) -> Vec<Object> {
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
            // score = obj * cls <= obj, so nothing in this cell can pass.
            if obj.is_nan() || obj < threshold {
                continue;
            }
            let (class_id, cls) = r[5..]
                .iter()
                .copied()
                .enumerate()
                .fold((0, f32::MIN), |a, (i, v)| if v > a.1 { (i, v) } else { a });
            let score = obj * cls;
            if score.is_nan() || score < threshold {
                continue;
            }
            let (row, col) = ((i / cols) as f32, (i % cols) as f32);
            let sf = s as f32;
            let bbox = BBox::from_center(
                (r[0] + col) * sf,
                (r[1] + row) * sf,
                r[2].exp() * sf,
                r[3].exp() * sf,
            );
            if ![bbox.x, bbox.y, bbox.w, bbox.h]
                .iter()
                .all(|v| v.is_finite())
            {
                continue;
            }
            objects.push(Object {
                label: COCO_LABELS[class_id],
                class_id,
                score: score.min(1.0),
                bbox,
            });
        }
        offset += cols * rows;
    }
    objects
}

/// Class-aware NMS: boxes of different classes never suppress each other.
/// Best score first.
pub fn nms_per_class(objects: Vec<Object>, iou: f32) -> Vec<Object> {
    let mut kept = Vec::new();
    let mut classes: Vec<usize> = objects.iter().map(|o| o.class_id).collect();
    classes.sort_unstable();
    classes.dedup();
    for c in classes {
        let group: Vec<&Object> = objects.iter().filter(|o| o.class_id == c).collect();
        let boxes: Vec<BBox> = group.iter().map(|o| o.bbox).collect();
        let scores: Vec<f32> = group.iter().map(|o| o.score).collect();
        kept.extend(
            nms(&boxes, &scores, iou)
                .into_iter()
                .map(|i| group[i].clone()),
        );
    }
    kept.sort_by(|a, b| b.score.total_cmp(&a.score));
    kept
}

/// Drops a box when a better-scoring box of another class covers nearly the
/// same pixels (IoU above `iou`): the model read one object two ways.
pub fn suppress_cross_class(mut objects: Vec<Object>, iou: f32) -> Vec<Object> {
    objects.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Object> = Vec::with_capacity(objects.len());
    for o in objects {
        if !kept
            .iter()
            .any(|k| k.class_id != o.class_id && k.bbox.iou(&o.bbox) > iou)
        {
            kept.push(o);
        }
    }
    kept
}

/// Class-aware NMS at [`NMS_IOU`], then cross-class duplicates at
/// [`CROSS_CLASS_IOU`]. Best score first.
pub fn suppress(objects: Vec<Object>) -> Vec<Object> {
    suppress_cross_class(nms_per_class(objects, NMS_IOU), CROSS_CLASS_IOU)
}

/// The YOLOX pre-processing: BGR, raw 0..255, letterboxed top-left, pad 114.
pub fn preprocess(img: &RgbImage) -> (Array4<f32>, Letterbox) {
    letterbox_tensor(img, INPUT, INPUT, PAD, ChannelOrder::Bgr, &Normalize::RAW)
}

/// Maps a box from input pixels of a pass over `region` back to image
/// pixels. Each axis has its own scale: the letterboxed size is rounded to
/// whole pixels, so a thin image (5 x 300 becomes 7 x 416) is stretched
/// differently across than along, and one scale would misplace its boxes.
pub fn to_image(b: &BBox, region: &Region, lb: &Letterbox) -> BBox {
    let sx = region.w as f32 / lb.resized_w.max(1) as f32;
    let sy = region.h as f32 / lb.resized_h.max(1) as f32;
    BBox {
        x: region.x as f32 + b.x * sx,
        y: region.y as f32 + b.y * sy,
        w: b.w * sx,
        h: b.h * sy,
    }
}

/// A YOLOX session and its settings. One per worker thread.
pub struct ObjectDetector {
    session: Model,
    pub threshold: f32,
    /// Tiles over large images; `None` analyses the whole image only.
    pub tiling: Option<Tiling>,
    /// See [`CROSS_CLASS_IOU`]; above 1 turns the cross-class step off.
    pub cross_class_iou: f32,
}

impl ObjectDetector {
    pub fn new(rt: &Runtime, intra_threads: usize, threshold: f32) -> Result<Self, SetupError> {
        Ok(ObjectDetector {
            session: rt.session(ModelId::Yolox, intra_threads)?,
            threshold,
            tiling: Some(DEFAULT_TILING),
            cross_class_iou: CROSS_CLASS_IOU,
        })
    }

    /// Runs the model on a prepared tensor; objects in input pixels, before NMS.
    pub fn infer(&mut self, input: &Array4<f32>) -> Result<Vec<Object>, ImageError> {
        probe::input(ModelId::Yolox, input);
        let clock = probe::clock();
        let (ih, iw) = (input.shape()[2] as u32, input.shape()[3] as u32);
        let cells: u32 = STRIDES.iter().map(|s| (iw / s) * (ih / s)).sum();
        let dims = [Dim::Is(1), Dim::Is(cells as usize), Dim::Is(ROW)];
        let expected = [Expect {
            name: "output",
            dims: &dims,
        }];
        let threshold = self.threshold;
        let objects = self.session.run(input, &expected, |t| {
            Ok(decode(t[0].data, iw, ih, threshold))
        })?;
        clock.stop(Stage::ObjectInference);
        Ok(objects)
    }

    fn suppress(&self, objects: Vec<Object>) -> Vec<Object> {
        suppress_cross_class(nms_per_class(objects, NMS_IOU), self.cross_class_iou)
    }

    /// One pass of the model over `region` of `img`: objects after
    /// suppression, in image pixels, not clipped.
    pub fn detect_region(
        &mut self,
        img: &RgbImage,
        region: Region,
    ) -> Result<Vec<Object>, ImageError> {
        let (input, lb) = probe::time(Stage::ObjectPreprocess, || {
            if region == Region::whole(img.width(), img.height()) {
                preprocess(img)
            } else {
                let tile = image::imageops::crop_imm(img, region.x, region.y, region.w, region.h);
                preprocess(&tile.to_image())
            }
        });
        let raw = self.infer(&input)?;
        Ok(probe::time(Stage::ObjectPostprocess, || {
            self.suppress(raw)
                .into_iter()
                .map(|o| Object {
                    bbox: to_image(&o.bbox, &region, &lb),
                    ..o
                })
                .collect()
        }))
    }

    /// The tile passes over `img`: people only, in its pixels, without those
    /// cut off by a tile side or already found (by `whole` or another tile).
    fn detect_tiles(
        &mut self,
        img: &RgbImage,
        tiling: &Tiling,
        whole: &[Object],
    ) -> Result<Vec<Object>, ImageError> {
        let (w, h) = img.dimensions();
        let Some(first) = tiling.tiles(w, h).first().copied() else {
            return Ok(Vec::new());
        };
        // Tiles are cut from one copy of the image scaled so that a tile just
        // fills the input: one resize instead of one per tile, and no tile
        // copies at full resolution (400 MB each for a 20000 px image).
        let s = (INPUT as f32 / first.w.max(first.h) as f32).min(1.0);
        let work = probe::time(Stage::ObjectPreprocess, || {
            if s < 1.0 {
                let ww = ((w as f32 * s).round() as u32).max(1);
                let wh = ((h as f32 * s).round() as u32).max(1);
                Cow::Owned(resize(img, ww, wh))
            } else {
                Cow::Borrowed(img)
            }
        });
        let (ww, wh) = work.dimensions();
        let (fx, fy) = (w as f32 / ww as f32, h as f32 / wh as f32);
        let mut seen = Vec::new();
        for tile in tiling.grid(ww, wh) {
            let margin = tiling.margin(&tile);
            for o in self.detect_region(&work, tile)? {
                if o.class_id != PERSON || tile.cuts(&o.bbox, ww, wh, margin) {
                    continue;
                }
                let bbox = BBox {
                    x: o.bbox.x * fx,
                    y: o.bbox.y * fy,
                    w: o.bbox.w * fx,
                    h: o.bbox.h * fy,
                };
                seen.push(Object { bbox, ..o });
            }
        }
        // A person seen whole by one pass and only in part by another (a
        // torso, or a figure merged with someone in front) is one person.
        let clock = probe::clock();
        seen.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut people: Vec<BBox> = whole
            .iter()
            .filter(|p| p.class_id == PERSON)
            .map(|p| p.bbox)
            .collect();
        let mut found = Vec::new();
        for o in seen {
            if !people
                .iter()
                .any(|p| part_of(&o.bbox, p) || part_of(p, &o.bbox))
            {
                people.push(o.bbox);
                found.push(o);
            }
        }
        clock.stop(Stage::ObjectPostprocess);
        Ok(found)
    }

    /// Detects objects in an upright image; boxes in its pixels, clipped to
    /// it. A large image where the whole-image pass found people is also
    /// seen in tiles (see [`Tiling`]), which add people only: at the higher
    /// resolution other classes gained mostly false finds (hats read as
    /// frisbees) and fragments. A tile's person is dropped when cut off at
    /// an inner tile side (it is seen whole by a neighbouring tile or the
    /// whole-image pass), or when it and a person already found are one
    /// the part of the other.
    pub fn detect(&mut self, img: &RgbImage) -> Result<Vec<Object>, ImageError> {
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        let whole = self.detect_region(img, Region::whole(w, h))?;
        let mut found = whole.clone();
        let people = whole.iter().filter(|o| o.class_id == PERSON).count();
        if let Some(tiling) = self.tiling.filter(|t| people >= t.min_people) {
            found.extend(self.detect_tiles(img, &tiling, &whole)?);
        }
        Ok(probe::time(Stage::ObjectPostprocess, || {
            let clipped = found
                .into_iter()
                .map(|o| Object {
                    bbox: o.bbox.clip(w as f32, h as f32),
                    ..o
                })
                .filter(|o| o.bbox.area() > 0.0)
                .collect();
            self.suppress(clipped)
        }))
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
    fn the_middle_stride_and_corrupt_values_are_handled() {
        let mut out = empty_output();
        // Stride 16 starts after 52*52 = 2704 cells; cell 27 = row 1, col 1.
        set(&mut out, 2704 + 27, [0.25, 0.75, 0.0, 0.0], 1.0, 41, 0.6);
        // NaN scores and an exploding box size are skipped, not reported.
        set(&mut out, 5, [0.0; 4], f32::NAN, 2, 0.9);
        set(&mut out, 6, [0.0; 4], 0.9, 2, f32::NAN);
        set(&mut out, 7, [0.0, 0.0, 1000.0, 0.0], 0.9, 2, 0.9);
        let objs = decode(&out, 416, 416, 0.3);
        assert_eq!(objs.len(), 1, "{objs:?}");
        assert_eq!(objs[0].label, "cup");
        assert_eq!(objs[0].bbox, BBox::from_center(20.0, 28.0, 16.0, 16.0));
    }

    fn obj(class_id: usize, bbox: [f32; 4], score: f32) -> Object {
        Object {
            label: COCO_LABELS[class_id],
            class_id,
            score,
            bbox: BBox {
                x: bbox[0],
                y: bbox[1],
                w: bbox[2],
                h: bbox[3],
            },
        }
    }

    #[test]
    fn nms_is_class_aware() {
        let kept = nms_per_class(
            vec![
                obj(0, [0.0, 0.0, 10.0, 10.0], 0.9),
                obj(0, [1.0, 0.0, 10.0, 10.0], 0.8),
                obj(16, [0.0, 0.0, 10.0, 10.0], 0.7),
            ],
            NMS_IOU,
        );
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[1].label, "dog");
    }

    #[test]
    fn one_box_read_as_two_classes_is_reported_once() {
        // The samples' own cases: dog.jpg's dog also scored as a cat (IoU
        // 0.95), horses.jpg's grey horse also as a cow (IoU 0.96).
        let dog = obj(16, [133.0, 206.8, 192.2, 335.4], 0.83);
        let cat = obj(15, [131.2, 212.7, 190.8, 328.3], 0.38);
        // Two real objects of different classes overlap far less: coffee.png's
        // cup on its table (0.30), giraffe.jpg's zebra before the giraffe (0.35).
        let table = obj(60, [0.1, 0.3, 598.1, 397.8], 0.73);
        let cup = obj(41, [162.1, 15.5, 260.0, 277.2], 0.90);
        let kept = suppress(vec![cat, table.clone(), dog.clone(), cup.clone()]);
        assert_eq!(kept, vec![cup, dog, table]);
        // Turned off, both readings stay.
        let both = suppress_cross_class(
            vec![
                obj(16, [0.0, 0.0, 10.0, 10.0], 0.8),
                obj(15, [0.0, 0.0, 10.0, 10.0], 0.4),
            ],
            1.1,
        );
        assert_eq!(both.len(), 2);
    }

    fn b(x: f32, y: f32, w: f32, h: f32) -> BBox {
        BBox { x, y, w, h }
    }

    fn close(a: BBox, e: BBox) -> bool {
        [a.x - e.x, a.y - e.y, a.w - e.w, a.h - e.h]
            .iter()
            .all(|d| d.abs() < 1e-3)
    }

    /// The whole input area covered by the resized image maps onto the
    /// whole image, for any shape.
    fn maps_onto_the_image(w: u32, h: u32) -> BBox {
        let lb = Letterbox::fit(w, h, INPUT, INPUT);
        let input = b(0.0, 0.0, lb.resized_w as f32, lb.resized_h as f32);
        to_image(&input, &Region::whole(w, h), &lb)
    }

    #[test]
    fn letterbox_mapping_for_landscape_portrait_tiny_thin_and_huge_images() {
        for (w, h) in [
            (768, 576),
            (576, 768),
            (1, 1),
            (5, 300),
            (300, 5),
            (1, 20_000),
            (20_000, 100),
            (20_000, 20_000),
        ] {
            let got = maps_onto_the_image(w, h);
            assert!(
                close(got, b(0.0, 0.0, w as f32, h as f32)),
                "{w}x{h}: {got:?}"
            );
        }
        // Landscape 768x576 is scaled by 416/768: an input box maps back by 768/416.
        let lb = Letterbox::fit(768, 576, INPUT, INPUT);
        assert_eq!((lb.resized_w, lb.resized_h), (416, 312));
        let got = to_image(&b(52.0, 104.0, 104.0, 52.0), &Region::whole(768, 576), &lb);
        assert!(close(got, b(96.0, 192.0, 192.0, 96.0)), "{got:?}");
        // 5x300 is letterboxed to 7x416: across, 7 input pixels are 5 image
        // pixels, not 7 / (416/300) = 5.05.
        let lb = Letterbox::fit(5, 300, INPUT, INPUT);
        assert_eq!((lb.resized_w, lb.resized_h), (7, 416));
        let got = to_image(&b(3.5, 208.0, 3.5, 208.0), &Region::whole(5, 300), &lb);
        assert!(close(got, b(2.5, 150.0, 2.5, 150.0)), "{got:?}");
    }

    #[test]
    fn a_tile_maps_back_with_its_offset() {
        let tile = Region {
            x: 900,
            y: 100,
            w: 832,
            h: 624,
        };
        let lb = Letterbox::fit(832, 624, INPUT, INPUT);
        assert_eq!(lb.scale, 0.5);
        let got = to_image(&b(10.0, 20.0, 30.0, 40.0), &tile, &lb);
        assert!(close(got, b(920.0, 140.0, 60.0, 80.0)), "{got:?}");
    }

    #[test]
    fn coco_labels_are_in_standard_order() {
        assert_eq!(COCO_LABELS[0], "person");
        assert_eq!(COCO_LABELS[16], "dog");
        assert_eq!(COCO_LABELS[41], "cup");
        assert_eq!(COCO_LABELS[79], "toothbrush");
    }
}
