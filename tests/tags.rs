//! Tags: the real ImageNet classifier on the real samples, through the
//! command line (JSON checked against the published schema), and
//! `--no-tags`, which needs none of the tags files.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use onlooker::manifest::{Manifest, ModelId};
use onlooker::tags::{DEFAULT_THRESHOLD, TOP_K};
use onlooker::{objects, runtime};

fn analyze(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = common::onlooker()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["analyze", "--no-report", "--threads", "2", "--json", "-"])
        .args(["--no-attributes", "--no-identity", "--no-text"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = match serde_json::from_slice(&out.stdout) {
        Ok(doc) => {
            common::assert_document(&doc);
            doc
        }
        Err(_) => serde_json::Value::Null,
    };
    (out.status.code(), json, stderr)
}

/// An image's tags as (name, confidence), checked for what every tag
/// list must be: at most five, each confidence in (0, 1] and at least the
/// threshold, most likely first, no name twice.
fn tags_of(image: &serde_json::Value) -> Vec<(String, f64)> {
    let tags: Vec<(String, f64)> = image["tags"]
        .as_array()
        .unwrap_or_else(|| panic!("no tags array in {image}"))
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["confidence"].as_f64().unwrap(),
            )
        })
        .collect();
    let path = &image["path"];
    assert!(tags.len() <= TOP_K, "{path}: {tags:?}");
    for (name, c) in &tags {
        assert!(!name.is_empty(), "{path}: {tags:?}");
        assert!(*c > 0.0 && *c <= 1.0, "{path}: {tags:?}");
        assert!(*c >= DEFAULT_THRESHOLD as f64 - 1e-6, "{path}: {tags:?}");
    }
    assert!(
        tags.windows(2).all(|w| w[0].1 >= w[1].1),
        "{path}: {tags:?}"
    );
    let names: BTreeSet<&str> = tags.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(names.len(), tags.len(), "{path}: {tags:?}");
    tags
}

#[test]
fn the_samples_are_tagged_with_what_they_show() {
    // Each sample and the ImageNet classes that name what it shows (one of
    // them must be among its tags). ImageNet has no giraffe: the zebra
    // next to them is what it names in giraffe.jpg.
    let expected: [(&str, &[&str]); 7] = [
        ("coffee.png", &["espresso", "cup", "coffee mug"]),
        ("chelsea.png", &["tabby", "tiger cat", "Egyptian cat"]),
        (
            "dog.jpg",
            &["malamute", "Eskimo dog", "Siberian husky", "dogsled"],
        ),
        ("eagle.jpg", &["bald eagle", "kite", "vulture"]),
        ("giraffe.jpg", &["zebra"]),
        (
            "solvay_1927.jpg",
            &["academic gown", "suit", "military uniform"],
        ),
        ("text/street.jpg", &["street sign"]),
    ];
    let paths: Vec<String> = expected
        .iter()
        .map(|(name, _)| format!("samples/{name}"))
        .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let (code, json, stderr) = analyze(&args);
    assert_eq!(code, Some(0), "{stderr}");
    let images = json["images"].as_array().unwrap();
    assert_eq!(images.len(), expected.len());
    for (image, (name, classes)) in images.iter().zip(expected) {
        assert!(image["path"].as_str().unwrap().ends_with(name));
        let tags = tags_of(image);
        assert!(
            tags.iter().any(|(t, _)| classes.contains(&t.as_str())),
            "{name}: expected one of {classes:?}, got {tags:?}"
        );
        // The scene line says what the picture looks like by its surest
        // tag, when it is sure enough.
        let scene = image["scene"].as_str().unwrap();
        let top = &tags[0];
        let sure = top.1 >= objects::SCENE_TAG_CONFIDENCE as f64;
        assert_eq!(
            scene.contains(&format!("; looks like {}", top.0)),
            sure,
            "{name}: {scene} ({tags:?})"
        );
    }
    // The picture's one subject, named with near certainty.
    let coffee = tags_of(&images[0]);
    assert_eq!(coffee[0].0, "espresso");
    assert!(coffee[0].1 > 0.9, "{coffee:?}");
    assert_eq!(
        images[0]["scene"],
        "1 cup, 1 dining table; looks like espresso"
    );
}

#[test]
fn no_tags_leaves_them_out_and_needs_none_of_their_files() {
    // A models folder with every file but the classifier and its names.
    let weights = runtime::default_models_dir();
    let d = tempfile::tempdir().unwrap();
    let manifest = Manifest::builtin();
    let tags_files: Vec<String> = [ModelId::Tags, ModelId::TagSynsets, ModelId::TagLemmas]
        .iter()
        .map(|&id| manifest.model(id).unwrap().file.clone())
        .collect();
    for e in std::fs::read_dir(&weights).unwrap() {
        let name = e.unwrap().file_name();
        if !tags_files.iter().any(|f| **f == *name) {
            std::os::unix::fs::symlink(weights.join(&name), d.path().join(&name)).unwrap();
        }
    }
    let models = d.path().to_str().unwrap();

    let (code, json, stderr) = analyze(&["--no-tags", "--models", models, "samples/coffee.png"]);
    assert_eq!(code, Some(0), "{stderr}");
    let coffee = &json["images"][0];
    assert_eq!(coffee["tags"], serde_json::json!([]));
    assert_eq!(coffee["scene"], "1 cup, 1 dining table");

    // Asked for, the missing classifier is one clear error.
    let (code, _, stderr) = analyze(&["--models", models, "samples/coffee.png"]);
    assert_eq!(code, Some(2), "{stderr}");
    let line = stderr.trim();
    assert_eq!(line.lines().count(), 1, "{stderr}");
    assert!(
        line.contains(&tags_files[0]) && line.contains("make models"),
        "{stderr}"
    );
}

#[test]
fn a_video_has_the_tags_of_its_sampled_frames_with_their_times() {
    let video = Path::new("samples/video/people_cuts.mp4");
    let (code, json, stderr) = analyze(&["--fps", "1", video.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let v = &json["videos"][0];
    let duration = v["duration_seconds"].as_f64().unwrap();
    let tags = v["tags"].as_array().unwrap();
    assert!(!tags.is_empty(), "{v}");
    for t in tags {
        assert!(!t["name"].as_str().unwrap().is_empty());
        let ranges = t["ranges"].as_array().unwrap();
        assert!(!ranges.is_empty(), "{t}");
        for r in ranges {
            let (start, end) = (r["start"].as_f64().unwrap(), r["end"].as_f64().unwrap());
            assert!(0.0 <= start && start <= end && end <= duration + 1.0, "{t}");
        }
    }
    // The first clips are of people in suits and ties: what they wear is
    // among the labels.
    let names: Vec<&str> = tags.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(
        names
            .iter()
            .any(|n| ["suit", "Windsor tie", "lab coat"].contains(n)),
        "{names:?}"
    );
}
