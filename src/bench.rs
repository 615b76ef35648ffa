//! `onlooker bench`: throughput measured on real images with the real
//! models, the time each stage takes, how close the whole pipeline comes to
//! the models' own speed, how it scales with threads, for videos the frames
//! analysed per second and the real-time factor at `--fps`, and what the
//! measured rates mean at archive scale (`projection`).
//!
//! Every figure is a median over `repeat` runs after a warm-up; the machine's
//! load average is recorded next to them, since a busy machine slows
//! everything down. CPU time is measured next to wall time: on a shared
//! machine wall time mostly measures the other tenants, while CPU time per
//! image still says what the work costs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::batch::{self, Engine, Input, Plan, Topology};
use crate::error::{ImageError, SetupError};
use crate::pipeline::{Analyzer, Options};
use crate::probe::{self, ms, Stage, STAGES};
pub use crate::probe::{process_cpu_time, thread_cpu_time};
use crate::projection::{self, Assumptions, Projection};
use crate::runtime::Runtime;
use crate::video::{self, VideoOptions};

/// Images recorded at once for the inference-only pass: enough to keep every
/// worker busy, few enough that their recorded tensors stay small (a face
/// input at the largest working size is about 32 MB).
const BOUND_CHUNK: usize = 16;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub threads: usize,
    pub repeat: usize,
    pub topology: Topology,
    /// Also measure the other topologies (at `threads`).
    pub compare_topologies: bool,
    /// Also measure throughput at 1..threads threads.
    pub scale_threads: bool,
    pub machines: u32,
    pub average_photo_bytes: f64,
    pub video_frames_per_second: f64,
    pub video_bits_per_second: f64,
    /// Days the projection asks the archive to be analysed in.
    pub days: f64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            threads: batch::default_threads(),
            repeat: 3,
            topology: Topology::default(),
            compare_topologies: true,
            scale_threads: true,
            machines: 1,
            average_photo_bytes: projection::DEFAULT_AVG_PHOTO_MB * projection::MB,
            video_frames_per_second: projection::DEFAULT_FPS,
            video_bits_per_second: projection::DEFAULT_VIDEO_MBIT_S * 1e6,
            days: projection::DEFAULT_DAYS,
        }
    }
}

impl BenchOptions {
    /// Refuses settings no measurement can be made with, naming the
    /// command-line option each comes from.
    pub fn validate(&self) -> Result<(), BenchError> {
        let at_least_one = [
            ("--threads", self.threads as f64),
            ("--repeat", self.repeat as f64),
            ("--machines", f64::from(self.machines)),
        ];
        for (option, value) in at_least_one {
            if value < 1.0 {
                return Err(BenchError::Invalid {
                    option,
                    expected: "at least 1",
                    value,
                });
            }
        }
        let positive = [
            ("--avg-size", self.average_photo_bytes / projection::MB),
            ("--fps", self.video_frames_per_second),
            ("--bitrate", self.video_bits_per_second / 1e6),
            ("--days", self.days),
        ];
        for (option, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(BenchError::Invalid {
                    option,
                    expected: "a positive number",
                    value,
                });
            }
        }
        // Videos are sampled at this rate, as `analyze --fps` would.
        if self.video_frames_per_second > video::MAX_FPS {
            return Err(BenchError::Invalid {
                option: "--fps",
                expected: "at most 60",
                value: self.video_frames_per_second,
            });
        }
        Ok(())
    }
}

/// The images and the videos to benchmark: `paths` (default `samples/`)
/// expanded as `analyze` does; an error when neither is found.
pub fn inputs(paths: &[PathBuf]) -> Result<(Vec<Input>, Vec<PathBuf>), BenchError> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(crate::run::DEFAULT_INPUT)]
    } else {
        paths.to_vec()
    };
    let (mut images, mut videos) = (Vec::new(), Vec::new());
    for input in batch::collect_inputs(&paths) {
        match input {
            Input::File(p) if video::is_video(&p) => videos.push(p),
            other => images.push(other),
        }
    }
    if images.is_empty() && videos.is_empty() {
        return Err(BenchError::NoImages(crate::run::display_list(&paths)));
    }
    Ok((images, videos))
}

