//! Re-identification: a 128-number signature per face (MobileFaceNet), so
//! that faces of one person can be found across photos. This is what makes
//! a photo archive searchable by person, and what this tool shows the user.
//!
//! - [`Embedder`]: the model. Input `input0` [1,3,112,112] (batch fixed at
//!   1), the ArcFace-aligned crop ([`crate::align::arcface_crop`], the same
//!   crop the expression model reads), RGB, x = (v/255 - mean)/std with the
//!   ImageNet mean and std. Output `output0` [1,128], L2-normalised here, so
//!   the cosine similarity of two faces is the dot product of their
//!   [`Embedding`]s.
//! - [`Gate`]: faces too small, too blurred or too far from frontal to
//!   embed reliably get no signature (thresholds measured, see
//!   ARCHITECTURE.md, "Identity").
//! - [`find`]: rank faces against a reference face, with a verdict.
//! - [`cluster`]: who is who across a batch; [`persons`]: what the batch
//!   tells about each person (photos, times, places, devices).
//!
//! Embeddings are biometric data: they live in memory only and nothing in
//! this module writes them anywhere.

pub mod cluster;
pub mod persons;

use image::RgbImage;
use ndarray::Array4;
use serde::{Deserialize, Serialize};

use crate::align;
use crate::error::{ImageError, SetupError};
use crate::manifest::ModelId;
use crate::result::{Caveat, Face, Object};
use crate::runtime::{Dim, Expect, Model, Runtime};

/// The embedding model.
pub const MODEL: ModelId = ModelId::Identity;
/// Numbers per embedding.
pub const DIM: usize = 128;

const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Cosine similarity at or above which two faces are reported as "very
/// likely the same person". Measured on 87 labelled faces of 25 people
/// (ARCHITECTURE.md, "Identity"): 0 of 3570 impostor pairs reach it (the
/// closest, a known look-alike pair, 0.42), 4 of 171 genuine pairs fall
/// under it.
pub const VERY_LIKELY: f32 = 0.50;
/// Cosine similarity at or above which two faces are reported as "possibly
/// the same person"; below it a face is not listed as a match. Measured:
/// 0 of 171 genuine pairs under it, 7 of 3570 impostor pairs over it.
pub const POSSIBLE: f32 = 0.35;
/// Two groups of faces are joined into one person when the mean similarity
/// over all their cross pairs reaches this (see [`cluster`]). Measured:
/// 0 impostor pairs and 2 of 171 genuine pairs on the wrong side.
pub const CLUSTER_THRESHOLD: f32 = 0.45;

/// An L2-normalised face embedding. Kept in memory only: it identifies a
/// person, so it is never serialised unless the user asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding(pub [f32; DIM]);

/// As 128 numbers: only ever serialised when the user asks
/// (`Face::embedding_written`).
impl Serialize for Embedding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_slice().serialize(s)
    }
}

/// From 128 finite numbers: only the workshop page sends embeddings back,
/// for the persons across the photos dropped in it (`serve`).
impl<'de> Deserialize<'de> for Embedding {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<f32>::deserialize(d)?;
        let a: [f32; DIM] = v
            .try_into()
            .map_err(|v: Vec<f32>| serde::de::Error::invalid_length(v.len(), &"128 numbers"))?;
        if a.iter().any(|x| !x.is_finite()) {
            return Err(serde::de::Error::custom(
                "an embedding holds a number that is not finite",
            ));
        }
        Ok(Embedding(a))
    }
}

impl schemars::JsonSchema for Embedding {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Embedding".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "face embedding, biometric data: 128 numbers, L2-normalised (cosine similarity is the dot product); written only with --embeddings",
            "type": "array",
            "items": {"type": "number"},
            "minItems": DIM,
            "maxItems": DIM
        })
    }
}

impl Embedding {
    /// Normalises raw model output. `None` if it is not `DIM` finite values
    /// with a non-zero norm.
    pub fn from_raw(raw: &[f32]) -> Option<Embedding> {
        if raw.len() != DIM || raw.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let norm = raw.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm <= f32::MIN_POSITIVE {
            return None;
        }
        let mut out = [0.0; DIM];
        for (o, v) in out.iter_mut().zip(raw) {
            *o = v / norm;
        }
        Some(Embedding(out))
    }

    /// Cosine similarity, -1..1 (both are unit vectors).
    pub fn similarity(&self, other: &Embedding) -> f32 {
        dot(&self.0, &other.0)
    }
}

