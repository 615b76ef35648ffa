//! One analysis run, as `onlooker analyze` does it: checking where the
//! outputs go, collecting the inputs, driving the [`Engine`], and routing
//! every result to its sinks (JSON Lines as results arrive, the terminal,
//! then the JSON document and the report folder). The binary only turns
//! arguments into a [`RunConfig`] and the [`Outcome`] or [`RunError`] into
//! an exit code.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::batch::{self, Engine, Input, Plan, Topology};
use crate::doubts;
use crate::error::SetupError;
use crate::findings::{self, Names};
use crate::gazetteer::Gazetteer;
use crate::identity;
use crate::identity::cluster::{self, FaceRecord};
use crate::identity::persons::{self, PersonFace};
use crate::pipeline::Options;
use crate::report::{self, OutputDir, ReportError, Written};
use crate::result::VideoResult;
use crate::result::{ImageResult, Summary};
use crate::runtime::Runtime;
use crate::shard::{self, Shard, ShardError};
use crate::stream::{JsonlWriter, Tally};
use crate::video::{self, VideoOptions};

/// The report folder used when none is named and no machine output is asked for.
pub const DEFAULT_OUT: &str = "onlooker-report";
/// What is analysed when no path is given.
pub const DEFAULT_INPUT: &str = "samples";

/// Everything `onlooker analyze` was asked to do.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Files and folders; empty means [`DEFAULT_INPUT`].
    pub paths: Vec<PathBuf>,
    /// The JSON document (`-` for standard output).
    pub json: Option<PathBuf>,
    /// Shape `json` as this provider's responses (`--as`).
    pub cloud: Option<crate::cloud::Provider>,
    /// JSON Lines, one image per line as results arrive (`-` for stdout).
    pub jsonl: Option<PathBuf>,
    /// The report folder, if named (`--out`).
    pub out: Option<PathBuf>,
    /// Write into a non-empty `out` that is not only an earlier report.
    pub force: bool,
    /// Write no report folder at all.
    pub no_report: bool,
    /// Print nothing but errors.
    pub quiet: bool,
    pub threads: usize,
    pub topology: Topology,
    pub analysis: Options,
    /// Write each face's embedding into `json` and `jsonl` (never into the
    /// report folder): biometric data, on request only.
    pub embeddings: bool,
    /// How videos among the inputs are sampled.
    pub video: VideoOptions,
    /// Analyse only this shard's inputs, recording them in the `jsonl`
    /// shard file (see `shard`).
    pub shard: Option<Shard>,
}

impl RunConfig {
    pub fn new(paths: Vec<PathBuf>, analysis: Options) -> Self {
        RunConfig {
            paths,
            json: None,
            cloud: None,
            jsonl: None,
            out: None,
            force: false,
            no_report: false,
            quiet: false,
            threads: batch::default_threads(),
            topology: Topology::default(),
            analysis,
            embeddings: false,
            video: VideoOptions::default(),
            shard: None,
        }
    }

    /// The inputs as given, or the default.
    pub fn input_paths(&self) -> Vec<PathBuf> {
        if self.paths.is_empty() {
            vec![PathBuf::from(DEFAULT_INPUT)]
        } else {
            self.paths.clone()
        }
    }

    /// Where the report folder goes: the named `--out`; else, when machine
    /// output was asked for, none (a script wants its file, not a folder
    /// next to it); else [`DEFAULT_OUT`].
    pub fn report_dir(&self) -> Option<PathBuf> {
        if self.no_report {
            return None;
        }
        match (&self.out, &self.json, &self.jsonl) {
            (Some(out), _, _) => Some(out.clone()),
            (None, None, None) => Some(PathBuf::from(DEFAULT_OUT)),
            _ => None,
        }
    }
}

