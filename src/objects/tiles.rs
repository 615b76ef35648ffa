//! Overlapping tiles over a large image, for counting people in crowds. At
//! 416 px a group photo's people are a few dozen input pixels tall and half
//! of them are missed; a tile is seen at about 1.4 to 1.7 times the
//! resolution of the whole-image pass, which finds most of the rest.
//! Measurements in ARCHITECTURE.md ("Objects: crowds and tiles").

use crate::geometry::BBox;

/// A rectangle of the image, in its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Region {
    pub fn whole(w: u32, h: u32) -> Self {
        Region { x: 0, y: 0, w, h }
    }

    /// Whether `b` (image pixels) reaches within `margin` of a side of this
    /// region that lies inside the image: the object probably goes on past
    /// the tile, and what the tile saw is only a part of it. Sides on the
    /// image border cut nothing.
    pub fn cuts(&self, b: &BBox, image_w: u32, image_h: u32, margin: f32) -> bool {
        let (x0, y0) = (self.x as f32, self.y as f32);
        let (x1, y1) = ((self.x + self.w) as f32, (self.y + self.h) as f32);
        (self.x > 0 && b.x <= x0 + margin)
            || (self.y > 0 && b.y <= y0 + margin)
            || (self.x + self.w < image_w && b.right() >= x1 - margin)
            || (self.y + self.h < image_h && b.bottom() >= y1 - margin)
    }
}

/// Whether a tile's box `part` is only a part of the whole-image box
/// `whole` (a torso inside a full figure): nearly all of it lies inside,
/// and it is much smaller. Two people in a crowd overlap less, or are of a
/// size (measured on the Solvay photo: no real person was dropped).
pub fn part_of(part: &BBox, whole: &BBox) -> bool {
    let area = part.area();
    area > 0.0 && part.intersection(whole) >= 0.8 * area && area <= 0.5 * whole.area()
}

/// When and how finely to tile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tiling {
    /// Images whose longer side is shorter than this are not tiled.
    pub min_side: u32,
    /// Images where the whole-image pass found fewer people than this are
    /// not tiled: tiles are there to count people in groups, and most
    /// photos (portraits, pets, landscapes) need not pay for them.
    pub min_people: usize,
    /// Tiles along the longer side; along the shorter side as many as keep
    /// the tiles roughly square (at least one).
    pub across: u32,
    /// Fraction of a tile's side shared with its neighbour.
    pub overlap: f32,
    /// A tile's detection this close to an inner tile side, as a fraction of
    /// the tile's side, counts as cut off there and is dropped.
    pub edge_margin: f32,
}

impl Tiling {
    /// The tiles of a `w` x `h` image, row by row; none for a small image.
    pub fn tiles(&self, w: u32, h: u32) -> Vec<Region> {
        if w.max(h) < self.min_side {
            return Vec::new();
        }
        self.grid(w, h)
    }

    /// The tile grid over a `w` x `h` image, whatever its size.
    pub fn grid(&self, w: u32, h: u32) -> Vec<Region> {
        if self.across < 2 || w.min(h) == 0 {
            return Vec::new();
        }
        let (long, short) = (w.max(h), w.min(h));
        let n_short = ((self.across as f32 * short as f32 / long as f32).round() as u32).max(1);
        let (nx, ny) = if w >= h {
            (self.across, n_short)
        } else {
            (n_short, self.across)
        };
        let xs = spans(w, nx, self.overlap);
        let ys = spans(h, ny, self.overlap);
        ys.iter()
            .flat_map(|&(y, th)| xs.iter().map(move |&(x, tw)| Region { x, y, w: tw, h: th }))
            .collect()
    }

    /// The margin, in pixels of the tile's image, for a tile.
    pub fn margin(&self, tile: &Region) -> f32 {
        self.edge_margin * tile.w.max(tile.h) as f32
    }
}