/// Percentiles of one stage's time per image, in milliseconds: wall time,
/// and the CPU time of the worker thread that ran it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct StageStats {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub mean_ms: f64,
    pub cpu_p50_ms: f64,
    pub cpu_p95_ms: f64,
    pub cpu_mean_ms: f64,
}

/// Time per image of each stage of the pipeline (see `probe::Stage`), taken
/// from the pipeline itself on the same workers and session layout as the
/// end-to-end runs. Inference includes reading the raw outputs into
/// candidates above the threshold; `face_postprocess` is NMS, mapping back
/// and the quality measures, `object_postprocess` NMS and merging tiles.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Stages {
    /// Reading the file and its metadata, decoding it to upright RGB.
    pub decode: StageStats,
    pub face_preprocess: StageStats,
    pub face_inference: StageStats,
    pub face_postprocess: StageStats,
    /// Aligned crops for the age, gender and expression models.
    pub attribute_preprocess: StageStats,
    pub attribute_inference: StageStats,
    pub object_preprocess: StageStats,
    pub object_inference: StageStats,
    pub object_postprocess: StageStats,
    /// Text detection (resize, model, DB post-processing).
    pub text_detect: StageStats,
    /// Text lines: crops, direction classifier, recognition, decoding.
    pub text_recognise: StageStats,
    /// Image tags: centre crop, the classifier, softmax, top classes.
    pub tags: StageStats,
    /// The sum of the above, per image.
    pub total: StageStats,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateAt {
    pub threads: usize,
    pub images_per_second: f64,
    pub cpu_ms_per_image: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopologyRate {
    pub topology: &'static str,
    pub threads: usize,
    pub images_per_second: f64,
    pub runs_images_per_second: Vec<f64>,
    /// Process CPU time per image (every thread, spinning included).
    pub cpu_ms_per_image: f64,
}

/// Videos analysed end to end (ffprobe, ffmpeg decoding and sampling,
/// every sampled frame through the pipeline, tracks and timelines) at the
/// bench's `--fps`, on the same engine as the images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoBench {
    pub videos: usize,
    /// Videos that could not be (fully) analysed in the last run.
    pub failed: usize,
    /// Frames sampled per second of footage (`--fps`).
    pub sample_fps: f64,
    /// Length of the videos together, seconds.
    pub footage_seconds: f64,
    /// Frames analysed in one run over the videos.
    pub frames: u64,
    /// Frames analysed per second of wall time, median over the runs.
    pub frames_per_second: f64,
    pub runs_frames_per_second: Vec<f64>,
    /// Seconds of footage analysed per second of wall time (median): above
    /// 1, faster than the footage plays.
    pub real_time_factor: f64,
    /// Process CPU time per analysed frame (median), ffmpeg's own not
    /// included (it is a child process).
    pub cpu_ms_per_frame: f64,
}

