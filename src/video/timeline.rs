//! From per-sample sightings to time ranges: who (person ids from the
//! persons pass), what objects and what text lines are on screen when.
//!
//! A range continues across one missed sample (the detector misses a face
//! now and then; one miss is not the person leaving) and ends one sampling
//! interval after the last sample it was seen in (the sample stands for
//! the interval that follows it), never past the end of the video.

use std::collections::BTreeMap;

use crate::result::{BestFace, TimeRange, VideoObject, VideoPerson, VideoTag, VideoText};

use super::track::{Track, MAX_GAP};

/// Sampling: which sample index is which time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// Samples per second of footage.
    pub fps: f64,
    /// Length of the video, seconds; 0 when unknown (no clipping).
    pub duration: f64,
}

impl Clock {
    pub fn time(&self, frame: u64) -> f64 {
        frame as f64 / self.fps
    }

    /// The ranges covered by the sample indices `frames` (sorted,
    /// increasing; duplicates allowed).
    pub fn ranges(&self, frames: &[u64]) -> Vec<TimeRange> {
        let mut out = Vec::new();
        let mut iter = frames.iter().copied();
        let Some(first) = iter.next() else {
            return out;
        };
        let (mut start, mut last) = (first, first);
        for f in iter {
            if f > last + MAX_GAP {
                out.push(self.range(start, last));
                start = f;
            }
            last = last.max(f);
        }
        out.push(self.range(start, last));
        out
    }

    fn range(&self, start: u64, last: u64) -> TimeRange {
        let mut end = self.time(last) + 1.0 / self.fps;
        if self.duration > 0.0 {
            end = end.min(self.duration.max(self.time(last)));
        }
        TimeRange {
            start: self.time(start),
            end,
        }
    }
}

/// Objects or text lines by what they are, with the samples they were seen
/// in, in order of first sighting.
#[derive(Debug, Default)]
pub struct Sightings<K: Ord> {
    seen: BTreeMap<K, (usize, Vec<u64>)>,
}

impl<K: Ord> Sightings<K> {
    pub fn add(&mut self, key: K, frame: u64) {
        let order = self.seen.len();
        let entry = self.seen.entry(key).or_insert_with(|| (order, Vec::new()));
        if entry.1.last() != Some(&frame) {
            entry.1.push(frame);
        }
    }

    /// Each key with its ranges, by first sighting.
    pub fn ranges(self, clock: &Clock) -> Vec<(K, Vec<TimeRange>)> {
        let mut all: Vec<(usize, K, Vec<u64>)> =
            self.seen.into_iter().map(|(k, (o, f))| (o, k, f)).collect();
        all.sort_by_key(|e| e.0);
        all.into_iter()
            .map(|(_, k, f)| {
                let r = clock.ranges(&f);
                (k, r)
            })
            .collect()
    }
}

pub fn objects(s: Sightings<&'static str>, clock: &Clock) -> Vec<VideoObject> {
    s.ranges(clock)
        .into_iter()
        .map(|(label, ranges)| VideoObject { label, ranges })
        .collect()
}

pub fn text(s: Sightings<String>, clock: &Clock) -> Vec<VideoText> {
    s.ranges(clock)
        .into_iter()
        .map(|(text, ranges)| VideoText { text, ranges })
        .collect()
}

pub fn tags(s: Sightings<String>, clock: &Clock) -> Vec<VideoTag> {
    s.ranges(clock)
        .into_iter()
        .map(|(name, ranges)| VideoTag { name, ranges })
        .collect()
}

/// One entry per person id: the union of their tracks' samples as
/// appearances, and the best view among their tracks. `ids[i]` is track
/// `i`'s person (`None`: no reliable face, not identified).
pub fn persons(tracks: &[Track], ids: &[Option<u32>], clock: &Clock) -> Vec<VideoPerson> {
    let mut by_id: BTreeMap<u32, Vec<&Track>> = BTreeMap::new();
    for (t, id) in tracks.iter().zip(ids) {
        if let Some(id) = id {
            by_id.entry(*id).or_default().push(t);
        }
    }
    by_id
        .into_iter()
        .map(|(id, mine)| {
            let mut frames: Vec<u64> = mine.iter().flat_map(|t| t.frames.iter().copied()).collect();
            frames.sort_unstable();
            frames.dedup();
            let best = mine
                .iter()
                .map(|t| t.best)
                .max_by(|a, b| a.quality().total_cmp(&b.quality()))
                .expect("a person has at least one track");
            VideoPerson {
                id,
                appearances: clock.ranges(&frames),
                best_face: BestFace {
                    frame_time: clock.time(best.frame),
                    bbox: best.bbox,
                },
            }
        })
        .collect()
}

/// "0:03", "1:02:03".
pub fn clock_text(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(v: &[TimeRange]) -> Vec<(f64, f64)> {
        v.iter().map(|r| (r.start, r.end)).collect()
    }

    #[test]
    fn ranges_bridge_one_missed_sample_and_end_one_interval_later() {
        let c = Clock {
            fps: 2.0,
            duration: 9.0,
        };
        // 0..2.5 s, a miss at 1.0, then 6.0..8.5 s.
        let frames = [0, 1, 3, 4, 5, 12, 13, 14, 15, 16, 17];
        assert_eq!(r(&c.ranges(&frames)), [(0.0, 3.0), (6.0, 9.0)]);
        // Two missed samples split the range.
        assert_eq!(r(&c.ranges(&[0, 3])), [(0.0, 0.5), (1.5, 2.0)]);
        // Never past the end of the video.
        let short = Clock {
            fps: 2.0,
            duration: 8.7,
        };
        assert_eq!(r(&short.ranges(&[17])), [(8.5, 8.7)]);
        assert!(c.ranges(&[]).is_empty());
    }

    #[test]
    fn sightings_come_out_in_order_of_first_sight() {
        let mut s = Sightings::default();
        for (k, f) in [("tv", 4), ("cup", 0), ("tv", 5), ("cup", 1), ("cup", 1)] {
            s.add(k, f);
        }
        let c = Clock {
            fps: 1.0,
            duration: 0.0,
        };
        let o = objects(s, &c);
        assert_eq!(o[0].label, "tv");
        assert_eq!(r(&o[0].ranges), [(4.0, 6.0)]);
        assert_eq!(r(&o[1].ranges), [(0.0, 2.0)]);
    }

    #[test]
    fn clock_text_reads_like_a_player() {
        assert_eq!(clock_text(3.2), "0:03");
        assert_eq!(clock_text(44.0), "0:44");
        assert_eq!(clock_text(3723.0), "1:02:03");
    }
}
