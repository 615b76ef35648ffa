//! Broken and hostile inputs. The corpus is generated here, at test time
//! (nothing is downloaded or committed), and run through the real binary
//! with the real models: every file is either analysed correctly or
//! reported with its name and a plain reason, the batch goes on, and
//! nothing panics.

mod common;
use common::{onlooker, samples};

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{Cursor, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use onlooker::imageio::{self, DecodeLimits};
use onlooker::manifest::Manifest;
use serde_json::Value;

/// No output of any run may show a panic: user input must never cause one.
fn assert_no_panic(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "a panic:\n{stderr}");
}

/// Runs `analyze --json -` and returns the exit code and the images by
/// path.
fn analyze_json(cmd: &mut Command) -> (Option<i32>, BTreeMap<String, Value>, String) {
    let out = cmd.output().expect("onlooker runs");
    assert_no_panic(&out);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}); stderr:\n{stderr}"));
    common::assert_document(&doc);
    let mut images = BTreeMap::new();
    for img in doc["images"].as_array().expect("images") {
        let path = img["path"].as_str().expect("path").to_string();
        assert!(
            images.insert(path.clone(), img.clone()).is_none(),
            "{path} reported twice"
        );
    }
    (out.status.code(), images, stderr)
}

// ---------------------------------------------------------------- builders

/// Deterministic noise (xorshift), so the corpus is the same every run.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

fn encode(img: &image::DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A JPEG written by `jpeg-encoder`, optionally with an APP1 (EXIF) payload.
fn jpeg(
    data: &[u8],
    w: u16,
    h: u16,
    color: jpeg_encoder::ColorType,
    app1: Option<Vec<u8>>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 92);
    if let Some(app1) = app1 {
        enc.add_app_segment(1, app1).unwrap();
    }
    enc.encode(data, w, h, color).unwrap();
    out
}

fn jpeg_rgb(img: &RgbImage, app1: Option<Vec<u8>>) -> Vec<u8> {
    let (w, h) = img.dimensions();
    jpeg(
        img.as_raw(),
        w as u16,
        h as u16,
        jpeg_encoder::ColorType::Rgb,
        app1,
    )
}

/// An APP1 segment holding a minimal big-endian TIFF block with one tag,
/// Orientation (0x0112, SHORT).
fn exif_orientation(o: u16) -> Vec<u8> {
    let mut v = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    v.extend(1u16.to_be_bytes());
    v.extend(0x0112u16.to_be_bytes());
    v.extend(3u16.to_be_bytes());
    v.extend(1u32.to_be_bytes());
    v.extend(o.to_be_bytes());
    v.extend([0, 0]);
    v.extend(0u32.to_be_bytes());
    v
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    let mut v = (data.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(&crc_input);
    v.extend(crc32(&crc_input).to_be_bytes());
    v
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header (with a valid CRC) claims `w` x `h` RGB pixels, and
/// one tiny IDAT: refused from the header, nothing should be allocated.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend(png_chunk(b"IHDR", &ihdr));
    // zlib: an empty stored block.
    v.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff],
    ));
    v.extend(png_chunk(b"IEND", &[]));
    v
}

/// A real, valid decompression bomb: `side` x `side` greyscale zeros,
/// compressed by the png encoder (a few hundred KiB for 20000 x 20000),
/// written to `path`.
fn write_png_bomb(path: &Path, side: u32) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut enc = png::Encoder::new(file, side, side);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    enc.set_filter(png::Filter::NoFilter);
    let mut w = enc.write_header().unwrap().into_stream_writer().unwrap();
    let row = vec![0u8; side as usize];
    for _ in 0..side {
        w.write_all(&row).unwrap();
    }
    w.finish().unwrap();
}

/// The reference the orientation files must decode to: 64 x 32, four
/// quadrants of different colours, so any wrong flip or turn shows.
const QUADRANTS: [[u8; 3]; 4] = [[220, 30, 30], [30, 200, 30], [30, 30, 220], [240, 240, 240]];

fn upright() -> RgbImage {
    RgbImage::from_fn(64, 32, |x, y| {
        Rgb(QUADRANTS[usize::from(y >= 16) * 2 + usize::from(x >= 32)])
    })
}

