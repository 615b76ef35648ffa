//! Finding and loading ONNX Runtime, and opening model sessions.
//!
//! The runtime is loaded at run time (`ort` with `load-dynamic`) so that no
//! binary needs `LD_LIBRARY_PATH`, and exactly one ORT environment exists per
//! process however many threads or tests ask for it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ndarray::Array4;
use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;

use crate::error::{ImageError, SetupError};
use crate::manifest::{self, Manifest, ModelId};

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

    /// Path of a model's file, verified against its pinned sha256.
    pub fn model_path(&self, id: ModelId) -> Result<PathBuf, SetupError> {
        let entry = self.manifest.model(id)?;
        let path = self.models_dir.join(&entry.file);
        if std::fs::metadata(&path)
            .map(|m| m.len() == 0)
            .unwrap_or(false)
        {
            return Err(SetupError::ModelCorrupt { path });
        }
        manifest::require_verified(entry, &self.models_dir)
    }

    /// Opens a session on a model with `intra_threads` ORT threads.
    /// Batch workers pass 1: parallelism comes from rayon, and nesting ORT's
    /// own pool inside it would oversubscribe the cores.
    pub fn session(&self, id: ModelId, intra_threads: usize) -> Result<Model, SetupError> {
        let path = self.model_path(id)?;
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
            // The int8 models (tags, expression) multiply 8-bit values whose
            // 16-bit intermediate sums saturate on x86 CPUs without VNNI
            // (AVX2 only): the espresso sample's tag fell from 0.998 to
            // 0.539. This makes ORT widen them there; VNNI CPUs are
            // unaffected (ARCHITECTURE.md, "Tags").
            .with_config_entry("session.x64quantprecision", "1")
            .map_err(|e| fail(e.to_string()))?
            // The memory pattern plans one block for all of a run's
            // activations per input shape; shapes change with every photo,
            // so the allocator kept blocks of the previous sizes too.
            // Tensor by tensor, freed memory is reused across shapes: a
            // lower peak, no slower (ARCHITECTURE.md, "Memory").
            .with_memory_pattern(false)
            .map_err(|e| fail(e.to_string()))?
            // ORT's CPU arena keeps, per session, the largest block each
            // input shape needed, and face inputs change shape with every
            // photo size: with it, peak memory over 2000 photos was 1.66x
            // that over 20; without it 1.0-1.16x, at a throughput within
            // the run-to-run noise (README.md, "Measured figures").
            .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(false).build()])
            .map_err(|e| fail(e.to_string()))?
            .commit_from_file(&path)
            .map(|session| Model { id, session })
            .map_err(|e| fail(e.to_string()))
    }
}

/// One dimension of an expected output shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    Any,
    Is(usize),
}

/// An output a caller reads: its name and the shape it must have.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub name: &'a str,
    pub dims: &'a [Dim],
}

impl<'a> Expect<'a> {
    pub const fn new(name: &'a str, dims: &'a [Dim]) -> Self {
        Expect { name, dims }
    }
}

/// A checked output: its shape and its values, row-major.
#[derive(Debug, Clone, Copy)]
pub struct Tensor<'a> {
    pub shape: &'a [usize],
    pub data: &'a [f32],
}

/// An open session and the model it runs. [`Model::run`] is the one place
/// a session is run and its outputs read, so a malformed model output is
/// always a typed error naming the model and the output.
pub struct Model {
    id: ModelId,
    session: Session,
}

impl Model {
    pub fn id(&self) -> ModelId {
        self.id
    }

    /// The names of the model's inputs and of its outputs.
    pub fn io_names(&self) -> (Vec<String>, Vec<String>) {
        let names = |o: &[ort::value::Outlet]| o.iter().map(|o| o.name().to_string()).collect();
        (names(self.session.inputs()), names(self.session.outputs()))
    }

    /// The session's custom metadata value under `key`.
    pub fn metadata(&self, key: &str) -> Option<String> {
        self.session.metadata().ok().and_then(|m| m.custom(key))
    }

