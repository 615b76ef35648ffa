//! Scrubbing one video: faces covered on every frame, text covered around
//! the frames it was seen on, the pixels re-encoded into an MP4 with no
//! container metadata (audio only with `--keep-audio`), and the copy
//! analysed again.
//!
//! Two passes over the original, each one ffmpeg decoding every frame over
//! a pipe, one frame in memory at a time: the first finds faces on every
//! frame (at [`FACE_THRESHOLD`]) and text on [`TEXT_SAMPLES_PER_SECOND`]
//! frames a second, keeping only boxes; the second covers each frame and
//! hands it to the encoder. A frame covers the faces found on it and on
//! the [`FACE_REACH`] frames either side, so a face the detector misses on
//! one frame (motion blur, a turn) is still covered there; text found on a
//! sample is covered from the sample before to the sample after it.

use std::path::Path;
use std::time::Instant;

use image::RgbImage;
use schemars::JsonSchema;
use serde::Serialize;

use super::{cover, overlaps, Check, Failure, Job, Models, ScrubConfig, ScrubFile, Verification};
use crate::face;
use crate::geometry::BBox;
use crate::video::encode::{self, Encoder};
use crate::video::probe::{self, ContainerTags, StreamInfo};
use crate::video::{self, decode, Container, VideoError};

/// Frames either side of a frame whose faces it covers too.
pub const FACE_REACH: usize = 2;
/// Frames a second of footage on which text is looked for (text detection
/// takes about a quarter of a second a frame on one core, so every frame
/// would cost several times the footage's length).
pub const TEXT_SAMPLES_PER_SECOND: f64 = 2.0;
/// Face regions overlapping this much are covered as one (see [`merge`]).
const MERGE_IOU: f32 = 0.3;
/// The rate assumed when ffprobe states none.
const FALLBACK_FPS: f64 = 25.0;

/// What happened to a video's sound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AudioOutcome {
    /// The original has no audio stream.
    #[default]
    None,
    /// Left out of the copy (the default: voices identify too).
    Dropped,
    /// Re-encoded into the copy (`--keep-audio`), without its tags.
    Kept,
}

/// The figures of one scrubbed video in `scrub-report.json`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct VideoScrub {
    /// Frames read from the original: every frame, not samples.
    pub frames: u64,
    pub frame_rate: f64,
    pub duration_seconds: f64,
    pub width: u32,
    pub height: u32,
    /// Frames with a face at the scrub threshold.
    pub frames_with_faces: u64,
    /// Frames with a face at the analysis threshold (what `analyze` would
    /// see on them).
    pub frames_with_faces_at_analysis_threshold: u64,
    /// Faces found at the scrub threshold, summed over the frames.
    pub face_detections: u64,
    /// Face regions covered, summed over the frames (a frame covers the
    /// faces of the frames [`FACE_REACH`] either side too, overlapping
    /// regions merged into one).
    pub face_regions_covered: u64,
    /// Frames on which text was looked for.
    pub text_samples: u64,
    /// Text regions found on those samples.
    pub text_regions: u64,
    /// Text regions covered, summed over the frames.
    pub text_regions_covered: u64,
    /// Frames with anything covered.
    pub frames_covered: u64,
    pub audio: AudioOutcome,
    /// Frames of the copy the verification analysed (at `analyze`'s default
    /// rate).
    pub verification_samples: u64,
    /// Wall-clock seconds this file took, verification included.
    pub seconds: f64,
}

/// What the first pass keeps: boxes, never pixels.
#[derive(Debug, Default)]
struct Found {
    /// Face boxes at the scrub threshold, per frame.
    faces: Vec<Vec<BBox>>,
    /// Text boxes per text sample, by frame.
    text: Vec<(u64, Vec<BBox>)>,
}

/// A region covered over a stretch of frames, from a failed check.
#[derive(Debug, Clone, Copy)]
struct Hold {
    from: u64,
    to: u64,
    bbox: BBox,
    face: bool,
}

/// Whether frame `i` is a text sample, `step` frames apart (the first
/// frame of each stretch of `step`).
fn is_sample(i: u64, step: f64) -> bool {
    i == 0 || (i as f64 / step).floor() != ((i - 1) as f64 / step).floor()
}

