//! Measures how ways of covering a large photo with YuNet trade recall for
//! time: the numbers behind the face detector's working size (see
//! ARCHITECTURE.md, "Faces").
//!
//! `cargo run --release --example face_scan` (about 10 minutes on one core)
//!
//! Truth is the 29 faces of the 1927 Solvay photo, in: the native photo
//! (3000 px wide); the photo upscaled to 6000 px; mosaics of k x k copies
//! 6000 px wide (each face 2/k of its native size, 29·k² faces), standing in
//! for crowd photos; and the photo downscaled to 960..320 px (faces of
//! 25..9 px). Time is the CPU time of the best of three runs (the machine
//! is shared, so wall time is noisy), including the resize.

use std::path::Path;

use image::imageops::{self, FilterType};
use image::RgbImage;
use onlooker::face::{
    ceil32, preprocess, suppress, to_input, unmap, working_size, FaceDetector, DEFAULT_THRESHOLD,
    FIXED_INPUT,
};
use onlooker::geometry::{BBox, Letterbox};
use onlooker::imageio::{self, DecodeLimits};
use onlooker::preprocess::resize;
use onlooker::result::Face;
use onlooker::Runtime;

/// CPU time used by this process so far (all threads), from the kernel's
/// per-thread scheduler statistics.
fn cpu_seconds() -> f64 {
    let mut ns: u64 = 0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for t in dir.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
                ns += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
            }
        }
    }
    ns as f64 / 1e9
}

fn load(name: &str) -> RgbImage {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    imageio::load(&p, &DecodeLimits::default()).unwrap().rgb
}

#[derive(Clone, Copy)]
enum Scan {
    /// The fixed 640 x 640 model, letterboxed.
    Fixed640,
    /// The dynamic model, longer side scaled to `min..=max`.
    LongSide { min: u32, max: u32 },
    /// The dynamic model at onlooker's working size.
    Onlooker,
    /// `tile` x `tile` tiles overlapping by `overlap` of the image scaled
    /// to a longer side of at most `max`, plus a whole-image pass at 640
    /// for faces larger than the overlap; merged by NMS.
    Tiles { tile: u32, overlap: u32, max: u32 },
}

fn letterbox(w: u32, h: u32, scale: f32) -> (Letterbox, u32, u32) {
    let rw = ((w as f32 * scale).round() as u32).max(1);
    let rh = ((h as f32 * scale).round() as u32).max(1);
    let lb = Letterbox {
        scale,
        resized_w: rw,
        resized_h: rh,
    };
    (lb, ceil32(rw), ceil32(rh))
}

fn whole(det: &mut FaceDetector, img: &RgbImage, lb: Letterbox, iw: u32, ih: u32) -> Vec<Face> {
    let (w, h) = img.dimensions();
    let scaled = resize(img, lb.resized_w, lb.resized_h);
    let faces = det.infer(&to_input(&scaled, iw, ih)).unwrap();
    faces
        .iter()
        .map(|f| unmap(f, &lb, 0.0, 0.0, w, h))
        .collect()
}

fn tiles(det: &mut FaceDetector, img: &RgbImage, tile: u32, overlap: u32, max: u32) -> Vec<Face> {
    let (w, h) = img.dimensions();
    let long = w.max(h) as f32;
    let (lb, iw, ih) = letterbox(w, h, FIXED_INPUT as f32 / long);
    let mut all = whole(det, img, lb, iw, ih);
    let (lb, _, _) = letterbox(w, h, (max as f32 / long).min(1.0));
    let (sw, sh) = (lb.resized_w, lb.resized_h);
    let scaled = resize(img, sw, sh);
    let starts = |len: u32| -> Vec<u32> {
        if len <= tile {
            return vec![0];
        }
        let mut v: Vec<u32> = (0..)
            .map(|i| i * (tile - overlap))
            .take_while(|&x| x + tile < len)
            .collect();
        v.push(len - tile);
        v
    };
    for &ty in &starts(sh) {
        for &tx in &starts(sw) {
            let (tw, th) = (tile.min(sw - tx), tile.min(sh - ty));
            let crop = imageops::crop_imm(&scaled, tx, ty, tw, th).to_image();
            for f in det.infer(&to_input(&crop, ceil32(tw), ceil32(th))).unwrap() {
                // A face cut by an inner tile edge is whole in the next tile.
                let b = f.bbox;
                let cut = (tx > 0 && b.x < 2.0)
                    || (ty > 0 && b.y < 2.0)
                    || (tx + tw < sw && b.right() > tw as f32 - 2.0)
                    || (ty + th < sh && b.bottom() > th as f32 - 2.0);
                if !cut {
                    all.push(unmap(&f, &lb, tx as f32, ty as f32, w, h));
                }
            }
        }
    }
    all
}

