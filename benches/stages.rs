//! Micro-benchmarks of the CPU stages around inference: decoding a file,
//! preparing each model's input (the tags crop included; with the resize
//! the pipeline used before, for comparison), and each decoder with its NMS
//! on synthetic outputs.
//! No model is needed. `cargo bench --bench stages`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use image::imageops::{self, FilterType};
use image::RgbImage;

use onlooker::face::{self, StrideOutputs};
use onlooker::imageio::{self, DecodeLimits};
use onlooker::objects;
use onlooker::preprocess;
use onlooker::tags;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name),
    )
    .unwrap()
}

fn decoded(name: &str) -> RgbImage {
    imageio::decode(sample(name), &DecodeLimits::default())
        .unwrap()
        .rgb
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for name in ["dog.jpg", "solvay_1927.jpg", "astronaut.png"] {
        let bytes = sample(name);
        g.bench_function(name, |b| {
            b.iter(|| imageio::decode(black_box(bytes.clone()), &DecodeLimits::default()).unwrap())
        });
    }
    g.finish();
}

fn preprocessing(c: &mut Criterion) {
    let mut g = c.benchmark_group("preprocess");
    for name in ["dog.jpg", "solvay_1927.jpg"] {
        let img = decoded(name);
        g.bench_function(format!("yunet_640/{name}"), |b| {
            b.iter(|| face::preprocess(black_box(&img), 640, 640))
        });
        // What the pipeline does: yunet_n_dynamic at the working size
        // (longer side 640..1920, padded to multiples of 32).
        let (ww, wh) = img.dimensions();
        let (wlb, iw, ih) =
            face::working_size(ww, wh, face::MIN_WORKING_SIDE, face::MAX_WORKING_SIDE);
        g.bench_function(format!("yunet_working_size/{name}"), |b| {
            b.iter(|| {
                let scaled = preprocess::resize(black_box(&img), wlb.resized_w, wlb.resized_h);
                face::to_input(&scaled, iw, ih)
            })
        });
        g.bench_function(format!("yolox_416/{name}"), |b| {
            b.iter(|| objects::preprocess(black_box(&img)))
        });
        // The tags classifier's centre crop, resized to 224 x 224.
        g.bench_function(format!("tags_224/{name}"), |b| {
            b.iter(|| tags::preprocess(black_box(&img)))
        });
        let (w, h) = img.dimensions();
        let lb = onlooker::geometry::Letterbox::fit(w, h, 640, 640);
        g.bench_function(format!("resize_640_fast/{name}"), |b| {
            b.iter(|| preprocess::resize(black_box(&img), lb.resized_w, lb.resized_h))
        });
        // The resize the pipeline used before fast_image_resize.
        g.bench_function(format!("resize_640_image_crate/{name}"), |b| {
            b.iter(|| {
                imageops::resize(
                    black_box(&img),
                    lb.resized_w,
                    lb.resized_h,
                    FilterType::Triangle,
                )
            })
        });
    }
    g.finish();
}

/// YuNet outputs for a 640x640 input with `n` confident faces, each seen by
/// a 3x3 block of neighbouring cells (the duplicates NMS removes).
fn yunet_outputs(n: usize) -> Vec<[Vec<f32>; 4]> {
    [8u32, 16, 32]
        .iter()
        .map(|&s| {
            let cols = (640 / s) as usize;
            let cells = cols * cols;
            let mut out = [
                vec![0.01; cells],
                vec![0.01; cells],
                vec![0.0; cells * 4],
                vec![0.0; cells * 10],
            ];
            if s == 16 {
                for f in 0..n {
                    let (r0, c0) = (3 + (f / 8) * 4, 3 + (f % 8) * 4);
                    for dr in 0..3 {
                        for dc in 0..3 {
                            let i = (r0 + dr) * cols + c0 + dc;
                            out[0][i] = 0.9;
                            out[1][i] = 0.95;
                            out[2][i * 4..i * 4 + 4].copy_from_slice(&[0.5, 0.5, 1.0, 1.2]);
                        }
                    }
                }
            }
            out
        })
        .collect()
}

/// YOLOX output [3549, 85] with `n` objects, each seen by 4 cells.
fn yolox_output(n: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; 3549 * 85];
    for row in out.chunks_exact_mut(85) {
        row[4] = 0.01;
    }
    for o in 0..n {
        for d in 0..4 {
            let cell = o * 20 + d;
            let r = &mut out[cell * 85..cell * 85 + 85];
            r[..4].copy_from_slice(&[0.5, 0.5, 1.5, 1.5]);
            r[4] = 0.9;
            r[5 + o % 80] = 0.8;
        }
    }
    out
}

fn decoders(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode_nms");
    let y = yunet_outputs(30);
    g.bench_function("yunet_30_faces", |b| {
        b.iter(|| {
            let strides: Vec<StrideOutputs> = y
                .iter()
                .zip([8, 16, 32])
                .map(|(o, stride)| StrideOutputs {
                    stride,
                    cls: &o[0],
                    obj: &o[1],
                    bbox: &o[2],
                    kps: &o[3],
                })
                .collect();
            face::suppress(face::decode(black_box(&strides), 640, 640, 0.6))
        })
    });
    let out = yolox_output(100);
    g.bench_function("yolox_100_objects", |b| {
        b.iter(|| objects::suppress(objects::decode(black_box(&out), 416, 416, 0.3)))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = decode, preprocessing, decoders
}
criterion_main!(benches);