/// How a viewer maps a stored pixel to the screen for EXIF orientation `o`
/// (TIFF 6.0: where the stored 0th row and 0th column end up), written out
/// here rather than taken from the image crate, so the test checks it.
fn displayed(o: u16, sx: u32, sy: u32, ws: u32, hs: u32) -> (u32, u32) {
    match o {
        1 => (sx, sy),
        2 => (ws - 1 - sx, sy),
        3 => (ws - 1 - sx, hs - 1 - sy),
        4 => (sx, hs - 1 - sy),
        5 => (sy, sx),
        6 => (hs - 1 - sy, sx),
        7 => (hs - 1 - sy, ws - 1 - sx),
        8 => (sy, ws - 1 - sx),
        _ => unreachable!(),
    }
}

/// The stored pixels of an image that looks like `up` once orientation `o`
/// is applied.
fn stored_for(up: &RgbImage, o: u16) -> RgbImage {
    let (w, h) = up.dimensions();
    let (ws, hs) = if o >= 5 { (h, w) } else { (w, h) };
    RgbImage::from_fn(ws, hs, |sx, sy| {
        let (dx, dy) = displayed(o, sx, sy, ws, hs);
        *up.get_pixel(dx, dy)
    })
}

/// What the corpus test expects of one file.
#[derive(Debug, Clone)]
enum Expect {
    /// Analysed, with the upright size; `faces` is a minimum.
    Analysed {
        width: u32,
        height: u32,
        faces: usize,
    },
    /// Reported, its error containing each of these.
    Failed(Vec<&'static str>),
}

fn ok(width: u32, height: u32) -> Expect {
    Expect::Analysed {
        width,
        height,
        faces: 0,
    }
}

fn failed(parts: &[&'static str]) -> Expect {
    Expect::Failed(parts.to_vec())
}

/// Writes the corpus into `dir` and returns what each entry (by its path
/// relative to `dir`, as the lossy string the report shows) must give.
fn write_corpus(dir: &Path) -> BTreeMap<String, Expect> {
    let mut e = BTreeMap::new();
    let mut put = |name: &str, bytes: &[u8], expect: Expect| {
        std::fs::write(dir.join(name), bytes).unwrap();
        e.insert(name.to_string(), expect);
    };
    let gradient = RgbImage::from_fn(64, 48, |x, y| {
        let n = noise(1, u64::from(x * 64 + y + 1))[0] / 4;
        Rgb([(x * 4) as u8 + n, (y * 5) as u8, 128 - n])
    });

    put("empty.jpg", b"", failed(&["file is empty"]));
    let mut cut_jpeg = jpeg_rgb(&gradient, None);
    cut_jpeg.truncate(cut_jpeg.len() / 2);
    // zune-jpeg decodes what is there and fills the rest (as browsers do).
    put("truncated.jpg", &cut_jpeg, ok(64, 48));
    let mut cut_png = encode(&gradient.clone().into(), ImageFormat::Png);
    cut_png.truncate(cut_png.len() / 2);
    put("truncated.png", &cut_png, failed(&["corrupt or truncated"]));
    put(
        "text.jpg",
        b"This is a shopping list, not a photo.\nmilk\neggs\n",
        failed(&["not a supported image format"]),
    );
    put(
        "random.png",
        &noise(4096, 7),
        failed(&["not a supported image format"]),
    );
    // The QOI magic: a real image format, but not one onlooker decodes.
    put(
        "qoi.png",
        b"qoif\0\0\0\x10\0\0\0\x10\x03\x00rest",
        failed(&["not a supported image format"]),
    );
    put(
        "huge_header.png",
        &png_claiming(100_000, 100_000),
        failed(&["100000x100000 pixels", "--max-pixels-side"]),
    );
    let mut huge_jpeg = jpeg_rgb(&gradient, None);
    let sof = huge_jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .unwrap();
    huge_jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xF0, 0xFF, 0xF0]);
    put(
        "huge_header.jpg",
        &huge_jpeg,
        failed(&["65520x65520 pixels", "--max-pixels-side"]),
    );
    put(
        "one_pixel.png",
        &encode(
            &RgbImage::from_pixel(1, 1, Rgb([9, 9, 9])).into(),
            ImageFormat::Png,
        ),
        ok(1, 1),
    );
    let grey = image::DynamicImage::ImageRgb8(gradient.clone()).into_luma8();
    put(
        "grey.jpg",
        &jpeg(grey.as_raw(), 64, 48, jpeg_encoder::ColorType::Luma, None),
        ok(64, 48),
    );
    let grey16 = image::ImageBuffer::<image::Luma<u16>, _>::from_fn(40, 30, |x, _| {
        image::Luma([(x * 1600) as u16])
    });
    put(
        "grey16.png",
        &encode(&grey16.into(), ImageFormat::Png),
        ok(40, 30),
    );
    let rgb16 = image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(40, 30, Rgb([65535, 0, 0]));
    put(
        "rgb16.png",
        &encode(&rgb16.into(), ImageFormat::Png),
        ok(40, 30),
    );
    let cmyk_red: Vec<u8> = [0u8, 255, 255, 0].repeat(48 * 32);
    put(
        "cmyk.jpg",
        &jpeg(&cmyk_red, 48, 32, jpeg_encoder::ColorType::Cmyk, None),
        ok(48, 32),
    );
    put(
        "ycck.jpg",
        &jpeg(&cmyk_red, 48, 32, jpeg_encoder::ColorType::CmykAsYcck, None),
        ok(48, 32),
    );
    let mut prog = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut prog, 85);
    enc.set_progressive(true);
    enc.encode(gradient.as_raw(), 64, 48, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let mut cut_prog = prog.clone();
    cut_prog.truncate(prog.len() / 3);
    put("progressive.jpg", &prog, ok(64, 48));
    put(
        "progressive_truncated.jpg",
        &cut_prog,
        failed(&["corrupt or truncated"]),
    );
    let alpha = RgbaImage::from_fn(50, 20, |x, _| Rgba([200, 100, 50, (x * 5) as u8]));
    put(
        "alpha.png",
        &encode(&alpha.into(), ImageFormat::Png),
        ok(50, 20),
    );
    put("animated.gif", &animated_gif(), ok(40, 30));
    put(
        "lossless.webp",
        &encode(&gradient.clone().into(), ImageFormat::WebP),
        ok(64, 48),
    );
    put(
        "small.tiff",
        &encode(&gradient.clone().into(), ImageFormat::Tiff),
        ok(64, 48),
    );
    put(
        "small.bmp",
        &encode(&gradient.clone().into(), ImageFormat::Bmp),
        ok(64, 48),
    );
    // Named for the wrong format: the content decides.
    put(
        "png_named.jpg",
        &encode(&gradient.clone().into(), ImageFormat::Png),
        ok(64, 48),
    );
    let mut junk = b"Exif\0\0".to_vec();
    junk.extend(noise(300, 11));
    put(
        "garbage_exif.jpg",
        &jpeg_rgb(&gradient, Some(junk)),
        ok(64, 48),
    );
    // A well-formed TIFF header whose first IFD lies far past the end.
    let bad_offset = b"Exif\0\0MM\0\x2a\xff\xff\xff\xf0\xff\xff".to_vec();
    put(
        "bad_offset_exif.jpg",
        &jpeg_rgb(&gradient, Some(bad_offset)),
        ok(64, 48),
    );
    for o in 1..=8u16 {
        put(
            &format!("orientation_{o}.jpg"),
            &jpeg_rgb(&stored_for(&upright(), o), Some(exif_orientation(o))),
            ok(64, 32),
        );
    }
    // A real portrait stored turned a quarter, with EXIF orientation 6: the
    // face is found only if the pixels are turned upright before detection.
    let hopper = imageio::load(
        &samples().join("grace_hopper.jpg"),
        &DecodeLimits::default(),
    )
    .unwrap()
    .rgb;
    let (hw, hh) = hopper.dimensions();
    put(
        "hopper_orientation_6.jpg",
        &jpeg_rgb(&stored_for(&hopper, 6), Some(exif_orientation(6))),
        Expect::Analysed {
            width: hw,
            height: hh,
            faces: 1,
        },
    );
    write_png_bomb(&dir.join("bomb.png"), 20_000);
    e.insert(
        "bomb.png".into(),
        failed(&["needs about 1526 MiB", "--max-alloc-mib"]),
    );
    e
}

