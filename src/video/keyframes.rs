//! Keyframes for the report: the samples worth showing again (each face
//! track's best view, each object kind's surest sighting), kept while the
//! samples go by with what was found on them (boxes and labels, never
//! pixels), and read again from the video ([`super::decode::frame_at`])
//! when the report is written.
//!
//! Memory follows the number of tracks and object kinds, not the video's
//! length: a sample that is no longer anyone's best is dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use image::RgbImage;

use super::decode;
use super::probe::{Container, StreamInfo};
use super::track::Track;
use super::VideoError;
use crate::geometry::BBox;
use crate::imageio::DecodeLimits;
use crate::result::{known_label, FaceIdentity, ImageResult, Label, VideoResult};

/// The kept samples of one video and where to read them again.
#[derive(Debug, Clone)]
pub struct Keyframes {
    pub source: PathBuf,
    container: Container,
    info: StreamInfo,
    pub fps: f64,
    /// What was found on each kept sample, by sample index; faces carry
    /// their person id once [`Keyframes::set_persons`] ran.
    pub frames: BTreeMap<u64, ImageResult>,
    /// The track of each face of each kept sample.
    face_tracks: BTreeMap<u64, Vec<usize>>,
    /// Per object kind, in the order of the video's `objects`: the sample
    /// and the box of its surest sighting.
    pub objects: Vec<(&'static str, u64, BBox)>,
}

/// What a shard file records of a video's keyframes
/// (`shard::VideoRecord`): the kept samples with what was found on them,
/// never pixels; `merge` reads the samples again from the video.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct KeyframesRecord {
    pub samples: Vec<KeptSample>,
    /// Per object kind, in the order of the video's `objects`.
    pub objects: Vec<KeptObject>,
}

/// One kept sample: its index, what was found on it and the track of each
/// of its faces.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct KeptSample {
    pub sample: u64,
    pub found: ImageResult,
    pub face_tracks: Vec<usize>,
}

/// An object kind's surest sighting: its sample and box.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct KeptObject {
    #[serde(deserialize_with = "known_label")]
    pub label: Label,
    pub sample: u64,
    #[serde(rename = "box")]
    pub bbox: BBox,
}

impl Keyframes {
    /// The keyframes as a shard file records them.
    pub fn record(&self) -> KeyframesRecord {
        KeyframesRecord {
            samples: self
                .frames
                .iter()
                .map(|(sample, found)| KeptSample {
                    sample: *sample,
                    found: found.clone(),
                    face_tracks: self.face_tracks.get(sample).cloned().unwrap_or_default(),
                })
                .collect(),
            objects: self
                .objects
                .iter()
                .map(|&(label, sample, bbox)| KeptObject {
                    label,
                    sample,
                    bbox,
                })
                .collect(),
        }
    }

    /// The keyframes of the video at `source` (sampled at `fps`) from their
    /// record, the video described again by ffprobe so that the report can
    /// read the samples; an error when the video is not there (any more).
    pub fn restored(
        source: &Path,
        fps: f64,
        limits: &DecodeLimits,
        record: KeyframesRecord,
    ) -> Result<Keyframes, VideoError> {
        let container = super::check_file(source)?;
        let max_side = limits.max_width.min(limits.max_height);
        let info = super::probe::probe(source, container, max_side, limits.max_alloc_bytes)?;
        let (frames, face_tracks) = record
            .samples
            .into_iter()
            .map(|s| ((s.sample, s.found), (s.sample, s.face_tracks)))
            .unzip();
        Ok(Keyframes {
            source: source.to_path_buf(),
            container,
            info,
            fps,
            frames,
            face_tracks,
            objects: record
                .objects
                .into_iter()
                .map(|o| (o.label, o.sample, o.bbox))
                .collect(),
        })
    }

    /// The sample a time of the video's timeline stands for.
    pub fn sample(&self, time: f64) -> u64 {
        (time * self.fps).round().max(0.0) as u64
    }

    /// Sample `index` read again from the video: the pixels the boxes of
    /// `frames[index]` were found on.
    pub fn read(&self, index: u64) -> Result<RgbImage, VideoError> {
        decode::frame_at(&self.source, self.container, &self.info, self.fps, index)
    }

    /// Gives the kept faces their person ids (`ids[t]`: track `t`'s).
    pub fn set_persons(&mut self, ids: &[Option<u32>]) {
        for (index, frame) in self.frames.iter_mut() {
            let Some(tracks) = self.face_tracks.get(index) else {
                continue;
            };
            for (face, t) in frame.faces.iter_mut().zip(tracks) {
                let no_identity = face.identity.and_then(|i| i.no_identity);
                face.identity = Some(FaceIdentity {
                    person: ids.get(*t).copied().flatten(),
                    no_identity,
                });
            }
        }
    }

