//! Videos: what a service like Azure AI Video Indexer extracts from
//! footage, done locally. A video is sampled at `--fps` frames per second
//! by the `ffmpeg` program (a child process, frames over a pipe, never temp
//! files), every sampled frame goes through the same [`Analyzer`] as a
//! photo, on all workers, and the per-frame findings become a timeline:
//! faces linked into tracks ([`track`]), tracks given the batch's person
//! ids by the persons pass (shared with the photos), objects and text lines
//! with the time ranges they are visible ([`timeline`]).
//!
//! - [`probe`]: the container sniffed from content; ffprobe's description.
//! - [`tool`]: running ffprobe/ffmpeg; children killed and reaped on drop.
//! - [`decode`]: raw RGB frames from ffmpeg's `fps` filter, or every frame.
//! - [`encode`]: raw RGB frames into an H.264 MP4 with no metadata (scrub).
//! - [`keyframes`]: the samples the report shows again (best faces, surest
//!   objects), kept as boxes and read again from the video.
//!
//! Memory is bounded whatever the video's length: at most one frame per
//! worker plus one per worker waiting in a bounded channel is in memory;
//! what is kept per frame is a few boxes, embeddings and words.

pub mod decode;
pub mod encode;
pub mod keyframes;
pub mod probe;
pub mod timeline;
pub mod tool;
pub mod track;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};

use image::RgbImage;

use crate::batch::Engine;
use crate::error::SetupError;
use crate::imageio::DecodeLimits;
use crate::pipeline::{display_path, Analyzer};
use crate::result::{Evidence, FindingKind, ImageResult, Sentence, VideoResult};

use keyframes::{Keeper, Keyframes};
pub use probe::{has_video_extension, sniff_path, Container};
use timeline::{Clock, Sightings};
use track::{FrameFace, Track, Tracker};

/// Frames analysed per second of footage unless `--fps` says otherwise.
pub const DEFAULT_FPS: f64 = 2.0;
/// Highest `--fps` accepted: beyond it nearly every frame of common
/// footage is sampled, and the cost grows with no gain.
pub const MAX_FPS: f64 = 60.0;

/// Why a video could not be (fully) analysed. Recorded on that video; the
/// batch goes on. [`VideoError::ToolMissing`] also makes the run end with
/// exit code 2, after everything else was analysed.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error("file is empty")]
    Empty,
    #[error("cannot read file: {0}")]
    Read(#[source] std::io::Error),
    #[error("not a regular file")]
    NotAFile,
    #[error("not a recognised video container (supported: MP4/MOV, Matroska/WebM, AVI)")]
    NotAVideo,
    #[error("`{program}` not found (tried {}): install the Debian package `{}` (apt-get install {}), or name the program with {env}", .path.display(), tool::PACKAGE, tool::PACKAGE)]
    ToolMissing {
        program: &'static str,
        path: PathBuf,
        env: &'static str,
    },
    #[error("cannot run {program}: {reason}")]
    Start {
        program: &'static str,
        reason: String,
    },
    #[error("corrupt or unreadable video: {0}")]
    Unreadable(String),
    #[error("no video stream in the file (audio only?)")]
    NoVideoStream,
    #[error("the video stream states no frame size")]
    NoFrameSize,
    #[error("frames are {width}x{height} pixels, over the limit of {max_side} per side or {max_frame_mib} MiB per frame (raise it with --max-pixels-side or --max-alloc-mib)")]
    TooLarge {
        width: u64,
        height: u64,
        max_side: u32,
        max_frame_mib: u64,
    },
    #[error("cannot read frames from ffmpeg: {0}")]
    Pipe(String),
    #[error("cannot decode the video: {0}")]
    Decode(String),
    #[error("damaged or truncated video (the frames before the damage were analysed): {0}")]
    Damaged(String),
    #[error("cannot write the video {}: {reason}", .path.display())]
    Encode { path: PathBuf, reason: String },
    #[error("{failed} of {total} sampled frames could not be analysed: {first}")]
    Frames {
        failed: u64,
        total: u64,
        first: String,
    },
}

/// How videos are sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoOptions {
    /// Frames analysed per second of footage.
    pub fps: f64,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions { fps: DEFAULT_FPS }
    }
}

