//! One batch split into shards (`analyze --shard K/N --jsonl FILE`) and
//! merged (`onlooker merge`), with the real binary and models over the
//! samples, photos and the video: the merged document is the single run's,
//! every image's result is the single run's, a missing or interrupted shard
//! is named, and an interrupted shard resumes where it stopped.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{onlooker, samples};
use serde_json::Value;

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/weights")
}

fn run(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Output {
    let mut c = onlooker();
    c.args(args).arg("--models").arg(models());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    common::output_text(o)
}

fn shard(k: u32, file: &Path) -> Output {
    let (k, file) = (format!("{k}/3"), file.as_os_str());
    let o = run(
        &[
            "analyze".as_ref(),
            samples().as_os_str(),
            "--shard".as_ref(),
            k.as_ref(),
            "--embeddings".as_ref(),
            "--jsonl".as_ref(),
            file,
            "--threads".as_ref(),
            "2".as_ref(),
            "-q".as_ref(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "shard {k}: {}", text(&o));
    o
}

fn merge(files: &[PathBuf], json: &Path, out: &Path) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec!["merge".as_ref()];
    args.extend(files.iter().map(|f| f.as_os_str()));
    args.extend([
        "--json".as_ref(),
        json.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--force".as_ref(),
        "-q".as_ref(),
    ]);
    run(&args, &[])
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The document without the fields that time the run.
fn untimed(mut doc: Value) -> Value {
    let summary = doc["summary"].as_object_mut().unwrap();
    summary.remove("elapsed_seconds");
    summary.remove("images_per_second");
    doc
}

/// What an image's result is before the batch passes: no person ids, no
/// `duplicate_of`, no embedding.
fn per_image(mut r: Value) -> Value {
    let o = r.as_object_mut().unwrap();
    o.remove("duplicate_of");
    for f in o["faces"].as_array_mut().unwrap() {
        let f = f.as_object_mut().unwrap();
        f.remove("embedding");
        if f.contains_key("person") {
            f.insert("person".into(), Value::Null);
        }
    }
    r
}

/// The first place two JSON values differ, for a readable failure.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let at = format!("{at}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_difference(p, q, &at) {
                            return Some(d);
                        }
                    }
                    (p, q) => return Some(format!("{at}: {p:?} vs {q:?}")),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{at}[{i}]"))),
        _ => (a != b).then(|| format!("{at}: {a} vs {b}")),
    }
}

fn assert_same(single: &Value, merged: &Value, what: &str) {
    if let Some(d) = first_difference(single, merged, "") {
        panic!("{what}: the merged document differs from the single run's at {d}");
    }
}

