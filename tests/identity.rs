//! Re-identification with the real detector and identity model on the real
//! samples: a face and a turned, shrunk copy of it are one person, different
//! people are not, the gate refuses faces too small to trust, and the
//! clustering and `find` agree with that.

mod common;
use common::load;

use image::RgbImage;
use onlooker::align::{self, Similarity};
use onlooker::face::{FaceDetector, DEFAULT_THRESHOLD};
use onlooker::identity::cluster::{cluster, FaceRecord};
use onlooker::identity::{
    self, find, Embedder, Embedding, Unreliable, Verdict, CLUSTER_THRESHOLD, POSSIBLE, VERY_LIKELY,
};
use onlooker::manifest::Manifest;
use onlooker::result::Face;
use onlooker::{runtime, Runtime};

fn rt() -> Runtime {
    Runtime::load(&runtime::default_models_dir()).expect("run `make models` first")
}

/// The one face the detector finds (with its quality measures).
fn one_face(det: &mut FaceDetector, img: &RgbImage, what: &str) -> Face {
    let faces = det.detect(img).unwrap();
    assert_eq!(faces.len(), 1, "{what}: {faces:?}");
    faces.into_iter().next().unwrap()
}

fn embed(det: &mut FaceDetector, emb: &mut Embedder, img: &RgbImage, what: &str) -> Embedding {
    let f = one_face(det, img, what);
    emb.embed_face(img, &f)
        .unwrap()
        .unwrap_or_else(|why| panic!("{what}: no identity: {why}"))
}

/// `img` turned by `degrees` and scaled by `scale` about its centre, on a
/// canvas of the same size (black outside).
fn turned(img: &RgbImage, degrees: f32, scale: f32) -> RgbImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (s, c) = degrees.to_radians().sin_cos();
    let (a, b) = (scale * c, scale * s);
    // Keep the centre in place: centre = M centre + t.
    let (cx, cy) = (w / 2.0, h / 2.0);
    let t = Similarity {
        a,
        b,
        tx: cx - (a * cx - b * cy),
        ty: cy - (b * cx + a * cy),
    };
    align::warp(img, &t, img.width(), img.height())
}

struct Models {
    det: FaceDetector,
    emb: Embedder,
}

fn models() -> Models {
    let rt = rt();
    Models {
        det: FaceDetector::new(&rt, 1, DEFAULT_THRESHOLD).unwrap(),
        emb: Embedder::new(&rt, 1).unwrap(),
    }
}

#[test]
fn the_same_face_turned_and_shrunk_is_closer_than_any_two_people() {
    let mut m = models();
    let names = [
        "grace_hopper.jpg",
        "astronaut.png",
        "newton.png",
        "gauss.png",
    ];
    let people: Vec<Embedding> = names
        .iter()
        .map(|n| embed(&mut m.det, &mut m.emb, &load(n), n))
        .collect();
    let copy = turned(&load("grace_hopper.jpg"), 20.0, 0.6);
    let grace_copy = embed(&mut m.det, &mut m.emb, &copy, "grace_hopper turned");

    let same = people[0].similarity(&grace_copy);
    let mut strangers = Vec::new();
    for i in 0..people.len() {
        for j in i + 1..people.len() {
            strangers.push((names[i], names[j], people[i].similarity(&people[j])));
        }
        if i > 0 {
            strangers.push((names[i], "grace copy", people[i].similarity(&grace_copy)));
        }
    }
    eprintln!("same face turned 20 degrees, scaled 0.6: {same:.3}; strangers: {strangers:?}");
    assert!(same >= VERY_LIKELY, "{same}");
    for (a, b, s) in &strangers {
        assert!(*s < POSSIBLE, "{a} / {b}: {s}");
        assert!(*s < same, "{a} / {b}: {s}");
    }

    // find: the copy is the only match, and "very likely".
    let mut candidates = people[1..].to_vec();
    candidates.push(grace_copy.clone());
    let matches = find(&people[0], &candidates);
    assert_eq!(matches.len(), 1, "{matches:?}");
    assert_eq!(matches[0].index, candidates.len() - 1);
    assert_eq!(matches[0].verdict, Verdict::VeryLikely);

    // Clustering the real embeddings: the two Grace Hoppers are one person,
    // ids by first appearance.
    let records: Vec<FaceRecord> = [&people[1], &people[0], &people[2], &grace_copy, &people[3]]
        .iter()
        .enumerate()
        .map(|(i, e)| FaceRecord {
            embedding: e.0,
            image: i,
            face: 0,
        })
        .collect();
    assert_eq!(cluster(&records, CLUSTER_THRESHOLD), [1, 2, 3, 2, 4]);
}

