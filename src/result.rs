//! The results, as data: what one image yields (faces with landmarks,
//! pose, quality and attributes; objects; metadata) and what a batch yields
//! (summary, findings), in the shape they serialise to (schema in
//! README.md). A leaf: the detectors fill these types, the sinks render
//! them, and nothing here depends on either.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::exif::{Metadata, Timestamp};
use crate::geometry::{round1, BBox};

pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema of the document (`--json`, `report.json`), generated
/// from these types; each `--jsonl` line is its `ImageResult` definition.
/// Published as `schema/onlooker.schema.json` (tests/schema.rs keeps the
/// two equal).
pub fn schema() -> schemars::Schema {
    // The serialising contract: a field skipped when empty is optional.
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut s = generator.into_root_schema_for::<Document<'static>>();
    s.insert("title".into(), "onlooker document".into());
    s
}

// ---- one face ----

/// A point `[x, y]` in upright image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point(pub f32, pub f32);

impl JsonSchema for Point {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Point".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "[x, y] in upright image pixels",
            "type": "array",
            "items": {"type": "number"},
            "minItems": 2,
            "maxItems": 2
        })
    }
}

impl Serialize for Point {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [round1(self.0), round1(self.1)].serialize(s)
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let [x, y] = <[f32; 2]>::deserialize(d)?;
        Ok(Point(x, y))
    }
}

/// YuNet's five landmarks; left and right as seen in the image.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Landmarks {
    pub left_eye: Point,
    pub right_eye: Point,
    pub nose: Point,
    pub mouth_left: Point,
    pub mouth_right: Point,
}

impl Landmarks {
    pub fn from_array(p: [[f32; 2]; 5]) -> Self {
        let pt = |i: usize| Point(p[i][0], p[i][1]);
        Landmarks {
            left_eye: pt(0),
            right_eye: pt(1),
            nose: pt(2),
            mouth_left: pt(3),
            mouth_right: pt(4),
        }
    }

    pub fn to_array(&self) -> [[f32; 2]; 5] {
        [
            self.left_eye,
            self.right_eye,
            self.nose,
            self.mouth_left,
            self.mouth_right,
        ]
        .map(|p| [p.0, p.1])
    }

    pub(crate) fn map(&self, f: impl Fn(Point) -> Point) -> Self {
        Landmarks {
            left_eye: f(self.left_eye),
            right_eye: f(self.right_eye),
            nose: f(self.nose),
            mouth_left: f(self.mouth_left),
            mouth_right: f(self.mouth_right),
        }
    }
}

/// A detected face and what can be read from it without another model.
/// Field order is the JSON order. New fields should implement `Default` so
/// that `Face { bbox, score, landmarks, ..Default::default() }` keeps
/// working.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Face {
    #[serde(rename = "box")]
    pub bbox: BBox,
    pub score: f32,
    pub landmarks: Landmarks,
    pub head_pose: HeadPose,
    pub blur: Blur,
    pub exposure: Exposure,
    /// Shorter side of the box, in pixels of the upright image.
    pub size_px: u32,
    /// The smallest face a cloud service documents it detects in this image
    /// (see `face::quality::cloud_min_face_px`).
    pub cloud_min_size_px: u32,
    /// True when `size_px` is under `cloud_min_size_px`: onlooker finds a
    /// face the cloud service says it would not.
    pub below_cloud_min_size: bool,
    /// Age, gender and expression, when computed (see `attributes`).
    #[serde(flatten)]
    pub attributes: FaceAttributes,
    /// `person` and, when the face got no identity, `no_identity`; absent
    /// when identity was not computed (`--no-identity`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub identity: Option<FaceIdentity>,
    /// The face's embedding (biometric data): kept in memory for the
    /// persons pass, never serialised from here.
    #[serde(skip)]
    pub embedding: Option<crate::identity::Embedding>,
    /// Why this face's detection or attributes are in doubt, judged once
    /// per image after every detector ran (`doubts::judge`); every view
    /// shows these, and faces doubted as [`Doubt::NoPerson`] stay out of
    /// the headline counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub doubts: Vec<Doubt>,
    /// The embedding as written, only when the user asks for it
    /// (`--embeddings` with `--json`/`--jsonl`): 128 numbers,
    /// L2-normalised, compared by dot product. Biometric data: it
    /// identifies the person.
    #[serde(rename = "embedding", skip_serializing_if = "Option::is_none")]
    pub embedding_written: Option<crate::identity::Embedding>,
}

