//! The `onlooker` command: parses arguments, calls the library, maps errors
//! to messages and exit codes (0 all analysed, 1 some images failed, 2 usage
//! or setup error).

use std::process::ExitCode;

use clap::Parser;

use onlooker::attributes::AttributeOptions;
use onlooker::batch;
use onlooker::bench::{self, BenchError, BenchOptions};
use onlooker::find::{self, FindConfig};
use onlooker::imageio::DecodeLimits;
use onlooker::manifest::{self, FileState};
use onlooker::projection;
use onlooker::run::{self, print_stdout, RunConfig};
use onlooker::serve;
use onlooker::{runtime, Options, Runtime};

mod cli;

/// jemalloc rather than glibc's allocator: glibc kept what ONNX Runtime freed
/// after each inference, so the peak grew with the batch (ARCHITECTURE.md,
/// "Memory"). Only the binary chooses; the library leaves it to its users.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its first allocation (`MALLOC_CONF` still
/// overrides them). By default jemalloc hands requests of 8 MiB and more to
/// an arena that returns them to the system as soon as they are freed, and
/// every inference then faults its large activations in again: 4 to 5 times
/// the system time. `oversize_threshold:0` keeps them in the ordinary arenas,
/// which return pages unused for 10 s.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[export_name = "malloc_conf"]
#[used]
static JEMALLOC_OPTIONS: &[u8; 21] = b"oversize_threshold:0\0";

use cli::{AnalyzeArgs, BenchArgs, Cli, Command, FindArgs, MergeArgs, ModelsArgs, ServeArgs};

fn main() -> ExitCode {
    // Before any thread exists: setting the environment is only sound then.
    runtime::switch_off_telemetry();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Analyze(a) => analyze(a),
        Command::Models(m) => models(m),
        Command::Bench(b) => bench(b),
        Command::Find(f) => find(f),
        Command::Scrub(s) => onlooker::scrub::cli(s).map_err(Into::into),
        Command::Serve(s) => serve(s),
        Command::Merge(m) => merge(m),
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
        face_survey: !a.no_face_survey,
        text: !a.no_text,
        identity: !a.no_identity,
        tags: !a.no_tags,
        ..Options::default()
    };
    let config = RunConfig {
        json: a.json,
        cloud: a.as_provider,
        jsonl: a.jsonl,
        out: a.out,
        force: a.force,
        no_report: a.no_report,
        quiet: a.quiet,
        threads: a.threads.unwrap_or_else(batch::default_threads),
        topology: a.topology,
        embeddings: a.embeddings,
        video: onlooker::video::VideoOptions { fps: a.fps },
        shard: match a.shard_from_env {
            true => Some(onlooker::shard::Shard::from_env(|k| std::env::var(k).ok())?),
            false => a.shard,
        },
        ..RunConfig::new(a.paths, analysis)
    };
    let rt = Runtime::load(&runtime::models_dir(a.models.as_deref()))?;
    let outcome = run::analyze(&rt, &config)?;
    if let Some(e) = &outcome.video_setup {
        eprintln!("onlooker: videos not analysed: {e}");
    }
    Ok(ExitCode::from(outcome.exit_code()))
}

fn merge(m: MergeArgs) -> anyhow::Result<ExitCode> {
    let config = onlooker::merge::MergeConfig {
        json: m.json,
        out: m.out,
        force: m.force,
        no_report: m.no_report,
        quiet: m.quiet,
        threads: m.threads.unwrap_or_else(batch::default_threads),
        embeddings: m.embeddings,
        ..onlooker::merge::MergeConfig::new(m.shards)
    };
    let outcome = onlooker::merge::merge(&runtime::models_dir(m.models.as_deref()), &config)?;
    Ok(ExitCode::from(outcome.exit_code()))
}

fn find(f: FindArgs) -> anyhow::Result<ExitCode> {
    let config = FindConfig {
        face: f.face,
        json: f.json,
        out: f.out,
        force: f.force,
        quiet: f.quiet,
        threads: f.threads.unwrap_or_else(batch::default_threads),
        ..FindConfig::new(f.reference, f.paths)
    };
    let rt = Runtime::load(&runtime::models_dir(f.models.as_deref()))?;
    Ok(ExitCode::from(find::find(&rt, &config)?.exit_code()))
}

fn serve(s: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = serve::ServeConfig {
        addr: s
            .listen
            .unwrap_or_else(|| std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, s.port))),
        token: match s.listen {
            Some(_) => Some(serve::new_token()?),
            None => None,
        },
        max_upload_bytes: s.max_upload_mib.saturating_mul(1 << 20),
        max_file_bytes: s.max_file_mib.saturating_mul(1 << 20),
        threads: s.threads.unwrap_or_else(batch::default_threads),
        queue: s.queue,
        verbose: s.verbose,
        ..serve::ServeConfig::new(Options::default())
    };
    let rt = Runtime::load(&runtime::models_dir(s.models.as_deref()))?;
    // One runtime for the life of the process, shared by every request.
    let rt: &'static Runtime = Box::leak(Box::new(rt));
    serve::serve(rt, config)?;
    Ok(ExitCode::SUCCESS)
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
        days: b.days,
    };
    options.validate()?;
    let analysis = Options {
        attributes: if b.no_attributes {
            AttributeOptions::NONE
        } else {
            AttributeOptions::ALL
        },
        object_tiles: !b.no_object_tiles,
        face_survey: !b.no_face_survey,
        text: !b.no_text,
        identity: !b.no_identity,
        tags: !b.no_tags,
        ..Options::default()
    };
    let rt = Runtime::load(&runtime::models_dir(b.models.as_deref()))?;
    let report = bench::inputs(&b.paths).and_then(|(inputs, videos)| {
        bench::run(&rt, &analysis, &inputs, &videos, &options, |what| {
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