#[test]
fn flip_augmentation_is_symmetric_and_close_to_the_plain_embedding() {
    let mut m = models();
    let img = load("astronaut.png");
    let f = one_face(&mut m.det, &img, "astronaut");
    let crop = align::arcface_crop(&img, &f.landmarks).unwrap();
    let mirrored = image::imageops::flip_horizontal(&crop);

    let plain = m.emb.embed_crop(&crop).unwrap();
    let plain_mirrored = m.emb.embed_crop(&mirrored).unwrap();
    m.emb.set_flip(true);
    let flip = m.emb.embed_crop(&crop).unwrap();
    let flip_mirrored = m.emb.embed_crop(&mirrored).unwrap();
    // Crop + mirror and mirror + crop are the same two inputs.
    assert!(flip.similarity(&flip_mirrored) > 0.9999);
    // A mirror image is not the same input, yet the same person.
    let s = plain.similarity(&plain_mirrored);
    assert!(s < 0.999 && s > VERY_LIKELY, "{s}");
    assert!(flip.similarity(&plain) > s, "the sum lies between the two");
}

#[test]
fn faces_too_small_to_trust_get_no_identity_and_say_why() {
    let mut m = models();
    let img = load("grace_hopper.jpg");
    let f = one_face(&mut m.det, &img, "grace_hopper");
    // Shrink the photo until the face is just under the gate's minimum.
    let gate = m.emb.gate();
    let scale = (gate.min_size_px as f32 - 3.0) / f.size_px as f32;
    let small = image::imageops::resize(
        &img,
        (img.width() as f32 * scale).round() as u32,
        (img.height() as f32 * scale).round() as u32,
        image::imageops::FilterType::Triangle,
    );
    // Shrunk that far the detector also reports a speck (7 px) at the
    // image edge: the face is the largest detection.
    let sf = m
        .det
        .detect(&small)
        .unwrap()
        .into_iter()
        .max_by_key(|f| f.size_px)
        .expect("grace_hopper small: no face");
    assert!(sf.size_px < gate.min_size_px, "{}", sf.size_px);
    match m.emb.embed_face(&small, &sf).unwrap() {
        Err(Unreliable::TooSmall { value, limit }) => {
            assert_eq!((value, limit), (sf.size_px, gate.min_size_px));
        }
        other => panic!("{other:?}"),
    }
    // A crop of the wrong size is an error, not a panic.
    assert!(m.emb.embed_crop(&RgbImage::new(50, 50)).is_err());
}

#[test]
fn the_identity_model_is_in_the_manifest_with_its_data_caveat() {
    let m = Manifest::builtin();
    let e = m.model(identity::MODEL).unwrap();
    assert_eq!(e.file, "mobilefacenet.onnx");
    assert_eq!(e.licence, "Apache-2.0");
    assert!(e.source.contains("research-only"), "{}", e.source);
    assert!(rt().model_path(identity::MODEL).is_ok());
}

// ---- the whole pipeline on samples/people ----

fn people_dir() -> std::path::PathBuf {
    common::sample("people")
}

