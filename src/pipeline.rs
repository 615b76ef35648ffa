//! The analysis of one image: decode (with limits and EXIF orientation), run
//! every detector, collect one [`ImageResult`]. A failure is recorded on the
//! image, never raised past it.

use std::path::Path;

use crate::attributes::{AttributeModels, AttributeOptions};
use crate::doubts;
use crate::error::{ImageError, SetupError};
use crate::exif::{self, Metadata};
use crate::face::{self, FaceDetector};
use crate::geometry::BBox;
use crate::identity::{self, Embedder};
use crate::imageio::{self, DecodeLimits};
use crate::manifest::ModelId;
use crate::objects::{self, ObjectDetector};
use crate::probe::{self, Stage};
use crate::result::{FaceIdentity, ImageResult};
use crate::runtime::Runtime;
use crate::tags::Tagger;
use crate::text;

/// Settings shared by every worker.
#[derive(Debug, Clone)]
pub struct Options {
    pub face_threshold: f32,
    pub object_threshold: f32,
    /// Also look for people in tiles of large images (see `objects::Tiling`).
    pub object_tiles: bool,
    /// Survey large photos for faces at a lower working size first, and
    /// read them at full size only where faces may be too small for the
    /// survey (`face::survey`); off, every photo is read whole at its
    /// working size.
    pub face_survey: bool,
    pub limits: DecodeLimits,
    /// ORT intra-op threads per session.
    pub intra_threads: usize,
    /// Which face attributes to compute (models of disabled ones are not loaded).
    pub attributes: AttributeOptions,
    /// Read the text in the images (PP-OCR; its models are not loaded
    /// when off).
    pub text: bool,
    /// Embed reliable faces so the batch can tell who is who (the identity
    /// model is not loaded when off).
    pub identity: bool,
    /// Tag the whole picture with ImageNet classes (the classifier and its
    /// names are not loaded when off).
    pub tags: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            face_threshold: face::DEFAULT_THRESHOLD,
            object_threshold: objects::DEFAULT_THRESHOLD,
            object_tiles: true,
            face_survey: true,
            limits: DecodeLimits::default(),
            intra_threads: 1,
            attributes: AttributeOptions::default(),
            text: true,
            identity: true,
            tags: true,
        }
    }
}

impl ImageResult {
    pub fn failed(path: &Path, err: &ImageError) -> Self {
        ImageResult {
            path: display_path(path),
            error: Some(err.to_string()),
            ..Default::default()
        }
    }
}

/// Paths are reported lossily: a non-UTF-8 name is still shown, with
/// replacement characters, rather than dropped.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The half of an image's analysis that needs no session: the file read,
/// its metadata, its pixels decoded. Workers of the shared-session topology
/// do this in parallel, outside the lock.
pub enum Prepared {
    Decoded {
        loaded: imageio::LoadedImage,
        metadata: Metadata,
    },
    /// Unreadable or undecodable; what the file's metadata told is kept.
    Failed(ImageResult),
}

/// Reads a file and prepares it ([`prepare_bytes`]).
pub fn prepare(path: &Path, options: &Options) -> Prepared {
    match probe::time(Stage::Decode, || imageio::read_file(path, &options.limits)) {
        Ok(bytes) => prepare_bytes(path, bytes, options),
        Err(e) => Prepared::Failed(ImageResult::failed(path, &e)),
    }
}

/// Reads the metadata of in-memory file bytes, then decodes them. The
/// metadata is read first: a file whose pixels are broken still tells where
/// and when it was made. A metadata problem only ends up in
/// `metadata.error`; the pixels are analysed regardless.
pub fn prepare_bytes(path: &Path, bytes: Vec<u8>, options: &Options) -> Prepared {
    let clock = probe::clock();
    let metadata = exif::read(&bytes);
    let decoded = decode(bytes, options);
    clock.stop(Stage::Decode);
    match decoded {
        Ok(loaded) => Prepared::Decoded { loaded, metadata },
        Err(e) => Prepared::Failed(ImageResult {
            metadata,
            ..ImageResult::failed(path, &e)
        }),
    }
}

/// Decodes file bytes as the analysis needs them (limits, orientation, RGB).
pub fn decode(bytes: Vec<u8>, options: &Options) -> Result<imageio::LoadedImage, ImageError> {
    imageio::decode(bytes, &options.limits)
}

/// One worker's models. Sessions are not shared between threads: each
/// worker owns its own (see ARCHITECTURE.md, "Batch").
pub struct Analyzer {
    pub options: Options,
    faces: FaceDetector,
    objects: ObjectDetector,
    attributes: Option<AttributeModels>,
    text: Option<text::Reader>,
    identity: Option<Embedder>,
    tags: Option<Tagger>,
}

impl Analyzer {
    pub fn new(rt: &Runtime, options: Options) -> Result<Self, SetupError> {
        let mut objects = ObjectDetector::new(rt, options.intra_threads, options.object_threshold)?;
        if !options.object_tiles {
            objects.tiling = None;
        }
        let mut faces = FaceDetector::new(rt, options.intra_threads, options.face_threshold)?;
        if options.face_survey {
            faces.survey_side = Some(face::survey::SURVEY_SIDE);
        }
        Ok(Analyzer {
            faces,
            objects,
            attributes: AttributeModels::new(rt, options.intra_threads, options.attributes)?,
            text: if options.text {
                Some(text::Reader::new(rt, options.intra_threads)?)
            } else {
                None
            },
            identity: match options.identity {
                true => Some(Embedder::new(rt, options.intra_threads)?),
                false => None,
            },
            tags: match options.tags {
                true => Some(Tagger::new(rt, options.intra_threads)?),
                false => None,
            },
            options,
        })
    }