pub(crate) fn dot(a: &[f32; DIM], b: &[f32; DIM]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The model input for one ArcFace crop: RGB, ImageNet mean and std.
pub fn input(crop: &RgbImage) -> Result<Array4<f32>, ImageError> {
    let s = align::ARCFACE_SIZE;
    if crop.dimensions() != (s, s) {
        return Err(ImageError::Inference(format!(
            "identity model: crop is {}x{}, expected {s}x{s}",
            crop.width(),
            crop.height()
        )));
    }
    let s = s as usize;
    let mut t = Array4::<f32>::zeros((1, 3, s, s));
    let data = t
        .as_slice_mut()
        .expect("tensor is created in standard layout");
    let plane = s * s;
    for (i, p) in crop.pixels().enumerate() {
        for c in 0..3 {
            data[c * plane + i] = (p.0[c] as f32 / 255.0 - MEAN[c]) / STD[c];
        }
    }
    Ok(t)
}

/// Why a face gets no identity. Serialised as e.g.
/// `{"reason": "too_small", "value": 24, "limit": 40}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Unreliable {
    /// Shorter side of the face box, pixels, under the minimum.
    TooSmall { value: u32, limit: u32 },
    /// Blur value (0 sharp .. 1) over the maximum.
    TooBlurred { value: f32, limit: f32 },
    /// Estimated yaw, degrees (absolute), over the maximum.
    TurnedAway { value: f32, limit: f32 },
    /// The landmarks define no alignment (all in one point).
    NotAlignable,
    /// The object detector found an animal (or a teddy bear) holding the
    /// face and no person holding it: a face detector also finds cat
    /// faces, and their embeddings can come close to a person's.
    NotAPerson {
        #[serde(deserialize_with = "crate::result::known_label")]
        label: crate::result::Label,
    },
}

impl std::fmt::Display for Unreliable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreliable::TooSmall { value, limit } => {
                write!(f, "face is {value} px, under the {limit} px needed to identify it reliably")
            }
            Unreliable::TooBlurred { value, limit } => write!(
                f,
                "face is too blurred to identify reliably (blur {value:.2}, limit {limit:.2})"
            ),
            Unreliable::TurnedAway { value, limit } => write!(
                f,
                "face is turned too far from the camera to identify reliably (yaw {value:.0} degrees, limit {limit:.0})"
            ),
            Unreliable::NotAlignable => f.write_str("face landmarks define no alignment"),
            Unreliable::NotAPerson { label } => {
                write!(f, "the face is on a {label}, not on a person")
            }
        }
    }
}

/// Which faces are embedded. Defaults are measured: see ARCHITECTURE.md,
/// "Identity", for how genuine similarity falls as faces shrink, blur and
/// turn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    /// Minimum `size_px` (shorter side of the face box).
    pub min_size_px: u32,
    /// Maximum `blur.value`.
    pub max_blur: f32,
    /// Maximum absolute estimated yaw, degrees.
    pub max_yaw: f32,
}

impl Default for Gate {
    fn default() -> Self {
        // Measured (ARCHITECTURE.md, "Identity"): at 28 px the median
        // genuine similarity is 0.65 and 95% of genuine pairs stay over
        // POSSIBLE; at 24 px the median is 0.57 and the 5th percentile
        // 0.26. Blur over about 0.7 both loses genuine matches (median
        // 0.43) and lifts strangers (up to 0.45, at 0.9 up to 0.51, over
        // VERY_LIKELY). Yaw: labelled pairs only reach 30 degrees, with no
        // loss; 40 adds the estimate's own 10-degree error.
        Gate {
            min_size_px: 28,
            max_blur: 0.60,
            max_yaw: 40.0,
        }
    }
}

impl Gate {
    /// `Ok` when the face can be embedded reliably, else why not (size is
    /// checked first, then blur, then pose).
    pub fn check(&self, face: &Face) -> Result<(), Unreliable> {
        if face.size_px < self.min_size_px {
            return Err(Unreliable::TooSmall {
                value: face.size_px,
                limit: self.min_size_px,
            });
        }
        // NaN counts as too blurred.
        if face.blur.value.is_nan() || face.blur.value > self.max_blur {
            return Err(Unreliable::TooBlurred {
                value: face.blur.value,
                limit: self.max_blur,
            });
        }
        let yaw = face.head_pose.yaw.abs();
        if yaw.is_nan() || yaw > self.max_yaw {
            return Err(Unreliable::TurnedAway {
                value: yaw,
                limit: self.max_yaw,
            });
        }
        Ok(())
    }
}

