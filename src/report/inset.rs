//! The map's inset: where the day's trail lies in its country (Natural
//! Earth outlines, `countries`), or in the world when no country's
//! outline holds it. Drawn in a corner of the trail map clear of what is
//! already there, as path data the template puts into the page; nothing
//! else of the SVG is built here.
//!
//! The inset is drawn in its own units, a quarter of a map unit, so path
//! data are small integers; outlines are clipped to the inset and
//! simplified to what its size can show.

use crate::countries::{Countries, Ring};

/// The inset's size in map units: the name band and the drawing below it.
pub(crate) const INSET_W: f64 = 160.0;
const BAND_H: f64 = 18.0;
const DRAW_H: f64 = 104.0;
pub(crate) const INSET_H: f64 = BAND_H + DRAW_H;
/// Inset units per map unit.
const UNITS: f64 = 4.0;
/// Points closer than this to the simplified outline are dropped (in
/// inset units: half a map unit).
const TOLERANCE: f64 = 2.0;
/// The smallest frame, in degrees of latitude, so a small country still
/// shows its neighbours.
const MIN_FRAME_DEG: f64 = 3.0;
/// Space kept between the inset and the map's edge.
const MARGIN: f64 = 8.0;

/// A rectangle in map units: left, top, right, bottom.
pub(crate) type Rect = [f64; 4];

/// A line of the trail between two stops, in map units.
pub(crate) type Segment = ((f64, f64), (f64, f64));

/// The inset as the template draws it.
pub(crate) struct InsetView {
    /// Top-left corner in map units.
    pub(crate) x: f64,
    pub(crate) y: f64,
    /// "France", or "World".
    pub(crate) name: String,
    /// What the inset shows, for its `<title>` and the map's label.
    pub(crate) label: String,
    /// Whether the trail lies in no country's outline (the world is shown).
    pub(crate) world: bool,
    /// Path data: the other countries, faint, and the trail's country.
    pub(crate) land: String,
    pub(crate) country: String,
    /// Where the trail is: x, y, width, height in inset units.
    pub(crate) here: [i64; 4],
}

impl InsetView {
    pub(crate) fn w(&self) -> f64 {
        INSET_W
    }

    pub(crate) fn h(&self) -> f64 {
        INSET_H
    }

    pub(crate) fn band(&self) -> f64 {
        BAND_H
    }

    pub(crate) fn draw_h(&self) -> f64 {
        DRAW_H
    }

    /// The drawing's viewBox size, in inset units.
    pub(crate) fn view(&self) -> (i64, i64) {
        ((INSET_W * UNITS) as i64, (DRAW_H * UNITS) as i64)
    }
}

/// The local projection of the inset: equirectangular at the frame's
/// latitude (longitudes scaled by its cosine), fitted into the drawing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fit {
    /// cos of the frame's central latitude.
    k: f64,
    /// Projected coordinates of the drawing's top-left corner.
    x0: f64,
    y0: f64,
    /// Inset units per projected degree.
    scale: f64,
}

impl Fit {
    /// Fits the frame `[min lon, min lat, max lon, max lat]` into a drawing
    /// of `w` x `h` inset units, centred; the frame grows along one axis to
    /// the drawing's proportions.
    pub(crate) fn new(frame: [f64; 4], w: f64, h: f64) -> Fit {
        let k = ((frame[1] + frame[3]) / 2.0).to_radians().cos().max(0.05);
        let (fw, fh) = (
            ((frame[2] - frame[0]) * k).max(1e-9),
            (frame[3] - frame[1]).max(1e-9),
        );
        let scale = (w / fw).min(h / fh);
        let (cx, cy) = (
            (frame[0] + frame[2]) / 2.0 * k,
            -(frame[1] + frame[3]) / 2.0,
        );
        Fit {
            k,
            x0: cx - w / 2.0 / scale,
            y0: cy - h / 2.0 / scale,
            scale,
        }
    }

