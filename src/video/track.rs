//! Faces linked across sampled frames into tracks: a face joins the track
//! whose last box it overlaps and whose face it resembles; a track stays
//! open across one missed sample (a blink of the detector), then ends. A
//! cut to another person at the same place in the frame starts a new track,
//! because the embeddings disagree even where the boxes overlap.

use crate::geometry::BBox;
use crate::identity::{self, Embedding, DIM};

/// A track stays open while its last face is at most this many samples
/// back: one missed sample is bridged.
pub const MAX_GAP: u64 = 2;
/// Least overlap with the track's last box for a face to join it...
pub const MIN_IOU: f32 = 0.2;
/// ...and least similarity to the track's mean embedding when both have
/// one (identity's "possibly the same person").
pub const MIN_SIMILARITY: f32 = identity::POSSIBLE;
/// A face whose embedding is this close joins wherever it moved to (a fast
/// pan between two samples).
pub const SURE_SIMILARITY: f32 = identity::VERY_LIKELY;
/// Without an embedding on either side, position alone must be this sure.
pub const MIN_IOU_WITHOUT_EMBEDDING: f32 = 0.5;

/// One face in one sampled frame, as the tracker needs it.
#[derive(Debug, Clone)]
pub struct FrameFace {
    pub bbox: BBox,
    pub score: f32,
    pub embedding: Option<Embedding>,
}

/// The best view of a track's face: the frame it was in and its box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BestView {
    pub frame: u64,
    pub bbox: BBox,
    quality: f32,
}

impl BestView {
    /// How good a view it is (embedded first, then score times size).
    pub fn quality(&self) -> f32 {
        self.quality
    }

    pub fn new(frame: u64, bbox: BBox, quality: f32) -> Self {
        BestView {
            frame,
            bbox,
            quality,
        }
    }
}

/// One face followed through consecutive samples.
#[derive(Debug, Clone)]
pub struct Track {
    /// Sample indices the face was seen in, increasing.
    pub frames: Vec<u64>,
    last_box: BBox,
    sum: [f32; DIM],
    embedded: usize,
    pub best: BestView,
}

impl Track {
    fn new(frame: u64, face: &FrameFace) -> Self {
        let mut t = Track {
            frames: Vec::new(),
            last_box: face.bbox,
            sum: [0.0; DIM],
            embedded: 0,
            best: BestView {
                frame,
                bbox: face.bbox,
                quality: f32::MIN,
            },
        };
        t.add(frame, face);
        t
    }

    fn add(&mut self, frame: u64, face: &FrameFace) {
        self.frames.push(frame);
        self.last_box = face.bbox;
        if let Some(e) = &face.embedding {
            for (s, v) in self.sum.iter_mut().zip(&e.0) {
                *s += v;
            }
            self.embedded += 1;
        }
        // Embedded faces first (the gate found them usable), then larger
        // and surer ones.
        let quality = face.score * face.bbox.w.min(face.bbox.h)
            + if face.embedding.is_some() { 1e6 } else { 0.0 };
        if quality > self.best.quality {
            self.best = BestView {
                frame,
                bbox: face.bbox,
                quality,
            };
        }
    }

    /// The mean of the members' embeddings, normalised: the one signature
    /// the persons clustering sees for this track. `None` when no face of
    /// the track was reliable enough to embed.
    pub fn embedding(&self) -> Option<Embedding> {
        if self.embedded == 0 {
            return None;
        }
        Embedding::from_raw(&self.sum)
    }

    /// A track as a shard file recorded it (`shard::TrackRecord`), for
    /// the persons pass of `merge`: its frames, best view and embedding.
    pub fn restored(frames: Vec<u64>, best: BestView, embedding: Option<&Embedding>) -> Self {
        Track {
            last_box: best.bbox,
            frames,
            sum: embedding.map_or([0.0; DIM], |e| e.0),
            embedded: usize::from(embedding.is_some()),
            best,
        }
    }

    pub fn last_frame(&self) -> u64 {
        self.frames.last().copied().unwrap_or(0)
    }
}

/// Builds tracks from frames given in order.
#[derive(Debug, Default)]
pub struct Tracker {
    tracks: Vec<Track>,
    /// Indices into `tracks` still open.
    open: Vec<usize>,
}