fn run(det: &mut FaceDetector, scan: Scan, img: &RgbImage) -> Vec<Face> {
    let (w, h) = img.dimensions();
    let faces = match scan {
        Scan::Fixed640 => {
            let (input, lb) = preprocess(img, FIXED_INPUT, FIXED_INPUT);
            let faces = det.infer(&input).unwrap();
            faces
                .iter()
                .map(|f| unmap(f, &lb, 0.0, 0.0, w, h))
                .collect()
        }
        Scan::LongSide { min, max } => {
            let long = w.max(h) as f32;
            let (lb, iw, ih) = letterbox(w, h, long.clamp(min as f32, max as f32) / long);
            whole(det, img, lb, iw, ih)
        }
        Scan::Onlooker => {
            let (lb, iw, ih) = working_size(w, h, det.min_side, det.max_side);
            whole(det, img, lb, iw, ih)
        }
        Scan::Tiles { tile, overlap, max } => tiles(det, img, tile, overlap, max),
    };
    suppress(faces)
}

/// Matches detections to truth one-to-one (greedy by IoU >= 0.5).
fn matched(truth: &[BBox], found: &[BBox]) -> (usize, usize) {
    let mut used = vec![false; found.len()];
    let mut hits = 0;
    for t in truth {
        let best = found
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(i, f)| (i, t.iou(f)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, iou)) = best {
            if iou >= 0.5 {
                used[i] = true;
                hits += 1;
            }
        }
    }
    (hits, found.len() - hits)
}

fn mosaic(img: &RgbImage, k: u32, width: u32) -> (RgbImage, f32) {
    let cw = width / k;
    let scale = cw as f32 / img.width() as f32;
    let ch = (img.height() as f32 * scale).round() as u32;
    let cell = imageops::resize(img, cw, ch, FilterType::Triangle);
    let mut out = RgbImage::new(cw * k, ch * k);
    for i in 0..k {
        for j in 0..k {
            imageops::replace(&mut out, &cell, (i * cw) as i64, (j * ch) as i64);
        }
    }
    (out, scale)
}

