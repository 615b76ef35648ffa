//! Decoding untrusted image files: size limits before any pixel is
//! allocated, and EXIF orientation applied so every later stage sees the
//! photo upright, as a person would.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

use crate::error::ImageError;

/// Decoding limits. The defaults accept any real camera photo (up to
/// 200 megapixels) and refuse decompression bombs before allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    pub max_width: u32,
    pub max_height: u32,
    pub max_alloc_bytes: u64,
    /// Files larger than this are not read at all.
    pub max_file_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_width: 20_000,
            max_height: 20_000,
            max_alloc_bytes: 1 << 30,
            max_file_bytes: 256 << 20,
        }
    }
}

/// A decoded, upright image and the original file bytes (kept for the
/// metadata reader, so each file is read once).
pub struct LoadedImage {
    pub rgb: RgbImage,
    pub format: ImageFormat,
    /// EXIF orientation (1..=8) found in the file, 1 when none.
    pub exif_orientation: u8,
    pub bytes: Vec<u8>,
}

pub fn read_file(path: &Path, limits: &DecodeLimits) -> Result<Vec<u8>, ImageError> {
    let meta = std::fs::metadata(path).map_err(ImageError::Read)?;
    if meta.len() > limits.max_file_bytes {
        return Err(ImageError::Decode(format!(
            "file is {} MiB, over the {} MiB limit",
            meta.len() >> 20,
            limits.max_file_bytes >> 20
        )));
    }
    let bytes = std::fs::read(path).map_err(ImageError::Read)?;
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    Ok(bytes)
}

/// Reads and decodes one file.
pub fn load(path: &Path, limits: &DecodeLimits) -> Result<LoadedImage, ImageError> {
    let bytes = read_file(path, limits)?;
    decode(bytes, limits)
}

/// Decodes an in-memory file: format sniffed from content (not the file
/// name), limits enforced, orientation applied, converted to RGB8.
pub fn decode(bytes: Vec<u8>, limits: &DecodeLimits) -> Result<LoadedImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    let format = image::guess_format(&bytes).map_err(|_| ImageError::UnsupportedFormat)?;
    let mut reader = ImageReader::new(Cursor::new(bytes.as_slice()));
    reader.set_format(format);
    // Width and height are checked by hand once the header is read, so the
    // error can say how large the image claims to be; the allocation limit
    // is left to the decoders.
    let mut lim = image::Limits::default();
    lim.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(lim);

    let mut decoder = reader.into_decoder().map_err(|e| map_err(e, limits))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ImageError::Decode("image has no pixels".into()));
    }
    if width > limits.max_width || height > limits.max_height {
        return Err(ImageError::TooLarge {
            width,
            height,
            max_width: limits.max_width,
            max_height: limits.max_height,
        });
    }
    // A broken EXIF block must not stop pixel analysis: fall back to upright.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| map_err(e, limits))?;
    img.apply_orientation(orientation);
    let rgb = crate::preprocess::into_rgb8(img);
    Ok(LoadedImage {
        rgb,
        format,
        exif_orientation: orientation_code(orientation),
        bytes,
    })
}

fn orientation_code(o: image::metadata::Orientation) -> u8 {
    use image::metadata::Orientation::*;
    match o {
        NoTransforms => 1,
        FlipHorizontal => 2,
        Rotate180 => 3,
        FlipVertical => 4,
        Rotate90FlipH => 5,
        Rotate90 => 6,
        Rotate270FlipH => 7,
        Rotate270 => 8,
    }
}

fn map_err(e: image::ImageError, limits: &DecodeLimits) -> ImageError {
    match e {
        image::ImageError::Limits(l) => match l.kind() {
            image::error::LimitErrorKind::DimensionError => ImageError::TooLarge {
                width: 0,
                height: 0,
                max_width: limits.max_width,
                max_height: limits.max_height,
            },
            _ => ImageError::TooMuchMemory {
                limit_mib: limits.max_alloc_bytes >> 20,
            },
        },
        image::ImageError::Unsupported(u) => ImageError::Decode(format!("unsupported: {u}")),
        image::ImageError::IoError(io) => {
            ImageError::Decode(format!("truncated or unreadable: {io}"))
        }
        other => ImageError::Decode(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn decodes_png_from_bytes() {
        let img = decode(png_bytes(7, 5), &DecodeLimits::default()).unwrap();
        assert_eq!(img.rgb.dimensions(), (7, 5));
        assert_eq!(img.exif_orientation, 1);
        assert_eq!(img.rgb.get_pixel(3, 3).0, [10, 20, 30]);
    }

    #[test]
    fn refuses_images_over_the_dimension_limit() {
        let limits = DecodeLimits {
            max_width: 4,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            decode(png_bytes(7, 5), &limits),
            Err(ImageError::TooLarge { width: 7, .. })
        ));
    }

    #[test]
    fn rejects_empty_and_unknown_bytes() {
        let l = DecodeLimits::default();
        assert!(matches!(decode(vec![], &l), Err(ImageError::Empty)));
        assert!(matches!(
            decode(b"hello, not an image".to_vec(), &l),
            Err(ImageError::UnsupportedFormat)
        ));
        let mut truncated = png_bytes(64, 64);
        truncated.truncate(60);
        assert!(matches!(decode(truncated, &l), Err(ImageError::Decode(_))));
    }
}