/// Frames either side of a sample its text is held over: to the next
/// sample, so a frame between two samples is covered by both.
fn text_reach(step: f64) -> u64 {
    step.ceil().max(1.0) as u64
}

/// The face boxes frame `t` covers: its own and those of the frames
/// `reach` either side.
fn window(faces: &[Vec<BBox>], t: usize, reach: usize) -> Vec<BBox> {
    let from = t.saturating_sub(reach);
    let to = (t + reach + 1).min(faces.len());
    faces
        .get(from..to)
        .unwrap_or_default()
        .iter()
        .flatten()
        .copied()
        .collect()
}

/// The text boxes frame `t` covers: those of every sample within `reach`
/// frames (`samples` in frame order).
fn held(samples: &[(u64, Vec<BBox>)], t: u64, reach: u64) -> Vec<BBox> {
    let first = samples.partition_point(|(s, _)| *s + reach < t);
    samples[first..]
        .iter()
        .take_while(|(s, _)| *s <= t + reach)
        .flat_map(|(_, b)| b.iter().copied())
        .collect()
}

/// Regions that overlap by [`MERGE_IOU`] or more become the box holding
/// both: the same face seen on neighbouring frames is then covered once,
/// not five times (a blur or pixelation of a blur is slow and no safer),
/// and everything the separate regions covered is still covered.
fn merge(mut boxes: Vec<BBox>) -> Vec<BBox> {
    let mut i = 0;
    while i < boxes.len() {
        let mut merged = false;
        let mut j = i + 1;
        while j < boxes.len() {
            if boxes[i].iou(&boxes[j]) >= MERGE_IOU {
                let (a, b) = (boxes[i], boxes.swap_remove(j));
                let (x0, y0) = (a.x.min(b.x), a.y.min(b.y));
                let (x1, y1) = ((a.x + a.w).max(b.x + b.w), (a.y + a.h).max(b.y + b.h));
                boxes[i] = BBox {
                    x: x0,
                    y: y0,
                    w: x1 - x0,
                    h: y1 - y0,
                };
                merged = true;
            } else {
                j += 1;
            }
        }
        // A grown box may now overlap one it was checked against.
        if !merged {
            i += 1;
        }
    }
    boxes
}

fn quad_box(q: &crate::text::Quad) -> BBox {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for [x, y] in q {
        x0 = x0.min(*x);
        y0 = y0.min(*y);
        x1 = x1.max(*x);
        y1 = y1.max(*y);
    }
    BBox {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    }
}

/// Metadata of a container in plain words, as for photos ("creation
/// time", "location"). Tags every muxer writes and that say nothing
/// about the person (brand, handler, language) are left out.
pub(crate) fn metadata_words(t: &ContainerTags) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut add = |w: String| {
        if !words.contains(&w) {
            words.push(w);
        }
    };
    for (_, key, value) in &t.tags {
        if let Some(w) = tag_word(key, value) {
            add(w);
        }
    }
    for kind in &t.streams {
        if !matches!(kind.as_str(), "video" | "audio") {
            add(format!("{kind} stream"));
        }
    }
    if t.chapters > 0 {
        add("chapters".into());
    }
    words
}

/// A tag in plain words, or `None` for a structural one.
fn tag_word(key: &str, value: &str) -> Option<String> {
    let k = key.to_ascii_lowercase();
    let generic_handler = matches!(value, "VideoHandler" | "SoundHandler" | "");
    let word = match k.as_str() {
        "major_brand" | "minor_version" | "compatible_brands" | "language" => return None,
        "vendor_id" if value == "[0][0][0][0]" => return None,
        "handler_name" if generic_handler => return None,
        "encoder" if value.trim().is_empty() => return None,
        "creation_time" | "date" | "com.apple.quicktime.creationdate" => "creation time",
        _ if k.contains("location") || k == "\u{a9}xyz" => "location",
        _ if k.contains("make") || k.contains("model") || k.contains("manufacturer") => {
            "camera make/model"
        }
        _ if k.contains("software") => "software",
        "encoder" => "encoder",
        _ => return Some(format!("tag {key}")),
    };
    Some(word.into())
}

