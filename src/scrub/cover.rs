//! Covering regions of an upright image: faces (enlarged for hair and ears)
//! by pixelation, blur or a solid fill, text boxes by a fill of their own
//! mean colour.

use image::{Rgb, RgbImage};
use schemars::JsonSchema;
use serde::Serialize;

use crate::geometry::BBox;

/// How faces are covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Blocks of one colour, [`PIXELATE_BLOCKS`] across the enlarged box.
    Pixelate,
    /// A box blur of radius a quarter of the enlarged box's shorter side,
    /// three passes (close to a Gaussian).
    Blur,
    /// Solid black.
    Fill,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Pixelate, Method::Blur, Method::Fill];

    pub fn name(self) -> &'static str {
        match self {
            Method::Pixelate => "pixelate",
            Method::Blur => "blur",
            Method::Fill => "fill",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// Blocks across the longer side of a pixelated face box.
pub const PIXELATE_BLOCKS: u32 = 6;
/// A face box is widened by this fraction of its width on each side (ears).
pub const GROW_SIDES: f32 = 0.25;
/// ... raised by this fraction of its height (hair) ...
pub const GROW_TOP: f32 = 0.45;
/// ... and lowered by this fraction of its height (chin, beard).
pub const GROW_BOTTOM: f32 = 0.15;
/// Text boxes are grown by this many pixels on every side.
pub const TEXT_MARGIN: f32 = 4.0;

/// The region covered for a detected face box, clipped to the image.
pub fn face_region(b: &BBox, width: u32, height: u32) -> BBox {
    clip(
        BBox {
            x: b.x - b.w * GROW_SIDES,
            y: b.y - b.h * GROW_TOP,
            w: b.w * (1.0 + 2.0 * GROW_SIDES),
            h: b.h * (1.0 + GROW_TOP + GROW_BOTTOM),
        },
        width,
        height,
    )
}

/// The region covered for a text line's box, clipped to the image.
pub fn text_region(b: &BBox, width: u32, height: u32) -> BBox {
    let m = TEXT_MARGIN;
    clip(
        BBox {
            x: b.x - m,
            y: b.y - m,
            w: b.w + 2.0 * m,
            h: b.h + 2.0 * m,
        },
        width,
        height,
    )
}

fn clip(b: BBox, width: u32, height: u32) -> BBox {
    let x0 = b.x.max(0.0).floor();
    let y0 = b.y.max(0.0).floor();
    let x1 = (b.x + b.w).min(width as f32).ceil();
    let y1 = (b.y + b.h).min(height as f32).ceil();
    BBox {
        x: x0,
        y: y0,
        w: (x1 - x0).max(0.0),
        h: (y1 - y0).max(0.0),
    }
}

/// Whole-pixel bounds `(x0, y0, x1, y1)` of a clipped region.
fn bounds(b: &BBox, img: &RgbImage) -> (u32, u32, u32, u32) {
    let (w, h) = img.dimensions();
    let x0 = (b.x.max(0.0) as u32).min(w);
    let y0 = (b.y.max(0.0) as u32).min(h);
    let x1 = ((b.x + b.w).max(0.0).ceil() as u32).min(w);
    let y1 = ((b.y + b.h).max(0.0).ceil() as u32).min(h);
    (x0, y0, x1, y1)
}

/// Covers one face region with `method`.
pub fn cover_face(img: &mut RgbImage, region: &BBox, method: Method) {
    let (x0, y0, x1, y1) = bounds(region, img);
    if x1 <= x0 || y1 <= y0 {
        return;
    }
    match method {
        Method::Fill => fill(img, (x0, y0, x1, y1), Rgb([0, 0, 0])),
        Method::Pixelate => {
            let block = ((x1 - x0).max(y1 - y0)).div_ceil(PIXELATE_BLOCKS).max(1);
            let mut by = y0;
            while by < y1 {
                let mut bx = x0;
                while bx < x1 {
                    let cell = (bx, by, (bx + block).min(x1), (by + block).min(y1));
                    let c = mean(img, cell);
                    fill(img, cell, c);
                    bx += block;
                }
                by += block;
            }
        }
        Method::Blur => {
            let radius = ((x1 - x0).min(y1 - y0) / 4).max(1);
            for _ in 0..3 {
                box_blur(img, (x0, y0, x1, y1), radius);
            }
        }
    }
}

/// Covers one text region with its mean colour.
pub fn cover_text(img: &mut RgbImage, region: &BBox) {
    let b = bounds(region, img);
    if b.2 <= b.0 || b.3 <= b.1 {
        return;
    }
    let c = mean(img, b);
    fill(img, b, c);
}

fn fill(img: &mut RgbImage, (x0, y0, x1, y1): (u32, u32, u32, u32), c: Rgb<u8>) {
    for y in y0..y1 {
        for x in x0..x1 {
            img.put_pixel(x, y, c);
        }
    }
}

fn mean(img: &RgbImage, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> Rgb<u8> {
    let mut sum = [0u64; 3];
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.get_pixel(x, y);
            for c in 0..3 {
                sum[c] += u64::from(p[c]);
            }
        }
    }
    let n = (u64::from(x1 - x0) * u64::from(y1 - y0)).max(1);
    Rgb(sum.map(|s| (s / n) as u8))
}

