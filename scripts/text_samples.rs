//! Writes the synthetic text samples in `samples/text/` (credited in
//! `samples/CREDITS.md`): a conference badge, a letter, a street sign with a
//! number plate, the badge upside down and the street turned a quarter. Everything is drawn with the
//! bundled DejaVu Sans Bold and a fixed-seed noise, so a run reproduces the
//! files byte for byte.
//!
//! Run: `cargo run --release --example text_samples [-- OUT_DIR]`

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{imageops, Rgb, RgbImage};
use std::path::{Path, PathBuf};

const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");

fn fill(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, c: [u8; 3]) {
    for yy in y..(y + h).min(img.height()) {
        for xx in x..(x + w).min(img.width()) {
            img.put_pixel(xx, yy, Rgb(c));
        }
    }
}

/// Draws `text` with its top-left corner at (x, y), anti-aliased over the
/// pixels already there.
fn text(img: &mut RgbImage, font: &FontRef, x: f32, y: f32, size: f32, c: [u8; 3], s: &str) {
    let f = font.as_scaled(PxScale::from(size));
    let mut pen = x;
    let mut prev = None;
    for ch in s.chars() {
        let id = f.glyph_id(ch);
        if let Some(p) = prev {
            pen += f.kern(p, id);
        }
        let g = id.with_scale_and_position(size, ab_glyph::point(pen, y + f.ascent()));
        if let Some(o) = font.outline_glyph(g) {
            let b = o.px_bounds();
            o.draw(|gx, gy, cov| {
                let (px, py) = (b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32);
                if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
                    let p = img.get_pixel_mut(px as u32, py as u32);
                    for (v, &ck) in p.0.iter_mut().zip(&c) {
                        *v = (*v as f32 * (1.0 - cov) + ck as f32 * cov).round() as u8;
                    }
                }
            });
        }
        pen += f.h_advance(id);
        prev = Some(id);
    }
}

/// Adds fixed-seed noise of amplitude `amp` (a cheap stand-in for sensor
/// noise, so the samples are not perfectly flat).
fn noise(img: &mut RgbImage, amp: i32, seed: u64) {
    let mut s = seed;
    for p in img.pixels_mut() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let d = ((s >> 33) % (2 * amp as u64 + 1)) as i32 - amp;
        for v in p.0.iter_mut() {
            *v = (*v as i32 + d).clamp(0, 255) as u8;
        }
    }
}

/// Rotates about the centre by `deg` (counter-clockwise), bilinear, filling
/// uncovered corners with `bg`.
fn rotate(img: &RgbImage, deg: f32, bg: [u8; 3]) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (s, c) = deg.to_radians().sin_cos();
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let sx = c * dx - s * dy + cx - 0.5;
        let sy = s * dx + c * dy + cy - 0.5;
        if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
            return Rgb(bg);
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let mut out = [0u8; 3];
        for (k, o) in out.iter_mut().enumerate() {
            let v = |x, y| img.get_pixel(x, y).0[k] as f32;
            let top = v(x0, y0) * (1.0 - fx) + v(x1, y0) * fx;
            let bot = v(x0, y1) * (1.0 - fx) + v(x1, y1) * fx;
            *o = (top * (1.0 - fy) + bot * fy).round() as u8;
        }
        Rgb(out)
    })
}

fn badge(font: &FontRef) -> RgbImage {
    let desk = [120, 110, 100];
    let mut img = RgbImage::from_pixel(900, 600, Rgb(desk));
    fill(&mut img, 150, 70, 600, 460, [250, 250, 246]);
    fill(&mut img, 150, 70, 600, 110, [30, 70, 150]);
    text(
        &mut img,
        font,
        190.0,
        100.0,
        44.0,
        [255, 255, 255],
        "RUSTCONF 2026",
    );
    text(
        &mut img,
        font,
        190.0,
        220.0,
        56.0,
        [20, 20, 20],
        "Ada Lovelace",
    );
    text(
        &mut img,
        font,
        190.0,
        300.0,
        30.0,
        [60, 60, 60],
        "Analytical Engines Ltd",
    );
    text(
        &mut img,
        font,
        190.0,
        380.0,
        30.0,
        [20, 20, 20],
        "ada.lovelace@example.org",
    );
    text(
        &mut img,
        font,
        190.0,
        440.0,
        30.0,
        [20, 20, 20],
        "+44 20 7946 0958",
    );
    let mut img = rotate(&img, -4.0, desk);
    noise(&mut img, 6, 1);
    img
}

