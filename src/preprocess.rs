//! Turning an upright RGB image into a model input tensor: resize, channel
//! order and normalisation, written straight into NCHW float memory.
//!
//! Resizing uses `fast_image_resize` (SIMD convolution, the same bilinear
//! "triangle" filter as before): measured on this machine it is an order of
//! magnitude faster than `image::imageops::resize`, and for a large photo the
//! resize used to cost as much as a model's inference (`benches/stages.rs`).

use std::borrow::Cow;

use fast_image_resize::images::{Image as FirImage, ImageRef as FirImageRef};
use fast_image_resize::{FilterType as FirFilter, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::imageops::{self, FilterType};
use image::{DynamicImage, RgbImage};
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

/// Resizes `img` to `w` x `h` with a bilinear (triangle) filter whose support
/// widens when shrinking, so every source pixel contributes. Kept in one
/// place so the resize method can be changed (and measured) for every model
/// at once.
pub fn resize(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    if img.dimensions() == (w, h) {
        return img.clone();
    }
    fast_resize(img, w, h).unwrap_or_else(|| imageops::resize(img, w, h, FilterType::Triangle))
}

/// Resizes the region `(x, y, width, height)` of `img` to `w` x `h`
/// without copying the region first (the tags classifier's centre crop of
/// a large photo). The filter reaches past the region's edges into the
/// pixels around it, as when the whole image is scaled and then cut.
pub fn resize_region(img: &RgbImage, region: (u32, u32, u32, u32), w: u32, h: u32) -> RgbImage {
    let (x, y, rw, rh) = region;
    fast_resize_in(img, Some(region), w, h).unwrap_or_else(|| {
        let part = imageops::crop_imm(img, x, y, rw, rh).to_image();
        imageops::resize(&part, w, h, FilterType::Triangle)
    })
}

/// `None` only if the buffers are inconsistent, which a valid `RgbImage`
/// never is; the caller then falls back to the portable resize.
fn fast_resize(img: &RgbImage, w: u32, h: u32) -> Option<RgbImage> {
    fast_resize_in(img, None, w, h)
}

/// [`fast_resize`] of a region of `img` (the whole image when `None`).
fn fast_resize_in(
    img: &RgbImage,
    region: Option<(u32, u32, u32, u32)>,
    w: u32,
    h: u32,
) -> Option<RgbImage> {
    let (sw, sh) = img.dimensions();
    if sw == 0 || sh == 0 || w == 0 || h == 0 {
        return None;
    }
    let src = FirImageRef::new(sw, sh, img.as_raw(), PixelType::U8x3).ok()?;
    let mut dst = FirImage::new(w, h, PixelType::U8x3);
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FirFilter::Bilinear));
    if let Some((x, y, rw, rh)) = region {
        let inside = rw > 0 && rh > 0 && x.checked_add(rw)? <= sw && y.checked_add(rh)? <= sh;
        if !inside {
            return None;
        }
        options = options.crop(x as f64, y as f64, rw as f64, rh as f64);
    }
    // A resizer per call: one kept per worker kept its scratch buffer (the
    // image after the first pass, 13 MB for a 12 MP photo at 1920 px) from
    // one photo to the next, where the models' activations could not use
    // it (ARCHITECTURE.md, "Memory").
    Resizer::new().resize(&src, &mut dst, &options).ok()?;
    RgbImage::from_raw(w, h, dst.into_vec())
}

/// Converts a decoded image to RGB8, the form every model input starts
/// from. Greyscale and RGBA, the common cases besides RGB, are expanded
/// directly: the generic conversion took 65 ms of CPU for the 6.5-megapixel
/// greyscale Solvay photo, twice as long as decoding it.
pub fn into_rgb8(img: DynamicImage) -> RgbImage {
    let (w, h) = (img.width(), img.height());
    let fast = match &img {
        DynamicImage::ImageLuma8(g) => expand::<1>(w, h, g.as_raw(), |s| [s[0]; 3]),
        DynamicImage::ImageLumaA8(g) => expand::<2>(w, h, g.as_raw(), |s| [s[0]; 3]),
        DynamicImage::ImageRgba8(g) => expand::<4>(w, h, g.as_raw(), |s| [s[0], s[1], s[2]]),
        _ => None,
    };
    match (fast, img) {
        (Some(rgb), _) => rgb,
        (None, DynamicImage::ImageRgb8(rgb)) => rgb,
        (None, other) => other.to_rgb8(),
    }
}

fn expand<const STEP: usize>(
    w: u32,
    h: u32,
    src: &[u8],
    f: impl Fn(&[u8; STEP]) -> [u8; 3],
) -> Option<RgbImage> {
    let n = w as usize * h as usize;
    let src = src.get(..n * STEP)?;
    let mut out = vec![0u8; n * 3];
    for (d, s) in out.chunks_exact_mut(3).zip(src.chunks_exact(STEP)) {
        let s: &[u8; STEP] = s.try_into().ok()?;
        d.copy_from_slice(&f(s));
    }
    RgbImage::from_raw(w, h, out)
}

