//! Measures the identity model on labelled faces: the numbers behind the
//! thresholds in `src/identity.rs` (see ARCHITECTURE.md, "Identity").
//!
//! `cargo run --release --example identity_measure -- LABELS.tsv...`
//!
//! A labels file is tab-separated, paths relative to the file, one of:
//! - `file <TAB> person [<TAB> x,y,w,h]`: the face overlapping the box, or
//!   the best-scoring face when no box is given;
//! - the identity sample set's `labels.tsv` (header starting `file
//!   persons_left_to_right`): persons left to right, boxes `x,y,w,h ; ...`.
//!
//! Printed: genuine and impostor cosine similarity with and without flip
//! augmentation, false matches / non-matches at a grid of thresholds, how
//! genuine similarity falls as each face is shrunk, blurred, or turned, and
//! the clustering's pairwise precision and recall. Nothing is written: the
//! embeddings stay in memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::RgbImage;
use onlooker::align;
use onlooker::face::{FaceDetector, DEFAULT_THRESHOLD};
use onlooker::geometry::BBox;
use onlooker::identity::cluster::{cluster, FaceRecord};
use onlooker::identity::{self, Embedder, Embedding, Gate};
use onlooker::imageio::{self, DecodeLimits};
use onlooker::result::Face;
use onlooker::Runtime;

struct Label {
    file: PathBuf,
    person: String,
    bbox: Option<[f32; 4]>,
}

fn parse_box(s: &str) -> Option<[f32; 4]> {
    let v: Vec<f32> = s.split(',').filter_map(|x| x.trim().parse().ok()).collect();
    (v.len() == 4).then(|| [v[0], v[1], v[2], v[3]])
}

fn read_labels(path: &Path) -> Vec<Label> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    let sample_set = lines
        .peek()
        .is_some_and(|l| l.starts_with("file\tpersons_left_to_right"));
    if sample_set {
        lines.next();
    }
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        if line.trim().is_empty() || line.starts_with('#') || cols.len() < 2 {
            continue;
        }
        let file = dir.join(cols[0]);
        if sample_set {
            let persons: Vec<&str> = cols[1].split(',').map(str::trim).collect();
            let boxes: Vec<Option<[f32; 4]>> = cols
                .get(5)
                .map(|b| b.split(';').map(parse_box).collect())
                .unwrap_or_default();
            for (i, p) in persons.iter().enumerate() {
                out.push(Label {
                    file: file.clone(),
                    person: p.to_string(),
                    bbox: boxes.get(i).copied().flatten(),
                });
            }
        } else {
            out.push(Label {
                file,
                person: cols[1].trim().to_string(),
                bbox: cols.get(2).and_then(|b| parse_box(b)),
            });
        }
    }
    out
}

fn iou(a: [f32; 4], b: &BBox) -> f32 {
    let (bx, by, bw, bh) = (b.x, b.y, b.w, b.h);
    let x0 = a[0].max(bx);
    let y0 = a[1].max(by);
    let x1 = (a[0] + a[2]).min(bx + bw);
    let y1 = (a[1] + a[3]).min(by + bh);
    let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    inter / (a[2] * a[3] + bw * bh - inter)
}

/// The detected face that matches the label: best IoU over 0.3 with the
/// box, or the best-scoring face.
fn pick(faces: &[Face], bbox: Option<[f32; 4]>) -> Option<Face> {
    match bbox {
        Some(b) => faces
            .iter()
            .map(|f| (iou(b, &f.bbox), f))
            .filter(|(i, _)| *i > 0.3)
            .max_by(|x, y| x.0.total_cmp(&y.0))
            .map(|(_, f)| f.clone()),
        // Highest score, not largest: on one deepface photo YuNet also
        // reports a larger false face on the neck.
        None => faces
            .iter()
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .cloned(),
    }
}

struct Sample {
    person: String,
    image: usize,
    file: String,
    face: Face,
    /// Without and with flip augmentation.
    plain: Embedding,
    flip: Embedding,
    /// The image cropped around the face (face box plus one box on each
    /// side), and the face box in it, for the degradation runs.
    context: RgbImage,
    context_box: [f32; 4],
}

fn stats(v: &[f32]) -> String {
    if v.is_empty() {
        return "n 0".into();
    }
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    let mean = s.iter().sum::<f32>() / s.len() as f32;
    format!(
        "n {:5}  min {:6.3}  p5 {:6.3}  median {:6.3}  mean {:6.3}  p95 {:6.3}  max {:6.3}",
        s.len(),
        s[0],
        s[(s.len() - 1) * 5 / 100],
        s[s.len() / 2],
        mean,
        s[(s.len() - 1) * 95 / 100],
        s[s.len() - 1]
    )
}