/// Everything `onlooker bench --json` prints, keys at the top level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    pub images: usize,
    pub failed: usize,
    pub faces: usize,
    pub objects: usize,
    pub threads: usize,
    pub topology: &'static str,
    pub repeat: usize,
    /// End to end: read, decode, both detectors; median over the runs.
    pub images_per_second: f64,
    pub runs_images_per_second: Vec<f64>,
    /// Process CPU time per image end to end (median over the runs).
    pub cpu_ms_per_image: f64,
    /// The same sessions and workers on tensors prepared beforehand: the
    /// speed of the models alone.
    pub inference_bound_images_per_second: f64,
    /// `images_per_second / inference_bound_images_per_second`.
    pub inference_bound_ratio: f64,
    /// Process CPU time per image of the inference-only pass.
    pub inference_bound_cpu_ms_per_image: f64,
    /// `inference_bound_cpu_ms_per_image / cpu_ms_per_image`: the share of
    /// the work that is inference, which a busy machine distorts less than
    /// the wall-time ratio.
    pub inference_bound_cpu_ratio: f64,
    pub stages: Stages,
    /// Faces given age, gender and expression in one pass over the images.
    pub attribute_faces: usize,
    /// What the attributes add per face (crops and the three models), wall
    /// and worker-thread CPU milliseconds; 0 without faces.
    pub attribute_ms_per_face: f64,
    pub attribute_cpu_ms_per_face: f64,
    /// Faces embedded by the identity model (first timed run).
    pub identity_faces: usize,
    /// What identity adds per embedded face (gate, crop unless the
    /// expression model's is shared, the model), wall and CPU ms.
    pub identity_ms_per_face: f64,
    pub identity_cpu_ms_per_face: f64,
    /// Lines of text read in one pass over the images.
    pub text_lines: usize,
    /// What reading text adds per image (both text stages, mean wall and
    /// worker-thread CPU milliseconds); 0 with `--no-text`.
    pub text_ms_per_image: f64,
    pub text_cpu_ms_per_image: f64,
    /// The line stage (crops, direction, recognition) per line read.
    pub text_ms_per_line: f64,
    pub text_cpu_ms_per_line: f64,
    /// End-to-end rate at 1..=threads threads.
    pub threads_scaling: Vec<RateAt>,
    pub topologies: Vec<TopologyRate>,
    /// Peak resident memory of the process (VmHWM) after the end-to-end
    /// runs, before the benchmark's own inference-only pass.
    pub peak_rss_bytes: u64,
    pub cores: usize,
    /// `/proc/loadavg` (1, 5, 15 minutes) before and after the benchmark.
    pub load_average_before: [f64; 3],
    pub load_average_after: [f64; 3],
    pub elapsed_seconds: f64,
    /// The videos among the inputs; `null` when there were none.
    pub video: Option<VideoBench>,
    pub projection: Projection,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("no images or videos found in {0}")]
    NoImages(String),
    #[error("{option} must be {expected}, got {value}")]
    Invalid {
        option: &'static str,
        expected: &'static str,
        value: f64,
    },
    #[error("no image could be analysed: {0}")]
    Image(#[from] ImageError),
    #[error("videos cannot be measured: {0}")]
    Video(String),
}

/// Nearest-rank percentile (`q` in 0..=1) of unsorted values; 0 when empty.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = (q * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

impl StageStats {
    pub fn of(wall_ms: &[f64], cpu_ms: &[f64]) -> Self {
        StageStats {
            p50_ms: percentile(wall_ms, 0.5),
            p95_ms: percentile(wall_ms, 0.95),
            mean_ms: mean(wall_ms),
            cpu_p50_ms: percentile(cpu_ms, 0.5),
            cpu_p95_ms: percentile(cpu_ms, 0.95),
            cpu_mean_ms: mean(cpu_ms),
        }
    }
}

/// Peak resident memory of this process so far, from `/proc/self/status`.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| parse_vm_hwm(&s))
        .unwrap_or(0)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text.split_whitespace().map(|v| v.parse().unwrap_or(0.0));
    [(); 3].map(|_| it.next().unwrap_or(0.0))
}

/// One image through the whole pipeline with the probe on: where its time
/// went and what each model was fed. `None` for an image that failed.
fn record(a: &mut Analyzer, path: &Path) -> Option<probe::Record> {
    probe::start(true);
    let result = a.analyze_path(path);
    let rec = probe::finish();
    rec.filter(|_| result.error.is_none())
}

/// Wall and process CPU seconds the sessions alone need for the recorded
/// model inputs of some images, on the engine's workers.
fn inference_seconds(engine: &Engine, records: &[probe::Record]) -> Result<(f64, f64), BenchError> {
    let (start, start_cpu) = (Instant::now(), process_cpu_time());
    let outcomes = engine.map(records.len(), |a, i| {
        records[i]
            .inputs
            .iter()
            .try_for_each(|(model, tensor)| a.run_model(*model, tensor))
    })?;
    let secs = start.elapsed().as_secs_f64();
    let cpu = process_cpu_time().saturating_sub(start_cpu).as_secs_f64();
    outcomes.into_iter().collect::<Result<(), ImageError>>()?;
    Ok((secs, cpu))
}

