//! The `onlooker` command: parses arguments, calls the library, maps errors
//! to messages and exit codes (0 all analysed, 1 some images failed, 2 usage
//! or setup error).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use onlooker::attributes::AttributeOptions;
use onlooker::batch::{self, Input, Plan, Topology};
use onlooker::bench::{self, BenchOptions};
use onlooker::imageio::{self, DecodeLimits};
use onlooker::manifest::{self, FileState, Manifest};
use onlooker::projection;
use onlooker::report;
use onlooker::stream::{JsonlWriter, Tally};
use onlooker::{runtime, Options, Runtime, SetupError};

#[derive(Parser)]
#[command(
    name = "onlooker",
    version,
    about = "See what a cloud vision service learns from your photos, without sending them anywhere"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse images and folders of images (default: samples/)
    Analyze(AnalyzeArgs),
    /// List the models: present, verified, licence, what each infers
    Models(ModelsArgs),
    /// Measure throughput on real images (default: samples/) and project it
    /// to archive scale
    Bench(BenchArgs),
}

#[derive(Args)]
struct BenchArgs {
    /// Image files or folders (folders are searched recursively)
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Folder holding the runtime and model files [env: ONLOOKER_MODELS]
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
    /// Threads (default: all cores)
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Timed runs over the images for each figure (the median is reported)
    #[arg(long, value_name = "K", default_value_t = 3)]
    repeat: usize,
    /// Print one JSON object (keys in README.md) instead of text
    #[arg(long)]
    json: bool,
    /// How sessions use the cores
    #[arg(long, value_name = "NAME", default_value = "per-worker", value_parser = parse_topology)]
    topology: Topology,
    /// Skip the comparison of topologies and the 1..N threads scan
    #[arg(long)]
    quick: bool,
    /// Machines in the scale projection
    #[arg(long, value_name = "K", default_value_t = 1)]
    machines: u32,
    /// Average photo size in MB (10^6 bytes) for the scale projection
    #[arg(long, value_name = "MB", default_value_t = projection::DEFAULT_AVG_PHOTO_MB)]
    avg_size: f64,
    /// Video frames analysed per second of footage, for the scale projection
    #[arg(long, value_name = "FPS", default_value_t = projection::DEFAULT_FPS)]
    fps: f64,
    /// Average video bitrate in Mbit/s, for the scale projection
    #[arg(long, value_name = "MBIT_S", default_value_t = projection::DEFAULT_VIDEO_MBIT_S)]
    bitrate: f64,
    /// Measure without age, gender and expression (detection only)
    #[arg(long)]
    no_attributes: bool,
    /// Measure without the tiled second look for people in large photos
    #[arg(long)]
    no_object_tiles: bool,
}

fn parse_topology(s: &str) -> Result<Topology, String> {
    Topology::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Topology::ALL.iter().map(|t| t.name()).collect();
        format!("expected one of: {}", names.join(", "))
    })
}

#[derive(Args)]
struct ModelsArgs {
    /// Folder holding the runtime and model files [env: ONLOOKER_MODELS]
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
}

