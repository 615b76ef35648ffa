//! Objects: the real YOLOX-Nano on the real samples, and the command line's
//! object fields and options.

mod common;
use common::load;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

use image::{imageops, Rgb, RgbImage};
use onlooker::geometry::BBox;
use onlooker::objects::{self, ObjectDetector, Tiling, DEFAULT_THRESHOLD, DEFAULT_TILING};
use onlooker::result::Object;
use onlooker::{runtime, Runtime};

/// One session for the whole file: tests take turns, each setting what it
/// needs, which keeps the file quick on a two-core machine.
fn detector() -> MutexGuard<'static, ObjectDetector> {
    static D: OnceLock<Mutex<ObjectDetector>> = OnceLock::new();
    let mut d = D
        .get_or_init(|| {
            let rt =
                Runtime::load(&runtime::default_models_dir()).expect("run `make models` first");
            Mutex::new(ObjectDetector::new(&rt, 1, DEFAULT_THRESHOLD).unwrap())
        })
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    d.threshold = DEFAULT_THRESHOLD;
    d.tiling = Some(DEFAULT_TILING);
    d
}

fn detect(img: &RgbImage) -> Vec<Object> {
    let found = detector().detect(img).unwrap();
    for o in &found {
        let b = o.bbox;
        assert!(
            b.x >= 0.0
                && b.y >= 0.0
                && b.w > 0.0
                && b.h > 0.0
                && b.right() <= img.width() as f32
                && b.bottom() <= img.height() as f32,
            "{o:?} outside {}x{}",
            img.width(),
            img.height()
        );
        assert!((DEFAULT_THRESHOLD..=1.0).contains(&o.score), "{o:?}");
        assert_eq!(objects::COCO_LABELS[o.class_id], o.label);
    }
    found
}

fn count_of(found: &[Object]) -> BTreeMap<&'static str, usize> {
    objects::counts(found).into_iter().collect()
}

fn only(found: &[Object], label: &str) -> BBox {
    let mut it = found.iter().filter(|o| o.label == label);
    let o = it
        .next()
        .unwrap_or_else(|| panic!("no {label} in {found:?}"));
    assert!(it.next().is_none(), "more than one {label}: {found:?}");
    o.bbox
}

#[test]
fn the_samples_show_what_is_in_them() {
    let dog = detect(&load("dog.jpg"));
    // Exactly these three: the dog is not also reported as a cat.
    assert_eq!(
        count_of(&dog),
        BTreeMap::from([("bicycle", 1), ("car", 1), ("dog", 1)]),
        "{dog:?}"
    );
    // The dog sits lower left, the car upper right.
    let (d, c) = (only(&dog, "dog"), only(&dog, "car"));
    assert!(d.x + d.w / 2.0 < 384.0 && d.y + d.h / 2.0 > 288.0, "{d:?}");
    assert!(c.x + c.w / 2.0 > 384.0 && c.y + c.h / 2.0 < 288.0, "{c:?}");

    let horses = count_of(&detect(&load("horses.jpg")));
    assert!(horses.get("horse").copied().unwrap_or(0) >= 3, "{horses:?}");
    assert!(!horses.contains_key("cow"), "{horses:?}");

    let astronaut = count_of(&detect(&load("astronaut.png")));
    assert_eq!(astronaut.get("person"), Some(&1), "{astronaut:?}");
    let coffee = count_of(&detect(&load("coffee.png")));
    assert_eq!(coffee.get("cup"), Some(&1), "{coffee:?}");
    assert!(!coffee.contains_key("person"), "{coffee:?}");
    let giraffe = count_of(&detect(&load("giraffe.jpg")));
    assert_eq!(giraffe.get("giraffe"), Some(&1), "{giraffe:?}");
}

#[test]
fn an_empty_image_shows_nothing() {
    for v in [0, 114, 128, 255] {
        let found = detect(&RgbImage::from_pixel(640, 480, Rgb([v, v, v])));
        assert!(found.is_empty(), "grey {v}: {found:?}");
    }
}

#[test]
fn tiny_and_thin_images_are_analysed_and_boxes_stay_inside() {
    for (w, h) in [(1, 1), (2, 3), (5, 300), (300, 5), (4000, 3)] {
        // `detect` checks every box lies inside the image.
        detect(&RgbImage::from_pixel(w, h, Rgb([90, 120, 60])));
    }
    let strip = imageops::crop_imm(&load("dog.jpg"), 0, 280, 768, 8).to_image();
    detect(&strip);
}

/// The letterbox mapping, checked with the model itself: the same photo
/// turned to portrait, and scaled up to a camera-sized image, gives the same
/// boxes in the new image's pixels.
#[test]
fn boxes_follow_the_photo_when_it_is_turned_or_enlarged() {
    let img = load("dog.jpg");
    let dog = only(&detect(&img), "dog");

    let turned = imageops::rotate90(&img);
    let t = only(&detect(&turned), "dog");
    // Rotating 90 degrees clockwise takes (x, y) to (H - y, x).
    let expect = BBox {
        x: img.height() as f32 - dog.bottom(),
        y: dog.x,
        w: dog.h,
        h: dog.w,
    };
    assert!(t.iou(&expect) > 0.8, "{t:?} vs {expect:?}");

    // Nearest: an exact 4x enlargement, and quick to make.
    let big = imageops::resize(&img, 768 * 4, 576 * 4, imageops::FilterType::Nearest);
    let found = detect(&big);
    assert_eq!(count_of(&found).len(), 3, "{found:?}");
    let b = only(&found, "dog");
    assert!(
        b.iou(&dog.scale(4.0)) > 0.8,
        "{b:?} vs {:?}",
        dog.scale(4.0)
    );
}

