//! Where a large photo needs faces looked for at full working size.
//!
//! A first pass at [`SURVEY_SIDE`] costs about a quarter of one at 1920 and
//! finds every face of about 20 working pixels or more at 1920. Smaller
//! faces are only found at the full size, and they are where the survey
//! gives a reason to look: next to small faces it found (people in a group
//! are of a size), where it saw something face-like below the threshold,
//! and in the heads of small people the object detector found without a
//! face. Those regions are read again at the full working size; when they
//! cover most of the image the whole image is. Measurements in
//! ARCHITECTURE.md ("Faces").

use crate::geometry::BBox;
use crate::result::Face;

/// The survey pass's longer side.
pub const SURVEY_SIDE: u32 = 960;
/// Photos whose full working side is at most this much larger than the
/// survey's are read in one pass: the survey would save too little.
pub const MIN_GAIN: f32 = 1.25;
/// Survey candidates scoring this or more (below the detection threshold)
/// are looked at again when small.
pub const HINT_THRESHOLD: f32 = 0.3;
/// A survey face (or candidate) shorter than this, in survey pixels, is
/// small: more faces too small for the survey may be around it.
pub const SMALL_FACE: f32 = 24.0;
/// How far around a small face to look, in face heights on each side.
pub const AROUND: f32 = 3.0;
/// A face is about this part of a standing person's height.
pub const FACE_PER_PERSON: f32 = 1.0 / 7.0;
/// Faces under this many full working pixels are not found at any size
/// the detector uses: people that small are not looked at again.
pub const SMALLEST_FACE: f32 = 6.0;
/// When the regions cover more than this part of the image, the whole
/// image is read at full size instead.
pub const WHOLE_SHARE: f32 = 0.5;
/// Regions are aligned to the detector's input granularity.
const ALIGN: u32 = 32;

/// A rectangle in full-working-size pixels (the scaled image the single
/// pass would read), aligned to [`ALIGN`] at its top-left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    fn right(&self) -> u32 {
        self.x + self.w
    }
    fn bottom(&self) -> u32 {
        self.y + self.h
    }
    fn area(&self) -> u64 {
        self.w as u64 * self.h as u64
    }
    /// Overlapping or touching.
    fn meets(&self, o: &Rect) -> bool {
        self.x <= o.right() && o.x <= self.right() && self.y <= o.bottom() && o.y <= self.bottom()
    }
    fn union(&self, o: &Rect) -> Rect {
        let (x, y) = (self.x.min(o.x), self.y.min(o.y));
        Rect {
            x,
            y,
            w: self.right().max(o.right()) - x,
            h: self.bottom().max(o.bottom()) - y,
        }
    }

    /// Whether `b` (full working pixels) reaches within `margin` of a side
    /// of this rectangle that lies inside the `w` x `h` image: the face
    /// goes on past it, and the crop saw only a part.
    pub fn cuts(&self, b: &BBox, w: u32, h: u32, margin: f32) -> bool {
        (self.x > 0 && b.x <= self.x as f32 + margin)
            || (self.y > 0 && b.y <= self.y as f32 + margin)
            || (self.right() < w && b.right() >= self.right() as f32 - margin)
            || (self.bottom() < h && b.bottom() >= self.bottom() as f32 - margin)
    }
}

/// What the survey found, in image pixels.
pub struct Survey<'a> {
    /// Faces at or above the detection threshold.
    pub faces: &'a [Face],
    /// Candidates between [`HINT_THRESHOLD`] and the threshold.
    pub weak: &'a [Face],
    /// People found by the object detector.
    pub people: &'a [BBox],
    /// Scale from image pixels to survey pixels.
    pub survey_scale: f32,
}

/// Which parts of the image to read at full size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The survey's faces are all there are.
    Done,
    /// These rectangles of the full working image, disjoint.
    Regions(Vec<Rect>),
    /// The whole image, in one pass: the survey is set aside.
    Whole,
}

