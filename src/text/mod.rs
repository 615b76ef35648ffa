//! Text in photos: PP-OCR detection, direction classification and
//! recognition, all in ONNX Runtime, plus a label for identifying kinds of
//! text (email, phone, ...).
//!
//! The flow for one image (see ARCHITECTURE.md, "Text"):
//! 1. detection on the image scaled so its longer side is at most
//!    [`DET_MAX_SIDE`] (sides rounded to multiples of 32), giving a text
//!    probability map, turned into rotated rectangles by [`db::regions`];
//! 2. each rectangle cropped upright to height 48 (lines taller than wide
//!    are turned a quarter, as PaddleOCR does);
//! 3. the 0/180 degree classifier on every crop; upside-down crops are
//!    turned before recognition;
//! 4. recognition on the crops only, in batches of similar widths, decoded
//!    by greedy CTC ([`ctc::greedy`]);
//! 5. lines below [`MIN_SCORE`] dropped, the rest in reading order.
//!
//! Recognised text is untrusted data: it is returned as is and never
//! interpreted; whoever shows it must escape it.

pub mod ctc;
pub mod db;
pub mod kind;

use crate::error::{ImageError, SetupError};
use crate::geometry::{round1, BBox};
use crate::manifest::ModelId;
use crate::preprocess::resize;
use crate::probe::{self, Stage};
use crate::runtime::{Dim, Expect, Model, Runtime};
use image::{imageops, Rgb, RgbImage};
use ndarray::Array4;

pub use crate::result::TextLine;
pub use db::{DbParams, Quad};
pub use kind::{classify, Kind};

/// Longer side of the detection input (never enlarged). On the samples 640
/// read as well and was faster (ARCHITECTURE.md, "Text"), but they are at
/// most 1000 px: 960 keeps 9 px print in photos of phone size readable.
pub const DET_MAX_SIDE: u32 = 960;
/// Height of the recogniser's input.
pub const REC_HEIGHT: u32 = 48;
/// Widest recognition crop, in pixels at height 48 (a line of about 70
/// characters); wider lines are squeezed rather than cut.
pub const REC_MAX_WIDTH: u32 = 1600;
/// Recognition (and direction) crops per batch, taken in order of width so
/// padding is small. Measured: batches of 6 were slower than one crop at a
/// time on one thread (ARCHITECTURE.md, "Text"), so batching is off.
pub const REC_BATCH: usize = 1;
/// Lines whose mean character probability is below this are dropped
/// (PaddleOCR's `drop_score`).
pub const MIN_SCORE: f32 = 0.5;
/// Input of the direction classifier: height 48, width up to 192.
const CLS_W: u32 = 192;
/// The classifier must be this sure before a crop is turned over.
const CLS_THRESHOLD: f32 = 0.9;

/// The three models and the dictionary file (`None`: the recogniser's
/// ONNX metadata key `character` holds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Models {
    pub det: ModelId,
    pub rec: ModelId,
    pub cls: ModelId,
    pub dict: Option<ModelId>,
}

/// The chosen set (ARCHITECTURE.md, "Text", has the comparison).
pub const MODELS: Models = Models {
    det: ModelId::TextDet,
    rec: ModelId::TextRec,
    cls: ModelId::TextCls,
    dict: Some(ModelId::TextDict),
};

/// The names of the models' outputs (the Paddle export's names).
const DET_OUTPUT: &str = "fetch_name_0";
const CLS_OUTPUT: &str = "softmax_0.tmp_0";
const REC_OUTPUT: &str = "fetch_name_0";

/// The text models and their settings. One per worker thread.
pub struct Reader {
    det: Model,
    rec: Model,
    cls: Model,
    dict: Vec<String>,
    /// Longer side of the detection input.
    pub det_max_side: u32,
    pub db: DbParams,
    /// Recognition crops per batch (1 turns batching off).
    pub rec_batch: usize,
    pub min_score: f32,
}

/// A crop ready for recognition, with the line's polygon in image pixels.
struct Crop {
    img: RgbImage,
    polygon: Quad,
}