impl VideoOptions {
    /// `None` unless `fps` is a number in (0, [`MAX_FPS`]].
    pub fn new(fps: f64) -> Option<Self> {
        (fps.is_finite() && fps > 0.0 && fps <= MAX_FPS).then_some(VideoOptions { fps })
    }
}

/// Whether an input is a video: its content says so, or (for a file whose
/// content is no known format) its name does, so that an empty or broken
/// `clip.mp4` is reported as a video rather than as an image.
pub fn is_video(path: &Path) -> bool {
    sniff_path(path).is_some()
        || (has_video_extension(path) && !crate::batch::has_image_extension(path))
}

/// One analysed video: its result (persons filled by [`Analysed::set_persons`]
/// after the batch's persons pass) and its face tracks.
#[derive(Debug)]
pub struct Analysed {
    pub result: VideoResult,
    /// Face tracks in the order they started.
    pub tracks: Vec<Track>,
    pub clock: Clock,
    pub error: Option<VideoError>,
    /// The samples the report shows again; `None` when nothing was
    /// analysed.
    pub keyframes: Option<Keyframes>,
}

impl Analysed {
    pub(crate) fn failed(path: &Path, error: VideoError) -> Self {
        Analysed {
            result: VideoResult {
                path: display_path(path),
                error: Some(error.to_string()),
                ..Default::default()
            },
            tracks: Vec::new(),
            clock: Clock {
                fps: DEFAULT_FPS,
                duration: 0.0,
            },
            error: Some(error),
            keyframes: None,
        }
    }

    /// A video not tried because `missing` already found ffmpeg or ffprobe
    /// missing: the same error.
    pub fn same_error(path: &Path, missing: &Analysed) -> Self {
        let error = match &missing.error {
            Some(VideoError::ToolMissing { program, path, env }) => VideoError::ToolMissing {
                program,
                path: path.clone(),
                env,
            },
            _ => VideoError::Start {
                program: "ffmpeg",
                reason: "not tried".into(),
            },
        };
        Analysed::failed(path, error)
    }

    /// Whether ffmpeg or ffprobe is missing: the run's exit code is then 2.
    pub fn tool_missing(&self) -> bool {
        matches!(self.error, Some(VideoError::ToolMissing { .. }))
    }

    /// The persons on screen, from each track's person id (`None`: the
    /// track had no face reliable enough to tell who it is).
    pub fn set_persons(&mut self, ids: &[Option<u32>]) {
        self.result.persons = timeline::persons(&self.tracks, ids, &self.clock);
        if let Some(k) = self.keyframes.as_mut() {
            k.set_persons(ids);
            k.keep_shown(&self.result);
        }
    }
}

/// Analyses the video at `path` on the engine's workers. A problem with the
/// video is recorded in the result; only a setup failure (a model that
/// cannot be loaded) is an error.
pub fn analyze(
    engine: &Engine,
    path: &Path,
    options: &VideoOptions,
    limits: &DecodeLimits,
) -> Result<Analysed, SetupError> {
    let container = match check_file(path) {
        Ok(c) => c,
        Err(e) => return Ok(Analysed::failed(path, e)),
    };
    let max_side = limits.max_width.min(limits.max_height);
    let info = match probe::probe(path, container, max_side, limits.max_alloc_bytes) {
        Ok(i) => i,
        Err(e) => return Ok(Analysed::failed(path, e)),
    };
    let frames = match decode::open(path, container, &info, options.fps) {
        Ok(f) => f,
        Err(e) => return Ok(Analysed::failed(path, e)),
    };
    let clock = Clock {
        fps: options.fps,
        duration: info.duration_seconds,
    };
    let name = display_path(path);
    let mut collected = Collected::default();
    let decode_error = run_frames(engine, &name, frames, &mut collected)?;
    let error = decode_error.or_else(|| {
        collected
            .failed_first
            .take()
            .map(|first| VideoError::Frames {
                failed: collected.failed,
                total: collected.frames,
                first,
            })
    });
    let objects = timeline::objects(collected.objects, &clock);
    let tracks = collected.tracker.finish();
    let order: Vec<&'static str> = objects.iter().map(|o| o.label).collect();
    let frames_analysed = collected.frames - collected.failed;
    let keyframes = (frames_analysed > 0).then(|| {
        collected
            .keeper
            .finish(&tracks, path, container, info.clone(), options.fps, &order)
    });
    let mut analysed = Analysed {
        result: VideoResult {
            path: name,
            duration_seconds: info.duration_seconds,
            frames_analysed,
            width: info.width,
            height: info.height,
            persons: Vec::new(),
            objects,
            text: timeline::text(collected.text, &clock),
            tags: timeline::tags(collected.tags, &clock),
            error: error.as_ref().map(ToString::to_string),
        },
        tracks,
        clock,
        error,
        keyframes,
    };
    // Until the persons pass names them: the tracks' best views.
    let unnamed = vec![None; analysed.tracks.len()];
    if let Some(k) = analysed.keyframes.as_mut() {
        k.set_persons(&unnamed);
    }
    Ok(analysed)
}

