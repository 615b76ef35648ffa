//! Finding and loading ONNX Runtime, and opening model sessions.
//!
//! The runtime is loaded at run time (`ort` with `load-dynamic`) so that no
//! binary needs `LD_LIBRARY_PATH`, and exactly one ORT environment exists per
//! process however many threads or tests ask for it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

use crate::error::SetupError;
use crate::manifest::{self, Manifest};

/// Where models and the runtime are looked for when neither `--models` nor
/// `ONLOOKER_MODELS` says otherwise: the checkout's git-ignored weights folder.
pub fn default_models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join("weights")
}

/// Resolves the models folder: an explicit path, else `ONLOOKER_MODELS`, else
/// the default.
pub fn models_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    match std::env::var_os("ONLOOKER_MODELS") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => default_models_dir(),
    }
}

/// The runtime library: `ORT_DYLIB_PATH` if set, else the models folder.
pub fn runtime_path(models_dir: &Path) -> PathBuf {
    match std::env::var_os("ORT_DYLIB_PATH") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => models_dir.join(Manifest::builtin().runtime.file),
    }
}

static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

/// ONNX Runtime's Linux builds carry Microsoft's 1DS telemetry. The API
/// switch (`with_telemetry(false)` below) leaves the uploader running: a
/// device id and an event database are still written under
/// ~/.cache/Microsoft/DeveloperTools and a ProcessInfo event (OS, CPU,
/// memory, hashed device id) is still sent. Only this variable, read when
/// the library initialises, keeps it from starting at all; a user's own
/// value is overridden on purpose, analysis never talks to the network.
pub const TELEMETRY_SWITCH: (&str, &str) = ("ORT_DISABLE_TELEMETRY", "1");

/// Sets [`TELEMETRY_SWITCH`] for this process. The binary calls it first
/// thing, while it has one thread; [`init`] calls it again before loading
/// the library, for library users.
pub fn switch_off_telemetry() {
    let (name, value) = TELEMETRY_SWITCH;
    if std::env::var_os(name).is_none_or(|v| v != value) {
        std::env::set_var(name, value);
    }
}

/// Loads ONNX Runtime from `dylib` and creates the process-wide environment.
/// Later calls return the first outcome: ORT allows one environment per
/// process, and parallel tests all come through here.
pub fn init(dylib: &Path) -> Result<&'static Environment, SetupError> {
    if !dylib.is_file() {
        return Err(SetupError::RuntimeMissing {
            path: dylib.to_path_buf(),
        });
    }
    let outcome = ENVIRONMENT.get_or_init(|| {
        switch_off_telemetry();
        let builder = ort::init_from(dylib).map_err(|e| e.to_string())?;
        builder
            .with_name("onlooker")
            .with_telemetry(false)
            .build()
            .map_err(|e| e.to_string())
    });
    match outcome {
        Ok(env) => Ok(env),
        Err(reason) => Err(SetupError::RuntimeLoad {
            path: dylib.to_path_buf(),
            reason: reason.clone(),
        }),
    }
}

/// Everything needed to open sessions: a verified models folder and a loaded
/// runtime.
#[derive(Clone)]
pub struct Runtime {
    pub models_dir: PathBuf,
    manifest: Manifest,
    env: &'static Environment,
}

impl Runtime {
    /// Loads the runtime found for `models_dir` (see [`runtime_path`]).
    pub fn load(models_dir: &Path) -> Result<Self, SetupError> {
        let env = init(&runtime_path(models_dir))?;
        Ok(Runtime {
            models_dir: models_dir.to_path_buf(),
            manifest: Manifest::builtin(),
            env,
        })
    }

    /// Resolves the default folder and loads the runtime from it.
    pub fn from_env() -> Result<Self, SetupError> {
        Self::load(&models_dir(None))
    }

    /// Path of a named model, verified against its pinned sha256.
    pub fn model_path(&self, name: &str) -> Result<PathBuf, SetupError> {
        let entry = self.manifest.model(name)?;
        let path = self.models_dir.join(&entry.file);
        if std::fs::metadata(&path)
            .map(|m| m.len() == 0)
            .unwrap_or(false)
        {
            return Err(SetupError::ModelCorrupt { path });
        }
        manifest::require_verified(entry, &self.models_dir)
    }

    /// Opens a session on a named model with `intra_threads` ORT threads.
    /// Batch workers pass 1: parallelism comes from rayon, and nesting ORT's
    /// own pool inside it would oversubscribe the cores.
    pub fn session(&self, name: &str, intra_threads: usize) -> Result<Session, SetupError> {
        let path = self.model_path(name)?;
        let fail = |reason: String| SetupError::Session {
            path: path.clone(),
            reason,
        };
        Session::builder(self.env)
            .map_err(|e| fail(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| fail(e.to_string()))?
            .with_intra_threads(intra_threads.max(1))
            .map_err(|e| fail(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| fail(e.to_string()))?
            // ORT's CPU arena keeps, per session, the largest block each
            // input shape needed, and face inputs change shape with every
            // photo size: with it, peak memory over 2000 photos was 1.66x
            // that over 20; without it 1.0-1.16x, at a throughput within
            // the run-to-run noise (README.md, "Measured figures").
            .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(false).build()])
            .map_err(|e| fail(e.to_string()))?
            .commit_from_file(&path)
            .map_err(|e| fail(e.to_string()))
    }
}
