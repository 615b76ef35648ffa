//! Re-identification with the real detector and identity model on the real
//! samples: a face and a turned, shrunk copy of it are one person, different
//! people are not, the gate refuses faces too small to trust, and the
//! clustering and `find` agree with that.

mod common;
use common::load;

use image::RgbImage;
use onlooker::align::{self, Similarity};
use onlooker::face::{Face, FaceDetector, DEFAULT_THRESHOLD};
use onlooker::identity::cluster::{cluster, FaceRecord};
use onlooker::identity::{
    self, find, Embedder, Embedding, Unreliable, Verdict, CLUSTER_THRESHOLD, POSSIBLE, VERY_LIKELY,
};
use onlooker::manifest::Manifest;
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
    let sf = one_face(&mut m.det, &small, "grace_hopper small");
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