impl Reader {
    /// Opens the chosen models with `intra_threads` ORT threads each.
    pub fn new(rt: &Runtime, intra_threads: usize) -> Result<Self, SetupError> {
        Self::with_models(rt, &MODELS, intra_threads)
    }

    /// Opens a given set of models (used to compare candidate sets).
    pub fn with_models(rt: &Runtime, m: &Models, intra_threads: usize) -> Result<Self, SetupError> {
        let det = rt.session(m.det, intra_threads)?;
        let rec = rt.session(m.rec, intra_threads)?;
        let cls = rt.session(m.cls, intra_threads)?;
        let rec_path = rt.model_path(m.rec)?;
        let chars = match m.dict {
            Some(name) => {
                let path = rt.model_path(name)?;
                std::fs::read_to_string(&path).map_err(|e| SetupError::Session {
                    path: path.clone(),
                    reason: format!("cannot read the dictionary: {e}"),
                })?
            }
            None => rec
                .metadata("character")
                .ok_or_else(|| SetupError::Session {
                    path: rec_path.clone(),
                    reason: "no `character` dictionary in the model metadata".into(),
                })?,
        };
        let dict: Vec<String> = chars.lines().map(str::to_owned).collect();
        let mut reader = Reader {
            det,
            rec,
            cls,
            dict,
            det_max_side: DET_MAX_SIDE,
            db: DbParams::default(),
            rec_batch: REC_BATCH,
            min_score: MIN_SCORE,
        };
        // A dictionary that does not match the model would decode to
        // nonsense without any error: check the class count once.
        let probe = Array4::<f32>::zeros((1, 3, REC_HEIGHT as usize, 64));
        let classes =
            reader
                .run_rec(&probe)
                .map(|(_, _, c, _)| c)
                .map_err(|e| SetupError::Session {
                    path: rec_path.clone(),
                    reason: e.to_string(),
                })?;
        if classes != reader.dict.len() + 2 {
            return Err(SetupError::Session {
                path: rec_path,
                reason: format!(
                    "the model has {classes} classes but its dictionary {} entries (expected blank + dictionary + space)",
                    reader.dict.len()
                ),
            });
        }
        Ok(reader)
    }

    /// Reads every line of text in `img`, in reading order.
    pub fn read(&mut self, img: &RgbImage) -> Result<Vec<TextLine>, ImageError> {
        let quads = self.detect(img)?;
        if quads.is_empty() {
            return Ok(Vec::new());
        }
        let mut crops: Vec<Crop> = probe::time(Stage::TextRecognise, || {
            quads.iter().map(|q| crop_line(img, q)).collect()
        });
        let turned = self.orient(&mut crops)?;
        let read = self.recognise(&crops)?;
        let clock = probe::clock();
        let mut lines: Vec<TextLine> = crops
            .into_iter()
            .zip(read)
            .filter(|(_, (text, score))| *score >= self.min_score && !text.trim().is_empty())
            .map(|(c, (text, score))| line(c.polygon, text, score))
            .collect();
        // Most lines upside down: the photo is, so read in the text's frame.
        reading_order(&mut lines, 2 * turned > quads.len());
        clock.stop(Stage::TextRecognise);
        probe::text_lines(lines.len());
        Ok(lines)
    }

    /// Text regions as quads in image pixels.
    pub fn detect(&mut self, img: &RgbImage) -> Result<Vec<Quad>, ImageError> {
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        let clock = probe::clock();
        let s = (self.det_max_side as f32 / w.max(h) as f32).min(1.0);
        let side = |v: u32| ((((v as f32 * s) / 32.0).round() as u32).max(1) * 32) as usize;
        let (dw, dh) = (side(w), side(h));
        let small = resize(img, dw as u32, dh as u32);
        let mut input = Array4::<f32>::zeros((1, 3, dh, dw));
        write_bgr(&small, &mut input, 0, 0);
        clock.stop(Stage::TextDetect);
        probe::input(self.det.id(), &input);
        let clock = probe::clock();
        let db_params = &self.db;
        let dims = det_dims(&input);
        let expected = [Expect::new(DET_OUTPUT, &dims)];
        let regions = self.det.run(&input, &expected, |t| {
            Ok(db::regions(t[0].data, dw, dh, db_params))
        })?;
        let (fx, fy) = (w as f32 / dw as f32, h as f32 / dh as f32);
        let (mx, my) = ((w - 1) as f32, (h - 1) as f32);
        let quads = regions
            .into_iter()
            .map(|(q, _)| q.map(|[x, y]| [(x * fx).clamp(0.0, mx), (y * fy).clamp(0.0, my)]))
            .collect();
        clock.stop(Stage::TextDetect);
        Ok(quads)
    }

