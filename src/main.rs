//! The `onlooker` command: parses arguments, calls the library, maps errors
//! to messages and exit codes (0 all analysed, 1 some images failed, 2 usage
//! or setup error).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use onlooker::batch::{self, Input};
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
}

fn main() -> ExitCode {
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
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let options = Options {
        face_threshold: a.face_threshold,
        object_threshold: a.object_threshold,
        object_tiles: !a.no_object_tiles,
        ..Options::default()
    };

    let start = Instant::now();
    let mut slots: Vec<Option<ImageResult>> = vec![None; inputs.len()];
    batch::run(&rt, &options, &inputs, threads, |i, r| slots[i] = Some(r))?;
    let results: Vec<ImageResult> = slots.into_iter().flatten().collect();
    let summary = Summary::of(&results, start.elapsed().as_secs_f64());

    let json_to_stdout = a.json.as_deref() == Some(std::path::Path::new("-"));
    if let Some(path) = &a.json {
        let text = report::to_json(&results, &summary)?;
        if json_to_stdout {
            print_stdout(&format!("{text}\n"))?;
        } else {
            report::write_atomic(path, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
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