#[derive(Args)]
struct AnalyzeArgs {
    /// Image files or folders (folders are searched recursively)
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Write the full results as one JSON document to FILE (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write one JSON object per image, one per line, as results arrive
    /// (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    jsonl: Option<PathBuf>,
    /// Folder holding the runtime and model files [env: ONLOOKER_MODELS]
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
    /// Worker threads (default: all cores)
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// How sessions use the cores: per-worker (fastest, measured), one-session, shared-session
    #[arg(long, value_name = "NAME", default_value = "per-worker", value_parser = parse_topology, hide_short_help = true)]
    topology: Topology,
    /// Minimum face score, 0..1
    #[arg(long, value_name = "SCORE", default_value_t = onlooker::face::DEFAULT_THRESHOLD)]
    face_threshold: f32,
    /// Minimum object score, 0..1
    #[arg(long, value_name = "SCORE", default_value_t = onlooker::objects::DEFAULT_THRESHOLD)]
    object_threshold: f32,
    /// Do not look for people in tiles of large images (faster, fewer people found in crowds)
    #[arg(long)]
    no_object_tiles: bool,
    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
    /// Largest width or height accepted, in pixels; larger images are
    /// refused from their header, before decoding
    #[arg(long, value_name = "PIXELS", default_value_t = imageio::DEFAULT_MAX_SIDE,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_pixels_side: u32,
    /// Most memory one image may take to decode, in MiB (per worker thread)
    #[arg(long, value_name = "MIB", default_value_t = imageio::DEFAULT_MAX_ALLOC_MIB,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_alloc_mib: u64,
    /// Largest image file read, in MiB
    #[arg(long, value_name = "MIB", default_value_t = imageio::DEFAULT_MAX_FILE_MIB,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_file_mib: u64,
    /// Do not estimate age, gender or expression (their models are not even loaded)
    #[arg(long)]
    no_attributes: bool,
    /// Do not estimate age
    #[arg(long)]
    no_age: bool,
    /// Do not estimate gender
    #[arg(long)]
    no_gender: bool,
    /// Do not estimate facial expression
    #[arg(long)]
    no_expression: bool,
    /// Folder for the report: index.html, report.json, detections.csv and
    /// annotated copies of the images
    #[arg(long, value_name = "DIR", default_value = "onlooker-report")]
    out: PathBuf,
    /// Write the report even if the --out folder is not empty (an earlier
    /// report there is replaced; other files are left alone)
    #[arg(long)]
    force: bool,
    /// Write no report folder (only --json and the terminal summary)
    #[arg(long, conflicts_with = "force")]
    no_report: bool,
}

fn main() -> ExitCode {
    // Before any thread exists: setting the environment is only sound then.
    runtime::switch_off_telemetry();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Analyze(a) => analyze(a),
        Command::Models(m) => models(m),
        Command::Bench(b) => bench(b),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            // Setup problems are one line saying what to do; no backtrace.
            if let Some(setup) = e.downcast_ref::<SetupError>() {
                eprintln!("onlooker: {setup}");
            } else {
                eprintln!("onlooker: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

fn check_threshold(name: &str, v: f32) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&v) {
        anyhow::bail!("{name} must be between 0 and 1, got {v}");
    }
    Ok(())
}

fn threads(requested: Option<usize>) -> anyhow::Result<usize> {
    match requested {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(batch::default_threads()),
    }
}

fn analyze(a: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    check_threshold("--face-threshold", a.face_threshold)?;
    check_threshold("--object-threshold", a.object_threshold)?;
    let threads = threads(a.threads)?;
    let stdout = Path::new("-");
    let json_to_stdout = a.json.as_deref() == Some(stdout);
    let jsonl_to_stdout = a.jsonl.as_deref() == Some(stdout);
    if json_to_stdout && jsonl_to_stdout {
        anyhow::bail!("--json - and --jsonl - cannot both write to standard output");
    }
    let rt = Runtime::load(&runtime::models_dir(a.models.as_deref()))?;
    let paths = if a.paths.is_empty() {
        vec![PathBuf::from("samples")]
    } else {
        a.paths.clone()
    };
    let inputs: Vec<Input> = batch::collect_inputs(&paths);
    // A report written inside a folder of photos is not analysed next time.
    let (inputs, skipped) = report::skip_report_outputs(inputs, &paths);
    if skipped > 0 && !a.quiet {
        eprintln!("onlooker: skipped {skipped} files inside onlooker report folders");
    }
    let sources: Vec<PathBuf> = inputs
        .iter()
        .map(|i| match i {
            Input::File(p) | Input::Unreadable { path: p, .. } => p.clone(),
        })
        .collect();
    // Checked before the analysis, so a long run cannot end in this error.
    let out_dir = if a.no_report {
        None
    } else {
        Some(report::OutputDir::check(&a.out, a.force, &sources)?)
    };
    let options = Options {
        face_threshold: a.face_threshold,
        object_threshold: a.object_threshold,
        limits: DecodeLimits::new(a.max_pixels_side, a.max_alloc_mib, a.max_file_mib),
        attributes: AttributeOptions {
            age: !(a.no_attributes || a.no_age),
            gender: !(a.no_attributes || a.no_gender),
            expression: !(a.no_attributes || a.no_expression),
        },
        object_tiles: !a.no_object_tiles,
        ..Options::default()
    };
    let mut jsonl = match &a.jsonl {
        Some(p) => {
            Some(JsonlWriter::create(p).with_context(|| format!("--jsonl {}", p.display()))?)
        }
        None => None,
    };

    // Results stream through: only the JSON document needs them all at the
    // end, so only then are they kept (no pixels, a few hundred bytes each).
    let keep = a.json.is_some() || out_dir.is_some();
    // Per-image lines go wherever the JSON is not.
    let lines_to_stderr = json_to_stdout || jsonl_to_stdout;
    let progress = progress_bar(inputs.len() as u64, a.quiet);
    let start = Instant::now();
    let engine = batch::Engine::new(
        &rt,
        &options,
        Plan {
            threads,
            topology: a.topology,
        },
    )?;
    let mut kept = Vec::new();
    let mut tally = Tally::default();
    // An output that cannot be written stops the run: nobody would see the
    // rest. A reader that went away (`| head`) is not an error.
    let mut output_error: Option<(String, std::io::Error)> = None;
    let mut fail = |what: &str, e: std::io::Error| {
        if e.kind() != std::io::ErrorKind::BrokenPipe && output_error.is_none() {
            output_error = Some((what.to_string(), e));
        }
        engine.cancel();
    };
    engine.run(&inputs, |i, r| {
        tally.add(&r);
        if let Some(w) = jsonl.as_mut() {
            if let Err(e) = w.write(&r) {
                fail("--jsonl", e);
            }
        }
        progress.suspend(|| {
            if !a.quiet {
                let line = report::image_line(&r);
                if lines_to_stderr {
                    eprint!("{line}");
                } else {
                    match print_stdout(&line) {
                        Ok(true) => {}
                        Ok(false) => engine.cancel(),
                        Err(e) => fail("standard output", e),
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
    drop(jsonl);
    if let Some((what, e)) = output_error {
        return Err(e).with_context(|| format!("writing {what}"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    // With every result at hand, the summary also carries the batch
    // findings and the attribute caveats.
    // Results arrive as workers finish; the documents list them in input
    // order, which the report's annotated copies also rely on.
    kept.sort_by_key(|(i, _)| *i);
    // The file each kept result came from (a cancelled run keeps fewer
    // results than there are inputs), for the annotated copies.
    let kept_sources: Vec<PathBuf> = kept.iter().map(|(i, _)| sources[*i].clone()).collect();
    let kept: Vec<onlooker::ImageResult> = kept.into_iter().map(|(_, r)| r).collect();
    let summary = if keep {
        report::Summary::of(&kept, elapsed)
    } else {
        tally.summary(elapsed)
    };
    let results = kept;
    let json_text = report::to_json(&results, &summary)?;
    if let Some(path) = &a.json {
        let text = &json_text;
        if json_to_stdout {
            print_stdout(&format!("{text}\n"))?;
        } else {
            report::write_atomic(path, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let written = match &out_dir {
        Some(out) => {
            let w = report::output::write(
                out,
                &results,
                &summary,
                &kept_sources,
                &options.limits,
                threads,
            )
            .with_context(|| format!("writing the report in {}", out.path().display()))?;
            for (r, c) in results.iter().zip(&w.copies) {
                if let report::html::Annotated::Failed(reason) = c {
                    eprintln!("{}: no annotated copy: {reason}", r.path);
                }
            }
            Some(w)
        }
        None => None,
    };
    if !a.quiet {
        let text = format!(
            "{}{}{}",
            onlooker::findings::human(
                if keep { &results } else { tally.metadata() },
                &summary.findings
            ),
            report::caveats_text(&summary),
            report::totals_line(&summary)
        );
        if lines_to_stderr {
            eprint!("{text}");
        } else {
            print_stdout(&text)?;
        }
    }
    if let (Some(w), false) = (&written, a.quiet) {
        let index = std::fs::canonicalize(&w.index).unwrap_or_else(|_| w.index.clone());
        let line = format!(
            "report: {} annotated images in {:.2} s (whole report {:.2} s)\nreport: {}\n",
            w.annotated(),
            w.annotate_seconds,
            w.total_seconds,
            index.display()
        );
        if json_to_stdout {
            eprint!("{line}");
        } else {
            print_stdout(&line)?;
        }
    }
    if inputs.is_empty() {
        eprintln!("onlooker: no images found in {}", display_list(&paths));
        return Ok(ExitCode::from(1));
    }
    Ok(if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A progress bar on stderr for long runs; hidden when stderr is not a
/// terminal (a log file, a pipe) or with --quiet.
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

fn bench(b: BenchArgs) -> anyhow::Result<ExitCode> {
    let threads = threads(b.threads)?;
    if b.repeat == 0 {
        anyhow::bail!("--repeat must be at least 1");
    }
    if b.machines == 0 {
        anyhow::bail!("--machines must be at least 1");
    }
    for (name, v) in [
        ("--avg-size", b.avg_size),
        ("--fps", b.fps),
        ("--bitrate", b.bitrate),
    ] {
        if !(v.is_finite() && v > 0.0) {
            anyhow::bail!("{name} must be a positive number, got {v}");
        }
    }
    let rt = Runtime::load(&runtime::models_dir(b.models.as_deref()))?;
    let paths = if b.paths.is_empty() {
        vec![PathBuf::from("samples")]
    } else {
        b.paths.clone()
    };
    let inputs = batch::collect_inputs(&paths);
    if inputs.is_empty() {
        eprintln!("onlooker: no images found in {}", display_list(&paths));
        return Ok(ExitCode::from(1));
    }
    let options = BenchOptions {
        threads,
        repeat: b.repeat,
        topology: b.topology,
        compare_topologies: !b.quick,
        scale_threads: !b.quick,
        machines: b.machines,
        average_photo_bytes: b.avg_size * projection::MB,
        video_frames_per_second: b.fps,
        video_bits_per_second: b.bitrate * 1e6,
    };
    let analysis = Options {
        attributes: if b.no_attributes {
            AttributeOptions::NONE
        } else {
            AttributeOptions::ALL
        },
        object_tiles: !b.no_object_tiles,
        ..Options::default()
    };
    let report = bench::run(&rt, &analysis, &inputs, &options, |what| {
        eprintln!("onlooker bench: measuring {what}")
    })?;
    if b.json {
        print_stdout(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        print_stdout(&report.human())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout. `Ok(false)` once the reader has gone
/// (`onlooker ... | head`), which is not an error.
fn print_stdout(text: &str) -> std::io::Result<bool> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
        Ok(()) => Ok(true),
    }
}

fn display_list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn models(m: ModelsArgs) -> anyhow::Result<ExitCode> {
    let dir = runtime::models_dir(m.models.as_deref());
    let manifest = Manifest::builtin();
    let mut out = String::new();
    out.push_str(&format!("models folder: {}\n", dir.display()));
    let mut all_ok = true;
    for entry in std::iter::once(&manifest.runtime).chain(manifest.models.iter()) {
        let state = manifest::verify(entry, &dir)?;
        let status = match &state {
            FileState::Verified => "verified".to_string(),
            FileState::Missing => "MISSING".to_string(),
            FileState::Mismatch { actual } => format!("SHA256 MISMATCH (found {actual})"),
        };
        all_ok &= state == FileState::Verified;
        out.push_str(&format!(
            "{:<16} {:<26} {}\n",
            entry.name, entry.file, status
        ));
        out.push_str(&format!(
            "{:<16} licence {}; {}\n",
            "", entry.licence, entry.source
        ));
        out.push_str(&format!("{:<16} infers: {}\n", "", entry.infers));
    }
    print_stdout(&out)?;
    if all_ok {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("onlooker: some files are missing or do not verify: run `make models`");
        Ok(ExitCode::from(2))
    }
}