fn main() {
    let rt = Runtime::from_env().unwrap();
    let mut fixed = FaceDetector::with_model(
        &rt,
        onlooker::manifest::ModelId::Yunet,
        1,
        DEFAULT_THRESHOLD,
    )
    .unwrap();
    let mut dynamic = FaceDetector::new(&rt, 1, DEFAULT_THRESHOLD).unwrap();
    let solvay = load("solvay_1927.jpg");
    // The fixed model's 29 faces, checked by eye: one per person, nothing
    // else. Full resolution is no better truth: there YuNet also takes two
    // patches of the background for faces.
    let truth: Vec<BBox> = run(&mut fixed, Scan::Fixed640, &solvay)
        .iter()
        .map(|f| f.bbox)
        .collect();
    assert_eq!(truth.len(), 29);

    let mut cases: Vec<(String, RgbImage, Vec<BBox>)> = Vec::new();
    let scaled = |s: f32| truth.iter().map(|b| b.scale(s)).collect::<Vec<_>>();
    cases.push(("Solvay 3000".into(), solvay.clone(), truth.clone()));
    let up = imageops::resize(&solvay, 6000, 4342, FilterType::CatmullRom);
    cases.push(("Solvay 6000".into(), up, scaled(2.0)));
    for k in [2, 3, 4] {
        let (m, s) = mosaic(&solvay, k, 6000);
        let (cw, ch) = (m.width() / k, m.height() / k);
        let mut t = Vec::new();
        for i in 0..k {
            for j in 0..k {
                t.extend(
                    truth
                        .iter()
                        .map(|b| b.scale(s).translate((i * cw) as f32, (j * ch) as f32)),
                );
            }
        }
        cases.push((format!("mosaic {k}x{k}"), m, t));
    }
    for width in [960, 480, 320] {
        let s = width as f32 / solvay.width() as f32;
        let h = (solvay.height() as f32 * s).round() as u32;
        let small = imageops::resize(&solvay, width, h, FilterType::Triangle);
        cases.push((format!("Solvay {width}"), small, scaled(s)));
    }
    let mut singles: Vec<RgbImage> = [
        "astronaut.png",
        "grace_hopper.jpg",
        "newton.png",
        "gauss.png",
    ]
    .iter()
    .map(|n| load(n))
    .collect();
    // A thumbnail that is nearly all face: does scaling it up hurt?
    let b = run(&mut fixed, Scan::Fixed640, &singles[0])[0].bbox;
    let side = b.w.max(b.h) * 1.3;
    let x0 = (b.x + b.w / 2.0 - side / 2.0).max(0.0) as u32;
    let y0 = (b.y + b.h / 2.0 - side / 2.0).max(0.0) as u32;
    let crop = imageops::crop_imm(&singles[0], x0, y0, side as u32, side as u32).to_image();
    singles.push(imageops::resize(&crop, 96, 96, FilterType::Triangle));
    let others = ["coffee.png", "chelsea.png", "dog.jpg", "person.jpg"];

    let scans = [
        ("fixed 640x640", Scan::Fixed640),
        (
            "long side 1280",
            Scan::LongSide {
                min: 640,
                max: 1280,
            },
        ),
        (
            "long side 1920",
            Scan::LongSide {
                min: 640,
                max: 1920,
            },
        ),
        (
            "long side <=1920, no upscaling",
            Scan::LongSide { min: 32, max: 1920 },
        ),
        (
            "long side 2560",
            Scan::LongSide {
                min: 640,
                max: 2560,
            },
        ),
        (
            "long side 3840",
            Scan::LongSide {
                min: 640,
                max: 3840,
            },
        ),
        ("onlooker: long side 640..=1920", Scan::Onlooker),
        (
            "tiles 640/160 of <=1920 + 640 pass",
            Scan::Tiles {
                tile: 640,
                overlap: 160,
                max: 1920,
            },
        ),
        (
            "tiles 640/160 of <=3840 + 640 pass",
            Scan::Tiles {
                tile: 640,
                overlap: 160,
                max: 3840,
            },
        ),
    ];
    print!("| scan |");
    for (n, img, t) in &cases {
        print!(
            " {n} ({}x{}, {} faces) |",
            img.width(),
            img.height(),
            t.len()
        );
    }
    println!(" singles: astronaut, Hopper, Newton, Gauss, 96 px thumb | coffee, chelsea (cat), dog, person |");
    println!("|---|{}---|---|", "---|".repeat(cases.len()));
    for (name, scan) in scans {
        let det = if matches!(scan, Scan::Fixed640) {
            &mut fixed
        } else {
            &mut dynamic
        };
        print!("| {name} |");
        for (_, img, t) in &cases {
            run(det, scan, img); // warm-up
            let mut best = f64::MAX;
            let mut faces = Vec::new();
            for _ in 0..3 {
                let cpu = cpu_seconds();
                faces = run(det, scan, img);
                best = best.min(cpu_seconds() - cpu);
            }
            let boxes: Vec<BBox> = faces.iter().map(|f| f.bbox).collect();
            let (hits, extra) = matched(t, &boxes);
            print!(" {hits} +{extra}, {:.0} ms |", best * 1000.0);
        }
        let count = |imgs: &mut dyn Iterator<Item = RgbImage>, det: &mut FaceDetector| {
            imgs.map(|i| run(det, scan, &i).len().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let s = count(&mut singles.iter().cloned(), det);
        let o = count(&mut others.iter().map(|n| load(n)), det);
        println!(" {s} | {o} |");
    }
}
