//! The `onlooker` command: parses arguments, calls the library, maps errors
//! to messages and exit codes (0 all analysed, 1 some images failed, 2 usage
//! or setup error).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use onlooker::attributes::AttributeOptions;
use onlooker::batch::{self, Topology};
use onlooker::bench::{self, BenchError, BenchOptions};
use onlooker::imageio::{self, DecodeLimits};
use onlooker::manifest::{self, FileState};
use onlooker::projection;
use onlooker::run::{self, print_stdout, RunConfig};
use onlooker::{runtime, Options, Runtime};

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
    Scrub(onlooker::scrub::ScrubArgs),
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
    #[arg(long, value_name = "N", value_parser = at_least_one)]
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
    /// Measure without reading text (its models are not loaded)
    #[arg(long)]
    no_text: bool,
    /// Measure without face embeddings (the identity model is not loaded)
    #[arg(long)]
    no_identity: bool,
}

fn at_least_one(s: &str) -> Result<usize, String> {
    s.parse()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| "expected a whole number, at least 1".into())
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
    #[arg(long, value_name = "N", value_parser = at_least_one)]
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
    /// Do not read text in the images (its models are not even loaded)
    #[arg(long)]
    no_text: bool,
    /// Do not tell who is who across the photos (no face embeddings; the
    /// identity model is not even loaded)
    #[arg(long)]
    no_identity: bool,
    /// Folder for the report: index.html, report.json, detections.csv and
    /// annotated copies of the images [default: onlooker-report, or none
    /// when --json or --jsonl is given]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write the report even if the --out folder holds files other than an
    /// earlier report (an earlier report is always replaced; other files
    /// are left alone)
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
        Command::Scrub(s) => onlooker::scrub::cli(s).map_err(Into::into),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            // Every error is a typed one whose message names what to do (and
            // its path): one line, without the chain of its sources.
            eprintln!("onlooker: {e}");
            ExitCode::from(2)
        }
    }
}

fn analyze(a: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let analysis = Options {
        face_threshold: a.face_threshold,
        object_threshold: a.object_threshold,
        limits: DecodeLimits::new(a.max_pixels_side, a.max_alloc_mib, a.max_file_mib),
        attributes: AttributeOptions {
            age: !(a.no_attributes || a.no_age),
            gender: !(a.no_attributes || a.no_gender),
            expression: !(a.no_attributes || a.no_expression),
        },
        object_tiles: !a.no_object_tiles,
        text: !a.no_text,
        identity: !a.no_identity,
        ..Options::default()
    };
    let config = RunConfig {
        json: a.json,
        jsonl: a.jsonl,
        out: a.out,
        force: a.force,
        no_report: a.no_report,
        quiet: a.quiet,
        threads: a.threads.unwrap_or_else(batch::default_threads),
        topology: a.topology,
        ..RunConfig::new(a.paths, analysis)
    };
    let rt = Runtime::load(&runtime::models_dir(a.models.as_deref()))?;
    let outcome = run::analyze(&rt, &config)?;
    Ok(ExitCode::from(outcome.exit_code()))
}

fn bench(b: BenchArgs) -> anyhow::Result<ExitCode> {
    let options = BenchOptions {
        threads: b.threads.unwrap_or_else(batch::default_threads),
        repeat: b.repeat,
        topology: b.topology,
        compare_topologies: !b.quick,
        scale_threads: !b.quick,
        machines: b.machines,
        average_photo_bytes: b.avg_size * projection::MB,
        video_frames_per_second: b.fps,
        video_bits_per_second: b.bitrate * 1e6,
    };
    options.validate()?;
    let analysis = Options {
        attributes: if b.no_attributes {
            AttributeOptions::NONE
        } else {
            AttributeOptions::ALL
        },
        object_tiles: !b.no_object_tiles,
        text: !b.no_text,
        identity: !b.no_identity,
        ..Options::default()
    };
    let rt = Runtime::load(&runtime::models_dir(b.models.as_deref()))?;
    let report = bench::inputs(&b.paths).and_then(|inputs| {
        bench::run(&rt, &analysis, &inputs, &options, |what| {
            eprintln!("onlooker bench: measuring {what}")
        })
    });
    let report = match report {
        Err(e @ BenchError::NoImages(_)) => {
            eprintln!("onlooker: {e}");
            return Ok(ExitCode::from(1));
        }
        r => r?,
    };
    if b.json {
        print_stdout(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        print_stdout(&report.human())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn models(m: ModelsArgs) -> anyhow::Result<ExitCode> {
    let dir = runtime::models_dir(m.models.as_deref());
    let files = manifest::status(&dir)?;
    print_stdout(&manifest::render_status(&dir, &files))?;
    if files.iter().all(|f| f.state == FileState::Verified) {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("onlooker: some files are missing or do not verify: run `make models`");
        Ok(ExitCode::from(2))
    }
}
