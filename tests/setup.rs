//! Setup: the real runtime loads every model in the manifest, and missing or
//! corrupt files give the one-line error and exit code 2.

mod common;
use common::onlooker;

use std::path::{Path, PathBuf};
use std::process::Command;

use onlooker::manifest::{Manifest, ModelId};
use onlooker::{runtime, Runtime, SetupError};

fn weights() -> PathBuf {
    runtime::default_models_dir()
}

#[test]
fn every_model_in_the_manifest_loads_on_the_real_runtime() {
    let rt = Runtime::load(&weights()).expect("run `make models` first");
    for id in ModelId::ALL {
        // The text recogniser's dictionary is a verified data file, not a model.
        let Some(input) = id.input_name() else {
            let entry = Manifest::builtin().model(id).unwrap().clone();
            assert!(!entry.file.ends_with(".onnx"), "{id} is a model");
            rt.model_path(id).unwrap_or_else(|e| panic!("{id}: {e}"));
            continue;
        };
        let model = rt.session(id, 1).unwrap_or_else(|e| panic!("{id}: {e}"));
        let (inputs, outputs) = model.io_names();
        // The one input `runtime::Model::run` feeds, by the name ModelId gives.
        assert_eq!(inputs, [input], "{id}");
        assert!(!outputs.is_empty(), "{id} has outputs");
    }
}

/// A folder with the runtime but none of the models.
fn runtime_only_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let lib = Manifest::builtin().runtime.file;
    std::os::unix::fs::symlink(weights().join(&lib), d.path().join(&lib)).unwrap();
    d
}