/// Why a run stopped before analysing (or could not deliver its outputs).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("{0}")]
    Usage(String),
    #[error("{flag} {}: that is, or is inside, the input {}; choose a path outside the images being analysed", .path.display(), .input.display())]
    OutputIsInput {
        flag: &'static str,
        path: PathBuf,
        input: PathBuf,
    },
    #[error("cannot write {what}: {source}")]
    Write {
        /// A path, or "standard output".
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Shard(#[from] ShardError),
    #[error("cannot serialise the results: {0}")]
    Json(#[from] serde_json::Error),
}

fn write_error(what: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Write {
        what: what.display().to_string(),
        source,
    }
}

/// What a finished run found.
#[derive(Debug)]
pub struct Outcome {
    /// Inputs found (0 when the paths held no image).
    pub inputs: usize,
    pub summary: Summary,
    pub report: Option<Written>,
    /// Videos that could not be (fully) analysed.
    pub videos_failed: usize,
    /// Why videos could not be analysed at all (ffmpeg or ffprobe is
    /// missing): the message for the end of the run, which exits with 2
    /// although the images were analysed.
    pub video_setup: Option<String>,
}

impl Outcome {
    /// 0 when every image and video was analysed; 1 when some failed or
    /// none was found; 2 when videos could not be analysed at all.
    pub fn exit_code(&self) -> u8 {
        if self.video_setup.is_some() {
            return 2;
        }
        u8::from(self.inputs == 0 || self.summary.failed > 0 || self.videos_failed > 0)
    }
}

/// `path` made absolute with symlinks resolved as far as it exists, so an
/// output path can be compared with the inputs even before it is created.
pub(crate) fn resolve(path: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(path) {
        return c;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => resolve(parent).join(name),
        _ => absolute,
    }
}

/// Refuses an output path that is one of the inputs or lies inside an
/// input folder: results must never replace a photo, and a file written
/// among the photos would be read as one next time.
pub fn refuse_output_in_inputs(
    flag: &'static str,
    path: &Path,
    inputs: &[PathBuf],
) -> Result<(), RunError> {
    if path == Path::new("-") {
        return Ok(());
    }
    let target = resolve(path);
    for input in inputs {
        if target.starts_with(resolve(input)) {
            return Err(RunError::OutputIsInput {
                flag,
                path: path.to_path_buf(),
                input: input.clone(),
            });
        }
    }
    Ok(())
}

/// Runs the analysis `cfg` describes with the runtime `rt`.
pub fn analyze(rt: &Runtime, cfg: &RunConfig) -> Result<Outcome, RunError> {
    for (name, v) in [
        ("--face-threshold", cfg.analysis.face_threshold),
        ("--object-threshold", cfg.analysis.object_threshold),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(RunError::Usage(format!(
                "{name} must be between 0 and 1, got {v}"
            )));
        }
    }
    if cfg.threads == 0 {
        return Err(RunError::Usage("--threads must be at least 1".into()));
    }
    if VideoOptions::new(cfg.video.fps).is_none() {
        return Err(RunError::Usage(format!(
            "--fps must be above 0 and at most {}, got {}",
            video::MAX_FPS,
            cfg.video.fps
        )));
    }
    let stdout = Path::new("-");
    let json_to_stdout = cfg.json.as_deref() == Some(stdout);
    let jsonl_to_stdout = cfg.jsonl.as_deref() == Some(stdout);
    if json_to_stdout && jsonl_to_stdout {
        return Err(RunError::Usage(
            "--json - and --jsonl - cannot both write to standard output".into(),
        ));
    }
    if cfg.cloud.is_some() && cfg.json.is_none() {
        return Err(RunError::Usage(
            "--as shapes the --json document: give --json FILE (or --json - for standard output)"
                .into(),
        ));
    }
    if cfg.embeddings && cfg.json.is_none() && cfg.jsonl.is_none() {
        return Err(RunError::Usage(
            "--embeddings writes into --json or --jsonl: give one of them".into(),
        ));
    }
    if cfg.embeddings && !cfg.analysis.identity {
        return Err(RunError::Usage(
            "--embeddings and --no-identity contradict each other".into(),
        ));
    }
    if cfg.shard.is_some() {
        let why = if cfg.jsonl.is_none() || jsonl_to_stdout {
            Some("--shard records its results in a shard file: give --jsonl FILE")
        } else if cfg.json.is_some() || cfg.out.is_some() {
            Some("a shard holds part of the batch: its --json or report would be too; merge the shard files with `onlooker merge` for those")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(RunError::Usage(why.into()));
        }
        if cfg.analysis.identity && !cfg.embeddings && !cfg.quiet {
            eprintln!(
                "onlooker: without --embeddings, `onlooker merge` cannot tell who is who across the shards"
            );
        }
    }
    let paths = cfg.input_paths();
    let report_dir = cfg.report_dir();
    for (flag, p) in [
        ("--json", &cfg.json),
        ("--jsonl", &cfg.jsonl),
        ("--out", &report_dir),
    ] {
        if let Some(p) = p {
            refuse_output_in_inputs(flag, p, &paths)?;
        }
    }

    let inputs: Vec<Input> = batch::collect_inputs(&paths);
    // An older report inside a folder of photos (written before --out was
    // refused there) is not analysed as photos.
    let (inputs, skipped) = report::skip_report_outputs(inputs, &paths);
    if skipped > 0 && !cfg.quiet {
        eprintln!("onlooker: skipped {skipped} files inside onlooker report folders");
    }
    let inputs_total = inputs.len();
    // Each input's index in the whole batch, which a shard's records carry.
    let (inputs, batch_index): (Vec<Input>, Vec<usize>) = match &cfg.shard {
        Some(shard) => inputs
            .into_iter()
            .enumerate()
            .filter(|(_, input)| shard.owns(&shard::key(&paths, input.path())))
            .map(|(i, input)| (input, i))
            .unzip(),
        None => inputs.into_iter().zip(0..).unzip(),
    };
    let sources: Vec<PathBuf> = inputs.iter().map(|i| i.path().to_path_buf()).collect();
    // Checked before the analysis, so a long run cannot end in this error.
    let out_dir = match &report_dir {
        Some(dir) => {
            Some(OutputDir::check(dir, cfg.force, &sources)?.with_map_data(&rt.models_dir))
        }
        None => None,
    };
    let mut lines = match (&cfg.shard, &cfg.jsonl) {
        (Some(shard), Some(p)) => {
            let header = shard::Header {
                format: shard::FORMAT,
                onlooker: env!("CARGO_PKG_VERSION").into(),
                shard: *shard,
                roots: paths.iter().map(|p| p.display().to_string()).collect(),
                inputs_total,
                inputs: inputs.len(),
                settings: shard::Settings::of(&cfg.analysis, &cfg.video, cfg.embeddings),
            };
            match shard::open(p, &header)? {
                shard::Resume::Complete(end) => {
                    if !cfg.quiet {
                        eprintln!(
                            "onlooker: shard {shard} is complete in {}: {} images, {} videos; nothing to do",
                            p.display(),
                            end.images,
                            end.videos
                        );
                    }
                    return Ok(Outcome {
                        inputs: end.images + end.videos,
                        summary: Summary {
                            images: end.images,
                            failed: end.failed,
                            ..Summary::default()
                        },
                        report: None,
                        videos_failed: 0,
                        video_setup: None,
                    });
                }
                shard::Resume::Open { writer, done } => Lines::Shard {
                    writer,
                    done,
                    batch_index: &batch_index,
                },
            }
        }
        (None, Some(p)) => Lines::Plain(JsonlWriter::create(p).map_err(write_error(p))?),
        (_, None) => Lines::None,
    };
    // Videos go their own way (frames in parallel, one video at a time),
    // after the images; `order` maps each image back to its input index.
    let (image_inputs, image_order, video_inputs) = split_videos(&inputs, |i| lines.done(i));

    // Results stream through: only the JSON document and the report need
    // them all at the end, so only then are they kept (no pixels, a few
    // hundred bytes each).
    let keep = cfg.json.is_some() || out_dir.is_some();
    // Per-image lines go wherever the JSON is not.
    let lines_to_stderr = json_to_stdout || jsonl_to_stdout;
    let progress = progress_bar(image_inputs.len() as u64, cfg.quiet);
    let start = Instant::now();
    let engine = Engine::new(
        rt,
        &cfg.analysis,
        Plan {
            threads: cfg.threads,
            topology: cfg.topology,
        },
    )?;
    let mut kept: Vec<(usize, ImageResult)> = Vec::new();
    // Every embedded face, kept whatever the outputs: the persons pass
    // needs them all (512 bytes each, no pixels).
    let mut embedded: Vec<Embedded> = Vec::new();
    let mut tally = Tally::default();
    // An output that cannot be written stops the run: nobody would see the
    // rest. A reader that went away (`| head`) is not an error.
    let mut output_error: Option<RunError> = None;
    let mut fail = |what: String, e: std::io::Error| {
        if e.kind() != std::io::ErrorKind::BrokenPipe && output_error.is_none() {
            output_error = Some(RunError::Write { what, source: e });
        }
        engine.cancel();
    };
    engine.run(&image_inputs, |i, mut r| {
        let i = image_order[i];
        if cfg.embeddings {
            for f in r.faces.iter_mut() {
                f.embedding_written = f.embedding.clone();
            }
        }
        tally.add(&r);
        embedded.extend(image_faces(i, &r));
        if let (Err(e), Some(p)) = (lines.image(i, &r), &cfg.jsonl) {
            fail(p.display().to_string(), e);
        }
        progress.suspend(|| {
            if !cfg.quiet {
                let line = report::image_line(&r);
                if lines_to_stderr {
                    eprint!("{line}");
                } else {
                    match print_stdout(&line) {
                        Ok(true) => {}
                        Ok(false) => engine.cancel(),
                        Err(e) => fail("standard output".into(), e),
                    }
                }
            } else if let Some(e) = &r.error {
                eprintln!("{}: {e}", r.path);
            }
        });
        progress.inc(1);
        if keep {
            kept.push((i, r));
        }
    })?;
    progress.finish_and_clear();
    if let Some(e) = output_error {
        return Err(e);
    }
    // The summary's rate is of the images: measured before the videos.
    let images_seconds = start.elapsed().as_secs_f64();
    let videos = analyze_videos(&engine, cfg, &video_inputs, &mut embedded)?;
    if let Lines::Shard { writer, .. } = &mut lines {
        let shard = cfg.shard.expect("shard lines are written for a shard");
        let path = cfg.jsonl.as_deref().unwrap_or(Path::new("-"));
        return finish_shard(
            writer,
            shard,
            path,
            cfg,
            ShardRun {
                batch_index: &batch_index,
                videos: &video_inputs,
                analysed: videos,
                tally: &tally,
                images: image_inputs.len(),
                images_seconds,
                cancelled: engine.is_cancelled(),
            },
        );
    }
    drop(lines);
    deliver(
        &rt.models_dir,
        cfg,
        out_dir,
        Collected {
            inputs: inputs.len(),
            paths,
            tally,
            kept,
            embedded,
            videos,
            images_seconds,
            sources,
        },
    )
}

/// Where per-input results go as they arrive.
enum Lines<'a> {
    None,
    /// `--jsonl`: one `ImageResult` per line.
    Plain(JsonlWriter),
    /// `--jsonl` with `--shard`: the shard file's records.
    Shard {
        writer: shard::ShardWriter,
        /// Inputs (by batch index) an earlier session of the shard recorded.
        done: HashSet<usize>,
        /// Each input's index in the whole batch.
        batch_index: &'a [usize],
    },
}