/// `onlooker analyze ARGS --json - --quiet`, the document parsed.
fn analyze_json(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let o = common::onlooker()
        .arg("analyze")
        .args(args)
        .args(["--json", "-", "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let x0 = a[0].max(b[0]);
    let y0 = a[1].max(b[1]);
    let x1 = (a[0] + a[2]).min(b[0] + b[2]);
    let y1 = (a[1] + a[3]).min(b[1] + b[3]);
    let i = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    i / (a[2] * a[3] + b[2] * b[3] - i)
}

/// (file, person name, box) for every named face of `labels.tsv`.
fn labels() -> Vec<(String, String, [f64; 4])> {
    let text = std::fs::read_to_string(people_dir().join("labels.tsv")).unwrap();
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let names = cols[1].split(", ");
        let boxes = cols[5].split(" ; ");
        for (name, b) in names.zip(boxes) {
            let v: Vec<f64> = b.split(',').map(|v| v.trim().parse().unwrap()).collect();
            out.push((
                cols[0].to_string(),
                name.to_string(),
                [v[0], v[1], v[2], v[3]],
            ));
        }
    }
    out
}

/// The person id of the face of `doc` that best overlaps each labelled box.
fn labelled_ids(doc: &serde_json::Value) -> Vec<(String, Option<u64>)> {
    let images = doc["images"].as_array().unwrap();
    labels()
        .into_iter()
        .map(|(file, name, b)| {
            let img = images
                .iter()
                .find(|i| i["path"].as_str().unwrap().ends_with(&file))
                .unwrap_or_else(|| panic!("{file} not analysed"));
            let (best, overlap) = img["faces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let v: Vec<f64> = f["box"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_f64().unwrap())
                        .collect();
                    (f, iou(b, [v[0], v[1], v[2], v[3]]))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or_else(|| panic!("{file}: no face"));
            assert!(overlap > 0.5, "{file} {name}: best IoU {overlap}");
            (name, best["person"].as_u64())
        })
        .collect()
}

#[test]
fn each_labelled_person_gets_one_id_and_no_id_spans_two_people() {
    let doc = analyze_json(&[people_dir().as_os_str(), "--threads".as_ref(), "2".as_ref()]);
    let ids = labelled_ids(&doc);
    assert_eq!(ids.len(), 10, "{ids:?}");
    let mut by_name: std::collections::BTreeMap<&str, std::collections::BTreeSet<u64>> =
        Default::default();
    for (name, id) in &ids {
        let id = id.unwrap_or_else(|| panic!("{name}: a labelled face got no person id"));
        by_name.entry(name).or_default().insert(id);
    }
    assert_eq!(by_name.len(), 4, "{by_name:?}");
    let mut seen = std::collections::BTreeSet::new();
    for (name, set) in &by_name {
        assert_eq!(set.len(), 1, "{name} split over {set:?}");
        assert!(
            seen.insert(*set.first().unwrap()),
            "{name}'s id is shared: {by_name:?}"
        );
    }
    // summary.persons agrees: Obama's person is in his 4 photos.
    let obama = *by_name["Barack Obama"].first().unwrap();
    let persons = doc["summary"]["persons"].as_array().unwrap();
    let p = persons.iter().find(|p| p["id"] == obama).unwrap();
    assert_eq!(p["images"].as_array().unwrap().len(), 4, "{p}");
    let sentences = doc["summary"]["findings"]["sentences"].as_array().unwrap();
    let wanted = format!("Person {obama} appears in 4 photos");
    assert!(
        sentences
            .iter()
            .any(|s| s["text"].as_str().unwrap().starts_with(&wanted)),
        "{sentences:?}"
    );
    // Ids are numbered by first appearance: the first id seen is 1, and
    // each new id is the next number.
    let mut next = 1;
    for img in doc["images"].as_array().unwrap() {
        for f in img["faces"].as_array().unwrap() {
            if let Some(id) = f["person"].as_u64() {
                assert!(id <= next, "id {id} before {next}");
                if id == next {
                    next += 1;
                }
            } else {
                assert!(f["no_identity"]["reason"].is_string(), "{f}");
            }
        }
    }
    // Biometric data stays in memory unless asked for.
    assert!(!doc.to_string().contains("embedding"));
}

#[test]
fn person_ids_do_not_depend_on_the_thread_count() {
    let ids = |threads: &str| {
        let doc = analyze_json(&[
            people_dir().as_os_str(),
            "--threads".as_ref(),
            threads.as_ref(),
        ]);
        let faces: Vec<serde_json::Value> = doc["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                i["faces"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["person"].clone())
                    .collect()
            })
            .collect();
        (faces, doc["summary"]["persons"].clone())
    };
    let one = ids("1");
    assert!(one.1.as_array().unwrap().len() >= 4, "{:?}", one.1);
    assert_eq!(one, ids("2"));
}

#[test]
fn no_identity_leaves_person_out_and_does_not_load_the_model() {
    // A models folder without the identity model: analysis works only when
    // the model is not needed.
    let d = tempfile::tempdir().unwrap();
    let models = d.path().join("models");
    std::fs::create_dir(&models).unwrap();
    let file = Manifest::builtin()
        .model(identity::MODEL)
        .unwrap()
        .file
        .clone();
    for e in std::fs::read_dir(runtime::default_models_dir()).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy() != file {
            std::os::unix::fs::symlink(e.path(), models.join(e.file_name())).unwrap();
        }
    }
    let photo = common::sample("people/obama_portrait_2012.jpg");
    let doc = analyze_json(&[
        photo.as_os_str(),
        "--models".as_ref(),
        models.as_os_str(),
        "--no-identity".as_ref(),
    ]);
    let face = &doc["images"][0]["faces"][0];
    assert!(face["box"].is_array(), "{doc}");
    assert!(face.get("person").is_none(), "{face}");
    assert!(face.get("no_identity").is_none(), "{face}");
    assert!(doc["summary"].get("persons").is_none());
    // Without --no-identity the same folder is refused: the model is needed.
    let o = common::onlooker()
        .arg("analyze")
        .arg(&photo)
        .arg("--models")
        .arg(&models)
        .args(["--json", "-", "--quiet"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&file),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_report_has_a_people_section_person_labels_and_a_csv_column() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("report");
    let o = common::onlooker()
        .arg("analyze")
        .arg(people_dir())
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let persons = doc["summary"]["persons"].as_array().unwrap();
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("<h2 id=\"people-h\">People</h2>"));
    for p in persons {
        let id = p["id"].as_u64().unwrap();
        assert!(page.contains(&format!("<li id=\"person-{id}\"><strong>P{id}</strong>")));
    }
    // The face table names each face's person first in what the models
    // think.
    assert!(page.contains("<td>P1 · "), "person cell");
    // A contact sheet per person: each thumbnail is a small JPEG in faces/,
    // cut from that person's face. People seen in two photos or more come
    // first; the rest are collapsed.
    let people = page.find("<h2 id=\"people-h\">").unwrap();
    let details = people
        + page[people..]
            .find("<details>")
            .expect("people seen once are collapsed");
    for p in persons {
        let id = p["id"].as_u64().unwrap();
        let at = page.find(&format!("<li id=\"person-{id}\">")).unwrap();
        let repeated = p["images"].as_array().unwrap().len() >= 2;
        assert_eq!(at < details, repeated, "P{id}");
        let faces = p["faces"].as_u64().unwrap();
        for k in 1..=faces.min(12) {
            let src = format!("faces/p{id}-{k}.jpg");
            assert!(page.contains(&format!("<img src=\"{src}\"")), "{src}");
            let thumb = image::open(out.join(&src)).unwrap();
            assert_eq!(thumb.width().max(thumb.height()), 160, "{src}");
        }
    }
    // The same run again replaces the report, thumbnails included.
    let again = common::onlooker()
        .arg("analyze")
        .arg(people_dir())
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // The CSV's person column agrees with the JSON, face by face.
    let mut rdr = csv::Reader::from_path(out.join("detections.csv")).unwrap();
    let col = rdr
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "person")
        .unwrap();
    let from_csv: Vec<String> = rdr
        .records()
        .map(Result::unwrap)
        .filter(|r| &r[1] == "face")
        .map(|r| r[col].to_string())
        .collect();
    let from_json: Vec<String> = doc["images"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["faces"].as_array().unwrap().clone())
        .map(|f| {
            f["person"]
                .as_u64()
                .map_or(String::new(), |p| p.to_string())
        })
        .collect();
    assert_eq!(from_csv, from_json);
    assert!(from_csv.iter().filter(|p| !p.is_empty()).count() >= 10);
}