    /// Turns upside-down crops (and their polygons) the right way up;
    /// returns how many it turned.
    fn orient(&mut self, crops: &mut [Crop]) -> Result<usize, ImageError> {
        let mut turned = 0;
        for chunk in crops.chunks_mut(self.rec_batch.max(1)) {
            let clock = probe::clock();
            let mut input =
                Array4::<f32>::zeros((chunk.len(), 3, REC_HEIGHT as usize, CLS_W as usize));
            for (i, c) in chunk.iter().enumerate() {
                let w = c.img.width().min(CLS_W);
                let fitted = resize(&c.img, w, REC_HEIGHT);
                write_bgr(&fitted, &mut input, i, 0);
            }
            clock.stop(Stage::TextRecognise);
            probe::input(self.cls.id(), &input);
            let clock = probe::clock();
            let dims = cls_dims(&input);
            let expected = [Expect::new(CLS_OUTPUT, &dims)];
            let p = self
                .cls
                .run(&input, &expected, |t| Ok(t[0].data.to_vec()))?;
            for (i, c) in chunk.iter_mut().enumerate() {
                // Classes: 0 and 180 degrees.
                if p[i * 2 + 1] > p[i * 2] && p[i * 2 + 1] >= CLS_THRESHOLD {
                    imageops::rotate180_in_place(&mut c.img);
                    let [a, b, cc, d] = c.polygon;
                    c.polygon = [cc, d, a, b];
                    turned += 1;
                }
            }
            clock.stop(Stage::TextRecognise);
        }
        Ok(turned)
    }

    /// Text and score of each crop, in the crops' order.
    fn recognise(&mut self, crops: &[Crop]) -> Result<Vec<(String, f32)>, ImageError> {
        let mut order: Vec<usize> = (0..crops.len()).collect();
        order.sort_by_key(|&i| crops[i].img.width());
        let mut out = vec![(String::new(), 0.0); crops.len()];
        for chunk in order.chunks(self.rec_batch.max(1)) {
            let clock = probe::clock();
            let width = chunk
                .iter()
                .map(|&i| crops[i].img.width())
                .max()
                .unwrap_or(1) as usize;
            // Padding is 0 after normalisation (mid grey), as in PaddleOCR.
            let mut input = Array4::<f32>::zeros((chunk.len(), 3, REC_HEIGHT as usize, width));
            for (b, &i) in chunk.iter().enumerate() {
                write_bgr(&crops[i].img, &mut input, b, 0);
            }
            clock.stop(Stage::TextRecognise);
            probe::input(self.rec.id(), &input);
            let clock = probe::clock();
            let (n, steps, classes, probs) = self.run_rec(&input)?;
            if n != chunk.len() {
                return Err(ImageError::Inference(format!(
                    "text recogniser returned {n} rows for {}",
                    chunk.len()
                )));
            }
            for (b, &i) in chunk.iter().enumerate() {
                let rows = &probs[b * steps * classes..(b + 1) * steps * classes];
                out[i] = ctc::greedy(rows, steps, classes, &self.dict);
            }
            clock.stop(Stage::TextRecognise);
        }
        Ok(out)
    }

