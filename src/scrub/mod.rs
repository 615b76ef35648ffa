//! `onlooker scrub`: copies of photos that give nothing away, proven by
//! analysing each copy again. Faces (found at a lower threshold than
//! analysis uses, boxes enlarged for hair and ears) and text are covered,
//! the pixels re-encoded with no metadata, and the written bytes checked:
//! no face detected at the default threshold, no face the identity model
//! matches to an original one, no text read where text was, no metadata
//! block. A copy failing a check is reported and (unless `--write-failed`)
//! not kept.

pub mod container;
pub mod cover;
pub mod page;
pub mod video;

use std::io::Write;
use std::path::{Path, PathBuf};

use image::ImageFormat;
use schemars::JsonSchema;
use serde::Serialize;

use crate::batch::{self, Input};
use crate::error::{ImageError, SetupError};
use crate::exif::{self, Metadata};
use crate::face::{self, FaceDetector};
use crate::geometry::BBox;
use crate::identity::{self, Embedder, Embedding};
use crate::imageio::{self, DecodeLimits};
use crate::pipeline::{display_path, Analyzer, Options};
use crate::run::{resolve, DEFAULT_INPUT};
use crate::runtime::{self, Runtime};
use crate::text;
pub use container::Block;
pub use cover::Method;

/// Faces are covered from this detector score up, below the analysis
/// default (`face::DEFAULT_THRESHOLD`, 0.6): a small or turned face the
/// analysis would not report is covered too, at the price of some covered
/// patches that were no face.
pub const FACE_THRESHOLD: f32 = 0.3;
/// The face cover used when none is asked for (see README, "Scrub").
pub const DEFAULT_METHOD: Method = Method::Fill;
/// The report written next to the copies.
pub const REPORT: &str = "scrub-report.json";
/// Cover-and-verify rounds at most: what the re-analysis of a copy still
/// finds (a face next to a covered one, text at a covered line's edge) is
/// covered in the next round.
pub const ROUNDS: usize = 3;

/// Why a scrub run stopped before (or after) the images.
#[derive(Debug, thiserror::Error)]
pub enum ScrubError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("--out {}: that is, or is inside, the input {}; choose a folder outside the images", .out.display(), .input.display())]
    OutIsInput { out: PathBuf, input: PathBuf },
    #[error("--out {}: it holds the input {}; choose a folder that holds no input", .out.display(), .input.display())]
    OutHoldsInput { out: PathBuf, input: PathBuf },
    #[error("{} already exists: pass --force to replace it, or choose another --out", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise the scrub report: {0}")]
    Json(#[from] serde_json::Error),
}

/// Everything `onlooker scrub` is asked to do.
#[derive(Debug, Clone)]
pub struct ScrubConfig {
    /// Files and folders; empty means `samples`.
    pub paths: Vec<PathBuf>,
    pub out: PathBuf,
    pub method: Method,
    pub keep_faces: bool,
    pub keep_text: bool,
    pub keep_icc: bool,
    /// Keep a video's sound (re-encoded, without its tags).
    pub keep_audio: bool,
    pub force: bool,
    /// Write a copy that fails verification too (it is still reported as
    /// failed).
    pub write_failed: bool,
    /// Cover-and-verify rounds at most (see [`ROUNDS`]).
    pub rounds: usize,
    pub limits: DecodeLimits,
}

impl ScrubConfig {
    pub fn new(paths: Vec<PathBuf>, out: PathBuf) -> Self {
        ScrubConfig {
            paths,
            out,
            method: DEFAULT_METHOD,
            keep_faces: false,
            keep_text: false,
            keep_icc: false,
            keep_audio: false,
            force: false,
            write_failed: false,
            rounds: ROUNDS,
            limits: DecodeLimits::default(),
        }
    }
}

