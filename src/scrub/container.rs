//! The file side of a scrubbed copy: which metadata blocks a file carries
//! (read from its bytes, so the written copy can be checked the same way
//! as the original) and re-encoding pixels with nothing else.

use std::io::Cursor;

use image::{ImageDecoder, ImageEncoder, ImageFormat, ImageReader, RgbImage};
use schemars::JsonSchema;
use serde::Serialize;

/// A block of a file that is not pixels and can say something about the
/// photo, its device or its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Block {
    /// An EXIF block (JPEG APP1 `Exif`, PNG `eXIf`, or its signature).
    Exif,
    /// Adobe XMP (JPEG APP1, PNG `iTXt`, or its namespace anywhere).
    Xmp,
    /// IPTC in a Photoshop APP13 segment.
    Iptc,
    /// A JPEG comment (COM) segment.
    Comment,
    /// A PNG `tEXt`, `iTXt` or `zTXt` chunk.
    TextChunk,
    /// A PNG `tIME` chunk (when the file was last changed).
    Time,
    /// A colour profile (JPEG APP2 `ICC_PROFILE`, PNG `iCCP`): it can name
    /// the device or the software that made it.
    IccProfile,
    /// Any other JPEG application segment (APP1..APP15 other than the
    /// above: maker data, Photoshop, Ducky, ...).
    OtherApplicationSegment,
}

impl Block {
    pub fn name(self) -> &'static str {
        match self {
            Block::Exif => "EXIF block",
            Block::Xmp => "XMP",
            Block::Iptc => "IPTC",
            Block::Comment => "comment",
            Block::TextChunk => "PNG text chunk",
            Block::Time => "PNG time chunk",
            Block::IccProfile => "ICC profile",
            Block::OtherApplicationSegment => "application segment",
        }
    }
}

const XMP_SIGNATURES: [&[u8]; 2] = [b"http://ns.adobe.com/xap/1.0/", b"XML:com.adobe.xmp"];

/// The metadata blocks in a file, each named once, in a fixed order. JPEG
/// segments and PNG chunks are walked; in any format the XMP and EXIF
/// signatures are also searched for anywhere in the bytes, so a block
/// placed where a walker does not look is still found.
pub fn blocks(bytes: &[u8]) -> Vec<Block> {
    let mut found = Vec::new();
    if bytes.starts_with(&[0xFF, 0xD8]) {
        jpeg_blocks(bytes, &mut found);
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png_blocks(bytes, &mut found);
    }
    if XMP_SIGNATURES.iter().any(|s| contains(bytes, s)) {
        found.push(Block::Xmp);
    }
    if contains(bytes, b"Exif\0\0") {
        found.push(Block::Exif);
    }
    if contains(bytes, b"Photoshop 3.0\0") {
        found.push(Block::Iptc);
    }
    found.sort();
    found.dedup();
    found
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Walks the marker segments up to the first scan (metadata segments come
/// before it in every writer we know; the signature search covers the
/// rest).
fn jpeg_blocks(b: &[u8], found: &mut Vec<Block>) {
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return;
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let data = &b[(i + 4).min(b.len())..(i + 2 + len).min(b.len())];
        match marker {
            0xDA | 0xD9 => return,
            0xFE => found.push(Block::Comment),
            0xE1 if data.starts_with(b"Exif\0") => found.push(Block::Exif),
            0xE1 if data.starts_with(XMP_SIGNATURES[0]) => found.push(Block::Xmp),
            0xE2 if data.starts_with(b"ICC_PROFILE\0") => found.push(Block::IccProfile),
            0xED if data.starts_with(b"Photoshop 3.0\0") => found.push(Block::Iptc),
            // APP0 is JFIF (density only), which the encoder writes itself.
            0xE1..=0xEF => found.push(Block::OtherApplicationSegment),
            _ => {}
        }
        i += 2 + len;
    }
}

fn png_blocks(b: &[u8], found: &mut Vec<Block>) {
    let mut i = 8;
    while i + 8 <= b.len() {
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        match &b[i + 4..i + 8] {
            b"tEXt" | b"iTXt" | b"zTXt" => found.push(Block::TextChunk),
            b"eXIf" => found.push(Block::Exif),
            b"iCCP" => found.push(Block::IccProfile),
            b"tIME" => found.push(Block::Time),
            b"IEND" => return,
            _ => {}
        }
        i = i.saturating_add(12).saturating_add(len);
    }
}

/// The colour profile of a file that has already decoded, if it has one.
pub fn icc_profile(bytes: &[u8]) -> Option<Vec<u8>> {
    std::panic::catch_unwind(|| {
        let reader = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .ok()?;
        reader.into_decoder().ok()?.icc_profile().ok().flatten()
    })
    .ok()
    .flatten()
}

/// The format a copy is written in: the original's for JPEG and PNG, PNG
/// for everything else (the pixels are re-encoded either way).
pub fn output_format(input: ImageFormat) -> ImageFormat {
    match input {
        ImageFormat::Jpeg => ImageFormat::Jpeg,
        _ => ImageFormat::Png,
    }
}

/// JPEG quality of copies: high enough that a re-encoded photo still looks
/// like the photo, the covered regions being flat or coarse anyway.
pub const JPEG_QUALITY: u8 = 90;

/// Encodes upright RGB pixels alone: a JPEG gets only its JFIF header, a
/// PNG only its image chunks; the colour profile only when given.
pub fn encode(rgb: &RgbImage, format: ImageFormat, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let (w, h) = rgb.dimensions();
    let mut out = Vec::new();
    if format == ImageFormat::Jpeg {
        let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
            return Err(format!("{w}x{h} is too large for a JPEG"));
        };
        let mut enc = jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY);
        if let Some(p) = icc {
            enc.add_icc_profile(p).map_err(|e| e.to_string())?;
        }
        enc.encode(rgb.as_raw(), w16, h16, jpeg_encoder::ColorType::Rgb)
            .map_err(|e| e.to_string())?;
    } else {
        let mut enc = image::codecs::png::PngEncoder::new(&mut out);
        if let Some(p) = icc {
            enc.set_icc_profile(p.to_vec()).map_err(|e| e.to_string())?;
        }
        enc.write_image(rgb.as_raw(), w, h, image::ExtendedColorType::Rgb8)
            .map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_copies_carry_no_block_and_truncated_input_does_not_panic() {
        let img = RgbImage::from_pixel(20, 10, image::Rgb([10, 200, 30]));
        for f in [ImageFormat::Jpeg, ImageFormat::Png] {
            let bytes = encode(&img, f, None).unwrap();
            assert_eq!(blocks(&bytes), vec![], "{f:?}");
            for n in 0..bytes.len() {
                blocks(&bytes[..n]);
            }
        }
    }
}
