//! The command line: arguments as clap parses them. `main.rs` maps them
//! onto the library's configurations.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use onlooker::batch::Topology;
use onlooker::imageio;
use onlooker::projection;

#[derive(Parser)]
#[command(
    name = "onlooker",
    version,
    about = "See what a cloud vision service learns from your photos, without sending them anywhere"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Analyse images, videos and folders of them (default: samples/)
    Analyze(AnalyzeArgs),
    /// List the models: present, verified, licence, what each infers
    Models(ModelsArgs),
    /// Measure throughput on real images (default: samples/) and project it
    /// to archive scale
    Bench(BenchArgs),
    /// Rank every face in PATHs (default: samples/) by similarity to the
    /// face in REFERENCE
    Find(FindArgs),
    /// Write copies of images with faces and text covered and no metadata,
    /// each checked by analysing it again
    Scrub(onlooker::scrub::ScrubArgs),
    /// A local web page (and API) where people drop their own photos;
    /// nothing is kept
    Serve(ServeArgs),
    /// Combine the shard files of one batch (`analyze --shard K/N --jsonl
    /// FILE`) into the JSON document and report one machine would have
    /// written
    Merge(MergeArgs),
}

#[derive(Args)]
pub(crate) struct MergeArgs {
    /// The shard files, one per shard (K = 0 .. N-1)
    #[arg(value_name = "SHARD", required = true)]
    pub(crate) shards: Vec<PathBuf>,
    /// Write the full results as one JSON document to FILE (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Folder for the report [default: onlooker-report, or none when
    /// --json is given]
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Write the report even if the --out folder holds files other than an
    /// earlier report
    #[arg(long)]
    pub(crate) force: bool,
    /// Write no report folder
    #[arg(long, conflicts_with = "force")]
    pub(crate) no_report: bool,
    /// Keep the shards' face embeddings (biometric data) in --json
    #[arg(long)]
    pub(crate) embeddings: bool,
    /// Folder holding the place names and map data [env: ONLOOKER_MODELS]
    #[arg(long, value_name = "DIR")]
    pub(crate) models: Option<PathBuf>,
    /// Threads for the report's annotated copies (default: all cores)
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub(crate) threads: Option<usize>,
    /// Print nothing but errors
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

pub(crate) fn parse_shard(s: &str) -> Result<onlooker::shard::Shard, String> {
    onlooker::shard::Shard::parse(s).map_err(|e| e.to_string())
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Port on 127.0.0.1 (0: any free port)
    #[arg(long, value_name = "P", default_value_t = onlooker::serve::DEFAULT_PORT)]
    pub(crate) port: u16,
    /// Listen on ADDR:PORT instead (a room network: 0.0.0.0:8737); every
    /// request then needs the random token in the printed address
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "port")]
    pub(crate) listen: Option<std::net::SocketAddr>,
    /// Folder holding the runtime and model files [env: ONLOOKER_MODELS]
    #[arg(long, value_name = "DIR")]
    pub(crate) models: Option<PathBuf>,
    /// Images analysed at once (default: all cores)
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub(crate) threads: Option<usize>,
    /// Requests waiting for a free worker before the server answers 503
    #[arg(long, value_name = "N", default_value_t = onlooker::serve::DEFAULT_QUEUE)]
    pub(crate) queue: usize,
    /// Largest request (all its files), in MiB; larger ones get 413
    #[arg(long, value_name = "MIB", default_value_t = onlooker::serve::DEFAULT_MAX_UPLOAD_MIB,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_upload_mib: u64,
    /// Largest single file, in MiB; larger ones get 413
    #[arg(long, value_name = "MIB", default_value_t = onlooker::serve::DEFAULT_MAX_FILE_MIB,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_file_mib: u64,
    /// Print a line per request, naming its files
    #[arg(long, short)]
    pub(crate) verbose: bool,
}