/// `scrub-report.json`. Field order is the JSON order.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScrubReport {
    pub version: u32,
    /// How faces were covered (absent with `--keep-faces`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faces: Option<Method>,
    /// The face detector score faces were covered from.
    pub face_threshold: f32,
    pub text_covered: bool,
    pub icc_kept: bool,
    pub files: Vec<ScrubFile>,
    pub summary: ScrubSummary,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ScrubSummary {
    pub files: usize,
    /// Copies written: all verified, unless `--write-failed` was given.
    pub written: usize,
    /// Copies that failed a check (not written unless `--write-failed`).
    pub failed_verification: usize,
    /// Inputs that could not be read or decoded, and copies that could not
    /// be written.
    pub errors: usize,
    /// Inputs that are videos.
    pub videos: usize,
    /// Face regions covered (for a video, summed over its frames).
    pub faces_covered: usize,
    /// Text regions covered (for a video, summed over its frames).
    pub text_covered: usize,
}

/// One input and its copy.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ScrubFile {
    pub input: String,
    /// Where the copy goes (written only when `written`).
    pub output: String,
    /// Set when the copy is in another format than the input (only JPEG
    /// and PNG are written, and MP4 for videos).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted: Option<String>,
    /// The upright picture's size in pixels (a photo's; a video's is in
    /// `video`): the regions below are in these pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub found: Found,
    pub removed: Removed,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    pub written: bool,
    /// Why the input could not be scrubbed (unreadable, undecodable, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A video's figures (frames, faces, covers, audio, time). For a video,
    /// `found.faces` counts the frames with a face at the analysis
    /// threshold, `found.faces_at_scrub_threshold` those at the scrub
    /// threshold, `found.text_lines` the text regions on its samples, and
    /// `removed.face_regions`/`text_regions` stay empty (they are per
    /// frame: see `face_regions_covered`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<video::VideoScrub>,
}

/// What the original gave away.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Found {
    /// Faces the analysis reports (at its default threshold, as the
    /// verification counts them in the copy).
    pub faces: usize,
    /// Faces from the scrub threshold up ([`FACE_THRESHOLD`]): the ones
    /// covered, unless `--keep-faces`.
    pub faces_at_scrub_threshold: usize,
    /// Text lines read (covered unless `--keep-text`).
    pub text_lines: usize,
    /// Metadata fields in plain words ("GPS position", "camera serial").
    pub metadata: Vec<String>,
    /// Blocks of the file other than pixels.
    pub blocks: Vec<Block>,
}

/// What the copy covers or leaves out.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Removed {
    /// Covered face regions (enlarged boxes) in upright pixels.
    pub face_regions: Vec<BBox>,
    pub text_regions: Vec<BBox>,
    /// Every metadata field and block of the original: none is copied.
    pub metadata: Vec<String>,
}

/// The re-analysis of the written copy.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Verification {
    pub passed: bool,
    /// Cover-and-verify rounds run (see [`ROUNDS`]); the last one is shown.
    pub rounds: usize,
    /// Faces the full pipeline finds in the copy at its default threshold.
    pub faces: usize,
    pub text_lines: usize,
    /// Metadata fields and blocks found in the copy.
    pub metadata: Vec<String>,
    pub failures: Vec<Failure>,
}

/// One failed check.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Failure {
    pub check: Check,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<BBox>,
    /// Seconds into a video where the check failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The pipeline detects a face in the copy.
    FaceDetected,
    /// A face of the copy matches an original face at the "possible"
    /// threshold.
    IdentityMatch,
    /// Text is read in the copy where text was covered.
    TextReadable,
    /// A metadata field or block is in the copy.
    Metadata,
    /// The copy could not be analysed again.
    Reanalysis,
}

impl Check {
    /// The name in `scrub-report.json`.
    pub fn name(self) -> &'static str {
        match self {
            Check::FaceDetected => "face_detected",
            Check::IdentityMatch => "identity_match",
            Check::TextReadable => "text_readable",
            Check::Metadata => "metadata",
            Check::Reanalysis => "reanalysis",
        }
    }
}