/// [`Unreliable::NotAPerson`] when an animal's box holds the face and no
/// person's box does (`doubts::held_by_non_person`, the rule every view
/// shows as `inside_animal`).
pub fn not_a_person(face: &Face, objects: &[Object]) -> Option<Unreliable> {
    crate::doubts::held_by_non_person(face, objects)
        .map(|o| Unreliable::NotAPerson { label: o.label })
}

/// The identity model session of one worker.
pub struct Embedder {
    session: Model,
    flip: bool,
    gate: Gate,
}

impl Embedder {
    /// Opens the model with `intra_threads` ORT threads (1 in batch
    /// workers), the default [`Gate`] and flip augmentation off.
    pub fn new(rt: &Runtime, intra_threads: usize) -> Result<Self, SetupError> {
        Ok(Embedder {
            session: rt.session(MODEL, intra_threads)?,
            flip: false,
            gate: Gate::default(),
        })
    }

    /// Whether each crop is also embedded mirrored and the two summed
    /// (test-time augmentation). Off by default: measured, it did not widen
    /// the genuine/impostor margin (ARCHITECTURE.md, "Identity") and it
    /// doubles the model time.
    pub fn set_flip(&mut self, on: bool) {
        self.flip = on;
    }

    pub fn set_gate(&mut self, gate: Gate) {
        self.gate = gate;
    }

    pub fn gate(&self) -> Gate {
        self.gate
    }

    fn run(&mut self, crop: &RgbImage) -> Result<[f32; DIM], ImageError> {
        let t = input(crop)?;
        let expected = [Expect {
            name: "output0",
            dims: &[Dim::Is(1), Dim::Is(DIM)],
        }];
        self.session.run(&t, &expected, |o| {
            let mut v = [0.0; DIM];
            v.copy_from_slice(o[0].data);
            Ok(v)
        })
    }

    /// The embedding of an ArcFace 112x112 crop (the one the pipeline
    /// already cut for the expression model).
    pub fn embed_crop(&mut self, crop: &RgbImage) -> Result<Embedding, ImageError> {
        let mut raw = self.run(crop)?;
        if self.flip {
            let mirrored = self.run(&image::imageops::flip_horizontal(crop))?;
            for (r, m) in raw.iter_mut().zip(mirrored) {
                *r += m;
            }
        }
        Embedding::from_raw(&raw).ok_or_else(|| {
            ImageError::Inference("identity model: output is zero or not finite".into())
        })
    }

    /// The embedding of a detected face, or why it gets none. The gate
    /// looks at the face's `size_px`, `blur` and `head_pose`, so the face
    /// must have been through `face::quality::assess`.
    pub fn embed_face(
        &mut self,
        img: &RgbImage,
        face: &Face,
    ) -> Result<Result<Embedding, Unreliable>, ImageError> {
        self.embed_face_with(img, face, None)
    }

    /// [`Self::embed_face`] with the face's ArcFace crop when it was
    /// already cut (the expression model's; the same function of the same
    /// pixels, so the embedding is the same).
    pub fn embed_face_with(
        &mut self,
        img: &RgbImage,
        face: &Face,
        crop: Option<&RgbImage>,
    ) -> Result<Result<Embedding, Unreliable>, ImageError> {
        if let Err(why) = self.gate.check(face) {
            return Ok(Err(why));
        }
        if let Some(crop) = crop {
            return Ok(Ok(self.embed_crop(crop)?));
        }
        let Some(crop) = align::arcface_crop(img, &face.landmarks) else {
            return Ok(Err(Unreliable::NotAlignable));
        };
        Ok(Ok(self.embed_crop(&crop)?))
    }
}