#[test]
fn a_missing_model_is_a_clear_error_with_exit_code_2() {
    let d = runtime_only_dir();
    let rt = Runtime::load(d.path()).unwrap();
    match rt.session(ModelId::Yunet, 1) {
        Err(SetupError::ModelMissing { name, .. }) => assert_eq!(name, "yunet"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a missing model loaded"),
    }

    let out = onlooker()
        .args(["analyze", "--no-report", "--models"])
        .arg(d.path())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/astronaut.png"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("not found") && stderr.contains("make models"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_runtime_is_a_clear_error_with_exit_code_2() {
    let d = tempfile::tempdir().unwrap();
    let out = onlooker()
        .args(["analyze", "--models"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ONNX Runtime library not found"),
        "{stderr}"
    );
    assert!(stderr.contains("make models"), "{stderr}");
}

#[test]
fn corrupt_and_empty_model_files_are_rejected() {
    let d = runtime_only_dir();
    std::fs::write(d.path().join("yunet_n_640_640.onnx"), b"").unwrap();
    std::fs::write(d.path().join("yolox_nano.onnx"), b"not the model").unwrap();
    let rt = Runtime::load(d.path()).unwrap();
    assert!(matches!(
        rt.session(ModelId::Yunet, 1),
        Err(SetupError::ModelCorrupt { .. })
    ));
    match rt.session(ModelId::Yolox, 1) {
        Err(SetupError::ModelChecksum {
            expected, actual, ..
        }) => {
            assert_ne!(expected, actual);
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a corrupt model loaded"),
    }
}

#[test]
fn models_command_lists_every_model_as_verified() {
    let out = onlooker().arg("models").output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for entry in &Manifest::builtin().models {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{} ", entry.name)))
            .unwrap_or_else(|| panic!("{} not listed:\n{stdout}", entry.name));
        assert!(line.ends_with("verified"), "{line}");
    }
}

/// The fetch script refuses a file whose hash does not match, says which and
/// why, and leaves nothing behind.
#[test]
fn fetch_script_rejects_a_corrupted_mirror_copy_and_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let mirror = d.path().join("mirror");
    let dest = d.path().join("dest");
    std::fs::create_dir_all(&mirror).unwrap();
    let good = b"good bytes";
    std::fs::write(mirror.join("m.onnx"), b"tampered bytes").unwrap();
    let sha = onlooker::manifest::sha256_file(&{
        let p = d.path().join("good");
        std::fs::write(&p, good).unwrap();
        p
    })
    .unwrap();
    let manifest = d.path().join("models.toml");
    std::fs::write(
        &manifest,
        format!(
            "[runtime]\nname = \"rt\"\nfile = \"m.onnx\"\nsha256 = \"{sha}\"\nurl = \"http://127.0.0.1:9/m.onnx\"\n\
             licence = \"x\"\nsource = \"x\"\ninfers = \"x\"\n"
        ),
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch_models.py");
    let run = || {
        Command::new("python3")
            .arg(&script)
            .arg("--manifest")
            .arg(&manifest)
            .arg("--dest")
            .arg(&dest)
            .env("ONLOOKER_MODEL_MIRROR", &mirror)
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("m.onnx") && stderr.contains("mismatch"),
        "{stderr}"
    );
    assert!(stderr.contains(&sha), "names the expected hash: {stderr}");
    assert_eq!(
        std::fs::read_dir(&dest).unwrap().count(),
        0,
        "nothing partial left"
    );

    // With the right bytes it installs, and a second run changes nothing.
    std::fs::write(mirror.join("m.onnx"), good).unwrap();
    assert!(run().status.success());
    assert_eq!(std::fs::read(dest.join("m.onnx")).unwrap(), good);
    let mtime = std::fs::metadata(dest.join("m.onnx"))
        .unwrap()
        .modified()
        .unwrap();
    let again = run();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("ok"));
    assert_eq!(
        std::fs::metadata(dest.join("m.onnx"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
}

#[test]
fn a_model_output_unlike_the_expected_one_is_an_error_naming_both() {
    use ndarray::Array4;
    use onlooker::runtime::{Dim, Expect};
    use onlooker::ImageError;

    let rt = Runtime::load(&weights()).unwrap();
    let mut gender = rt.session(ModelId::Gender, 1).unwrap();
    let chips = Array4::<f32>::zeros((3, 3, 32, 32));
    let read = |t: &[onlooker::runtime::Tensor]| Ok(t[0].shape.to_vec());
    // The real contract: [faces, female/male].
    let ok = [Expect::new("probabilities", &[Dim::Is(3), Dim::Is(2)])];
    assert_eq!(gender.run(&chips, &ok, read).unwrap(), [3, 2]);

    for (expected, problem) in [
        (
            Expect::new("probabilities", &[Dim::Is(3), Dim::Is(7)]),
            "has shape [3, 2], expected [3, 7]",
        ),
        (Expect::new("probabilities", &[Dim::Any]), "expected rank 1"),
        (Expect::new("scores", &[Dim::Any, Dim::Any]), "is missing"),
    ] {
        match gender.run(&chips, &[expected], read) {
            Err(
                e @ ImageError::ModelOutput {
                    model: ModelId::Gender,
                    ..
                },
            ) => {
                let msg = e.to_string();
                assert!(msg.starts_with("model `gender` output `"), "{msg}");
                assert!(
                    msg.contains(expected.name) && msg.contains(problem),
                    "{msg}"
                );
            }
            other => panic!("{expected:?}: {other:?}"),
        }
    }
}

/// The binary allocates with jemalloc and its own options (ARCHITECTURE.md,
/// "Memory"): were the option string exported under another name (say the
/// allocator built prefixed, so ONNX Runtime's allocations would bypass it),
/// jemalloc would not read it and the peak would grow with the batch again.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_binary_allocates_with_jemalloc_and_its_options() {
    let out = onlooker()
        .arg("--version")
        .env("MALLOC_CONF", "confirm_conf:true")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("global variable malloc_conf): \"oversize_threshold:0\"")
            && err.contains("Set conf value: oversize_threshold:0"),
        "jemalloc did not read onlooker's options:\n{err}"
    );
}
