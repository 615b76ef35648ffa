//! Helpers shared by the integration tests (each test binary uses some).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use image::RgbImage;
use onlooker::imageio::{self, DecodeLimits};

pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

pub fn sample(name: &str) -> PathBuf {
    samples().join(name)
}

/// A sample decoded as the pipeline decodes it (limits, EXIF orientation).
pub fn load(name: &str) -> RgbImage {
    imageio::load(&sample(name), &DecodeLimits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .rgb
}

/// The built binary, finding its runtime and models the default way: the
/// caller's ONLOOKER_MODELS / ORT_DYLIB_PATH must not leak into the test.
pub fn onlooker() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onlooker"));
    c.env_remove("ONLOOKER_MODELS").env_remove("ORT_DYLIB_PATH");
    c
}