/// The metadata fields of a file in plain words.
pub fn metadata_words(m: &Metadata) -> Vec<String> {
    let mut w: Vec<&str> = Vec::new();
    if let Some(g) = &m.gps {
        w.push(if m.position().is_some() {
            "GPS position"
        } else {
            "GPS data"
        });
        if g.time.is_some() {
            w.push("GPS time");
        }
    }
    if m.taken_at.is_some() {
        w.push("capture time");
    }
    if m.modified_at.is_some() {
        w.push("modification time");
    }
    if let Some(c) = &m.camera {
        if c.make.is_some() || c.model.is_some() {
            w.push("camera make/model");
        }
        if c.serial.is_some() {
            w.push("camera serial");
        }
        if c.lens.is_some() {
            w.push("lens");
        }
    }
    for (present, word) in [
        (m.software.is_some(), "software"),
        (m.owner.is_some(), "owner name"),
        (m.artist.is_some(), "artist"),
        (m.copyright.is_some(), "copyright"),
        (m.description.is_some(), "description"),
        (m.orientation.is_some(), "orientation"),
        (m.error.is_some(), "unreadable EXIF"),
    ] {
        if present {
            w.push(word);
        }
    }
    w.into_iter().map(String::from).collect()
}

/// The models one scrub run uses: its own face detector at
/// [`FACE_THRESHOLD`], the text reader, the identity model, and a full
/// analyzer at the default thresholds for the verification. Faces and text
/// are looked for even when kept, so the report says what the photo holds.
struct Models {
    faces: FaceDetector,
    text: text::Reader,
    embedder: Embedder,
    verifier: Analyzer,
}

/// An input and where its copy goes.
struct Job {
    input: PathBuf,
    output: PathBuf,
    format: ImageFormat,
    /// Why no copy can be made before reading (unreadable, a duplicate).
    problem: Option<String>,
    /// A video: scrubbed by `video::scrub_video` into an MP4.
    video: bool,
}

/// The copy's format from the input's name: JPEG names stay JPEG,
/// everything else becomes PNG (renamed `.png` unless it is one).
fn target(rel: &Path) -> (PathBuf, ImageFormat) {
    let ext = rel
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" | "jfif" => (rel.to_path_buf(), ImageFormat::Jpeg),
        "png" => (rel.to_path_buf(), ImageFormat::Png),
        _ => (rel.with_extension("png"), ImageFormat::Png),
    }
}

fn jobs(paths: &[PathBuf], out: &Path) -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for root in paths {
        let is_dir = root.is_dir();
        for input in batch::collect_inputs(std::slice::from_ref(root)) {
            let (path, mut problem) = match input {
                Input::File(p) => (p, None),
                Input::Unreadable { path, reason } => (path, Some(reason)),
            };
            let video = problem.is_none() && crate::video::is_video(&path);
            let rel = match (is_dir, path.strip_prefix(root)) {
                (true, Ok(r)) => r.to_path_buf(),
                _ => PathBuf::from(path.file_name().unwrap_or(path.as_os_str())),
            };
            let (rel, format) = match video {
                true => (rel.with_extension("mp4"), ImageFormat::Png),
                false => target(&rel),
            };
            let output = out.join(rel);
            if !seen.insert(output.clone()) && problem.is_none() {
                problem = Some(format!(
                    "another input is already copied to {}",
                    output.display()
                ));
            }
            jobs.push(Job {
                input: path,
                output,
                format,
                problem,
                video,
            });
        }
    }
    jobs
}

/// Refuses an `--out` that is, lies inside or holds an input, and (without
/// `force`) any copy or report that would replace an existing file.
fn check_out(cfg: &ScrubConfig, paths: &[PathBuf], jobs: &[Job]) -> Result<(), ScrubError> {
    let out = resolve(&cfg.out);
    for input in paths {
        if out.starts_with(resolve(input)) {
            return Err(ScrubError::OutIsInput {
                out: cfg.out.clone(),
                input: input.clone(),
            });
        }
    }
    for job in jobs {
        if resolve(&job.input).starts_with(&out) {
            return Err(ScrubError::OutHoldsInput {
                out: cfg.out.clone(),
                input: job.input.clone(),
            });
        }
    }
    if !cfg.force {
        let report = cfg.out.join(REPORT);
        let page = cfg.out.join(page::PAGE);
        let mut targets = jobs.iter().map(|j| &j.output).chain([&report, &page]);
        if let Some(existing) = targets.find(|p| p.symlink_metadata().is_ok()) {
            return Err(ScrubError::Exists(existing.clone()));
        }
    }
    Ok(())
}