fn dprime(g: &[f32], i: &[f32]) -> f32 {
    let m = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let var = |v: &[f32], mu: f32| v.iter().map(|x| (x - mu).powi(2)).sum::<f32>() / v.len() as f32;
    let (mg, mi) = (m(g), m(i));
    (mg - mi) / ((var(g, mg) + var(i, mi)) / 2.0).sqrt()
}

/// Embeds the face overlapping `bbox` in `img` (detected anew), without
/// the gate. `None` when the detector no longer finds it.
fn embed_in(
    det: &mut FaceDetector,
    emb: &mut Embedder,
    img: &RgbImage,
    bbox: [f32; 4],
) -> Option<(Face, Embedding)> {
    let faces = det.detect(img).ok()?;
    let f = pick(&faces, Some(bbox))?;
    let crop = align::arcface_crop(img, &f.landmarks)?;
    let e = emb.embed_crop(&crop).ok()?;
    Some((f, e))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: identity_measure LABELS.tsv...");
        std::process::exit(2);
    }
    let rt = Runtime::from_env().expect("runtime");
    let mut det = FaceDetector::new(&rt, 1, DEFAULT_THRESHOLD).expect("detector");
    let mut emb = Embedder::new(&rt, 1).expect("identity model");
    let limits = DecodeLimits::default();

    // Identical files listed twice (the sets overlap) count once.
    let mut seen_bytes: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    let mut images: Vec<String> = Vec::new();
    let mut samples: Vec<Sample> = Vec::new();
    let mut cache: BTreeMap<usize, (RgbImage, Vec<Face>)> = BTreeMap::new();
    for path in &args {
        for l in read_labels(Path::new(path)) {
            let Ok(bytes) = std::fs::read(&l.file) else {
                eprintln!("skip {}: unreadable", l.file.display());
                continue;
            };
            let image = match seen_bytes.get(&bytes) {
                Some(&i) => i,
                None => {
                    let i = images.len();
                    seen_bytes.insert(bytes.clone(), i);
                    images.push(l.file.display().to_string());
                    i
                }
            };
            if samples
                .iter()
                .any(|s| s.image == image && s.person == l.person)
            {
                continue;
            }
            if let std::collections::btree_map::Entry::Vacant(v) = cache.entry(image) {
                let Ok(img) = imageio::decode(bytes, &limits) else {
                    eprintln!("skip {}: undecodable", l.file.display());
                    continue;
                };
                let faces = det.detect(&img.rgb).expect("detect");
                v.insert((img.rgb, faces));
            }
            let (img, faces) = &cache[&image];
            let Some(face) = pick(faces, l.bbox) else {
                eprintln!("skip {} ({}): face not found", l.file.display(), l.person);
                continue;
            };
            let Some(crop) = align::arcface_crop(img, &face.landmarks) else {
                continue;
            };
            // Optional: the aligned crops, for looking at what the model saw.
            if let Some(dir) = std::env::var_os("IDENTITY_MEASURE_CROPS") {
                let name = format!("{:03}_{}.png", samples.len(), l.person.replace(' ', "_"));
                let _ = crop.save(Path::new(&dir).join(name));
            }
            emb.set_flip(false);
            let plain = emb.embed_crop(&crop).expect("embed");
            emb.set_flip(true);
            let flip = emb.embed_crop(&crop).expect("embed");
            emb.set_flip(false);
            let b = face.bbox;
            let (x0, y0) = ((b.x - b.w).max(0.0) as u32, (b.y - b.h).max(0.0) as u32);
            let x1 = ((b.x + 2.0 * b.w) as u32).min(img.width());
            let y1 = ((b.y + 2.0 * b.h) as u32).min(img.height());
            let context = imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
            samples.push(Sample {
                person: l.person.clone(),
                image,
                file: l.file.display().to_string(),
                face: face.clone(),
                plain,
                flip,
                context,
                context_box: [b.x - x0 as f32, b.y - y0 as f32, b.w, b.h],
            });
        }
    }
    let people: std::collections::BTreeSet<&str> =
        samples.iter().map(|s| s.person.as_str()).collect();
    println!(
        "{} faces of {} people in {} images",
        samples.len(),
        people.len(),
        images.len()
    );

    // 1. Genuine and impostor distributions, flip off and on.
    let n = samples.len();
    let pairs = |flip: bool| {
        let (mut g, mut i) = (Vec::new(), Vec::new());
        let mut worst_impostors = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                let (sa, sb) = (&samples[a], &samples[b]);
                let s = if flip {
                    sa.flip.similarity(&sb.flip)
                } else {
                    sa.plain.similarity(&sb.plain)
                };
                if sa.person == sb.person {
                    g.push(s);
                } else {
                    i.push(s);
                    worst_impostors.push((s, a, b));
                }
            }
        }
        worst_impostors.sort_by(|x, y| y.0.total_cmp(&x.0));
        (g, i, worst_impostors)
    };
    for flip in [false, true] {
        let (g, i, _) = pairs(flip);
        println!("\nflip augmentation {}:", if flip { "on" } else { "off" });
        println!("  genuine  {}", stats(&g));
        println!("  impostor {}", stats(&i));
        let gmin = g.iter().copied().fold(f32::INFINITY, f32::min);
        let imax = i.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        println!(
            "  margin (min genuine - max impostor) {:.3}, d' {:.2}",
            gmin - imax,
            dprime(&g, &i)
        );
        println!(
            "  threshold  false non-matches (of {})  false matches (of {})",
            g.len(),
            i.len()
        );
        for k in 5..=14 {
            let t = k as f32 * 0.05;
            let fnm = g.iter().filter(|&&s| s < t).count();
            let fm = i.iter().filter(|&&s| s >= t).count();
            println!("  {t:9.2}  {fnm:29}  {fm:20}");
        }
    }
    let (g, _, worst) = pairs(false);
    println!("\nclosest impostor pairs (flip off):");
    for (s, a, b) in worst.iter().take(8) {
        println!(
            "  {s:.3}  {} ({}) / {} ({})",
            samples[*a].file, samples[*a].person, samples[*b].file, samples[*b].person
        );
    }
    let mut low: Vec<(f32, usize, usize)> = Vec::new();
    for a in 0..n {
        for b in a + 1..n {
            if samples[a].person == samples[b].person {
                low.push((samples[a].plain.similarity(&samples[b].plain), a, b));
            }
        }
    }
    low.sort_by(|x, y| x.0.total_cmp(&y.0));
    println!("lowest genuine pairs (flip off):");
    for (s, a, b) in low.iter().take(8) {
        let (fa, fb) = (&samples[*a].face, &samples[*b].face);
        println!(
            "  {s:.3}  {} / {}  yaw {:.0} / {:.0}  size {} / {}  blur {:.2} / {:.2}",
            samples[*a].file,
            samples[*b].file,
            fa.head_pose.yaw,
            fb.head_pose.yaw,
            fa.size_px,
            fb.size_px,
            fa.blur.value,
            fb.blur.value
        );
    }
    let _ = g;

    // 2. Pose: genuine similarity by the larger |yaw| of the pair.
    println!("\ngenuine similarity by the larger |yaw| of the pair (flip off):");
    for (lo, hi) in [
        (0.0, 15.0),
        (15.0, 30.0),
        (30.0, 45.0),
        (45.0, 60.0),
        (60.0, 180.0),
    ] {
        let v: Vec<f32> = low
            .iter()
            .filter(|(_, a, b)| {
                let y = samples[*a]
                    .face
                    .head_pose
                    .yaw
                    .abs()
                    .max(samples[*b].face.head_pose.yaw.abs());
                y >= lo && y < hi
            })
            .map(|x| x.0)
            .collect();
        println!("  |yaw| {lo:3.0}..{hi:3.0}: {}", stats(&v));
    }

    // 3. Shrinking and blurring known faces. Each degraded face is compared
    // with the same person's other photos at full quality (genuine) and
    // with everyone else (impostor).
    let others = |k: usize, e: &Embedding| {
        let (mut g, mut i) = (Vec::new(), Vec::new());
        for (j, s) in samples.iter().enumerate() {
            if j == k || s.image == samples[k].image {
                continue;
            }
            let v = e.similarity(&s.plain);
            if s.person == samples[k].person {
                g.push(v);
            } else {
                i.push(v);
            }
        }
        (g, i)
    };
    println!("\nshrunk faces (size_px of the re-detected face), flip off:");
    println!("  target  found  genuine vs other photos / impostor");
    for target in [80u32, 64, 48, 40, 32, 28, 24, 20, 16, 12] {
        let (mut g, mut i, mut found, mut tried) = (Vec::new(), Vec::new(), 0, 0);
        for (k, s) in samples.iter().enumerate() {
            if s.face.size_px < target {
                continue;
            }
            tried += 1;
            let f = target as f32 / s.face.size_px as f32;
            let (w, h) = s.context.dimensions();
            let (nw, nh) = (
                ((w as f32 * f).round() as u32).max(1),
                ((h as f32 * f).round() as u32).max(1),
            );
            let small = imageops::resize(&s.context, nw, nh, FilterType::Triangle);
            let b = s.context_box.map(|v| v * f);
            if let Some((_, e)) = embed_in(&mut det, &mut emb, &small, b) {
                found += 1;
                let (gg, ii) = others(k, &e);
                g.extend(gg);
                i.extend(ii);
            }
        }
        println!("  {target:4} px  {found:2}/{tried:2}");
        println!("     genuine  {}", stats(&g));
        println!("     impostor {}", stats(&i));
    }
    // Blur: the same faces under Gaussian blur of growing sigma, grouped
    // by the blur value the quality step measures on the blurred face
    // (the value the gate sees).
    println!(
        "\nblurred faces, by measured blur value (Gaussian, sigma 0..0.08 x face size), flip off:"
    );
    let bins = [0.0f32, 0.25, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01];
    let mut by_bin: Vec<(Vec<f32>, Vec<f32>)> = vec![(Vec::new(), Vec::new()); bins.len() - 1];
    for frac in [
        0.0f32, 0.01, 0.02, 0.025, 0.03, 0.035, 0.04, 0.05, 0.06, 0.08,
    ] {
        for (k, s) in samples.iter().enumerate() {
            let sigma = frac * s.face.size_px as f32;
            let img = if sigma > 0.0 {
                imageops::blur(&s.context, sigma)
            } else {
                s.context.clone()
            };
            if let Some((f, e)) = embed_in(&mut det, &mut emb, &img, s.context_box) {
                let Some(bin) = bins
                    .windows(2)
                    .position(|w| f.blur.value >= w[0] && f.blur.value < w[1])
                else {
                    continue;
                };
                let (gg, ii) = others(k, &e);
                by_bin[bin].0.extend(gg);
                by_bin[bin].1.extend(ii);
            }
        }
    }
    for (w, (g, i)) in bins.windows(2).zip(&by_bin) {
        println!("  blur {:.2}..{:.2}", w[0], w[1].min(1.0));
        println!("     genuine  {}", stats(g));
        println!("     impostor {}", stats(i));
    }

    // 4. Clustering: pairwise precision and recall, with the default gate.
    let gate = Gate::default();
    let kept: Vec<usize> = (0..n)
        .filter(|&k| gate.check(&samples[k].face).is_ok())
        .collect();
    println!(
        "\nclustering ({} of {} faces pass the gate {:?}):",
        kept.len(),
        n,
        gate
    );
    for (k, s) in samples.iter().enumerate() {
        if let Err(why) = gate.check(&s.face) {
            println!("  no identity: {} ({}): {why}", s.file, samples[k].person);
        }
    }
    let recs: Vec<FaceRecord> = kept
        .iter()
        .map(|&k| FaceRecord {
            embedding: samples[k].plain.0,
            image: samples[k].image,
            face: 0,
        })
        .collect();
    for t in [0.30f32, 0.35, 0.40, 0.42, 0.45, 0.50, 0.55] {
        let ids = cluster(&recs, t);
        let (mut tp, mut fp, mut fneg) = (0, 0, 0);
        for a in 0..kept.len() {
            for b in a + 1..kept.len() {
                let same = samples[kept[a]].person == samples[kept[b]].person;
                match (ids[a] == ids[b], same) {
                    (true, true) => tp += 1,
                    (true, false) => fp += 1,
                    (false, true) => fneg += 1,
                    _ => {}
                }
            }
        }
        let clusters = ids.iter().max().copied().unwrap_or(0);
        println!(
            "  threshold {t:.2}: {clusters} clusters for {} people, pairwise precision {:.3} ({tp}/{}), recall {:.3} ({tp}/{})",
            people.len(),
            tp as f32 / (tp + fp).max(1) as f32,
            tp + fp,
            tp as f32 / (tp + fneg).max(1) as f32,
            tp + fneg
        );
    }
    println!(
        "\nthresholds in the code: very likely {}, possible {}, clustering {}",
        identity::VERY_LIKELY,
        identity::POSSIBLE,
        identity::CLUSTER_THRESHOLD
    );
}
