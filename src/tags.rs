//! Image tags, as a cloud vision service's `tags`/`labels`: an ImageNet-1k
//! classifier (MobileNetV2 int8, `ModelId::Tags`) over the whole upright
//! image, its most likely classes named by their first WordNet lemma
//! ("espresso", "tabby", "Chihuahua").
//!
//! Pre-processing is the one the model was trained with: the shorter side
//! scaled to [`RESIZE_SHORTER`], the centre [`SIDE`] x [`SIDE`] cut out, RGB,
//! ImageNet mean and std. Only the source square the crop covers is
//! resized (its edge pixels still filtered with their neighbours outside
//! it, as when the whole image is scaled first), so the cost does not
//! depend on the photo's size or aspect (a 1 x 10000 strip would otherwise
//! be scaled to 256 x 2,560,000 first). Output: logits, turned into probabilities by
//! softmax; at most [`TOP_K`] classes at or above [`DEFAULT_THRESHOLD`]
//! are kept (ARCHITECTURE.md, "Tags", has the measurements behind it).

use std::collections::HashMap;
use std::path::Path;

use image::RgbImage;
use ndarray::Array4;

use crate::error::{ImageError, SetupError};
use crate::manifest::ModelId;
use crate::preprocess::{self, ChannelOrder, Normalize};
use crate::probe::{self, Stage};
use crate::runtime::{Dim, Expect, Model, Runtime};

pub use crate::result::Tag;

/// The classifier.
pub const MODEL: ModelId = ModelId::Tags;
/// Classes of the model's output (ImageNet-1k).
pub const CLASSES: usize = 1000;
/// Side of the model's square input.
pub const SIDE: u32 = 224;
/// The shorter side the image is scaled to before the centre crop.
pub const RESIZE_SHORTER: u32 = 256;
/// Most tags per image.
pub const TOP_K: usize = 5;
/// Smallest probability a tag is reported with: on the samples, what the
/// photo is of stays above it and most unrelated look-alikes fall under it
/// (ARCHITECTURE.md, "Tags").
pub const DEFAULT_THRESHOLD: f32 = 0.1;

const OUTPUT: &str = "output";
const NORM: Normalize = Normalize {
    scale: 1.0 / 255.0,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
};

/// The classifier and its class names. One per worker thread.
pub struct Tagger {
    session: Model,
    /// The name of each output class, in output order.
    names: Vec<String>,
    pub threshold: f32,
}

impl Tagger {
    /// Reads the class names and opens the model with `intra_threads` ORT
    /// threads (1 in batch workers).
    pub fn new(rt: &Runtime, intra_threads: usize) -> Result<Self, SetupError> {
        // The model first: with nothing fetched, the error names it.
        let session = rt.session(MODEL, intra_threads)?;
        let names = read_names(
            &rt.model_path(ModelId::TagSynsets)?,
            &rt.model_path(ModelId::TagLemmas)?,
        )?;
        Ok(Tagger {
            session,
            names,
            threshold: DEFAULT_THRESHOLD,
        })
    }

    /// The tags of an upright image, most likely first.
    pub fn tag(&mut self, img: &RgbImage) -> Result<Vec<Tag>, ImageError> {
        let clock = probe::clock();
        let Some(input) = preprocess(img) else {
            return Ok(Vec::new());
        };
        probe::input(MODEL, &input);
        let probs = self.infer(&input)?;
        let tags = select(&probs, TOP_K, self.threshold)
            .into_iter()
            .map(|(class, p)| (self.names[class].as_str(), p))
            .fold(Vec::<Tag>::new(), |mut tags, (name, confidence)| {
                // ImageNet has two classes named "crane" (the bird, the
                // machine) and two "maillot": one tag per name.
                if !tags.iter().any(|t| t.name == name) {
                    tags.push(Tag {
                        name: name.to_string(),
                        confidence,
                    });
                }
                tags
            });
        clock.stop(Stage::Tags);
        Ok(tags)
    }

    /// The model on a prepared input: the probability of every class.
    pub fn infer(&mut self, input: &Array4<f32>) -> Result<Vec<f32>, ImageError> {
        let expected = [Expect::new(OUTPUT, &[Dim::Is(1), Dim::Is(CLASSES)])];
        self.session.run(input, &expected, |t| {
            softmax(t[0].data).ok_or_else(|| ImageError::ModelOutput {
                model: MODEL,
                output: OUTPUT.into(),
                problem: "holds a value that is not a finite number".into(),
            })
        })
    }

    /// Runs the model on an input the probe recorded (`onlooker bench`).
    pub(crate) fn replay(&mut self, input: &Array4<f32>) -> Result<(), ImageError> {
        self.infer(input).map(drop)
    }
}

