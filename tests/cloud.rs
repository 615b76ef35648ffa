//! `analyze --as aws|google|azure` on every sample, with the real binary
//! and models, checked against the providers' own published shapes: AWS
//! Rekognition's service model (botocore) and Google Cloud Vision's v1
//! discovery document (google-api-python-client), fetched and pinned by
//! sha256 at test time by `scripts/fetch_cloud_schemas.py`, never
//! committed. Every key must be one the provider documents, every value of
//! the documented type, within its documented range, from its enum. Azure
//! publishes no machine-readable schema in a registry package (see README),
//! so its documents are checked against the documented names here.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

fn schemas() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cloud-schemas");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch_cloud_schemas.py");
        let o = Command::new("python3")
            .arg(&script)
            .arg(&dir)
            .output()
            .expect("python3 runs");
        assert!(
            o.status.success(),
            "fetching the providers' schemas failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        dir
    })
}

fn load(name: &str) -> Value {
    let path = schemas().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The `--as` document of every sample (images only).
fn document(provider: &str) -> Value {
    static DOCS: OnceLock<std::sync::Mutex<std::collections::HashMap<String, Value>>> =
        OnceLock::new();
    let docs = DOCS.get_or_init(Default::default);
    if let Some(d) = docs.lock().unwrap().get(provider) {
        return d.clone();
    }
    let o = common::onlooker()
        .arg("analyze")
        .arg(common::samples())
        .args(["--as", provider, "--json", "-", "--no-report", "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    docs.lock().unwrap().insert(provider.into(), doc.clone());
    doc
}

/// Checks `v` against botocore shape `shape`; errors name the JSON path.
fn check_aws(shapes: &Value, shape: &str, v: &Value, at: &str, errors: &mut Vec<String>) {
    let s = &shapes[shape];
    let ty = s["type"]
        .as_str()
        .unwrap_or_else(|| panic!("no shape {shape}"));
    let range = |x: f64, errors: &mut Vec<String>| {
        if let Some(min) = s["min"].as_f64() {
            if x < min {
                errors.push(format!("{at}: {x} < min {min} ({shape})"));
            }
        }
        if let Some(max) = s["max"].as_f64() {
            if x > max {
                errors.push(format!("{at}: {x} > max {max} ({shape})"));
            }
        }
    };
    match ty {
        "structure" => {
            let Some(obj) = v.as_object() else {
                return errors.push(format!("{at}: not an object ({shape})"));
            };
            for req in s["required"].as_array().into_iter().flatten() {
                if !obj.contains_key(req.as_str().unwrap()) {
                    errors.push(format!("{at}: lacks required {req} ({shape})"));
                }
            }
            for (k, x) in obj {
                match s["members"][k]["shape"].as_str() {
                    Some(m) => check_aws(shapes, m, x, &format!("{at}.{k}"), errors),
                    None => errors.push(format!("{at}: {k} is not a member of {shape}")),
                }
            }
        }
        "list" => match v.as_array() {
            Some(items) => {
                let m = s["member"]["shape"].as_str().unwrap();
                for (i, x) in items.iter().enumerate() {
                    check_aws(shapes, m, x, &format!("{at}[{i}]"), errors);
                }
            }
            None => errors.push(format!("{at}: not an array ({shape})")),
        },
        "string" => match v.as_str() {
            Some(x) => {
                if let Some(e) = s["enum"].as_array() {
                    if !e.iter().any(|y| y == x) {
                        errors.push(format!("{at}: {x:?} not in the enum of {shape}"));
                    }
                }
            }
            None => errors.push(format!("{at}: not a string ({shape})")),
        },
        "integer" | "long" => match v.as_i64() {
            Some(x) => range(x as f64, errors),
            None => errors.push(format!("{at}: not an integer ({shape})")),
        },
        "float" | "double" => match v.as_f64() {
            Some(x) => range(x, errors),
            None => errors.push(format!("{at}: not a number ({shape})")),
        },
        "boolean" => {
            if !v.is_boolean() {
                errors.push(format!("{at}: not a boolean ({shape})"));
            }
        }
        other => errors.push(format!("{at}: shape type {other} not checked ({shape})")),
    }
}

/// Checks `v` against a discovery-document schema (a `$ref` or an inline
/// property schema).
fn check_google(schemas: &Value, s: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = s["$ref"].as_str() {
        return check_google(schemas, &schemas[r], v, at, errors);
    }
    match s["type"].as_str() {
        Some("object") => {
            let Some(obj) = v.as_object() else {
                return errors.push(format!("{at}: not an object"));
            };
            for (k, x) in obj {
                match s["properties"].get(k) {
                    Some(p) => check_google(schemas, p, x, &format!("{at}.{k}"), errors),
                    None => errors.push(format!("{at}: {k} is not a property of {}", s["id"])),
                }
            }
        }
        Some("array") => match v.as_array() {
            Some(items) => {
                for (i, x) in items.iter().enumerate() {
                    check_google(schemas, &s["items"], x, &format!("{at}[{i}]"), errors);
                }
            }
            None => errors.push(format!("{at}: not an array")),
        },
        Some("string") => match v.as_str() {
            Some(x) => {
                if let Some(e) = s["enum"].as_array() {
                    if !e.iter().any(|y| y == x) {
                        errors.push(format!("{at}: {x:?} not in the enum"));
                    }
                }
            }
            None => errors.push(format!("{at}: not a string")),
        },
        Some("integer") => match v.as_i64() {
            Some(x) if s["format"] == "int32" && i32::try_from(x).is_err() => {
                errors.push(format!("{at}: {x} is not an int32"))
            }
            Some(_) => {}
            None => errors.push(format!("{at}: not an integer")),
        },
        Some("number") => {
            if !v.is_number() {
                errors.push(format!("{at}: not a number"));
            }
        }
        Some("boolean") => {
            if !v.is_boolean() {
                errors.push(format!("{at}: not a boolean"));
            }
        }
        other => errors.push(format!("{at}: schema type {other:?} not checked")),
    }
}

fn images(doc: &Value) -> &Vec<Value> {
    let images = doc["images"].as_array().unwrap();
    assert!(images.len() >= 30, "{} images", images.len());
    images
}

fn entry<'a>(doc: &'a Value, name: &str) -> &'a Value {
    images(doc)
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn aws_documents_follow_rekognitions_service_model() {
    let model = load("rekognition-service-2.json");
    let shapes = &model["shapes"];
    let doc = document("aws");
    assert_eq!(doc["provider"], "aws");
    let mut errors = Vec::new();
    for img in images(&doc) {
        let path = img["path"].as_str().unwrap();
        let r = &img["response"];
        assert!(img["error"].is_null(), "{img}");
        let ops = r.as_object().unwrap();
        assert_eq!(
            ops.keys().collect::<Vec<_>>(),
            ["DetectFaces", "DetectLabels", "DetectText"]
        );
        for (op, v) in ops {
            // The operation's output shape, as the service model names it.
            let out = model["operations"][op]["output"]["shape"]
                .as_str()
                .unwrap_or_else(|| panic!("no operation {op}"));
            check_aws(shapes, out, v, &format!("{path}.{op}"), &mut errors);
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // The control: a document broken in three ways is caught three times.
    let mut broken = entry(&doc, "grace_hopper.jpg")["response"]["DetectFaces"].clone();
    let face = &mut broken["FaceDetails"][0];
    face["Bogus"] = 1.into();
    face["Confidence"] = 101.0.into();
    face["Emotions"][0]["Type"] = "SMUG".into();
    let mut caught = Vec::new();
    check_aws(
        shapes,
        "DetectFacesResponse",
        &broken,
        "broken",
        &mut caught,
    );
    assert_eq!(caught.len(), 3, "{caught:?}");

    // What the shapes cannot say: the Solvay photo's 29 faces, ratios
    // inside the image, Grace Hopper's emotions summing to about 100, a cat
    // among the labels, the street sign's text.
    let solvay = &entry(&doc, "solvay_1927.jpg")["response"]["DetectFaces"]["FaceDetails"];
    assert!(solvay.as_array().unwrap().len() >= 29);
    for f in solvay.as_array().unwrap() {
        let b = &f["BoundingBox"];
        let (l, w) = (b["Left"].as_f64().unwrap(), b["Width"].as_f64().unwrap());
        assert!(l >= 0.0 && w > 0.0 && l + w <= 1.0001, "{b}");
    }
    let grace = &entry(&doc, "grace_hopper.jpg")["response"]["DetectFaces"]["FaceDetails"][0];
    let sum: f64 = grace["Emotions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Confidence"].as_f64().unwrap())
        .sum();
    assert!((95.0..=100.5).contains(&sum), "{sum}");
    let (lo, hi) = (
        grace["AgeRange"]["Low"].as_u64().unwrap(),
        grace["AgeRange"]["High"].as_u64().unwrap(),
    );
    assert!(lo < hi, "{grace}");
    let labels: Vec<&str> = entry(&doc, "chelsea.png")["response"]["DetectLabels"]["Labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["Name"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"Cat"), "{labels:?}");
    let text = &entry(&doc, "text/street.jpg")["response"]["DetectText"]["TextDetections"];
    assert!(!text.as_array().unwrap().is_empty(), "{text}");
    assert_eq!(text[0]["Type"], "LINE");
    assert_eq!(text[0]["Geometry"]["Polygon"].as_array().unwrap().len(), 4);
}

#[test]
fn google_documents_follow_the_vision_v1_discovery_document() {
    let discovery = load("vision.v1.json");
    let schemas = &discovery["schemas"];
    let doc = document("google");
    let mut errors = Vec::new();
    for img in images(&doc) {
        let path = img["path"].as_str().unwrap();
        check_google(
            schemas,
            &serde_json::json!({"$ref": "AnnotateImageResponse"}),
            &img["response"],
            path,
            &mut errors,
        );
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // The control: a document broken in three ways is caught three times.
    let mut broken = entry(&doc, "grace_hopper.jpg")["response"].clone();
    let face = &mut broken["faceAnnotations"][0];
    face["bogus"] = 1.into();
    face["joyLikelihood"] = "MAYBE".into();
    face["boundingPoly"]["vertices"][0]["x"] = 1.5.into();
    let mut caught = Vec::new();
    check_google(
        schemas,
        &serde_json::json!({"$ref": "AnnotateImageResponse"}),
        &broken,
        "broken",
        &mut caught,
    );
    assert_eq!(caught.len(), 3, "{caught:?}");

    let solvay = &entry(&doc, "solvay_1927.jpg")["response"]["faceAnnotations"];
    assert!(solvay.as_array().unwrap().len() >= 29);
    assert_eq!(
        solvay[0]["boundingPoly"]["vertices"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let dog = &entry(&doc, "dog.jpg")["response"];
    let objects: Vec<&str> = dog["localizedObjectAnnotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert!(objects.contains(&"Dog"), "{objects:?}");
    for o in dog["localizedObjectAnnotations"].as_array().unwrap() {
        for v in o["boundingPoly"]["normalizedVertices"].as_array().unwrap() {
            let (x, y) = (v["x"].as_f64().unwrap(), v["y"].as_f64().unwrap());
            assert!((0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y), "{v}");
        }
    }
    // The first text annotation is the whole text, then one per line.
    let street = &entry(&doc, "text/street.jpg")["response"]["textAnnotations"];
    let lines = street.as_array().unwrap();
    assert!(lines.len() >= 2, "{street}");
    assert!(lines[0]["description"]
        .as_str()
        .unwrap()
        .contains(lines[1]["description"].as_str().unwrap()));
}

#[test]
fn azure_documents_keep_retired_attributes_apart() {
    let doc = document("azure");
    for img in images(&doc) {
        let r = &img["response"];
        let analyze = r["analyze"].as_object().unwrap();
        assert_eq!(
            analyze.keys().collect::<Vec<_>>(),
            [
                "metadata",
                "objectsResult",
                "peopleResult",
                "readResult",
                "tagsResult"
            ]
        );
        for f in r["detect"].as_array().unwrap() {
            let attrs = f["faceAttributes"].as_object().unwrap();
            // Only what Azure Face still returns; the retired ones are apart.
            assert_eq!(
                attrs.keys().collect::<Vec<_>>(),
                ["blur", "exposure", "headPose", "qualityForRecognition"],
                "{f}"
            );
            assert!(["low", "medium", "high"]
                .contains(&attrs["qualityForRecognition"].as_str().unwrap()));
            assert!(["underExposure", "goodExposure", "overExposure"]
                .contains(&attrs["exposure"]["exposureLevel"].as_str().unwrap()));
            assert_eq!(
                f["faceLandmarks"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .collect::<Vec<_>>(),
                [
                    "mouthLeft",
                    "mouthRight",
                    "noseTip",
                    "pupilLeft",
                    "pupilRight"
                ]
            );
        }
    }
    let grace = &entry(&doc, "grace_hopper.jpg")["response"];
    let retired = &grace["retired"];
    assert!(retired["note"]
        .as_str()
        .unwrap()
        .starts_with("retired by Microsoft; shown here because other services still return it"));
    let face = &retired["faces"][0];
    assert!(
        face["age"].is_number() && face["gender"].is_string(),
        "{face}"
    );
    let emotion = face["emotion"].as_object().unwrap();
    assert!(emotion.contains_key("happiness") && emotion.contains_key("neutral"));
    assert_eq!(face["faceRectangle"], grace["detect"][0]["faceRectangle"]);
    // A photo without faces has no retired block.
    assert!(entry(&doc, "dog.jpg")["response"].get("retired").is_none());
    let people = &entry(&doc, "person.jpg")["response"]["analyze"]["peopleResult"]["values"];
    assert!(!people.as_array().unwrap().is_empty());
}

#[test]
fn as_without_json_is_refused() {
    let o = common::onlooker()
        .args(["analyze", "--as", "aws", "--no-report"])
        .arg(common::sample("dog.jpg"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("--as shapes the --json document"),
        "{stderr}"
    );
}