/// Scrubs every input `cfg` names. `progress` gets each file as it is done.
pub fn scrub(
    rt: &Runtime,
    cfg: &ScrubConfig,
    mut progress: impl FnMut(&ScrubFile),
) -> Result<ScrubReport, ScrubError> {
    let paths = if cfg.paths.is_empty() {
        vec![PathBuf::from(DEFAULT_INPUT)]
    } else {
        cfg.paths.clone()
    };
    let jobs = jobs(&paths, &cfg.out);
    check_out(cfg, &paths, &jobs)?;
    let mut models = Models {
        faces: FaceDetector::new(rt, 1, FACE_THRESHOLD)?,
        text: text::Reader::new(rt, 1)?,
        embedder: Embedder::new(rt, 1)?,
        verifier: Analyzer::new(
            rt,
            Options {
                limits: cfg.limits,
                // The checks are about faces and text; tags play no part.
                tags: false,
                ..Options::default()
            },
        )?,
    };
    std::fs::create_dir_all(&cfg.out).map_err(|source| ScrubError::Write {
        path: cfg.out.clone(),
        source,
    })?;
    let mut files = Vec::with_capacity(jobs.len());
    let mut summary = ScrubSummary::default();
    for job in &jobs {
        let mut file = ScrubFile {
            input: display_path(&job.input),
            output: display_path(&job.output),
            ..Default::default()
        };
        if let Some(p) = &job.problem {
            file.error = Some(p.clone());
        } else if job.video {
            let ext = |p: &Path| p.extension().map(|e| e.to_ascii_lowercase());
            if ext(&job.input) != ext(&job.output) {
                file.converted = Some("video written as MP4 (H.264)".into());
            }
            if let Err(e) = video::scrub_video(&mut models, cfg, job, &mut file) {
                file.error = Some(e);
            }
        } else if let Err(e) = scrub_one(&mut models, cfg, job, &mut file) {
            file.error = Some(e);
        }
        summary.files += 1;
        summary.videos += usize::from(job.video);
        summary.written += usize::from(file.written);
        summary.errors += usize::from(file.error.is_some());
        if file.verification.as_ref().is_some_and(|v| !v.passed) {
            summary.failed_verification += 1;
        }
        summary.faces_covered += file.removed.face_regions.len();
        summary.text_covered += file.removed.text_regions.len();
        if let Some(v) = &file.video {
            summary.faces_covered += v.face_regions_covered as usize;
            summary.text_covered += v.text_regions_covered as usize;
        }
        progress(&file);
        files.push(file);
    }
    let report = ScrubReport {
        version: 1,
        faces: (!cfg.keep_faces).then_some(cfg.method),
        face_threshold: FACE_THRESHOLD,
        text_covered: !cfg.keep_text,
        icc_kept: cfg.keep_icc,
        files,
        summary,
    };
    let path = cfg.out.join(REPORT);
    let json = serde_json::to_vec_pretty(&report)?;
    crate::report::write_atomic(&path, &json)
        .map_err(|source| ScrubError::Write { path, source })?;
    let inputs: Vec<PathBuf> = jobs.into_iter().map(|j| j.input).collect();
    let html = page::render(&report, &cfg.out, &inputs);
    let path = cfg.out.join(page::PAGE);
    crate::report::write_atomic(&path, html.as_bytes())
        .map_err(|source| ScrubError::Write { path, source })?;
    Ok(report)
}

