//! Face thumbnails: a square crop around a face box with some margin,
//! scaled to a small fixed size, encoded as JPEG. Used for the People
//! contact sheet of the report and for `find`'s side-by-side page.

use image::RgbImage;

use crate::geometry::BBox;

/// Side of a thumbnail, pixels (shown at half that on the page, sharp on
/// high-density screens).
pub const SIDE: u32 = 160;

/// A square of `SIDE` pixels around `bbox` (the box's longer side plus a
/// quarter on each side, so hair and chin show), clipped to the image;
/// `None` when the box misses the image.
pub fn crop(rgb: &RgbImage, bbox: &BBox) -> Option<RgbImage> {
    let (w, h) = (rgb.width() as f32, rgb.height() as f32);
    let side = bbox.w.max(bbox.h) * 1.5;
    let (cx, cy) = (bbox.x + bbox.w / 2.0, bbox.y + bbox.h / 2.0);
    let x0 = (cx - side / 2.0).clamp(0.0, w);
    let y0 = (cy - side / 2.0).clamp(0.0, h);
    let x1 = (cx + side / 2.0).clamp(0.0, w);
    let y1 = (cy + side / 2.0).clamp(0.0, h);
    let (cw, ch) = ((x1 - x0).round() as u32, (y1 - y0).round() as u32);
    if !(cw > 0 && ch > 0 && x0.is_finite() && y0.is_finite()) {
        return None;
    }
    let part = image::imageops::crop_imm(rgb, x0 as u32, y0 as u32, cw, ch).to_image();
    // Clipped at an edge the crop is not square: keep its aspect.
    let scale = SIDE as f32 / cw.max(ch) as f32;
    let tw = ((cw as f32 * scale).round() as u32).max(1);
    let th = ((ch as f32 * scale).round() as u32).max(1);
    Some(crate::preprocess::resize(&part, tw, th))
}

/// [`crop`], encoded as JPEG.
pub fn jpeg(rgb: &RgbImage, bbox: &BBox) -> Result<Vec<u8>, String> {
    let c = crop(rgb, bbox).ok_or_else(|| "the face box lies outside the image".to_string())?;
    super::annotate::encode_jpeg(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_are_at_most_side_and_boxes_outside_are_refused() {
        let img = RgbImage::from_pixel(400, 300, image::Rgb([9, 9, 9]));
        let b = BBox {
            x: 100.0,
            y: 100.0,
            w: 50.0,
            h: 60.0,
        };
        let c = crop(&img, &b).unwrap();
        assert_eq!(c.dimensions(), (SIDE, SIDE));
        // At the corner the crop is clipped, aspect kept.
        let corner = BBox {
            x: 0.0,
            y: 0.0,
            ..b
        };
        let c = crop(&img, &corner).unwrap();
        assert_eq!(c.width().max(c.height()), SIDE);
        assert!(c.width() < SIDE || c.height() < SIDE);
        let outside = BBox { x: 1000.0, ..b };
        assert!(crop(&img, &outside).is_none());
        assert!(jpeg(&img, &b).unwrap().starts_with(&[0xFF, 0xD8]));
    }
}