    /// Analyses one file. Never fails: problems end up in `error`.
    pub fn analyze_path(&mut self, path: &Path) -> ImageResult {
        let prepared = prepare(path, &self.options);
        self.analyze_prepared(path, prepared)
    }

    /// Analyses an in-memory file (`path` is only its name in the report).
    pub fn analyze_bytes(&mut self, path: &Path, bytes: Vec<u8>) -> ImageResult {
        let prepared = prepare_bytes(path, bytes, &self.options);
        self.analyze_prepared(path, prepared)
    }

    /// The half of the analysis that needs the sessions.
    pub fn analyze_prepared(&mut self, path: &Path, prepared: Prepared) -> ImageResult {
        match prepared {
            Prepared::Decoded { loaded, metadata } => self.analyze_loaded(path, loaded, metadata),
            Prepared::Failed(r) => r,
        }
    }

    /// Analyses decoded pixels that come from no file of their own (a
    /// video frame): `name` is only how the result is labelled. Never
    /// fails: problems end up in `error`.
    pub fn analyze_rgb(&mut self, name: &str, rgb: &image::RgbImage) -> ImageResult {
        let (width, height) = rgb.dimensions();
        let mut result = ImageResult {
            path: name.to_string(),
            width,
            height,
            ..Default::default()
        };
        if let Err(e) = self.detect(rgb, &mut result) {
            result.error = Some(e.to_string());
        }
        result
    }

    fn analyze_loaded(
        &mut self,
        path: &Path,
        loaded: imageio::LoadedImage,
        metadata: exif::Metadata,
    ) -> ImageResult {
        // The file's bytes are not needed once decoded: a large PNG's can
        // be tens of MB held through the whole analysis.
        let imageio::LoadedImage { rgb, bytes, .. } = loaded;
        drop(bytes);
        let (width, height) = rgb.dimensions();
        let mut result = ImageResult {
            path: display_path(path),
            width,
            height,
            metadata,
            pixels_sha256: Some(doubts::pixels_sha256(&rgb)),
            ..Default::default()
        };
        if let Err(e) = self.detect(&rgb, &mut result) {
            result.error = Some(e.to_string());
        }
        doubts::judge(&mut result);
        result
    }

    /// Runs one model of this analyzer on an input recorded by the probe
    /// (`probe::Record::inputs`), reading its outputs: the inference-only
    /// work `onlooker bench` sets against the whole pipeline. Every model
    /// goes through `runtime::Model::run`, the detectors' own
    /// output checks included; faces and objects also decode their
    /// candidates, as their inference stage does. A model this analyzer
    /// does not run does nothing.
    pub fn run_model(
        &mut self,
        model: ModelId,
        input: &ndarray::Array4<f32>,
    ) -> Result<(), ImageError> {
        match model {
            ModelId::Yunet | ModelId::YunetDynamic => self.faces.infer(input).map(drop),
            ModelId::Yolox => self.objects.infer(input).map(drop),
            ModelId::Age | ModelId::Gender | ModelId::Expression => {
                match self.attributes.as_mut() {
                    Some(a) => a.replay(model, input),
                    None => Ok(()),
                }
            }
            ModelId::TextDet | ModelId::TextCls | ModelId::TextRec => match self.text.as_mut() {
                Some(t) => t.replay(model, input),
                None => Ok(()),
            },
            ModelId::Tags => match self.tags.as_mut() {
                Some(t) => t.replay(input),
                None => Ok(()),
            },
            ModelId::Identity
            | ModelId::TextDict
            | ModelId::Gazetteer
            | ModelId::TagSynsets
            | ModelId::TagLemmas
            | ModelId::Countries
            | ModelId::CountryNames => Ok(()),
        }
    }

    fn detect(&mut self, rgb: &image::RgbImage, r: &mut ImageResult) -> Result<(), ImageError> {
        // Objects first: the face survey looks again where small people
        // stand without a face.
        r.objects = self.objects.detect(rgb)?;
        let people: Vec<BBox> = r
            .objects
            .iter()
            .filter(|o| o.class_id == objects::PERSON)
            .map(|o| o.bbox)
            .collect();
        r.faces = self.faces.detect_among(rgb, &people)?;
        // The expression model's ArcFace crops, kept for the identity
        // model when both run (empty otherwise).
        let mut crops = Vec::new();
        if let Some(models) = self.attributes.as_mut() {
            let keep = self.identity.is_some();
            crops = models.annotate_keeping_crops(rgb, &mut r.faces, keep)?;
        }
        if let Some(tagger) = self.tags.as_mut() {
            r.tags = tagger.tag(rgb)?;
        }
        let counts = objects::counts(&r.objects);
        r.people = counts.iter().find(|c| c.0 == "person").map_or(0, |c| c.1);
        r.scene = objects::scene_line(&counts, &r.tags);
        r.object_counts = counts.into_iter().collect();
        if let Some(embedder) = self.identity.as_mut() {
            let clock = probe::clock();
            for (i, f) in r.faces.iter_mut().enumerate() {
                // After the objects: a face on a cat gets no identity.
                let embedded = match identity::not_a_person(f, &r.objects) {
                    Some(why) => Err(why),
                    None => {
                        let crop = crops.get(i).and_then(Option::as_ref);
                        embedder.embed_face_with(rgb, f, crop)?
                    }
                };
                f.identity = Some(FaceIdentity {
                    person: None,
                    no_identity: embedded.as_ref().err().copied(),
                });
                f.embedding = embedded.ok();
            }
            clock.stop_identity(r.faces.iter().filter(|f| f.embedding.is_some()).count());
        }
        if let Some(reader) = self.text.as_mut() {
            r.text = reader.read(rgb)?;
        }
        Ok(())
    }
}
