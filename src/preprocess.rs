//! Turning an upright RGB image into a model input tensor: resize, channel
//! order and normalisation, written straight into NCHW float memory.

use image::imageops::{self, FilterType};
use image::RgbImage;
use ndarray::Array4;

use crate::geometry::Letterbox;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

/// Per-channel `x = (v * scale - mean) / std`, channels in RGB order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalize {
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Normalize {
    /// Raw 0..255 values, as YuNet and YOLOX expect.
    pub const RAW: Normalize = Normalize {
        scale: 1.0,
        mean: [0.0; 3],
        std: [1.0; 3],
    };
}

/// Resizes `img` to `w` x `h`. Kept in one place so the resize method can be
/// changed (and measured) for every model at once.
pub fn resize(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    if img.dimensions() == (w, h) {
        return img.clone();
    }
    imageops::resize(img, w, h, FilterType::Triangle)
}

/// Writes `img` into `out` (shape [1, 3, H, W]) at the top-left, applying the
/// channel order and normalisation; the rest of `out` is left as it is.
pub fn write_nchw(img: &RgbImage, out: &mut Array4<f32>, order: ChannelOrder, norm: &Normalize) {
    let (w, h) = img.dimensions();
    let (tw, th) = (out.shape()[3], out.shape()[2]);
    let plane = tw * th;
    let data = out
        .as_slice_mut()
        .expect("tensor is created in standard layout");
    let src_ch = match order {
        ChannelOrder::Rgb => [0, 1, 2],
        ChannelOrder::Bgr => [2, 1, 0],
    };
    let mul: [f32; 3] = std::array::from_fn(|c| norm.scale / norm.std[src_ch[c]]);
    let add: [f32; 3] = std::array::from_fn(|c| -norm.mean[src_ch[c]] / norm.std[src_ch[c]]);
    let raw = img.as_raw();
    for y in 0..(h as usize).min(th) {
        let row = &raw[y * w as usize * 3..(y + 1) * w as usize * 3];
        for c in 0..3 {
            let dst = &mut data[c * plane + y * tw..c * plane + y * tw + (w as usize).min(tw)];
            let s = src_ch[c];
            for (x, d) in dst.iter_mut().enumerate() {
                *d = row[x * 3 + s] as f32 * mul[c] + add[c];
            }
        }
    }
}

/// Letterboxes `img` into a `[1, 3, target_h, target_w]` tensor: scaled to
/// fit, pasted top-left, padded with `pad` (a raw pixel value, normalised like
/// the pixels).
pub fn letterbox_tensor(
    img: &RgbImage,
    target_w: u32,
    target_h: u32,
    pad: f32,
    order: ChannelOrder,
    norm: &Normalize,
) -> (Array4<f32>, Letterbox) {
    let (w, h) = img.dimensions();
    let lb = Letterbox::fit(w, h, target_w, target_h);
    let resized = resize(img, lb.resized_w, lb.resized_h);
    let mut t = Array4::<f32>::zeros((1, 3, target_h as usize, target_w as usize));
    for c in 0..3 {
        let v = (pad * norm.scale - norm.mean[c]) / norm.std[c];
        t.index_axis_mut(ndarray::Axis(1), c).fill(v);
    }
    write_nchw(&resized, &mut t, order, norm);
    (t, lb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bgr_raw_letterbox_places_pixels_and_padding() {
        let img = RgbImage::from_pixel(4, 2, image::Rgb([10, 20, 30]));
        let (t, lb) = letterbox_tensor(&img, 8, 8, 114.0, ChannelOrder::Bgr, &Normalize::RAW);
        assert_eq!(lb.scale, 2.0);
        assert_eq!(t.shape(), &[1, 3, 8, 8]);
        // BGR: channel 0 holds blue.
        assert_eq!(t[[0, 0, 0, 0]], 30.0);
        assert_eq!(t[[0, 2, 3, 7]], 10.0);
        // Below the 8x4 resized image: padding.
        assert_eq!(t[[0, 1, 4, 0]], 114.0);
    }

    #[test]
    fn rgb_normalisation_is_applied_per_channel() {
        let img = RgbImage::from_pixel(2, 2, image::Rgb([255, 0, 128]));
        let norm = Normalize {
            scale: 1.0 / 255.0,
            mean: [0.5, 0.5, 0.5],
            std: [0.5, 0.5, 0.5],
        };
        let mut t = Array4::<f32>::zeros((1, 3, 2, 2));
        write_nchw(&img, &mut t, ChannelOrder::Rgb, &norm);
        assert!((t[[0, 0, 1, 1]] - 1.0).abs() < 1e-6);
        assert!((t[[0, 1, 0, 0]] + 1.0).abs() < 1e-6);
        assert!((t[[0, 2, 0, 1]] - (128.0 / 255.0 - 0.5) / 0.5).abs() < 1e-6);
    }
}