fn stages_of(records: &[probe::Record]) -> Stages {
    let col = |k: usize| -> StageStats {
        let wall: Vec<f64> = records.iter().map(|r| r.wall_ms[k]).collect();
        let cpu: Vec<f64> = records.iter().map(|r| r.cpu_ms[k]).collect();
        StageStats::of(&wall, &cpu)
    };
    let wall: Vec<f64> = records.iter().map(|r| r.wall_ms.iter().sum()).collect();
    let cpu: Vec<f64> = records.iter().map(|r| r.cpu_ms.iter().sum()).collect();
    let [decode, face_preprocess, face_inference, face_postprocess, attribute_preprocess, attribute_inference, object_preprocess, object_inference, object_postprocess, text_detect, text_recognise, tags] =
        std::array::from_fn::<_, STAGES, _>(col);
    Stages {
        decode,
        face_preprocess,
        face_inference,
        face_postprocess,
        attribute_preprocess,
        attribute_inference,
        object_preprocess,
        object_inference,
        object_postprocess,
        text_detect,
        text_recognise,
        tags,
        total: StageStats::of(&wall, &cpu),
    }
}

/// Attribute (wall, CPU) milliseconds per face over some records.
fn attribute_per_face(records: &[probe::Record]) -> (f64, f64) {
    let faces: usize = records.iter().map(|r| r.attribute_faces).sum();
    if faces == 0 {
        return (0.0, 0.0);
    }
    let (p, i) = (
        Stage::AttributePreprocess as usize,
        Stage::AttributeInference as usize,
    );
    let wall: f64 = records.iter().map(|r| r.wall_ms[p] + r.wall_ms[i]).sum();
    let cpu: f64 = records.iter().map(|r| r.cpu_ms[p] + r.cpu_ms[i]).sum();
    (wall / faces as f64, cpu / faces as f64)
}

/// Identity (wall, CPU) milliseconds per embedded face over some records.
fn identity_per_face(records: &[probe::Record]) -> (f64, f64) {
    let faces: usize = records.iter().map(|r| r.identity_faces).sum();
    if faces == 0 {
        return (0.0, 0.0);
    }
    let wall: f64 = records.iter().map(|r| r.identity_ms).sum();
    let cpu: f64 = records.iter().map(|r| r.identity_cpu_ms).sum();
    (wall / faces as f64, cpu / faces as f64)
}

/// Text (wall, CPU) milliseconds per image (both stages) and per line
/// read (the line stage) over some records.
fn text_costs(records: &[probe::Record]) -> ([f64; 2], [f64; 2]) {
    let (d, r) = (Stage::TextDetect as usize, Stage::TextRecognise as usize);
    let sum = |f: &dyn Fn(&probe::Record) -> f64| records.iter().map(f).sum::<f64>();
    let per = |total: f64, n: usize| if n == 0 { 0.0 } else { total / n as f64 };
    let lines: usize = records.iter().map(|x| x.text_lines).sum();
    (
        [
            per(sum(&|x| x.wall_ms[d] + x.wall_ms[r]), records.len()),
            per(sum(&|x| x.cpu_ms[d] + x.cpu_ms[r]), records.len()),
        ],
        [
            per(sum(&|x| x.wall_ms[r]), lines),
            per(sum(&|x| x.cpu_ms[r]), lines),
        ],
    )
}

/// The end-to-end runs of one engine.
struct Runs {
    /// Images per second, one per run.
    rates: Vec<f64>,
    /// Process CPU milliseconds per image, one per run.
    cpu_ms: Vec<f64>,
    /// What the last run found: failed, faces, objects.
    found: [usize; 3],
}

/// `repeat` end-to-end runs of an engine after a warm-up.
fn end_to_end(engine: &Engine, inputs: &[Input], repeat: usize) -> Result<Runs, SetupError> {
    engine.build_all()?;
    let warm = inputs.len().min(2 * engine.plan().threads);
    engine.run(&inputs[..warm], |_, _| {})?;
    let mut runs = Runs {
        rates: Vec::new(),
        cpu_ms: Vec::new(),
        found: [0; 3],
    };
    for _ in 0..repeat.max(1) {
        let mut found = [0; 3];
        let (start, start_cpu) = (Instant::now(), process_cpu_time());
        engine.run(inputs, |_, r| {
            found[0] += usize::from(r.error.is_some());
            found[1] += r.faces.len();
            found[2] += r.objects.len();
        })?;
        let n = inputs.len() as f64;
        runs.rates.push(n / start.elapsed().as_secs_f64());
        runs.cpu_ms
            .push(ms(process_cpu_time().saturating_sub(start_cpu)) / n);
        runs.found = found;
    }
    Ok(runs)
}