impl Lines<'_> {
    /// Whether the input `i` (of this run) is recorded already.
    fn done(&self, i: usize) -> bool {
        match self {
            Lines::Shard {
                done, batch_index, ..
            } => done.contains(&batch_index[i]),
            _ => false,
        }
    }

    fn image(&mut self, i: usize, r: &ImageResult) -> std::io::Result<()> {
        match self {
            Lines::None => Ok(()),
            Lines::Plain(w) => w.write(r),
            Lines::Shard {
                writer,
                batch_index,
                ..
            } => writer
                .write(&shard::Record::Image {
                    input: batch_index[i],
                    result: r.clone(),
                })
                .map_err(std::io::Error::other),
        }
    }
}

/// What a shard run analysed, for its file's last records.
struct ShardRun<'a> {
    batch_index: &'a [usize],
    /// The videos' run indices and paths, and what was learned of them.
    videos: &'a [(usize, PathBuf)],
    analysed: Vec<video::Analysed>,
    tally: &'a Tally,
    /// Images analysed in this session, and the seconds they took.
    images: usize,
    images_seconds: f64,
    cancelled: bool,
}

/// Writes a shard's video records and, when every input is in, its end
/// record; persons, findings and reports wait for `onlooker merge`.
fn finish_shard(
    writer: &mut shard::ShardWriter,
    shard: shard::Shard,
    path: &Path,
    cfg: &RunConfig,
    run: ShardRun,
) -> Result<Outcome, RunError> {
    let ShardRun {
        batch_index,
        videos,
        analysed,
        tally,
        images,
        images_seconds,
        cancelled,
    } = run;
    for ((i, _), v) in videos.iter().zip(&analysed) {
        writer.write(&shard::Record::Video(video_record(
            batch_index[*i],
            v,
            cfg.embeddings,
        )))?;
    }
    let videos_failed = analysed.iter().filter(|v| v.result.error.is_some()).count();
    let summary = tally.summary(images_seconds);
    let complete = !cancelled && analysed.len() == videos.len();
    if complete {
        let records = shard::ShardFile::count(path)?;
        writer.write(&shard::Record::End(shard::End {
            images: records.images,
            videos: records.videos,
            failed: records.failed,
            timed_images: images,
            seconds: images_seconds,
        }))?;
    }
    if !cfg.quiet {
        eprintln!(
            "onlooker: shard {shard} {} in {}: {images} images and {} videos analysed in this run; merge all {} shards with `onlooker merge`",
            if complete { "complete" } else { "interrupted" },
            path.display(),
            analysed.len(),
            shard.count
        );
    }
    Ok(Outcome {
        inputs: images + analysed.len(),
        summary,
        report: None,
        videos_failed,
        video_setup: analysed
            .iter()
            .find(|v| v.tool_missing())
            .and_then(|v| v.error.as_ref())
            .map(ToString::to_string),
    })
}

