//! Helpers shared by the integration tests (each test binary uses some).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use image::RgbImage;
use onlooker::imageio::{self, DecodeLimits};

pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

pub fn sample(name: &str) -> PathBuf {
    samples().join(name)
}

/// A sample decoded as the pipeline decodes it (limits, EXIF orientation).
pub fn load(name: &str) -> RgbImage {
    imageio::load(&sample(name), &DecodeLimits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .rgb
}

/// A finished command's status and output, for a failing assertion.
pub fn output_text(o: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The built binary, finding its runtime and models the default way: the
/// caller's ONLOOKER_MODELS / ORT_DYLIB_PATH must not leak into the test.
pub fn onlooker() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onlooker"));
    c.env_remove("ONLOOKER_MODELS").env_remove("ORT_DYLIB_PATH");
    c
}

/// The published schema (schema/onlooker.schema.json), as a JSON value.
fn schema_value() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/onlooker.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(schema: &serde_json::Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(schema)
        .unwrap_or_else(|e| panic!("schema does not compile: {e}"))
}

fn check(v: &jsonschema::Validator, doc: &serde_json::Value, what: &str) -> Result<(), String> {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{what} does not match the schema:\n{}",
            errors.join("\n")
        ))
    }
}

/// Whether a whole document (`--json`, `report.json`) matches the published
/// schema; the error lists every violation.
pub fn validate_document(doc: &serde_json::Value) -> Result<(), String> {
    check(&validator(&schema_value()), doc, "document")
}

/// Whether one `--jsonl` line matches the schema's `ImageResult`.
pub fn validate_image_result(line: &serde_json::Value) -> Result<(), String> {
    let mut schema = schema_value();
    // The definition itself, with the $defs it refers to alongside.
    let defs = schema["$defs"].take();
    let mut image = defs["ImageResult"].clone();
    image["$defs"] = defs;
    image["$schema"] = schema["$schema"].clone();
    check(&validator(&image), line, "JSON Lines record")
}

/// Panicking forms for the tests' outputs.
pub fn assert_document(doc: &serde_json::Value) {
    if let Err(e) = validate_document(doc) {
        panic!("{e}");
    }
}

pub fn assert_jsonl(text: &str) {
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        if let Err(e) = validate_image_result(&v) {
            panic!("line {}: {e}", i + 1);
        }
    }
}

/// A `--json` document (stdout or file bytes), parsed and checked against
/// the schema.
pub fn document(bytes: &[u8]) -> serde_json::Value {
    let doc = serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}): {}",
            String::from_utf8_lossy(bytes)
        )
    });
    assert_document(&doc);
    doc
}

pub fn document_file(path: &Path) -> serde_json::Value {
    document(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// One `--jsonl` record, parsed and checked against the schema.
pub fn jsonl_record(line: &str) -> serde_json::Value {
    let v = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    if let Err(e) = validate_image_result(&v) {
        panic!("{e}");
    }
    v
}