/// Evidence in this run that a face, or what was guessed about it, may be
/// wrong.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Doubt {
    /// The object model found no person anywhere in the photo: the "face"
    /// may be an animal's, a statue's or a pattern's.
    NoPerson,
    /// The face lies inside an animal's box (cat, dog, ...) and no
    /// person's: probably the animal's face.
    InsideAnimal,
    /// Gender was guessed with the model's own probability under
    /// `doubts::GENDER_CONFIDENCE`.
    UncertainGender,
    /// Attributes were guessed on a face smaller than the cloud services'
    /// minimum face size (they would not have answered).
    AttributesBelowCloudMinimum,
}

/// Who a face is, as far as the batch tells.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct FaceIdentity {
    /// Person id (from 1, numbered by first appearance in input order) once
    /// the batch's persons pass has run; `null` for faces with no
    /// embedding, and in `--jsonl` lines, which are written before the
    /// persons exist.
    pub person: Option<u32>,
    /// Why the face got no embedding (too small, too blurred, turned away).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_identity: Option<crate::identity::Unreliable>,
}

/// Head pose in degrees, from the landmarks alone.
///
/// - `roll`: the angle of the eye line, positive when the head tilts
///   clockwise in the image (the image-right eye lower). Exact up to the
///   landmark precision.
/// - `yaw`: positive when the face turns towards the image's right.
/// - `pitch`: positive when the face tilts up (chin up).
///
/// The angles compose as "nod by pitch, then turn by yaw, then tilt by roll
/// in the image plane"; in that order the eye line stays level under yaw
/// and pitch, so roll is read off it exactly.
///
/// Yaw and pitch are approximate. With the roll undone, the landmarks are
/// read as a scaled orthographic view of a generic face: eyes and mouth
/// corners in one plane, the nose tip `face::quality::NOSE_DEPTH` eye distances in front
/// of it. Tilting by pitch `φ` moves the nose tip along the eye-mouth line:
/// its relative height `r` (0 at the eye line, 1 at the mouth) becomes
/// `r0 - (d/H)·tan φ`, with `r0` and `H` (eye-mouth distance) measured on
/// frontal faces. Turning by yaw `θ` moves the nose tip off the
/// eye-mouth midline by `d·sin θ / cos φ` while the half eye distance
/// shrinks to `w·cos θ`, so `tan θ = offset / half_eye · (w/d) · cos φ`.
/// Real faces differ from the generic one (nose length, landmark placement,
/// perspective), so expect errors of 10-15 degrees, more beyond 45 degrees
/// of yaw where the landmarks themselves degrade.
// The schema is the derived one: serialisation only rounds the same fields.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize, JsonSchema)]
pub struct HeadPose {
    pub roll: f32,
    pub yaw: f32,
    pub pitch: f32,
}