/// The square of the source image that becomes the model's input: what
/// scaling the shorter side to [`RESIZE_SHORTER`] and cutting the centre
/// [`SIDE`] x [`SIDE`] keeps, in source pixels (`x`, `y`, `side`), rounded
/// to whole pixels. `None` for an empty image.
pub(crate) fn crop_square(width: u32, height: u32) -> Option<(u32, u32, u32)> {
    let shorter = width.min(height);
    if shorter == 0 {
        return None;
    }
    let side = ((shorter as f64 * SIDE as f64 / RESIZE_SHORTER as f64).round() as u32).max(1);
    let x = (width - side) / 2;
    let y = (height - side) / 2;
    Some((x, y, side))
}

/// The model's input for an upright image (`None` when it is empty).
pub fn preprocess(img: &RgbImage) -> Option<Array4<f32>> {
    let (x, y, side) = crop_square(img.width(), img.height())?;
    let scaled = preprocess::resize_region(img, (x, y, side, side), SIDE, SIDE);
    let mut t = Array4::<f32>::zeros((1, 3, SIDE as usize, SIDE as usize));
    preprocess::write_nchw(&scaled, &mut t, ChannelOrder::Rgb, &NORM);
    Some(t)
}

/// Probabilities from logits (`None` if any logit is not finite).
pub(crate) fn softmax(logits: &[f32]) -> Option<Vec<f32>> {
    if logits.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    Some(exp.into_iter().map(|e| e / sum).collect())
}

/// The `k` most probable classes at or above `threshold`, most probable
/// first (ties: lower class first), as (class, probability).
pub(crate) fn select(probs: &[f32], k: usize, threshold: f32) -> Vec<(usize, f32)> {
    let mut order: Vec<(usize, f32)> = probs
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, p)| *p >= threshold)
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    order.truncate(k);
    order
}

/// The class names in output order: `synsets` lists the [`CLASSES`]
/// WordNet ids, one a line; `lemmas` maps ids to names (`id<TAB>name,
/// other name`). A class is named by its first lemma.
pub fn read_names(synsets: &Path, lemmas: &Path) -> Result<Vec<String>, SetupError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| SetupError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    parse_names(&read(synsets)?, synsets, &read(lemmas)?, lemmas)
}

