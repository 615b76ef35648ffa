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

    pub fn model(&self, name: &str) -> Result<&Entry, SetupError> {
        self.models
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| SetupError::UnknownModel { name: name.into() })
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
        for name in ["yunet", "yunet_dynamic", "yolox"] {
            let e = m.model(name).unwrap();
            assert_eq!(e.sha256.len(), 64, "{name}");
            assert!(
                e.url.is_some() || e.package.is_some(),
                "{name} has a source"
            );
        }
        assert!(matches!(
            m.model("nope"),
            Err(SetupError::UnknownModel { .. })
        ));
    }

    #[test]
    fn verify_tells_missing_mismatch_and_verified_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Manifest::builtin().model("yunet").unwrap().clone();
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