/// The regions worth a second look for a survey of an image whose full
/// working size is `w` x `h` at `full_scale` (image to working pixels).
pub fn plan(survey: &Survey, full_scale: f32, w: u32, h: u32) -> Plan {
    let mut boxes: Vec<BBox> = Vec::new();
    let small = |f: &Face| f.bbox.h * survey.survey_scale < SMALL_FACE;
    for f in survey.faces.iter().chain(survey.weak).filter(|f| small(f)) {
        let m = f.bbox.h * AROUND;
        boxes.push(BBox {
            x: f.bbox.x - m,
            y: f.bbox.y - m,
            w: f.bbox.w + 2.0 * m,
            h: f.bbox.h + 2.0 * m,
        });
    }
    for p in survey.people {
        let face = p.h * FACE_PER_PERSON;
        let small = face * survey.survey_scale < SMALL_FACE;
        let findable = face * full_scale >= SMALLEST_FACE;
        // Whether the survey found a face in the upper half of the box.
        let has_face = survey.faces.iter().any(|f| {
            let (cx, cy) = (f.bbox.x + f.bbox.w / 2.0, f.bbox.y + f.bbox.h / 2.0);
            cx >= p.x && cx <= p.right() && cy >= p.y && cy <= p.y + p.h / 2.0
        });
        if small && findable && !has_face {
            // The head is in the box's top part (its top half for a
            // torso); a little room on each side for a tilted one.
            boxes.push(BBox {
                x: p.x - p.w * 0.1,
                y: p.y - face,
                w: p.w * 1.2,
                h: p.h * 0.5 + face,
            });
        }
    }
    if boxes.is_empty() {
        return Plan::Done;
    }
    let mut rects: Vec<Rect> = boxes
        .iter()
        .filter_map(|b| aligned(&b.scale(full_scale), w, h))
        .collect();
    merge(&mut rects);
    let covered: u64 = rects.iter().map(Rect::area).sum();
    if covered as f32 > WHOLE_SHARE * (w as f32 * h as f32) {
        Plan::Whole
    } else if rects.is_empty() {
        Plan::Done
    } else {
        Plan::Regions(rects)
    }
}

/// `b` (working pixels) grown outwards to multiples of [`ALIGN`] and cut to
/// the `w` x `h` image; `None` when nothing of it is inside.
fn aligned(b: &BBox, w: u32, h: u32) -> Option<Rect> {
    let down = |v: f32, max: u32| ((v.max(0.0) as u32) / ALIGN * ALIGN).min(max);
    let up = |v: f32, max: u32| ((v.max(0.0).ceil() as u32).div_ceil(ALIGN) * ALIGN).min(max);
    let (x0, y0) = (down(b.x, w), down(b.y, h));
    let (x1, y1) = (up(b.right(), w), up(b.bottom(), h));
    (x1 > x0 && y1 > y0).then_some(Rect {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    })
}

