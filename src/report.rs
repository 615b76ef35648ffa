//! The outputs of a run: the JSON document (schema in README.md) and the
//! short human summary printed to the terminal.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::pipeline::ImageResult;

pub const SCHEMA_VERSION: u32 = 1;

/// Totals over a batch.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Summary {
    pub images: usize,
    pub analysed: usize,
    pub failed: usize,
    pub faces: usize,
    pub objects: usize,
    pub people: usize,
    pub elapsed_seconds: f64,
    pub images_per_second: f64,
}

impl Summary {
    pub fn of(results: &[ImageResult], elapsed_seconds: f64) -> Self {
        let failed = results.iter().filter(|r| r.error.is_some()).count();
        Summary {
            images: results.len(),
            analysed: results.len() - failed,
            failed,
            faces: results.iter().map(|r| r.faces.len()).sum(),
            objects: results.iter().map(|r| r.objects.len()).sum(),
            people: results.iter().map(|r| r.people).sum(),
            elapsed_seconds,
            images_per_second: if elapsed_seconds > 0.0 {
                results.len() as f64 / elapsed_seconds
            } else {
                0.0
            },
        }
    }
}

#[derive(Serialize)]
pub struct Document<'a> {
    pub version: u32,
    pub images: &'a [ImageResult],
    pub summary: &'a Summary,
}

pub fn to_json(results: &[ImageResult], summary: &Summary) -> serde_json::Result<String> {
    serde_json::to_string_pretty(&Document {
        version: SCHEMA_VERSION,
        images: results,
        summary,
    })
}

/// Writes `contents` to `path` through a temporary file in the same folder
/// and a rename, so a reader never sees a half-written file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// The terminal summary: one line per image, then the totals.
pub fn human(results: &[ImageResult], summary: &Summary) -> String {
    let mut s: String = results.iter().map(image_line).collect();
    s.push_str(&totals_line(summary));
    s
}

/// One image's line of the terminal summary (printed as results stream).
pub fn image_line(r: &ImageResult) -> String {
    if let Some(e) = &r.error {
        return format!("{}: ERROR {e}\n", r.path);
    }
    format!(
        "{} ({}x{}): {} face{}; {}\n",
        r.path,
        r.width,
        r.height,
        r.faces.len(),
        if r.faces.len() == 1 { "" } else { "s" },
        r.scene
    )
}

/// The closing line: images, faces, objects, failures, elapsed, rate.
pub fn totals_line(summary: &Summary) -> String {
    format!(
        "{} images, {} faces, {} objects, {} failed, {:.2} s, {:.2} images/s\n",
        summary.images,
        summary.faces,
        summary.objects,
        summary.failed,
        summary.elapsed_seconds,
        summary.images_per_second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_failures_and_rate() {
        let ok = ImageResult {
            path: "a.jpg".into(),
            people: 2,
            ..Default::default()
        };
        let bad = ImageResult {
            path: "b.jpg".into(),
            error: Some("corrupt".into()),
            ..Default::default()
        };
        let s = Summary::of(&[ok, bad], 0.5);
        assert_eq!((s.images, s.analysed, s.failed, s.people), (2, 1, 1, 2));
        assert_eq!(s.images_per_second, 4.0);
    }

    #[test]
    fn json_document_has_the_contract_keys() {
        let r = ImageResult {
            path: "a.jpg".into(),
            width: 3,
            height: 2,
            ..Default::default()
        };
        let s = Summary::of(std::slice::from_ref(&r), 1.0);
        let v: serde_json::Value = serde_json::from_str(&to_json(&[r], &s).unwrap()).unwrap();
        assert_eq!(v["version"], 1);
        let img = &v["images"][0];
        for k in [
            "path", "width", "height", "faces", "objects", "metadata", "error",
        ] {
            assert!(img.get(k).is_some(), "missing {k}");
        }
        assert!(img["error"].is_null());
        assert_eq!(v["summary"]["images"], 1);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