/// Scrubs one file into `file`. An `Err` is the file's error (nothing
/// written); a failed verification is not an error.
fn scrub_one(
    m: &mut Models,
    cfg: &ScrubConfig,
    job: &Job,
    file: &mut ScrubFile,
) -> Result<(), String> {
    let err = |e: ImageError| e.to_string();
    let bytes = imageio::read_file(&job.input, &cfg.limits).map_err(err)?;
    let metadata = exif::read(&bytes);
    file.found.metadata = metadata_words(&metadata);
    file.found.blocks = container::blocks(&bytes);
    let loaded = imageio::decode(bytes, &cfg.limits).map_err(err)?;
    if loaded.format != job.format {
        file.converted = Some(format!("{:?} written as {:?}", loaded.format, job.format));
    }
    let icc = cfg
        .keep_icc
        .then(|| container::icc_profile(&loaded.bytes))
        .flatten();
    let rgb = loaded.rgb;
    let (w, h) = rgb.dimensions();
    (file.width, file.height) = (Some(w), Some(h));

    let faces = m.faces.detect(&rgb).map_err(err)?;
    let lines = m.text.read(&rgb).map_err(err)?;
    file.found.faces = faces
        .iter()
        .filter(|f| f.score >= face::DEFAULT_THRESHOLD)
        .count();
    file.found.faces_at_scrub_threshold = faces.len();
    file.found.text_lines = lines.len();
    let faces = if cfg.keep_faces { Vec::new() } else { faces };
    let lines = if cfg.keep_text { Vec::new() } else { lines };
    // Embedded before covering: the copy's faces are compared with these.
    let mut originals: Vec<Embedding> = Vec::new();
    for f in &faces {
        if let Ok(e) = m.embedder.embed_face(&rgb, f).map_err(err)? {
            originals.push(e);
        }
    }
    file.removed.metadata = file.found.metadata.clone();
    file.removed.metadata.extend(
        file.found
            .blocks
            .iter()
            .filter(|b| !(cfg.keep_icc && **b == Block::IccProfile))
            .map(|b| b.name().to_string()),
    );
    let mut face_boxes: Vec<BBox> = faces.iter().map(|f| f.bbox).collect();
    let mut text_boxes: Vec<BBox> = lines.iter().map(|l| l.bbox).collect();

    let dir = job.output.parent().unwrap_or(Path::new("."));
    let write_err =
        |what: &Path, e: std::io::Error| format!("cannot write {}: {e}", what.display());
    std::fs::create_dir_all(dir).map_err(|e| write_err(dir, e))?;
    let rounds = cfg.rounds.max(1);
    for round in 1..=rounds {
        file.removed.face_regions = face_boxes
            .iter()
            .map(|b| cover::face_region(b, w, h))
            .collect();
        file.removed.text_regions = text_boxes
            .iter()
            .map(|b| cover::text_region(b, w, h))
            .collect();
        let mut copy = rgb.clone();
        for r in &file.removed.face_regions {
            cover::cover_face(&mut copy, r, cfg.method);
        }
        for r in &file.removed.text_regions {
            cover::cover_text(&mut copy, r);
        }
        let encoded = container::encode(&copy, job.format, icc.as_deref())
            .map_err(|e| format!("cannot encode the copy: {e}"))?;
        drop(copy);
        let mut tmp = crate::report::temp_file_in(dir, ".tmp").map_err(|e| write_err(dir, e))?;
        tmp.write_all(&encoded)
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| write_err(tmp.path(), e))?;
        // Verified from the bytes on disk, not the ones in memory.
        let written = std::fs::read(tmp.path())
            .map_err(|e| format!("cannot read back {}: {e}", tmp.path().display()))?;
        let mut v = verify(m, cfg, job, &written, &originals, &file.removed);
        v.rounds = round;
        // What the re-analysis still finds is covered in the next round
        // (covering one face changes what the detector sees around it).
        let (mut more_faces, mut more_text) = (Vec::new(), Vec::new());
        for f in &v.failures {
            match (f.check, f.region) {
                (Check::FaceDetected, Some(r)) => more_faces.push(r),
                (Check::TextReadable, Some(r)) => more_text.push(r),
                _ => {}
            }
        }
        let last = round == rounds || (more_faces.is_empty() && more_text.is_empty());
        if v.passed || (last && cfg.write_failed) {
            let kept = persist(tmp, &job.output, cfg.force);
            file.verification = Some(v);
            kept.map_err(|e| write_err(&job.output, e))?;
            file.written = true;
            return Ok(());
        }
        file.verification = Some(v);
        if last {
            break;
        }
        face_boxes.extend(more_faces);
        text_boxes.extend(more_text);
    }
    Ok(())
}