/// One horizontal then one vertical box-blur pass inside the region, the
/// edges clamped to the region (nothing outside it is read).
fn box_blur(img: &mut RgbImage, (x0, y0, x1, y1): (u32, u32, u32, u32), r: u32) {
    let mut line: Vec<[u32; 3]> = Vec::new();
    let mut sums: Vec<[u64; 3]> = Vec::new();
    for y in y0..y1 {
        line.clear();
        line.extend((x0..x1).map(|x| img.get_pixel(x, y).0.map(u32::from)));
        for (i, p) in blur_line(&line, r, &mut sums).enumerate() {
            img.put_pixel(x0 + i as u32, y, p);
        }
    }
    for x in x0..x1 {
        line.clear();
        line.extend((y0..y1).map(|y| img.get_pixel(x, y).0.map(u32::from)));
        for (i, p) in blur_line(&line, r, &mut sums).enumerate() {
            img.put_pixel(x, y0 + i as u32, p);
        }
    }
}

/// The mean of the `2r + 1` values around each of `line`'s, indices
/// clamped to the line, from running sums (`sums` is scratch): the cost
/// does not grow with the radius, which for a large face box is hundreds
/// of pixels and, on every frame of a video, was most of the time.
fn blur_line<'a>(
    line: &'a [[u32; 3]],
    r: u32,
    sums: &'a mut Vec<[u64; 3]>,
) -> impl Iterator<Item = Rgb<u8>> + 'a {
    sums.clear();
    sums.push([0; 3]);
    let mut acc = [0u64; 3];
    for p in line {
        for c in 0..3 {
            acc[c] += u64::from(p[c]);
        }
        sums.push(acc);
    }
    let (len, r) = (line.len() as i64, i64::from(r));
    let n = (2 * r + 1) as u64;
    let sums = &*sums;
    (0..len).map(move |i| {
        let (lo, hi) = (i - r, i + r);
        // Indices before the start count the first value again, past the
        // end the last one.
        let before = (-lo).max(0) as u64;
        let after = (hi - (len - 1)).max(0) as u64;
        let (a, b) = (lo.max(0) as usize, (hi.min(len - 1) + 1) as usize);
        let (first, last) = (line[0], line[(len - 1) as usize]);
        Rgb(std::array::from_fn(|c| {
            let s =
                sums[b][c] - sums[a][c] + before * u64::from(first[c]) + after * u64::from(last[c]);
            (s / n) as u8
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_sum_blur_is_the_plain_box_blur() {
        let line: Vec<[u32; 3]> = (0..37u32)
            .map(|i| [i * 7 % 256, (i * i) % 256, 255 - i])
            .collect();
        let mut sums = Vec::new();
        for r in [1, 2, 5, 36, 80] {
            let fast: Vec<Rgb<u8>> = blur_line(&line, r, &mut sums).collect();
            let (len, r) = (line.len() as i64, i64::from(r));
            for (i, got) in fast.iter().enumerate() {
                let mut s = [0u32; 3];
                for k in -r..=r {
                    let p = line[(i as i64 + k).clamp(0, len - 1) as usize];
                    for c in 0..3 {
                        s[c] += p[c];
                    }
                }
                let want = Rgb(s.map(|v| (v / (2 * r + 1) as u32) as u8));
                assert_eq!(*got, want, "r {r}, i {i}");
            }
        }
    }

    #[test]
    fn face_region_grows_for_hair_and_ears_and_stays_inside() {
        let r = face_region(
            &BBox {
                x: 100.0,
                y: 100.0,
                w: 40.0,
                h: 40.0,
            },
            1000,
            1000,
        );
        assert_eq!((r.x, r.y, r.w, r.h), (90.0, 82.0, 60.0, 64.0));
        let r = face_region(
            &BBox {
                x: 0.0,
                y: 0.0,
                w: 40.0,
                h: 40.0,
            },
            45,
            45,
        );
        assert_eq!((r.x, r.y, r.w, r.h), (0.0, 0.0, 45.0, 45.0));
    }

    #[test]
    fn every_method_changes_a_detailed_region_and_nothing_outside() {
        let src = RgbImage::from_fn(60, 60, |x, y| {
            Rgb([(x * 4) as u8, (y * 4) as u8, ((x ^ y) * 8) as u8])
        });
        let region = BBox {
            x: 10.0,
            y: 10.0,
            w: 30.0,
            h: 30.0,
        };
        for m in Method::ALL {
            let mut img = src.clone();
            cover_face(&mut img, &region, m);
            let changed = (10..40)
                .flat_map(|y| (10..40).map(move |x| (x, y)))
                .filter(|&(x, y)| img.get_pixel(x, y) != src.get_pixel(x, y))
                .count();
            assert!(changed > 600, "{}: {changed} pixels changed", m.name());
            for (x, y, p) in img.enumerate_pixels() {
                if !(10..40).contains(&x) || !(10..40).contains(&y) {
                    assert_eq!(p, src.get_pixel(x, y), "{} touched ({x},{y})", m.name());
                }
            }
        }
    }
}