/// Scrubs the video of `job` into `file`. An `Err` is the file's error
/// (nothing written); a failed verification is not an error.
pub(super) fn scrub_video(
    m: &mut Models,
    cfg: &ScrubConfig,
    job: &Job,
    file: &mut ScrubFile,
) -> Result<(), String> {
    let started = Instant::now();
    let mut figures = VideoScrub::default();
    let result = run(m, cfg, job, file, &mut figures);
    figures.seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    file.video = Some(figures);
    result.map_err(|e| match e {
        // `analyze`'s wording says the frames before were analysed; here
        // nothing is written.
        VideoError::Damaged(why) => format!("damaged or truncated video, no copy made: {why}"),
        e => e.to_string(),
    })
}

fn run(
    m: &mut Models,
    cfg: &ScrubConfig,
    job: &Job,
    file: &mut ScrubFile,
    fig: &mut VideoScrub,
) -> Result<(), VideoError> {
    let container = video::check_file(&job.input)?;
    let max_side = cfg.limits.max_width.min(cfg.limits.max_height);
    let info = probe::probe(&job.input, container, max_side, cfg.limits.max_alloc_bytes)?;
    let tags = probe::container_tags(&job.input, container)?;
    file.found.metadata = metadata_words(&tags);
    file.removed.metadata = file.found.metadata.clone();
    let has_audio = tags.streams.iter().any(|s| s == "audio");
    fig.audio = match (has_audio, cfg.keep_audio) {
        (false, _) => AudioOutcome::None,
        (true, false) => AudioOutcome::Dropped,
        (true, true) => AudioOutcome::Kept,
    };
    let fps = info.frame_rate.unwrap_or(FALLBACK_FPS);
    fig.frame_rate = (fps * 1000.0).round() / 1000.0;
    fig.duration_seconds = info.duration_seconds;
    fig.width = info.width;
    fig.height = info.height;

    let found = find(m, cfg, job, container, &info, fps, fig)?;
    file.found.faces = fig.frames_with_faces_at_analysis_threshold as usize;
    file.found.faces_at_scrub_threshold = fig.frames_with_faces as usize;
    file.found.text_lines = fig.text_regions as usize;

    let dir = job.output.parent().unwrap_or(Path::new("."));
    let write_err = |what: &Path, e: std::io::Error| VideoError::Encode {
        path: what.to_path_buf(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| write_err(dir, e))?;
    let mut extra: Vec<Hold> = Vec::new();
    let rounds = cfg.rounds.max(1);
    for round in 1..=rounds {
        let tmp = crate::report::temp_file_in(dir, ".mp4").map_err(|e| write_err(dir, e))?;
        let text_reach = text_reach(fps / TEXT_SAMPLES_PER_SECOND);
        let written = cover_all(
            cfg,
            job,
            container,
            &info,
            fps,
            &found,
            &extra,
            text_reach,
            tmp.path(),
            fig,
        )?;
        let mut v = verify(
            m,
            cfg,
            tmp.path(),
            &info,
            fps,
            &found,
            &extra,
            text_reach,
            fig,
        );
        if written != fig.frames {
            v.failures.push(Failure {
                check: Check::Reanalysis,
                region: None,
                time: None,
                detail: format!("{written} frames written of {} read", fig.frames),
            });
            v.passed = false;
        }
        v.rounds = round;
        // What the re-analysis still finds is covered in the next round,
        // over the frames around the sample it was seen on.
        let reach = (fps / video::DEFAULT_FPS).ceil() as u64;
        let more: Vec<Hold> = v
            .failures
            .iter()
            .filter_map(|f| {
                let face = match f.check {
                    Check::FaceDetected => true,
                    Check::TextReadable => false,
                    _ => return None,
                };
                let at = (f.time? * fps).round() as u64;
                Some(Hold {
                    from: at.saturating_sub(reach),
                    to: at + reach,
                    bbox: f.region?,
                    face,
                })
            })
            .collect();
        let last = round == rounds || more.is_empty();
        if v.passed || (last && cfg.write_failed) {
            let kept = super::persist(tmp, &job.output, cfg.force);
            file.verification = Some(v);
            kept.map_err(|e| write_err(&job.output, e))?;
            file.written = true;
            return Ok(());
        }
        file.verification = Some(v);
        if last {
            break;
        }
        extra.extend(more);
    }
    Ok(())
}

/// First pass: faces on every frame, text on the samples.
fn find(
    m: &mut Models,
    cfg: &ScrubConfig,
    job: &Job,
    container: Container,
    info: &StreamInfo,
    fps: f64,
    fig: &mut VideoScrub,
) -> Result<Found, VideoError> {
    let mut found = Found::default();
    let step = fps / TEXT_SAMPLES_PER_SECOND;
    let mut frames = decode::open_every(&job.input, container, info)?;
    let frame_err = |i: u64, e: crate::error::ImageError| {
        VideoError::Decode(format!("frame {i} could not be searched: {e}"))
    };
    while let Some((i, frame)) = frames.next_frame()? {
        let faces = m.faces.locate(&frame).map_err(|e| frame_err(i, e))?;
        fig.frames += 1;
        fig.face_detections += faces.len() as u64;
        fig.frames_with_faces += u64::from(!faces.is_empty());
        fig.frames_with_faces_at_analysis_threshold +=
            u64::from(faces.iter().any(|f| f.score >= face::DEFAULT_THRESHOLD));
        found.faces.push(match cfg.keep_faces {
            true => Vec::new(),
            false => faces.iter().map(|f| f.bbox).collect(),
        });
        if !cfg.keep_text && is_sample(i, step) {
            let quads = m.text.detect(&frame).map_err(|e| frame_err(i, e))?;
            fig.text_samples += 1;
            fig.text_regions += quads.len() as u64;
            if !quads.is_empty() {
                found.text.push((i, quads.iter().map(quad_box).collect()));
            }
        }
    }
    // A damaged stretch is an error here (unlike in `analyze`): the copy
    // would silently lack what follows it.
    frames.finish()?;
    if fig.frames == 0 {
        return Err(VideoError::Decode("no frame could be decoded".into()));
    }
    Ok(found)
}

/// The regions frame `t` covers, clipped: faces enlarged as in photos,
/// text with its margin.
fn regions(
    t: u64,
    found: &Found,
    extra: &[Hold],
    text_reach: u64,
    (w, h): (u32, u32),
) -> (Vec<BBox>, Vec<BBox>) {
    let mut faces: Vec<BBox> = window(&found.faces, t as usize, FACE_REACH)
        .iter()
        .map(|b| cover::face_region(b, w, h))
        .collect();
    let mut text: Vec<BBox> = held(&found.text, t, text_reach)
        .iter()
        .map(|b| cover::text_region(b, w, h))
        .collect();
    for x in extra.iter().filter(|x| x.from <= t && t <= x.to) {
        match x.face {
            true => faces.push(cover::face_region(&x.bbox, w, h)),
            false => text.push(cover::text_region(&x.bbox, w, h)),
        }
    }
    (merge(faces), text)
}

/// Second pass: every frame covered and encoded into `out`; the frames
/// written.
#[allow(clippy::too_many_arguments)]
fn cover_all(
    cfg: &ScrubConfig,
    job: &Job,
    container: Container,
    info: &StreamInfo,
    fps: f64,
    found: &Found,
    extra: &[Hold],
    text_reach: u64,
    out: &Path,
    fig: &mut VideoScrub,
) -> Result<u64, VideoError> {
    let audio = cfg.keep_audio.then_some(encode::Audio {
        from: &job.input,
        container,
    });
    let mut encoder = Encoder::start(out, info.width, info.height, fps, audio)?;
    let mut frames = decode::open_every(&job.input, container, info)?;
    fig.face_regions_covered = 0;
    fig.text_regions_covered = 0;
    fig.frames_covered = 0;
    while let Some((t, mut frame)) = frames.next_frame()? {
        let (faces, text) = regions(t, found, extra, text_reach, frame.dimensions());
        cover_frame(&mut frame, &faces, &text, cfg.method);
        fig.face_regions_covered += faces.len() as u64;
        fig.text_regions_covered += text.len() as u64;
        fig.frames_covered += u64::from(!faces.is_empty() || !text.is_empty());
        encoder.write(&frame)?;
    }
    frames.finish()?;
    encoder.finish()
}

fn cover_frame(frame: &mut RgbImage, faces: &[BBox], text: &[BBox], method: cover::Method) {
    for r in faces {
        cover::cover_face(frame, r, method);
    }
    for r in text {
        cover::cover_text(frame, r);
    }
}

/// Analyses the written copy again: its container (ffprobe: tags, streams,
/// chapters) and its frames at `analyze`'s default rate, each through the
/// full pipeline at the default thresholds, as `onlooker analyze` samples
/// a video.
#[allow(clippy::too_many_arguments)]
fn verify(
    m: &mut Models,
    cfg: &ScrubConfig,
    copy: &Path,
    original: &StreamInfo,
    fps: f64,
    found: &Found,
    extra: &[Hold],
    text_reach: u64,
    fig: &mut VideoScrub,
) -> Verification {
    let mut v = Verification::default();
    let fail = |check, region, time, detail: String| Failure {
        check,
        region,
        time,
        detail,
    };
    match probe::container_tags(copy, Container::Mp4) {
        Ok(tags) => {
            v.metadata = metadata_words(&tags);
            let audio = tags.streams.iter().filter(|s| *s == "audio").count();
            if audio > 0 && !cfg.keep_audio {
                v.metadata.push("audio stream".into());
            }
            for word in &v.metadata {
                v.failures.push(fail(
                    Check::Metadata,
                    None,
                    None,
                    format!("{word} in the copy"),
                ));
            }
        }
        Err(e) => v.failures.push(fail(
            Check::Reanalysis,
            None,
            None,
            format!("ffprobe cannot read the copy: {e}"),
        )),
    }
    let max_side = cfg.limits.max_width.min(cfg.limits.max_height);
    let sample_fps = video::DEFAULT_FPS;
    let frames = probe::probe(copy, Container::Mp4, max_side, cfg.limits.max_alloc_bytes)
        .and_then(|info| decode::open(copy, Container::Mp4, &info, sample_fps));
    let mut frames = match frames {
        Ok(f) => f,
        Err(e) => {
            v.failures
                .push(fail(Check::Reanalysis, None, None, e.to_string()));
            v.passed = false;
            return v;
        }
    };
    let name = copy.to_string_lossy();
    let size = (original.width, original.height);
    fig.verification_samples = 0;
    loop {
        let (k, frame) = match frames.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                v.failures
                    .push(fail(Check::Reanalysis, None, None, e.to_string()));
                break;
            }
        };
        fig.verification_samples += 1;
        let time = k as f64 / sample_fps;
        let at = Some((time * 100.0).round() / 100.0);
        let r = m
            .verifier
            .analyze_rgb(&format!("{name} at {time:.1} s"), &frame);
        drop(frame);
        if let Some(e) = r.error {
            v.failures.push(fail(Check::Reanalysis, None, at, e));
            continue;
        }
        v.faces += r.faces.len();
        v.text_lines += r.text.len();
        if !cfg.keep_faces {
            for f in &r.faces {
                v.failures.push(fail(
                    Check::FaceDetected,
                    Some(f.bbox),
                    at,
                    format!("a face at score {:.2}", f.score),
                ));
            }
        }
        if !cfg.keep_text {
            // The frame of the original this sample shows.
            let t = (time * fps).round() as u64;
            let (_, covered) = regions(t, found, extra, text_reach, size);
            for line in &r.text {
                if covered.iter().any(|c| overlaps(c, &line.bbox)) {
                    v.failures.push(fail(
                        Check::TextReadable,
                        Some(line.bbox),
                        at,
                        format!("text {:?} is read where text was covered", line.text),
                    ));
                }
            }
        }
    }
    if let Err(e) = frames.finish() {
        v.failures.push(fail(
            Check::Reanalysis,
            None,
            None,
            format!("the copy does not decode cleanly: {e}"),
        ));
    }
    v.passed = v.failures.is_empty();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: f32) -> BBox {
        BBox {
            x,
            y: 0.0,
            w: 1.0,
            h: 1.0,
        }
    }

    #[test]
    fn a_frame_covers_the_faces_of_its_neighbours() {
        // A face missed on frame 3 is covered there by frames 1..5.
        let faces = vec![
            vec![b(0.0)],
            vec![b(1.0)],
            vec![b(2.0)],
            vec![],
            vec![b(4.0)],
            vec![b(5.0)],
            vec![b(6.0)],
        ];
        let xs = |v: Vec<BBox>| v.iter().map(|b| b.x).collect::<Vec<_>>();
        assert_eq!(xs(window(&faces, 3, 2)), [1.0, 2.0, 4.0, 5.0]);
        assert_eq!(xs(window(&faces, 0, 2)), [0.0, 1.0, 2.0]);
        assert_eq!(xs(window(&faces, 6, 2)), [4.0, 5.0, 6.0]);
        assert_eq!(xs(window(&faces, 3, 0)), Vec::<f32>::new());
        assert!(window(&faces, 40, 2).is_empty());
    }

    #[test]
    fn overlapping_regions_are_covered_once_by_the_box_holding_them() {
        let r = |x: f32, y: f32, w: f32, h: f32| BBox { x, y, w, h };
        let m = merge(vec![
            r(0.0, 0.0, 10.0, 10.0),
            r(100.0, 0.0, 10.0, 10.0),
            r(1.0, 1.0, 10.0, 10.0),
            r(2.0, 0.0, 10.0, 10.0),
        ]);
        assert_eq!(m, [r(0.0, 0.0, 12.0, 11.0), r(100.0, 0.0, 10.0, 10.0)]);
        assert!(merge(Vec::new()).is_empty());
    }

    #[test]
    fn text_is_held_from_the_sample_before_to_the_sample_after() {
        // 25 frames a second, 2 samples a second: samples 12.5 frames apart.
        let step = 25.0 / TEXT_SAMPLES_PER_SECOND;
        let samples: Vec<u64> = (0..60).filter(|&i| is_sample(i, step)).collect();
        assert_eq!(samples, [0, 13, 25, 38, 50]);
        let reach = text_reach(step);
        assert_eq!(reach, 13);
        let text = vec![(13, vec![b(1.0)]), (38, vec![b(3.0)])];
        let xs = |t| {
            held(&text, t, reach)
                .iter()
                .map(|b| b.x)
                .collect::<Vec<_>>()
        };
        assert_eq!(xs(0), [1.0]);
        assert_eq!(xs(26), [1.0, 3.0]);
        assert_eq!(xs(27), [3.0]);
        assert_eq!(xs(51), [3.0]);
        assert!(xs(52).is_empty());
        // Every frame is a sample when the video is slower than the rate.
        assert!((0..5).all(|i| is_sample(i, 0.5)));
        assert_eq!(text_reach(0.5), 1);
    }

    #[test]
    fn container_tags_in_plain_words() {
        let t = ContainerTags {
            tags: [
                ("format", "major_brand", "isom"),
                ("format", "creation_time", "2024-05-01T10:00:00Z"),
                ("format", "location", "+48.85+002.35/"),
                ("format", "com.apple.quicktime.model", "iPhone"),
                ("format", "encoder", "Lavf59"),
                ("stream 0 (video)", "handler_name", "VideoHandler"),
                ("stream 0 (video)", "vendor_id", "[0][0][0][0]"),
                ("stream 0 (video)", "encoder", ""),
                ("stream 1 (audio)", "title", "Holiday"),
            ]
            .map(|(a, b, c)| (a.into(), b.into(), c.into()))
            .to_vec(),
            streams: vec!["video".into(), "audio".into(), "data".into()],
            chapters: 2,
        };
        assert_eq!(
            metadata_words(&t),
            [
                "creation time",
                "location",
                "camera make/model",
                "encoder",
                "tag title",
                "data stream",
                "chapters"
            ]
        );
        assert!(metadata_words(&ContainerTags::default()).is_empty());
    }
}
