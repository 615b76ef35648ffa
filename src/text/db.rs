//! DB (differentiable binarisation) post-processing: from the detector's
//! text probability map to one rotated rectangle per text region.
//!
//! Follows PaddleOCR's `DBPostProcess`, without OpenCV or a polygon-clipping
//! library, because every shape it handles is a rectangle:
//! * regions are 8-connected components of `prob > threshold` (OpenCV's outer
//!   contours enclose the same pixels);
//! * each region's minimum-area rotated rectangle comes from its convex hull
//!   (the optimum has a side on a hull edge, so trying every edge is exact);
//! * the box score is the mean probability over the pixels inside it;
//! * "unclip" offsets the rectangle outwards by `d = area * ratio /
//!   perimeter`. Clipper's rounded offset of a rectangle has, as its own
//!   minimum-area rectangle, the rectangle grown by `d` on every side, which
//!   is what PaddleOCR keeps, so that is computed directly.

/// Thresholds of the DB post-processing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbParams {
    /// A map pixel is text when its probability is above this.
    pub threshold: f32,
    /// A region is kept when its mean probability is at least this.
    pub box_threshold: f32,
    /// How far a region grows back to the whole text line (the model is
    /// trained on shrunk lines).
    pub unclip_ratio: f32,
    /// Regions with a side shorter than this many map pixels are noise.
    pub min_side: f32,
    /// At most this many regions per image (a map of noise would otherwise
    /// cost one recognition each).
    pub max_regions: usize,
}

impl Default for DbParams {
    fn default() -> Self {
        DbParams {
            threshold: 0.3,
            box_threshold: 0.5,
            unclip_ratio: 1.6,
            min_side: 3.0,
            max_regions: 1000,
        }
    }
}

/// Four corners: top-left, top-right, bottom-right, bottom-left (as
/// PaddleOCR orders them: the two leftmost points are the left side).
pub type Quad = [[f32; 2]; 4];

/// Text regions in map pixels with their box scores, in no particular order.
/// `prob` is the `w` x `h` probability map, row-major.
pub fn regions(prob: &[f32], w: usize, h: usize, p: &DbParams) -> Vec<(Quad, f32)> {
    if prob.len() != w * h || w == 0 || h == 0 {
        return Vec::new();
    }
    let mut label = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    let mut edge: Vec<[i32; 2]> = Vec::new();
    let on = |i: usize| prob[i] > p.threshold;
    for start in 0..w * h {
        if label[start] || !on(start) {
            continue;
        }
        if out.len() >= p.max_regions {
            break;
        }
        // Flood fill, keeping the boundary pixels (the hull needs no more).
        edge.clear();
        label[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = ((i % w) as i64, (i / w) as i64);
            let mut boundary = false;
            for dy in -1..=1i64 {
                for dx in -1..=1i64 {
                    if dx == 0 && dy == 0 {
                        continue;
                    }
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        boundary = true;
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if !on(j) {
                        boundary = true;
                    } else if !label[j] {
                        label[j] = true;
                        stack.push(j);
                    }
                }
            }
            if boundary {
                edge.push([x as i32, y as i32]);
            }
        }
        let hull = convex_hull(&mut edge);
        let Some(rect) = min_area_rect(&hull) else {
            continue;
        };
        if rect.half[0].min(rect.half[1]) * 2.0 < p.min_side {
            continue;
        }
        let score = mean_inside(prob, w, h, &rect.corners());
        if score < p.box_threshold {
            continue;
        }
        let grown = rect.unclip(p.unclip_ratio);
        if grown.half[0].min(grown.half[1]) * 2.0 < p.min_side + 2.0 {
            continue;
        }
        out.push((order(grown.corners()), score));
    }
    out
}

/// Andrew's monotone chain; counter-clockwise in image axes (y down),
/// without collinear points.
fn convex_hull(pts: &mut [[i32; 2]]) -> Vec<[f32; 2]> {
    pts.sort_unstable();
    let cross = |o: [i32; 2], a: [i32; 2], b: [i32; 2]| {
        (a[0] - o[0]) as i64 * (b[1] - o[1]) as i64 - (a[1] - o[1]) as i64 * (b[0] - o[0]) as i64
    };
    let mut hull: Vec<[i32; 2]> = Vec::with_capacity(pts.len() + 1);
    for pass in 0..2 {
        let start = hull.len();
        let mut it: Box<dyn Iterator<Item = &[i32; 2]>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &q in &mut it {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0
            {
                hull.pop();
            }
            hull.push(q);
        }
        hull.pop();
    }
    hull.dedup();
    hull.into_iter()
        .map(|[x, y]| [x as f32, y as f32])
        .collect()
}