    /// (lon, lat) in degrees to inset units.
    pub(crate) fn at(&self, p: (f64, f64)) -> (f64, f64) {
        (
            (p.0 * self.k - self.x0) * self.scale,
            (-p.1 - self.y0) * self.scale,
        )
    }
}

/// Clips a closed ring to the rectangle `[x0, y0, x1, y1]` (Sutherland and
/// Hodgman: one edge at a time). A concave ring may come back with edges
/// along the rectangle, which lie outside the drawing.
fn clip(points: &[(f64, f64)], r: [f64; 4]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = points.to_vec();
    let edges: [(usize, f64, bool); 4] = [
        (0, r[0], true),
        (0, r[2], false),
        (1, r[1], true),
        (1, r[3], false),
    ];
    for (axis, v, keep_above) in edges {
        if out.is_empty() {
            break;
        }
        let c = |p: &(f64, f64)| if axis == 0 { p.0 } else { p.1 };
        let inside = |p: &(f64, f64)| if keep_above { c(p) >= v } else { c(p) <= v };
        let input = std::mem::take(&mut out);
        let mut prev = input[input.len() - 1];
        for &p in &input {
            let (pin, qin) = (inside(&p), inside(&prev));
            if pin != qin {
                let t = (v - c(&prev)) / (c(&p) - c(&prev));
                out.push((prev.0 + (p.0 - prev.0) * t, prev.1 + (p.1 - prev.1) * t));
            }
            if pin {
                out.push(p);
            }
            prev = p;
        }
    }
    out
}

fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((p.0 - a.0 - t * dx).powi(2) + (p.1 - a.1 - t * dy).powi(2)).sqrt()
}