    /// Runs the model on `input` and hands `read` the `expected` outputs,
    /// in that order, each checked for presence, element type, rank and
    /// every fixed dimension. Nothing of the outputs outlives `read`, so
    /// nothing is copied.
    pub fn run<T>(
        &mut self,
        input: &Array4<f32>,
        expected: &[Expect],
        read: impl FnOnce(&[Tensor]) -> Result<T, ImageError>,
    ) -> Result<T, ImageError> {
        let id = self.id;
        let input_name = id
            .input_name()
            .ok_or_else(|| ImageError::Inference(format!("`{id}` is a data file, not a model")))?;
        let outputs = self
            .session
            .run(ort::inputs![input_name => TensorRef::from_array_view(input.view())?])?;
        let mut shapes = Vec::with_capacity(expected.len());
        let mut data = Vec::with_capacity(expected.len());
        for e in expected {
            let fail = |problem: String| ImageError::ModelOutput {
                model: id,
                output: e.name.to_string(),
                problem,
            };
            let value = outputs
                .get(e.name)
                .ok_or_else(|| fail("is missing".into()))?;
            let (shape, values) = value
                .try_extract_tensor::<f32>()
                .map_err(|err| fail(format!("is not a float tensor ({err})")))?;
            let shape: Vec<i64> = shape.iter().copied().collect();
            shapes.push(check(id, e, &shape, values.len())?);
            data.push(values);
        }
        let tensors: Vec<Tensor> = shapes
            .iter()
            .zip(data)
            .map(|(shape, data)| Tensor { shape, data })
            .collect();
        read(&tensors)
    }
}

/// Checks one output's shape (as ONNX Runtime reports it) and element count
/// against what the caller expects; returns the shape in `usize`.
pub fn check(
    model: ModelId,
    expected: &Expect,
    shape: &[i64],
    len: usize,
) -> Result<Vec<usize>, ImageError> {
    let fail = |problem: String| ImageError::ModelOutput {
        model,
        output: expected.name.to_string(),
        problem,
    };
    let want = || {
        let d: Vec<String> = expected
            .dims
            .iter()
            .map(|d| match d {
                Dim::Any => "*".to_string(),
                Dim::Is(n) => n.to_string(),
            })
            .collect();
        format!("[{}]", d.join(", "))
    };
    if shape.iter().any(|&d| d < 0) {
        return Err(fail(format!("has an unknown dimension in {shape:?}")));
    }
    let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    if dims.len() != expected.dims.len() {
        return Err(fail(format!(
            "has shape {dims:?}, expected rank {} {}",
            expected.dims.len(),
            want()
        )));
    }
    for (got, want_dim) in dims.iter().zip(expected.dims) {
        if let Dim::Is(n) = want_dim {
            if got != n {
                return Err(fail(format!("has shape {dims:?}, expected {}", want())));
            }
        }
    }
    let count = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if count != Some(len) {
        return Err(fail(format!("has shape {dims:?} but {len} values")));
    }
    Ok(dims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBS: Expect = Expect {
        name: "probabilities",
        dims: &[Dim::Is(2), Dim::Any],
    };

    #[test]
    fn check_accepts_the_expected_shape() {
        assert_eq!(check(ModelId::Age, &PROBS, &[2, 81], 162).unwrap(), [2, 81]);
    }

    #[test]
    fn check_names_model_and_output_on_a_wrong_rank_size_or_count() {
        for (shape, len, what) in [
            (&[2i64, 81, 1][..], 162, "expected rank 2 [2, *]"),
            (&[3, 81][..], 243, "expected [2, *]"),
            (&[2, 81][..], 100, "but 100 values"),
            (&[2, -1][..], 0, "unknown dimension"),
        ] {
            let err = check(ModelId::Age, &PROBS, shape, len).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(&err, ImageError::ModelOutput { model: ModelId::Age, output, .. } if output == "probabilities"),
                "{err:?}"
            );
            assert!(
                msg.contains("`age`") && msg.contains("`probabilities`"),
                "{msg}"
            );
            assert!(msg.contains(what), "{msg} should say {what}");
        }
    }
}