/// Moves a copy from its temporary file into place, over an existing file
/// only with `force`.
fn persist(tmp: tempfile::NamedTempFile, output: &Path, force: bool) -> std::io::Result<()> {
    let kept = if force {
        tmp.persist(output)
    } else {
        tmp.persist_noclobber(output)
    };
    kept.map(drop).map_err(|e| e.error)
}

/// Analyses the written copy again and lists every check it fails.
fn verify(
    m: &mut Models,
    cfg: &ScrubConfig,
    job: &Job,
    written: &[u8],
    originals: &[Embedding],
    removed: &Removed,
) -> Verification {
    let mut v = Verification::default();
    let fail = |check, region, detail: String| Failure {
        check,
        region,
        time: None,
        detail,
    };
    let metadata = exif::read(written);
    v.metadata = metadata_words(&metadata);
    v.metadata.extend(
        container::blocks(written)
            .into_iter()
            .filter(|b| !(cfg.keep_icc && *b == Block::IccProfile))
            .map(|b| b.name().to_string()),
    );
    for word in &v.metadata {
        v.failures
            .push(fail(Check::Metadata, None, format!("{word} in the copy")));
    }
    let result = m.verifier.analyze_bytes(&job.output, written.to_vec());
    if let Some(e) = &result.error {
        v.failures.push(fail(Check::Reanalysis, None, e.clone()));
    }
    v.faces = result.faces.len();
    v.text_lines = result.text.len();
    if !cfg.keep_faces {
        for f in &result.faces {
            v.failures.push(fail(
                Check::FaceDetected,
                Some(f.bbox),
                format!("a face at score {:.2}", f.score),
            ));
            let Some(e) = &f.embedding else { continue };
            for o in originals {
                let s = e.similarity(o);
                if s >= identity::POSSIBLE {
                    v.failures.push(fail(
                        Check::IdentityMatch,
                        Some(f.bbox),
                        format!("matches an original face, similarity {s:.2}"),
                    ));
                }
            }
        }
    }
    if !cfg.keep_text {
        for line in &result.text {
            if removed.text_regions.iter().any(|r| overlaps(r, &line.bbox)) {
                v.failures.push(fail(
                    Check::TextReadable,
                    Some(line.bbox),
                    format!("text {:?} is read where text was covered", line.text),
                ));
            }
        }
    }
    v.passed = v.failures.is_empty();
    v
}

fn overlaps(a: &BBox, b: &BBox) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

/// What the original gave away, in words ("29 faces", "GPS position").
pub fn before_words(f: &ScrubFile) -> Vec<String> {
    let mut before = match &f.video {
        Some(vid) => vec![
            plural(vid.frames as usize, "frame"),
            format!("faces on {}", vid.frames_with_faces_at_analysis_threshold),
        ],
        None => vec![plural(f.found.faces, "face")],
    };
    if f.found.text_lines > 0 {
        let what = match f.video {
            Some(_) => "text region",
            None => "text line",
        };
        before.push(plural(f.found.text_lines, what));
    }
    before.extend(f.found.metadata.iter().cloned());
    before.extend(f.found.blocks.iter().map(|b| b.name().to_string()));
    before
}

/// What the re-analysis found in the copy, in words ("0 faces", "no
/// metadata").
pub fn after_words(f: &ScrubFile, v: &Verification) -> Vec<String> {
    let mut after = vec![plural(v.faces, "face")];
    if f.found.text_lines > 0 || v.text_lines > 0 {
        after.push(plural(v.text_lines, "text line"));
    }
    after.push(match (v.metadata.is_empty(), f.video.is_some()) {
        (true, true) if !f.found.metadata.is_empty() => "metadata dropped".into(),
        (true, _) => "no metadata".into(),
        (false, _) => v.metadata.join(", "),
    });
    match f.video.as_ref().map(|x| x.audio) {
        Some(video::AudioOutcome::Dropped) => after.push("audio dropped".into()),
        Some(video::AudioOutcome::Kept) => after.push("audio kept".into()),
        _ => {}
    }
    let icc = Block::IccProfile.name();
    if f.found.blocks.contains(&Block::IccProfile) && !f.removed.metadata.iter().any(|m| m == icc) {
        after.push(format!("{icc} kept"));
    }
    after
}

