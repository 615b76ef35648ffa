//! `index.html`: one self-contained page for a room to look at.
//!
//! The page is the askama template `templates/report.html` (styles in
//! `templates/report.css`), filled from a view built here from the typed
//! results: a renamed or removed field is a compile error, and askama
//! escapes every value unless the template says otherwise (it never does).
//!
//! Nothing in the page touches the network: the CSS is inline, there is no
//! script and no web font, images are relative files in the report folder,
//! and a Content-Security-Policy forbids any other load should a future
//! edit add one.

use std::collections::BTreeMap;

use askama::Template;

use super::Summary;
use crate::exif::Metadata;
use crate::geometry::{round1, BBox};
use crate::identity::persons::Person;
use crate::projection::{self, Projection};
use crate::result::Caveat;
use crate::result::ImageResult;
use crate::result::Object;
use crate::result::{Blur, BlurLevel, Exposure, ExposureLevel, Face, FaceIdentity, VideoResult};
use crate::result::{Findings, Sentence};

/// What became of the annotated copy of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Annotated {
    /// Written; the path relative to the report folder (`images/...`).
    Written(String),
    /// The image was analysed but its copy could not be made.
    Failed(String),
    /// No copy: the image was not analysed.
    None,
}

/// The scale projection shown under "At scale", with a note on where its
/// rate comes from (put before the projection's own notes).
#[derive(Debug, Clone)]
pub struct PageProjection {
    pub projection: Projection,
    pub rate_note: String,
}

/// Above this many photos the pictures load lazily, as they are scrolled
/// to; below it every picture loads with the page, so printing and
/// screenshots show them all.
const LAZY_FROM: usize = 40;

/// Escapes text as the page does (askama's HTML escaper), after replacing
/// control characters.
pub fn escape(s: &str) -> String {
    askama::filters::escape(clean(s), askama::filters::Html)
        .map(|e| e.to_string())
        .unwrap_or_default()
}

