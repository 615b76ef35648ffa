//! Added time per face of the attribute models (alignment included), on the
//! real models: one face (astronaut) and a crowd (Solvay, 29 faces, batched
//! for age and gender). Criterion reports time per face as its throughput
//! ("elements" = faces). Run with `cargo bench --bench attributes`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use onlooker::align;
use onlooker::attributes::{AttributeModels, AttributeOptions, AttributeTimes};
use onlooker::face::FaceDetector;
use onlooker::result::Landmarks;
use onlooker::{runtime, Runtime};

fn load(name: &str) -> (image::RgbImage, Vec<Landmarks>, Runtime) {
    let rt = Runtime::load(&runtime::default_models_dir()).expect("run `make models` first");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    let img = onlooker::imageio::load(&path, &Default::default())
        .expect("sample decodes")
        .rgb;
    let mut det = FaceDetector::new(&rt, 1, onlooker::face::DEFAULT_THRESHOLD).unwrap();
    let lms = det
        .detect(&img)
        .unwrap()
        .iter()
        .map(|f| f.landmarks)
        .collect();
    (img, lms, rt)
}

fn per_face(c: &mut Criterion) {
    let only = |age, gender, expression| AttributeOptions {
        age,
        gender,
        expression,
    };
    let configs = [
        ("all", AttributeOptions::ALL),
        ("age", only(true, false, false)),
        ("gender", only(false, true, false)),
        ("expression", only(false, false, true)),
    ];
    for sample in ["astronaut.png", "solvay_1927.jpg"] {
        let (img, lms, rt) = load(sample);
        // Where the time goes, from the library's own stage timers.
        let mut m = AttributeModels::new(&rt, 1, AttributeOptions::ALL)
            .unwrap()
            .unwrap();
        let mut sum = AttributeTimes::default();
        let rounds = 5;
        for _ in 0..rounds {
            let (_, t) = m.infer_timed(&img, &lms).unwrap();
            sum.faces += t.faces;
            sum.align += t.align;
            sum.age += t.age;
            sum.gender += t.gender;
            sum.expression += t.expression;
        }
        let per = |d: std::time::Duration| d.as_secs_f64() * 1e3 / sum.faces.max(1) as f64;
        eprintln!(
            "{sample}: {} faces; per face: align {:.2} ms, age {:.2} ms, gender {:.2} ms, \
             expression {:.2} ms, total {:.2} ms",
            lms.len(),
            per(sum.align),
            per(sum.age),
            per(sum.gender),
            per(sum.expression),
            per(sum.total()),
        );
        let mut group = c.benchmark_group(format!("attributes/{sample}"));
        group.throughput(Throughput::Elements(lms.len() as u64));
        group.sample_size(10);
        // Alignment alone: the three crops every face needs.
        group.bench_function(format!("align ({} faces)", lms.len()), |b| {
            b.iter(|| {
                for lm in &lms {
                    std::hint::black_box(align::arcface_crop(&img, lm));
                    std::hint::black_box(align::dlib_chip(&img, lm, 64));
                    std::hint::black_box(align::dlib_chip(&img, lm, 32));
                }
            })
        });
        for (name, opts) in configs {
            // One intra-op thread, as each batch worker runs it.
            let mut m = AttributeModels::new(&rt, 1, opts).unwrap().unwrap();
            group.bench_function(format!("{name} ({} faces)", lms.len()), |b| {
                b.iter(|| m.infer(&img, &lms).unwrap())
            });
        }
        group.finish();
    }
}

criterion_group!(benches, per_face);
criterion_main!(benches);
