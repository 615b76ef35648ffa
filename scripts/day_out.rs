//! Writes the synthetic "day out" series, `samples/day_out/`: five copies of
//! darknet sample photos whose EXIF block is replaced by made-up metadata
//! telling one day in Paris (2026-05-01, UTC+02:00): GPS positions along a
//! route through the 12th arrondissement and the Bois de Vincennes, capture
//! times from morning to evening, and one camera (make, model, body serial
//! number, owner name). It lets the demo show location and routine leaking
//! from ordinary photos. Nothing in it describes a real person or trip.
//!
//! Run from the repository root (it writes only into the output folder):
//!
//! ```sh
//! cargo run --release --example day_out            # samples/ -> samples/day_out/
//! cargo run --release --example day_out -- SRC OUT # other folders
//! ```
//!
//! The copies keep every byte of the source except its metadata segments:
//! the source's EXIF (APP1 "Exif"), XMP (APP1) and IPTC (APP13) segments
//! are dropped, because they hold the real camera and dates, and one new
//! EXIF APP1 segment goes right after SOI (after the JFIF APP0 when there is
//! one). Quantisation and Huffman tables, the ICC profile and the entropy-
//! coded data are copied untouched, so the decoded pixels are identical.
//! The output is deterministic: `tests/metadata.rs` regenerates the series
//! and checks it matches the committed files byte for byte.

use std::io::Cursor;
use std::path::Path;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};

/// Capture date, by the camera's clock, and its UTC offset (Paris in May).
pub const DATE: (u16, u8, u8) = (2026, 5, 1);
pub const UTC_OFFSET: &str = "+02:00";
pub const OFFSET_HOURS: u8 = 2;
pub const MAKE: &str = "FUJIFILM";
pub const MODEL: &str = "X100V";
pub const SERIAL: &str = "SYNTH-0501";
pub const OWNER: &str = "Alex Example";

/// One photo of the day.
pub struct Shot {
    /// Output file name (as the camera would number it).
    pub file: &'static str,
    /// Source photo in the samples folder; its pixels are kept.
    pub source: &'static str,
    /// Local time (hour, minute, second).
    pub time: (u8, u8, u8),
    /// Signed decimal degrees.
    pub latitude: f64,
    pub longitude: f64,
    /// Metres above sea level.
    pub altitude: f64,
    /// What the position is near (documentation only; not written).
    pub near: &'static str,
}

/// The day, in time order. The places are public ones; the positions are
/// approximate and made up.
pub const SHOTS: [Shot; 5] = [
    Shot {
        file: "DSCF0412.jpg",
        source: "dog.jpg",
        time: (8, 5, 12),
        latitude: 48.844720,
        longitude: 2.387220,
        altitude: 51.0,
        near: "Jardin de Reuilly, Paris 12e",
    },
    Shot {
        file: "DSCF0418.jpg",
        source: "horses.jpg",
        time: (10, 41, 37),
        latitude: 48.828300,
        longitude: 2.446700,
        altitude: 58.5,
        near: "Hippodrome de Vincennes",
    },
    Shot {
        file: "DSCF0431.jpg",
        source: "giraffe.jpg",
        time: (13, 27, 5),
        latitude: 48.832200,
        longitude: 2.416900,
        altitude: 55.0,
        near: "Parc Zoologique de Paris",
    },
    Shot {
        file: "DSCF0437.jpg",
        source: "eagle.jpg",
        time: (15, 52, 48),
        latitude: 48.834400,
        longitude: 2.410000,
        altitude: 49.2,
        near: "Lac Daumesnil",
    },
    Shot {
        file: "DSCF0452.jpg",
        source: "person.jpg",
        time: (18, 39, 40),
        latitude: 48.842700,
        longitude: 2.435300,
        altitude: 62.0,
        near: "Bois de Vincennes, by the Parc Floral",
    },
];

fn ascii(s: &str) -> Value {
    Value::Ascii(vec![s.as_bytes().to_vec()])
}

fn rational(v: f64, denom: u32) -> Rational {
    Rational::from(((v * denom as f64).round() as u32, denom))
}

/// Unsigned decimal degrees as whole degrees, whole minutes and seconds to
/// 1/10000 s (about 3 mm), the usual EXIF form.
pub fn to_dms(v: f64) -> [Rational; 3] {
    let total = (v.abs() * 3600.0 * 10_000.0).round() as u64;
    let (deg, rest) = (total / 36_000_000, total % 36_000_000);
    let (min, sec) = (rest / 600_000, rest % 600_000);
    [
        Rational::from((deg as u32, 1)),
        Rational::from((min as u32, 1)),
        Rational::from((sec as u32, 10_000)),
    ]
}