    /// Runs one of the three models on a recorded input and reads its
    /// output: the inference-only work `onlooker bench` replays.
    pub fn replay(&mut self, id: ModelId, input: &Array4<f32>) -> Result<(), ImageError> {
        if id == self.det.id() {
            let dims = det_dims(input);
            self.det
                .run(input, &[Expect::new(DET_OUTPUT, &dims)], |_| Ok(()))
        } else if id == self.cls.id() {
            let dims = cls_dims(input);
            self.cls
                .run(input, &[Expect::new(CLS_OUTPUT, &dims)], |_| Ok(()))
        } else if id == self.rec.id() {
            self.run_rec(input).map(drop)
        } else {
            Ok(())
        }
    }

    /// The recogniser on a batch: (batch, steps, classes, probabilities).
    fn run_rec(
        &mut self,
        input: &Array4<f32>,
    ) -> Result<(usize, usize, usize, Vec<f32>), ImageError> {
        let dims = [Dim::Is(input.shape()[0]), Dim::Any, Dim::Any];
        let expected = [Expect::new(REC_OUTPUT, &dims)];
        self.rec.run(input, &expected, |t| {
            let [n, steps, classes] = [t[0].shape[0], t[0].shape[1], t[0].shape[2]];
            Ok((n, steps, classes, t[0].data.to_vec()))
        })
    }
}

/// The detector's probability map: one per input, one channel at the
/// input's size.
fn det_dims(input: &Array4<f32>) -> [Dim; 4] {
    let s = input.shape();
    [Dim::Is(s[0]), Dim::Is(1), Dim::Is(s[2]), Dim::Is(s[3])]
}

/// The direction classifier's probabilities of 0 and 180 degrees per crop.
fn cls_dims(input: &Array4<f32>) -> [Dim; 2] {
    [Dim::Is(input.shape()[0]), Dim::Is(2)]
}