/// A video as its shard file records it.
fn video_record(input: usize, v: &video::Analysed, embeddings: bool) -> shard::VideoRecord {
    shard::VideoRecord {
        input,
        result: v.result.clone(),
        fps: v.clock.fps,
        duration: v.clock.duration,
        tracks: v
            .tracks
            .iter()
            .map(|t| shard::TrackRecord {
                frames: t.frames.clone(),
                best_frame: t.best.frame,
                best_bbox: t.best.bbox,
                best_quality: t.best.quality(),
                embedding: t.embedding().filter(|_| embeddings),
            })
            .collect(),
        keyframes: v.keyframes.as_ref().map(|k| k.record()),
    }
}

/// What a run collected, for the batch passes and the outputs.
pub(crate) struct Collected {
    /// Inputs found.
    pub inputs: usize,
    /// The paths given, for messages.
    pub paths: Vec<PathBuf>,
    pub tally: Tally,
    /// The results kept, with their input indices (the order of
    /// `sources`), in any order.
    pub kept: Vec<(usize, ImageResult)>,
    /// Every embedded face and video track.
    pub embedded: Vec<Embedded>,
    pub videos: Vec<video::Analysed>,
    pub images_seconds: f64,
    /// Each input's file, by input index.
    pub sources: Vec<PathBuf>,
}

