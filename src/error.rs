//! Typed errors of the library. The binary maps them to messages and exit
//! codes; nothing here panics on user input.

use std::path::PathBuf;

/// Errors that stop the whole run: the runtime or a model cannot be used.
/// They map to exit code 2 with a one-line message saying how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("ONNX Runtime library not found at {path}: run `make models` (or set ORT_DYLIB_PATH)")]
    RuntimeMissing { path: PathBuf },
    #[error("ONNX Runtime library at {path} could not be loaded: {reason}")]
    RuntimeLoad { path: PathBuf, reason: String },
    #[error("model `{name}` not found at {path}: run `make models` (or pass --models DIR)")]
    ModelMissing { name: String, path: PathBuf },
    #[error("model file {path} is empty or corrupt: run `make models` to fetch it again")]
    ModelCorrupt { path: PathBuf },
    #[error("model file {path} does not match its pinned sha256 (expected {expected}, found {actual}): run `make models`")]
    ModelChecksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("model `{name}` is not listed in the manifest")]
    UnknownModel { name: String },
    #[error("model manifest is invalid: {0}")]
    Manifest(String),
    #[error("could not open model {path}: {reason}")]
    Session { path: PathBuf, reason: String },
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("gazetteer {path} is unreadable: {reason}")]
    Gazetteer { path: PathBuf, reason: String },
    #[error("tag names {path} are unusable: {reason}: run `make models`")]
    TagNames { path: PathBuf, reason: String },
    #[error("country outlines {} (with {}) are unreadable: {reason}", .path.display(), .dbf.display())]
    Countries {
        path: PathBuf,
        dbf: PathBuf,
        reason: String,
    },
    #[error("cannot start worker threads: {0}")]
    Threads(String),
}

/// Why one image could not be analysed. The batch records it on that image
/// and goes on.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot read file: {0}")]
    Read(#[source] std::io::Error),
    #[error("not a regular file: it is {kind}")]
    NotAFile { kind: &'static str },
    #[error("file is empty")]
    Empty,
    #[error("file is {:.1} MiB, over the limit of {limit_mib} MiB (raise it with --max-file-mib)", *.size_bytes as f64 / 1048576.0)]
    FileTooBig { size_bytes: u64, limit_mib: u64 },
    #[error("not a supported image format (supported: JPEG, PNG, GIF, WebP, TIFF, BMP)")]
    UnsupportedFormat,
    #[error("unsupported image feature: {0}")]
    UnsupportedFeature(String),
    #[error("image is {width}x{height} pixels, over the limit of {max_width}x{max_height} (raise it with --max-pixels-side)")]
    TooLarge {
        width: u32,
        height: u32,
        max_width: u32,
        max_height: u32,
    },
    #[error("{}", too_much_memory(*.needed_mib, *.limit_mib))]
    TooMuchMemory {
        /// What decoding this image would take, when the header tells.
        needed_mib: Option<u64>,
        limit_mib: u64,
    },
    #[error("corrupt or truncated image: {0}")]
    Decode(String),
    #[error("inference failed: {0}")]
    Inference(String),
    /// A model gave an output other than the one its decoder reads: a
    /// broken or substituted model file, never the image's fault.
    #[error("model `{model}` output `{output}` {problem}")]
    ModelOutput {
        model: crate::manifest::ModelId,
        output: String,
        problem: String,
    },
}

impl From<ort::Error> for ImageError {
    fn from(e: ort::Error) -> Self {
        ImageError::Inference(e.to_string())
    }
}

fn too_much_memory(needed_mib: Option<u64>, limit_mib: u64) -> String {
    let needed = match needed_mib {
        Some(n) => format!("about {n} MiB"),
        None => "more memory".into(),
    };
    format!("image needs {needed} to decode, over the limit of {limit_mib} MiB (raise it with --max-alloc-mib)")
}