/// `n` equal spans `(start, length)` covering `len` from end to end, each
/// sharing `overlap` of its length with its neighbour.
fn spans(len: u32, n: u32, overlap: f32) -> Vec<(u32, u32)> {
    if n <= 1 {
        return vec![(0, len)];
    }
    let overlap = overlap.clamp(0.0, 0.9);
    let size = ((len as f32 / (1.0 + (n - 1) as f32 * (1.0 - overlap))).ceil() as u32).min(len);
    let room = (len - size) as f32;
    (0..n)
        .map(|i| ((room * i as f32 / (n - 1) as f32).round() as u32, size))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Tiling = Tiling {
        min_side: 1600,
        min_people: 2,
        across: 3,
        overlap: 0.25,
        edge_margin: 0.01,
    };

    fn covers(tiles: &[Region], w: u32, h: u32) -> bool {
        tiles.iter().all(|t| t.x + t.w <= w && t.y + t.h <= h)
            && [
                (0, 0),
                (w - 1, 0),
                (0, h - 1),
                (w - 1, h - 1),
                (w / 2, h / 2),
            ]
            .iter()
            .all(|&(px, py)| {
                tiles
                    .iter()
                    .any(|t| px >= t.x && px < t.x + t.w && py >= t.y && py < t.y + t.h)
            })
    }

    #[test]
    fn small_images_are_not_tiled() {
        assert!(T.tiles(1599, 1200).is_empty());
        assert!(T.tiles(0, 5000).is_empty());
    }

    #[test]
    fn landscape_portrait_and_thin_images_get_square_ish_overlapping_tiles() {
        let t = T.tiles(3000, 2171);
        assert_eq!(t.len(), 6, "{t:?}");
        assert!(covers(&t, 3000, 2171));
        assert_eq!(
            t[0],
            Region {
                x: 0,
                y: 0,
                w: 1200,
                h: 1241
            }
        );
        assert_eq!(t[1].x, 900, "a quarter of a tile shared");
        assert_eq!(t[5].x + t[5].w, 3000);
        assert_eq!(t[5].y + t[5].h, 2171);

        let t = T.tiles(2171, 3000);
        assert_eq!(t.len(), 6);
        assert!(covers(&t, 2171, 3000));
        assert_eq!((t[0].w, t[0].h), (1241, 1200));

        // A panorama: one row, full height.
        let t = T.tiles(6000, 400);
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|r| r.y == 0 && r.h == 400));
        assert!(covers(&t, 6000, 400));
    }

    #[test]
    fn a_small_box_inside_a_large_one_is_a_part_of_it() {
        let b = |x: f32, y: f32, bw: f32, bh: f32| BBox { x, y, w: bw, h: bh };
        let figure = b(100.0, 100.0, 200.0, 600.0);
        assert!(part_of(&b(110.0, 100.0, 180.0, 250.0), &figure));
        // Two people of a size, one behind the other: not a part.
        assert!(!part_of(&b(120.0, 60.0, 200.0, 560.0), &figure));
        // Small but mostly outside: someone beside, not a part.
        assert!(!part_of(&b(250.0, 100.0, 100.0, 200.0), &figure));
        assert!(!part_of(&BBox::default(), &figure));
    }

    #[test]
    fn only_inner_tile_sides_cut() {
        let (w, h) = (3000, 2171);
        let t = T.tiles(w, h);
        let m = T.margin(&t[0]);
        assert_eq!(m, 12.41);
        let b = |x: f32, y: f32, bw: f32, bh: f32| BBox { x, y, w: bw, h: bh };
        // Top-left tile: touching the image's top and left is fine...
        assert!(!t[0].cuts(&b(0.0, 0.0, 100.0, 100.0), w, h, m));
        // ...its right and bottom sides are inside the image.
        assert!(t[0].cuts(&b(1100.0, 10.0, 95.0, 50.0), w, h, m));
        assert!(t[0].cuts(&b(10.0, 1000.0, 50.0, 235.0), w, h, m));
        assert!(!t[0].cuts(&b(10.0, 1000.0, 50.0, 200.0), w, h, m));
        // The middle-bottom tile: left, right and top are inner sides.
        let mid = t[4];
        assert!(mid.cuts(&b(mid.x as f32 + 5.0, 2000.0, 10.0, 10.0), w, h, m));
        assert!(!mid.cuts(&b(1500.0, 2000.0, 10.0, 171.0), w, h, m));
    }
}