/// What the providers of face identification, an independent evaluation,
/// and this tool's own measurements say about it; shown with every
/// identity output (People section, `find`, terminal). Paraphrased; the
/// figures are the ones measured in ARCHITECTURE.md, "Identity".
pub const CAVEATS: [Caveat; 3] = [
    Caveat {
        source: "Microsoft, Azure Face Limited Access policy",
        about: &[],
        text: "Azure Face's identification and verification (finding a face among enrolled \
               people, or deciding whether two faces are the same person) are Limited Access: \
               only Microsoft-managed customers and partners whose application is approved, for \
               listed use cases, may use them, and since June 2020 Microsoft does not allow \
               police departments in the United States to use its face recognition.",
    },
    Caveat {
        source: "NIST, FRVT Part 3: Demographic Effects (NISTIR 8280, December 2019)",
        about: &[],
        text: "NIST measured 189 mostly commercial face recognition algorithms from 99 \
               developers on 18 million photos of 8.5 million people. False match rates \
               differed between demographic groups, in many algorithms by factors of 10 to \
               more than 100 for one-to-one matching, with the highest rates for West and East \
               African and East Asian faces, and higher rates for women, the elderly and \
               children. A match is evidence to check, not an identification.",
    },
    Caveat {
        source: "this tool's identity model (MobileFaceNet, measured here)",
        about: &[],
        text: "On 87 labelled faces of 25 people (ARCHITECTURE.md, \"Identity\"): at the \
               \"possibly\" threshold 0.35, 0 of 171 same-person pairs were missed and 7 of 3570 \
               different-person pairs matched; at the grouping threshold 0.45, 2 missed and 0 \
               matched; at \"very likely\" 0.50, 4 missed and 0 matched; the closest strangers \
               were a famous look-alike pair (0.42). On the 14 faces of 8 people in samples/ \
               nothing was missed or wrongly matched. These are a few dozen faces, not a \
               demographic evaluation: over an archive of millions, even a tiny false match rate \
               means many strangers listed.",
    },
];

/// How sure a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum Verdict {
    /// Similarity at or above [`VERY_LIKELY`].
    #[serde(rename = "very likely same person")]
    VeryLikely,
    /// Similarity at or above [`POSSIBLE`], under [`VERY_LIKELY`].
    #[serde(rename = "possibly same person")]
    Possibly,
}

impl Verdict {
    /// The verdict for a similarity; `None` under [`POSSIBLE`].
    pub fn of(similarity: f32) -> Option<Verdict> {
        if similarity >= VERY_LIKELY {
            Some(Verdict::VeryLikely)
        } else if similarity >= POSSIBLE {
            Some(Verdict::Possibly)
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::VeryLikely => "very likely same person",
            Verdict::Possibly => "possibly same person",
        }
    }
}

/// One candidate that matches the reference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Match {
    /// Index into the candidates given to [`find`].
    pub index: usize,
    pub similarity: f32,
    pub verdict: Verdict,
}