#[test]
fn three_shards_merge_into_the_single_run_and_an_interrupted_one_resumes() {
    let d = tempfile::tempdir().unwrap();
    let single_json = d.path().join("single.json");
    let single_report = d.path().join("single-report");
    let o = run(
        &[
            "analyze".as_ref(),
            samples().as_os_str(),
            "--json".as_ref(),
            single_json.as_os_str(),
            "--out".as_ref(),
            single_report.as_os_str(),
            "--threads".as_ref(),
            "2".as_ref(),
            "-q".as_ref(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let single = untimed(read_json(&single_json));

    let files: Vec<PathBuf> = (0..3)
        .map(|k| d.path().join(format!("shard-{k}.jsonl")))
        .collect();
    for (k, f) in files.iter().enumerate() {
        shard(k as u32, f);
    }
    // Every line is a record the published shard schema accepts.
    let shard_schema = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&read_json(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/shard.schema.json"),
        ))
        .unwrap();
    let mut union: Vec<(usize, Value)> = Vec::new();
    let mut per_shard = Vec::new();
    for f in &files {
        let lines: Vec<Value> = std::fs::read_to_string(f)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for l in &lines {
            let errors: Vec<String> = shard_schema.iter_errors(l).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{}: {errors:?}", f.display());
        }
        assert!(lines.first().unwrap().get("shard").is_some());
        assert!(lines.last().unwrap().get("end").is_some());
        let images: Vec<(usize, Value)> = lines
            .iter()
            .filter_map(|l| l.get("image"))
            .map(|i| (i["input"].as_u64().unwrap() as usize, i["result"].clone()))
            .collect();
        // Embeddings were asked for: they are in the shard file.
        assert!(images.iter().any(|(_, r)| r["faces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.get("embedding").is_some())));
        per_shard.push(images.len());
        union.extend(images);
    }
    // A real split: each of the three shards has some of the 31 photos.
    assert!(per_shard.iter().all(|&n| n > 0), "{per_shard:?}");
    union.sort_by_key(|(i, _)| *i);
    let singles = single["images"].as_array().unwrap();
    assert_eq!(
        union.len(),
        singles.len(),
        "every image in exactly one shard"
    );
    for ((_, shard_result), single_result) in union.iter().zip(singles) {
        let path = single_result["path"].as_str().unwrap();
        if let Some(d) = first_difference(
            &per_image(single_result.clone()),
            &per_image(shard_result.clone()),
            "",
        ) {
            panic!("{path}: the shard's result differs from the single run's at {d}");
        }
    }

    let merged_json = d.path().join("merged.json");
    let report = d.path().join("report");
    let o = merge(&files, &merged_json, &report);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let merged = untimed(read_json(&merged_json));
    assert_same(&single, &merged, "3 shards");
    // The persons were told apart across the shards, and the report shows
    // them; no embedding is in either document.
    assert!(!merged["summary"]["persons"].as_array().unwrap().is_empty());
    assert!(!std::fs::read_to_string(&merged_json)
        .unwrap()
        .contains("\"embedding\""));
    // The report folder is the single run's: the same document, and the
    // same files (annotated copies, face thumbnails, the video's keyframes
    // read again from the video, the cloud views).
    assert_same(
        &untimed(read_json(&single_report.join("report.json"))),
        &untimed(read_json(&report.join("report.json"))),
        "report.json",
    );
    let listing = |dir: &Path| {
        let mut v: Vec<String> = walkdir::WalkDir::new(dir)
            .into_iter()
            .map(|e| {
                e.unwrap()
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    };
    let single_files = listing(&single_report);
    assert!(
        single_files.iter().any(|f| f.starts_with("keyframes/")),
        "{single_files:?}"
    );
    assert_eq!(single_files, listing(&report));
    // The same pictures: the shard files keep boxes to 0.1 px, as every
    // JSON output does, so a crop or a label may sit a fraction of a pixel
    // apart and the bytes differ; the sizes do not.
    for f in single_files.iter().filter(|f| f.ends_with(".jpg")) {
        assert_eq!(
            image::image_dimensions(single_report.join(f)).unwrap(),
            image::image_dimensions(report.join(f)).unwrap(),
            "{f}"
        );
    }
    let report_json = std::fs::read_to_string(report.join("report.json")).unwrap();
    assert!(!report_json.contains("\"embedding\""));

    // A shard missing, and one interrupted: each named.
    let o = merge(&files[..2], &merged_json, &report);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("shard 2/3 is missing"),
        "{}",
        text(&o)
    );
    let complete = std::fs::read(&files[1]).unwrap();
    let lines: Vec<&[u8]> = complete.split_inclusive(|&b| b == b'\n').collect();
    assert!(lines.len() >= 4, "shard 1 holds at least 2 inputs");
    // Killed in the middle of its second-to-last input's line.
    let keep: usize = lines[..lines.len() - 2].iter().map(|l| l.len()).sum();
    let cut = keep + lines[lines.len() - 2].len() / 2;
    std::fs::write(&files[1], &complete[..cut]).unwrap();
    let o = merge(&files, &merged_json, &report);
    assert_ne!(o.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("shard-1.jsonl") && stderr.contains("incomplete"),
        "{}",
        text(&o)
    );

    // Resumed: only the input that was cut off is analysed again.
    let o = run(
        &[
            "analyze".as_ref(),
            samples().as_os_str(),
            "--shard-from-env".as_ref(),
            "--embeddings".as_ref(),
            "--jsonl".as_ref(),
            files[1].as_os_str(),
            "--threads".as_ref(),
            "2".as_ref(),
        ],
        &[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("shard 1/3 complete")
            && (stderr.contains("1 images and 0 videos analysed in this run")
                || stderr.contains("0 images and 1 videos analysed in this run")),
        "{}",
        text(&o)
    );
    let o = merge(&files, &merged_json, &report);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_same(&single, &untimed(read_json(&merged_json)), "after resuming");

    // A complete shard is not analysed again, and its file is untouched.
    let before = std::fs::read(&files[0]).unwrap();
    let o = shard(0, &files[0]);
    assert!(
        String::from_utf8_lossy(&o.stderr).is_empty(),
        "-q: {}",
        text(&o)
    );
    assert_eq!(std::fs::read(&files[0]).unwrap(), before);
}

/// `analyze --shard 0/1 --jsonl file` stops with a usage error that says
/// `says`. A shard that read a named pipe would wait for a writer that
/// never comes: after five minutes that fails here instead of hanging.
fn refused_as_shard_file(file: &Path, says: &str) {
    let mut child = onlooker()
        .arg("analyze")
        .arg(samples().join("dog.jpg"))
        .args(["--shard", "0/1", "--jsonl"])
        .arg(file)
        .arg("--models")
        .arg(models())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("onlooker is still waiting on {}", file.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains(says), "{}", text(&o));
}

#[test]
fn shard_flags_are_checked_before_any_work() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("s.jsonl");
    for (args, env, says) in [
        (vec!["--shard", "3/3", "--jsonl"], vec![], "numbered from 0"),
        (vec!["--shard", "0/3"], vec![], "give --jsonl FILE"),
        (
            vec!["--shard", "0/3", "--json", "x.json", "--jsonl"],
            vec![],
            "onlooker merge",
        ),
        (
            vec!["--shard-from-env", "--jsonl"],
            vec![("JOB_COMPLETION_INDEX", "0")],
            "ONLOOKER_SHARDS",
        ),
    ] {
        let mut c = onlooker();
        c.current_dir(d.path())
            .arg("analyze")
            .arg(samples().join("dog.jpg"))
            .arg("--models")
            .arg(models())
            .args(&args)
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("SLURM_ARRAY_TASK_COUNT")
            .env_remove("ONLOOKER_SHARDS");
        if args.last() == Some(&"--jsonl") {
            c.arg(&f);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(says), "{args:?}: {}", text(&o));
        assert!(!f.exists(), "{args:?}: nothing written");
    }
    // A plain --jsonl results file is not a shard file, and is not replaced.
    std::fs::write(&f, "{\"path\":\"a.jpg\"}\n").unwrap();
    refused_as_shard_file(&f, "not a shard record");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "{\"path\":\"a.jpg\"}\n"
    );
    // A named pipe cannot be read back to resume: refused, without first
    // reading it (which would wait for a writer that never comes).
    let pipe = d.path().join("pipe.jsonl");
    let c = std::ffi::CString::new(pipe.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    refused_as_shard_file(&pipe, "is not a regular file");
}

/// Without --embeddings a shard file holds no biometric data, and both the
/// shard and the merge say what that costs.
#[test]
fn without_embeddings_no_shard_file_holds_one_and_merge_says_so() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("g.jsonl");
    let o = run(
        &[
            "analyze".as_ref(),
            common::sample("grace_hopper.jpg").as_os_str(),
            "--shard".as_ref(),
            "0/1".as_ref(),
            "--jsonl".as_ref(),
            f.as_os_str(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("without --embeddings"),
        "{}",
        text(&o)
    );
    let file = std::fs::read_to_string(&f).unwrap();
    assert!(file.contains("\"faces\":[{"), "a face was found: {file}");
    assert!(!file.contains("\"embedding\""), "{file}");
    let json = d.path().join("m.json");
    let o = run(
        &[
            "merge".as_ref(),
            f.as_os_str(),
            "--json".as_ref(),
            json.as_os_str(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("persons across shards left out"),
        "{}",
        text(&o)
    );
    let doc = read_json(&json);
    assert_eq!(doc["summary"]["images"], 1);
    assert!(doc["summary"].get("persons").is_none());
}