/// The EXIF block (TIFF structure, big-endian) for one shot.
pub fn exif_block(shot: &Shot) -> Result<Vec<u8>, String> {
    let (y, mo, d) = DATE;
    let (h, mi, s) = shot.time;
    let local = format!("{y:04}:{mo:02}:{d:02} {h:02}:{mi:02}:{s:02}");
    let description = format!(
        "Synthetic metadata written by onlooker scripts/day_out.rs; pixels from samples/{}",
        shot.source
    );
    let primary = |tag, value| Field {
        tag,
        ifd_num: In::PRIMARY,
        value,
    };
    let fields = vec![
        primary(Tag::ImageDescription, ascii(&description)),
        primary(Tag::Make, ascii(MAKE)),
        primary(Tag::Model, ascii(MODEL)),
        primary(Tag::Orientation, Value::Short(vec![1])),
        primary(
            Tag::Software,
            ascii("onlooker scripts/day_out.rs (synthetic)"),
        ),
        primary(Tag::DateTime, ascii(&local)),
        primary(Tag::ExifVersion, Value::Undefined(b"0232".to_vec(), 0)),
        primary(Tag::DateTimeOriginal, ascii(&local)),
        primary(Tag::DateTimeDigitized, ascii(&local)),
        primary(Tag::OffsetTime, ascii(UTC_OFFSET)),
        primary(Tag::OffsetTimeOriginal, ascii(UTC_OFFSET)),
        primary(Tag::OffsetTimeDigitized, ascii(UTC_OFFSET)),
        primary(Tag::CameraOwnerName, ascii(OWNER)),
        primary(Tag::BodySerialNumber, ascii(SERIAL)),
        primary(Tag::GPSVersionID, Value::Byte(vec![2, 3, 0, 0])),
        primary(
            Tag::GPSLatitudeRef,
            ascii(if shot.latitude < 0.0 { "S" } else { "N" }),
        ),
        primary(
            Tag::GPSLatitude,
            Value::Rational(to_dms(shot.latitude).to_vec()),
        ),
        primary(
            Tag::GPSLongitudeRef,
            ascii(if shot.longitude < 0.0 { "W" } else { "E" }),
        ),
        primary(
            Tag::GPSLongitude,
            Value::Rational(to_dms(shot.longitude).to_vec()),
        ),
        primary(Tag::GPSAltitudeRef, Value::Byte(vec![0])),
        primary(
            Tag::GPSAltitude,
            Value::Rational(vec![rational(shot.altitude, 10)]),
        ),
        primary(
            Tag::GPSTimeStamp,
            Value::Rational(vec![
                Rational::from(((h - OFFSET_HOURS) as u32, 1)),
                Rational::from((mi as u32, 1)),
                Rational::from((s as u32, 1)),
            ]),
        ),
        primary(Tag::GPSDateStamp, ascii(&format!("{y:04}:{mo:02}:{d:02}"))),
        primary(Tag::GPSMapDatum, ascii("WGS-84")),
    ];
    let mut w = Writer::new();
    for f in &fields {
        w.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    w.write(&mut out, false).map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// `jpeg` with its EXIF, XMP and IPTC segments replaced by one EXIF APP1
/// segment holding `tiff`. Everything else is copied byte for byte.
pub fn with_exif(jpeg: &[u8], tiff: &[u8]) -> Result<Vec<u8>, String> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err("not a JPEG (no SOI marker)".into());
    }
    let seg_len = 2 + 6 + tiff.len();
    if seg_len > 0xFFFF {
        return Err("EXIF block too large for one APP1 segment".into());
    }
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&(seg_len as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(tiff);

    // Header segments up to the start of scan, then the scan data as is.
    let mut segments: Vec<(u8, &[u8])> = Vec::new();
    let mut i = 2;
    let scan_start = loop {
        if i + 4 > jpeg.len() {
            return Err("truncated JPEG header".into());
        }
        if jpeg[i] != 0xFF {
            return Err(format!("expected a marker at byte {i}"));
        }
        let marker = jpeg[i + 1];
        if marker == 0xDA {
            break i;
        }
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        if (0xD0..=0xD9).contains(&marker) || marker == 0x01 {
            return Err(format!("unexpected marker FF{marker:02X} before scan"));
        }
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        let end = i + 2 + len;
        if len < 2 || end > jpeg.len() {
            return Err(format!("segment at byte {i} runs past the end"));
        }
        segments.push((marker, &jpeg[i..end]));
        i = end;
    };
    let is_metadata = |marker: u8, seg: &[u8]| {
        let body = &seg[4..];
        (marker == 0xE1
            && (body.starts_with(b"Exif\0") || body.starts_with(b"http://ns.adobe.com/xap/")))
            || marker == 0xED
    };

    let mut out = vec![0xFF, 0xD8];
    let mut rest = segments.as_slice();
    if let Some(((0xE0, seg), tail)) = rest.split_first() {
        if seg[4..].starts_with(b"JFIF\0") {
            out.extend_from_slice(seg);
            rest = tail;
        }
    }
    out.extend_from_slice(&app1);
    for (marker, seg) in rest {
        if !is_metadata(*marker, seg) {
            out.extend_from_slice(seg);
        }
    }
    out.extend_from_slice(&jpeg[scan_start..]);
    Ok(out)
}

/// Writes every shot of [`SHOTS`] from `samples` into `out`.
pub fn generate(samples: &Path, out: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut written = Vec::new();
    for shot in &SHOTS {
        let src = samples.join(shot.source);
        let jpeg = std::fs::read(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        let bytes =
            with_exif(&jpeg, &exif_block(shot)?).map_err(|e| format!("{}: {e}", src.display()))?;
        let dest = out.join(shot.file);
        // Never write over a source photo, even if OUT is the samples folder.
        if dest.exists() && dest.canonicalize().ok() == src.canonicalize().ok() {
            return Err(format!(
                "refusing to overwrite the source {}",
                src.display()
            ));
        }
        std::fs::write(&dest, bytes).map_err(|e| format!("{}: {e}", dest.display()))?;
        written.push(dest);
    }
    Ok(written)
}

#[allow(dead_code)] // unused when tests/metadata.rs includes this file
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let samples = Path::new(args.first().map_or("samples", String::as_str)).to_path_buf();
    let out = args
        .get(1)
        .map_or_else(|| samples.join("day_out"), Into::into);
    match generate(&samples, &out) {
        Ok(files) => {
            for f in files {
                println!("wrote {}", f.display());
            }
        }
        Err(e) => {
            eprintln!("day_out: {e}");
            std::process::exit(1);
        }
    }
}
