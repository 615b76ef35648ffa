//! `scrub-report.html`: the scrub report as a page, rendered by the askama
//! template `templates/scrub.html` from the same [`ScrubReport`] as
//! `scrub-report.json`. Each file shows its original (linked where it
//! lies, never copied into the folder) with the covered regions outlined,
//! beside its copy, and the checks the copy passed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use askama::Template;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::{
    after_words, before_words, covered_words, failure_words, plural, Check, ScrubFile, ScrubReport,
    FACE_THRESHOLD,
};
use crate::face;
use crate::identity;
use crate::report::output::{INDEX, MARKER};

/// The page written next to `scrub-report.json`.
pub const PAGE: &str = "scrub-report.html";

#[derive(Template)]
#[template(path = "scrub.html")]
struct ScrubPage {
    version: &'static str,
    headline: String,
    stats: Vec<(usize, String)>,
    how: Vec<String>,
    metadata: Vec<(String, usize)>,
    attention: Vec<(String, String, String)>,
    files: Vec<FileView>,
    /// The analysis report in the same folder, when there is one.
    analysis: Option<&'static str>,
}

struct FileView {
    id: String,
    input: String,
    output: String,
    /// The original, relative to the page (None when its path cannot be
    /// expressed from the folder).
    original: Option<String>,
    /// The copy, relative to the page, when it was written.
    copy: Option<String>,
    video: bool,
    status: &'static str,
    class: &'static str,
    before: String,
    after: String,
    covered: String,
    checks: Vec<CheckView>,
    failures: Vec<String>,
    /// The upright size the regions are in, and the regions.
    view_box: Option<(u32, u32)>,
    regions: Vec<Region>,
    removed: Vec<String>,
    converted: Option<String>,
    error: Option<String>,
    /// Video figures in words.
    video_facts: Vec<String>,
}

struct CheckView {
    passed: bool,
    text: String,
}

struct Region {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    kind: &'static str,
}

/// Characters escaped in a path segment of a relative URL.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\');

/// `target` as a URL relative to the folder `from` (both made absolute
/// first), or None when one of them cannot be resolved or the path is not
/// UTF-8.
fn relative_url(from: &Path, target: &Path) -> Option<String> {
    let from = std::fs::canonicalize(from).ok()?;
    let target = std::fs::canonicalize(target).ok()?;
    let rel = pathdiff::diff_paths(&target, &from)?;
    let parts: Option<Vec<String>> = rel
        .components()
        .map(|c| {
            c.as_os_str()
                .to_str()
                .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        })
        .collect();
    Some(parts?.join("/"))
}

/// The check list of a file: each check run, passed or not.
fn checks(report: &ScrubReport, f: &ScrubFile) -> Vec<CheckView> {
    let Some(v) = &f.verification else {
        return Vec::new();
    };
    let failed = |c: Check| v.failures.iter().filter(|x| x.check == c).count();
    let mut out = Vec::new();
    let mut add = |passed: bool, text: String| out.push(CheckView { passed, text });
    if report.faces.is_some() {
        let n = failed(Check::FaceDetected);
        add(
            n == 0,
            match n {
                0 => format!(
                    "No face detected in the copy (full analysis, score {:.1} and up)",
                    face::DEFAULT_THRESHOLD
                ),
                n => format!("{} still detected in the copy", plural(n, "face")),
            },
        );
        let n = failed(Check::IdentityMatch);
        add(
            n == 0,
            match n {
                0 => format!(
                    "No face of the copy matches a face of the original (identity model, similarity under {:.2})",
                    identity::POSSIBLE
                ),
                n => format!("{} of the copy still match the original", plural(n, "face")),
            },
        );
    }
    if report.text_covered && f.found.text_lines > 0 {
        let n = failed(Check::TextReadable);
        add(
            n == 0,
            match n {
                0 => "No text read where text was".to_string(),
                n => format!("{} still read where text was", plural(n, "text line")),
            },
        );
    }
    let n = failed(Check::Metadata);
    add(
        n == 0,
        match n {
            0 => "No metadata left in the file".to_string(),
            _ => format!("Metadata left: {}", v.metadata.join(", ")),
        },
    );
    if failed(Check::Reanalysis) > 0 {
        add(false, "The copy could not be analysed again".to_string());
    }
    out
}

fn file_view(report: &ScrubReport, i: usize, f: &ScrubFile, out: &Path, input: &Path) -> FileView {
    let verified = f.written && f.verification.as_ref().is_some_and(|v| v.passed);
    let (status, class) = match (&f.error, f.written, verified) {
        (_, _, true) => ("copy written and verified", "pass"),
        (_, true, false) => (
            "written although it failed a check (--write-failed)",
            "fail",
        ),
        (Some(_), _, _) => ("not scrubbed", "fail"),
        (None, false, _) => ("no copy: it failed a check", "fail"),
    };
    let mut regions: Vec<Region> = Vec::new();
    let mut add = |b: &crate::geometry::BBox, kind| {
        regions.push(Region {
            x: b.x,
            y: b.y,
            w: b.w,
            h: b.h,
            kind,
        })
    };
    for b in &f.removed.face_regions {
        add(b, "face");
    }
    for b in &f.removed.text_regions {
        add(b, "text");
    }
    let mut failures = Vec::new();
    if let Some(v) = &f.verification {
        for x in &v.failures {
            if let (Some(b), None) = (&x.region, f.video.as_ref()) {
                add(b, "failed");
            }
            failures.push(failure_words(x));
        }
    }
    let video_facts = f
        .video
        .as_ref()
        .map(|v| {
            vec![
                format!(
                    "{} at {:.0} frames a second ({:.1} s, {}x{})",
                    plural(v.frames as usize, "frame"),
                    v.frame_rate,
                    v.duration_seconds,
                    v.width,
                    v.height
                ),
                format!(
                    "faces looked for on every frame: found on {} ({} at the analysis threshold)",
                    plural(v.frames_with_faces as usize, "frame"),
                    v.frames_with_faces_at_analysis_threshold
                ),
                format!(
                    "text looked for on {}: {} found",
                    plural(v.text_samples as usize, "frame"),
                    plural(v.text_regions as usize, "region")
                ),
                format!(
                    "the copy analysed again on {}",
                    plural(v.verification_samples as usize, "frame")
                ),
                format!("done in {:.1} s", v.seconds),
            ]
        })
        .unwrap_or_default();
    FileView {
        id: format!("f{}", i + 1),
        input: f.input.clone(),
        output: f.output.clone(),
        original: relative_url(out, input),
        copy: f
            .written
            .then(|| relative_url(out, Path::new(&f.output)))
            .flatten(),
        video: f.video.is_some(),
        status,
        class,
        before: before_words(f).join(", "),
        after: f
            .verification
            .as_ref()
            .map(|v| after_words(f, v).join(", "))
            .unwrap_or_default(),
        covered: covered_words(f).trim_end_matches(", ").to_string(),
        checks: checks(report, f),
        failures,
        view_box: f.width.zip(f.height),
        regions,
        removed: f.removed.metadata.clone(),
        converted: f.converted.clone(),
        error: f.error.clone(),
        video_facts,
    }
}

