//! The batch on the real runtime, models and sample images: streamed JSON
//! Lines, the same results whatever the thread count, and the benchmark's
//! JSON contract. No test here asserts on time.

mod common;
use common::{onlooker, samples};

use std::path::Path;

use onlooker::batch::{self, Engine, Input, Plan, Topology};
use onlooker::{runtime, ImageResult, Options, Runtime};

/// A folder of links to a few samples, plus a file that is not an image.
fn small_batch() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for f in ["dog.jpg", "grace_hopper.jpg", "chelsea.png"] {
        std::os::unix::fs::symlink(samples().join(f), d.path().join(f)).unwrap();
    }
    std::fs::write(d.path().join("broken.jpg"), b"\xff\xd8\xff\xe0 not really").unwrap();
    d
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(common::jsonl_record)
        .collect()
}

#[test]
fn jsonl_streams_one_valid_object_per_image_in_input_order() {
    let d = small_batch();
    let out = tempfile::tempdir().unwrap();
    let jsonl = out.path().join("results.jsonl");
    let json = out.path().join("results.json");
    let run = onlooker()
        .arg("analyze")
        .arg("--no-report")
        .arg(d.path())
        .arg("--jsonl")
        .arg(&jsonl)
        .arg("--json")
        .arg(&json)
        .args(["--threads", "2"])
        .output()
        .unwrap();
    // One image is broken: exit 1, the others analysed.
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let got = lines(&jsonl);
    let paths: Vec<String> = got
        .iter()
        .map(|v| {
            Path::new(v["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        paths,
        ["broken.jpg", "chelsea.png", "dog.jpg", "grace_hopper.jpg"]
    );
    assert!(got[0]["error"].is_string());
    for v in &got[1..] {
        assert!(v["error"].is_null(), "{v}");
        assert!(v["faces"].is_array() && v["objects"].is_array(), "{v}");
    }
    let dog = &got[2];
    assert!(
        dog["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["label"] == "dog"),
        "{dog}"
    );
    assert!(!got[3]["faces"].as_array().unwrap().is_empty());

    // --json still works alongside, with the very same per-image objects
    // except the person ids: lines are written before the persons pass, so
    // their `person` is null, the document's is set.
    let doc = common::document_file(&json);
    assert!(got[3]["faces"][0]["person"].is_null());
    assert_eq!(doc["images"][3]["faces"][0]["person"], 1);
    let without_person = |images: &[serde_json::Value]| {
        let mut images = images.to_vec();
        for i in &mut images {
            for f in i["faces"].as_array_mut().unwrap() {
                f.as_object_mut().unwrap().remove("person");
            }
        }
        images
    };
    assert_eq!(
        without_person(doc["images"].as_array().unwrap()),
        without_person(&got)
    );
    assert_eq!(doc["summary"]["images"], 4);
    assert_eq!(doc["summary"]["failed"], 1);

    // The final line: images, faces, objects, failures, elapsed, rate.
    let stdout = String::from_utf8_lossy(&run.stdout);
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("4 images, ") && last.contains("1 failed") && last.ends_with("images/s"),
        "{last}"
    );
    // stderr is not a terminal here: no progress bar, only the error line.
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !stderr.contains('█') && !stderr.contains("images/s"),
        "{stderr}"
    );
}

#[test]
fn jsonl_to_stdout_and_quiet_keep_stdout_machine_readable() {
    let d = small_batch();
    let run = onlooker()
        .arg("analyze")
        .arg("--no-report")
        .arg(d.path().join("dog.jpg"))
        .arg(d.path().join("chelsea.png"))
        .args(["--jsonl", "-", "--quiet"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    for l in stdout.lines() {
        let v = common::jsonl_record(l);
        assert!(v["error"].is_null());
    }
    assert!(
        run.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn jsonl_never_overwrites_an_image() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("copy.jpg");
    std::fs::copy(samples().join("dog.jpg"), &target).unwrap();
    let before = std::fs::read(&target).unwrap();
    let run = onlooker()
        .arg("analyze")
        .arg("--no-report")
        .arg(samples().join("grace_hopper.jpg"))
        .arg("--jsonl")
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read(&target).unwrap(), before);
}

fn analyse_all(rt: &Runtime, inputs: &[Input], plan: Plan) -> Vec<ImageResult> {
    let engine = Engine::new(rt, &Options::default(), plan).unwrap();
    let mut out = Vec::new();
    engine
        .run(inputs, |i, r| {
            assert_eq!(i, out.len(), "results arrive in input order");
            out.push(r);
        })
        .unwrap();
    out
}

fn json(results: &[ImageResult]) -> String {
    serde_json::to_string(results).unwrap()
}

#[test]
fn one_and_two_threads_give_identical_results() {
    let rt = Runtime::load(&runtime::default_models_dir()).expect("run `make models` first");
    // The sample video is analysed by `analyze`'s video path, not as an image.
    let (inputs, _videos) = batch::collect_images(&[samples()]);
    assert!(inputs.len() >= 10);
    let one = analyse_all(&rt, &inputs, Plan::new(1));
    let two = analyse_all(&rt, &inputs, Plan::new(2));
    assert_eq!(one.len(), inputs.len());
    assert!(one.iter().all(|r| r.error.is_none()));
    assert!(one.iter().map(|r| r.faces.len()).sum::<usize>() > 30);
    assert_eq!(json(&one), json(&two));

    // The shared-session topology runs the same sessions behind a lock.
    let shared = analyse_all(
        &rt,
        &inputs[..3],
        Plan {
            threads: 2,
            topology: Topology::SharedSession,
        },
    );
    assert_eq!(shared.len(), 3);
    assert_eq!(
        shared.iter().map(|r| &r.path).collect::<Vec<_>>(),
        one[..3].iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert!(shared.iter().all(|r| r.error.is_none()));
}

#[test]
fn an_engine_is_reused_across_runs_and_reports_unreadable_inputs() {
    let rt = Runtime::load(&runtime::default_models_dir()).unwrap();
    let engine = Engine::new(&rt, &Options::default(), Plan::new(2)).unwrap();
    let inputs = batch::collect_inputs(&[samples().join("dog.jpg"), samples().join("missing.jpg")]);
    for _ in 0..2 {
        let mut got = Vec::new();
        engine.run(&inputs, |_, r| got.push(r)).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].error.is_none());
        assert!(got[1].error.as_deref().unwrap().starts_with("cannot read"));
    }
}

#[test]
fn bench_json_has_the_documented_keys() {
    let run = onlooker()
        .arg("bench")
        .arg(samples().join("dog.jpg"))
        .arg(samples().join("grace_hopper.jpg"))
        .args(["--threads", "2", "--repeat", "1", "--json"])
        .args([
            "--machines",
            "4",
            "--avg-size",
            "2.5",
            "--fps",
            "2",
            "--bitrate",
            "8",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    for k in [
        "images_per_second",
        "runs_images_per_second",
        "inference_bound_images_per_second",
        "inference_bound_ratio",
        "stages",
        "threads_scaling",
        "topologies",
        "peak_rss_bytes",
        "load_average_before",
        "projection",
    ] {
        assert!(v.get(k).is_some(), "missing {k} in {v}");
    }
    assert_eq!(v["images"], 2);
    assert!(v["images_per_second"].as_f64().unwrap() > 0.0);
    assert!(v["inference_bound_images_per_second"].as_f64().unwrap() > 0.0);
    assert!(v["peak_rss_bytes"].as_u64().unwrap() > 0);
    for stage in [
        "decode",
        "face_preprocess",
        "face_inference",
        "face_postprocess",
        "attribute_preprocess",
        "attribute_inference",
        "object_preprocess",
        "object_inference",
        "object_postprocess",
        "total",
    ] {
        let s = &v["stages"][stage];
        assert!(
            s["p50_ms"].as_f64().is_some() && s["p95_ms"].as_f64().is_some(),
            "{stage}: {s}"
        );
    }
    // The stages are the pipeline's own: both detectors ran on both images,
    // and Grace Hopper's one face had its attributes computed.
    for stage in ["decode", "face_inference", "object_inference", "total"] {
        assert!(
            v["stages"][stage]["p50_ms"].as_f64().unwrap() > 0.0,
            "{stage}"
        );
    }
    assert_eq!(v["attribute_faces"], 1, "{v}");
    assert!(v["attribute_ms_per_face"].as_f64().unwrap() > 0.0);
    assert!(v["attribute_cpu_ms_per_face"].as_f64().is_some());
    // The same face embedded by the identity model.
    assert_eq!(v["identity_faces"], 1, "{v}");
    assert!(v["identity_ms_per_face"].as_f64().unwrap() > 0.0);
    assert!(v["identity_cpu_ms_per_face"].as_f64().is_some());
    let threads: Vec<u64> = v["threads_scaling"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["threads"].as_u64().unwrap())
        .collect();
    assert_eq!(threads, [1, 2]);
    let topologies: Vec<&str> = v["topologies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["topology"].as_str().unwrap())
        .collect();
    assert_eq!(topologies, ["per-worker", "one-session", "shared-session"]);

    let a = &v["projection"]["assumptions"];
    assert_eq!(a["machines"], 4);
    assert_eq!(a["average_photo_bytes"], 2.5e6);
    assert_eq!(a["video_frames_per_second"], 2.0);
    assert_eq!(a["video_bits_per_second"], 8e6);
    let rate = v["images_per_second"].as_f64().unwrap();
    let photos = &v["projection"]["volumes"][0]["as_photos"];
    assert_eq!(photos["photos"], 1.6e8);
    let one = photos["seconds_one_machine"].as_f64().unwrap();
    assert!((one - 1.6e8 / rate).abs() <= 1e-6 * one);
    let four = photos["seconds_all_machines"].as_f64().unwrap();
    assert!((four * 4.0 - one).abs() <= 1e-6 * one);
}

#[test]
fn bench_text_states_every_assumption() {
    let run = onlooker()
        .arg("bench")
        .arg(samples().join("dog.jpg"))
        .args([
            "--threads",
            "1",
            "--repeat",
            "1",
            "--quick",
            "--machines",
            "3",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8_lossy(&run.stdout);
    for needle in [
        "end to end:",
        "inference only:",
        "face inference",
        "peak memory",
        "3 machines",
        "2.5 MB each",
        "5.0 Mbit/s",
        "1 frame/s",
        "400 TB",
        "1.4 PB",
        "assumes",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn every_topology_keeps_the_metadata_of_a_file_whose_pixels_fail() {
    // A day-out photo cut off right after its headers: the EXIF block (GPS,
    // time, camera) is whole, the compressed pixels are gone.
    let bytes = std::fs::read(samples().join("day_out/DSCF0412.jpg")).unwrap();
    let sos = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let d = tempfile::tempdir().unwrap();
    let cut = d.path().join("cut.jpg");
    std::fs::write(&cut, &bytes[..sos + 2]).unwrap();

    let rt = Runtime::load(&runtime::default_models_dir()).unwrap();
    let inputs = batch::collect_inputs(&[cut]);
    for topology in Topology::ALL {
        let plan = Plan {
            threads: 2,
            topology,
        };
        let engine = Engine::new(&rt, &Options::default(), plan).unwrap();
        let mut got = Vec::new();
        engine.run(&inputs, |_, r| got.push(r)).unwrap();
        let r = &got[0];
        assert!(r.error.is_some(), "{}: {r:?}", topology.name());
        let v = serde_json::to_value(r).unwrap();
        assert!(
            v["metadata"]["gps"]["latitude"].is_number() && v["metadata"]["taken_at"].is_string(),
            "{}: {v}",
            topology.name()
        );
    }
}

#[test]
fn engine_map_covers_every_item_in_order_on_every_topology() {
    // What `bench` measures stages and the inference-only bound with.
    let rt = Runtime::load(&runtime::default_models_dir()).unwrap();
    let paths = [samples().join("dog.jpg"), samples().join("astronaut.png")];
    let inputs = batch::collect_inputs(&paths);
    for topology in Topology::ALL {
        let plan = Plan {
            threads: 2,
            topology,
        };
        let engine = Engine::new(&rt, &Options::default(), plan).unwrap();
        let mut by_run = Vec::new();
        engine.run(&inputs, |_, r| by_run.push(r)).unwrap();
        let by_map = engine
            .map(paths.len(), |a, i| a.analyze_path(&paths[i]))
            .unwrap();
        assert_eq!(json(&by_map), json(&by_run), "{}", topology.name());
        assert_eq!(by_map[1].faces.len(), 1, "the astronaut");

        let squares = engine.map(40, |_, i| i * i).unwrap();
        assert_eq!(squares, (0..40).map(|i| i * i).collect::<Vec<_>>());

        // A job that panics costs its item only.
        let kept = engine
            .map(6, |_, i| {
                assert!(i != 3, "a deliberate panic");
                i
            })
            .unwrap();
        assert_eq!(kept, [0, 1, 2, 4, 5], "{}", topology.name());
    }
}