impl Serialize for HeadPose {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Rounded {
            roll: f32,
            yaw: f32,
            pitch: f32,
        }
        Rounded {
            roll: round1(self.roll),
            yaw: round1(self.yaw),
            pitch: round1(self.pitch),
        }
        .serialize(s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BlurLevel {
    #[default]
    Low,
    Medium,
    High,
}

/// How blurred the face is: `value` 0 (sharp) .. 1 (no detail left).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Blur {
    pub level: BlurLevel,
    #[serde(serialize_with = "round2")]
    pub value: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExposureLevel {
    Under,
    #[default]
    Good,
    Over,
}

/// How the face is exposed: `value` 0 (black) .. 1 (white), 0.5 ideal.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Exposure {
    pub level: ExposureLevel,
    #[serde(serialize_with = "round2")]
    pub value: f32,
}

fn round2<S: Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f32((v * 100.0).round() / 100.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Attribute {
    Age,
    Gender,
    Expression,
}

/// The binary gender output: the model's label and its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Gender {
    #[serde(deserialize_with = "known_label")]
    pub label: Label,
    pub confidence: f32,
}

/// The expression output: the most likely label and the probability of
/// every label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Expression {
    #[serde(deserialize_with = "known_label")]
    pub label: Label,
    #[serde(deserialize_with = "known_labels")]
    pub scores: BTreeMap<&'static str, f32>,
}

/// What the attribute models say about one face. Flattened into the face's
/// JSON object; a field that was not computed is left out.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct FaceAttributes {
    /// Estimated age in years, one decimal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<Expression>,
}

impl FaceAttributes {
    pub fn is_empty(&self) -> bool {
        self.age.is_none() && self.gender.is_none() && self.expression.is_none()
    }

    /// The attributes present, for choosing which caveats apply.
    pub fn present(&self) -> impl Iterator<Item = Attribute> {
        [
            self.age.map(|_| Attribute::Age),
            self.gender.as_ref().map(|_| Attribute::Gender),
            self.expression.as_ref().map(|_| Attribute::Expression),
        ]
        .into_iter()
        .flatten()
    }

    /// A short line for the terminal, e.g. `female 0.99, ~29 y, happy 1.00`.
    pub fn summary_line(&self) -> String {
        let mut parts = Vec::new();
        if let Some(g) = &self.gender {
            parts.push(format!("{} {:.2}", g.label, g.confidence));
        }
        if let Some(a) = self.age {
            parts.push(format!("~{a:.0} y"));
        }
        if let Some(e) = &self.expression {
            let p = e.scores.get(e.label).copied().unwrap_or_default();
            parts.push(format!("{} {p:.2}", e.label));
        }
        parts.join(", ")
    }
}

/// A caveat shown wherever attributes appear: who said it, which
/// attributes it concerns, and what it says (paraphrased, not quoted).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Caveat {
    pub source: &'static str,
    pub about: &'static [Attribute],
    pub text: &'static str,
}

// ---- one object, one image ----

/// A detected object in upright image pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Object {
    #[serde(deserialize_with = "known_label")]
    pub label: Label,
    pub class_id: usize,
    pub score: f32,
    #[serde(rename = "box")]
    pub bbox: BBox,
}

// ---- text ----

/// An identifying kind of text line. A line gets the first kind that
/// matches, in the order of this enum (patterns in `text::kind`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TextKind {
    /// `name@domain.tld` anywhere in the line.
    Email,
    /// `http(s)://...`, `www.<name>.<name>`, or a name ending in a common
    /// top-level domain (`.com`, `.org`, `.net`, ...), anywhere in the line.
    Url,
    /// A date: `dd/mm/yyyy`-like with `/`, `.` or `-` (also year first), or a
    /// day and an English month name (`14 March 2026`, `March 14, 2026`).
    Date,
    /// A run of 7 to 15 digits, optionally after `+`, with spaces, dots,
    /// dashes or brackets between them (`+44 20 7946 0958`).
    Phone,
    /// The whole line is 5 to 9 capital letters and digits, at least two of
    /// each, in up to three groups split by a space or dash (`AB12 CDE`).
    LicencePlate,
}