/// The batch passes over what a run (or a merge of shards) collected, and
/// its outputs: the findings with place names, duplicates, persons, the
/// JSON document, the report folder and the closing lines.
pub(crate) fn deliver(
    models_dir: &Path,
    cfg: &RunConfig,
    out_dir: Option<OutputDir>,
    c: Collected,
) -> Result<Outcome, RunError> {
    let Collected {
        inputs,
        paths,
        tally,
        mut kept,
        embedded,
        mut videos,
        images_seconds,
        sources,
    } = c;
    let stdout = Path::new("-");
    let json_to_stdout = cfg.json.as_deref() == Some(stdout);
    let lines_to_stderr = json_to_stdout || cfg.jsonl.as_deref() == Some(stdout);
    // Place names: the gazetteer is read only when a photo states a
    // position, and its absence costs the names, not the run.
    let gazetteer = findings::any_position(tally.metadata()).then(|| {
        let g = Gazetteer::load(models_dir);
        if let Err(e) = &g {
            eprintln!("onlooker: place names left out: {e}");
        }
        g
    });
    let why;
    let names = match &gazetteer {
        None => Names::Off,
        Some(Ok(g)) => Names::Gazetteer(g),
        Some(Err(e)) => {
            why = e.to_string();
            Names::Unavailable(&why)
        }
    };
    let mut summary = tally.summary_named(images_seconds, names);
    // Results arrive as workers finish; the documents list them in input
    // order, which the report's annotated copies also rely on.
    kept.sort_by_key(|(i, _)| *i);
    // Indices into the documents' `images`, which list the kept results.
    doubts::mark_duplicates(kept.iter_mut().map(|(_, r)| r));
    if cfg.analysis.identity {
        persons_pass(embedded, &mut kept, &mut videos, &mut summary);
    }
    let video_setup = videos
        .iter()
        .find(|v| v.tool_missing())
        .and_then(|v| v.error.as_ref())
        .map(ToString::to_string);
    // The keyframes only matter to the report folder.
    let (videos, keyframes): (Vec<VideoResult>, Vec<_>) = videos
        .into_iter()
        .map(|v| (v.result, v.keyframes.filter(|_| out_dir.is_some())))
        .unzip();
    summary.findings.sentences.extend(video::sentences(&videos));
    let videos_failed = videos.iter().filter(|v| v.error.is_some()).count();
    // The file each kept result came from (a cancelled run keeps fewer
    // results than there are inputs), for the annotated copies.
    let kept_sources: Vec<PathBuf> = kept.iter().map(|(i, _)| sources[*i].clone()).collect();
    let results: Vec<ImageResult> = kept.into_iter().map(|(_, r)| r).collect();

    if let Some(path) = &cfg.json {
        let text = match cfg.cloud {
            Some(provider) => {
                serde_json::to_string_pretty(&crate::cloud::document(provider, &results))?
            }
            None => report::to_json_with_videos(&results, &videos, &summary)?,
        };
        if json_to_stdout {
            print_stdout(&format!("{text}\n")).map_err(stdout_error)?;
        } else {
            report::write_atomic(path, text.as_bytes()).map_err(write_error(path))?;
        }
    }
    // The report folder never holds embeddings, asked for or not.
    let mut results = results;
    if cfg.embeddings {
        for f in results.iter_mut().flat_map(|r| r.faces.iter_mut()) {
            f.embedding_written = None;
        }
    }
    let written = match &out_dir {
        Some(out) => {
            let w = report::output::write_with_videos(
                out,
                &results,
                &videos,
                &keyframes,
                &summary,
                &kept_sources,
                &cfg.analysis.limits,
                cfg.threads,
            )?;
            for (r, c) in results.iter().zip(&w.copies) {
                if let report::html::Annotated::Failed(reason) = c {
                    eprintln!("{}: no annotated copy: {reason}", r.path);
                }
            }
            if let Some(e) = &w.inset_problem {
                eprintln!("onlooker: the map's inset left out: {e}");
            }
            Some(w)
        }
        None => None,
    };
    if !cfg.quiet && !videos.is_empty() {
        let text = report::videos_text(&videos);
        if lines_to_stderr {
            eprint!("{text}");
        } else {
            print_stdout(&text).map_err(stdout_error)?;
        }
    }
    if !cfg.quiet {
        let text = report::closing(tally.metadata(), &summary);
        if lines_to_stderr {
            eprint!("{text}");
        } else {
            print_stdout(&text).map_err(stdout_error)?;
        }
        if let Some(w) = &written {
            let index = std::fs::canonicalize(&w.index).unwrap_or_else(|_| w.index.clone());
            let keyframes = match w.keyframes {
                0 => String::new(),
                n => format!(" and {n} video keyframes"),
            };
            let line = format!(
                "report: {} annotated images{keyframes} in {:.2} s (whole report {:.2} s)\nreport: {}\n",
                w.annotated(),
                w.annotate_seconds,
                w.total_seconds,
                index.display()
            );
            if json_to_stdout {
                eprint!("{line}");
            } else {
                print_stdout(&line).map_err(stdout_error)?;
            }
        }
    }
    if inputs == 0 {
        eprintln!("onlooker: no images found in {}", display_list(&paths));
    }
    Ok(Outcome {
        inputs,
        summary,
        report: written,
        videos_failed,
        video_setup,
    })
}