fn animated_gif() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        enc.set_repeat(image::codecs::gif::Repeat::Infinite)
            .unwrap();
        let frames = [[230u8, 20, 20], [20, 230, 20], [20, 20, 230]].map(|c| {
            image::Frame::new(RgbaImage::from_pixel(40, 30, Rgba([c[0], c[1], c[2], 255])))
        });
        enc.encode_frames(frames).unwrap();
    }
    out
}

/// The files that cannot be read, and how: root reads any file whatever its
/// mode, so besides a `chmod 000` file (made unreadable for the run by
/// dropping CAP_DAC_OVERRIDE, see `deny_as_root`), the corpus holds files
/// that no privilege makes readable: a named pipe (a plain read would block
/// the batch forever), a dangling symlink and a symlink to itself.
fn write_unreadable(dir: &Path, e: &mut BTreeMap<String, Expect>) {
    let status = Command::new("mkfifo")
        .arg(dir.join("fifo.jpg"))
        .status()
        .unwrap();
    assert!(status.success());
    e.insert(
        "fifo.jpg".into(),
        failed(&["not a regular file", "named pipe"]),
    );
    std::os::unix::fs::symlink(dir.join("gone.jpg"), dir.join("dangling.jpg")).unwrap();
    e.insert(
        "dangling.jpg".into(),
        failed(&["No such file or directory"]),
    );
    std::os::unix::fs::symlink(dir.join("self_loop.jpg"), dir.join("self_loop.jpg")).unwrap();
    e.insert(
        "self_loop.jpg".into(),
        failed(&["Too many levels of symbolic links"]),
    );
    let locked = dir.join("locked.png");
    std::fs::write(
        &locked,
        encode(
            &RgbImage::from_pixel(8, 8, Rgb([1, 2, 3])).into(),
            ImageFormat::Png,
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Always checked: as root the run needs setpriv (util-linux; .ci/run
    // installs it), and a root without it fails here instead of quietly
    // expecting the file to be read.
    assert!(
        !is_root() || deny_as_root().is_some(),
        "running as root without a working `setpriv`: install util-linux so the permission-denied case can run"
    );
    e.insert(
        "locked.png".into(),
        failed(&["cannot read file", "Permission denied"]),
    );
    // A folder that links back to its parent: walked once, not forever.
    std::fs::create_dir(dir.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", dir.join("loop/back")).unwrap();
    std::fs::write(
        dir.join("loop/inner.png"),
        encode(
            &RgbImage::from_pixel(16, 16, Rgb([50, 60, 70])).into(),
            ImageFormat::Png,
        ),
    )
    .unwrap();
    e.insert("loop/inner.png".into(), ok(16, 16));
    // A name that is not UTF-8 (Latin-1 "café"): analysed, shown lossily.
    let name = OsStr::from_bytes(b"caf\xe9.png");
    std::fs::write(
        dir.join(name),
        encode(
            &RgbImage::from_pixel(12, 10, Rgb([90, 80, 70])).into(),
            ImageFormat::Png,
        ),
    )
    .unwrap();
    e.insert("caf\u{FFFD}.png".into(), ok(12, 10));
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// As root, the run is wrapped in `setpriv` dropping the capabilities that
/// let root read any file, so `chmod 000` means what it says. Nothing else
/// changes: uid 0 still owns (and reads) the models and the other files.
fn deny_as_root() -> Option<Vec<&'static str>> {
    if !is_root() {
        return None;
    }
    let works = Command::new("setpriv")
        .args([
            "--bounding-set=-dac_override,-dac_read_search",
            "--",
            "true",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    works.then(|| {
        vec![
            "setpriv",
            "--bounding-set=-dac_override,-dac_read_search",
            "--",
        ]
    })
}

fn check(images: &BTreeMap<String, Value>, root: &str, expect: &BTreeMap<String, Expect>) {
    for (name, want) in expect {
        let path = format!("{root}/{name}");
        let got = images
            .get(&path)
            .unwrap_or_else(|| panic!("{path} missing from the report"));
        let error = got["error"].as_str();
        match want {
            Expect::Analysed {
                width,
                height,
                faces,
            } => {
                assert_eq!(error, None, "{name} should be analysed");
                assert_eq!(
                    (got["width"].as_u64(), got["height"].as_u64()),
                    (Some(u64::from(*width)), Some(u64::from(*height))),
                    "{name} upright size"
                );
                let found = got["faces"].as_array().unwrap().len();
                assert!(found >= *faces, "{name}: {found} faces, want {faces}+");
            }
            Expect::Failed(parts) => {
                let error = error.unwrap_or_else(|| panic!("{name} should be reported: {got}"));
                for part in parts {
                    assert!(error.contains(part), "{name}: `{error}` lacks `{part}`");
                }
                assert!(got["faces"].as_array().unwrap().is_empty());
                assert_eq!(got["width"].as_u64(), Some(0));
            }
        }
    }
}

// ------------------------------------------------------------------- tests

#[test]
fn every_hostile_file_is_analysed_or_reported_and_the_batch_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let corpus = d.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    let mut expect = write_corpus(&corpus);
    write_unreadable(&corpus, &mut expect);

    let mut cmd = match deny_as_root() {
        Some(prefix) => {
            let mut c = Command::new(prefix[0]);
            c.args(&prefix[1..]).arg(env!("CARGO_BIN_EXE_onlooker"));
            c.env_remove("ONLOOKER_MODELS").env_remove("ORT_DYLIB_PATH");
            c
        }
        None => onlooker(),
    };
    // Named on the command line as well: a device that never ends and a
    // path that does not exist.
    let missing = d.path().join("missing.jpg");
    cmd.args(["analyze", "--no-report", "--threads", "2", "--json", "-"])
        .arg(&corpus)
        .arg("/dev/zero")
        .arg(&missing);
    let (code, images, stderr) = analyze_json(&mut cmd);

    assert_eq!(code, Some(1), "some images failed: exit 1\n{stderr}");
    let root = corpus.to_string_lossy().into_owned();
    check(&images, &root, &expect);
    assert_eq!(
        images["/dev/zero"]["error"].as_str(),
        Some("not a regular file: it is a device")
    );
    let m = images[&*missing.to_string_lossy()]["error"]
        .as_str()
        .unwrap();
    assert!(m.contains("No such file or directory"), "{m}");
    // Exactly the corpus and the two named paths: the link loop added no
    // second copy of anything.
    assert_eq!(images.len(), expect.len() + 2, "{:?}", images.keys());
    // The summary on stderr names each failed file with its reason.
    for (name, want) in &expect {
        if matches!(want, Expect::Failed(_)) {
            assert!(stderr.contains(name.as_str()), "{name} not in:\n{stderr}");
        }
    }
}

#[test]
fn exif_orientations_1_to_8_decode_upright() {
    for o in 1..=8u16 {
        let bytes = jpeg_rgb(&stored_for(&upright(), o), Some(exif_orientation(o)));
        let img = imageio::decode(bytes, &DecodeLimits::default()).unwrap();
        assert_eq!(img.exif_orientation, o as u8);
        assert_eq!(img.rgb.dimensions(), (64, 32), "orientation {o}");
        for (i, want) in QUADRANTS.iter().enumerate() {
            let (x, y) = (16 + 32 * (i as u32 % 2), 8 + 16 * (i as u32 / 2));
            let got = img.rgb.get_pixel(x, y).0;
            assert!(
                close(got, *want, 24),
                "orientation {o}, quadrant {i}: {got:?} != {want:?}"
            );
        }
    }
}

#[test]
fn unusual_colour_types_decode_to_the_right_colours() {
    let l = DecodeLimits::default();
    let red = [0u8, 255, 255, 0].repeat(16 * 16);
    for ct in [
        jpeg_encoder::ColorType::Cmyk,
        jpeg_encoder::ColorType::CmykAsYcck,
    ] {
        let img = imageio::decode(jpeg(&red, 16, 16, ct, None), &l).unwrap();
        let px = img.rgb.get_pixel(8, 8).0;
        assert!(
            close(px, [255, 0, 0], 24),
            "{ct:?} CMYK red came out {px:?}"
        );
    }
    let gif = imageio::decode(animated_gif(), &l).unwrap();
    assert_eq!(gif.format, ImageFormat::Gif);
    assert!(
        close(gif.rgb.get_pixel(5, 5).0, [230, 20, 20], 8),
        "first frame"
    );
    let g16 = image::ImageBuffer::<image::Luma<u16>, _>::from_pixel(4, 4, image::Luma([32896]));
    let px = imageio::decode(encode(&g16.into(), ImageFormat::Png), &l)
        .unwrap()
        .rgb
        .get_pixel(1, 1)
        .0;
    assert!(close(px, [128, 128, 128], 1), "16-bit grey {px:?}");
    let webp = imageio::decode(encode(&upright().into(), ImageFormat::WebP), &l).unwrap();
    assert_eq!(webp.rgb, upright(), "lossless WebP is exact");
}

fn close(a: [u8; 3], b: [u8; 3], tol: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tol)
}

#[test]
fn limit_flags_lower_and_raise_the_limits() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n);
    let small = RgbImage::from_pixel(30, 30, Rgb([120, 130, 140]));
    std::fs::write(p("small.png"), encode(&small.into(), ImageFormat::Png)).unwrap();
    let wide = RgbImage::from_pixel(64, 32, Rgb([120, 130, 140]));
    std::fs::write(p("wide.png"), encode(&wide.into(), ImageFormat::Png)).unwrap();
    // 700 x 700 RGB8: 1.4 MiB decoded.
    let mid = RgbImage::from_fn(700, 700, |x, y| Rgb([x as u8, y as u8, 0]));
    std::fs::write(p("mid.png"), encode(&mid.into(), ImageFormat::Png)).unwrap();
    // A valid small PNG padded past 1 MiB (decoders ignore bytes after IEND).
    let mut padded = encode(
        &RgbImage::from_pixel(8, 8, Rgb([0, 0, 0])).into(),
        ImageFormat::Png,
    );
    padded.extend(vec![0u8; 1_200_000]);
    std::fs::write(p("padded.png"), padded).unwrap();
    std::fs::write(p("huge_header.png"), png_claiming(100_000, 100_000)).unwrap();
    let root = d.path().to_string_lossy().into_owned();
    let err = |images: &BTreeMap<String, Value>, n: &str| {
        images[&format!("{root}/{n}")]["error"]
            .as_str()
            .map(str::to_string)
    };

    // Lowered: side 40 and files of 1 MiB.
    let (code, images, _) = analyze_json(
        onlooker()
            .args(["analyze", "--no-report", "--threads", "1", "--json", "-"])
            .args(["--max-pixels-side", "40", "--max-file-mib", "1"])
            .arg(p("small.png"))
            .arg(p("wide.png"))
            .arg(p("padded.png")),
    );
    assert_eq!(code, Some(1));
    assert_eq!(err(&images, "small.png"), None);
    assert_eq!(
        err(&images, "wide.png").as_deref(),
        Some("image is 64x32 pixels, over the limit of 40x40 (raise it with --max-pixels-side)")
    );
    assert_eq!(
        err(&images, "padded.png").as_deref(),
        Some("file is 1.1 MiB, over the limit of 1 MiB (raise it with --max-file-mib)")
    );

    // Raising the side limit leaves the memory limit in force: the
    // 100000 x 100000 header is still refused before allocating; 1 MiB is
    // too little for 700 x 700 but enough for 30 x 30.
    let (code, images, _) = analyze_json(
        onlooker()
            .args(["analyze", "--no-report", "--threads", "1", "--json", "-"])
            .args(["--max-pixels-side", "100000", "--max-alloc-mib", "1"])
            .arg(p("small.png"))
            .arg(p("mid.png"))
            .arg(p("huge_header.png")),
    );
    assert_eq!(code, Some(1));
    assert_eq!(err(&images, "small.png"), None);
    assert_eq!(
        err(&images, "mid.png").as_deref(),
        Some("image needs about 2 MiB to decode, over the limit of 1 MiB (raise it with --max-alloc-mib)")
    );
    assert_eq!(
        err(&images, "huge_header.png").as_deref(),
        Some("image needs about 28611 MiB to decode, over the limit of 1 MiB (raise it with --max-alloc-mib)")
    );

    // Every image good: exit 0.
    let (code, images, _) = analyze_json(
        onlooker()
            .args(["analyze", "--no-report", "--threads", "1", "--json", "-"])
            .arg(p("small.png"))
            .arg(p("mid.png")),
    );
    assert_eq!(code, Some(0));
    assert!(images.values().all(|i| i["error"].is_null()));
}

#[test]
fn usage_errors_exit_2_without_a_panic() {
    for args in [
        &["analyze", "--max-pixels-side", "0"][..],
        &["analyze", "--max-alloc-mib", "lots"],
        &["analyze", "--threads", "-3"],
        &["analyze", "--face-threshold", "7"],
        &["analyse-everything"],
    ] {
        let out = onlooker().args(args).output().unwrap();
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?} says why");
    }
}

/// A folder with every runtime and model file linked from the real one but
/// `broken`, which is written with `bytes`.
fn models_with(broken: &str, bytes: &[u8]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let real = onlooker::runtime::default_models_dir();
    let m = Manifest::builtin();
    for e in std::iter::once(&m.runtime).chain(&m.models) {
        if e.file == broken {
            std::fs::write(d.path().join(&e.file), bytes).unwrap();
        } else {
            std::os::unix::fs::symlink(real.join(&e.file), d.path().join(&e.file)).unwrap();
        }
    }
    d
}

#[test]
fn an_empty_or_tampered_model_stops_the_run_with_exit_2() {
    let m = Manifest::builtin();
    let yolox = &m.model(onlooker::manifest::ModelId::Yolox).unwrap().file;
    let yunet = &m
        .model(onlooker::manifest::ModelId::YunetDynamic)
        .unwrap()
        .file;
    // The real YuNet (the variant the face detector loads) with one byte changed: loads as ONNX, fails the hash.
    let mut tampered = std::fs::read(onlooker::runtime::default_models_dir().join(yunet)).unwrap();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 1;
    for (file, bytes, says) in [
        (yolox, Vec::new(), "is empty or corrupt"),
        (yunet, tampered, "does not match its pinned sha256"),
    ] {
        let d = models_with(file, &bytes);
        let out = onlooker()
            .args(["analyze", "--no-report", "--models"])
            .arg(d.path())
            .arg(samples().join("dog.jpg"))
            .output()
            .unwrap();
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{file}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(file.as_str()) && stderr.contains(says),
            "{stderr}"
        );
        assert!(stderr.contains("make models"), "says what to do: {stderr}");
    }
}