/// Douglas-Peucker: the points of `ring` (closed: last equals first) that
/// keep it within `tolerance`; first and last are always kept, so the
/// outline stays closed.
pub(crate) fn simplify(ring: &[(f64, f64)], tolerance: f64) -> Vec<(f64, f64)> {
    if ring.len() < 3 {
        return ring.to_vec();
    }
    let mut keep = vec![false; ring.len()];
    keep[0] = true;
    keep[ring.len() - 1] = true;
    let mut stack = vec![(0usize, ring.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (far, d) = (a + 1..b)
            .map(|i| (i, segment_distance(ring[i], ring[a], ring[b])))
            .fold((a, -1.0), |m, x| if x.1 > m.1 { x } else { m });
        if d > tolerance {
            keep[far] = true;
            stack.push((a, far));
            stack.push((far, b));
        }
    }
    ring.iter()
        .zip(keep)
        .filter_map(|(&p, k)| k.then_some(p))
        .collect()
}

/// Appends one ring as path data: an absolute move, relative lines in
/// whole inset units, closed. Rings that shrink to less than a triangle
/// are left out.
fn push_ring(d: &mut String, ring: &Ring, fit: &Fit, clip_to: [f64; 4]) {
    let b = &ring.bbox;
    let (a, z) = (fit.at((b[0], b[3])), fit.at((b[2], b[1])));
    if z.0 < clip_to[0] || a.0 > clip_to[2] || z.1 < clip_to[1] || a.1 > clip_to[3] {
        return;
    }
    let projected: Vec<(f64, f64)> = ring.points.iter().map(|&p| fit.at(p)).collect();
    let mut clipped = clip(&projected, clip_to);
    if clipped.len() < 3 {
        return;
    }
    clipped.push(clipped[0]);
    let mut pts: Vec<(i64, i64)> = simplify(&clipped, TOLERANCE)
        .into_iter()
        .map(|(x, y)| (x.round() as i64, y.round() as i64))
        .collect();
    pts.dedup();
    // The closing point is the path's `z`.
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() < 3 {
        return;
    }
    let (mut x, mut y) = pts[0];
    d.push_str(&format!("M{x} {y}l"));
    for (i, &(px, py)) in pts[1..].iter().enumerate() {
        let (dx, dy) = (px - x, py - y);
        if i > 0 && dx >= 0 {
            d.push(' ');
        }
        d.push_str(&dx.to_string());
        if dy >= 0 {
            d.push(' ');
        }
        d.push_str(&dy.to_string());
        (x, y) = (px, py);
    }
    d.push('z');
}

/// The inset's outlines, framed on the part of the country holding the
/// trail's centre (or the world), with the trail's box (`trail`: min lon,
/// min lat, max lon, max lat) marked; placed at (0, 0).
pub(crate) fn draw(countries: &Countries, trail: [f64; 4]) -> InsetView {
    let (w, h) = (INSET_W * UNITS, DRAW_H * UNITS);
    let centre = ((trail[1] + trail[3]) / 2.0, (trail[0] + trail[2]) / 2.0);
    let found = countries.at(centre.0, centre.1);
    let frame = match found {
        Some((_, part)) => {
            let b = part.bbox;
            let (pw, ph) = ((b[2] - b[0]) * 0.2, (b[3] - b[1]).max(MIN_FRAME_DEG) * 0.2);
            let grow = ((MIN_FRAME_DEG - (b[3] - b[1])) / 2.0).max(0.0);
            [
                b[0] - pw - grow,
                b[1] - ph - grow,
                b[2] + pw + grow,
                b[3] + ph + grow,
            ]
        }
        None => [-180.0, -90.0, 180.0, 90.0],
    };
    let fit = Fit::new(frame, w, h);
    let clip_to = [-8.0, -8.0, w + 8.0, h + 8.0];
    let (mut land, mut country) = (String::new(), String::new());
    for c in countries.all() {
        let mine = found.is_some_and(|(f, _)| std::ptr::eq(f, c));
        for ring in &c.rings {
            push_ring(
                if mine { &mut country } else { &mut land },
                ring,
                &fit,
                clip_to,
            );
        }
    }
    // The trail's box, at least 6 map units wide so it can be seen.
    let (a, z) = (fit.at((trail[0], trail[3])), fit.at((trail[2], trail[1])));
    let min = 6.0 * UNITS;
    let (cx, cy) = ((a.0 + z.0) / 2.0, (a.1 + z.1) / 2.0);
    let (bw, bh) = ((z.0 - a.0).max(min), (z.1 - a.1).max(min));
    let here = [
        (cx - bw / 2.0).round() as i64,
        (cy - bh / 2.0).round() as i64,
        bw.round() as i64,
        bh.round() as i64,
    ];
    let (name, label) = match found {
        Some((c, _)) => (
            c.name.clone(),
            format!(
                "Inset: {} and its neighbours, the yellow square where the trail lies",
                c.name
            ),
        ),
        None => (
            "World".to_string(),
            "Inset: the world, the yellow square where the trail lies, in none of the country outlines".to_string(),
        ),
    };
    InsetView {
        x: 0.0,
        y: 0.0,
        name,
        label,
        world: found.is_none(),
        land,
        country,
        here,
    }
}

fn overlaps(a: &Rect, b: &Rect) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

fn crosses(r: &Rect, p: (f64, f64), q: (f64, f64)) -> bool {
    // Sampled: the segments are a dashed line between stops, and a near
    // miss is as good as a hit here.
    let n = ((q.0 - p.0).abs() + (q.1 - p.1).abs()).ceil().max(1.0) as usize;
    (0..=n).any(|i| {
        let t = i as f64 / n as f64;
        let (x, y) = (p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t);
        (r[0]..=r[2]).contains(&x) && (r[1]..=r[3]).contains(&y)
    })
}

/// Where the inset goes on a `map_w` x `map_h` map: along the edges,
/// from the bottom-right corner leftwards, then the top edge, then the
/// sides, the first place that covers none of `taken` (stops, labels, the
/// scale bar) nor the trail's `segments`; else the first clear of `taken`
/// alone; else below the map, which then grows by the returned height.
pub(crate) fn place(
    map_w: f64,
    map_h: f64,
    taken: &[Rect],
    segments: &[Segment],
) -> ((f64, f64), f64) {
    let (l, r) = (MARGIN, map_w - MARGIN - INSET_W);
    let (t, b) = (MARGIN, map_h - MARGIN - INSET_H);
    let steps = |from: f64, to: f64| {
        let n = ((from - to).abs() / MARGIN).floor() as usize;
        (0..=n).map(move |i| from + (to - from).signum() * MARGIN * i as f64)
    };
    let spots: Vec<(f64, f64)> = steps(r, l)
        .map(|x| (x, b))
        .chain(steps(r, l).map(|x| (x, t)))
        .chain(steps(b, t).map(|y| (r, y)))
        .chain(steps(b, t).map(|y| (l, y)))
        .collect();
    let rect = |(x, y): (f64, f64)| [x, y, x + INSET_W, y + INSET_H];
    let clear = |c: &&(f64, f64)| taken.iter().all(|o| !overlaps(&rect(**c), o));
    let off_trail = |c: &&(f64, f64)| segments.iter().all(|&(p, q)| !crosses(&rect(**c), p, q));
    if let Some(c) = spots.iter().filter(clear).find(off_trail) {
        return (*c, 0.0);
    }
    if let Some(c) = spots.iter().find(clear) {
        return (*c, 0.0);
    }
    ((r, map_h), INSET_H + MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::countries::tests::synthetic;

    #[test]
    fn the_fit_centres_the_frame_in_the_drawing_keeping_its_proportions() {
        // A frame at the equator twice as wide as high, in a square
        // drawing: it fills the width and is centred vertically.
        let f = Fit::new([0.0, -5.0, 20.0, 5.0], 100.0, 100.0);
        let a = f.at((0.0, 5.0));
        let z = f.at((20.0, -5.0));
        assert!(
            (a.0 - 0.0).abs() < 1e-9 && (z.0 - 100.0).abs() < 1e-9,
            "{a:?} {z:?}"
        );
        assert!(
            (a.1 - 25.0).abs() < 1e-9 && (z.1 - 75.0).abs() < 1e-9,
            "{a:?} {z:?}"
        );
        // At 60 degrees a degree of longitude is half as long: a square of
        // degrees is twice as high as wide, so it fills the height.
        let f = Fit::new([0.0, 55.0, 10.0, 65.0], 100.0, 100.0);
        let (a, z) = (f.at((0.0, 65.0)), f.at((10.0, 55.0)));
        assert!((z.1 - a.1 - 100.0).abs() < 1e-6);
        let wide = z.0 - a.0;
        assert!(
            (wide - 100.0 * 60f64.to_radians().cos()).abs() < 0.5,
            "{wide}"
        );
        assert!((a.0 + z.0 - 100.0).abs() < 1e-6, "centred");
    }

    #[test]
    fn simplification_keeps_the_outline_closed_and_within_tolerance() {
        // A circle of 400 points, radius 100 units.
        let mut ring: Vec<(f64, f64)> = (0..400)
            .map(|i| {
                let a = i as f64 / 400.0 * std::f64::consts::TAU;
                (100.0 * a.cos(), 100.0 * a.sin())
            })
            .collect();
        ring.push(ring[0]);
        let s = simplify(&ring, TOLERANCE);
        assert!(s.len() > 8 && s.len() < 60, "{}", s.len());
        assert_eq!(s.first(), ring.first());
        assert_eq!(s.last(), ring.last(), "closed");
        for p in &ring {
            let d = s
                .windows(2)
                .map(|w| segment_distance(*p, w[0], w[1]))
                .fold(f64::MAX, f64::min);
            assert!(d <= TOLERANCE + 1e-9, "{p:?} {d}");
        }
        // A straight run loses its middle.
        let line = [(0.0, 0.0), (1.0, 0.1), (2.0, 0.0), (2.0, 5.0), (0.0, 0.0)];
        assert_eq!(simplify(&line, 1.0).len(), 4);
    }

    #[test]
    fn clipping_keeps_what_is_inside_and_closes_along_the_edge() {
        let sq = [(-10.0, -10.0), (-10.0, 10.0), (10.0, 10.0), (10.0, -10.0)];
        let c = clip(&sq, [0.0, 0.0, 100.0, 100.0]);
        let mut c: Vec<(i64, i64)> = c.iter().map(|p| (p.0 as i64, p.1 as i64)).collect();
        c.sort();
        c.dedup();
        assert_eq!(c, vec![(0, 0), (0, 10), (10, 0), (10, 10)]);
        assert!(clip(&sq, [50.0, 50.0, 100.0, 100.0]).is_empty());
    }

    #[test]
    fn the_inset_draws_the_country_holding_the_trail_and_marks_it() {
        let c = synthetic();
        let v = draw(&c, [1.0, 41.0, 1.2, 41.1]);
        assert_eq!(v.name, "Ring");
        assert!(!v.world);
        // The country's square and its hole; the neighbour in the hole is
        // faint land; the far island part is outside the frame.
        assert_eq!(v.country.matches('M').count(), 2, "{}", v.country);
        assert_eq!(v.land.matches('M').count(), 1, "{}", v.land);
        assert!(v.country.ends_with('z') && v.land.ends_with('z'));
        // Every path starts at a point in (or just outside) the drawing.
        let (w, h) = v.view();
        let [x, y, bw, bh] = v.here;
        assert!(
            x >= 0 && y >= 0 && x + bw <= w && y + bh <= h,
            "{:?}",
            v.here
        );
        assert!(bw >= 24 && bh >= 24);
        // Near the square's bottom-left corner (1 deg in from x0, y0).
        assert!(x < w / 2 && y > h / 2, "{:?}", v.here);

        // At sea: the world.
        let v = draw(&c, [20.0, -30.0, 20.1, -29.9]);
        assert!(v.world && v.name == "World" && v.country.is_empty());
        assert!(v.label.contains("none of the country outlines"));
    }

    #[test]
    fn the_inset_goes_to_a_free_place_along_the_edges_or_below_the_map() {
        let (w, h) = (640.0, 400.0);
        let (r, b) = (w - 8.0 - INSET_W, h - 8.0 - INSET_H);
        assert_eq!(place(w, h, &[], &[]), ((r, b), 0.0));
        // A stop in the bottom-right corner: further left on the bottom
        // edge, clear of it.
        let stop = [600.0, 380.0, 620.0, 395.0];
        let ((x, y), _) = place(w, h, &[stop], &[]);
        assert_eq!(y, b);
        assert!(x + INSET_W <= 600.0 && x > 400.0, "{x}");
        // The trail crossing where the corner is: the inset keeps off it.
        let seg = [((560.0, 0.0), (560.0, 400.0))];
        let ((x, _), _) = place(w, h, &[], &seg);
        assert!(x + INSET_W < 560.0, "{x}");
        // A band across the bottom and one across the top: a side.
        let bands = [[0.0, 300.0, 640.0, 400.0], [0.0, 0.0, 640.0, 60.0]];
        let ((x, y), grow) = place(w, h, &bands, &[]);
        assert_eq!(grow, 0.0);
        assert!(x == r && y >= 60.0 && y + INSET_H <= 300.0, "{x} {y}");
        // Nowhere free: below the map, which grows.
        let all = [[0.0, 0.0, 640.0, 400.0]];
        let ((x, y), grow) = place(w, h, &all, &[]);
        assert_eq!((x, y), (r, h));
        assert_eq!(grow, INSET_H + 8.0);
    }
}