    /// Only the samples the report shows: each person's best face (from
    /// `video.persons`) and each object kind's surest sighting.
    pub fn keep_shown(&mut self, video: &VideoResult) {
        let shown: BTreeSet<u64> = video
            .persons
            .iter()
            .map(|p| self.sample(p.best_face.frame_time))
            .chain(self.objects.iter().map(|o| o.1))
            .collect();
        self.frames.retain(|k, _| shown.contains(k));
        self.face_tracks.retain(|k, _| shown.contains(k));
    }
}

/// Collects the keyframes while the samples are folded in order.
#[derive(Debug, Default)]
pub struct Keeper {
    frames: BTreeMap<u64, (ImageResult, Vec<usize>)>,
    /// Per object kind: score, sample and box of its surest sighting.
    objects: BTreeMap<&'static str, (f32, u64, BBox)>,
}

impl Keeper {
    /// Offers sample `index` with what was found on it (`face_tracks[i]`:
    /// the track face `i` went to; `tracks`: all tracks so far). Kept when
    /// it is now some track's best view or some object kind's surest
    /// sighting.
    pub fn offer(
        &mut self,
        index: u64,
        shown: ImageResult,
        face_tracks: Vec<usize>,
        tracks: &[Track],
    ) {
        let mut wanted = face_tracks
            .iter()
            .any(|&t| tracks.get(t).is_some_and(|t| t.best.frame == index));
        for o in &shown.objects {
            let best = self
                .objects
                .entry(o.label)
                .or_insert((f32::NEG_INFINITY, index, o.bbox));
            if o.score > best.0 {
                *best = (o.score, index, o.bbox);
                wanted = true;
            }
        }
        if wanted {
            self.frames.insert(index, (shown, face_tracks));
        }
        if self.frames.len() > 2 * (tracks.len() + self.objects.len()) + 8 {
            self.prune(tracks);
        }
    }

    /// Drops the samples that are no longer anyone's best.
    fn prune(&mut self, tracks: &[Track]) {
        let needed: BTreeSet<u64> = tracks
            .iter()
            .map(|t| t.best.frame)
            .chain(self.objects.values().map(|o| o.1))
            .collect();
        self.frames.retain(|k, _| needed.contains(k));
    }

    /// The keyframes of the video at `source`, objects in the order of
    /// `object_order` (the video's object lanes).
    pub fn finish(
        mut self,
        tracks: &[Track],
        source: &Path,
        container: Container,
        info: StreamInfo,
        fps: f64,
        object_order: &[&'static str],
    ) -> Keyframes {
        self.prune(tracks);
        let objects = object_order
            .iter()
            .filter_map(|label| self.objects.get(label).map(|o| (*label, o.1, o.2)))
            .collect();
        let (frames, face_tracks) = self
            .frames
            .into_iter()
            .map(|(k, (r, t))| ((k, r), (k, t)))
            .unzip();
        Keyframes {
            source: source.to_path_buf(),
            container,
            info,
            fps,
            frames,
            face_tracks,
            objects,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Face, Object};
    use crate::video::track::{FrameFace, Tracker};

    fn b(x: f32) -> BBox {
        BBox {
            x,
            y: 0.0,
            w: 50.0,
            h: 50.0,
        }
    }

    #[test]
    fn keeps_each_tracks_best_view_and_each_kinds_surest_sighting_only() {
        let mut tracker = Tracker::default();
        let mut keeper = Keeper::default();
        // One face growing for 100 samples (each sample is its best view
        // for a moment), a cup seen surest at sample 7.
        for i in 0..100u64 {
            let face = FrameFace {
                bbox: BBox {
                    w: 50.0 + i as f32,
                    h: 50.0 + i as f32,
                    ..b(10.0)
                },
                score: 0.9,
                embedding: None,
            };
            let went = tracker.push(i, std::slice::from_ref(&face));
            let shown = ImageResult {
                faces: vec![Face {
                    bbox: face.bbox,
                    ..Default::default()
                }],
                objects: vec![Object {
                    label: "cup",
                    score: if i == 7 { 0.9 } else { 0.5 },
                    class_id: 41,
                    bbox: b(300.0),
                }],
                ..Default::default()
            };
            keeper.offer(i, shown, went, tracker.tracks());
            assert!(keeper.frames.len() <= 2 * 2 + 8 + 1, "bounded");
        }
        let tracks = tracker.finish();
        let info = StreamInfo {
            index: 0,
            width: 640,
            height: 480,
            rotation: 0,
            frame_rate: None,
            duration_seconds: 50.0,
        };
        let mut k = keeper.finish(
            &tracks,
            Path::new("v.mp4"),
            Container::Mp4,
            info,
            2.0,
            &["cup"],
        );
        assert_eq!(k.frames.keys().copied().collect::<Vec<_>>(), [7, 99]);
        assert_eq!(k.objects, [("cup", 7, b(300.0))]);
        k.set_persons(&[Some(3)]);
        assert_eq!(k.frames[&99].faces[0].identity.unwrap().person, Some(3));
        assert_eq!(k.sample(49.5), 99);
    }
}
