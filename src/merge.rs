//! `onlooker merge`: the shard files of one batch (see `shard`) made into
//! what `onlooker analyze` on one machine would have written: the same
//! JSON document and report folder, with the findings, duplicates and
//! persons computed over the whole batch. The batch passes need the small
//! per-input records only, never the pixels, so merging takes seconds.

use std::path::{Path, PathBuf};

use crate::batch;
use crate::pipeline::Options;
use crate::report::OutputDir;
use crate::result::ImageResult;
use crate::run::{self, Collected, Outcome, RunConfig, RunError};
use crate::shard::{self, ShardError, ShardFile};
use crate::stream::Tally;
use crate::video::keyframes::Keyframes;
use crate::video::{self, timeline::Clock, track::BestView, track::Track, VideoOptions};

/// Everything `onlooker merge` was asked to do.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// The shard files, one per shard of the batch.
    pub shards: Vec<PathBuf>,
    /// The JSON document (`-` for standard output).
    pub json: Option<PathBuf>,
    /// The report folder (default: `run::DEFAULT_OUT` when no `json`).
    pub out: Option<PathBuf>,
    pub force: bool,
    pub no_report: bool,
    pub quiet: bool,
    /// Threads for the report's annotated copies.
    pub threads: usize,
    /// Keep the shards' face embeddings in `json` (biometric data).
    pub embeddings: bool,
}

impl MergeConfig {
    pub fn new(shards: Vec<PathBuf>) -> Self {
        MergeConfig {
            shards,
            json: None,
            out: None,
            force: false,
            no_report: false,
            quiet: false,
            threads: batch::default_threads(),
            embeddings: false,
        }
    }
}

/// Merges the shard files `cfg` names; `models_dir` holds the place names
/// and map data the findings and report use (no model is run).
pub fn merge(models_dir: &Path, cfg: &MergeConfig) -> Result<Outcome, RunError> {
    if cfg.shards.is_empty() {
        return Err(RunError::Usage("merge needs the shard files".into()));
    }
    // Every file's problem at once: a cluster run may have lost several.
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for p in &cfg.shards {
        match ShardFile::read(p) {
            Ok(f) => files.push(f),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if !problems.is_empty() {
        return Err(ShardError::NotOneBatch(problems.join("\n")).into());
    }
    shard::check_batch(&files)?;
    let header = files[0].header.clone();
    let settings = &header.settings;
    if cfg.embeddings && !settings.embeddings {
        return Err(RunError::Usage(
            "--embeddings: the shards hold no embeddings (they ran without --embeddings)".into(),
        ));
    }
    let persons = settings.identity && settings.embeddings;
    if settings.identity && !settings.embeddings && !cfg.quiet {
        eprintln!(
            "onlooker: persons across shards left out: the shards ran without --embeddings, which tells who is who across machines"
        );
    }
    let run_cfg = RunConfig {
        json: cfg.json.clone(),
        out: cfg.out.clone(),
        force: cfg.force,
        no_report: cfg.no_report,
        quiet: cfg.quiet,
        threads: cfg.threads,
        embeddings: cfg.embeddings,
        video: VideoOptions { fps: settings.fps },
        ..RunConfig::new(
            header.roots.iter().map(PathBuf::from).collect(),
            Options {
                limits: settings.limits(),
                identity: persons,
                ..Options::default()
            },
        )
    };
    let report_dir = run_cfg.report_dir();
    for (flag, p) in [("--json", &run_cfg.json), ("--out", &report_dir)] {
        if let Some(p) = p {
            run::refuse_output_in_inputs(flag, p, &run_cfg.paths)?;
            run::refuse_output_in_inputs(flag, p, &cfg.shards)?;
        }
    }

    let total = header.inputs_total;
    let mut sources = vec![PathBuf::new(); total];
    let mut images: Vec<(usize, ImageResult)> = Vec::new();
    let mut records = Vec::new();
    let (mut timed, mut seconds) = (0usize, 0.0f64);
    for f in files {
        timed += f.end.timed_images;
        seconds += f.end.seconds;
        images.extend(f.images);
        records.extend(f.videos);
    }
    images.sort_by_key(|(i, _)| *i);
    records.sort_by_key(|v| v.input);
    let mut tally = Tally::default();
    let mut embedded = Vec::new();
    for (i, r) in images.iter_mut() {
        sources[*i] = PathBuf::from(&r.path);
        for f in r.faces.iter_mut() {
            f.embedding = if cfg.embeddings {
                f.embedding_written.clone()
            } else {
                f.embedding_written.take()
            };
        }
        tally.add(r);
        if persons {
            embedded.extend(run::image_faces(*i, r));
        }
    }
    let videos: Vec<video::Analysed> = records
        .into_iter()
        .enumerate()
        .map(|(slot, v)| {
            sources[v.input] = PathBuf::from(&v.result.path);
            let keyframes = v.keyframes.and_then(|record| {
                let path = Path::new(&v.result.path);
                match Keyframes::restored(path, v.fps, &settings.limits(), record) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        eprintln!("{}: keyframes left out of the report: {e}", v.result.path);
                        None
                    }
                }
            });
            let analysed = restore_video(v.result, v.fps, v.duration, v.tracks, keyframes);
            if persons {
                embedded.extend(run::video_tracks(v.input, slot, &analysed));
            }
            analysed
        })
        .collect();
    let out_dir = match &report_dir {
        Some(dir) => Some(OutputDir::check(dir, cfg.force, &sources)?.with_map_data(models_dir)),
        None => None,
    };
    // The rate of the sessions that were timed, over all the images: what
    // one machine would have taken.
    let images_seconds = if timed > 0 {
        seconds / timed as f64 * images.len() as f64
    } else {
        0.0
    };
    run::deliver(
        models_dir,
        &run_cfg,
        out_dir,
        Collected {
            inputs: total,
            paths: run_cfg.paths.clone(),
            tally,
            kept: images,
            embedded,
            videos,
            images_seconds,
            sources,
        },
    )
}

/// A video as the persons pass and the report see it, from its record.
fn restore_video(
    result: crate::result::VideoResult,
    fps: f64,
    duration: f64,
    tracks: Vec<shard::TrackRecord>,
    keyframes: Option<Keyframes>,
) -> video::Analysed {
    video::Analysed {
        result,
        tracks: tracks
            .into_iter()
            .map(|t| {
                Track::restored(
                    t.frames,
                    BestView::new(t.best_frame, t.best_bbox, t.best_quality),
                    t.embedding.as_ref(),
                )
            })
            .collect(),
        clock: Clock { fps, duration },
        error: None,
        keyframes,
    }
}
