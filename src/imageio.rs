//! Decoding untrusted image files: size limits before any pixel is
//! allocated, and EXIF orientation applied so every later stage sees the
//! photo upright, as a person would.

use std::io::{Cursor, Read};
use std::path::Path;

use image::metadata::Orientation;
use image::{ColorType, DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

use crate::error::ImageError;

/// Decoding limits. The defaults accept real camera photos (a 100-megapixel
/// JPEG turned upright needs about 600 MiB) and refuse decompression bombs
/// from their header, before any pixel is allocated. Each worker thread
/// decodes one image at a time, so the peak for a batch is about
/// `threads x max_alloc_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    pub max_width: u32,
    pub max_height: u32,
    /// Most memory one image may take: the decoder's output buffer plus the
    /// RGB8 conversion and the rotated copy, whichever peak is higher.
    pub max_alloc_bytes: u64,
    /// Files larger than this are not read at all.
    pub max_file_bytes: u64,
}

pub const DEFAULT_MAX_SIDE: u32 = 20_000;
pub const DEFAULT_MAX_ALLOC_MIB: u64 = 1024;
pub const DEFAULT_MAX_FILE_MIB: u64 = 256;

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_width: DEFAULT_MAX_SIDE,
            max_height: DEFAULT_MAX_SIDE,
            max_alloc_bytes: DEFAULT_MAX_ALLOC_MIB << 20,
            max_file_bytes: DEFAULT_MAX_FILE_MIB << 20,
        }
    }
}

impl DecodeLimits {
    /// The limits as the command line states them: one side limit, MiB.
    pub fn new(max_side: u32, max_alloc_mib: u64, max_file_mib: u64) -> Self {
        DecodeLimits {
            max_width: max_side,
            max_height: max_side,
            max_alloc_bytes: max_alloc_mib.saturating_mul(1 << 20),
            max_file_bytes: max_file_mib.saturating_mul(1 << 20),
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

/// Reads one file whole, refusing anything that is not a regular file (a
/// named pipe in a photo folder would block the batch forever, a device
/// such as /dev/zero never ends) and anything over the size limit, which is
/// enforced on the bytes read, not only on the size the file system states.
pub fn read_file(path: &Path, limits: &DecodeLimits) -> Result<Vec<u8>, ImageError> {
    let meta = std::fs::metadata(path).map_err(ImageError::Read)?;
    check_regular(&meta)?;
    let too_big = |size_bytes: u64| ImageError::FileTooBig {
        size_bytes,
        limit_mib: limits.max_file_bytes >> 20,
    };
    if meta.len() > limits.max_file_bytes {
        return Err(too_big(meta.len()));
    }
    let file = std::fs::File::open(path).map_err(ImageError::Read)?;
    // The file may have been swapped between the two looks.
    check_regular(&file.metadata().map_err(ImageError::Read)?)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limits.max_file_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ImageError::Read)?;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(too_big(bytes.len() as u64));
    }
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    Ok(bytes)
}

fn check_regular(meta: &std::fs::Metadata) -> Result<(), ImageError> {
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(());
    }
    let kind = if ft.is_dir() {
        "a folder"
    } else {
        special_kind(&ft)
    };
    Err(ImageError::NotAFile { kind })
}

#[cfg(unix)]
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a named pipe"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

/// Reads and decodes one file.
pub fn load(path: &Path, limits: &DecodeLimits) -> Result<LoadedImage, ImageError> {
    let bytes = read_file(path, limits)?;
    decode(bytes, limits)
}

/// Decodes an in-memory file: format sniffed from content (not the file
/// name), limits enforced, orientation applied, converted to RGB8.
///
/// A panic inside a third-party decoder is caught and reported as this
/// file's error, so one hostile file cannot end a batch of thousands (the
/// panic message is still printed, and the fuzz target still sees it).
pub fn decode(bytes: Vec<u8>, limits: &DecodeLimits) -> Result<LoadedImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    let format = image::guess_format(&bytes).map_err(|_| ImageError::UnsupportedFormat)?;
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_pixels(&bytes, format, limits)
    }));
    let (rgb, orientation) = match decoded {
        Ok(r) => r?,
        Err(_) => {
            return Err(ImageError::Decode(
                "the decoder failed on this file (an internal error, please report it)".into(),
            ))
        }
    };
    Ok(LoadedImage {
        rgb,
        format,
        exif_orientation: orientation_code(orientation),
        bytes,
    })
}