/// The container of a file that should be a video, or why it is none.
pub(crate) fn check_file(path: &Path) -> Result<Container, VideoError> {
    let meta = std::fs::metadata(path).map_err(VideoError::Read)?;
    if !meta.is_file() {
        return Err(VideoError::NotAFile);
    }
    if meta.len() == 0 {
        return Err(VideoError::Empty);
    }
    sniff_path(path).ok_or(VideoError::NotAVideo)
}

/// What one sampled frame left behind: boxes, embeddings, labels, words
/// (`shown`: the frame's result without the embeddings, which `faces`
/// took).
struct FrameRecord {
    index: u64,
    faces: Vec<FrameFace>,
    shown: ImageResult,
}

impl FrameRecord {
    fn of(index: u64, mut r: ImageResult) -> Self {
        FrameRecord {
            index,
            faces: r
                .faces
                .iter_mut()
                .map(|f| FrameFace {
                    bbox: f.bbox,
                    score: f.score,
                    embedding: f.embedding.take(),
                })
                .collect(),
            shown: r,
        }
    }
}

/// The timeline being built, frame by frame in order.
#[derive(Default)]
struct Collected {
    tracker: Tracker,
    objects: Sightings<&'static str>,
    text: Sightings<String>,
    tags: Sightings<String>,
    keeper: Keeper,
    frames: u64,
    failed: u64,
    failed_first: Option<String>,
    /// Records that arrived before an earlier frame.
    pending: BTreeMap<u64, FrameRecord>,
    next: u64,
}

impl Collected {
    fn add(&mut self, record: FrameRecord) {
        self.pending.insert(record.index, record);
        while let Some(r) = self.pending.remove(&self.next) {
            self.next += 1;
            self.frames += 1;
            if let Some(e) = r.shown.error {
                self.failed += 1;
                self.failed_first.get_or_insert(e);
                continue;
            }
            let went_to = self.tracker.push(r.index, &r.faces);
            for o in &r.shown.objects {
                self.objects.add(o.label, r.index);
            }
            for t in &r.shown.text {
                let line = t.text.trim().to_string();
                if !line.is_empty() {
                    self.text.add(line, r.index);
                }
            }
            for t in &r.shown.tags {
                self.tags.add(t.name.clone(), r.index);
            }
            self.keeper
                .offer(r.index, r.shown, went_to, self.tracker.tracks());
        }
    }
}

/// Feeds ffmpeg's frames to the workers through a bounded channel (this
/// thread decodes, the workers analyse) and folds the records into
/// `collected` in frame order as they come back. Returns the decoding
/// problem, if any; a setup failure of a worker is the error.
fn run_frames(
    engine: &Engine,
    name: &str,
    frames: decode::Frames,
    collected: &mut Collected,
) -> Result<Option<VideoError>, SetupError> {
    let workers = engine.workers();
    let (frame_tx, frame_rx) = mpsc::sync_channel::<(u64, RgbImage)>(workers);
    let (record_tx, record_rx) = mpsc::channel::<FrameRecord>();
    let failure: Mutex<Option<SetupError>> = Mutex::new(None);
    let mut decode_error = None;
    // Taken when ffmpeg reached the end, to wait for its exit.
    let mut frames = Some(frames);
    std::thread::scope(|scope| {
        let failure = &failure;
        // Owns the receiving end: when every worker has stopped, it is
        // dropped, and a send on this thread fails instead of blocking.
        scope.spawn(move || {
            let frame_rx = Mutex::new(frame_rx);
            engine.pool().scope(|s| {
                for _ in 0..workers {
                    let (frame_rx, record_tx) = (&frame_rx, record_tx.clone());
                    s.spawn(move |_| frame_worker(engine, name, frame_rx, record_tx, failure));
                }
            });
        });
        while let Some(f) = frames.as_mut() {
            if engine.is_cancelled() {
                break;
            }
            match f.next_frame() {
                Ok(Some(frame)) => {
                    if frame_tx.send(frame).is_err() {
                        break;
                    }
                }
                Ok(None) => {
                    decode_error = frames.take().and_then(|f| f.finish().err());
                    break;
                }
                Err(e) => {
                    decode_error = Some(e);
                    break;
                }
            }
            while let Ok(r) = record_rx.try_recv() {
                collected.add(r);
            }
        }
        drop(frame_tx);
        for r in record_rx {
            collected.add(r);
        }
    });
    // A video cut short (cancelled, failed) drops `frames` here: ffmpeg is
    // killed and reaped.
    drop(frames);
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(decode_error),
    }
}

