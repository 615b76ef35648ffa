//! Boxes, overlap, non-maximum suppression and the letterbox mapping shared
//! by the detectors.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An axis-aligned box in pixels of the upright image. Serialised as
/// `[x, y, width, height]`, the form used everywhere in the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl schemars::JsonSchema for BBox {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BBox".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "[x, y, width, height] in upright image pixels",
            "type": "array",
            "items": {"type": "number"},
            "minItems": 4,
            "maxItems": 4
        })
    }
}

impl Serialize for BBox {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [
            round1(self.x),
            round1(self.y),
            round1(self.w),
            round1(self.h),
        ]
        .serialize(s)
    }
}

/// From `[x, y, width, height]`: results come back from the workshop
/// page (`serve`) for the batch findings.
impl<'de> Deserialize<'de> for BBox {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let [x, y, w, h] = <[f32; 4]>::deserialize(d)?;
        Ok(BBox { x, y, w, h })
    }
}

/// One decimal place is finer than any detector's precision and keeps the
/// JSON readable.
pub fn round1(v: f32) -> f32 {
    (v * 10.0).round() / 10.0
}

impl BBox {
    /// The box in an image scaled by `s` (both axes).
    pub fn scaled(self, s: f32) -> BBox {
        BBox {
            x: self.x * s,
            y: self.y * s,
            w: self.w * s,
            h: self.h * s,
        }
    }

    pub fn from_center(cx: f32, cy: f32, w: f32, h: f32) -> Self {
        BBox {
            x: cx - w / 2.0,
            y: cy - h / 2.0,
            w,
            h,
        }
    }

    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    pub fn right(&self) -> f32 {
        self.x + self.w
    }

    pub fn bottom(&self) -> f32 {
        self.y + self.h
    }

    pub fn intersection(&self, o: &BBox) -> f32 {
        let w = self.right().min(o.right()) - self.x.max(o.x);
        let h = self.bottom().min(o.bottom()) - self.y.max(o.y);
        if w <= 0.0 || h <= 0.0 {
            0.0
        } else {
            w * h
        }
    }

    pub fn iou(&self, o: &BBox) -> f32 {
        let inter = self.intersection(o);
        let union = self.area() + o.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }

    /// Clips the box to an image of `width` x `height`.
    pub fn clip(&self, width: f32, height: f32) -> BBox {
        let x0 = self.x.clamp(0.0, width);
        let y0 = self.y.clamp(0.0, height);
        let x1 = self.right().clamp(0.0, width);
        let y1 = self.bottom().clamp(0.0, height);
        BBox {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        }
    }

    pub fn scale(&self, s: f32) -> BBox {
        BBox {
            x: self.x * s,
            y: self.y * s,
            w: self.w * s,
            h: self.h * s,
        }
    }

    pub fn translate(&self, dx: f32, dy: f32) -> BBox {
        BBox {
            x: self.x + dx,
            y: self.y + dy,
            ..*self
        }
    }
}

/// Greedy non-maximum suppression: returns the indices of the kept items,
/// best score first. An item is dropped when it overlaps a kept one by more
/// than `iou_threshold`.
pub fn nms(boxes: &[BBox], scores: &[f32], iou_threshold: f32) -> Vec<usize> {
    debug_assert_eq!(boxes.len(), scores.len());
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut keep: Vec<usize> = Vec::new();
    for i in order {
        if keep
            .iter()
            .all(|&k| boxes[k].iou(&boxes[i]) <= iou_threshold)
        {
            keep.push(i);
        }
    }
    keep
}

/// How an image was fitted into a model input: scaled by `scale` and pasted
/// at the top-left, the rest padded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub scale: f32,
    /// Size of the scaled image inside the input.
    pub resized_w: u32,
    pub resized_h: u32,
}

impl Letterbox {
    /// Fits `w` x `h` into `target_w` x `target_h` keeping the aspect ratio.
    pub fn fit(w: u32, h: u32, target_w: u32, target_h: u32) -> Self {
        let scale = (target_w as f32 / w as f32).min(target_h as f32 / h as f32);
        let resized_w = ((w as f32 * scale).round() as u32).clamp(1, target_w);
        let resized_h = ((h as f32 * scale).round() as u32).clamp(1, target_h);
        Letterbox {
            scale,
            resized_w,
            resized_h,
        }
    }

    /// Maps a box from model-input pixels back to image pixels.
    pub fn unmap(&self, b: &BBox) -> BBox {
        b.scale(1.0 / self.scale)
    }

    pub fn unmap_point(&self, x: f32, y: f32) -> (f32, f32) {
        (x / self.scale, y / self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: f32, y: f32, w: f32, h: f32) -> BBox {
        BBox { x, y, w, h }
    }

    #[test]
    fn iou_of_identical_disjoint_and_half_overlapping_boxes() {
        assert_eq!(b(0., 0., 10., 10.).iou(&b(0., 0., 10., 10.)), 1.0);
        assert_eq!(b(0., 0., 10., 10.).iou(&b(20., 20., 5., 5.)), 0.0);
        // 50 shared of 150 in union
        let v = b(0., 0., 10., 10.).iou(&b(5., 0., 10., 10.));
        assert!((v - 1.0 / 3.0).abs() < 1e-6, "{v}");
    }

    #[test]
    fn nms_keeps_best_of_overlapping_and_all_disjoint() {
        let boxes = [
            b(0., 0., 10., 10.),
            b(1., 1., 10., 10.),
            b(50., 50., 10., 10.),
            b(0.5, 0., 10., 10.),
        ];
        let scores = [0.8, 0.9, 0.5, 0.7];
        assert_eq!(nms(&boxes, &scores, 0.3), vec![1, 2]);
        // With a permissive threshold nothing is suppressed.
        assert_eq!(nms(&boxes, &scores, 0.99).len(), 4);
        assert!(nms(&[], &[], 0.5).is_empty());
    }

    #[test]
    fn letterbox_maps_portrait_and_landscape_back() {
        let lb = Letterbox::fit(1000, 500, 640, 640);
        assert_eq!((lb.resized_w, lb.resized_h), (640, 320));
        let back = lb.unmap(&b(64., 32., 64., 64.));
        assert_eq!(back, b(100., 50., 100., 100.));

        let lb = Letterbox::fit(300, 1200, 416, 416);
        assert_eq!((lb.resized_w, lb.resized_h), (104, 416));
        assert_eq!(lb.unmap_point(104., 416.), (300., 1200.));

        // A tiny image is scaled up, not left tiny.
        let lb = Letterbox::fit(10, 5, 416, 416);
        assert_eq!((lb.resized_w, lb.resized_h), (416, 208));
    }

    #[test]
    fn clip_keeps_boxes_inside_the_image() {
        assert_eq!(b(-5., -5., 20., 20.).clip(10., 12.), b(0., 0., 10., 12.));
        assert_eq!(b(2., 3., 4., 5.).clip(10., 10.), b(2., 3., 4., 5.));
    }
}