impl TextKind {
    /// The kind in plain words, with its article: "an email address".
    pub fn phrase(self) -> &'static str {
        match self {
            TextKind::Email => "an email address",
            TextKind::Url => "a web address",
            TextKind::Date => "a date",
            TextKind::Phone => "a phone number",
            TextKind::LicencePlate => "a licence-plate-like code",
        }
    }

    /// The JSON name (`licence_plate`), for chips and CSV cells.
    pub fn name(self) -> &'static str {
        match self {
            TextKind::Email => "email",
            TextKind::Url => "url",
            TextKind::Date => "date",
            TextKind::Phone => "phone",
            TextKind::LicencePlate => "licence_plate",
        }
    }
}

/// One line of text read in the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TextLine {
    /// What the line says, as recognised: untrusted, escape it wherever it
    /// is shown.
    pub text: String,
    /// Mean probability of the recognised characters, 0 to 1.
    pub score: f32,
    /// Axis-aligned bounds `[x, y, width, height]` in upright image pixels.
    #[serde(rename = "box")]
    pub bbox: BBox,
    /// The line's rotated rectangle in upright image pixels, clockwise from
    /// the text's own top-left corner (so an upside-down line starts at its
    /// bottom-right in the image).
    pub polygon: [[f32; 2]; 4],
    /// The identifying kind of the line, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<TextKind>,
}

// ---- tags ----

/// What the whole picture shows, as a cloud service's image tags: one of
/// the classifier's 1000 ImageNet classes, by its first English name
/// (`espresso`, `tabby`, `Chihuahua`), see `tags`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tag {
    pub name: String,
    /// The classifier's probability for the class, 0 to 1.
    pub confidence: f32,
}

/// What onlooker learned from one image. Field order is the JSON order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
pub struct ImageResult {
    pub path: String,
    /// Size of the upright image (after EXIF orientation); 0 when undecodable.
    pub width: u32,
    pub height: u32,
    pub faces: Vec<Face>,
    pub objects: Vec<Object>,
    /// Lines of text read in the image, in reading order (see `text`);
    /// empty when text reading is off.
    pub text: Vec<TextLine>,
    /// What the whole picture shows, most likely first (at most
    /// `tags::TOP_K`, each at least `tags::DEFAULT_THRESHOLD`); empty when
    /// tagging is off (`--no-tags`).
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub people: usize,
    #[serde(deserialize_with = "known_labels")]
    pub object_counts: BTreeMap<&'static str, usize>,
    pub scene: String,
    /// What the file's EXIF block says (see `exif`); kept even when the
    /// pixels cannot be decoded.
    pub metadata: Metadata,
    pub error: Option<String>,
    /// SHA-256 of the decoded, upright RGB pixels (hex): equal for two
    /// files holding the same picture whatever their metadata or encoding
    /// container. Absent when the pixels could not be decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixels_sha256: Option<String>,
    /// Index (in `images`) of the first image with the same pixels, set
    /// once the batch is complete; its detections are that image's, and the
    /// totals count them once. Always absent in `--jsonl` lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<usize>,
}

/// One of a model's labels (a fixed table's strings). An alias so that
/// the derived `Deserialize` does not take the field for one borrowed
/// from the input (it is read with [`known_label`]).
pub type Label = &'static str;

/// A model's label read back (results the workshop page sends back for
/// the batch findings, `serve`): one of the labels the models give, the
/// only strings a label can be.
pub(crate) fn known_label<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let s = String::deserialize(d)?;
    static_label(&s)
        .ok_or_else(|| serde::de::Error::custom(format!("not a label the models give: {s:?}")))
}

/// A map keyed by the models' labels, read back (see [`known_label`]).
fn known_labels<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
    d: D,
) -> Result<BTreeMap<&'static str, V>, D::Error> {
    BTreeMap::<String, V>::deserialize(d)?
        .into_iter()
        .map(|(k, v)| {
            static_label(&k).map(|k| (k, v)).ok_or_else(|| {
                serde::de::Error::custom(format!("not a label the models give: {k:?}"))
            })
        })
        .collect()
}