/// The candidates that match `reference` at least "possibly", most similar
/// first (equal similarities in input order).
pub fn find(reference: &Embedding, candidates: &[Embedding]) -> Vec<Match> {
    let mut out: Vec<Match> = candidates
        .iter()
        .enumerate()
        .filter_map(|(index, c)| {
            let similarity = reference.similarity(c);
            Verdict::of(similarity).map(|verdict| Match {
                index,
                similarity,
                verdict,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then(a.index.cmp(&b.index))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Blur, HeadPose};

    pub(crate) fn unit(dirs: &[(usize, f32)]) -> Embedding {
        let mut raw = [0.0; DIM];
        for &(i, v) in dirs {
            raw[i] = v;
        }
        Embedding::from_raw(&raw).unwrap()
    }

    #[test]
    fn embeddings_are_normalised_and_bad_output_is_refused() {
        let e = Embedding::from_raw(&[3.0; DIM]).unwrap();
        assert!((e.similarity(&e) - 1.0).abs() < 1e-5);
        assert!(Embedding::from_raw(&[0.0; DIM]).is_none());
        assert!(Embedding::from_raw(&[1.0; 127]).is_none());
        let mut nan = [1.0; DIM];
        nan[5] = f32::NAN;
        assert!(Embedding::from_raw(&nan).is_none());
        let a = unit(&[(0, 1.0)]);
        let b = unit(&[(0, 1.0), (1, 1.0)]);
        assert!((a.similarity(&b) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    }

    #[test]
    fn input_is_rgb_with_imagenet_normalisation() {
        let crop = RgbImage::from_pixel(112, 112, image::Rgb([255, 0, 128]));
        let t = input(&crop).unwrap();
        assert_eq!(t.shape(), &[1, 3, 112, 112]);
        assert!((t[[0, 0, 3, 7]] - (1.0 - 0.485) / 0.229).abs() < 1e-5);
        assert!((t[[0, 1, 111, 0]] - (-0.456 / 0.224)).abs() < 1e-5);
        assert!((t[[0, 2, 0, 111]] - (128.0 / 255.0 - 0.406) / 0.225).abs() < 1e-5);
        assert!(input(&RgbImage::new(64, 112)).is_err());
    }

    fn face(size_px: u32, blur: f32, yaw: f32) -> Face {
        Face {
            size_px,
            blur: Blur {
                value: blur,
                ..Default::default()
            },
            head_pose: HeadPose {
                yaw,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn gate_refuses_small_blurred_and_turned_faces_and_says_why() {
        let g = Gate::default();
        assert_eq!(g.check(&face(100, 0.2, 10.0)), Ok(()));
        assert_eq!(
            g.check(&face(g.min_size_px, g.max_blur, -g.max_yaw)),
            Ok(())
        );
        assert!(matches!(
            g.check(&face(g.min_size_px - 1, 0.2, 0.0)),
            Err(Unreliable::TooSmall { .. })
        ));
        assert!(matches!(
            g.check(&face(100, g.max_blur + 0.01, 0.0)),
            Err(Unreliable::TooBlurred { .. })
        ));
        assert!(matches!(
            g.check(&face(100, f32::NAN, 0.0)),
            Err(Unreliable::TooBlurred { .. })
        ));
        let turned = g.check(&face(100, 0.1, -(g.max_yaw + 5.0))).unwrap_err();
        assert!(matches!(turned, Unreliable::TurnedAway { .. }));
        assert!(turned.to_string().contains("turned"), "{turned}");
        let v = serde_json::to_value(Unreliable::TooSmall {
            value: 10,
            limit: 24,
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"reason": "too_small", "value": 10, "limit": 24})
        );
    }

    #[test]
    fn a_face_held_by_an_animal_and_no_person_is_not_a_person() {
        let f = Face {
            bbox: crate::geometry::BBox {
                x: 10.0,
                y: 10.0,
                w: 20.0,
                h: 20.0,
            },
            ..Default::default()
        };
        let object = |label, x| Object {
            label,
            class_id: 0,
            score: 0.8,
            bbox: crate::geometry::BBox {
                x,
                y: 0.0,
                w: 100.0,
                h: 100.0,
            },
        };
        let cat = object("cat", 0.0);
        assert_eq!(
            not_a_person(&f, std::slice::from_ref(&cat)),
            Some(Unreliable::NotAPerson { label: "cat" })
        );
        // A person holding the cat: the face may be theirs.
        assert_eq!(
            not_a_person(&f, &[cat.clone(), object("person", 5.0)]),
            None
        );
        // No box at all (a person the detector missed), or one that covers
        // under half the face: the face keeps its identity.
        assert_eq!(not_a_person(&f, &[]), None);
        assert_eq!(not_a_person(&f, &[object("dog", 21.0)]), None);
        assert_eq!(not_a_person(&f, &[object("chair", 0.0)]), None);
        let v = serde_json::to_value(Unreliable::NotAPerson { label: "cat" }).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"reason": "not_a_person", "label": "cat"})
        );
    }

    #[test]
    fn find_ranks_by_similarity_and_drops_non_matches() {
        let r = unit(&[(0, 1.0)]);
        let c = vec![
            unit(&[(0, 0.4), (1, 0.9165)]), // 0.4: possibly
            unit(&[(1, 1.0)]),              // 0: not listed
            unit(&[(0, 0.9), (2, 0.4359)]), // 0.9: very likely
            unit(&[(0, 0.4), (3, 0.9165)]), // 0.4, tie with 0: input order
        ];
        let m = find(&r, &c);
        let idx: Vec<usize> = m.iter().map(|m| m.index).collect();
        assert_eq!(idx, [2, 0, 3]);
        assert_eq!(m[0].verdict, Verdict::VeryLikely);
        assert_eq!(m[1].verdict, Verdict::Possibly);
        assert_eq!(
            serde_json::to_value(m[0].verdict).unwrap(),
            "very likely same person"
        );
        assert_eq!(Verdict::of(POSSIBLE - 1e-4), None);
        assert_eq!(Verdict::of(VERY_LIKELY), Some(Verdict::VeryLikely));
        assert_eq!(Verdict::Possibly.as_str(), "possibly same person");
    }
}