fn decode_pixels(
    bytes: &[u8],
    format: ImageFormat,
    limits: &DecodeLimits,
) -> Result<(RgbImage, Orientation), ImageError> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format);
    // Width and height are checked by hand once the header is read, so the
    // error can say how large the image claims to be. The allocation limit
    // already bounds what the decoder may allocate while reading headers.
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
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);

    // `DynamicImage::from_decoder` does not check the output buffer against
    // `Limits::max_alloc` (only `ImageReader::decode` does, and it cannot
    // apply the orientation), so the whole peak is checked here, from the
    // header alone: a 20000x20000 PNG of zeros is a few hundred KiB on disk.
    // Saturating: the side limit can be raised to u32::MAX.
    let native = decoder.total_bytes();
    let rgb = (u64::from(width) * u64::from(height)).saturating_mul(3);
    let convert = if decoder.color_type() == ColorType::Rgb8 {
        0
    } else {
        rgb
    };
    let rotate = if swaps_sides(orientation) { rgb } else { 0 };
    let peak = native
        .saturating_add(convert)
        .max(rgb.saturating_add(rotate));
    if peak > limits.max_alloc_bytes {
        return Err(ImageError::TooMuchMemory {
            needed_mib: Some(peak.div_ceil(1 << 20)),
            limit_mib: limits.max_alloc_bytes >> 20,
        });
    }
    let mut lim = image::Limits::default();
    lim.max_image_width = Some(limits.max_width);
    lim.max_image_height = Some(limits.max_height);
    lim.max_alloc = Some(limits.max_alloc_bytes - native);
    decoder.set_limits(lim).map_err(|e| map_err(e, limits))?;

    let img = DynamicImage::from_decoder(decoder).map_err(|e| map_err(e, limits))?;
    // Converting first and rotating second keeps at most two full-size
    // buffers alive at once.
    let mut img = DynamicImage::ImageRgb8(crate::preprocess::into_rgb8(img));
    img.apply_orientation(orientation);
    Ok((img.into_rgb8(), orientation))
}

/// Orientations 5 to 8 turn the image a quarter: width and height swap and
/// the pixels are copied into a new buffer.
fn swaps_sides(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

fn orientation_code(o: Orientation) -> u8 {
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
    use image::error::{LimitErrorKind, UnsupportedErrorKind};
    match e {
        image::ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::DimensionError => ImageError::Decode(
                "a part of the image is over the size limit (raise it with --max-pixels-side)"
                    .into(),
            ),
            _ => ImageError::TooMuchMemory {
                needed_mib: None,
                limit_mib: limits.max_alloc_bytes >> 20,
            },
        },
        image::ImageError::Unsupported(u) => match u.kind() {
            UnsupportedErrorKind::Format(_) => ImageError::UnsupportedFormat,
            _ => ImageError::UnsupportedFeature(u.to_string()),
        },
        image::ImageError::IoError(io) => ImageError::Decode(io.to_string().trim().to_string()),
        // Some decoders end their messages with a newline.
        other => ImageError::Decode(other.to_string().trim().to_string()),
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

    fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        let mut crc = !0u32;
        for &b in &body {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
            }
        }
        let mut v = (data.len() as u32).to_be_bytes().to_vec();
        v.extend(body);
        v.extend((!crc).to_be_bytes());
        v
    }

    /// A well-formed PNG claiming `w` x `h` RGB8 pixels with no pixel data
    /// (an empty zlib stream).
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
        v.extend(png_chunk(b"IHDR", &ihdr));
        v.extend(png_chunk(b"IDAT", &[0x78, 0x01, 0x01, 0, 0, 0xff, 0xff]));
        v.extend(png_chunk(b"IEND", &[]));
        v
    }

    #[test]
    fn memory_is_checked_from_the_header_alone() {
        let limits = DecodeLimits::new(u32::MAX, 1, 1);
        // The largest PNG header there is, 2^31 - 1 pixels a side, with the
        // side limit lifted: refused for memory (here by the PNG reader's
        // own row buffer, under the same limit) before any pixel.
        assert!(matches!(
            decode(png_header(u32::MAX >> 1, u32::MAX >> 1), &limits),
            Err(ImageError::TooMuchMemory { limit_mib: 1, .. })
        ));
        // 600 x 600 RGB8 is 1.03 MiB: over a 1 MiB limit, refused before
        // decoding (the header has no pixel data at all).
        assert!(matches!(
            decode(png_header(600, 600), &limits),
            Err(ImageError::TooMuchMemory {
                needed_mib: Some(2),
                ..
            })
        ));
    }

    #[test]
    fn non_regular_files_are_refused_without_blocking() {
        let l = DecodeLimits::default();
        let d = std::env::temp_dir();
        assert!(matches!(
            read_file(&d, &l),
            Err(ImageError::NotAFile { kind: "a folder" })
        ));
        #[cfg(unix)]
        assert!(matches!(
            read_file(Path::new("/dev/zero"), &l),
            Err(ImageError::NotAFile { kind: "a device" })
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
