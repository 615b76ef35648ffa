//! `onlooker bench`: throughput measured on real images with the real
//! models, the time each stage takes, how close the whole pipeline comes to
//! the models' own speed, how it scales with threads, and what the measured
//! rate means at archive scale (`projection`).
//!
//! Every figure is a median over `repeat` runs after a warm-up; the machine's
//! load average is recorded next to them, since a busy machine slows
//! everything down. CPU time is measured next to wall time: on a shared
//! machine wall time mostly measures the other tenants, while CPU time per
//! image still says what the work costs.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ndarray::Array4;
use serde::Serialize;

use crate::batch::{self, Engine, Input, Plan, Topology};
use crate::error::{ImageError, SetupError};
use crate::face::{self, FaceDetector};
use crate::objects::{self, ObjectDetector};
use crate::pipeline::{self, Options};
use crate::projection::{self, Assumptions, Projection};
use crate::runtime::Runtime;

/// YuNet's input side in the pipeline (`face::FaceDetector::detect`).
const FACE_INPUT: u32 = 640;
/// Images prepared at once for the inference-only pass: enough to keep every
/// worker busy, few enough that the tensors stay small (about 7 MB each).
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
        }
    }
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

/// Time per image of each stage of the pipeline, on the same workers and
/// sessions as the end-to-end runs. `face_inference` and `object_inference`
/// include reading the raw outputs into candidates above the threshold;
/// `*_postprocess` is NMS and mapping back to image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Stages {
    /// Reading the file and decoding it to upright RGB.
    pub decode: StageStats,
    pub face_preprocess: StageStats,
    pub face_inference: StageStats,
    pub face_postprocess: StageStats,
    pub object_preprocess: StageStats,
    pub object_inference: StageStats,
    pub object_postprocess: StageStats,
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
    pub projection: Projection,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("no images to benchmark")]
    NoImages,
    #[error("no image could be analysed: {0}")]
    Image(#[from] ImageError),
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

#[cfg(unix)]
fn cpu_clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock ids used are
    // supported on every Linux and BSD.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// CPU time used so far by the calling thread.
#[cfg(unix)]
pub fn thread_cpu_time() -> Duration {
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time used so far by the whole process, every thread.
#[cfg(unix)]
pub fn process_cpu_time() -> Duration {
    cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

#[cfg(not(unix))]
pub fn thread_cpu_time() -> Duration {
    Duration::ZERO
}

#[cfg(not(unix))]
pub fn process_cpu_time() -> Duration {
    Duration::ZERO
}

/// Wall and thread CPU time since it was started.
struct Clock(Instant, Duration);

impl Clock {
    fn start() -> Self {
        Clock(Instant::now(), thread_cpu_time())
    }

    /// (wall, cpu) in milliseconds.
    fn ms(&self) -> (f64, f64) {
        (
            ms(self.0.elapsed()),
            ms(thread_cpu_time().saturating_sub(self.1)),
        )
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

/// Runs `f(worker, item)` for every item on `workers` threads, each taking
/// the next item from a shared counter; results in item order.
fn parallel<T: Send>(workers: usize, n: usize, f: impl Fn(usize, usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let out: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for w in 0..workers.max(1) {
            let (next, out, f) = (&next, &out, &f);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let v = f(w, i);
                *out[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
            });
        }
    });
    out.into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect()
}

/// Detectors laid out like the topology's sessions: one set per worker, or
/// one set shared by every worker.
struct Detectors {
    sets: Vec<Mutex<(FaceDetector, ObjectDetector)>>,
    workers: usize,
}

impl Detectors {
    fn new(rt: &Runtime, options: &Options, plan: Plan) -> Result<Self, SetupError> {
        let intra = plan.topology.intra_threads(plan.threads);
        let workers = plan.topology.workers(plan.threads);
        let sets = match plan.topology {
            Topology::PerWorker => workers,
            Topology::OneSession | Topology::SharedSession => 1,
        };
        let sets = (0..sets)
            .map(|_| {
                Ok(Mutex::new((
                    FaceDetector::new(rt, intra, options.face_threshold)?,
                    ObjectDetector::new(rt, intra, options.object_threshold)?,
                )))
            })
            .collect::<Result<_, SetupError>>()?;
        Ok(Detectors { sets, workers })
    }

    fn set(&self, worker: usize) -> std::sync::MutexGuard<'_, (FaceDetector, ObjectDetector)> {
        self.sets[worker % self.sets.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The stages of one image, (wall, cpu) in milliseconds, in `Stages` field
/// order.
type StageTimes = [(f64, f64); 7];

fn time_stages(
    det: &Detectors,
    worker: usize,
    path: &Path,
    options: &Options,
) -> Result<StageTimes, ImageError> {
    let c = Clock::start();
    let loaded = pipeline::load(path, options)?;
    let decode = c.ms();
    let rgb = &loaded.rgb;

    let c = Clock::start();
    let (face_in, _) = face::preprocess(rgb, FACE_INPUT, FACE_INPUT);
    let face_pre = c.ms();
    let (candidates, face_inf) = {
        let mut set = det.set(worker);
        let c = Clock::start();
        (set.0.infer(&face_in)?, c.ms())
    };
    let c = Clock::start();
    std::hint::black_box(face::suppress(candidates));
    let face_post = c.ms();

    let c = Clock::start();
    let (object_in, _) = objects::preprocess(rgb);
    let object_pre = c.ms();
    let (candidates, object_inf) = {
        let mut set = det.set(worker);
        let c = Clock::start();
        (set.1.infer(&object_in)?, c.ms())
    };
    let c = Clock::start();
    std::hint::black_box(objects::suppress(candidates));
    let object_post = c.ms();
    Ok([
        decode,
        face_pre,
        face_inf,
        face_post,
        object_pre,
        object_inf,
        object_post,
    ])
}

fn stages_of(per_image: &[StageTimes]) -> Stages {
    let col = |k: usize| -> StageStats {
        let wall: Vec<f64> = per_image.iter().map(|s| s[k].0).collect();
        let cpu: Vec<f64> = per_image.iter().map(|s| s[k].1).collect();
        StageStats::of(&wall, &cpu)
    };
    let wall: Vec<f64> = per_image
        .iter()
        .map(|s| s.iter().map(|t| t.0).sum())
        .collect();
    let cpu: Vec<f64> = per_image
        .iter()
        .map(|s| s.iter().map(|t| t.1).sum())
        .collect();
    Stages {
        decode: col(0),
        face_preprocess: col(1),
        face_inference: col(2),
        face_postprocess: col(3),
        object_preprocess: col(4),
        object_inference: col(5),
        object_postprocess: col(6),
        total: StageStats::of(&wall, &cpu),
    }
}

/// Wall and process CPU seconds the detectors alone need for `paths`:
/// tensors are prepared a chunk at a time outside the clock, then the
/// workers run inference on them.
fn inference_seconds(
    det: &Detectors,
    paths: &[&Path],
    options: &Options,
) -> Result<(f64, f64), ImageError> {
    let (mut total, mut cpu) = (0.0, 0.0);
    for chunk in paths.chunks(BOUND_CHUNK) {
        let prepared: Vec<Option<(Array4<f32>, Array4<f32>)>> =
            parallel(det.workers, chunk.len(), |_, i| {
                let loaded = pipeline::load(chunk[i], options).ok()?;
                Some((
                    face::preprocess(&loaded.rgb, FACE_INPUT, FACE_INPUT).0,
                    objects::preprocess(&loaded.rgb).0,
                ))
            });
        let tensors: Vec<&(Array4<f32>, Array4<f32>)> = prepared.iter().flatten().collect();
        let (start, start_cpu) = (Instant::now(), process_cpu_time());
        let outcomes = parallel(det.workers, tensors.len(), |w, i| {
            let mut set = det.set(w);
            set.0.infer(&tensors[i].0)?;
            set.1.infer(&tensors[i].1).map(|_| ())
        });
        total += start.elapsed().as_secs_f64();
        cpu += process_cpu_time().saturating_sub(start_cpu).as_secs_f64();
        outcomes.into_iter().collect::<Result<(), ImageError>>()?;
    }
    Ok((total, cpu))
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
    bo: &BenchOptions,
    mut progress: impl FnMut(&str),
) -> Result<BenchReport, BenchError> {
    if inputs.is_empty() {
        return Err(BenchError::NoImages);
    }
    let inputs = &largest_first(inputs);
    let started = Instant::now();
    let load_before = load_average();
    let threads = bo.threads.max(1);
    let plan = Plan {
        threads,
        topology: bo.topology,
    };

    progress(&format!(
        "end to end: {} images, {threads} threads, {}",
        inputs.len(),
        plan.topology.name()
    ));
    let engine = Engine::new(rt, options, plan)?;
    let main = end_to_end(&engine, inputs, bo.repeat)?;
    let images_per_second = median(&main.rates);
    let cpu_ms_per_image = median(&main.cpu_ms);
    let peak_rss = peak_rss_bytes();
    drop(engine);

    let mut topologies = vec![TopologyRate {
        topology: plan.topology.name(),
        threads,
        images_per_second,
        runs_images_per_second: main.rates.clone(),
        cpu_ms_per_image,
    }];
    if bo.compare_topologies {
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
    if bo.scale_threads {
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
    threads_scaling.push(RateAt {
        threads,
        images_per_second,
        cpu_ms_per_image,
    });

    progress("stages and inference-only bound");
    let det = Detectors::new(rt, options, plan)?;
    let paths: Vec<&Path> = inputs
        .iter()
        .filter_map(|i| match i {
            Input::File(p) => Some(p.as_path()),
            Input::Unreadable { .. } => None,
        })
        .collect();
    let mut per_image = Vec::new();
    let (mut bound_runs, mut bound_cpu) = (Vec::new(), Vec::new());
    for _ in 0..bo.repeat.max(1) {
        let times = parallel(det.workers, paths.len(), |w, i| {
            time_stages(&det, w, paths[i], options)
        });
        per_image.extend(times.into_iter().flatten());
        let (secs, cpu) = inference_seconds(&det, &paths, options)?;
        bound_runs.push(inputs.len() as f64 / secs.max(1e-9));
        bound_cpu.push(cpu * 1000.0 / inputs.len() as f64);
    }
    let inference_bound = median(&bound_runs);
    let inference_cpu_ms = median(&bound_cpu);

    let projection = Assumptions {
        images_per_second_per_machine: images_per_second,
        machines: bo.machines.max(1),
        average_photo_bytes: bo.average_photo_bytes,
        video_frames_per_second: bo.video_frames_per_second,
        video_bits_per_second: bo.video_bits_per_second,
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
        stages: stages_of(&per_image),
        threads_scaling,
        topologies,
        peak_rss_bytes: peak_rss,
        cores: batch::default_threads(),
        load_average_before: load_before,
        load_average_after: load_average(),
        elapsed_seconds: started.elapsed().as_secs_f64(),
        projection,
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
        s.push_str("stage (ms per image)      p50      p95     mean  cpu p50  cpu p95 cpu mean\n");
        let st = &self.stages;
        for (name, v) in [
            ("decode", st.decode),
            ("face preprocess", st.face_preprocess),
            ("face inference", st.face_inference),
            ("face postprocess", st.face_postprocess),
            ("object preprocess", st.object_preprocess),
            ("object inference", st.object_inference),
            ("object postprocess", st.object_postprocess),
            ("total", st.total),
        ] {
            s.push_str(&format!(
                "  {name:<20} {:8.2} {:8.2} {:8.2} {:8.2} {:8.2} {:8.2}\n",
                v.p50_ms, v.p95_ms, v.mean_ms, v.cpu_p50_ms, v.cpu_p95_ms, v.cpu_mean_ms
            ));
        }
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
        for t in &self.topologies {
            s.push_str(&format!(
                "topology {:<15} {:8.2} images/s   {:7.1} CPU ms/image   (runs: {})\n",
                t.topology,
                t.images_per_second,
                t.cpu_ms_per_image,
                rates(&t.runs_images_per_second)
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
    fn peak_memory_is_read_from_proc_status() {
        let status = "Name:\tonlooker\nVmPeak:\t  500 kB\nVmHWM:\t  1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(1234 * 1024));
        assert_eq!(parse_vm_hwm("nothing"), None);
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes() > 0);
        }
    }

    #[test]
    fn parallel_keeps_item_order_and_covers_every_item() {
        let out = parallel(3, 50, |_, i| i * 2);
        assert_eq!(out, (0..50).map(|i| i * 2).collect::<Vec<_>>());
    }
}