/// One failed check in words: check, time, detail, region.
pub fn failure_words(x: &Failure) -> String {
    let check = x.check.name();
    let check = match x.time {
        Some(t) => format!("{check} at {t:.1} s"),
        None => check.to_string(),
    };
    match x.region {
        Some(r) => format!(
            "{check}: {} at [{:.0}, {:.0}, {:.0}, {:.0}]",
            x.detail, r.x, r.y, r.w, r.h
        ),
        None => format!("{check}: {}", x.detail),
    }
}

/// What was covered, in words ("29 face regions covered, "), empty when
/// nothing was.
fn covered_words(f: &ScrubFile) -> String {
    match (f.removed.face_regions.len(), f.removed.text_regions.len()) {
        _ if f.video.as_ref().is_some_and(|x| x.frames_covered > 0) => {
            let x = f.video.as_ref().expect("checked just above");
            format!(
                "{} and {} covered on {}, ",
                plural(x.face_regions_covered as usize, "face region"),
                plural(x.text_regions_covered as usize, "text region"),
                plural(x.frames_covered as usize, "frame")
            )
        }
        (0, 0) => String::new(),
        (n, 0) => format!("{} covered, ", plural(n, "face region")),
        (0, t) => format!("{} covered, ", plural(t, "text region")),
        (n, t) => format!(
            "{} and {} covered, ",
            plural(n, "face region"),
            plural(t, "text region")
        ),
    }
}

