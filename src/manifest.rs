//! The model manifest (`models/models.toml`): name, file, sha256, source and
//! licence of the runtime and of every model. The setup script reads the same
//! file, so the pinned hashes live in exactly one place.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::SetupError;

/// The manifest as built into the binary, so `onlooker` can verify files
/// wherever it is run from.
pub const BUILTIN: &str = include_str!("../models/models.toml");

/// Every model (and model data file) onlooker uses, by its manifest name.
/// Code names a model only through this enum; a unit test checks that it
/// and `models.toml` list the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelId {
    /// YuNet with a fixed 640x640 input (kept for comparisons).
    Yunet,
    /// YuNet taking any input whose sides are multiples of 32: the face
    /// detector.
    YunetDynamic,
    Yolox,
    Age,
    Gender,
    Expression,
    TextDet,
    TextRec,
    /// The recogniser's dictionary (a text file, not a model).
    TextDict,
    TextCls,
    Identity,
    /// GeoNames place names (a CSV, not a model), optional: see `gazetteer`.
    Gazetteer,
    /// The ImageNet-1k classifier (MobileNetV2 int8): the image's tags.
    Tags,
    /// The classifier's 1000 WordNet ids in output order (a text file).
    TagSynsets,
    /// WordNet id to English names (a text file): the tags' names.
    TagLemmas,
    /// Natural Earth country outlines (a shapefile's `.shp`), optional: see
    /// `countries`.
    Countries,
    /// The countries' attribute table (the `.dbf` beside the `.shp`).
    CountryNames,
}

impl ModelId {
    pub const ALL: [ModelId; 17] = [
        ModelId::Yunet,
        ModelId::YunetDynamic,
        ModelId::Yolox,
        ModelId::Age,
        ModelId::Gender,
        ModelId::Expression,
        ModelId::TextDet,
        ModelId::TextRec,
        ModelId::TextDict,
        ModelId::TextCls,
        ModelId::Identity,
        ModelId::Gazetteer,
        ModelId::Tags,
        ModelId::TagSynsets,
        ModelId::TagLemmas,
        ModelId::Countries,
        ModelId::CountryNames,
    ];

    /// The entry's `name` in `models.toml`.
    pub fn name(self) -> &'static str {
        match self {
            ModelId::Yunet => "yunet",
            ModelId::YunetDynamic => "yunet_dynamic",
            ModelId::Yolox => "yolox",
            ModelId::Age => "age",
            ModelId::Gender => "gender",
            ModelId::Expression => "expression",
            ModelId::TextDet => "text_det",
            ModelId::TextRec => "text_rec",
            ModelId::TextDict => "text_dict",
            ModelId::TextCls => "text_cls",
            ModelId::Identity => "identity",
            ModelId::Gazetteer => "gazetteer",
            ModelId::Tags => "tags",
            ModelId::TagSynsets => "tags_synsets",
            ModelId::TagLemmas => "tags_lemmas",
            ModelId::Countries => "countries",
            ModelId::CountryNames => "country_names",
        }
    }

    pub fn from_name(name: &str) -> Option<ModelId> {
        ModelId::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The name of the model's one input tensor (`None` for a data file).
    pub fn input_name(self) -> Option<&'static str> {
        match self {
            ModelId::Yunet | ModelId::YunetDynamic => Some("input"),
            ModelId::Yolox | ModelId::Age | ModelId::Gender => Some("images"),
            ModelId::Expression => Some("data"),
            ModelId::TextDet | ModelId::TextRec | ModelId::TextCls => Some("x"),
            ModelId::Identity => Some("input0"),
            ModelId::Tags => Some("input"),
            ModelId::TextDict
            | ModelId::Gazetteer
            | ModelId::TagSynsets
            | ModelId::TagLemmas
            | ModelId::Countries
            | ModelId::CountryNames => None,
        }
    }
}

impl std::fmt::Display for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub name: String,
    pub file: String,
    pub sha256: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub package: Option<String>,
    #[serde(default)]
    pub member: Option<String>,
    pub licence: String,
    pub source: String,
    pub infers: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub runtime: Entry,
    #[serde(rename = "model", default)]
    pub models: Vec<Entry>,
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Self, SetupError> {
        toml::from_str(text).map_err(|e| SetupError::Manifest(e.to_string()))
    }

    pub fn builtin() -> Self {
        // The built-in text is checked by a unit test; a parse failure here is
        // a build defect, not user input.
        Self::parse(BUILTIN).expect("built-in models.toml parses")
    }

    pub fn model(&self, id: ModelId) -> Result<&Entry, SetupError> {
        self.models
            .iter()
            .find(|m| m.name == id.name())
            .ok_or_else(|| SetupError::UnknownModel {
                name: id.name().into(),
            })
    }
}

/// What `verify` found for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Verified,
    Missing,
    Mismatch { actual: String },
}

pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Checks one manifest entry against the file of that name in `dir`.
pub fn verify(entry: &Entry, dir: &Path) -> std::io::Result<FileState> {
    let path = dir.join(&entry.file);
    if !path.is_file() {
        return Ok(FileState::Missing);
    }
    let actual = sha256_file(&path)?;
    Ok(if actual == entry.sha256 {
        FileState::Verified
    } else {
        FileState::Mismatch { actual }
    })
}