/// Renders the page of `report`, whose `files[i]` came from `inputs[i]`,
/// for the folder `out`.
pub(crate) fn render(report: &ScrubReport, out: &Path, inputs: &[PathBuf]) -> String {
    let s = &report.summary;
    let good = report
        .files
        .iter()
        .filter(|f| f.written && f.verification.as_ref().is_some_and(|v| v.passed))
        .count();
    let headline = if s.files == 0 {
        "No file to scrub".to_string()
    } else if good == s.files {
        format!(
            "All {} copies give nothing away that onlooker can find",
            s.files
        )
    } else {
        format!(
            "{good} of {} copies give nothing away that onlooker can find",
            s.files
        )
    };
    let per_frame = if s.videos > 0 {
        " (a video's on every frame)"
    } else {
        ""
    };
    let mut stats = vec![
        (good, "copies verified".to_string()),
        (s.faces_covered, format!("face regions covered{per_frame}")),
        (s.text_covered, format!("text regions covered{per_frame}")),
    ];
    let mut metadata: BTreeMap<&str, usize> = BTreeMap::new();
    let mut with_metadata = 0;
    for f in &report.files {
        let blocks = f.found.blocks.iter().map(|b| b.name());
        let words: Vec<&str> = f
            .found
            .metadata
            .iter()
            .map(String::as_str)
            .chain(blocks)
            .collect();
        with_metadata += usize::from(!words.is_empty());
        for m in words {
            *metadata.entry(m).or_default() += 1;
        }
    }
    stats.push((with_metadata, "files stripped of metadata".into()));
    if s.failed_verification + s.errors > 0 {
        stats.push((s.failed_verification + s.errors, "need attention".into()));
    }
    let mut metadata: Vec<(String, usize)> = metadata
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    metadata.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut how = Vec::new();
    match report.faces {
        Some(m) => how.push(format!(
            "Faces were looked for from detector score {FACE_THRESHOLD:.1} (the analysis reports them from {:.1}), each box enlarged for hair, ears and chin, and covered by {}.",
            face::DEFAULT_THRESHOLD,
            match m {
                super::Method::Fill => "solid black",
                super::Method::Blur => "a strong blur",
                super::Method::Pixelate => "large blocks",
            }
        )),
        None => how.push("Faces were left as they are (--keep-faces).".into()),
    }
    how.push(if report.text_covered {
        "Text the text reader found was covered.".into()
    } else {
        "Text was left as it is (--keep-text).".into()
    });
    how.push(format!(
        "Every copy is new pixels in a new file: no EXIF, XMP, IPTC, comment or text block of the original is carried over{}.",
        if report.icc_kept {
            " (the colour profile was kept, --keep-icc)"
        } else {
            ", not even the colour profile, which can name the device that made it"
        }
    ));
    how.push("Then each copy was read back from disk and analysed again by the same models; a copy failing a check is not kept unless --write-failed was given.".into());
    let files: Vec<FileView> = report
        .files
        .iter()
        .zip(inputs)
        .enumerate()
        .map(|(i, (f, input))| file_view(report, i, f, out, input))
        .collect();
    let attention = files
        .iter()
        .filter(|f| f.class == "fail")
        .map(|f| (f.id.clone(), f.input.clone(), f.status.to_string()))
        .collect();
    let page = ScrubPage {
        version: env!("CARGO_PKG_VERSION"),
        headline,
        stats,
        how,
        metadata,
        attention,
        files,
        analysis: out.join(MARKER).is_file().then_some(INDEX),
    };
    let mut html = page.render().unwrap_or_default();
    html.push('\n');
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls_climb_out_of_the_folder_and_escape_what_a_url_cannot_hold() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let photos = d.path().join("my photos");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::create_dir_all(&photos).unwrap();
        let p = photos.join("a #1?.jpg");
        std::fs::write(&p, b"x").unwrap();
        assert_eq!(
            relative_url(&out, &p).as_deref(),
            Some("../my%20photos/a%20%231%3F.jpg")
        );
        let inside = out.join("b.jpg");
        std::fs::write(&inside, b"x").unwrap();
        assert_eq!(relative_url(&out, &inside).as_deref(), Some("b.jpg"));
        assert_eq!(relative_url(&out, &d.path().join("missing.jpg")), None);
    }
}