fn letter(font: &FontRef) -> RgbImage {
    let mut img = RgbImage::from_pixel(900, 1000, Rgb([248, 246, 240]));
    let ink = [25, 25, 35];
    let lines: [(f32, f32, f32, &str); 12] = [
        (60.0, 60.0, 34.0, "Baker & Hudson Solicitors"),
        (60.0, 115.0, 24.0, "221B Baker Street"),
        (60.0, 150.0, 24.0, "London NW1 6XE"),
        (560.0, 230.0, 24.0, "14 March 2026"),
        (60.0, 310.0, 24.0, "Dear Mr Holmes,"),
        (60.0, 370.0, 24.0, "Thank you for your letter of 2 March."),
        (60.0, 410.0, 24.0, "Please call us on 020 7946 0321"),
        (60.0, 450.0, 24.0, "or write to office@bakerhudson.example"),
        (
            60.0,
            490.0,
            24.0,
            "Our terms are at www.bakerhudson.example",
        ),
        (60.0, 570.0, 24.0, "Yours sincerely,"),
        (60.0, 650.0, 28.0, "Martha Hudson"),
        (60.0, 900.0, 18.0, "Ref. MH/2026/118 - 03/14/2026"),
    ];
    for (x, y, size, s) in lines {
        text(&mut img, font, x, y, size, ink, s);
    }
    noise(&mut img, 5, 2);
    img
}

fn street(font: &FontRef) -> RgbImage {
    let mut img = RgbImage::from_fn(960, 640, |_, y| {
        let t = y as f32 / 640.0;
        Rgb([
            (150.0 - 60.0 * t) as u8,
            (180.0 - 70.0 * t) as u8,
            (210.0 - 90.0 * t) as u8,
        ])
    });
    // A street sign on a post.
    fill(&mut img, 470, 200, 16, 440, [90, 90, 95]);
    fill(&mut img, 250, 80, 460, 120, [255, 255, 255]);
    fill(&mut img, 258, 88, 444, 104, [20, 110, 60]);
    text(
        &mut img,
        font,
        290.0,
        110.0,
        50.0,
        [255, 255, 255],
        "Rue de la Paix",
    );
    // The back of a car with its number plate.
    fill(&mut img, 80, 380, 800, 260, [150, 30, 30]);
    fill(&mut img, 330, 470, 300, 80, [20, 20, 20]);
    fill(&mut img, 334, 474, 292, 72, [245, 200, 20]);
    text(&mut img, font, 356.0, 482.0, 48.0, [10, 10, 10], "AB12 CDE");
    noise(&mut img, 6, 3);
    img
}

/// JPEG at quality 90, like a phone photo: small files, and the block
/// artefacts a reader must cope with.
fn save(img: &RgbImage, dir: &Path, name: &str) {
    let path = dir.join(name);
    let file = std::fs::File::create(&path)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::BufWriter::new(file), 90)
        .encode_image(img)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    println!("wrote {}", path.display());
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| "samples/text".into());
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let font = FontRef::try_from_slice(FONT).expect("bundled font is valid");
    let b = badge(&font);
    save(&b, &dir, "badge.jpg");
    save(&letter(&font), &dir, "letter.jpg");
    save(&street(&font), &dir, "street.jpg");
    save(&imageops::rotate180(&b), &dir, "badge_upside_down.jpg");
    save(
        &imageops::rotate90(&street(&font)),
        &dir,
        "street_turned.jpg",
    );
}