/// The batch work `analyze` does once every result is in, for results
/// that come from elsewhere (the uploads of `serve`), in input order: the
/// totals and findings, the repeated pictures (`duplicate_of`)
/// and, when `identity` ran, who is who across the photos and the videos
/// (person ids, `summary.persons`, each video's persons on screen; videos
/// count as inputs after the photos). `seconds` is the time the images
/// took. What `--json` would write is then
/// `report::to_json_with_videos(&results, &videos, &summary)`.
pub fn complete(
    results: &mut [ImageResult],
    videos: &mut [video::Analysed],
    seconds: f64,
    identity: bool,
) -> Summary {
    let tally = Tally::of(results.iter());
    let mut embedded: Vec<Embedded> = results
        .iter()
        .enumerate()
        .flat_map(|(input, r)| image_faces(input, r))
        .collect();
    for (slot, v) in videos.iter().enumerate() {
        embedded.extend(video_tracks(results.len() + slot, slot, v));
    }
    let mut summary = tally.summary(seconds);
    let mut kept: Vec<(usize, ImageResult)> =
        results.iter_mut().map(std::mem::take).enumerate().collect();
    doubts::mark_duplicates(kept.iter_mut().map(|(_, r)| r));
    if identity {
        persons_pass(embedded, &mut kept, videos, &mut summary);
    }
    for (slot, (_, r)) in results.iter_mut().zip(kept) {
        *slot = r;
    }
    let shown: Vec<VideoResult> = videos.iter().map(|v| v.result.clone()).collect();
    summary.findings.sentences.extend(video::sentences(&shown));
    summary
}

/// An image's faces that have an embedding, as the persons pass sees them
/// (`input`: the image's index among all inputs).
pub(crate) fn image_faces(input: usize, r: &ImageResult) -> impl Iterator<Item = Embedded> + '_ {
    r.faces.iter().enumerate().filter_map(move |(face, f)| {
        f.embedding.as_ref().map(|e| Embedded {
            input,
            face,
            path: r.path.clone(),
            embedding: e.0,
            track: None,
        })
    })
}

