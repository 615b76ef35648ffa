//! The outputs of a run: the JSON document (schema in README.md), the
//! short human summary printed to the terminal, and the report folder
//! (annotated images, `index.html`, `report.json`, `detections.csv`; see
//! [`output`]). Every output is rendered from the typed results
//! ([`ImageResult`], [`Summary`]), never from the JSON text.

pub mod annotate;
pub mod csv;
pub mod find_page;
pub mod html;
pub(crate) mod inset;
pub mod keyframes;
pub mod output;
pub mod thumbs;

pub use output::{skip_report_outputs, OutputDir, ReportError, Written};

use std::io::Write;
use std::path::Path;

use crate::findings;
use crate::result::{Document, ImageResult, Summary, VideoResult, SCHEMA_VERSION};

pub fn to_json(results: &[ImageResult], summary: &Summary) -> serde_json::Result<String> {
    to_json_with_videos(results, &[], summary)
}

/// The JSON document of a run that also analysed videos.
pub fn to_json_with_videos(
    results: &[ImageResult],
    videos: &[VideoResult],
    summary: &Summary,
) -> serde_json::Result<String> {
    serde_json::to_string_pretty(&Document {
        version: SCHEMA_VERSION,
        images: results,
        videos,
        summary,
    })
}

/// Writes `contents` to `path` through a temporary file in the same folder
/// and a rename, so a reader never sees a half-written file. A link is
/// followed (the file it names is replaced, the link kept), and a pipe or
/// device (`/dev/stdout`, `/dev/null`) is written in place: a rename would
/// replace it with a file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_replacing(path, contents, true)
}

/// [`write_atomic`] without waiting for the data to reach the disk (no
/// fsync): for files that can be made again, like annotated copies, where
/// an fsync per file costs more than making the file (measured ~10 ms
/// against ~0.5 ms per copy on ext4). Readers still never see a partial
/// file; after a power cut a copy may be missing or empty.
pub fn write_atomic_unsynced(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_replacing(path, contents, false)
}

/// A temporary file in `dir` (named `.onlooker-*<suffix>`), to be renamed
/// onto an output. tempfile's default mode is 0600; outputs get what
/// `File::create` gives (0666 less the umask), so a report or a scrubbed
/// copy can still be shared or served.
pub(crate) fn temp_file_in(dir: &Path, suffix: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".onlooker-").suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}

