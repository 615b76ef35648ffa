//! The report folder: checking it is safe to write, writing the annotated
//! copies, `report.json`, `detections.csv` and `index.html` (each through a
//! temporary file and a rename), and keeping report folders out of the next
//! run's inputs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::html::{self, Annotated, PageProjection};
use super::keyframes::{self as video_keyframes, KEYFRAMES};
use super::{
    annotate, csv, write_atomic, write_atomic_unsynced, Document, Summary, SCHEMA_VERSION,
};
use crate::batch::Input;
use crate::countries::Countries;
use crate::imageio::{self, DecodeLimits};
use crate::result::{ImageResult, VideoResult};
use crate::video::keyframes::Keyframes;
use rayon::prelude::*;

/// A hidden file that marks a folder as an onlooker report. Folders holding
/// it are skipped when inputs are collected, and `--force` only deletes
/// stale files in a folder that has it.
pub const MARKER: &str = ".onlooker-report";
pub const INDEX: &str = "index.html";
pub const JSON: &str = "report.json";
pub const CSV: &str = "detections.csv";
pub const IMAGES: &str = "images";
/// Face thumbnails of the People section: `faces/p<id>-<n>.jpg`.
pub const FACES: &str = "faces";
/// Thumbnails per person in the People section (the first in input order).
pub const THUMBS_PER_PERSON: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("output folder {} is not empty: pass --force to write the report into it, or choose another folder with --out", .0.display())]
    NotEmpty(PathBuf),
    #[error("output path {} exists and is not a folder", .0.display())]
    NotAFolder(PathBuf),
    #[error("output folder {} contains the input {}: choose an --out folder outside the images being analysed", .dir.display(), .input.display())]
    ContainsInput { dir: PathBuf, input: PathBuf },
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `dir` holds an earlier onlooker report and nothing else: its
/// marker, the files [`write`] makes, and numbered copies in `images/`.
/// Anything else in it (a user's file, a subfolder) makes the answer no.
fn holds_only_a_report(dir: &Path) -> Result<bool, ReportError> {
    if !dir.join(MARKER).is_file() {
        return Ok(false);
    }
    let names = |d: &Path| -> Result<Vec<(String, bool)>, ReportError> {
        std::fs::read_dir(d)
            .map_err(write_err(d))?
            .map(|e| {
                let e = e.map_err(write_err(d))?;
                let is_file = e.file_type().map_err(write_err(d))?.is_file();
                Ok((e.file_name().to_string_lossy().into_owned(), is_file))
            })
            .collect()
    };
    for (name, is_file) in names(dir)? {
        let ours = match name.as_str() {
            MARKER | INDEX | JSON | CSV => is_file,
            n if is_photo_page_name(n) => is_file,
            IMAGES | FACES | KEYFRAMES | crate::cloud::FOLDER => {
                !is_file && dir.join(&name).is_dir()
            }
            _ => false,
        };
        if !ours {
            return Ok(false);
        }
    }
    let images = dir.join(IMAGES);
    if images.is_dir() {
        for (name, is_file) in names(&images)? {
            if !(is_file && is_copy_name(&name)) {
                return Ok(false);
            }
        }
    }
    let faces = dir.join(FACES);
    if faces.is_dir() {
        for (name, is_file) in names(&faces)? {
            if !(is_file && is_thumb_name(&name)) {
                return Ok(false);
            }
        }
    }
    let keyframes = dir.join(KEYFRAMES);
    if keyframes.is_dir() {
        for (name, is_file) in names(&keyframes)? {
            if !(is_file && video_keyframes::is_keyframe_name(&name)) {
                return Ok(false);
            }
        }
    }
    let cloud = dir.join(crate::cloud::FOLDER);
    if cloud.is_dir() {
        for (name, is_file) in names(&cloud)? {
            let ours = crate::cloud::Provider::ALL
                .iter()
                .any(|p| crate::cloud::file_name(*p) == format!("{}/{name}", crate::cloud::FOLDER));
            if !(is_file && ours) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Whether `name` has the form of a photo page: `photos-<digits>.html`.
fn is_photo_page_name(name: &str) -> bool {
    name.strip_prefix("photos-")
        .and_then(|n| n.strip_suffix(".html"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Over an earlier report: its photo pages this run did not write.
fn remove_stale_pages(dir: &Path, written: &[(String, String)]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if is_photo_page_name(&name)
            && !written.iter().any(|(f, _)| *f == name)
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Whether `name` has the form of a face thumbnail: `p<digits>-<digits>.jpg`.
fn is_thumb_name(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    name.strip_prefix('p')
        .and_then(|n| n.strip_suffix(".jpg"))
        .and_then(|n| n.split_once('-'))
        .is_some_and(|(a, b)| digits(a) && digits(b))
}

/// Which faces get a thumbnail in the People section, and its file name
/// (relative to the report folder): the first [`THUMBS_PER_PERSON`] faces
/// of each person, in input order, keyed by (image index, face index).
pub fn thumb_plan(results: &[ImageResult]) -> BTreeMap<(usize, usize), String> {
    let mut seen: HashMap<u32, usize> = HashMap::new();
    let mut plan = BTreeMap::new();
    for (i, r) in results.iter().enumerate() {
        for (j, f) in r.faces.iter().enumerate() {
            let Some(id) = f.identity.and_then(|p| p.person) else {
                continue;
            };
            let n = seen.entry(id).or_default();
            *n += 1;
            if *n <= THUMBS_PER_PERSON {
                plan.insert((i, j), format!("{FACES}/p{id}-{n}.jpg"));
            }
        }
    }
    plan
}

/// Whether `name` has the form [`copy_name`] gives: digits, `-`, a safe
/// stem, `.jpg`.
fn is_copy_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".jpg") else {
        return false;
    };
    let Some((number, rest)) = stem.split_once('-') else {
        return false;
    };
    !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A report folder that passed [`OutputDir::check`].
#[derive(Debug, Clone)]
pub struct OutputDir {
    path: PathBuf,
    /// Where the optional data of the page's map is read from (the
    /// country outlines of its inset); None: no inset.
    map_data: Option<PathBuf>,
}

impl OutputDir {
    /// Checks, before any analysis, that the report can be written to `dir`:
    /// it is a folder or does not exist, it is empty or holds only an
    /// earlier onlooker report (replaced, as a re-run should) unless
    /// `force`, and no
    /// input lies inside it (so no input can ever be overwritten, `--force`
    /// or not). Nothing is created or deleted here.
    pub fn check(dir: &Path, force: bool, inputs: &[PathBuf]) -> Result<OutputDir, ReportError> {
        match std::fs::metadata(dir) {
            Ok(m) if !m.is_dir() => return Err(ReportError::NotAFolder(dir.to_path_buf())),
            Ok(_) => {
                let canonical = std::fs::canonicalize(dir).map_err(write_err(dir))?;
                for input in inputs {
                    if let Ok(c) = std::fs::canonicalize(input) {
                        if c.starts_with(&canonical) {
                            return Err(ReportError::ContainsInput {
                                dir: dir.to_path_buf(),
                                input: input.clone(),
                            });
                        }
                    }
                }
                let mut entries = std::fs::read_dir(dir).map_err(write_err(dir))?;
                if !force && entries.next().is_some() && !holds_only_a_report(dir)? {
                    return Err(ReportError::NotEmpty(dir.to_path_buf()));
                }
            }
            Err(_) => {}
        }
        Ok(OutputDir {
            path: dir.to_path_buf(),
            map_data: None,
        })
    }

    /// Reads the country outlines of the map's inset from `models_dir`,
    /// and only when the page draws a map; missing or unreadable, the map
    /// has no inset and [`Written::inset_problem`] says why.
    pub fn with_map_data(mut self, models_dir: &Path) -> OutputDir {
        self.map_data = Some(models_dir.to_path_buf());
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn index(&self) -> PathBuf {
        self.path.join(INDEX)
    }
}

/// What [`write`] produced.
#[derive(Debug)]
pub struct Written {
    pub index: PathBuf,
    /// One entry per image of the document.
    pub copies: Vec<Annotated>,
    /// Wall time spent re-decoding, drawing and encoding the copies and the
    /// video keyframes.
    pub annotate_seconds: f64,
    /// Annotated video keyframes written.
    pub keyframes: usize,
    pub total_seconds: f64,
    /// Why the map has no inset although it was asked for (the country
    /// outlines are missing or unreadable).
    pub inset_problem: Option<String>,
}

impl Written {
    pub fn annotated(&self) -> usize {
        self.copies
            .iter()
            .filter(|c| matches!(c, Annotated::Written(_)))
            .count()
    }
}

/// The file name of image `index` (0-based) of `count`: its number, so the
/// folder sorts in report order, then a safe form of its name.
pub fn copy_name(index: usize, count: usize, path: &str) -> String {
    let width = count.to_string().len().max(3);
    let stem = path
        .rsplit(['/', '\\'])
        .find(|s| !s.is_empty())
        .unwrap_or("image");
    let stem = stem.rsplit_once('.').map_or(stem, |(s, _)| s);
    let mut safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    if safe.trim_matches('_').is_empty() {
        safe = "image".into();
    }
    format!("{:0width$}-{safe}.jpg", index + 1)
}

/// Writes the report for `results` and their `summary` into `out`:
/// annotated copies, `report.json` (the same document as `--json`),
/// `detections.csv` and `index.html`, all rendered from the typed results.
///
/// Each analysed image is read and decoded again from `sources[i]` (the
/// file `results[i]` came from) to draw its annotated copy: the batch drops
/// pixels as soon as an image is analysed, so memory stays flat, at the
/// cost of a second decode per image. The copies are made on `threads`
/// workers; a copy that cannot be made is reported in the page, not fatal.
pub fn write(
    out: &OutputDir,
    results: &[ImageResult],
    summary: &Summary,
    sources: &[PathBuf],
    limits: &DecodeLimits,
    threads: usize,
) -> Result<Written, ReportError> {
    write_with_videos(out, results, &[], &[], summary, sources, limits, threads)
}

/// [`write`] for a run that also analysed videos: `report.json` carries
/// them, the page shows their timelines, and `keyframes/` holds their
/// keyframes (`keyframes[i]` belongs to `videos[i]`; missing or `None`:
/// none for that video).
#[allow(clippy::too_many_arguments)]
pub fn write_with_videos(
    out: &OutputDir,
    results: &[ImageResult],
    videos: &[VideoResult],
    keyframes: &[Option<Keyframes>],
    summary: &Summary,
    sources: &[PathBuf],
    limits: &DecodeLimits,
    threads: usize,
) -> Result<Written, ReportError> {
    let start = Instant::now();
    let dir = out.path();
    let images_dir = dir.join(IMAGES);
    let was_report = dir.join(MARKER).is_file();
    begin(dir)?;

    let count = results.len();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("onlooker-report-{i}"))
        .build()
        .map_err(|e| ReportError::Write {
            path: images_dir.clone(),
            source: std::io::Error::other(e),
        })?;
    let plan = thumb_plan(results);
    if !plan.is_empty() {
        let faces_dir = dir.join(FACES);
        std::fs::create_dir_all(&faces_dir).map_err(write_err(&faces_dir))?;
    }
    let t = Instant::now();
    let (copies, thumbs): (Vec<Annotated>, Vec<Vec<(usize, usize)>>) = pool.install(|| {
        results
            .par_iter()
            .enumerate()
            .map(|(i, r)| {
                if r.error.is_some() {
                    return (Annotated::None, Vec::new());
                }
                let source = sources
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| PathBuf::from(&r.path));
                let name = copy_name(i, count, &r.path);
                let mine: Vec<(usize, PathBuf)> = plan
                    .range((i, 0)..(i + 1, 0))
                    .map(|(&(_, j), f)| (j, dir.join(f)))
                    .collect();
                match annotated_copy(&source, r, limits, &images_dir.join(&name), &mine) {
                    Ok(written) => (
                        Annotated::Written(format!("{IMAGES}/{name}")),
                        written.into_iter().map(|j| (i, j)).collect(),
                    ),
                    Err(reason) => (Annotated::Failed(reason), Vec::new()),
                }
            })
            .unzip()
    });
    let video_files = video_keyframes::write(dir, videos, keyframes, &pool, was_report);
    let annotate_seconds = t.elapsed().as_secs_f64();
    // The thumbnails that were written, for the page.
    let faces: BTreeMap<(usize, usize), String> = thumbs
        .into_iter()
        .flatten()
        .filter_map(|k| plan.get(&k).map(|f| (k, f.clone())))
        .collect();

    if was_report {
        remove_stale(dir, &copies);
        remove_stale_thumbs(&dir.join(FACES), &faces);
    }

    let json_path = dir.join(JSON);
    let json = serde_json::to_vec_pretty(&Document {
        version: SCHEMA_VERSION,
        images: results,
        videos,
        summary,
    })
    .map_err(|e| ReportError::Write {
        path: json_path.clone(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&json_path, &json).map_err(write_err(&json_path))?;
    let csv_path = dir.join(CSV);
    let csv = csv::render(results).map_err(|e| ReportError::Write {
        path: csv_path.clone(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&csv_path, &csv).map_err(write_err(&csv_path))?;
    let cloud_dir = dir.join(crate::cloud::FOLDER);
    std::fs::create_dir_all(&cloud_dir).map_err(write_err(&cloud_dir))?;
    for p in crate::cloud::Provider::ALL {
        let path = dir.join(crate::cloud::file_name(p));
        let json = serde_json::to_vec_pretty(&crate::cloud::document(p, results)).map_err(|e| {
            ReportError::Write {
                path: path.clone(),
                source: std::io::Error::other(e),
            }
        })?;
        write_atomic_unsynced(&path, &json).map_err(write_err(&path))?;
    }
    // The front page last: when it is there, everything it points to is
    // too.
    let index = out.index();
    let scale = page_projection(summary);
    let countries = match out.map_data.as_deref() {
        Some(models) if html::draws_map(results) => Some(Countries::load(models)),
        _ => None,
    };
    let pages = html::render_report(&html::Report {
        results,
        videos,
        video_files: &video_files,
        summary,
        copies: &copies,
        scale: scale.as_ref(),
        faces: &faces,
        countries: countries.as_ref().and_then(|c| c.as_ref().ok()),
        cloud_files: true,
    });
    for (name, page) in &pages.photos {
        let path = dir.join(name);
        write_atomic_unsynced(&path, page.as_bytes()).map_err(write_err(&path))?;
    }
    if was_report {
        remove_stale_pages(dir, &pages.photos);
    }
    write_atomic(&index, pages.index.as_bytes()).map_err(write_err(&index))?;
    Ok(Written {
        index,
        copies,
        annotate_seconds,
        keyframes: video_files.iter().map(|f| f.keyframes.len()).sum(),
        total_seconds: start.elapsed().as_secs_f64(),
        inset_problem: countries.and_then(|c| c.err()).map(|e| e.to_string()),
    })
}

/// What this run's rate would mean at archive scale (the `bench` command's
/// projection, with its default assumptions), for the page. Not part of
/// `report.json`: it is derived from the summary's rate, and the rate of a
/// short run (model loading included) understates what `onlooker bench`
/// measures, which the page says.
fn page_projection(summary: &Summary) -> Option<PageProjection> {
    use crate::projection::{self, Assumptions};
    let rate = summary.images_per_second;
    if !(rate.is_finite() && rate > 0.0) || summary.analysed == 0 {
        return None;
    }
    let projection = Assumptions {
        images_per_second_per_machine: rate,
        machines: 1,
        average_photo_bytes: projection::DEFAULT_AVG_PHOTO_MB * projection::MB,
        video_frames_per_second: projection::DEFAULT_FPS,
        video_bits_per_second: projection::DEFAULT_VIDEO_MBIT_S * 1e6,
        measured_video_frames_per_second: None,
        days: projection::DEFAULT_DAYS,
    }
    .project();
    Some(PageProjection {
        projection,
        rate_note: format!(
            "the rate is this run's over {} photos, model loading included; \
             `onlooker bench` measures it properly",
            summary.analysed
        ),
    })
}

/// Draws the annotated copy of one image into `dest`, and first cuts the
/// face thumbnails `thumbs` (face index, file) from the clean pixels.
/// Returns the face indices whose thumbnail was written (one that cannot
/// be written is left off the page, not fatal).
fn annotated_copy(
    source: &Path,
    result: &ImageResult,
    limits: &DecodeLimits,
    dest: &Path,
    thumbs: &[(usize, PathBuf)],
) -> Result<Vec<usize>, String> {
    let mut loaded = imageio::load(source, limits).map_err(|e| e.to_string())?;
    let want = (result.width, result.height);
    let got = (loaded.rgb.width(), loaded.rgb.height());
    if want != got {
        return Err(format!(
            "the file changed since it was analysed ({}x{} then, {}x{} now)",
            want.0, want.1, got.0, got.1
        ));
    }
    loaded.bytes = Vec::new();
    let written = thumbs
        .iter()
        .filter(|(j, file)| {
            result.faces.get(*j).is_some_and(|f| {
                super::thumbs::jpeg(&loaded.rgb, &f.bbox)
                    .is_ok_and(|jpeg| write_atomic_unsynced(file, &jpeg).is_ok())
            })
        })
        .map(|(j, _)| *j)
        .collect();
    let copy = annotate::annotate_screen(loaded.rgb, result);
    let jpeg = annotate::encode_jpeg(&copy)?;
    drop(copy);
    write_atomic_unsynced(dest, &jpeg)
        .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    Ok(written)
}

/// Over an earlier report: thumbnails this run did not write again.
fn remove_stale_thumbs(faces_dir: &Path, written: &BTreeMap<(usize, usize), String>) {
    let keep: std::collections::HashSet<&str> = written
        .values()
        .filter_map(|f| f.strip_prefix(&format!("{FACES}/")))
        .collect();
    let Ok(entries) = std::fs::read_dir(faces_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if is_thumb_name(&name)
            && !keep.contains(name.as_str())
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Creates the report folder and its `images/`, then writes the marker
/// first, so even a report cut short is recognised as one (skipped as
/// input, cleanable with --force).
pub(crate) fn begin(dir: &Path) -> Result<(), ReportError> {
    let images_dir = dir.join(IMAGES);
    std::fs::create_dir_all(&images_dir).map_err(write_err(&images_dir))?;
    let marker = dir.join(MARKER);
    write_atomic(
        &marker,
        b"This folder is a report written by onlooker. Its images are not analysed again.\n",
    )
    .map_err(write_err(&marker))
}

/// Over an earlier report: copies from that run that this run did not
/// write again (`images/NNN-name.jpg`) would be orphans; remove them.
/// Nothing else in the folder is touched.
pub(crate) fn remove_stale(dir: &Path, copies: &[Annotated]) {
    remove_stale_copies(&dir.join(IMAGES), copies);
}

/// Over an earlier report: every face thumbnail (a report without a
/// People section, such as `find`'s, writes none).
pub(crate) fn remove_all_thumbs(dir: &Path) {
    remove_stale_thumbs(&dir.join(FACES), &BTreeMap::new());
}

fn remove_stale_copies(images_dir: &Path, copies: &[Annotated]) {
    let keep: std::collections::HashSet<&str> = copies
        .iter()
        .filter_map(|c| match c {
            Annotated::Written(p) => p.strip_prefix(&format!("{IMAGES}/")),
            _ => None,
        })
        .collect();
    let Ok(entries) = std::fs::read_dir(images_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = name.ends_with(".jpg")
            && name
                .split_once('-')
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if ours && !keep.contains(name.as_str()) && e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Drops inputs found by walking a folder that lie inside an onlooker
/// report folder (one holding [`MARKER`]), so a report written inside a
/// folder of photos is not analysed on the next run. A file or folder named
/// on the command line is always kept. Returns the inputs kept and how many
/// were skipped.
pub fn skip_report_outputs(inputs: Vec<Input>, roots: &[PathBuf]) -> (Vec<Input>, usize) {
    let mut cache: HashMap<PathBuf, bool> = HashMap::new();
    let mut is_report = |dir: &Path| {
        *cache
            .entry(dir.to_path_buf())
            .or_insert_with(|| dir.join(MARKER).is_file())
    };
    let before = inputs.len();
    let kept: Vec<Input> = inputs
        .into_iter()
        .filter(|input| {
            let Input::File(p) = input else { return true };
            if roots.iter().any(|r| r == p) {
                return true;
            }
            let Some(root) = roots
                .iter()
                .filter(|r| p.starts_with(r))
                .max_by_key(|r| r.components().count())
            else {
                return true;
            };
            // Folders strictly between the named root and the file.
            !p.ancestors()
                .skip(1)
                .take_while(|a| *a != root.as_path() && a.starts_with(root))
                .any(&mut is_report)
        })
        .collect();
    let skipped = before - kept.len();
    (kept, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_names_are_numbered_and_safe() {
        assert_eq!(copy_name(0, 12, "samples/dog.jpg"), "001-dog.jpg");
        assert_eq!(copy_name(41, 1500, "a/b/Photo 1.PNG"), "0042-Photo_1.jpg");
        assert_eq!(copy_name(2, 3, "../<script>.jpg"), "003-_script_.jpg");
        assert_eq!(copy_name(0, 1, "/"), "001-image.jpg");
        assert_eq!(copy_name(0, 1, "照片.jpg"), "001-image.jpg");
        assert_eq!(copy_name(0, 1, "été.jpg"), "001-_t_.jpg");
    }

    #[test]
    fn thumbnails_follow_person_and_order_capped_per_person() {
        use crate::result::{Face, FaceIdentity};
        let face = |person| Face {
            identity: Some(FaceIdentity {
                person,
                no_identity: None,
            }),
            ..Default::default()
        };
        let image = |faces| ImageResult {
            faces,
            ..Default::default()
        };
        let mut results = vec![image(vec![face(Some(1)), face(None), face(Some(2))])];
        for _ in 0..THUMBS_PER_PERSON + 3 {
            results.push(image(vec![face(Some(2))]));
        }
        let plan = thumb_plan(&results);
        assert_eq!(plan[&(0, 0)], "faces/p1-1.jpg");
        assert!(!plan.contains_key(&(0, 1)));
        assert_eq!(plan[&(0, 2)], "faces/p2-1.jpg");
        assert_eq!(plan[&(1, 0)], "faces/p2-2.jpg");
        assert_eq!(plan.len(), 1 + THUMBS_PER_PERSON);
        for name in ["p1-1.jpg", "p12-30.jpg"] {
            assert!(is_thumb_name(name), "{name}");
        }
        for name in ["p1.jpg", "p-1.jpg", "p1-1.png", "q1-1.jpg", "p1-x.jpg"] {
            assert!(!is_thumb_name(name), "{name}");
        }
    }

    #[test]
    fn refuses_a_non_empty_folder_without_force() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        assert!(
            OutputDir::check(&out, false, &[]).is_ok(),
            "missing is fine"
        );
        std::fs::create_dir(&out).unwrap();
        assert!(OutputDir::check(&out, false, &[]).is_ok(), "empty is fine");
        std::fs::write(out.join("notes.txt"), b"mine").unwrap();
        assert!(matches!(
            OutputDir::check(&out, false, &[]),
            Err(ReportError::NotEmpty(_))
        ));
        assert!(OutputDir::check(&out, true, &[]).is_ok());
        let file = d.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert!(matches!(
            OutputDir::check(&file, true, &[]),
            Err(ReportError::NotAFolder(_))
        ));
    }

    #[test]
    fn an_earlier_report_alone_is_replaced_without_force() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        std::fs::create_dir_all(out.join(IMAGES)).unwrap();
        for f in [MARKER, INDEX, JSON, CSV] {
            std::fs::write(out.join(f), b"old").unwrap();
        }
        std::fs::write(out.join(IMAGES).join("001-dog.jpg"), b"old").unwrap();
        std::fs::write(out.join("photos-2.html"), b"old").unwrap();
        assert!(OutputDir::check(&out, false, &[]).is_ok());

        // Anything the report does not write makes it the user's folder.
        for extra in [
            "notes.txt",
            "images/holiday.jpg",
            "images/002-x.png",
            "photos-.html",
        ] {
            let p = out.join(extra);
            std::fs::write(&p, b"mine").unwrap();
            assert!(
                matches!(
                    OutputDir::check(&out, false, &[]),
                    Err(ReportError::NotEmpty(_))
                ),
                "{extra}"
            );
            assert!(OutputDir::check(&out, true, &[]).is_ok(), "{extra}");
            std::fs::remove_file(&p).unwrap();
        }
        std::fs::create_dir(out.join("sub")).unwrap();
        assert!(OutputDir::check(&out, false, &[]).is_err(), "a subfolder");
        std::fs::remove_dir(out.join("sub")).unwrap();
        // Without the marker the same files are not recognised as a report.
        std::fs::remove_file(out.join(MARKER)).unwrap();
        assert!(OutputDir::check(&out, false, &[]).is_err(), "no marker");
    }

    #[test]
    fn refuses_a_folder_holding_an_input_even_with_force() {
        let d = tempfile::tempdir().unwrap();
        let photo = d.path().join("photo.jpg");
        std::fs::write(&photo, b"x").unwrap();
        assert!(matches!(
            OutputDir::check(d.path(), true, &[photo]),
            Err(ReportError::ContainsInput { .. })
        ));
    }

    #[test]
    fn inputs_inside_report_folders_are_skipped_unless_named() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_path_buf();
        let rep = root.join("report");
        std::fs::create_dir_all(rep.join(IMAGES)).unwrap();
        std::fs::write(rep.join(MARKER), b"").unwrap();
        let inside = rep.join(IMAGES).join("001-a.jpg");
        let outside = root.join("a.jpg");
        let inputs = vec![Input::File(outside.clone()), Input::File(inside.clone())];
        let (kept, skipped) = skip_report_outputs(inputs.clone(), std::slice::from_ref(&root));
        assert_eq!((kept, skipped), (vec![Input::File(outside.clone())], 1));
        // Named explicitly, or walked from the report folder itself: kept.
        let (kept, _) = skip_report_outputs(inputs.clone(), &[root.clone(), inside.clone()]);
        assert_eq!(kept.len(), 2);
        let (kept, _) = skip_report_outputs(
            vec![Input::File(inside.clone())],
            std::slice::from_ref(&rep),
        );
        assert_eq!(kept.len(), 1);
    }
}