/// `img` at `w` x `h`, borrowed when it already is that size.
fn resized(img: &RgbImage, w: u32, h: u32) -> Cow<'_, RgbImage> {
    if img.dimensions() == (w, h) {
        Cow::Borrowed(img)
    } else {
        Cow::Owned(resize(img, w, h))
    }
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
    let (w, h) = ((w as usize).min(tw), (h as usize).min(th));
    let stride = img.width() as usize * 3;
    let raw = img.as_raw();
    // One pass over the source pixels, writing the three planes together.
    let (p0, rest) = data.split_at_mut(plane);
    let (p1, p2) = rest.split_at_mut(plane);
    for y in 0..h {
        let row = &raw[y * stride..y * stride + w * 3];
        let o = y * tw;
        let (d0, d1, d2) = (&mut p0[o..o + w], &mut p1[o..o + w], &mut p2[o..o + w]);
        for (x, px) in row.chunks_exact(3).enumerate() {
            d0[x] = px[src_ch[0]] as f32 * mul[0] + add[0];
            d1[x] = px[src_ch[1]] as f32 * mul[1] + add[1];
            d2[x] = px[src_ch[2]] as f32 * mul[2] + add[2];
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
    let resized = resized(img, lb.resized_w, lb.resized_h);
    let (tw, th) = (target_w as usize, target_h as usize);
    let (rw, rh) = (lb.resized_w as usize, lb.resized_h as usize);
    // Zeroed memory is free from the allocator; only the padding is written
    // (when the pad value is not zero), then the pixels.
    let mut t = Array4::<f32>::zeros((1, 3, th, tw));
    for c in 0..3 {
        // Output channel c holds source channel s (RGB order for `norm`).
        let s = match order {
            ChannelOrder::Rgb => c,
            ChannelOrder::Bgr => 2 - c,
        };
        let v = (pad * norm.scale - norm.mean[s]) / norm.std[s];
        if v == 0.0 {
            continue;
        }
        let mut plane = t.index_axis_mut(ndarray::Axis(1), c);
        plane.slice_mut(ndarray::s![0, 0..rh, rw..]).fill(v);
        plane.slice_mut(ndarray::s![0, rh.., ..]).fill(v);
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
    fn fast_rgb_conversion_matches_the_generic_one() {
        let mut luma = image::GrayImage::new(5, 3);
        let mut rgba = image::RgbaImage::new(5, 3);
        let mut la = image::GrayAlphaImage::new(5, 3);
        for (i, p) in luma.pixels_mut().enumerate() {
            p.0 = [(i * 17) as u8];
        }
        for (i, p) in rgba.pixels_mut().enumerate() {
            p.0 = [i as u8, (i * 3) as u8, (i * 7) as u8, (i * 11) as u8];
        }
        for (i, p) in la.pixels_mut().enumerate() {
            p.0 = [(i * 13) as u8, 7];
        }
        let rgb16 = image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(
            2,
            2,
            image::Rgb([65535, 0, 32768]),
        );
        for img in [
            DynamicImage::ImageLuma8(luma),
            DynamicImage::ImageRgba8(rgba),
            DynamicImage::ImageLumaA8(la),
            DynamicImage::ImageRgb16(rgb16),
            DynamicImage::ImageRgb8(RgbImage::from_pixel(3, 2, image::Rgb([1, 2, 3]))),
        ] {
            assert_eq!(into_rgb8(img.clone()), img.to_rgb8());
        }
    }

    #[test]
    fn fast_resize_matches_the_portable_filter_closely() {
        // A smooth gradient: both bilinear filters must agree to within a
        // couple of levels; a wrong scale or offset would not.
        let img = RgbImage::from_fn(300, 200, |x, y| {
            image::Rgb([
                (x * 255 / 299) as u8,
                (y * 255 / 199) as u8,
                ((x + y) / 2) as u8,
            ])
        });
        let fast = resize(&img, 97, 61);
        let slow = imageops::resize(&img, 97, 61, FilterType::Triangle);
        assert_eq!(fast.dimensions(), (97, 61));
        let worst = fast
            .as_raw()
            .iter()
            .zip(slow.as_raw())
            .map(|(a, b)| (*a as i32 - *b as i32).abs())
            .max()
            .unwrap();
        assert!(worst <= 2, "largest difference {worst}");
    }

    #[test]
    fn a_region_resizes_as_its_copy_would() {
        // Smooth, so the pixels just outside a region (which the filter
        // reaches) differ little from those inside.
        let img = RgbImage::from_fn(300, 200, |x, y| {
            image::Rgb([
                (x * 255 / 299) as u8,
                (y * 255 / 199) as u8,
                ((x + y) / 2) as u8,
            ])
        });
        for (region, w, h) in [((40, 10, 180, 180), 90, 90), ((0, 0, 50, 60), 50, 60)] {
            let (x, y, rw, rh) = region;
            let copy = imageops::crop_imm(&img, x, y, rw, rh).to_image();
            let direct = resize_region(&img, region, w, h);
            let via_copy = resize(&copy, w, h);
            assert_eq!(direct.dimensions(), (w, h));
            let worst = direct
                .as_raw()
                .iter()
                .zip(via_copy.as_raw())
                .map(|(a, b)| (*a as i32 - *b as i32).abs())
                .max()
                .unwrap();
            assert!(worst <= 2, "{region:?}: largest difference {worst}");
        }
        // A region outside the image falls back rather than panicking.
        assert_eq!(
            resize_region(&img, (290, 0, 5, 5), 3, 3).dimensions(),
            (3, 3)
        );
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