/// A video's face tracks that have an embedding, as the persons pass sees
/// them (`input`: the video's index among all inputs; `slot`: among the
/// run's videos).
pub(crate) fn video_tracks(input: usize, slot: usize, v: &video::Analysed) -> Vec<Embedded> {
    v.tracks
        .iter()
        .enumerate()
        .filter_map(|(t, track)| {
            track.embedding().map(|e| Embedded {
                input,
                face: t,
                path: v.result.path.clone(),
                embedding: e.0,
                track: Some((slot, t)),
            })
        })
        .collect()
}

/// One embedded face as the persons pass sees it.
pub(crate) struct Embedded {
    /// Index of the input: the order person ids follow.
    input: usize,
    /// Index of the face in its image (of the track in its video).
    face: usize,
    path: String,
    embedding: [f32; identity::DIM],
    /// For a video's face track: which video (index into the run's videos)
    /// and which track.
    track: Option<(usize, usize)>,
}

/// Who is who across the batch, once all results are in: clusters the
/// embedded faces (in input order, so ids do not depend on which worker
/// finished first), writes each face's person id into the kept results and
/// adds `summary.persons` and one findings sentence per person seen in more
/// than one photo.
fn persons_pass(
    mut embedded: Vec<Embedded>,
    kept: &mut [(usize, ImageResult)],
    videos: &mut [video::Analysed],
    summary: &mut Summary,
) {
    embedded.sort_by_key(|e| (e.input, e.face));
    let records: Vec<FaceRecord> = embedded
        .iter()
        .enumerate()
        .map(|(k, e)| FaceRecord {
            embedding: e.embedding,
            // Faces of one photo are never one person; tracks of one video
            // may be (a person who leaves and comes back): each track is
            // its own "photo", numbered past every input index.
            image: match e.track {
                None => e.input,
                Some(_) => usize::MAX - k,
            },
            face: e.face,
        })
        .collect();
    let ids = cluster::cluster(&records, identity::CLUSTER_THRESHOLD);
    video_persons(&embedded, &ids, videos);
    let (embedded, ids): (Vec<Embedded>, Vec<u32>) = embedded
        .into_iter()
        .zip(ids)
        .filter(|(e, _)| e.track.is_none())
        .unzip();
    for (e, &id) in embedded.iter().zip(&ids) {
        // `kept` is sorted by input index (and empty when nothing is kept).
        if let Ok(k) = kept.binary_search_by_key(&e.input, |(i, _)| *i) {
            if let Some(fi) = kept[k]
                .1
                .faces
                .get_mut(e.face)
                .and_then(|f| f.identity.as_mut())
            {
                fi.person = Some(id);
            }
        }
    }
    let findings = &summary.findings;
    let faces: Vec<PersonFace> = embedded
        .iter()
        .zip(&ids)
        .map(|(e, &person)| {
            let entry = findings.timeline.iter().find(|t| t.image == e.path);
            PersonFace {
                person,
                image: &e.path,
                taken_at: entry.map(|t| t.taken_at),
                place: entry.and_then(|t| t.place),
                device: entry.and_then(|t| t.device),
            }
        })
        .collect();
    let (persons, sentences) = persons::persons(&faces, &findings.places, &findings.devices);
    summary.persons = persons;
    summary.findings.sentences.extend(sentences);
}

// ---- videos ----

/// The inputs that are images (with each one's index among all inputs) and
/// the videos (with theirs), sniffed from content.
fn split_videos(
    inputs: &[Input],
    done: impl Fn(usize) -> bool,
) -> (Vec<Input>, Vec<usize>, Vec<(usize, PathBuf)>) {
    let mut images = Vec::new();
    let mut order = Vec::new();
    let mut videos = Vec::new();
    for (i, input) in inputs.iter().enumerate().filter(|(i, _)| !done(*i)) {
        match input {
            Input::File(p) if video::is_video(p) => videos.push((i, p.clone())),
            _ => {
                images.push(input.clone());
                order.push(i);
            }
        }
    }
    (images, order, videos)
}

/// Analyses the videos one after another (each on all workers), printing a
/// line per video, and adds each face track that has an embedding to
/// `embedded` for the persons pass. Once ffmpeg or ffprobe is found
/// missing, the remaining videos get the same error without trying again.
fn analyze_videos(
    engine: &Engine,
    cfg: &RunConfig,
    inputs: &[(usize, PathBuf)],
    embedded: &mut Vec<Embedded>,
) -> Result<Vec<video::Analysed>, RunError> {
    let mut out: Vec<video::Analysed> = Vec::new();
    for (slot, (input, path)) in inputs.iter().enumerate() {
        if engine.is_cancelled() {
            break;
        }
        let analysed = match out.iter().find(|v| v.tool_missing()) {
            Some(missing) => video::Analysed::same_error(path, missing),
            None => video::analyze(engine, path, &cfg.video, &cfg.analysis.limits)?,
        };
        if !cfg.quiet {
            eprint!("{}", report::video_line(&analysed.result));
        }
        embedded.extend(video_tracks(*input, slot, &analysed));
        out.push(analysed);
    }
    Ok(out)
}