/// A rotated rectangle: centre, unit axis `u` (the normal is `(-u.y, u.x)`)
/// and half side lengths along `u` and its normal.
#[derive(Debug, Clone, Copy)]
struct Rect {
    c: [f32; 2],
    u: [f32; 2],
    half: [f32; 2],
}

impl Rect {
    fn corners(&self) -> Quad {
        let [ux, uy] = self.u;
        let (vx, vy) = (-uy, ux);
        let [a, b] = self.half;
        let [cx, cy] = self.c;
        [
            [cx - a * ux - b * vx, cy - a * uy - b * vy],
            [cx + a * ux - b * vx, cy + a * uy - b * vy],
            [cx + a * ux + b * vx, cy + a * uy + b * vy],
            [cx - a * ux + b * vx, cy - a * uy + b * vy],
        ]
    }

    fn unclip(&self, ratio: f32) -> Rect {
        let [a, b] = self.half;
        let (area, perimeter) = (4.0 * a * b, 4.0 * (a + b));
        let d = area * ratio / perimeter;
        Rect {
            half: [a + d, b + d],
            ..*self
        }
    }
}

/// The minimum-area rectangle around a convex hull, trying each hull edge
/// as a side. `None` when the points do not span an area.
fn min_area_rect(hull: &[[f32; 2]]) -> Option<Rect> {
    if hull.len() < 3 {
        return None;
    }
    let mut best: Option<(f32, Rect)> = None;
    for i in 0..hull.len() {
        let (p, q) = (hull[i], hull[(i + 1) % hull.len()]);
        let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
        let len = (dx * dx + dy * dy).sqrt();
        if len == 0.0 {
            continue;
        }
        let u = [dx / len, dy / len];
        let v = [-u[1], u[0]];
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for pt in hull {
            let s = [pt[0] * u[0] + pt[1] * u[1], pt[0] * v[0] + pt[1] * v[1]];
            for k in 0..2 {
                lo[k] = lo[k].min(s[k]);
                hi[k] = hi[k].max(s[k]);
            }
        }
        let area = (hi[0] - lo[0]) * (hi[1] - lo[1]);
        if best.as_ref().is_none_or(|(a, _)| area < *a) {
            let (mu, mv) = ((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0);
            let c = [mu * u[0] + mv * v[0], mu * u[1] + mv * v[1]];
            let half = [(hi[0] - lo[0]) / 2.0, (hi[1] - lo[1]) / 2.0];
            best = Some((area, Rect { c, u, half }));
        }
    }
    best.map(|(_, r)| r)
        .filter(|r| r.half[0] > 0.0 && r.half[1] > 0.0)
}

/// Mean of `prob` over the pixels whose centres lie inside the convex quad.
fn mean_inside(prob: &[f32], w: usize, h: usize, q: &Quad) -> f32 {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in q {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let clamp = |v: f32, n: usize| (v.max(0.0) as usize).min(n - 1);
    let (x0, x1) = (clamp(x0.floor(), w), clamp(x1.ceil(), w));
    let (y0, y1) = (clamp(y0.floor(), h), clamp(y1.ceil(), h));
    let (mut sum, mut n) = (0.0f64, 0usize);
    for y in y0..=y1 {
        for x in x0..=x1 {
            if inside(q, [x as f32, y as f32]) {
                sum += prob[y * w + x] as f64;
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        (sum / n as f64) as f32
    }
}

/// Whether `p` is inside (or on) the convex quad, whichever its winding.
fn inside(q: &Quad, p: [f32; 2]) -> bool {
    let mut sign = 0.0f32;
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        let c = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
        if c.abs() < 1e-4 {
            continue;
        }
        if sign == 0.0 {
            sign = c.signum();
        } else if c.signum() != sign {
            return false;
        }
    }
    true
}

/// PaddleOCR's corner order: of the two leftmost points the upper is
/// top-left, of the two rightmost the upper is top-right.
fn order(mut q: Quad) -> Quad {
    q.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (l0, l1) = if q[0][1] <= q[1][1] {
        (q[0], q[1])
    } else {
        (q[1], q[0])
    };
    let (r0, r1) = if q[2][1] <= q[3][1] {
        (q[2], q[3])
    } else {
        (q[3], q[2])
    };
    [l0, r0, r1, l1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A map of zeros with `v` over the pixels inside `q`.
    fn paint(prob: &mut [f32], w: usize, q: &Quad, v: f32) {
        let h = prob.len() / w;
        for y in 0..h {
            for x in 0..w {
                if inside(q, [x as f32, y as f32]) {
                    prob[y * w + x] = v;
                }
            }
        }
    }

    fn side(a: [f32; 2], b: [f32; 2]) -> f32 {
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
    }

    #[test]
    fn an_upright_block_is_found_and_unclipped() {
        let (w, h) = (100, 60);
        let mut prob = vec![0.0; w * h];
        // Pixels x 20..=59, y 10..=19: centres span 39 x 9.
        paint(
            &mut prob,
            w,
            &[[20.0, 10.0], [59.0, 10.0], [59.0, 19.0], [20.0, 19.0]],
            0.9,
        );
        let r = regions(&prob, w, h, &DbParams::default());
        assert_eq!(r.len(), 1);
        let (q, score) = r[0];
        assert!((score - 0.9).abs() < 1e-5, "score {score}");
        // d = 39 * 9 * 1.6 / (2 * (39 + 9)) = 5.85 on every side.
        let d = 39.0 * 9.0 * 1.6 / (2.0 * 48.0);
        let want = [
            [20.0 - d, 10.0 - d],
            [59.0 + d, 10.0 - d],
            [59.0 + d, 19.0 + d],
            [20.0 - d, 19.0 + d],
        ];
        for (got, want) in q.iter().zip(want) {
            assert!(side(*got, want) < 1e-3, "{q:?} vs {want:?}");
        }
    }

    #[test]
    fn a_rotated_block_keeps_its_angle() {
        let (w, h) = (200, 200);
        let mut prob = vec![0.0; w * h];
        let (s, c) = 30f32.to_radians().sin_cos();
        let (a, b) = (60.0, 12.0);
        let corner = |x: f32, y: f32| [100.0 + x * c - y * s, 100.0 + x * s + y * c];
        let q = [corner(-a, -b), corner(a, -b), corner(a, b), corner(-a, b)];
        paint(&mut prob, w, &q, 0.8);
        let r = regions(&prob, w, h, &DbParams::default());
        assert_eq!(r.len(), 1);
        let g = r[0].0;
        let (long, short) = (
            side(g[0], g[1]).max(side(g[1], g[2])),
            side(g[0], g[1]).min(side(g[1], g[2])),
        );
        let angle = {
            let (p, q) = if side(g[0], g[1]) > side(g[1], g[2]) {
                (g[0], g[1])
            } else {
                (g[1], g[2])
            };
            ((q[1] - p[1]) / (q[0] - p[0])).atan().to_degrees().abs()
        };
        assert!((angle - 30.0).abs() < 2.0, "angle {angle}");
        // Grown from about 120 x 24 by d = 120 * 24 * 1.6 / 288 = 16 a side.
        assert!(
            (long - 152.0).abs() < 4.0 && (short - 56.0).abs() < 4.0,
            "{long} x {short}"
        );
    }

    #[test]
    fn weak_small_and_empty_regions_are_dropped() {
        let (w, h) = (80, 40);
        let mut prob = vec![0.0; w * h];
        // Above the pixel threshold but below the box threshold.
        paint(
            &mut prob,
            w,
            &[[5.0, 5.0], [40.0, 5.0], [40.0, 15.0], [5.0, 15.0]],
            0.4,
        );
        // Strong but two pixels high: below the minimum side.
        paint(
            &mut prob,
            w,
            &[[50.0, 30.0], [75.0, 30.0], [75.0, 31.0], [50.0, 31.0]],
            0.99,
        );
        assert!(regions(&prob, w, h, &DbParams::default()).is_empty());
        assert!(regions(&[], 0, 0, &DbParams::default()).is_empty());
        assert!(regions(&prob, w + 1, h, &DbParams::default()).is_empty());
    }

    #[test]
    fn separate_blocks_are_separate_regions_and_capped() {
        let (w, h) = (120, 80);
        let mut prob = vec![0.0; w * h];
        paint(
            &mut prob,
            w,
            &[[10.0, 10.0], [50.0, 10.0], [50.0, 20.0], [10.0, 20.0]],
            0.9,
        );
        paint(
            &mut prob,
            w,
            &[[60.0, 10.0], [110.0, 10.0], [110.0, 20.0], [60.0, 20.0]],
            0.9,
        );
        paint(
            &mut prob,
            w,
            &[[10.0, 50.0], [110.0, 50.0], [110.0, 65.0], [10.0, 65.0]],
            0.9,
        );
        assert_eq!(regions(&prob, w, h, &DbParams::default()).len(), 3);
        let capped = DbParams {
            max_regions: 2,
            ..DbParams::default()
        };
        assert_eq!(regions(&prob, w, h, &capped).len(), 2);
    }
}