fn static_label(s: &str) -> Option<&'static str> {
    crate::objects::COCO_LABELS
        .iter()
        .chain(&crate::attributes::GENDER_LABELS)
        .chain(&crate::attributes::EXPRESSION_LABELS)
        .find(|l| **l == s)
        .copied()
}

// ---- a batch ----

/// Totals over a batch.
#[derive(Debug, Clone, Serialize, JsonSchema, Default, PartialEq)]
pub struct Summary {
    pub images: usize,
    pub analysed: usize,
    pub failed: usize,
    pub faces: usize,
    pub objects: usize,
    pub people: usize,
    /// Lines of text read, over all images.
    pub text_lines: usize,
    pub elapsed_seconds: f64,
    pub images_per_second: f64,
    /// What the files' metadata, and the text read in the photos, give
    /// away across the batch.
    pub findings: Findings,
    /// What the providers of such services, and these models' limits, say
    /// about face attributes; present only when attributes were computed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attribute_caveats: Vec<&'static Caveat>,
    /// The people the batch's faces were grouped into (persons pass);
    /// absent when identity was not computed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub persons: Vec<crate::identity::persons::Person>,
    /// Images whose pixels repeat an earlier image's: their faces,
    /// objects, people and text lines are not counted again above.
    #[serde(skip_serializing_if = "is_zero")]
    pub duplicates: usize,
    /// Faces counted in `faces` on photos where no person was detected
    /// (`Doubt::NoPerson`): perhaps not human faces at all.
    #[serde(skip_serializing_if = "is_zero")]
    pub faces_without_person: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize, JsonSchema)]
pub struct Document<'a> {
    pub version: u32,
    pub images: &'a [ImageResult],
    /// The videos, in input order (see `video`).
    pub videos: &'a [VideoResult],
    pub summary: &'a Summary,
}

/// The batch findings (`summary.findings` in the JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Findings {
    pub timeline: Vec<TimelineEntry>,
    pub places: Vec<Place>,
    pub devices: Vec<Device>,
    pub sentences: Vec<Sentence>,
    /// Why the places have no names although the photos state positions
    /// (the offline gazetteer is missing or does not verify): positions are
    /// then given as coordinates only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub places_unnamed: Option<String>,
}

/// One dated photo, in capture-time order.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TimelineEntry {
    pub image: String,
    pub taken_at: Timestamp,
    /// Index into `places`, when the photo has a position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<usize>,
    /// Index into `devices`, when the photo names its camera.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<usize>,
}

/// GPS positions within `findings::PLACE_RADIUS_KM` of each other's centre.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Place {
    /// Centre of the positions, signed decimal degrees.
    pub latitude: f64,
    pub longitude: f64,
    /// Farthest position from the centre, km.
    pub radius_km: f64,
    pub images: Vec<String>,
    /// The centre described in words from the offline gazetteer (GeoNames),
    /// when it was there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<PlaceName>,
}

/// A position described in words from the GeoNames places of 1000 people
/// or more (`gazetteer`): the nearest such place, and a larger place nearby
/// that names its region (Paris, Berlin, Tokyo) when there is one.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PlaceName {
    /// "near Saint-Mande, 3.1 km east of central Paris (Ile-de-France, FR)".
    pub words: String,
    /// The place the position is most likely in or by ("Paris" when a
    /// larger place is near, else the nearest place): what headlines say.
    pub area: String,
    pub nearest: Locality,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<Locality>,
    /// First-level region (state, province, French region), as GeoNames
    /// spells it.
    pub region: String,
    /// ISO 3166 country code.
    pub country: String,
}

/// A GeoNames place and where the described position lies from it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Locality {
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
    /// From this place to the position, km.
    pub distance_km: f64,
    /// Compass direction from this place to the position ("east-southeast").
    pub direction: String,
}

/// A camera as the files name it. With a serial number it is one physical
/// device; without, only a model that several cameras may share.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Device {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    pub images: Vec<String>,
}

