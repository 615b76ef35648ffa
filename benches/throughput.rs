//! End-to-end throughput with the real runtime and models: one image
//! through one analyzer, and the batch over samples/ at 1 and N threads.
//! Needs `make models`. `cargo bench --bench throughput`.

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use onlooker::batch::{self, Engine, Plan};
use onlooker::{runtime, Analyzer, Options, Runtime};

fn runtime() -> Runtime {
    Runtime::load(&runtime::default_models_dir()).expect("run `make models` first")
}

fn one_image(c: &mut Criterion) {
    let rt = runtime();
    let mut analyzer = Analyzer::new(&rt, Options::default()).unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut g = c.benchmark_group("one_image");
    for name in ["dog.jpg", "solvay_1927.jpg"] {
        let path = samples.join(name);
        g.bench_function(name, |b| b.iter(|| analyzer.analyze_path(&path)));
    }
    g.finish();
}

fn batch_throughput(c: &mut Criterion) {
    let rt = runtime();
    let (inputs, _) =
        batch::collect_images(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")]);
    let mut g = c.benchmark_group("batch_samples");
    g.throughput(Throughput::Elements(inputs.len() as u64));
    let cores = batch::default_threads();
    let mut counts = vec![1];
    if cores > 1 {
        counts.push(cores);
    }
    for threads in counts {
        let engine = Engine::new(&rt, &Options::default(), Plan::new(threads)).unwrap();
        engine.build_all().unwrap();
        g.bench_function(format!("{threads}_threads"), |b| {
            b.iter(|| engine.run(&inputs, |_, r| drop(r)).unwrap())
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = one_image, batch_throughput
}
criterion_main!(benches);