#[test]
fn the_cat_face_gets_no_identity_and_real_faces_keep_theirs() {
    // Before the not-a-person rule the cat's face shared a person id with a
    // child in obama_iss_call_2010.jpg.
    let cat = common::sample("chelsea.png");
    let call = common::sample("people/obama_iss_call_2010.jpg");
    let doc = analyze_json(&[cat.as_os_str(), call.as_os_str()]);
    let cat_faces = doc["images"][0]["faces"].as_array().unwrap();
    assert_eq!(cat_faces.len(), 1, "{doc}");
    assert_eq!(cat_faces[0]["person"], serde_json::Value::Null);
    assert_eq!(
        cat_faces[0]["no_identity"],
        serde_json::json!({"reason": "not_a_person", "label": "cat"})
    );
    // Every face of the photo of people keeps its own id.
    let ids: Vec<u64> = doc["images"][1]["faces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["person"].as_u64().unwrap_or_else(|| panic!("{f}")))
        .collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
}

#[test]
fn the_expression_crop_shared_with_identity_gives_the_same_embedding() {
    use onlooker::attributes::AttributeOptions;
    use onlooker::{Analyzer, Options};
    let rt = rt();
    let with = |attributes| {
        let mut a = Analyzer::new(
            &rt,
            Options {
                attributes,
                text: false,
                ..Options::default()
            },
        )
        .unwrap();
        a.analyze_path(&common::sample("people/obama_iss_call_2010.jpg"))
    };
    // Expression on: the identity model reads the expression model's crop;
    // attributes off: it cuts its own.
    let shared = with(AttributeOptions::ALL);
    let own = with(AttributeOptions::NONE);
    assert!(shared.faces[0].attributes.expression.is_some());
    let e = |r: &onlooker::ImageResult| -> Vec<Option<Embedding>> {
        r.faces.iter().map(|f| f.embedding.clone()).collect()
    };
    assert_eq!(shared.faces.len(), 7);
    assert!(e(&shared).iter().all(Option::is_some));
    // Bit for bit.
    assert_eq!(e(&shared), e(&own));
}

#[test]
fn embeddings_are_written_only_when_asked_and_only_into_json_and_jsonl() {
    let photo = common::sample("people/obama_biden_blueroom_2010.jpg");
    let d = tempfile::tempdir().unwrap();
    let run = |extra: &[&std::ffi::OsStr]| {
        common::onlooker()
            .arg("analyze")
            .arg(&photo)
            .args(extra)
            .arg("--quiet")
            .output()
            .unwrap()
    };
    // Without --json or --jsonl it is refused: there is nowhere to put them.
    let o = run(&["--embeddings".as_ref()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--embeddings"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Asked for: 128 unit-length numbers per embedded face, in both the
    // document and the lines; the report folder still holds none.
    let (json, jsonl, out) = (
        d.path().join("a.json"),
        d.path().join("a.jsonl"),
        d.path().join("report"),
    );
    let o = run(&[
        "--embeddings".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
        "--jsonl".as_ref(),
        jsonl.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = common::document_file(&json);
    let line = common::jsonl_record(std::fs::read_to_string(&jsonl).unwrap().trim());
    for faces in [&doc["images"][0]["faces"], &line["faces"]] {
        let faces = faces.as_array().unwrap();
        assert_eq!(faces.len(), 2);
        for f in faces {
            let e: Vec<f64> = f["embedding"]
                .as_array()
                .unwrap_or_else(|| panic!("{f}"))
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(e.len(), identity::DIM);
            let norm: f64 = e.iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-3, "{norm}");
        }
    }
    let files_with_embeddings = |dir: &std::path::Path| -> Vec<String> {
        walk(dir)
            .into_iter()
            .filter(|p| {
                std::fs::read(p)
                    .map(|b| String::from_utf8_lossy(&b).contains("embedding"))
                    .unwrap_or(false)
            })
            .map(|p| p.display().to_string())
            .collect()
    };
    assert!(files_with_embeddings(&out).is_empty());

    // Not asked for: no output file holds one.
    let d = tempfile::tempdir().unwrap();
    let (json, jsonl, out) = (
        d.path().join("a.json"),
        d.path().join("a.jsonl"),
        d.path().join("report"),
    );
    let o = run(&[
        "--json".as_ref(),
        json.as_os_str(),
        "--jsonl".as_ref(),
        jsonl.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(walk(d.path()).len() > 4, "{:?}", walk(d.path()));
    assert_eq!(files_with_embeddings(d.path()), Vec::<String>::new());
    let doc = common::document_file(&json);
    assert!(doc["images"][0]["faces"][0]["person"].is_u64());
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