/// One file of the manifest and what `verify` found for it.
#[derive(Debug, Clone)]
pub struct FileStatus {
    pub entry: Entry,
    pub state: FileState,
}

/// The runtime and every model of the built-in manifest, checked against
/// the files in `dir` (what `onlooker models` lists).
pub fn status(dir: &Path) -> Result<Vec<FileStatus>, SetupError> {
    let manifest = Manifest::builtin();
    std::iter::once(manifest.runtime)
        .chain(manifest.models)
        .map(|entry| {
            let state = verify(&entry, dir).map_err(|source| SetupError::Io {
                path: dir.join(&entry.file),
                source,
            })?;
            Ok(FileStatus { entry, state })
        })
        .collect()
}

/// The listing of [`status`] for a terminal: per file its name, file name,
/// state, licence, source and what it infers.
pub fn render_status(dir: &Path, rows: &[FileStatus]) -> String {
    let mut out = format!("models folder: {}\n", dir.display());
    for FileStatus { entry, state } in rows {
        let state = match state {
            FileState::Verified => "verified".to_string(),
            FileState::Missing => "MISSING".to_string(),
            FileState::Mismatch { actual } => format!("SHA256 MISMATCH (found {actual})"),
        };
        out.push_str(&format!("{:<16} {:<26} {state}\n", entry.name, entry.file));
        out.push_str(&format!(
            "{:<16} licence {}; {}\n",
            "", entry.licence, entry.source
        ));
        out.push_str(&format!("{:<16} infers: {}\n", "", entry.infers));
    }
    out
}

/// Verifies an entry and turns anything but a match into the error that tells
/// the user what to run.
pub fn require_verified(entry: &Entry, dir: &Path) -> Result<std::path::PathBuf, SetupError> {
    let path = dir.join(&entry.file);
    let state = verify(entry, dir).map_err(|source| SetupError::Io {
        path: path.clone(),
        source,
    })?;
    match state {
        FileState::Verified => Ok(path),
        FileState::Missing => Err(SetupError::ModelMissing {
            name: entry.name.clone(),
            path,
        }),
        FileState::Mismatch { actual } => Err(SetupError::ModelChecksum {
            path,
            expected: entry.sha256.clone(),
            actual,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_lists_runtime_and_models() {
        let m = Manifest::builtin();
        assert_eq!(m.runtime.name, "onnxruntime");
        for id in ModelId::ALL {
            let e = m.model(id).unwrap();
            assert_eq!(e.sha256.len(), 64, "{id}");
            assert!(e.url.is_some() || e.package.is_some(), "{id} has a source");
        }
        let without_age = Manifest {
            models: m
                .models
                .iter()
                .filter(|e| e.name != "age")
                .cloned()
                .collect(),
            ..m.clone()
        };
        assert!(matches!(
            without_age.model(ModelId::Age),
            Err(SetupError::UnknownModel { name }) if name == "age"
        ));
    }

    #[test]
    fn every_model_id_has_one_manifest_entry_and_every_entry_an_id() {
        let m = Manifest::builtin();
        for id in ModelId::ALL {
            let n = m.models.iter().filter(|e| e.name == id.name()).count();
            assert_eq!(n, 1, "{id} has {n} entries in models.toml");
            assert_eq!(ModelId::from_name(id.name()), Some(id));
        }
        for e in &m.models {
            assert!(
                ModelId::from_name(&e.name).is_some(),
                "models.toml lists `{}`, which no ModelId names",
                e.name
            );
        }
        assert_eq!(m.models.len(), ModelId::ALL.len());
    }

    #[test]
    fn status_lists_the_runtime_and_every_model_with_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let m = Manifest::builtin();
        let age = m.model(ModelId::Age).unwrap();
        std::fs::write(dir.path().join(&age.file), b"abc").unwrap();
        let rows = status(dir.path()).unwrap();
        assert_eq!(rows.len(), 1 + ModelId::ALL.len());
        assert_eq!(rows[0].entry.name, "onnxruntime");
        assert_eq!(rows[0].state, FileState::Missing);
        let text = render_status(dir.path(), &rows);
        let age_line = text
            .lines()
            .find(|l| l.starts_with("age "))
            .expect("a line for age");
        assert!(
            age_line.contains("SHA256 MISMATCH (found ba7816bf"),
            "{age_line}"
        );
        assert!(text
            .lines()
            .any(|l| l.starts_with("yolox ") && l.ends_with("MISSING")));
        assert!(text.contains(&format!("infers: {}", age.infers)), "{text}");
    }

    #[test]
    fn verify_tells_missing_mismatch_and_verified_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Manifest::builtin().model(ModelId::Yunet).unwrap().clone();
        e.file = "m.onnx".into();
        assert_eq!(verify(&e, dir.path()).unwrap(), FileState::Missing);

        std::fs::write(dir.path().join("m.onnx"), b"abc").unwrap();
        // sha256("abc")
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(
            verify(&e, dir.path()).unwrap(),
            FileState::Mismatch { actual: abc.into() }
        );
        assert!(matches!(
            require_verified(&e, dir.path()),
            Err(SetupError::ModelChecksum { .. })
        ));
        e.sha256 = abc.into();
        assert_eq!(verify(&e, dir.path()).unwrap(), FileState::Verified);
    }
}