fn write_replacing(path: &Path, contents: &[u8], durable: bool) -> std::io::Result<()> {
    let target = match std::fs::metadata(path) {
        Ok(m) if !m.is_file() && !m.is_dir() => {
            return std::fs::File::create(path)?.write_all(contents);
        }
        // Only an existing file's link is resolved: a link to nowhere is
        // replaced like any other missing output.
        Ok(_) => std::fs::canonicalize(path)?,
        Err(_) => path.to_path_buf(),
    };
    let path = target.as_path();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // In the same folder, so the rename is atomic; dropped (deleted) on error.
    let mut tmp = temp_file_in(dir, ".tmp")?;
    tmp.write_all(contents)?;
    if durable {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// One line per video as it finishes: its size, length, frames, objects
/// and text, or its error.
pub fn video_line(v: &VideoResult) -> String {
    if let Some(e) = &v.error {
        if v.frames_analysed == 0 {
            return format!("{}: video not analysed: {e}\n", v.path);
        }
    }
    // Persons are known only after the batch's persons pass: the
    // timeline at the end lists them.
    let mut s = format!(
        "{}: video {}x{}, {}, {} frames analysed, {} object kinds, {} text lines\n",
        v.path,
        v.width,
        v.height,
        crate::video::timeline::clock_text(v.duration_seconds),
        v.frames_analysed,
        v.objects.len(),
        v.text.len()
    );
    if let Some(e) = &v.error {
        s.push_str(&format!("  problem: {e}\n"));
    }
    s
}

/// The videos' timelines for the terminal: per video, who is on screen
/// when, and when each kind of object is.
pub fn videos_text(videos: &[VideoResult]) -> String {
    use crate::video::timeline::clock_text;
    let ranges = |r: &[crate::result::TimeRange]| {
        r.iter()
            .map(|r| format!("{}-{}", clock_text(r.start), clock_text(r.end)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let failed = videos.iter().filter(|v| v.error.is_some()).count();
    let frames: u64 = videos.iter().map(|v| v.frames_analysed).sum();
    let n = videos.len();
    let mut s = format!(
        "\n{n} video{}, {frames} frames analysed, {failed} with problems\n",
        if n == 1 { "" } else { "s" }
    );
    for v in videos.iter().filter(|v| v.frames_analysed > 0) {
        s.push_str(&format!(
            "\nvideo {} ({}):\n",
            v.path,
            clock_text(v.duration_seconds)
        ));
        for p in &v.persons {
            s.push_str(&format!(
                "  person {:<3} on screen {}\n",
                p.id,
                ranges(&p.appearances)
            ));
        }
        for o in &v.objects {
            s.push_str(&format!("  {:<10} {}\n", o.label, ranges(&o.ranges)));
        }
        if !v.text.is_empty() {
            s.push_str(&format!("  {} text lines read\n", v.text.len()));
        }
    }
    s
}

/// The terminal summary: one line per image, then the totals.
pub fn human(results: &[ImageResult], summary: &Summary) -> String {
    let mut s: String = results.iter().map(image_line).collect();
    s.push_str(&closing(results, summary));
    s
}

/// What follows the image lines: the batch findings, the attribute caveats
/// and the totals. `with_metadata` needs only the images whose files had
/// metadata (what [`crate::stream::Tally`] keeps).
pub fn closing(with_metadata: &[ImageResult], summary: &Summary) -> String {
    let mut s = findings::human(with_metadata, &summary.findings);
    s.push_str(&persons_text(summary));
    // The totals close the summary: scripts and people look for them last.
    s.push_str(&caveats_text(summary));
    s.push_str(&totals_line(summary));
    s
}

/// The people the batch's faces were grouped into: one line each for
/// those seen in two photos or more (the ones an archive lets someone
/// follow), then how many were seen in one photo only.
pub fn persons_text(summary: &Summary) -> String {
    if summary.persons.is_empty() {
        return String::new();
    }
    let (repeated, once): (Vec<_>, Vec<_>) =
        summary.persons.iter().partition(|p| p.images.len() > 1);
    let mut s = String::from("\nPeople (faces grouped by similarity, in this batch only):\n");
    if repeated.is_empty() {
        s.push_str("  nobody is seen in more than one photo\n");
    }
    for p in repeated {
        s.push_str(&format!(
            "  person {}: {} face{} in {} photo{}: {}\n",
            p.id,
            p.faces,
            if p.faces == 1 { "" } else { "s" },
            p.images.len(),
            if p.images.len() == 1 { "" } else { "s" },
            p.images.join(", ")
        ));
    }
    if !once.is_empty() {
        s.push_str(&format!(
            "  and {} {} seen in one photo only\n",
            once.len(),
            if once.len() == 1 { "person" } else { "people" }
        ));
    }
    s.push_str("About telling people apart by their faces:\n");
    for c in &crate::identity::CAVEATS {
        s.push_str(&wrap(&format!("- {}: {}", c.source, c.text), 78, "  "));
    }
    s
}

/// One image's lines of the terminal summary (printed as results stream):
/// what was found, then each face's attributes when computed.
pub fn image_line(r: &ImageResult) -> String {
    if let Some(e) = &r.error {
        return format!("{}: ERROR {e}\n", r.path);
    }
    let mut s = format!(
        "{} ({}x{}): {} face{}; {}\n",
        r.path,
        r.width,
        r.height,
        r.faces.len(),
        if r.faces.len() == 1 { "" } else { "s" },
        r.scene
    );
    for (i, f) in r.faces.iter().enumerate() {
        if !f.attributes.is_empty() {
            s.push_str(&format!(
                "  face {}: {}\n",
                i + 1,
                f.attributes.summary_line()
            ));
        }
    }
    if !r.tags.is_empty() {
        let tags: Vec<String> = r
            .tags
            .iter()
            .map(|t| format!("{} {:.2}", t.name, t.confidence))
            .collect();
        s.push_str(&format!(
            "  tags: {}
",
            tags.join(", ")
        ));
    }
    s.push_str(&text_lines(r));
    s
}

/// Lines of text shown per image in the terminal; the rest are counted.
const TERMINAL_TEXT_LINES: usize = 8;

/// The text read in one image, for the terminal: the count, then the
/// lines (identifying ones first, with their kind). The text is untrusted:
/// control characters (terminal escape sequences) are dropped.
fn text_lines(r: &ImageResult) -> String {
    if r.text.is_empty() {
        return String::new();
    }
    let n = r.text.len();
    let mut s = format!("  text: {n} line{} read\n", if n == 1 { "" } else { "s" });
    let mut lines: Vec<&crate::result::TextLine> = r.text.iter().collect();
    // Stable: reading order kept within each group.
    lines.sort_by_key(|l| l.kind.is_none());
    for l in lines.iter().take(TERMINAL_TEXT_LINES) {
        let kind = l
            .kind
            .map(|k| format!(" [{}]", k.name()))
            .unwrap_or_default();
        s.push_str(&format!(
            "    \"{}\"{kind}\n",
            crate::exif::clean_text(l.text.as_bytes())
        ));
    }
    if n > TERMINAL_TEXT_LINES {
        s.push_str(&format!("    ... {} more\n", n - TERMINAL_TEXT_LINES));
    }
    s
}

/// The closing line: images, faces, objects, text lines, failures,
/// elapsed, rate.
pub fn totals_line(summary: &Summary) -> String {
    format!(
        "{} images, {} faces, {} objects, {} text lines, {} failed, {:.2} s, {:.2} images/s\n",
        summary.images,
        summary.faces,
        summary.objects,
        summary.text_lines,
        summary.failed,
        summary.elapsed_seconds,
        summary.images_per_second
    )
}

/// The caveats on face attributes, shown whenever attributes were computed.
pub fn caveats_text(summary: &Summary) -> String {
    let mut s = String::new();
    if !summary.attribute_caveats.is_empty() {
        s.push_str("\nAge, gender and expression are guesses from appearance. Read them with this in mind:\n");
        for c in &summary.attribute_caveats {
            s.push_str(&wrap(&format!("- {}: {}", c.source, c.text), 78, "  "));
        }
        s.push('\n');
    }
    s
}

/// Wraps `text` at spaces to lines of at most `width` characters (longer
/// words stay whole), indenting continuation lines with `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let options = textwrap::Options::new(width)
        .subsequent_indent(indent)
        .break_words(false);
    let mut out = textwrap::fill(text, options);
    out.push('\n');
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::stream::Tally;

    /// A named pipe at `path`, and a reader of it collecting what is written.
    #[cfg(unix)]
    pub(crate) fn fifo_with_reader(path: &Path) -> std::thread::JoinHandle<Vec<u8>> {
        use std::ffi::CString;
        use std::io::Read;
        use std::os::unix::ffi::OsStrExt;
        let c = CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let path = path.to_path_buf();
        std::thread::spawn(move || {
            let mut got = Vec::new();
            std::fs::File::open(path)
                .unwrap()
                .read_to_end(&mut got)
                .unwrap();
            got
        })
    }

    #[cfg(unix)]
    #[test]
    fn an_output_that_is_a_pipe_is_written_into_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let d = tempfile::tempdir().unwrap();
        let pipe = d.path().join("results.json");
        let reader = fifo_with_reader(&pipe);
        write_atomic(&pipe, b"{}\n").unwrap();
        let kind = std::fs::symlink_metadata(&pipe).unwrap().file_type();
        assert!(kind.is_fifo(), "the pipe was replaced by a {kind:?}");
        assert_eq!(reader.join().unwrap(), b"{}\n");
    }

    #[cfg(unix)]
    #[test]
    fn an_output_that_is_a_link_replaces_the_file_it_names() {
        let d = tempfile::tempdir().unwrap();
        let (file, link) = (
            d.path().join("kept/report.json"),
            d.path().join("report.json"),
        );
        std::fs::create_dir(d.path().join("kept")).unwrap();
        std::fs::write(&file, "old").unwrap();
        std::os::unix::fs::symlink(&file, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
        // A link to nowhere is replaced by the output, as a missing file is.
        let dangling = d.path().join("gone.json");
        std::os::unix::fs::symlink(d.path().join("nowhere"), &dangling).unwrap();
        write_atomic(&dangling, b"x").unwrap();
        assert_eq!(std::fs::read_to_string(&dangling).unwrap(), "x");
    }

    /// The JSON text as the document's top-level object, to test the
    /// contract that scripts read (rendering never reads it back).
    fn parse(text: &str) -> serde_json::Map<String, serde_json::value::Value> {
        serde_json::from_str(text).unwrap()
    }

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
        let s = Tally::of(&[ok, bad]).summary(0.5);
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
        let s = Tally::of([&r]).summary(1.0);
        let v = parse(&to_json(&[r], &s).unwrap());
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

    fn face_with(attrs: crate::result::FaceAttributes) -> crate::result::Face {
        crate::result::Face {
            bbox: crate::geometry::BBox::default(),
            score: 0.9,
            attributes: attrs,
            ..Default::default()
        }
    }

    #[test]
    fn caveats_appear_only_when_attributes_were_computed() {
        let plain = ImageResult {
            path: "a.jpg".into(),
            faces: vec![face_with(Default::default())],
            ..Default::default()
        };
        let s = Tally::of([&plain]).summary(1.0);
        assert!(s.attribute_caveats.is_empty());
        let v = parse(&to_json(&[plain], &s).unwrap());
        assert!(v["summary"].get("attribute_caveats").is_none());
        assert!(!human(&[], &s).contains("Microsoft"));

        let with_gender = ImageResult {
            path: "b.jpg".into(),
            faces: vec![face_with(crate::result::FaceAttributes {
                gender: crate::attributes::gender_from_probabilities(&[0.1, 0.9]),
                ..Default::default()
            })],
            ..Default::default()
        };
        let s = Tally::of([&with_gender]).summary(1.0);
        assert!(!s.attribute_caveats.is_empty());
        let text = human(std::slice::from_ref(&with_gender), &s);
        assert!(text.contains("face 1: male 0.90"), "{text}");
        assert!(
            text.contains("Microsoft") && text.contains("gender identity"),
            "{text}"
        );
        // Only the caveats about gender: nothing about the expression model.
        assert!(!text.contains("RAF-DB"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        let v = parse(&to_json(&[with_gender], &s).unwrap());
        let cav = v["summary"]["attribute_caveats"].as_array().unwrap();
        assert!(cav
            .iter()
            .all(|c| c["source"].is_string() && c["text"].is_string()));
        assert_eq!(v["images"][0]["faces"][0]["gender"]["label"], "male");
    }

    #[test]
    fn wrap_breaks_at_spaces_and_indents() {
        assert_eq!(wrap("aa bb cc dd", 5, "  "), "aa bb\n  cc\n  dd\n");
        assert_eq!(wrap("short", 78, "  "), "short\n");
        assert_eq!(
            wrap("a verylongword b", 4, "  "),
            "a\n  verylongword\n  b\n"
        );
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