impl Tracker {
    /// Adds the faces of sample `frame` (frames must come in increasing
    /// order); returns the index of the track each face went to.
    pub fn push(&mut self, frame: u64, faces: &[FrameFace]) -> Vec<usize> {
        self.open
            .retain(|&t| frame.saturating_sub(self.tracks[t].last_frame()) <= MAX_GAP);
        let means: Vec<Option<Embedding>> = self
            .open
            .iter()
            .map(|&t| self.tracks[t].embedding())
            .collect();
        // Every acceptable (track, face) pair, best first; greedy one-to-one.
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (k, &t) in self.open.iter().enumerate() {
            for (f, face) in faces.iter().enumerate() {
                let iou = self.tracks[t].last_box.iou(&face.bbox);
                let sim = match (&means[k], &face.embedding) {
                    (Some(a), Some(b)) => Some(a.similarity(b)),
                    _ => None,
                };
                let ok = match sim {
                    Some(s) => s >= SURE_SIMILARITY || (iou >= MIN_IOU && s >= MIN_SIMILARITY),
                    None => iou >= MIN_IOU_WITHOUT_EMBEDDING,
                };
                if ok {
                    pairs.push((iou + sim.unwrap_or(0.0), k, f));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut track_used = vec![false; self.open.len()];
        let mut went_to: Vec<Option<usize>> = vec![None; faces.len()];
        for (_, k, f) in pairs {
            if track_used[k] || went_to[f].is_some() {
                continue;
            }
            track_used[k] = true;
            went_to[f] = Some(self.open[k]);
            self.tracks[self.open[k]].add(frame, &faces[f]);
        }
        faces
            .iter()
            .zip(went_to)
            .map(|(face, t)| {
                t.unwrap_or_else(|| {
                    self.open.push(self.tracks.len());
                    self.tracks.push(Track::new(frame, face));
                    self.tracks.len() - 1
                })
            })
            .collect()
    }

    /// The tracks so far, in the order they started.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// All tracks, in the order they started.
    pub fn finish(self) -> Vec<Track> {
        self.tracks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emb(axis: usize) -> Option<Embedding> {
        let mut v = [0.0; DIM];
        v[axis] = 1.0;
        Embedding::from_raw(&v)
    }

    fn face(x: f32, axis: Option<usize>) -> FrameFace {
        FrameFace {
            bbox: BBox {
                x,
                y: 10.0,
                w: 100.0,
                h: 100.0,
            },
            score: 0.9,
            embedding: axis.and_then(emb),
        }
    }

    #[test]
    fn a_cut_to_another_face_in_the_same_place_starts_a_new_track() {
        let mut t = Tracker::default();
        for i in 0..4 {
            t.push(i, &[face(10.0 + i as f32, Some(0))]);
        }
        for i in 4..8 {
            t.push(i, &[face(10.0, Some(1))]);
        }
        let tracks = t.finish();
        assert_eq!(tracks.len(), 2);
        assert_eq!(tracks[0].frames, [0, 1, 2, 3]);
        assert_eq!(tracks[1].frames, [4, 5, 6, 7]);
        assert!(tracks[0].embedding().unwrap().similarity(&emb(0).unwrap()) > 0.99);
    }

    #[test]
    fn one_missed_sample_is_bridged_two_are_not() {
        let mut t = Tracker::default();
        t.push(0, &[face(10.0, Some(0))]);
        t.push(2, &[face(12.0, Some(0))]);
        t.push(5, &[face(14.0, Some(0))]);
        let tracks = t.finish();
        assert_eq!(tracks.len(), 2);
        assert_eq!(tracks[0].frames, [0, 2]);
        assert_eq!(tracks[1].frames, [5]);
    }

    #[test]
    fn two_faces_side_by_side_keep_their_tracks_and_unembedded_faces_go_by_position() {
        let mut t = Tracker::default();
        assert_eq!(t.push(0, &[face(10.0, Some(0)), face(400.0, None)]), [0, 1]);
        assert_eq!(t.push(1, &[face(405.0, None), face(15.0, Some(0))]), [1, 0]);
        // Far away and unembedded: position alone cannot link it.
        assert_eq!(t.push(2, &[face(800.0, None)]), [2]);
        let tracks = t.finish();
        assert_eq!(tracks.len(), 3);
        assert_eq!(tracks[0].frames, [0, 1]);
        assert_eq!(tracks[1].frames, [0, 1]);
        assert!(tracks[1].embedding().is_none());
        // The embedded view is the best one even if another is larger.
        assert_eq!(tracks[0].best.frame, 0);
    }
}