/// Gives each video's tracks their person ids from the clustering.
fn video_persons(embedded: &[Embedded], ids: &[u32], videos: &mut [video::Analysed]) {
    let mut per_video: Vec<Vec<Option<u32>>> =
        videos.iter().map(|v| vec![None; v.tracks.len()]).collect();
    for (e, &id) in embedded.iter().zip(ids) {
        if let Some((v, t)) = e.track {
            if let Some(slot) = per_video.get_mut(v).and_then(|p| p.get_mut(t)) {
                *slot = Some(id);
            }
        }
    }
    for (v, ids) in videos.iter_mut().zip(&per_video) {
        v.set_persons(ids);
    }
}

fn stdout_error(source: std::io::Error) -> RunError {
    RunError::Write {
        what: "standard output".into(),
        source,
    }
}

/// A progress bar on stderr for long runs; hidden when stderr is not a
/// terminal (a log file, a pipe) or when quiet.
fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {pos}/{len} images  {per_sec:.1}  {elapsed} elapsed, {eta} left",
    ) {
        pb.set_style(style);
    }
    pb.enable_steady_tick(Duration::from_millis(250));
    pb
}

/// Writes to stdout. `Ok(false)` once the reader has gone
/// (`onlooker ... | head`), which is not an error.
pub fn print_stdout(text: &str) -> std::io::Result<bool> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
        Ok(()) => Ok(true),
    }
}

/// Paths as one comma-separated line, for messages.
pub fn display_list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RunConfig {
        RunConfig::new(vec![PathBuf::from("photos")], Options::default())
    }

    #[test]
    fn machine_output_without_out_writes_no_report_folder() {
        let mut c = config();
        assert_eq!(c.report_dir(), Some(PathBuf::from(DEFAULT_OUT)));
        c.json = Some("out.json".into());
        assert_eq!(c.report_dir(), None);
        c.json = None;
        c.jsonl = Some("-".into());
        assert_eq!(c.report_dir(), None);
        c.out = Some("rep".into());
        assert_eq!(c.report_dir(), Some(PathBuf::from("rep")));
        c.no_report = true;
        assert_eq!(c.report_dir(), None);
    }

    #[test]
    fn outputs_equal_to_or_inside_an_input_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let photos = d.path().join("photos");
        std::fs::create_dir(&photos).unwrap();
        let photo = photos.join("a.jpg");
        std::fs::write(&photo, b"x").unwrap();
        let inputs = [photos.clone()];
        for bad in [
            photos.clone(),
            photo.clone(),
            photos.join("new.json"),
            photos.join("sub/deeper.json"),
            // The same place spelled through `..`.
            photos.join("sub/../b.json"),
        ] {
            let e = refuse_output_in_inputs("--json", &bad, &inputs).unwrap_err();
            assert!(
                matches!(&e, RunError::OutputIsInput { flag: "--json", input, .. } if *input == photos),
                "{bad:?}: {e}"
            );
            assert!(e.to_string().contains(&*photos.to_string_lossy()), "{e}");
        }
        let file_input = [photo.clone()];
        assert!(refuse_output_in_inputs("--jsonl", &photo, &file_input).is_err());
        for good in [
            d.path().join("out.json"),
            d.path().join("photos2.json"),
            photos.join("a.jpg.json"),
            PathBuf::from("-"),
        ] {
            assert!(
                refuse_output_in_inputs("--json", &good, &file_input).is_ok(),
                "{good:?}"
            );
        }
        assert!(refuse_output_in_inputs("--json", &d.path().join("out.json"), &inputs).is_ok());
    }

    #[test]
    fn outcome_exit_code() {
        let o = |inputs, failed| Outcome {
            inputs,
            summary: Summary {
                failed,
                ..Default::default()
            },
            report: None,
            videos_failed: 0,
            video_setup: None,
        };
        assert_eq!(o(3, 0).exit_code(), 0);
        assert_eq!(o(3, 1).exit_code(), 1);
        assert_eq!(o(0, 0).exit_code(), 1);
    }
}