/// Writes `img` into batch row `b` of `out` from column `x0`: BGR planes,
/// `(v / 255 - 0.5) / 0.5`.
fn write_bgr(img: &RgbImage, out: &mut Array4<f32>, b: usize, x0: usize) {
    let (w, h) = (out.shape()[3], out.shape()[2]);
    for (x, y, p) in img.enumerate_pixels() {
        let (x, y) = (x as usize + x0, y as usize);
        if x >= w || y >= h {
            continue;
        }
        for (c, k) in [2usize, 1, 0].into_iter().enumerate() {
            out[[b, c, y, x]] = p.0[k] as f32 / 127.5 - 1.0;
        }
    }
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// The line inside `q`, sampled upright at height 48 (bilinear). A region
/// at least 1.5 times taller than wide is a vertical line: it is turned a
/// quarter counter-clockwise, as PaddleOCR does, and the polygon with it.
fn crop_line(img: &RgbImage, q: &Quad) -> Crop {
    let mut q = *q;
    let w = dist(q[0], q[1]).max(dist(q[3], q[2]));
    let h = dist(q[0], q[3]).max(dist(q[1], q[2]));
    let (w, h) = if h >= 1.5 * w {
        q = [q[1], q[2], q[3], q[0]];
        (h, w)
    } else {
        (w, h)
    };
    let out_w = ((REC_HEIGHT as f32 * w / h.max(1.0)).round() as u32).clamp(8, REC_MAX_WIDTH);
    let [tl, tr, _, bl] = q;
    let (iw, ih) = img.dimensions();
    let crop = RgbImage::from_fn(out_w, REC_HEIGHT, |u, v| {
        let fu = (u as f32 + 0.5) / out_w as f32;
        let fv = (v as f32 + 0.5) / REC_HEIGHT as f32;
        let sx = tl[0] + fu * (tr[0] - tl[0]) + fv * (bl[0] - tl[0]) - 0.5;
        let sy = tl[1] + fu * (tr[1] - tl[1]) + fv * (bl[1] - tl[1]) - 0.5;
        bilinear(
            img,
            sx.clamp(0.0, (iw - 1) as f32),
            sy.clamp(0.0, (ih - 1) as f32),
        )
    });
    Crop {
        img: crop,
        polygon: q,
    }
}

fn bilinear(img: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (w, h) = img.dimensions();
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let (a, b, c, d) = (
        img.get_pixel(x0, y0),
        img.get_pixel(x1, y0),
        img.get_pixel(x0, y1),
        img.get_pixel(x1, y1),
    );
    Rgb(std::array::from_fn(|k| {
        let top = a.0[k] as f32 * (1.0 - fx) + b.0[k] as f32 * fx;
        let bot = c.0[k] as f32 * (1.0 - fx) + d.0[k] as f32 * fx;
        (top * (1.0 - fy) + bot * fy).round() as u8
    }))
}

fn line(polygon: Quad, text: String, score: f32) -> TextLine {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for [x, y] in polygon {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let kind = classify(&text);
    TextLine {
        text,
        score: (score * 1000.0).round() / 1000.0,
        bbox: BBox {
            x: round1(x0),
            y: round1(y0),
            w: round1(x1 - x0),
            h: round1(y1 - y0),
        },
        polygon: polygon.map(|p| p.map(round1)),
        kind,
    }
}

/// Sorts lines top to bottom, and left to right within a row: a line joins
/// the current row when its vertical centre is within half the smaller
/// height of the row's first line. `upside_down` sorts in the frame of an
/// image turned over (bottom to top, right to left).
pub fn reading_order(lines: &mut [TextLine], upside_down: bool) {
    let s = if upside_down { -1.0 } else { 1.0 };
    let cy = |l: &TextLine| s * (l.bbox.y + l.bbox.h / 2.0);
    let x = |l: &TextLine| s * (l.bbox.x + l.bbox.w / 2.0);
    lines.sort_by(|a, b| cy(a).total_cmp(&cy(b)));
    let mut start = 0;
    while start < lines.len() {
        let first = &lines[start];
        let end = start
            + lines[start..]
                .iter()
                .take_while(|l| (cy(l) - cy(first)).abs() < 0.5 * l.bbox.h.min(first.bbox.h))
                .count();
        lines[start..end].sort_by(|a, b| x(a).total_cmp(&x(b)));
        start = end.max(start + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f32, y: f32, w: f32, h: f32, text: &str) -> TextLine {
        line(
            [[x, y], [x + w, y], [x + w, y + h], [x, y + h]],
            text.into(),
            0.9,
        )
    }

    #[test]
    fn reading_order_is_rows_then_left_to_right() {
        let mut lines = vec![
            at(300.0, 104.0, 100.0, 20.0, "row2-right"),
            at(10.0, 12.0, 100.0, 20.0, "row1-left"),
            at(10.0, 100.0, 100.0, 20.0, "row2-left"),
            at(200.0, 8.0, 100.0, 20.0, "row1-right"),
            at(10.0, 200.0, 100.0, 20.0, "row3"),
        ];
        reading_order(&mut lines, false);
        let got: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            got,
            ["row1-left", "row1-right", "row2-left", "row2-right", "row3"]
        );
        reading_order(&mut lines, true);
        let got: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            got,
            ["row3", "row2-right", "row2-left", "row1-right", "row1-left"]
        );
    }

    #[test]
    fn a_tall_region_is_cropped_a_quarter_turn() {
        let img = RgbImage::from_pixel(50, 200, Rgb([200, 200, 200]));
        let c = crop_line(
            &img,
            &[[10.0, 10.0], [30.0, 10.0], [30.0, 190.0], [10.0, 190.0]],
        );
        assert_eq!(c.img.height(), REC_HEIGHT);
        assert_eq!(c.img.width(), (48.0f32 * 180.0 / 20.0).round() as u32);
        assert_eq!(c.polygon[0], [30.0, 10.0]);
    }

    #[test]
    fn a_line_serialises_with_box_polygon_and_kind() {
        let v = serde_json::to_value(at(1.04, 2.0, 30.0, 10.0, "a@b.org")).unwrap();
        assert_eq!(v["box"], serde_json::json!([1.0, 2.0, 30.0, 10.0]));
        assert_eq!(v["polygon"][2], serde_json::json!([31.0, 12.0]));
        assert_eq!(v["kind"], "email");
        let plain = serde_json::to_value(at(0.0, 0.0, 1.0, 1.0, "hello")).unwrap();
        assert!(plain.get("kind").is_none());
    }
}