/// Replaces rectangles that meet by their union until none meet: each part
/// of the image is read once, and a face on the line between two hints is
/// inside one crop.
fn merge(rects: &mut Vec<Rect>) {
    loop {
        let mut merged = false;
        'outer: for i in 0..rects.len() {
            for j in i + 1..rects.len() {
                if rects[i].meets(&rects[j]) {
                    let u = rects[i].union(&rects[j]);
                    rects[i] = u;
                    rects.swap_remove(j);
                    merged = true;
                    break 'outer;
                }
            }
        }
        if !merged {
            break;
        }
    }
    rects.sort_by_key(|r| (r.y, r.x));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32, side: f32) -> Face {
        Face {
            bbox: BBox {
                x,
                y,
                w: side,
                h: side,
            },
            score: 0.9,
            ..Default::default()
        }
    }

    fn survey<'a>(faces: &'a [Face], weak: &'a [Face], people: &'a [BBox]) -> Survey<'a> {
        Survey {
            faces,
            weak,
            people,
            survey_scale: 0.25,
        }
    }

    #[test]
    fn large_faces_and_no_people_need_no_second_look() {
        // 200 px in a 4000 px photo: 50 px at the survey's 1000.
        let faces = [face(1000.0, 1000.0, 200.0)];
        assert_eq!(plan(&survey(&faces, &[], &[]), 0.5, 2000, 1500), Plan::Done);
        assert_eq!(plan(&survey(&[], &[], &[]), 0.5, 2000, 1500), Plan::Done);
    }

    #[test]
    fn a_small_face_is_looked_around_at_full_size() {
        // 80 px: 20 survey px, small. Around it 3 face heights each side:
        // image 760..1320 x 1760..2320, working (x0.5) 380..660 x 880..1160,
        // aligned outwards to 352..672 x 864..1184.
        let faces = [face(1000.0, 2000.0, 80.0)];
        let Plan::Regions(r) = plan(&survey(&faces, &[], &[]), 0.5, 2000, 1500) else {
            panic!("expected regions");
        };
        assert_eq!(
            r,
            vec![Rect {
                x: 352,
                y: 864,
                w: 320,
                h: 320
            }]
        );
        // A weak candidate of that size is a reason too.
        let plan_weak = plan(&survey(&[], &faces, &[]), 0.5, 2000, 1500);
        assert!(matches!(plan_weak, Plan::Regions(_)));
    }

    #[test]
    fn a_small_person_without_a_face_has_its_head_looked_at() {
        // 280 px tall: a face of 40 image px, 10 survey px, 20 working px.
        let person = [BBox {
            x: 1000.0,
            y: 1000.0,
            w: 100.0,
            h: 280.0,
        }];
        let Plan::Regions(r) = plan(&survey(&[], &[], &person), 0.5, 2000, 1500) else {
            panic!("expected regions");
        };
        assert_eq!(r.len(), 1);
        // The head's rows are inside, the feet's are not.
        assert!(r[0].y <= 500 && r[0].bottom() >= 520 && r[0].bottom() < 640);
        // With its face found, only the small face's surroundings are
        // looked at; too large to have been missed, no look.
        let found = [face(1030.0, 1010.0, 40.0)];
        assert_eq!(
            plan(&survey(&found, &[], &person), 0.5, 2000, 1500),
            plan(&survey(&found, &[], &[]), 0.5, 2000, 1500)
        );
        let tall = [BBox {
            h: 1400.0,
            ..person[0]
        }];
        assert_eq!(plan(&survey(&[], &[], &tall), 0.5, 2000, 1500), Plan::Done);
        // Too small to be found even at full size: no look either.
        let tiny = [BBox {
            h: 70.0,
            ..person[0]
        }];
        assert_eq!(plan(&survey(&[], &[], &tiny), 0.5, 2000, 1500), Plan::Done);
    }

    #[test]
    fn meeting_regions_merge_and_a_crowd_is_read_whole() {
        // Two small faces side by side: one region.
        let faces = [face(1000.0, 1000.0, 60.0), face(1200.0, 1000.0, 60.0)];
        let Plan::Regions(r) = plan(&survey(&faces, &[], &[]), 0.5, 2000, 1500) else {
            panic!("expected regions");
        };
        assert_eq!(r.len(), 1);
        // Small faces all over the photo: the whole image.
        let crowd: Vec<Face> = (0..12)
            .flat_map(|i| (0..8).map(move |j| face(i as f32 * 330.0, j as f32 * 370.0, 60.0)))
            .collect();
        assert_eq!(
            plan(&survey(&crowd, &[], &[]), 0.5, 2000, 1500),
            Plan::Whole
        );
    }

    #[test]
    fn merging_leaves_no_two_rectangles_meeting() {
        let r = |x, y, w, h| Rect { x, y, w, h };
        let mut rects = vec![
            r(0, 0, 64, 64),
            r(500, 500, 32, 32),
            r(64, 0, 32, 32),
            r(96, 32, 64, 64),
        ];
        merge(&mut rects);
        assert_eq!(rects, vec![r(0, 0, 160, 96), r(500, 500, 32, 32)]);
    }

    #[test]
    fn a_crop_cuts_faces_at_its_inner_sides_only() {
        let crop = Rect {
            x: 0,
            y: 64,
            w: 128,
            h: 64,
        };
        let b = |x, y| BBox {
            x,
            y,
            w: 20.0,
            h: 20.0,
        };
        // Left side is the image's border: nothing cut there.
        assert!(!crop.cuts(&b(0.0, 80.0), 1000, 1000, 2.0));
        assert!(crop.cuts(&b(20.0, 65.0), 1000, 1000, 2.0));
        assert!(crop.cuts(&b(107.0, 80.0), 1000, 1000, 2.0));
        assert!(!crop.cuts(&b(50.0, 80.0), 1000, 1000, 2.0));
        // The image ends at the crop's right side.
        assert!(!crop.cuts(&b(107.0, 80.0), 128, 1000, 2.0));
    }
}
