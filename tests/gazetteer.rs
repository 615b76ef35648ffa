//! The real gazetteer (GeoNames cities1000, fetched by `make models`) on
//! the samples: the day out's positions are described in Paris, and a
//! missing gazetteer costs the names only.

use std::time::Instant;

use onlooker::exif;
use onlooker::findings::Names;
use onlooker::gazetteer::Gazetteer;
use onlooker::result::{FindingKind, Findings, ImageResult};
use onlooker::runtime::default_models_dir;

fn day_out() -> Vec<ImageResult> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/day_out");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| ImageResult {
            path: p.display().to_string(),
            metadata: exif::read(&std::fs::read(p).unwrap()),
            ..Default::default()
        })
        .collect()
}

#[test]
fn the_day_out_is_described_in_paris() {
    let start = Instant::now();
    let g = Gazetteer::load(&default_models_dir()).expect("run `make models`");
    eprintln!(
        "gazetteer: {} places ({} naming their region) loaded and indexed in {:.0} ms",
        g.len(),
        g.cities(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    assert!(g.len() > 140_000, "{}", g.len());

    let results = day_out();
    let start = Instant::now();
    let f = Findings::named(&results, Names::Gazetteer(&g));
    eprintln!(
        "findings with {} places named in {:.2} ms",
        f.places.len(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    assert!(f.places.len() >= 3, "{:?}", f.places);
    for p in &f.places {
        let n = p.name.as_ref().unwrap();
        eprintln!("{:.5},{:.5}: {}", p.latitude, p.longitude, n.words);
        assert_eq!(n.area, "Paris", "{n:?}");
        assert_eq!(
            (n.region.as_str(), n.country.as_str()),
            ("Ile-de-France", "FR")
        );
        assert!(n.words.contains("central Paris") || n.words.starts_with("in Paris"));
    }
    let route = f
        .sentences
        .iter()
        .find(|s| s.kind == FindingKind::Route)
        .unwrap();
    assert!(
        route.headline.contains("places in the Paris area"),
        "{}",
        route.headline
    );
}

#[test]
fn a_missing_gazetteer_is_an_error_naming_the_file_not_a_panic() {
    let empty = tempfile::tempdir().unwrap();
    let e = Gazetteer::load(empty.path()).unwrap_err().to_string();
    assert!(e.contains("gazetteer") && e.contains("make models"), "{e}");
    let f = Findings::named(&day_out(), Names::Unavailable(&e));
    assert!(f.places.iter().all(|p| p.name.is_none()));
    assert!(f.places_unnamed.unwrap().contains("coordinates only"));
}
