//! Measures the tags classifier on images: the numbers behind
//! `tags::DEFAULT_THRESHOLD` and the scene line's `SCENE_TAG_CONFIDENCE`
//! (see ARCHITECTURE.md, "Tags").
//!
//! `cargo run --release --example tags_measure -- PATH...` (folders are
//! searched like `onlooker analyze` searches them)
//!
//! Printed: per image its five most likely classes with their
//! probabilities (whatever the threshold), then how many tags each
//! threshold of a grid would keep.

use std::path::PathBuf;

use onlooker::batch::{self, Input};
use onlooker::imageio::{self, DecodeLimits};
use onlooker::tags::{Tagger, TOP_K};
use onlooker::{runtime, Runtime};

fn main() {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: tags_measure PATH...");
        std::process::exit(2);
    }
    let rt = Runtime::load(&runtime::default_models_dir()).expect("run `make models` first");
    let mut tagger = Tagger::new(&rt, 1).expect("the tags model loads");
    // Every class down to 0: the grid below applies the thresholds.
    tagger.threshold = 0.0;
    let grid = [0.02f32, 0.05, 0.1, 0.15, 0.2, 0.3];
    let mut kept = [0usize; 6];
    let mut images = 0;
    let (inputs, _) = batch::collect_images(&paths);
    for input in inputs {
        let Input::File(path) = input else { continue };
        let img = match imageio::load(&path, &DecodeLimits::default()) {
            Ok(l) => l.rgb,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                continue;
            }
        };
        let tags = tagger.tag(&img).expect("the model runs");
        images += 1;
        let line: Vec<String> = tags
            .iter()
            .take(TOP_K)
            .map(|t| format!("{} {:.2}", t.name, t.confidence))
            .collect();
        println!("{}\t{}", path.display(), line.join(", "));
        for (k, th) in grid.iter().enumerate() {
            kept[k] += tags.iter().filter(|t| t.confidence >= *th).count();
        }
    }
    println!("\n{images} images; tags kept (at most {TOP_K} per image):");
    for (th, n) in grid.iter().zip(kept) {
        println!(
            "  threshold {th:.2}: {n} tags, {:.1} per image",
            n as f64 / images.max(1) as f64
        );
    }
}