/// Control characters (NUL, escape sequences from EXIF junk) have no
/// business on screen; askama escapes markup but keeps them.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    version: &'static str,
    photos: String,
    stats: Vec<(usize, &'static str)>,
    failed: usize,
    object_totals: Vec<(&'static str, usize, usize)>,
    sentences: Vec<SentenceView>,
    timeline: Vec<[String; 4]>,
    places: Vec<[String; 4]>,
    devices: Vec<[String; 5]>,
    persons: Vec<PersonView>,
    caveats: Vec<(&'static str, &'static str)>,
    timing: Vec<(&'static str, String)>,
    scale: Option<ScaleView>,
    any_faces: bool,
    any_text: bool,
    lazy: bool,
    images: Vec<ImageView>,
    videos: Vec<VideoView>,
}

impl Page {
    fn has_findings(&self) -> bool {
        !(self.sentences.is_empty()
            && self.timeline.is_empty()
            && self.places.is_empty()
            && self.devices.is_empty())
    }
}

/// One person of the batch: what and when, and links to the photos.
struct PersonView {
    id: u32,
    what: String,
    when: String,
    /// (image number in the page, file name).
    photos: Vec<(usize, String)>,
}

struct SentenceView {
    text: String,
    evidence: String,
}

struct ScaleView {
    assumptions: String,
    rows: Vec<[String; 5]>,
    notes: Vec<String>,
}

struct ImageView {
    number: usize,
    name: String,
    path: String,
    size: Option<(u32, u32)>,
    error: Option<String>,
    counts: Option<String>,
    copy: Option<String>,
    copy_failed: Option<String>,
    alt: String,
    scene: String,
    face_columns: Vec<&'static str>,
    faces: Vec<FaceRow>,
    objects: Vec<[String; 3]>,
    text: Vec<TextRow>,
    metadata: Vec<(String, String)>,
}

/// One line of text read, as the page shows it (askama escapes `text`).
struct TextRow {
    text: String,
    /// The identifying kind, shown as a chip.
    kind: Option<&'static str>,
    score: String,
    bbox: String,
}

impl ImageView {
    /// Small photos are shown up to twice their size, so the labels read
    /// from the back of a room; large ones fit the page.
    fn display_width(&self) -> u32 {
        self.size.map_or(0, |(w, _)| w.saturating_mul(2))
    }

    fn faces_caption(&self) -> String {
        capitalise(&count_of(self.faces.len(), "face", "faces"))
    }

    fn objects_caption(&self) -> String {
        capitalise(&count_of(self.objects.len(), "object", "objects"))
    }

    fn text_caption(&self) -> String {
        format!("Text read: {}", count_of(self.text.len(), "line", "lines"))
    }
}

struct FaceRow {
    score: String,
    cells: Vec<String>,
    bbox: String,
}

/// Renders the whole page. `copies[i]` is the annotated copy of
/// `results[i]` (missing entries count as no copy).
pub fn render(
    results: &[ImageResult],
    summary: &Summary,
    copies: &[Annotated],
    scale: Option<&PageProjection>,
) -> String {
    render_with_videos(results, &[], summary, copies, scale)
}

/// [`render`] for a run that also analysed videos: each gets a timeline.
pub fn render_with_videos(
    results: &[ImageResult],
    videos: &[VideoResult],
    summary: &Summary,
    copies: &[Annotated],
    scale: Option<&PageProjection>,
) -> String {
    let n = results.len();
    let page = Page {
        version: env!("CARGO_PKG_VERSION"),
        photos: count_of(n, "photo", "photos"),
        stats: vec![
            (summary.images, plural(summary.images, "photo", "photos")),
            (summary.faces, plural(summary.faces, "face", "faces")),
            (summary.people, plural(summary.people, "person", "people")),
            (
                summary.objects,
                plural(summary.objects, "object", "objects"),
            ),
        ],
        failed: summary.failed,
        object_totals: object_totals(results),
        sentences: summary.findings.sentences.iter().map(sentence).collect(),
        timeline: timeline(&summary.findings),
        places: summary
            .findings
            .places
            .iter()
            .map(|p| {
                [
                    format!("{:.5}", p.latitude),
                    format!("{:.5}", p.longitude),
                    fmt_number(p.radius_km),
                    clean(&p.images.join(", ")),
                ]
            })
            .collect(),
        devices: summary
            .findings
            .devices
            .iter()
            .map(|d| {
                let opt = |s: &Option<String>| s.as_deref().map(clean).unwrap_or_default();
                [
                    clean(&d.name),
                    opt(&d.make),
                    opt(&d.model),
                    opt(&d.serial),
                    clean(&d.images.join(", ")),
                ]
            })
            .collect(),
        persons: summary
            .persons
            .iter()
            .map(|p| person_view(p, results))
            .collect(),
        caveats: summary
            .attribute_caveats
            .iter()
            .map(|c: &&Caveat| (c.source, c.text))
            .collect(),
        timing: timing(summary, n),
        scale: scale.map(scale_view),
        any_faces: results.iter().any(|r| !r.faces.is_empty()),
        any_text: results.iter().any(|r| !r.text.is_empty()),
        lazy: n >= LAZY_FROM,
        images: results
            .iter()
            .enumerate()
            .map(|(i, r)| image_view(i, r, copies.get(i).unwrap_or(&Annotated::None)))
            .collect(),
        videos: videos.iter().map(video_view).collect(),
    };
    // Rendering into a String only fails if a Display impl fails; none of
    // the values here has a fallible one.
    let mut html = page.render().unwrap_or_default();
    // askama drops the template file's final newline.
    html.push('\n');
    html
}

/// "4 faces in 4 photos", "dated A to B" (earliest and latest capture
/// time among the photos that state one), links to the photos.
fn person_view(p: &Person, results: &[ImageResult]) -> PersonView {
    let when = match (p.first_seen, p.last_seen) {
        (Some(a), Some(b)) if a == b => format!("dated {} {}", a.date(), a.clock()),
        (Some(a), Some(b)) => format!(
            "dated {} {} to {} {}",
            a.date(),
            a.clock(),
            b.date(),
            b.clock()
        ),
        _ => String::new(),
    };
    PersonView {
        id: p.id,
        what: format!(
            "{} in {}",
            count_of(p.faces, "face", "faces"),
            count_of(p.images.len(), "photo", "photos")
        ),
        when,
        photos: p
            .images
            .iter()
            .filter_map(|path| {
                let i = results.iter().position(|r| &r.path == path)?;
                Some((i + 1, file_name(path)))
            })
            .collect(),
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn count_of(n: usize, one: &'static str, many: &'static str) -> String {
    format!("{n} {}", plural(n, one, many))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The last component of the image's path, for headings.
fn file_name(path: &str) -> String {
    let name = path
        .rsplit(['/', '\\'])
        .find(|s| !s.is_empty())
        .unwrap_or(path);
    if name.is_empty() {
        "(unnamed)".into()
    } else {
        clean(name)
    }
}

/// Objects over the batch: how many, and in how many photos, most first.
fn object_totals(results: &[ImageResult]) -> Vec<(&'static str, usize, usize)> {
    let mut totals: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    for r in results {
        for (label, n) in &r.object_counts {
            let e = totals.entry(label).or_default();
            e.0 += n;
            e.1 += 1;
        }
    }
    let mut rows: Vec<_> = totals.into_iter().map(|(l, (n, p))| (l, n, p)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    rows
}

/// One finding, with the evidence it cites as `photo.jpg (taken_at,
/// gps.latitude); ...`.
fn sentence(s: &Sentence) -> SentenceView {
    let evidence: Vec<String> = s
        .evidence
        .iter()
        .map(|e| format!("{} ({})", e.image, e.fields.join(", ")))
        .collect();
    SentenceView {
        text: clean(&s.text),
        evidence: clean(&evidence.join("; ")),
    }
}

/// The timeline with its place and device indices resolved to a position
/// and a camera name.
fn timeline(f: &Findings) -> Vec<[String; 4]> {
    f.timeline
        .iter()
        .map(|t| {
            let place = t
                .place
                .and_then(|i| f.places.get(i))
                .map_or_else(String::new, |p| {
                    format!("{:.5}, {:.5}", p.latitude, p.longitude)
                });
            let device = t
                .device
                .and_then(|i| f.devices.get(i))
                .map_or_else(String::new, |d| clean(&d.name));
            [t.taken_at.to_string(), clean(&t.image), place, device]
        })
        .collect()
}

fn timing(summary: &Summary, n: usize) -> Vec<(&'static str, String)> {
    let mut rows = vec![(
        "Analysis time",
        format!(
            "{} s for {}",
            fmt_number(summary.elapsed_seconds),
            count_of(n, "photo", "photos")
        ),
    )];
    let r = summary.images_per_second;
    rows.push(("Throughput", format!("{} photos per second", fmt_number(r))));
    if r > 0.0 && r.is_finite() {
        rows.push((
            "Per photo",
            format!("{} ms of wall time", fmt_number(1000.0 / r)),
        ));
        rows.push((
            "At this rate",
            format!(
                "{} photos a day on this one computer",
                group_thousands((r * 86_400.0).round() as u64)
            ),
        ));
    }
    rows
}

/// The projection as a sentence of assumptions, a table of volumes and the
/// notes.
fn scale_view(p: &PageProjection) -> ScaleView {
    let a = &p.projection.assumptions;
    let machines = a.machines.max(1);
    let assumptions = format!(
        "At {} photos per second per machine, on {}, with photos of {} MB on average, and video analysed at {} frame per second of footage recorded at {} Mbit/s:",
        fmt_number(a.images_per_second_per_machine),
        count_of(machines as usize, "machine", "machines"),
        fmt_number(a.average_photo_bytes / 1e6),
        fmt_number(a.video_frames_per_second),
        fmt_number(a.video_bits_per_second / 1e6),
    );
    let rows = p
        .projection
        .volumes
        .iter()
        .map(|v| {
            let (photo_s, video_s) = if machines > 1 {
                (
                    v.as_photos.seconds_all_machines,
                    v.as_video.seconds_all_machines,
                )
            } else {
                (
                    v.as_photos.seconds_one_machine,
                    v.as_video.seconds_one_machine,
                )
            };
            [
                v.volume.clone(),
                projection::human_count(v.as_photos.photos),
                projection::human_duration(photo_s),
                projection::human_count(v.as_video.footage_hours),
                projection::human_duration(video_s),
            ]
        })
        .collect();
    let notes = std::iter::once(p.rate_note.clone())
        .chain(p.projection.notes.iter().map(|n| n.to_string()))
        .collect();
    ScaleView {
        assumptions,
        rows,
        notes,
    }
}

fn image_view(i: usize, r: &ImageResult, copy: &Annotated) -> ImageView {
    let name = file_name(&r.path);
    let (nf, no) = (r.faces.len(), r.objects.len());
    let counts = r.error.is_none().then(|| {
        format!(
            "{} · {} · {}",
            count_of(nf, "face", "faces"),
            count_of(r.people, "person", "people"),
            count_of(no, "object", "objects")
        )
    });
    let mut alt = format!(
        "Annotated copy of {name}: {}, {}",
        count_of(nf, "face", "faces"),
        count_of(no, "object", "objects")
    );
    if !r.scene.is_empty() {
        alt.push_str(&format!(" ({})", clean(&r.scene)));
    }
    let (copy, copy_failed) = match copy {
        Annotated::Written(src) => (Some(src.clone()), None),
        Annotated::Failed(reason) => (None, Some(clean(reason))),
        Annotated::None => (None, None),
    };
    let face_columns = face_columns(&r.faces);
    ImageView {
        number: i + 1,
        name,
        path: clean(&r.path),
        size: (r.width > 0 && r.height > 0).then_some((r.width, r.height)),
        error: r.error.as_deref().map(clean),
        counts,
        copy,
        copy_failed,
        alt,
        scene: clean(&r.scene),
        faces: r
            .faces
            .iter()
            .map(|f| FaceRow {
                score: percent(f.score),
                cells: face_columns.iter().map(|c| face_cell(c, f)).collect(),
                bbox: box_cell(f.bbox),
            })
            .collect(),
        face_columns,
        objects: r.objects.iter().map(object_row).collect(),
        text: r
            .text
            .iter()
            .map(|t| TextRow {
                text: clean(&t.text),
                kind: t.kind.map(|k| k.name()),
                score: percent(t.score),
                bbox: box_cell(t.bbox),
            })
            .collect(),
        metadata: metadata_rows(&r.metadata),
    }
}

fn percent(score: f32) -> String {
    format!("{:.0}%", score * 100.0)
}

/// A whole number of pixels or degrees from a value as the JSON has it (one
/// decimal), so the page and `report.json` agree.
fn whole(v: f32) -> i64 {
    round1(v).round() as i64
}

fn box_cell(b: BBox) -> String {
    let n = whole;
    format!("{}, {}, {} × {}", n(b.x), n(b.y), n(b.w), n(b.h))
}

fn object_row(o: &Object) -> [String; 3] {
    [o.label.to_string(), percent(o.score), box_cell(o.bbox)]
}

/// The face columns, in the order people read them: the attributes only
/// when some face has them, then what the detector measures.
fn face_columns(faces: &[Face]) -> Vec<&'static str> {
    let any = |f: fn(&Face) -> bool| faces.iter().any(f);
    let mut cols = Vec::new();
    if any(|f| f.identity.is_some()) {
        cols.push("person");
    }
    if any(|f| f.attributes.age.is_some()) {
        cols.push("age");
    }
    if any(|f| f.attributes.gender.is_some()) {
        cols.push("gender");
    }
    if any(|f| f.attributes.expression.is_some()) {
        cols.push("expression");
    }
    cols.extend([
        "head pose",
        "blur",
        "exposure",
        "size (px)",
        "cloud minimum (px)",
        "too small for the cloud",
    ]);
    cols
}

fn face_cell(column: &str, f: &Face) -> String {
    let a = &f.attributes;
    match column {
        "person" => person_cell(f),
        "age" => a
            .age
            .filter(|a| a.is_finite())
            .map_or_else(String::new, |a| format!("{}", a.round() as i64)),
        "gender" => a.gender.as_ref().map_or_else(String::new, |g| {
            format!("{} {}", g.label, percent(g.confidence))
        }),
        // "happy 62% (then neutral 20%, sad 9%)"
        "expression" => a.expression.as_ref().map_or_else(String::new, |e| {
            let mut s = e.label.to_string();
            if let Some(p) = e.scores.get(e.label) {
                s.push_str(&format!(" {}", percent(*p)));
            }
            let mut others: Vec<(&str, f32)> = e
                .scores
                .iter()
                .filter(|(k, _)| **k != e.label)
                .map(|(k, v)| (*k, *v))
                .collect();
            others.sort_by(|x, y| y.1.total_cmp(&x.1));
            let top: Vec<String> = others
                .iter()
                .take(2)
                .map(|(k, p)| format!("{k} {}", percent(*p)))
                .collect();
            if !top.is_empty() {
                s.push_str(&format!(" (then {})", top.join(", ")));
            }
            s
        }),
        "head pose" => {
            let p = &f.head_pose;
            format!(
                "yaw {}°, pitch {}°, roll {}°",
                whole(p.yaw),
                whole(p.pitch),
                whole(p.roll)
            )
        }
        "blur" => blur_cell(&f.blur),
        "exposure" => exposure_cell(&f.exposure),
        "size (px)" => f.size_px.to_string(),
        "cloud minimum (px)" => f.cloud_min_size_px.to_string(),
        "too small for the cloud" => yes_no(f.below_cloud_min_size).into(),
        _ => String::new(),
    }
}

/// "P2", or why the face has no identity ("no identity: face is 24 px ...").
fn person_cell(f: &Face) -> String {
    match &f.identity {
        Some(FaceIdentity {
            person: Some(p), ..
        }) => format!("P{p}"),
        Some(FaceIdentity {
            no_identity: Some(why),
            ..
        }) => format!("no identity: {why}"),
        _ => String::new(),
    }
}

/// `medium (0.42)`: the level as the JSON names it, the value rounded as
/// the JSON has it. The matches are exhaustive: a new level is a compile
/// error here.
fn blur_cell(b: &Blur) -> String {
    let name = match b.level {
        BlurLevel::Low => "low",
        BlurLevel::Medium => "medium",
        BlurLevel::High => "high",
    };
    level(name, b.value)
}

fn exposure_cell(e: &Exposure) -> String {
    let name = match e.level {
        ExposureLevel::Under => "under",
        ExposureLevel::Good => "good",
        ExposureLevel::Over => "over",
    };
    level(name, e.value)
}

fn level(name: &str, value: f32) -> String {
    format!(
        "{name} ({})",
        fmt_number((f64::from(value) * 100.0).round() / 100.0)
    )
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// What the file itself says, a position first (in the form people type
/// into a map), coordinates kept to 1 m (5 decimals): rounding a position
/// would understate what the file gives away.
fn metadata_rows(m: &Metadata) -> Vec<(String, String)> {
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some((lat, lon)) = m.position() {
        rows.push((
            "position",
            format!(
                "{:.5}° {}, {:.5}° {}",
                lat.abs(),
                if lat >= 0.0 { "N" } else { "S" },
                lon.abs(),
                if lon >= 0.0 { "E" } else { "W" }
            ),
        ));
    }
    let mut text = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            rows.push((k, v.to_string()));
        }
    };
    text("taken at", &m.taken_at.map(|t| t.to_string()));
    text("utc offset", &m.utc_offset);
    text("modified at", &m.modified_at.map(|t| t.to_string()));
    if let Some(g) = &m.gps {
        text("gps latitude", &g.latitude.map(|v| format!("{v:.5}")));
        text("gps longitude", &g.longitude.map(|v| format!("{v:.5}")));
        text("gps altitude", &g.altitude.map(fmt_number));
        text("gps time", &g.time);
    }
    if let Some(c) = &m.camera {
        text("camera make", &c.make);
        text("camera model", &c.model);
        text("camera lens", &c.lens);
        text("camera serial", &c.serial);
    }
    text("software", &m.software);
    text("orientation", &m.orientation.map(|o| o.to_string()));
    text("artist", &m.artist);
    text("copyright", &m.copyright);
    text("owner", &m.owner);
    text("description", &m.description);
    text(
        "warnings",
        &(!m.warnings.is_empty()).then(|| m.warnings.join(", ")),
    );
    text("error", &m.error);
    rows.into_iter()
        .map(|(k, v)| (k.to_string(), clean(&v)))
        .collect()
}

/// Integers as integers, other numbers with precision that fits their size.
fn fmt_number(f: f64) -> String {
    if !f.is_finite() {
        return String::new();
    }
    if f.fract() == 0.0 && f.abs() < 1e15 {
        let n = f as i64;
        return if n.unsigned_abs() >= 10_000 {
            format!(
                "{}{}",
                if n < 0 { "-" } else { "" },
                group_thousands(n.unsigned_abs())
            )
        } else {
            n.to_string()
        };
    }
    let a = f.abs();
    if a >= 100.0 {
        format!("{f:.0}")
    } else if a >= 10.0 {
        format!("{f:.1}")
    } else if a >= 0.01 {
        format!("{f:.2}")
    } else if a >= 0.00005 {
        format!("{f:.4}")
    } else {
        // Rounding noise (7e-13 km) reads as what it is.
        "0".into()
    }
}

fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---- videos ----

/// One video: its facts and a timeline strip, one lane per person and per
/// object kind.
struct VideoView {
    name: String,
    facts: String,
    error: Option<String>,
    lanes: Vec<Lane>,
    /// Read text lines with when they are visible.
    text: Vec<(String, String)>,
}

/// One lane of the strip: its label, and its segments as CSS
/// `left`/`width` percentages with a tooltip.
struct Lane {
    label: String,
    kind: &'static str,
    segments: Vec<(String, String, String)>,
}

fn video_view(v: &VideoResult) -> VideoView {
    use crate::result::TimeRange;
    use crate::video::timeline::clock_text;
    // The strip spans the video, or the last range if the length is unknown.
    let last_end = v
        .persons
        .iter()
        .flat_map(|p| p.appearances.iter())
        .chain(v.objects.iter().flat_map(|o| o.ranges.iter()))
        .map(|r| r.end)
        .fold(0.0, f64::max);
    let span = v.duration_seconds.max(last_end).max(f64::MIN_POSITIVE);
    let segments = |ranges: &[TimeRange]| {
        ranges
            .iter()
            .map(|r| {
                let left = (r.start / span * 100.0).clamp(0.0, 100.0);
                let width = ((r.end - r.start) / span * 100.0).clamp(0.3, 100.0 - left);
                (
                    format!("{left:.2}"),
                    format!("{width:.2}"),
                    format!("{} to {}", clock_text(r.start), clock_text(r.end)),
                )
            })
            .collect()
    };
    let when = |ranges: &[TimeRange]| {
        ranges
            .iter()
            .map(|r| format!("{}-{}", clock_text(r.start), clock_text(r.end)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut lanes: Vec<Lane> = v
        .persons
        .iter()
        .map(|p| Lane {
            label: format!("P{}", p.id),
            kind: "person",
            segments: segments(&p.appearances),
        })
        .collect();
    lanes.extend(v.objects.iter().map(|o| Lane {
        label: clean(o.label),
        kind: "object",
        segments: segments(&o.ranges),
    }));
    let name = std::path::Path::new(&v.path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| v.path.clone());
    VideoView {
        name: clean(&name),
        facts: format!(
            "{}x{}, {}, {} frames analysed, {} {}",
            v.width,
            v.height,
            clock_text(v.duration_seconds),
            v.frames_analysed,
            v.persons.len(),
            plural(v.persons.len(), "person", "persons")
        ),
        error: v.error.as_deref().map(clean),
        lanes,
        text: v
            .text
            .iter()
            .map(|t| (clean(&t.text), when(&t.ranges)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; &#34;q&#34;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}[31m"), "a\u{FFFD}b\u{FFFD}[31m");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(fmt_number(3.0), "3");
        assert_eq!(fmt_number(15.127), "15.1");
        assert_eq!(fmt_number(0.834), "0.83");
        assert_eq!(fmt_number(1234.6), "1235");
        assert_eq!(fmt_number(2026.0), "2026");
        assert_eq!(fmt_number(7.07e-13), "0");
        assert_eq!(fmt_number(560_000_000.0), "560,000,000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
        assert_eq!(group_thousands(999), "999");
    }

    #[test]
    fn a_projection_reads_as_a_table() {
        let p = crate::projection::Assumptions {
            images_per_second_per_machine: 10.0,
            machines: 1,
            average_photo_bytes: 2.5e6,
            video_frames_per_second: 1.0,
            video_bits_per_second: 5e6,
        }
        .project();
        let scale = PageProjection {
            projection: p,
            rate_note: "the rate is this test's".into(),
        };
        let h = render(&[], &Summary::default(), &[], Some(&scale));
        assert!(h.contains("<h2 id=\"scale-h\">At scale</h2>"));
        assert!(h.contains("<th scope=\"row\">1.4 PB</th>"));
        // 1.4 PB of 2.5 MB photos at 10 a second: 56 million s.
        assert!(
            h.contains("560.0 million") && h.contains("1.8 years"),
            "{h}"
        );
        assert!(h.contains("What this leaves out"));
        assert!(h.find("the rate is this test&#39;s").unwrap() < h.find("decimal units").unwrap());
    }

    /// The face and metadata views, from typed values: a field renamed in
    /// `Face` or `Metadata` fails to compile here and in the view.
    #[test]
    fn a_face_and_its_file_read_as_cells() {
        use crate::exif::Gps;
        use crate::result::{Expression, FaceAttributes, Gender, HeadPose};
        let face = Face {
            bbox: BBox {
                x: 10.04,
                y: 20.0,
                w: 30.0,
                h: 40.46,
            },
            score: 0.9,
            head_pose: HeadPose {
                roll: 4.2,
                yaw: -12.6,
                pitch: 3.0,
            },
            attributes: FaceAttributes {
                age: Some(33.6),
                gender: Some(Gender {
                    label: "female",
                    confidence: 0.9,
                }),
                expression: Some(Expression {
                    label: "happy",
                    scores: [
                        ("happy", 0.62),
                        ("neutral", 0.2),
                        ("sad", 0.09),
                        ("fear", 0.01),
                    ]
                    .into_iter()
                    .collect(),
                }),
            },
            ..Default::default()
        };
        let r = ImageResult {
            path: "photos/a\u{1b}.jpg".into(),
            width: 64,
            height: 48,
            faces: vec![face],
            metadata: Metadata {
                gps: Some(Gps {
                    latitude: Some(48.858_412),
                    longitude: Some(-2.5),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let summary = crate::stream::Tally::of([&r]).summary(1.0);
        let copies = [Annotated::Written("images/001-a.jpg".into())];
        let h = render(std::slice::from_ref(&r), &summary, &copies, None);
        assert!(
            h.contains(
                "<tr><th scope=\"row\">1</th><td class=\"num\">90%</td><td>34</td>\
                 <td>female 90%</td><td>happy 62% (then neutral 20%, sad 9%)</td>\
                 <td>yaw -13°, pitch 3°, roll 4°</td><td>low (0)</td><td>good (0)</td>\
                 <td>0</td><td>0</td><td>no</td><td class=\"num\">10, 20, 30 × 41</td></tr>"
            ),
            "{h}"
        );
        assert!(h.contains("<th scope=\"row\">position</th><td>48.85841° N, 2.50000° W</td>"));
        assert!(h.contains("<p class=\"counts\">1 face · 0 people · 0 objects</p>"));
        assert!(
            h.contains("<bdi>a\u{FFFD}.jpg</bdi>"),
            "control character replaced"
        );
        assert!(h.contains("width=\"64\" height=\"48\" style=\"width:min(100%,128px)\""));
    }

    #[test]
    fn absent_sections_are_not_rendered() {
        let h = render(&[], &Summary::default(), &[], None);
        assert!(!h.contains("id=\"caveats\""));
        assert!(!h.contains("id=\"scale\""));
        assert!(!h.contains("<h3>Timeline</h3>"));
        assert!(h.contains("What an onlooker learns from 0 photos"));
    }
}