/// Writes the generated corpus (the files that decode or nearly do) plus
/// the small samples into `$ONLOOKER_FUZZ_SEEDS`, as seeds for the fuzz
/// target: `make fuzz` runs it. Not part of the normal run.
#[test]
#[ignore = "writes fuzz seeds; run by `make fuzz`"]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("ONLOOKER_FUZZ_SEEDS") else {
        panic!("set ONLOOKER_FUZZ_SEEDS to the seed folder");
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let t = tempfile::tempdir().unwrap();
    write_corpus(t.path());
    for entry in std::fs::read_dir(t.path()).unwrap() {
        let path = entry.unwrap().path();
        let len = std::fs::metadata(&path).unwrap().len();
        // The bomb is refused from its header; its 400 KB of zeros would
        // only slow the fuzzer down.
        if len > 0 && len < 100_000 {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    // Samples shrunk to fuzzing size, each in its own format.
    for entry in std::fs::read_dir(samples()).unwrap() {
        let path = entry.unwrap().path();
        let Ok(img) = imageio::load(&path, &DecodeLimits::default()) else {
            continue;
        };
        let small = image::DynamicImage::ImageRgb8(img.rgb).thumbnail(48, 48);
        let format = ImageFormat::from_path(&path).unwrap();
        let name = format!("sample_{}", path.file_name().unwrap().to_string_lossy());
        std::fs::write(dir.join(name), encode(&small, format)).unwrap();
    }
}