/// [`read_names`] on the files' text; errors name the file at fault.
pub(crate) fn parse_names(
    synsets: &str,
    synsets_path: &Path,
    lemmas: &str,
    lemmas_path: &Path,
) -> Result<Vec<String>, SetupError> {
    let fail = |path: &Path, reason: String| SetupError::TagNames {
        path: path.to_path_buf(),
        reason,
    };
    let mut names = HashMap::new();
    for (i, line) in lemmas.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let first = line
            .split_once('\t')
            .map(|(id, rest)| (id.trim(), rest.split(',').next().unwrap_or("").trim()))
            .filter(|(id, name)| !id.is_empty() && !name.is_empty());
        let Some((id, name)) = first else {
            return Err(fail(
                lemmas_path,
                format!("line {} is not `id<TAB>name, ...`", i + 1),
            ));
        };
        names.insert(id, name);
    }
    let ids: Vec<&str> = synsets
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if ids.len() != CLASSES {
        return Err(fail(
            synsets_path,
            format!("lists {} classes, the classifier has {CLASSES}", ids.len()),
        ));
    }
    ids.into_iter()
        .map(|id| {
            names
                .get(id)
                .map(|n| n.to_string())
                .ok_or_else(|| fail(lemmas_path, format!("has no name for class {id}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_crop_is_the_centre_of_the_shorter_side_scaled_to_256() {
        // 512 x 256: the shorter side is already 256, the crop is the
        // centre 224 x 224.
        assert_eq!(crop_square(512, 256), Some((144, 16, 224)));
        // Twice as large: the same part of the picture, twice the pixels.
        assert_eq!(crop_square(1024, 512), Some((288, 32, 448)));
        // Portrait, and smaller than the input (scaled up).
        assert_eq!(crop_square(128, 200), Some((8, 44, 112)));
        assert_eq!(crop_square(1, 10_000), Some((0, 4999, 1)));
        assert_eq!(crop_square(0, 10), None);
    }

    #[test]
    fn the_input_holds_the_centre_crop_normalised_in_rgb() {
        // Blue where the crop is, red round it: the input is the blue square
        // (at twice the scale the filter blends the outermost input pixels
        // with the red next to them, as scaling the whole image would); at
        // the shorter side's scale (256) and at twice it.
        for scale in [1, 2] {
            let (w, h) = (512 * scale, 256 * scale);
            let (x0, y0, side) = crop_square(w, h).unwrap();
            let img = RgbImage::from_fn(w, h, |x, y| {
                let inside = (x0..x0 + side).contains(&x) && (y0..y0 + side).contains(&y);
                image::Rgb(if inside { [0, 0, 255] } else { [255, 0, 0] })
            });
            let t = preprocess(&img).unwrap();
            assert_eq!(t.shape(), &[1, 3, 224, 224]);
            let no_red = (0.0 - 0.485) / 0.229;
            let full_blue = (1.0 - 0.406) / 0.225;
            for (y, x) in [(1, 1), (1, 222), (222, 1), (222, 222), (112, 112)] {
                assert!((t[[0, 0, y, x]] - no_red).abs() < 1e-5, "R at {y},{x}");
                assert!((t[[0, 2, y, x]] - full_blue).abs() < 1e-5, "B at {y},{x}");
            }
        }
        assert!(preprocess(&RgbImage::new(0, 4)).is_none());
    }

    #[test]
    fn softmax_then_the_top_classes_above_the_threshold() {
        let mut logits = vec![0.0f32; CLASSES];
        logits[7] = 10.0;
        logits[3] = 8.0;
        logits[500] = 8.0;
        logits[999] = 6.0;
        let p = softmax(&logits).unwrap();
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert!(p[7] > p[3] && p[3] == p[500] && p[500] > p[999]);
        // Ties go to the lower class; the rest fall under the threshold.
        let top = select(&p, 5, 0.01);
        let classes: Vec<usize> = top.iter().map(|t| t.0).collect();
        assert_eq!(classes, [7, 3, 500, 999]);
        assert!(top.windows(2).all(|w| w[0].1 >= w[1].1));
        assert_eq!(select(&p, 2, 0.01).len(), 2);
        assert!(select(&p, 5, 0.99).is_empty());
        // Large logits do not overflow.
        let p = softmax(&[1000.0, 999.0]).unwrap();
        assert!((p[0] - 0.7311).abs() < 1e-3);
        assert!(softmax(&[1.0, f32::NAN]).is_none());
    }

    fn synsets(n: usize) -> String {
        (0..n).map(|i| format!("n{i:08}\n")).collect()
    }

    fn lemmas(n: usize) -> String {
        (0..n)
            .map(|i| format!("n{i:08}\tthing {i}, other name\n"))
            .collect()
    }

    #[test]
    fn names_are_the_first_lemma_in_synset_order() {
        let (s, l) = (Path::new("s.txt"), Path::new("l.txt"));
        // The lemma file lists more ids than the classifier, in any order.
        let mut text = lemmas(CLASSES + 5);
        text.insert_str(0, "n99999999\tfirst line, ignored\n");
        let names = parse_names(&synsets(CLASSES), s, &text, l).unwrap();
        assert_eq!(names.len(), CLASSES);
        assert_eq!(names[0], "thing 0");
        assert_eq!(names[999], "thing 999");
    }

    #[test]
    fn a_malformed_names_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let (s, l) = (dir.path().join("syn.txt"), dir.path().join("lem.txt"));
        let write = |p: &Path, text: &str| {
            std::fs::File::create(p)
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap()
        };
        let fails_on = |file: &Path, what: &str| {
            let e = read_names(&s, &l).unwrap_err();
            let msg = e.to_string();
            assert!(
                matches!(&e, SetupError::TagNames { path, .. } if path == file),
                "{e:?}"
            );
            assert!(msg.contains(&file.display().to_string()), "{msg}");
            assert!(msg.contains(what), "{msg} should say {what}");
        };
        write(&s, &synsets(CLASSES));
        write(&l, &lemmas(CLASSES));
        assert_eq!(read_names(&s, &l).unwrap().len(), CLASSES);

        write(&s, &synsets(CLASSES - 1));
        fails_on(&s, "lists 999 classes");
        write(&s, &synsets(CLASSES));
        write(&l, &lemmas(CLASSES - 1));
        fails_on(&l, "no name for class n00000999");
        write(&l, &format!("{}n00000999 no tab\n", lemmas(CLASSES - 1)));
        fails_on(&l, "line 1000 is not");
        write(&l, &format!("{}n00000999\t, empty\n", lemmas(CLASSES - 1)));
        fails_on(&l, "line 1000 is not");

        std::fs::remove_file(&l).unwrap();
        let e = read_names(&s, &l).unwrap_err();
        assert!(
            matches!(&e, SetupError::Io { path, .. } if path == &l),
            "{e:?}"
        );
    }
}