/// The terminal line of one file: before -> after.
pub fn summary_line(f: &ScrubFile) -> String {
    let Some(v) = &f.verification else {
        return format!(
            "{}: not scrubbed: {}",
            f.input,
            f.error.as_deref().unwrap_or("?")
        );
    };
    let why = || {
        let why: Vec<String> = v.failures.iter().map(failure_words).collect();
        why.join("; ")
    };
    let covered = covered_words(f);
    let outcome = match (f.written, v.passed, &f.error) {
        (true, true, _) => format!("{covered}written to {}", f.output),
        (true, false, _) => format!(
            "written to {} although verification failed (--write-failed): {}",
            f.output,
            why()
        ),
        (false, _, Some(e)) => format!("NOT written: {e}"),
        (false, _, None) => format!("NOT written, verification failed: {}", why()),
    };
    format!(
        "{}: {} -> {} ({outcome})",
        f.input,
        before_words(f).join(", "),
        after_words(f, v).join(", ")
    )
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The `scrub` subcommand's arguments (here rather than in main.rs, which
/// must stay short).
#[derive(Debug, clap::Args)]
#[command(
    about = "Write copies with faces and text covered and no metadata, each verified by analysing it again",
    long_about = "Write copies with faces and text covered and no metadata, each verified by analysing it again.\n\nFaces are covered from detector score 0.3 (analysis reports from 0.6), each box widened by 25% of its width on both sides, raised by 45% and lowered by 15% of its height for hair, ears and chin. Every copy is analysed again at the default thresholds: a copy in which a face is detected, a face matches an original one (identity, \"possible\" threshold), text is read where text was, or any metadata is left, is reported and not written (unless --write-failed).\n\nVideos (recognised by content) are written as H.264 MP4: faces are looked for on every frame and each frame covers the faces of the two frames either side of it too, text is looked for twice a second and covered from the sample before to the sample after, container metadata is dropped, and audio too unless --keep-audio. The copy is checked with ffprobe and analysed again twice a second of footage, as `onlooker analyze` samples videos. Needs the ffmpeg program (Debian package ffmpeg)."
)]
pub struct ScrubArgs {
    /// Image or video files, or folders (searched recursively) [default: samples]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Folder for the copies (same relative layout), scrub-report.json and
    /// scrub-report.html; it may not be, be inside, or hold an input
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// How faces are covered: pixelate, blur or fill (solid black)
    #[arg(long, value_name = "METHOD", default_value = DEFAULT_METHOD.name(), value_parser = parse_method)]
    pub faces: Method,
    /// Leave faces uncovered
    #[arg(long)]
    pub keep_faces: bool,
    /// Leave text uncovered
    #[arg(long)]
    pub keep_text: bool,
    /// Keep the colour profile (it can name the device or software that made it)
    #[arg(long)]
    pub keep_icc: bool,
    /// Keep a video's sound in its copy (re-encoded to AAC, tags dropped);
    /// by default a copy has no audio, since voices identify people too
    #[arg(long)]
    pub keep_audio: bool,
    /// Replace existing copies and report in DIR
    #[arg(long)]
    pub force: bool,
    /// Write copies that fail verification too (still reported as failed,
    /// exit code 1)
    #[arg(long)]
    pub write_failed: bool,
    /// Folder holding the runtime and model files [env: ONLOOKER_MODELS]
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// Print nothing but errors
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_method(s: &str) -> Result<Method, String> {
    Method::parse(s).ok_or_else(|| "expected one of: pixelate, blur, fill".into())
}

/// Runs `onlooker scrub`: the exit code is 0 when every input was written
/// verified, 1 when some were not (or there were none).
pub fn cli(a: ScrubArgs) -> Result<std::process::ExitCode, ScrubError> {
    let cfg = ScrubConfig {
        method: a.faces,
        keep_faces: a.keep_faces,
        keep_text: a.keep_text,
        keep_icc: a.keep_icc,
        keep_audio: a.keep_audio,
        force: a.force,
        write_failed: a.write_failed,
        ..ScrubConfig::new(a.paths, a.out)
    };
    let rt = Runtime::load(&runtime::models_dir(a.models.as_deref()))?;
    let quiet = a.quiet;
    let report = scrub(&rt, &cfg, |f| {
        if !verified(f) {
            eprintln!("onlooker scrub: {}", summary_line(f));
        } else if !quiet {
            println!("{}", summary_line(f));
        }
    })?;
    let s = &report.summary;
    let good = report.files.iter().filter(|f| verified(f)).count();
    if !quiet {
        let unverified = match s.written - good {
            0 => String::new(),
            n => format!(", {n} written unverified"),
        };
        let videos = match s.videos {
            0 => String::new(),
            1 => " (1 video)".into(),
            n => format!(" ({n} videos)"),
        };
        println!(
            "{good} of {}{videos} copies written and verified in {} ({} face regions and {} text regions covered, a video's counted on every frame; {} failed verification{unverified}, {} errors); report: {} (and {})",
            s.files,
            cfg.out.display(),
            s.faces_covered,
            s.text_covered,
            s.failed_verification,
            s.errors,
            cfg.out.join(REPORT).display(),
            cfg.out.join(page::PAGE).display()
        );
    }
    Ok(u8::from(s.files == 0 || good < s.files).into())
}

/// Whether a file's copy was written and passed every check.
fn verified(f: &ScrubFile) -> bool {
    f.written && f.verification.as_ref().is_some_and(|v| v.passed)
}

/// The JSON Schema of `scrub-report.json`.
pub fn schema() -> schemars::Schema {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut s = generator.into_root_schema_for::<ScrubReport>();
    s.insert("title".into(), "onlooker scrub report".into());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_are_the_report_names() {
        for c in [
            Check::FaceDetected,
            Check::IdentityMatch,
            Check::TextReadable,
            Check::Metadata,
            Check::Reanalysis,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.name());
        }
    }

    #[test]
    fn copies_keep_jpeg_and_png_and_turn_the_rest_into_png() {
        assert_eq!(
            target(Path::new("a/b.JPG")),
            (PathBuf::from("a/b.JPG"), ImageFormat::Jpeg)
        );
        assert_eq!(
            target(Path::new("b.png")),
            (PathBuf::from("b.png"), ImageFormat::Png)
        );
        assert_eq!(
            target(Path::new("c.webp")),
            (PathBuf::from("c.png"), ImageFormat::Png)
        );
    }
}