/// What a finding is about, strongest first: `Ord` is the severity order
/// (a name says who; a route says where someone went; a serial or a face
/// ties photos together; the rest says when and where photos were taken).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A name the files carry (owner, artist).
    Name,
    /// A day's positions, in time order, across several places.
    Route,
    /// A serial number tying photos to one camera.
    Device,
    /// One face recognised in several photos.
    Person,
    /// Identifying text read in a photo (email, phone, ...).
    Text,
    /// A copyright holder the files name (often a notice, not a person).
    Copyright,
    /// Several photos taken at one place.
    Place,
    /// The photos of one day: when, where, with what.
    Day,
    /// Photos naming one camera model, without a serial.
    Model,
}

/// A plain statement and the evidence it is built from.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Sentence {
    /// What the finding is about; its severity order (`findings::by_severity`).
    pub kind: FindingKind,
    pub text: String,
    /// The same claim in a short line of plain words, dates written out
    /// ("Friday 1 May 2026"): what the verdict and the findings list show.
    pub headline: String,
    pub evidence: Vec<Evidence>,
}

/// One image and the fields a sentence relies on: paths inside its
/// `metadata` (e.g. "gps.latitude"), or `text` for its text lines.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Evidence {
    pub image: String,
    pub fields: Vec<&'static str>,
}

// ---- a video ----

/// A stretch of a video, in seconds from its start (two decimals in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
pub struct TimeRange {
    pub start: f64,
    pub end: f64,
}

impl Serialize for TimeRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Rounded {
            start: f64,
            end: f64,
        }
        Rounded {
            start: round_seconds(self.start),
            end: round_seconds(self.end),
        }
        .serialize(s)
    }
}

/// Seconds to two decimals, for JSON.
pub fn round_seconds(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn seconds2<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round_seconds(*v))
}

/// The clearest view of a person's face in a video: when, and where in
/// that frame (upright frame pixels).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BestFace {
    #[serde(serialize_with = "seconds2")]
    pub frame_time: f64,
    #[serde(rename = "box")]
    pub bbox: BBox,
}

/// One person on screen in a video: the id is the batch's person id, the
/// same as on that person's faces in photos of the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VideoPerson {
    pub id: u32,
    pub appearances: Vec<TimeRange>,
    pub best_face: BestFace,
}

/// An object class and when it is visible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VideoObject {
    #[serde(deserialize_with = "known_label")]
    pub label: Label,
    pub ranges: Vec<TimeRange>,
}

/// A tag of the sampled frames (`Tag::name`), and when frames were given
/// it: a video's labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VideoTag {
    pub name: String,
    pub ranges: Vec<TimeRange>,
}

/// A line of text as read, and when it is visible (untrusted: escape it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VideoText {
    pub text: String,
    pub ranges: Vec<TimeRange>,
}

/// What onlooker learned from one video: who is on screen when, which
/// objects and text appear when. Field order is the JSON order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VideoResult {
    pub path: String,
    /// Length of the video, seconds (0 when unknown).
    #[serde(serialize_with = "seconds2")]
    pub duration_seconds: f64,
    /// Frames sampled (at `--fps`) and analysed.
    pub frames_analysed: u64,
    /// Size of the upright frames; 0 when the video could not be read.
    pub width: u32,
    pub height: u32,
    /// People whose faces were reliable enough to tell who they are, by id.
    pub persons: Vec<VideoPerson>,
    /// Object classes, in order of first appearance.
    pub objects: Vec<VideoObject>,
    /// Text lines, in order of first appearance.
    pub text: Vec<VideoText>,
    /// Tags of the sampled frames (each frame's, as a photo's), in order
    /// of first appearance; empty with `--no-tags`.
    pub tags: Vec<VideoTag>,
    /// Why the video could not be (fully) analysed; what was analysed
    /// before a problem is kept.
    pub error: Option<String>,
}
