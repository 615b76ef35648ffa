//! The published JSON Schema: generated from the result types, committed
//! as schema/onlooker.schema.json, and strict enough to reject a broken
//! document. The other test binaries validate their outputs against it.

mod common;

use std::path::Path;

use serde_json::json;

const REGENERATE: &str =
    "regenerate with: ONLOOKER_WRITE_SCHEMA=1 cargo test --release --test schema";

/// Compares `schema/NAME` with the schema the types generate (and
/// writes it first when asked to).
fn assert_committed(name: &str, schema: &schemars::Schema) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    let generated = serde_json::to_string_pretty(schema).unwrap() + "\n";
    if std::env::var_os("ONLOOKER_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; {REGENERATE}", path.display()));
    assert!(
        committed == generated,
        "{} differs from the schema the types generate; {REGENERATE}",
        path.display()
    );
}

#[test]
fn committed_schema_is_the_generated_one() {
    assert_committed("onlooker.schema.json", &onlooker::result::schema());
}

#[test]
fn committed_shard_schema_is_the_generated_one() {
    assert_committed("shard.schema.json", &onlooker::shard::schema());
}

fn face() -> serde_json::Value {
    json!({
        "box": [10.0, 20.0, 30.0, 40.0],
        "score": 0.9,
        "landmarks": {
            "left_eye": [15.0, 30.0], "right_eye": [30.0, 30.0], "nose": [22.0, 38.0],
            "mouth_left": [17.0, 48.0], "mouth_right": [28.0, 48.0]
        },
        "head_pose": {"roll": 0.0, "yaw": 1.0, "pitch": -2.0},
        "blur": {"level": "low", "value": 0.1},
        "exposure": {"level": "good", "value": 0.5},
        "size_px": 30, "cloud_min_size_px": 36, "below_cloud_min_size": true,
        "age": 31.5,
        "gender": {"label": "female", "confidence": 0.97},
        "expression": {"label": "happy", "scores": {"happy": 0.9, "neutral": 0.1}}
    })
}

fn document() -> serde_json::Value {
    json!({
        "version": 1,
        "images": [{
            "path": "a.jpg", "width": 100, "height": 80,
            "faces": [face()],
            "objects": [{"label": "person", "class_id": 0, "score": 0.8, "box": [1, 2, 3, 4]}],
            "text": [{"text": "ada@example.org", "score": 0.9, "box": [1, 2, 3, 4], "polygon": [[1, 2], [4, 2], [4, 6], [1, 6]], "kind": "email"}],
            "tags": [{"name": "suit", "confidence": 0.6}],
            "people": 1, "object_counts": {"person": 1}, "scene": "1 person; looks like suit",
            "metadata": {"taken_at": "2026-05-01T08:05:12+02:00", "gps": {"latitude": 1.5}},
            "error": null
        }],
        "videos": [{
            "path": "clip.mp4", "duration_seconds": 9.0, "frames_analysed": 18, "width": 640, "height": 480,
            "persons": [{"id": 1, "appearances": [{"start": 0.0, "end": 3.0}, {"start": 6.0, "end": 9.0}],
                         "best_face": {"frame_time": 6.5, "box": [1, 2, 3, 4]}}],
            "objects": [{"label": "person", "ranges": [{"start": 0.0, "end": 9.0}]}],
            "text": [{"text": "EXIT", "ranges": [{"start": 1.5, "end": 2.0}]}],
            "tags": [{"name": "suit", "ranges": [{"start": 0.0, "end": 9.0}]}],
            "error": null
        }],
        "summary": {
            "images": 1, "analysed": 1, "failed": 0, "faces": 1, "objects": 1, "people": 1, "text_lines": 1,
            "elapsed_seconds": 0.5, "images_per_second": 2.0,
            "findings": {"timeline": [], "places": [], "devices": [], "sentences": []}
        }
    })
}

#[test]
fn a_well_formed_document_passes() {
    common::assert_document(&document());
    common::assert_jsonl(&serde_json::to_string(&document()["images"][0]).unwrap());
}

/// Turns a valid document into an invalid one.
type Breaks = fn(&mut serde_json::Value);

#[test]
fn broken_documents_fail() {
    let broken: [(&str, Breaks); 7] = [
        ("box with three numbers", |d| {
            d["images"][0]["faces"][0]["box"] = json!([1, 2, 3])
        }),
        ("missing score", |d| {
            d["images"][0]["faces"][0]
                .as_object_mut()
                .unwrap()
                .remove("score");
        }),
        ("unknown blur level", |d| {
            d["images"][0]["faces"][0]["blur"]["level"] = json!("extreme")
        }),
        ("negative count", |d| d["images"][0]["people"] = json!(-1)),
        ("timestamp not a date", |d| {
            d["images"][0]["metadata"]["taken_at"] = json!("yesterday")
        }),
        ("path a number", |d| d["images"][0]["path"] = json!(3)),
        ("summary missing", |d| {
            d.as_object_mut().unwrap().remove("summary");
        }),
    ];
    for (what, breaks) in broken {
        let mut d = document();
        breaks(&mut d);
        assert!(
            common::validate_document(&d).is_err(),
            "{what} was accepted"
        );
    }
    let mut line = document()["images"][0].clone();
    line["faces"][0]["landmarks"]["nose"] = json!("centre");
    assert!(common::validate_image_result(&line).is_err());
}
