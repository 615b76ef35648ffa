//! The `onlooker` command: parses arguments, calls the library, maps errors
//! to messages and exit codes (0 all analysed, 1 some images failed, 2 usage
//! or setup error).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use onlooker::attributes::AttributeOptions;
use onlooker::batch::{self, Input};
use onlooker::imageio::{self, DecodeLimits};
use onlooker::manifest::{self, FileState, Manifest};
use onlooker::report::{self, Summary};
use onlooker::{runtime, ImageResult, Options, Runtime, SetupError};

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
    /// Folder holding the runtime and model files [env: ONLOOKER_MODELS]
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
    /// Worker threads (default: all cores)
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
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

fn analyze(a: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    check_threshold("--face-threshold", a.face_threshold)?;
    check_threshold("--object-threshold", a.object_threshold)?;
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
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
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

    let start = Instant::now();
    let mut slots: Vec<Option<ImageResult>> = vec![None; inputs.len()];
    batch::run(&rt, &options, &inputs, threads, |i, r| slots[i] = Some(r))?;
    let results: Vec<ImageResult> = slots.into_iter().flatten().collect();
    let summary = Summary::of(&results, start.elapsed().as_secs_f64());

    let json_to_stdout = a.json.as_deref() == Some(std::path::Path::new("-"));
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
            let doc: serde_json::Value = serde_json::from_str(&json_text)?;
            let w =
                report::output::write(out, &doc, &json_text, &sources, &options.limits, threads)
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
        let text = report::human(&results, &summary);
        // With JSON on stdout, the human summary goes to stderr.
        if json_to_stdout {
            eprint!("{text}");
        } else {
            print_stdout(&text)?;
        }
    } else {
        for r in results.iter().filter(|r| r.error.is_some()) {
            eprintln!("{}: {}", r.path, r.error.as_deref().unwrap_or_default());
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

/// Writes to stdout; a closed pipe (`onlooker ... | head`) is not an error.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
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