#[derive(Args)]
pub(crate) struct FindArgs {
    /// Photo holding the face to look for
    pub(crate) reference: PathBuf,
    /// Image files or folders searched (folders recursively)
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    /// Which face of the reference (1-based, as `analyze` numbers them)
    #[arg(long, value_name = "N")]
    pub(crate) face: Option<usize>,
    /// Write the ranking as JSON to FILE (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Folder for a small report: the matched faces beside the reference
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Write the report even if --out holds files other than an earlier report
    #[arg(long)]
    pub(crate) force: bool,
    /// Folder holding the runtime and model files [env: ONLOOKER_MODELS]
    #[arg(long, value_name = "DIR")]
    pub(crate) models: Option<PathBuf>,
    /// Worker threads (default: all cores)
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// Print nothing but errors
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(Args)]
pub(crate) struct BenchArgs {
    /// Image or video files or folders (folders are searched recursively)
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    /// Folder holding the runtime and model files [env: ONLOOKER_MODELS]
    #[arg(long, value_name = "DIR")]
    pub(crate) models: Option<PathBuf>,
    /// Threads (default: all cores)
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub(crate) threads: Option<usize>,
    /// Timed runs over the images for each figure (the median is reported)
    #[arg(long, value_name = "K", default_value_t = 3)]
    pub(crate) repeat: usize,
    /// Print one JSON object (keys in README.md) instead of text
    #[arg(long)]
    pub(crate) json: bool,
    /// How sessions use the cores
    #[arg(long, value_name = "NAME", default_value = "per-worker", value_parser = parse_topology)]
    pub(crate) topology: Topology,
    /// Skip the comparison of topologies and the 1..N threads scan
    #[arg(long)]
    pub(crate) quick: bool,
    /// Machines in the scale projection
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub(crate) machines: u32,
    /// Average photo size in MB (10^6 bytes) for the scale projection
    #[arg(long, value_name = "MB", default_value_t = projection::DEFAULT_AVG_PHOTO_MB)]
    pub(crate) avg_size: f64,
    /// Video frames analysed per second of footage: videos among the inputs
    /// are sampled at this rate, and the scale projection assumes it
    #[arg(long, value_name = "FPS", default_value_t = projection::DEFAULT_FPS)]
    pub(crate) fps: f64,
    /// Average video bitrate in Mbit/s, for the scale projection
    #[arg(long, value_name = "MBIT_S", default_value_t = projection::DEFAULT_VIDEO_MBIT_S)]
    pub(crate) bitrate: f64,
    /// Days to get through the archive in: the projection says how many
    /// machines like this one that takes
    #[arg(long, value_name = "D", default_value_t = projection::DEFAULT_DAYS)]
    pub(crate) days: f64,
    /// Measure without age, gender and expression (detection only)
    #[arg(long)]
    pub(crate) no_attributes: bool,
    /// Measure without the tiled second look for people in large photos
    #[arg(long)]
    pub(crate) no_object_tiles: bool,
    /// Measure reading every photo whole at its face working size, without the survey pass
    #[arg(long)]
    pub(crate) no_face_survey: bool,
    /// Measure without reading text (its models are not loaded)
    #[arg(long)]
    pub(crate) no_text: bool,
    /// Measure without face embeddings (the identity model is not loaded)
    #[arg(long)]
    pub(crate) no_identity: bool,
    /// Measure without image tags (the classifier is not loaded)
    #[arg(long)]
    pub(crate) no_tags: bool,
}

pub(crate) fn at_least_one(s: &str) -> Result<usize, String> {
    s.parse()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| "expected a whole number, at least 1".into())
}

pub(crate) fn parse_topology(s: &str) -> Result<Topology, String> {
    Topology::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Topology::ALL.iter().map(|t| t.name()).collect();
        format!("expected one of: {}", names.join(", "))
    })
}