fn frame_worker(
    engine: &Engine,
    name: &str,
    frames: &Mutex<mpsc::Receiver<(u64, RgbImage)>>,
    records: mpsc::Sender<FrameRecord>,
    failure: &Mutex<Option<SetupError>>,
) {
    let mut own: Option<Analyzer> = None;
    loop {
        let next = frames.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok((index, rgb)) = next else { break };
        let label = format!("{name} frame {index}");
        let result = match engine.with_analyzer(&mut own, |a| a.analyze_rgb(&label, &rgb)) {
            Ok(Some(r)) => r,
            Ok(None) => ImageResult {
                error: Some(
                    "internal error while analysing this frame (a bug: please report it)".into(),
                ),
                ..Default::default()
            },
            Err(e) => {
                failure
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(e);
                break;
            }
        };
        drop(rgb);
        if records.send(FrameRecord::of(index, result)).is_err() {
            break;
        }
    }
    engine.give_back(own);
}

/// One findings sentence per person on screen in a video: "Person 1 is on
/// screen for 41 s in clip.mp4, from 0:03 to 0:44."
pub fn sentences(videos: &[VideoResult]) -> Vec<Sentence> {
    let mut out = Vec::new();
    for v in videos {
        let file = Path::new(&v.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| v.path.clone());
        for p in &v.persons {
            let (Some(first), Some(last)) = (p.appearances.first(), p.appearances.last()) else {
                continue;
            };
            let total: f64 = p.appearances.iter().map(|a| a.end - a.start).sum();
            let times = match p.appearances.len() {
                1 => String::new(),
                n => format!(" in {n} appearances"),
            };
            let text = format!(
                "Person {} is on screen for {} s in {file}, from {} to {}{times}.",
                p.id,
                total.round(),
                timeline::clock_text(first.start),
                timeline::clock_text(last.end),
            );
            out.push(Sentence {
                kind: FindingKind::Person,
                headline: text.clone(),
                text,
                evidence: vec![Evidence {
                    image: v.path.clone(),
                    fields: vec!["videos.persons"],
                }],
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::BBox;
    use crate::result::{BestFace, TimeRange, VideoPerson};

    #[test]
    fn a_sentence_per_person_on_screen_citing_the_video() {
        let r = |start, end| TimeRange { start, end };
        let person = |id, appearances| VideoPerson {
            id,
            appearances,
            best_face: BestFace {
                frame_time: 0.0,
                bbox: BBox {
                    x: 0.0,
                    y: 0.0,
                    w: 1.0,
                    h: 1.0,
                },
            },
        };
        let v = VideoResult {
            path: "footage/clip.mp4".into(),
            persons: vec![
                person(1, vec![r(3.0, 44.0)]),
                person(2, vec![r(0.0, 3.0), r(6.0, 9.5)]),
            ],
            ..Default::default()
        };
        let s = sentences(&[v]);
        assert_eq!(
            s[0].text,
            "Person 1 is on screen for 41 s in clip.mp4, from 0:03 to 0:44."
        );
        assert_eq!(
            s[1].text,
            "Person 2 is on screen for 7 s in clip.mp4, from 0:00 to 0:10 in 2 appearances."
        );
        assert_eq!(s[0].evidence[0].image, "footage/clip.mp4");
        assert_eq!(s[0].evidence[0].fields, ["videos.persons"]);
    }

    #[test]
    fn fps_is_checked() {
        assert!(VideoOptions::new(2.0).is_some());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_FPS + 1.0] {
            assert!(VideoOptions::new(bad).is_none(), "{bad}");
        }
    }
}