/// The 1927 Solvay photo: 29 people, 29 faces. At 416 px about half of the
/// people are found; the tiles find most of the rest, and never more
/// people than there are.
#[test]
fn tiles_count_the_people_in_a_group_photo() {
    let img = load("solvay_1927.jpg");
    let mut d = detector();
    d.tiling = None;
    let whole = count_of(&d.detect(&img).unwrap())["person"];
    d.tiling = Some(DEFAULT_TILING);
    let tiled = count_of(&d.detect(&img).unwrap())["person"];
    assert!(whole <= 20, "without tiles {whole}");
    assert!((25..=29).contains(&tiled), "with tiles {tiled}");
}

/// Tiles must not cut ordinary people into extra people: a row of the
/// samples' portraits (four people, each in a tile of their own or cut by
/// one) is counted the same with and without them.
#[test]
fn tiles_do_not_add_fragments_of_people() {
    let parts = [
        "grace_hopper.jpg",
        "astronaut.png",
        "newton.png",
        "gauss.png",
    ];
    let height = 900;
    let scaled: Vec<RgbImage> = parts
        .iter()
        .map(|p| {
            let i = load(p);
            let w = i.width() * height / i.height();
            imageops::resize(&i, w, height, imageops::FilterType::Triangle)
        })
        .collect();
    let mut row = RgbImage::from_pixel(
        scaled.iter().map(|i| i.width()).sum(),
        height,
        Rgb([128; 3]),
    );
    let mut x = 0;
    for i in &scaled {
        imageops::replace(&mut row, i, x, 0);
        x += i.width() as i64;
    }
    let mut d = detector();
    // Tiled whatever the count, so the test does not rest on the gate.
    d.tiling = Some(Tiling {
        min_people: 0,
        ..DEFAULT_TILING
    });
    assert!(!DEFAULT_TILING.tiles(row.width(), row.height()).is_empty());
    let tiled = count_of(&d.detect(&row).unwrap());
    d.tiling = None;
    let whole = count_of(&d.detect(&row).unwrap());
    assert_eq!(whole.get("person"), Some(&4), "{whole:?}");
    assert_eq!(tiled, whole);
}

fn onlooker(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = common::onlooker()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["analyze", "--no-report", "--threads", "2", "--json", "-"])
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

/// The scene line's objects, before what the tags say the picture looks
/// like (tests/tags.rs checks that part).
fn objects_part(scene: &serde_json::Value) -> &str {
    let line = scene.as_str().expect("the scene line is a string");
    line.split("; looks like ").next().unwrap_or(line)
}

#[test]
fn the_json_has_objects_people_counts_and_a_scene_line() {
    let (code, json, stderr) = onlooker(&[
        "--no-object-tiles",
        "samples/dog.jpg",
        "samples/solvay_1927.jpg",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let images = json["images"].as_array().unwrap();
    let dog = &images[0];
    assert_eq!(dog["people"], 0);
    assert_eq!(
        dog["object_counts"],
        serde_json::json!({"bicycle": 1, "car": 1, "dog": 1})
    );
    assert_eq!(objects_part(&dog["scene"]), "1 bicycle, 1 car, 1 dog");
    let first = &dog["objects"][0];
    assert_eq!(first["label"], "dog");
    assert_eq!(first["class_id"], 16);
    assert!(first["score"].as_f64().unwrap() > 0.5);
    let b: Vec<f64> = first["box"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(b.len(), 4);
    assert!(
        b[0] >= 0.0 && b[0] + b[2] <= 768.0 && b[1] + b[3] <= 576.0,
        "{b:?}"
    );

    // Without tiles, the crowd is undercounted, and the scene line says so.
    let solvay = &images[1];
    let people = solvay["people"].as_u64().unwrap();
    assert!((10..=20).contains(&people), "{people}");
    assert_eq!(objects_part(&solvay["scene"]), format!("{people} people"));
    assert_eq!(json["summary"]["people"], people);
}

#[test]
fn object_threshold_is_applied_and_checked() {
    let (code, json, stderr) = onlooker(&["--object-threshold", "0.9", "samples/dog.jpg"]);
    assert_eq!(code, Some(0), "{stderr}");
    let dog = &json["images"][0];
    assert_eq!(dog["objects"], serde_json::json!([]));
    assert_eq!(objects_part(&dog["scene"]), "no objects recognised");

    let (code, _, stderr) = onlooker(&["--object-threshold", "1.5", "samples/dog.jpg"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--object-threshold"), "{stderr}");
}
