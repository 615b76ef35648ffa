//! Re-runs and output routing (`run` module and the binary): running twice
//! in a row just works, an earlier report is replaced without `--force`
//! but a user's folder is not, machine output alone writes no report
//! folder, and no output path may be, or lie inside, an input.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{onlooker, sample};
use onlooker::pipeline::Options;
use onlooker::run::{self, RunConfig, RunError};
use onlooker::Runtime;

fn run_in(dir: &Path, args: &[&std::ffi::OsStr]) -> Output {
    onlooker()
        .current_dir(dir)
        .arg("analyze")
        .arg("--models")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/weights"))
        .arg("--threads")
        .arg("2")
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    common::output_text(o)
}

/// A folder of two photos: one face (Grace Hopper) and one without a face
/// (the dog), so the counts are known.
fn photos(root: &Path) -> PathBuf {
    let p = root.join("photos");
    std::fs::create_dir(&p).unwrap();
    for name in ["grace_hopper.jpg", "dog.jpg"] {
        std::fs::copy(sample(name), p.join(name)).unwrap();
    }
    p
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn json_twice_in_a_row_succeeds_and_writes_no_report_folder() {
    let d = tempfile::tempdir().unwrap();
    let photos = photos(d.path());
    for round in 0..2 {
        let o = run_in(
            d.path(),
            &["photos".as_ref(), "--json".as_ref(), "out.json".as_ref()],
        );
        assert_eq!(o.status.code(), Some(0), "round {round}: {}", text(&o));
    }
    assert_eq!(entries(d.path()), ["out.json", "photos"]);
    assert_eq!(entries(&photos), ["dog.jpg", "grace_hopper.jpg"]);
    let doc = common::document_file(&d.path().join("out.json"));
    assert_eq!(doc["summary"]["images"], 2);
    assert_eq!(doc["summary"]["faces"], 1, "Grace Hopper's face only");
}

#[test]
fn jsonl_alone_writes_no_report_folder() {
    let d = tempfile::tempdir().unwrap();
    photos(d.path());
    let o = run_in(
        d.path(),
        &["photos".as_ref(), "--jsonl".as_ref(), "out.jsonl".as_ref()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(entries(d.path()), ["out.jsonl", "photos"]);
    let text = std::fs::read_to_string(d.path().join("out.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    common::assert_jsonl(&text);
}

#[test]
fn an_earlier_report_is_replaced_without_force_but_a_users_folder_is_not() {
    let d = tempfile::tempdir().unwrap();
    photos(d.path());
    let args = ["photos".as_ref(), "--out".as_ref(), "rep".as_ref()];
    for round in 0..2 {
        let o = run_in(d.path(), &args);
        assert_eq!(o.status.code(), Some(0), "round {round}: {}", text(&o));
    }
    let rep = d.path().join("rep");
    assert!(rep.join("index.html").is_file());
    assert_eq!(entries(&rep.join("images")).len(), 2);

    std::fs::write(rep.join("notes.txt"), b"mine").unwrap();
    let o = run_in(d.path(), &args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    let o = run_in(d.path(), &[args[0], args[1], args[2], "--force".as_ref()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read(rep.join("notes.txt")).unwrap(), b"mine");
}

#[test]
fn machine_outputs_are_refused_on_or_inside_an_input() {
    let d = tempfile::tempdir().unwrap();
    let photos = photos(d.path());
    let photo = photos.join("dog.jpg");
    let before = std::fs::read(&photo).unwrap();
    for (flag, target) in [
        ("--json", photo.clone()),
        ("--jsonl", photo.clone()),
        ("--json", photos.join("results.json")),
        ("--jsonl", photos.join("sub/results.jsonl")),
        ("--out", photos.clone()),
        ("--out", photos.join("report")),
    ] {
        let o = run_in(
            d.path(),
            &[photos.as_os_str(), flag.as_ref(), target.as_os_str()],
        );
        assert_eq!(o.status.code(), Some(2), "{flag} {target:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("inside, the input"), "{err}");
        assert!(o.stdout.is_empty(), "refused before any analysis");
    }
    assert_eq!(std::fs::read(&photo).unwrap(), before);
    assert_eq!(entries(&photos), ["dog.jpg", "grace_hopper.jpg"]);

    // A single photo named as input: --out may not be that file either.
    let o = run_in(
        d.path(),
        &[photo.as_os_str(), "--out".as_ref(), photo.as_os_str()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(std::fs::read(&photo).unwrap(), before);
}

#[test]
fn the_run_module_returns_the_outcome_and_writes_the_document() {
    let rt = Runtime::from_env().unwrap();
    let d = tempfile::tempdir().unwrap();
    let photos = photos(d.path());
    let json = d.path().join("out.json");
    let config = RunConfig {
        json: Some(json.clone()),
        quiet: true,
        threads: 2,
        ..RunConfig::new(vec![photos.clone()], Options::default())
    };
    let outcome = run::analyze(&rt, &config).unwrap();
    assert_eq!(outcome.exit_code(), 0);
    assert_eq!(outcome.inputs, 2);
    assert!(outcome.report.is_none(), "--json alone: no report folder");
    let s = &outcome.summary;
    assert_eq!((s.images, s.failed, s.faces), (2, 0, 1));
    assert!(s.people >= 1, "Grace Hopper is a person");
    let doc = common::document_file(&json);
    assert_eq!(doc["summary"]["faces"], 1);
    let paths: Vec<&str> = doc["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert!(paths[0].ends_with("dog.jpg") && paths[1].ends_with("grace_hopper.jpg"));

    // A bad setting is a typed error before anything is written.
    std::fs::remove_file(&json).unwrap();
    let bad = RunConfig {
        analysis: Options {
            face_threshold: 1.5,
            ..Options::default()
        },
        ..config.clone()
    };
    assert!(matches!(run::analyze(&rt, &bad), Err(RunError::Usage(_))));
    let inside = RunConfig {
        json: Some(photos.join("x.json")),
        ..config
    };
    assert!(matches!(
        run::analyze(&rt, &inside),
        Err(RunError::OutputIsInput { flag: "--json", .. })
    ));
    assert!(!json.exists() && !photos.join("x.json").exists());
}
