//! The report folder of `onlooker find --out DIR`: the reference face and
//! every matched face cut out side by side (`images/NNN-name.jpg`), the
//! document as `report.json`, and `index.html` rendered by the askama
//! template `templates/find.html`. The same folder rules as `analyze
//! --out` ([`OutputDir::check`]): never on or inside an input, an earlier
//! report is replaced, other files need `--force`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use askama::Template;

use super::html::Annotated;
use super::output::{self, OutputDir, ReportError, IMAGES, INDEX, JSON, MARKER};
use super::{thumbs, write_atomic, write_atomic_unsynced};
use crate::find::{box_text, FindDocument};
use crate::identity;
use crate::imageio::{self, DecodeLimits};

#[derive(Template)]
#[template(path = "find.html")]
struct FindPage {
    version: &'static str,
    reference: FaceView,
    very_likely: String,
    possible: String,
    matches: Vec<MatchView>,
    caveats: Vec<(&'static str, &'static str)>,
}

struct FaceView {
    /// The thumbnail, relative to the folder, or why there is none.
    thumb: Result<String, String>,
    path: String,
    bbox: String,
}

struct MatchView {
    face: FaceView,
    similarity: String,
    verdict: &'static str,
    strong: bool,
}

/// Writes the report of `doc` into `out`. `reference` is the reference
/// photo's file, `sources[i]` the file of `doc.matches[i]`; each file is
/// decoded once. A thumbnail that cannot be made is named on the page, not
/// fatal. Returns the page's path.
pub fn write(
    out: &OutputDir,
    doc: &FindDocument,
    reference: &Path,
    sources: &[PathBuf],
    limits: &DecodeLimits,
) -> Result<PathBuf, ReportError> {
    let dir = out.path();
    let images_dir = dir.join(IMAGES);
    let was_report = dir.join(MARKER).is_file();
    output::begin(dir)?;

    let count = doc.matches.len() + 1;
    let mut decoded: HashMap<PathBuf, Result<image::RgbImage, String>> = HashMap::new();
    let mut thumb = |i: usize, source: &Path, path: &str, bbox| -> Result<String, String> {
        let rgb = decoded
            .entry(source.to_path_buf())
            .or_insert_with(|| {
                imageio::load(source, limits)
                    .map(|l| l.rgb)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)?;
        let jpeg = thumbs::jpeg(rgb, bbox)?;
        let name = output::copy_name(i, count, path);
        let dest = images_dir.join(&name);
        write_atomic_unsynced(&dest, &jpeg)
            .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
        Ok(format!("{IMAGES}/{name}"))
    };
    let reference_view = FaceView {
        thumb: thumb(0, reference, &doc.reference.path, &doc.reference.bbox),
        path: doc.reference.path.clone(),
        bbox: box_text(&doc.reference.bbox),
    };
    let matches: Vec<MatchView> = doc
        .matches
        .iter()
        .zip(sources)
        .enumerate()
        .map(|(i, (m, source))| MatchView {
            face: FaceView {
                thumb: thumb(i + 1, source, &m.path, &m.bbox),
                path: m.path.clone(),
                bbox: box_text(&m.bbox),
            },
            similarity: format!("{:.3}", m.similarity),
            verdict: m.verdict.as_str(),
            strong: m.verdict == identity::Verdict::VeryLikely,
        })
        .collect();
    if was_report {
        let written: Vec<Annotated> = std::iter::once(&reference_view)
            .chain(matches.iter().map(|m| &m.face))
            .filter_map(|f| f.thumb.clone().ok().map(Annotated::Written))
            .collect();
        output::remove_stale(dir, &written);
        output::remove_all_thumbs(dir);
    }

    let json_path = dir.join(JSON);
    let json = serde_json::to_vec_pretty(doc).map_err(|e| ReportError::Write {
        path: json_path.clone(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&json_path, &json).map_err(|source| ReportError::Write {
        path: json_path.clone(),
        source,
    })?;
    let page = FindPage {
        version: env!("CARGO_PKG_VERSION"),
        reference: reference_view,
        very_likely: format!("{:.2}", identity::VERY_LIKELY),
        possible: format!("{:.2}", identity::POSSIBLE),
        matches,
        caveats: identity::CAVEATS
            .iter()
            .map(|c| (c.source, c.text))
            .collect(),
    };
    let mut html = page.render().unwrap_or_default();
    html.push('\n');
    let index = dir.join(INDEX);
    write_atomic(&index, html.as_bytes()).map_err(|source| ReportError::Write {
        path: index.clone(),
        source,
    })?;
    Ok(index)
}