#[derive(Args)]
pub(crate) struct ModelsArgs {
    /// Folder holding the runtime and model files [env: ONLOOKER_MODELS]
    #[arg(long, value_name = "DIR")]
    pub(crate) models: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct AnalyzeArgs {
    /// Image and video files, or folders (searched recursively)
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    /// Write the full results as one JSON document to FILE (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Shape the --json document as a cloud API's responses: per image
    /// Rekognition's DetectFaces, DetectLabels and DetectText (aws), AI
    /// Vision analyze and Face detect (azure), or Vision's
    /// AnnotateImageResponse (google)
    #[arg(long = "as", value_name = "PROVIDER", value_enum)]
    pub(crate) as_provider: Option<onlooker::cloud::Provider>,
    /// Write one JSON object per image, one per line, as results arrive
    /// (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    pub(crate) jsonl: Option<PathBuf>,
    /// Folder holding the runtime and model files [env: ONLOOKER_MODELS]
    #[arg(long, value_name = "DIR")]
    pub(crate) models: Option<PathBuf>,
    /// Worker threads (default: all cores)
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub(crate) threads: Option<usize>,
    /// How sessions use the cores: per-worker (fastest, measured), one-session, shared-session
    #[arg(long, value_name = "NAME", default_value = "per-worker", value_parser = parse_topology, hide_short_help = true)]
    pub(crate) topology: Topology,
    /// Minimum face score, 0..1
    #[arg(long, value_name = "SCORE", default_value_t = onlooker::face::DEFAULT_THRESHOLD)]
    pub(crate) face_threshold: f32,
    /// Minimum object score, 0..1
    #[arg(long, value_name = "SCORE", default_value_t = onlooker::objects::DEFAULT_THRESHOLD)]
    pub(crate) object_threshold: f32,
    /// Do not look for people in tiles of large images (faster, fewer people found in crowds)
    #[arg(long)]
    pub(crate) no_object_tiles: bool,
    /// Read every large photo whole at the face working size (up to 1920 px), instead of surveying it at 960 px first and reading at full size only where faces may be too small for the survey (slower)
    #[arg(long)]
    pub(crate) no_face_survey: bool,
    /// Print nothing but errors
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Largest width or height accepted, in pixels; larger images are
    /// refused from their header, before decoding
    #[arg(long, value_name = "PIXELS", default_value_t = imageio::DEFAULT_MAX_SIDE,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_pixels_side: u32,
    /// Most memory one image may take to decode, in MiB (per worker thread)
    #[arg(long, value_name = "MIB", default_value_t = imageio::DEFAULT_MAX_ALLOC_MIB,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_alloc_mib: u64,
    /// Largest image file read, in MiB
    #[arg(long, value_name = "MIB", default_value_t = imageio::DEFAULT_MAX_FILE_MIB,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_file_mib: u64,
    /// Do not estimate age, gender or expression (their models are not even loaded)
    #[arg(long)]
    pub(crate) no_attributes: bool,
    /// Do not estimate age
    #[arg(long)]
    pub(crate) no_age: bool,
    /// Do not estimate gender
    #[arg(long)]
    pub(crate) no_gender: bool,
    /// Do not estimate facial expression
    #[arg(long)]
    pub(crate) no_expression: bool,
    /// Do not read text in the images (its models are not even loaded)
    #[arg(long)]
    pub(crate) no_text: bool,
    /// Do not tag what the pictures show (ImageNet classes; the classifier is
    /// not even loaded)
    #[arg(long)]
    pub(crate) no_tags: bool,
    /// Video frames analysed per second of footage
    #[arg(long, value_name = "F", default_value_t = onlooker::video::DEFAULT_FPS)]
    pub(crate) fps: f64,
    /// Do not tell who is who across the photos (no face embeddings; the
    /// identity model is not even loaded)
    #[arg(long)]
    pub(crate) no_identity: bool,
    /// Also write each face's embedding (biometric data) into --json/--jsonl
    /// (shards: needed to tell who is who across them)
    #[arg(long)]
    pub(crate) embeddings: bool,
    /// Analyse only shard K of N (0-based) of the inputs, chosen by a hash
    /// of each path relative to the folder given, into the resumable shard
    /// file --jsonl FILE; `onlooker merge` combines the shards
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub(crate) shard: Option<onlooker::shard::Shard>,
    /// --shard from the environment: K from SLURM_ARRAY_TASK_ID or
    /// JOB_COMPLETION_INDEX, N from ONLOOKER_SHARDS or SLURM_ARRAY_TASK_COUNT
    #[arg(long, conflicts_with = "shard")]
    pub(crate) shard_from_env: bool,
    /// Folder for the report: index.html, report.json, detections.csv and
    /// annotated copies of the images [default: onlooker-report, or none
    /// when --json or --jsonl is given]
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Write the report even if the --out folder holds files other than an
    /// earlier report (an earlier report is always replaced; other files
    /// are left alone)
    #[arg(long)]
    pub(crate) force: bool,
    /// Write no report folder (only --json and the terminal summary)
    #[arg(long, conflicts_with = "force")]
    pub(crate) no_report: bool,
}