/// The inputs with the largest files first. A run over a small set ends
/// with one worker on the last image and the others idle; handing out the
/// slowest images first keeps that tail short, so the figure is the
/// sustained rate of a long batch (where the tail is negligible), which is
/// what the projection needs.
fn largest_first(inputs: &[Input]) -> Vec<Input> {
    let size = |i: &Input| match i {
        Input::File(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
        Input::Unreadable { .. } => 0,
    };
    let mut v: Vec<(u64, Input)> = inputs.iter().map(|i| (size(i), i.clone())).collect();
    v.sort_by_key(|b| std::cmp::Reverse(b.0));
    v.into_iter().map(|(_, i)| i).collect()
}

/// Runs the whole benchmark. `progress` is told what is being measured.
pub fn run(
    rt: &Runtime,
    options: &Options,
    inputs: &[Input],
    videos: &[PathBuf],
    bo: &BenchOptions,
    mut progress: impl FnMut(&str),
) -> Result<BenchReport, BenchError> {
    bo.validate()?;
    if inputs.is_empty() && videos.is_empty() {
        return Err(BenchError::NoImages(String::new()));
    }
    // Without images only the videos are measured; the image figures are 0.
    let has_images = !inputs.is_empty();
    let inputs = &largest_first(inputs);
    let started = Instant::now();
    let load_before = load_average();
    let threads = bo.threads.max(1);
    let plan = Plan {
        threads,
        topology: bo.topology,
    };

    let engine = Engine::new(rt, options, plan)?;
    let main = if has_images {
        progress(&format!(
            "end to end: {} images, {threads} threads, {}",
            inputs.len(),
            plan.topology.name()
        ));
        end_to_end(&engine, inputs, bo.repeat)?
    } else {
        engine.build_all()?;
        Runs {
            rates: Vec::new(),
            cpu_ms: Vec::new(),
            found: [0; 3],
        }
    };
    let images_per_second = median(&main.rates);
    let cpu_ms_per_image = median(&main.cpu_ms);
    let peak_rss = peak_rss_bytes();

    let mut topologies = Vec::new();
    if has_images {
        topologies.push(TopologyRate {
            topology: plan.topology.name(),
            threads,
            images_per_second,
            runs_images_per_second: main.rates.clone(),
            cpu_ms_per_image,
        });
    }
    if bo.compare_topologies && has_images {
        for t in Topology::ALL.into_iter().filter(|&t| t != plan.topology) {
            progress(&format!("topology {}", t.name()));
            let engine = Engine::new(
                rt,
                options,
                Plan {
                    threads,
                    topology: t,
                },
            )?;
            let r = end_to_end(&engine, inputs, bo.repeat)?;
            topologies.push(TopologyRate {
                topology: t.name(),
                threads,
                images_per_second: median(&r.rates),
                cpu_ms_per_image: median(&r.cpu_ms),
                runs_images_per_second: r.rates,
            });
        }
    }

    let mut threads_scaling = Vec::new();
    if bo.scale_threads && has_images {
        for t in 1..threads {
            progress(&format!("{t} thread{}", if t == 1 { "" } else { "s" }));
            let engine = Engine::new(rt, options, Plan { threads: t, ..plan })?;
            let r = end_to_end(&engine, inputs, bo.repeat)?;
            threads_scaling.push(RateAt {
                threads: t,
                images_per_second: median(&r.rates),
                cpu_ms_per_image: median(&r.cpu_ms),
            });
        }
    }
    if has_images {
        threads_scaling.push(RateAt {
            threads,
            images_per_second,
            cpu_ms_per_image,
        });
        progress("stages and inference-only bound");
    }
    let paths: Vec<&Path> = inputs
        .iter()
        .filter_map(|i| match i {
            Input::File(p) => Some(p.as_path()),
            Input::Unreadable { .. } => None,
        })
        .collect();
    let mut stage_records = Vec::new();
    let mut attribute_faces = 0;
    let mut identity_faces = 0;
    let mut text_lines = 0;
    let (mut bound_runs, mut bound_cpu) = (Vec::new(), Vec::new());
    let image_runs = if has_images { bo.repeat.max(1) } else { 0 };
    for run in 0..image_runs {
        let (mut secs, mut cpu) = (0.0, 0.0);
        for chunk in paths.chunks(BOUND_CHUNK) {
            let mut records: Vec<probe::Record> = engine
                .map(chunk.len(), |a, i| record(a, chunk[i]))?
                .into_iter()
                .flatten()
                .collect();
            let (s, c) = inference_seconds(&engine, &records)?;
            (secs, cpu) = (secs + s, cpu + c);
            if run == 0 {
                attribute_faces += records.iter().map(|r| r.attribute_faces).sum::<usize>();
                identity_faces += records.iter().map(|r| r.identity_faces).sum::<usize>();
                text_lines += records.iter().map(|r| r.text_lines).sum::<usize>();
            }
            for r in &mut records {
                r.inputs = Vec::new();
            }
            stage_records.extend(records);
        }
        bound_runs.push(inputs.len() as f64 / secs.max(1e-9));
        bound_cpu.push(cpu * 1000.0 / inputs.len() as f64);
    }
    let inference_bound = median(&bound_runs);
    let inference_cpu_ms = median(&bound_cpu);
    let (attribute_ms_per_face, attribute_cpu_ms_per_face) = attribute_per_face(&stage_records);
    let (identity_ms_per_face, identity_cpu_ms_per_face) = identity_per_face(&stage_records);
    let ([text_ms_per_image, text_cpu_ms_per_image], [text_ms_per_line, text_cpu_ms_per_line]) =
        text_costs(&stage_records);

    let video = if videos.is_empty() {
        None
    } else {
        progress(&format!(
            "{} videos at {} frames per second of footage",
            videos.len(),
            bo.video_frames_per_second
        ));
        Some(video_runs(&engine, options, videos, bo)?)
    };

    let projection = Assumptions {
        images_per_second_per_machine: images_per_second,
        machines: bo.machines.max(1),
        average_photo_bytes: bo.average_photo_bytes,
        video_frames_per_second: bo.video_frames_per_second,
        video_bits_per_second: bo.video_bits_per_second,
        measured_video_frames_per_second: video
            .as_ref()
            .map(|v| v.frames_per_second)
            .filter(|r| *r > 0.0),
        days: bo.days,
    }
    .project();

    Ok(BenchReport {
        images: inputs.len(),
        failed: main.found[0],
        faces: main.found[1],
        objects: main.found[2],
        threads,
        topology: plan.topology.name(),
        repeat: bo.repeat.max(1),
        images_per_second,
        runs_images_per_second: main.rates,
        cpu_ms_per_image,
        inference_bound_images_per_second: inference_bound,
        inference_bound_ratio: if inference_bound > 0.0 {
            images_per_second / inference_bound
        } else {
            0.0
        },
        inference_bound_cpu_ms_per_image: inference_cpu_ms,
        inference_bound_cpu_ratio: if cpu_ms_per_image > 0.0 {
            inference_cpu_ms / cpu_ms_per_image
        } else {
            0.0
        },
        stages: stages_of(&stage_records),
        attribute_faces,
        attribute_ms_per_face,
        attribute_cpu_ms_per_face,
        identity_faces,
        identity_ms_per_face,
        identity_cpu_ms_per_face,
        text_lines,
        text_ms_per_image,
        text_cpu_ms_per_image,
        text_ms_per_line,
        text_cpu_ms_per_line,
        threads_scaling,
        topologies,
        peak_rss_bytes: peak_rss,
        cores: batch::default_threads(),
        load_average_before: load_before,
        load_average_after: load_average(),
        elapsed_seconds: started.elapsed().as_secs_f64(),
        video,
        projection,
    })
}

/// `repeat` runs over the videos, each video analysed as `analyze` does at
/// `--fps` (no warm-up run beyond the engine's: the first frames of a
/// video are not special, and a video run is long).
fn video_runs(
    engine: &Engine,
    options: &Options,
    videos: &[PathBuf],
    bo: &BenchOptions,
) -> Result<VideoBench, BenchError> {
    let sampling = VideoOptions::new(bo.video_frames_per_second).ok_or(BenchError::Invalid {
        option: "--fps",
        expected: "at most 60",
        value: bo.video_frames_per_second,
    })?;
    let (mut rates, mut factors, mut cpu_ms) = (Vec::new(), Vec::new(), Vec::new());
    let (mut frames, mut footage, mut failed) = (0, 0.0, 0);
    for _ in 0..bo.repeat.max(1) {
        (frames, footage, failed) = (0, 0.0, 0);
        let (start, start_cpu) = (Instant::now(), process_cpu_time());
        for path in videos {
            let a = video::analyze(engine, path, &sampling, &options.limits)?;
            if a.tool_missing() {
                return Err(BenchError::Video(
                    a.error.map(|e| e.to_string()).unwrap_or_default(),
                ));
            }
            let r = &a.result;
            failed += usize::from(r.error.is_some());
            frames += r.frames_analysed;
            footage += if r.duration_seconds > 0.0 {
                r.duration_seconds
            } else {
                r.frames_analysed as f64 / sampling.fps
            };
        }
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        rates.push(frames as f64 / secs);
        factors.push(footage / secs);
        let cpu = ms(process_cpu_time().saturating_sub(start_cpu));
        cpu_ms.push(if frames > 0 { cpu / frames as f64 } else { 0.0 });
    }
    Ok(VideoBench {
        videos: videos.len(),
        failed,
        sample_fps: sampling.fps,
        footage_seconds: footage,
        frames,
        frames_per_second: median(&rates),
        runs_frames_per_second: rates,
        real_time_factor: median(&factors),
        cpu_ms_per_frame: median(&cpu_ms),
    })
}

impl BenchReport {
    /// The report as text for a terminal.
    pub fn human(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "{} images ({} failed), {} threads, topology {}, median of {} runs\n",
            self.images, self.failed, self.threads, self.topology, self.repeat
        ));
        if self.images > 0 {
            s.push_str(&format!(
                "end to end:      {:8.2} images/s   {:7.1} CPU ms/image   (runs: {})\n",
                self.images_per_second,
                self.cpu_ms_per_image,
                rates(&self.runs_images_per_second)
            ));
            s.push_str(&format!(
                "inference only:  {:8.2} images/s   {:7.1} CPU ms/image   end to end is {:.0}% of it ({:.0}% by CPU time)\n",
                self.inference_bound_images_per_second,
                self.inference_bound_cpu_ms_per_image,
                self.inference_bound_ratio * 100.0,
                self.inference_bound_cpu_ratio * 100.0
            ));
            s.push_str(
                "stage (ms per image)      p50      p95     mean  cpu p50  cpu p95 cpu mean\n",
            );
            let st = &self.stages;
            for (name, v) in [
                ("decode", st.decode),
                ("face preprocess", st.face_preprocess),
                ("face inference", st.face_inference),
                ("face postprocess", st.face_postprocess),
                ("attribute preprocess", st.attribute_preprocess),
                ("attribute inference", st.attribute_inference),
                ("object preprocess", st.object_preprocess),
                ("object inference", st.object_inference),
                ("object postprocess", st.object_postprocess),
                ("text detect", st.text_detect),
                ("text recognise", st.text_recognise),
                ("tags", st.tags),
                ("total", st.total),
            ] {
                s.push_str(&format!(
                    "  {name:<20} {:8.2} {:8.2} {:8.2} {:8.2} {:8.2} {:8.2}\n",
                    v.p50_ms, v.p95_ms, v.mean_ms, v.cpu_p50_ms, v.cpu_p95_ms, v.cpu_mean_ms
                ));
            }
            s.push_str(&format!(
                "attributes (age, gender, expression): {:.2} ms per face ({:.2} CPU ms), {} faces\n",
                self.attribute_ms_per_face, self.attribute_cpu_ms_per_face, self.attribute_faces
            ));
            s.push_str(&format!(
                "identity (face embeddings): {:.2} ms per embedded face ({:.2} CPU ms), {} faces\n",
                self.identity_ms_per_face, self.identity_cpu_ms_per_face, self.identity_faces
            ));
            s.push_str(&format!(
                "text: {:.2} ms per image ({:.2} CPU ms), of which {:.2} ms per line read ({:.2} CPU ms), {} lines\n",
                self.text_ms_per_image,
                self.text_cpu_ms_per_image,
                self.text_ms_per_line,
                self.text_cpu_ms_per_line,
                self.text_lines
            ));
            s.push_str("threads: ");
            s.push_str(
                &self
                    .threads_scaling
                    .iter()
                    .map(|r| {
                        format!(
                            "{} -> {:.2} images/s ({:.1} CPU ms/image)",
                            r.threads, r.images_per_second, r.cpu_ms_per_image
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            s.push('\n');
        }
        for t in &self.topologies {
            s.push_str(&format!(
                "topology {:<15} {:8.2} images/s   {:7.1} CPU ms/image   (runs: {})\n",
                t.topology,
                t.images_per_second,
                t.cpu_ms_per_image,
                rates(&t.runs_images_per_second)
            ));
        }
        if let Some(v) = &self.video {
            s.push_str(&format!(
                "video:           {:8.2} frames/s   {:7.1} CPU ms/frame   real-time factor {:.2} ({} videos, {} of footage, {} frames at {} frame/s, {} failed; runs: {})\n",
                v.frames_per_second,
                v.cpu_ms_per_frame,
                v.real_time_factor,
                v.videos,
                crate::video::timeline::clock_text(v.footage_seconds),
                v.frames,
                v.sample_fps,
                v.failed,
                rates(&v.runs_frames_per_second)
            ));
        }
        s.push_str(&format!(
            "peak memory: {:.0} MiB; load average before {:.2}, after {:.2} on {} cores; {:.1} s\n",
            self.peak_rss_bytes as f64 / (1024.0 * 1024.0),
            self.load_average_before[0],
            self.load_average_after[0],
            self.cores,
            self.elapsed_seconds
        ));
        s.push_str(&self.projection.human());
        s
    }
}

fn rates(v: &[f64]) -> String {
    v.iter()
        .map(|r| format!("{r:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 10.0);
        assert_eq!(percentile(&v, 0.95), 19.0);
        assert_eq!(percentile(&v, 1.0), 20.0);
        assert_eq!(percentile(&[3.0], 0.95), 3.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn validate_names_the_option_that_cannot_be_measured_with() {
        assert!(BenchOptions::default().validate().is_ok());
        let cases = [
            (
                BenchOptions {
                    repeat: 0,
                    ..Default::default()
                },
                "--repeat must be at least 1, got 0",
            ),
            (
                BenchOptions {
                    threads: 0,
                    ..Default::default()
                },
                "--threads must be at least 1, got 0",
            ),
            (
                BenchOptions {
                    machines: 0,
                    ..Default::default()
                },
                "--machines must be at least 1, got 0",
            ),
            (
                BenchOptions {
                    average_photo_bytes: -2.0 * projection::MB,
                    ..Default::default()
                },
                "--avg-size must be a positive number, got -2",
            ),
            (
                BenchOptions {
                    video_frames_per_second: f64::NAN,
                    ..Default::default()
                },
                "--fps must be a positive number, got NaN",
            ),
            (
                BenchOptions {
                    video_bits_per_second: 0.0,
                    ..Default::default()
                },
                "--bitrate must be a positive number, got 0",
            ),
        ];
        for (o, msg) in cases {
            assert_eq!(o.validate().unwrap_err().to_string(), msg);
        }
    }

    #[test]
    fn inputs_are_an_error_naming_the_paths_when_none_is_an_image() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("notes.txt"), b"x").unwrap();
        let err = inputs(&[d.path().to_path_buf()]).unwrap_err();
        assert!(
            matches!(&err, BenchError::NoImages(p) if p.contains(&*d.path().to_string_lossy())),
            "{err}"
        );
    }

    #[test]
    fn peak_memory_is_read_from_proc_status() {
        let status = "Name:\tonlooker\nVmPeak:\t  500 kB\nVmHWM:\t  1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(1234 * 1024));
        assert_eq!(parse_vm_hwm("nothing"), None);
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes() > 0);
        }
    }
}
