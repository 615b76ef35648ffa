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

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;

use super::inset::{self, InsetView, Rect};
use super::keyframes::VideoFiles;
use super::Summary;
use crate::countries::Countries;
use crate::exif::Metadata;
use crate::geometry::{round1, BBox};
use crate::identity::persons::Person;
use crate::projection::{self, group_thousands, Projection};
use crate::result::Caveat;
use crate::result::ImageResult;
use crate::result::Object;
use crate::result::{Blur, BlurLevel, Exposure, ExposureLevel, Face, FaceIdentity, VideoResult};
use crate::result::{Doubt, FindingKind, Findings, Sentence};
use crate::{doubts, findings};

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

/// Past this many photos the report is paged: the front page shows the
/// most revealing photos and the rest of the report, and every photo has
/// its section on one of the photo pages (`photos-1.html`, ...), this many
/// to a page, so that no page grows with the folder.
pub const PHOTOS_PER_PAGE: usize = 100;

/// Lists on the front page that grow with the folder stop here, saying how
/// many more there are (all are in `report.json`): the photos behind one
/// finding, one person's photos, the names in a Places or Devices row.
const LIST_SHOWN: usize = 12;

/// Rows of the Timeline table shown, and folded findings listed, before
/// the rest is left to `report.json`.
const ROWS_SHOWN: usize = 100;

/// Persons listed in the People section, of each kind (several photos,
/// one photo), in order of first appearance.
const PERSONS_SHOWN: usize = 50;

/// How many photos the front page of a paged report shows.
const SHOWN_WHEN_PAGED: usize = 24;

/// The file of the `k`-th photo page (from 1).
pub fn photo_page_file(k: usize) -> String {
    format!("photos-{k}.html")
}

/// A photo number as templates hand it over (by value or behind
/// references).
trait Number {
    fn get(&self) -> usize;
}

impl Number for usize {
    fn get(&self) -> usize {
        *self
    }
}

impl<T: Number + ?Sized> Number for &T {
    fn get(&self) -> usize {
        (**self).get()
    }
}

/// Where each photo's section is, for links: on this page, or on the
/// photo page that holds it.
#[derive(Debug, Default)]
struct Links {
    /// Photo numbers (from 1) whose sections are on this page.
    here: BTreeSet<usize>,
    /// Photos per photo page; 0 when the report is one page.
    per_page: usize,
}

impl Links {
    fn href(&self, number: usize) -> String {
        if self.per_page == 0 || self.here.contains(&number) {
            format!("#image-{number}")
        } else {
            let page = photo_page_file(1 + number.saturating_sub(1) / self.per_page);
            format!("{page}#image-{number}")
        }
    }
}

/// How many findings the verdict states, one per kind, strongest first.
const VERDICT_SIZE: usize = 4;

/// How many findings are listed before the rest are folded away.
const FINDINGS_SHOWN: usize = 8;

/// Photos at least this crowded get a grid of face crops.
const CROP_GRID_FROM: usize = 6;

/// The software name onlooker's own `scripts/day_out.rs` writes into the
/// demo's synthetic "day out" files: those files are introduced once, at
/// the top, and their tool notes kept out of the per-photo metadata.
const DEMO_SOFTWARE: &str = "onlooker scripts/";

/// The findings the verdict states: the strongest of each kind, for the
/// [`VERDICT_SIZE`] strongest kinds (`findings::by_severity`).
pub fn verdict(sentences: &[Sentence]) -> Vec<&Sentence> {
    let mut kinds: Vec<FindingKind> = Vec::new();
    let mut out = Vec::new();
    for s in findings::by_severity(sentences) {
        if kinds.contains(&s.kind) {
            continue;
        }
        if kinds.len() == VERDICT_SIZE {
            break;
        }
        kinds.push(s.kind);
        out.push(s);
    }
    out
}

fn is_demo(m: &Metadata) -> bool {
    m.software
        .as_deref()
        .is_some_and(|s| s.starts_with(DEMO_SOFTWARE))
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    version: &'static str,
    /// One face as the clouds return it, and the documents beside the page.
    cloud: Option<CloudView>,
    photos: String,
    /// The verdict: short plain sentences, strongest first.
    verdict: Vec<String>,
    /// "235,000 photos a day", from this run's rate.
    per_day: Option<String>,
    /// The demo's synthetic files, introduced once.
    sample_note: Option<String>,
    stats: Vec<(usize, &'static str)>,
    /// What the stats leave out, and why.
    stats_notes: Vec<String>,
    failed: usize,
    object_totals: Vec<(&'static str, usize, usize)>,
    findings: Vec<FindingView>,
    more_findings: Vec<FindingView>,
    /// Findings past the folded ones, not shown.
    findings_left_out: usize,
    /// Concrete cases in this run where the evidence shows an error or a doubt.
    wrong: Vec<WrongCase>,
    /// The busiest located day's trail, drawn.
    map: Option<MapView>,
    /// Why places are coordinates only (no gazetteer), said once.
    places_unnamed: Option<String>,
    /// Whether any place is named from GeoNames (credited in the footer).
    geonames: bool,
    timeline: Vec<[String; 4]>,
    /// Timeline rows not shown.
    timeline_more: usize,
    places: Vec<[String; 4]>,
    devices: Vec<[String; 5]>,
    /// Persons seen in two photos or more, with their contact sheets.
    persons: Vec<PersonView>,
    /// Persons seen in one photo only (collapsed on the page).
    persons_once: Vec<PersonView>,
    /// How many persons were seen in one photo only (some may not be
    /// listed).
    persons_once_total: usize,
    /// Persons not listed (past [`PERSONS_SHOWN`] of either kind).
    persons_left_out: usize,
    /// What is known about face identification's errors and rules.
    identity_caveats: Vec<(&'static str, &'static str)>,
    caveats: Vec<(&'static str, &'static str)>,
    timing: Vec<(&'static str, String)>,
    scale: Option<ScaleView>,
    any_faces: bool,
    any_text: bool,
    lazy: bool,
    images: Vec<ImageView>,
    /// In a paged report: why the front page shows only some photos.
    images_note: Option<String>,
    /// In a paged report: every photo page, (file, "1–100").
    photo_pages: Vec<(String, String)>,
    links: Links,
    videos: Vec<VideoView>,
}

impl Page {
    fn image_href(&self, number: impl Number) -> String {
        self.links.href(number.get())
    }

    fn more_caption(&self) -> String {
        let n = self.more_findings.len();
        format!("{n} more {}", plural(n, "finding", "findings"))
    }

    fn has_findings(&self) -> bool {
        !(self.findings.is_empty()
            && self.more_findings.is_empty()
            && self.timeline.is_empty()
            && self.places.is_empty()
            && self.devices.is_empty())
    }
}

/// One person of the batch: what and when, the face thumbnails, and
/// links to the photos with their capture times.
struct PersonView {
    id: u32,
    what: String,
    when: String,
    /// (image number in the page, file name, capture time or ""), the
    /// first [`LIST_SHOWN`].
    photos: Vec<(usize, String, String)>,
    /// Photos of this person not listed.
    more_photos: usize,
    /// (thumbnail path in the report folder, image number, face number).
    thumbs: Vec<(String, usize, usize)>,
    /// Faces of this person without a thumbnail.
    more_faces: usize,
}

/// One finding: its headline, and on demand the exact statement and the
/// photos and fields it rests on.
struct FindingView {
    headline: String,
    text: String,
    /// (image number in the page, when shown; file name; fields).
    evidence: Vec<(Option<usize>, String, String)>,
    /// Photos behind the finding not listed.
    more_evidence: usize,
}

/// A day's trail as an inline SVG (no tiles, nothing loaded): the
/// positions the photos state, in time order, projected locally
/// (equirectangular at the trail's latitude, fine over a city), with
/// numbered stops linking to their photos and a scale bar.
struct MapView {
    date: String,
    label: String,
    points: String,
    stops: Vec<StopView>,
    /// Scale bar: x from, x to, its label.
    scale: (f64, f64, String),
    /// The day strip: the same photos, small, in time order.
    strip: Vec<StripItem>,
    /// Nearby places from the gazetteer: x, y, label, text anchor, and
    /// whether it marks a place inside the drawing (else the label sits at
    /// the edge, its arrow pointing at the place).
    names: Vec<MapName>,
    /// Where the trail lies in its country (or the world), when the
    /// country outlines are at hand.
    inset: Option<InsetView>,
    /// The drawing's height: [`MAP_H`], or more when the inset found no
    /// free place along the edges and sits below.
    height: f64,
}

/// One photo of the day strip.
struct StripItem {
    /// Stop number on the map.
    n: usize,
    /// Image number in the page.
    image: usize,
    time: String,
    /// The annotated copy shown small (or the copy of the same picture).
    thumb: Option<String>,
    alt: String,
}

struct MapName {
    x: f64,
    y: f64,
    /// Where the label goes.
    lx: f64,
    ly: f64,
    label: String,
    anchor: &'static str,
    inside: bool,
}

struct StopView {
    n: usize,
    image: usize,
    x: f64,
    y: f64,
    /// Where the time label goes, and which way it runs.
    tx: f64,
    anchor: &'static str,
    time: String,
}

/// The map's drawing area, in SVG units.
const MAP_W: f64 = 640.0;
const MAP_H: f64 = 400.0;
const MAP_PAD: f64 = 48.0;

/// A dated, located photo: time, index in the results, position.
type MapStop = (crate::exif::Timestamp, usize, (f64, f64));

/// The day with the most dated, located photos (at least two different
/// positions), its photos in time order, or None.
fn map_day(results: &[ImageResult]) -> Option<Vec<MapStop>> {
    let mut days: BTreeMap<String, Vec<MapStop>> = BTreeMap::new();
    for (i, r) in results.iter().enumerate() {
        if let (Some(t), Some(p)) = (r.metadata.taken_at, r.metadata.position()) {
            days.entry(t.date()).or_default().push((t, i, p));
        }
    }
    let (_, mut stops) = days
        .into_iter()
        .filter(|(_, v)| v.iter().any(|s| s.2 != v[0].2))
        .max_by_key(|(d, v)| (v.len(), std::cmp::Reverse(d.clone())))?;
    stops.sort_by_key(|s| (s.0.sort_key(), s.1));
    Some(stops)
}

/// Whether the report's page draws a trail map (and so could use the
/// country outlines of its inset).
pub fn draws_map(results: &[ImageResult]) -> bool {
    map_day(results).is_some()
}

/// The trail of the day with the most dated, located photos (at least two
/// different positions), or None; with the inset when `countries` are
/// given.
fn map_view(
    results: &[ImageResult],
    findings: &Findings,
    countries: Option<&Countries>,
) -> Option<MapView> {
    let stops = map_day(results)?;
    let lat0 = stops.iter().map(|s| s.2 .0).sum::<f64>() / stops.len() as f64;
    let k = lat0.to_radians().cos().max(0.01);
    let xy: Vec<(f64, f64)> = stops.iter().map(|s| (s.2 .1 * k, -s.2 .0)).collect();
    let (minx, maxx) = xy
        .iter()
        .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
    let (miny, maxy) = xy
        .iter()
        .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
    let span = ((maxx - minx) / (MAP_W - 2.0 * MAP_PAD))
        .max((maxy - miny) / (MAP_H - 2.0 * MAP_PAD))
        .max(1e-9);
    // Degrees of latitude per SVG unit: centre the trail.
    let ox = (MAP_W - (maxx - minx) / span) / 2.0;
    let oy = (MAP_H - (maxy - miny) / span) / 2.0;
    let at = |p: (f64, f64)| (ox + (p.0 - minx) / span, oy + (p.1 - miny) / span);
    let points: Vec<(f64, f64)> = xy.iter().map(|&p| at(p)).collect();
    // A scale bar of a round length near a quarter of the width.
    let km_per_unit = span * 111.32;
    let target = MAP_W / 4.0 * km_per_unit;
    let round = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
    ]
    .into_iter()
    .rfind(|&v| v <= target)
    .unwrap_or(0.1);
    // The gazetteer's places near the stops: each stop's nearest place
    // drawn where it is, and the city they lie by, at the edge when it is
    // off the drawing.
    let mut localities: Vec<(&crate::result::Locality, bool)> = Vec::new();
    for s in &stops {
        let name = findings
            .timeline
            .iter()
            .find(|t| t.image == results[s.1].path)
            .and_then(|t| t.place)
            .and_then(|i| findings.places.get(i))
            .and_then(|p| p.name.as_ref());
        if let Some(n) = name {
            for (l, city) in
                std::iter::once((&n.nearest, false)).chain(n.city.iter().map(|c| (c, true)))
            {
                if !localities.iter().any(|(m, _)| m.name == l.name) {
                    localities.push((l, city));
                }
            }
        }
    }
    let margin = 8.0;
    let scale_end = MAP_PAD + round / km_per_unit;
    let (mut top, mut bottom) = (0usize, 0usize);
    let names: Vec<MapName> = localities
        .iter()
        .map(|(l, city)| {
            let (x, y) = at((l.longitude * k, -l.latitude));
            let inside =
                (margin..=MAP_W - margin).contains(&x) && (margin..=MAP_H - 30.0).contains(&y);
            if inside && !city {
                let right = x < MAP_W / 2.0;
                MapName {
                    x,
                    y,
                    lx: if right { x + 8.0 } else { x - 8.0 },
                    ly: y - 6.0,
                    label: l.name.clone(),
                    anchor: if right { "start" } else { "end" },
                    inside: true,
                }
            } else {
                // Off the drawing (or the city): a label in the top band
                // for a place to the north, the bottom band to the south,
                // above or below the stops, its arrow pointing at it.
                let (cx, cy) = (MAP_W / 2.0, MAP_H / 2.0);
                let (dx, dy) = (x - cx, y - cy);
                let t = ((MAP_W / 2.0 - margin) / dx.abs().max(1e-9)).min(1.0);
                let mut lx = cx + dx * t;
                let arrow = ["→", "↘", "↓", "↙", "←", "↖", "↑", "↗"]
                    [((dy.atan2(dx).to_degrees().rem_euclid(360.0) / 45.0).round() as usize) % 8];
                let dist = l.distance_km;
                let anchor = if lx < MAP_W / 3.0 {
                    "start"
                } else if lx > MAP_W * 2.0 / 3.0 {
                    "end"
                } else {
                    "middle"
                };
                let label = if anchor == "start" {
                    format!("{arrow} {} {dist:.0} km", l.name)
                } else {
                    format!("{} {dist:.0} km {arrow}", l.name)
                };
                let north = dy < 0.0;
                let band = if north { &mut top } else { &mut bottom };
                let ly = if north {
                    22.0 + 16.0 * *band as f64
                } else {
                    // Clear of the scale bar at the bottom left.
                    if anchor == "start" {
                        lx = lx.max(scale_end + 12.0);
                    }
                    MAP_H - 8.0 - 16.0 * *band as f64
                };
                *band += 1;
                MapName {
                    x: lx,
                    y: ly,
                    lx,
                    ly,
                    label,
                    anchor,
                    inside: false,
                }
            }
        })
        .collect();
    let first = stops[0].0;
    let last = stops[stops.len() - 1].0;
    let stop_views: Vec<StopView> = stops
        .iter()
        .zip(&points)
        .enumerate()
        .map(|(n, (s, &(x, y)))| {
            let right = x < MAP_W / 2.0;
            StopView {
                n: n + 1,
                image: s.1 + 1,
                x,
                y,
                tx: if right { x + 17.0 } else { x - 17.0 },
                anchor: if right { "start" } else { "end" },
                time: s.0.clock(),
            }
        })
        .collect();
    let scale = (
        MAP_PAD,
        MAP_PAD + round / km_per_unit,
        if round < 1.0 {
            format!("{:.0} m", round * 1000.0)
        } else {
            format!("{round} km")
        },
    );
    let mut height = MAP_H;
    let inset = countries.map(|c| {
        let trail = stops
            .iter()
            .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, s| {
                let (lat, lon) = s.2;
                [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)]
            });
        let mut view = inset::draw(c, trail);
        let taken = map_taken(&stop_views, &names, &scale);
        let segments: Vec<_> = points.windows(2).map(|w| (w[0], w[1])).collect();
        let ((x, y), grow) = inset::place(MAP_W, MAP_H, &taken, &segments);
        (view.x, view.y) = (x, y);
        height += grow;
        view
    });
    Some(MapView {
        strip: Vec::new(),
        names,
        inset,
        height,
        date: first.human_date(),
        label: format!(
            "Map of {} positions stated by the photos of {}, from {} to {}, joined in time order",
            stops.len(),
            first.human_date(),
            first.clock(),
            last.clock()
        ),
        points: points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect::<Vec<_>>()
            .join(" "),
        stops: stop_views,
        scale,
    })
}

/// What the map already shows, as rectangles the inset must not cover:
/// each stop with its time, each place name, the scale bar. Text widths
/// are estimated from the font sizes of `report.css`.
fn map_taken(stops: &[StopView], names: &[MapName], scale: &(f64, f64, String)) -> Vec<Rect> {
    let text = |x: f64, y: f64, anchor: &str, width: f64| -> Rect {
        let left = match anchor {
            "end" => x - width,
            "middle" => x - width / 2.0,
            _ => x,
        };
        [left, y - 13.0, left + width, y + 4.0]
    };
    let mut taken = Vec::new();
    for s in stops {
        taken.push([s.x - 14.0, s.y - 14.0, s.x + 14.0, s.y + 14.0]);
        taken.push(text(s.tx, s.y + 5.0, s.anchor, 8.0 * s.time.len() as f64));
    }
    for n in names {
        if n.inside {
            taken.push([n.x - 5.0, n.y - 5.0, n.x + 5.0, n.y + 5.0]);
        }
        let width = 7.5 * n.label.chars().count() as f64;
        taken.push(text(n.lx, n.ly, n.anchor, width));
    }
    let label = 8.0 * scale.2.len() as f64;
    taken.push([scale.0, 358.0, scale.1.max(scale.0 + label), 384.0]);
    taken
}

/// One case of "what the models got wrong" in this run.
struct WrongCase {
    /// Image number in the page and file name.
    image: Option<(usize, String)>,
    text: String,
}

struct ScaleView {
    assumptions: String,
    rows: Vec<[String; 5]>,
    /// How many machines like this one get through each volume in the
    /// projection's days.
    machines: Option<String>,
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
    /// The first image with the same pixels: number and file name.
    duplicate_of: Option<(usize, String)>,
    faces: Vec<FaceRow>,
    /// Face crops from the annotated copy, for crowded photos.
    crops: Vec<Crop>,
    /// "dog 98%", one chip per object.
    objects: Vec<String>,
    /// Object, score, box: the measurements behind the chips.
    object_rows: Vec<[String; 3]>,
    /// "espresso 87%", one per tag, most likely first.
    tags: Vec<String>,
    text: Vec<TextRow>,
    metadata: Vec<(String, String)>,
}

/// One face cut out of the annotated copy by CSS: a square window onto the
/// full image, scaled so the face fills it.
struct Crop {
    number: usize,
    /// `width:..;left:..;top:..` of the image inside the window.
    style: String,
}

/// One line of text read, as the page shows it (askama escapes `text`).
struct TextRow {
    text: String,
    /// The identifying kind, shown as a chip.
    kind: Option<&'static str>,
    score: String,
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

    fn text_caption(&self) -> String {
        format!("Text read: {}", count_of(self.text.len(), "line", "lines"))
    }
}

struct FaceRow {
    /// What the models think: person, gender, age, expression.
    thinks: String,
    /// Why that, or the face itself, is in doubt.
    doubts: Vec<String>,
    /// Detector score, pose, blur, exposure, size, box, in one line.
    measures: String,
}

/// What a report page renders: the typed results, and what the report
/// folder made of them.
#[derive(Clone, Copy)]
pub struct Report<'a> {
    pub results: &'a [ImageResult],
    pub videos: &'a [VideoResult],
    /// Each video's keyframes (`video_files[i]` belongs to `videos[i]`;
    /// missing: none).
    pub video_files: &'a [VideoFiles],
    pub summary: &'a Summary,
    /// `copies[i]` is the annotated copy of `results[i]` (missing entries
    /// count as no copy).
    pub copies: &'a [Annotated],
    pub scale: Option<&'a PageProjection>,
    /// The People section's face thumbnails: (image index, face index) to
    /// the thumbnail's path in the report folder.
    pub faces: &'a BTreeMap<(usize, usize), String>,
    /// The country outlines for the map's inset (none: no inset).
    pub countries: Option<&'a Countries>,
    /// The `--as` documents are written beside the page (`cloud/*.json`).
    pub cloud_files: bool,
}

/// No face thumbnails.
static NO_FACES: BTreeMap<(usize, usize), String> = BTreeMap::new();

impl<'a> Report<'a> {
    /// Photos and their summary only: no videos, annotated copies,
    /// projection, thumbnails, inset or cloud files.
    pub fn of_photos(results: &'a [ImageResult], summary: &'a Summary) -> Self {
        Report {
            results,
            videos: &[],
            video_files: &[],
            summary,
            copies: &[],
            scale: None,
            faces: &NO_FACES,
            countries: None,
            cloud_files: false,
        }
    }
}

/// Renders the whole page. `copies[i]` is the annotated copy of
/// `results[i]` (missing entries count as no copy).
pub fn render(
    results: &[ImageResult],
    summary: &Summary,
    copies: &[Annotated],
    scale: Option<&PageProjection>,
) -> String {
    render_full(&Report {
        copies,
        scale,
        ..Report::of_photos(results, summary)
    })
}

/// [`render`] with what the report folder adds: the videos' timelines
/// with their keyframes, and the People section's face thumbnails; every
/// photo on the one page.
pub fn render_full(r: &Report) -> String {
    let all: Vec<usize> = (0..r.results.len()).collect();
    render_page(r, &all, Links::default())
}

/// The pages of a report folder: the front page and, for more than
/// [`PHOTOS_PER_PAGE`] photos, the photo pages as (file name, page).
#[derive(Debug)]
pub struct Pages {
    pub index: String,
    pub photos: Vec<(String, String)>,
}

/// [`render_full`] for a report folder: up to [`PHOTOS_PER_PAGE`] photos,
/// one page; past that, a front page showing the photos that give most
/// away (see [`most_revealing`]) and photo pages holding every photo's
/// section, which the front page's links lead to.
pub fn render_report(r: &Report) -> Pages {
    let Report {
        results,
        summary,
        copies,
        ..
    } = *r;
    let n = results.len();
    if n <= PHOTOS_PER_PAGE {
        return Pages {
            index: render_full(r),
            photos: Vec::new(),
        };
    }
    let shown = most_revealing(results, summary, SHOWN_WHEN_PAGED);
    let links = Links {
        here: shown.iter().map(|i| i + 1).collect(),
        per_page: PHOTOS_PER_PAGE,
    };
    let index = render_page(r, &shown, links);
    let pages = photo_pages(n);
    let photos = pages
        .iter()
        .enumerate()
        .map(|(k, (file, label))| {
            let start = k * PHOTOS_PER_PAGE;
            let end = (start + PHOTOS_PER_PAGE).min(n);
            let page = PhotosPage {
                version: env!("CARGO_PKG_VERSION"),
                photos: count_of(n, "photo", "photos"),
                label: label.clone(),
                current: k + 1,
                prev: k.checked_sub(1).map(|p| pages[p].0.clone()),
                next: pages.get(k + 1).map(|p| p.0.clone()),
                photo_pages: pages.clone(),
                any_faces: results[start..end].iter().any(|r| !r.faces.is_empty()),
                any_text: results[start..end].iter().any(|r| !r.text.is_empty()),
                geonames: summary.findings.places.iter().any(|p| p.name.is_some()),
                lazy: true,
                images: (start..end)
                    .map(|i| {
                        let copy = copies.get(i).unwrap_or(&Annotated::None);
                        image_view(i, &results[i], results, copy)
                    })
                    .collect(),
                links: Links {
                    here: (start + 1..=end).collect(),
                    per_page: PHOTOS_PER_PAGE,
                },
            };
            let mut html = page.render().unwrap_or_default();
            html.push('\n');
            (file.clone(), html)
        })
        .collect();
    Pages { index, photos }
}

/// The photo pages of `n` photos: (file, "101–200").
fn photo_pages(n: usize) -> Vec<(String, String)> {
    (0..n.div_ceil(PHOTOS_PER_PAGE))
        .map(|k| {
            let first = k * PHOTOS_PER_PAGE + 1;
            let last = ((k + 1) * PHOTOS_PER_PAGE).min(n);
            (photo_page_file(k + 1), format!("{first}\u{2013}{last}"))
        })
        .collect()
}

/// The photos the front page of a paged report shows, at most `k`, in
/// input order: those the findings cite most (each citation counts 4),
/// then identifying text (2 per line), a stated position (2) and faces (1
/// each); failed and repeated pictures never.
fn most_revealing(results: &[ImageResult], summary: &Summary, k: usize) -> Vec<usize> {
    let mut cited: BTreeMap<&str, usize> = BTreeMap::new();
    for e in summary
        .findings
        .sentences
        .iter()
        .flat_map(|s| s.evidence.iter())
    {
        *cited.entry(e.image.as_str()).or_default() += 1;
    }
    let mut scored: Vec<(usize, usize)> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.error.is_none() && r.duplicate_of.is_none())
        .map(|(i, r)| {
            let score = 4 * cited.get(r.path.as_str()).copied().unwrap_or(0)
                + 2 * r.text.iter().filter(|t| t.kind.is_some()).count()
                + 2 * usize::from(r.metadata.gps.is_some())
                + r.faces.len();
            (i, score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut shown: Vec<usize> = scored.into_iter().take(k).map(|(i, _)| i).collect();
    shown.sort_unstable();
    shown
}

/// One photo page of a paged report.
#[derive(Template)]
#[template(path = "photos.html")]
struct PhotosPage {
    version: &'static str,
    /// "5,000 photos".
    photos: String,
    /// "101–200".
    label: String,
    /// This page's number, from 1.
    current: usize,
    prev: Option<String>,
    next: Option<String>,
    photo_pages: Vec<(String, String)>,
    any_faces: bool,
    any_text: bool,
    geonames: bool,
    lazy: bool,
    images: Vec<ImageView>,
    links: Links,
}

impl PhotosPage {
    fn image_href(&self, number: impl Number) -> String {
        self.links.href(number.get())
    }
}

/// The "as the cloud returns it" section: the first face with attributes
/// as Rekognition's `DetectFaces` and Azure's retired block give it, and
/// the `--as` documents of the whole run when they are beside the page.
struct CloudView {
    /// (provider, file relative to the page).
    files: Vec<(&'static str, String)>,
    example: Option<CloudExample>,
}

struct CloudExample {
    photo: String,
    aws: String,
    retired: Option<String>,
}

fn cloud_view(results: &[ImageResult], files: bool) -> Option<CloudView> {
    use crate::cloud::{self, Provider};
    let example = results.iter().find_map(|r| {
        let k = r.faces.iter().position(|f| f.attributes.gender.is_some())?;
        let aws = cloud::aws::responses(r);
        let face = aws.detect_faces.face_details.get(k)?;
        let retired = cloud::azure::responses(r).retired.and_then(|b| {
            let rect = cloud::azure::rect(&r.faces[k].bbox);
            let face = b.faces.into_iter().find(|f| f.face_rectangle == rect)?;
            serde_json::to_string_pretty(&cloud::azure::Retired {
                note: b.note,
                faces: vec![face],
            })
            .ok()
        });
        Some(CloudExample {
            photo: clean(&r.path),
            aws: serde_json::to_string_pretty(face).ok()?,
            retired,
        })
    });
    let files: Vec<(&'static str, String)> = match files {
        true => Provider::ALL
            .iter()
            .map(|p| (p.title(), cloud::file_name(*p)))
            .collect(),
        false => Vec::new(),
    };
    (example.is_some() || !files.is_empty()).then_some(CloudView { files, example })
}

/// One page of the report showing the photos `shown` (indices, in order).
fn render_page(r: &Report, shown: &[usize], links: Links) -> String {
    let Report {
        results,
        videos,
        video_files,
        summary,
        copies,
        scale,
        faces,
        countries,
        cloud_files,
    } = *r;
    let n = results.len();
    let face_count = summary.faces.saturating_sub(summary.faces_without_person);
    let mut findings: Vec<FindingView> = findings::by_severity(&summary.findings.sentences)
        .into_iter()
        .map(|s| finding_view(s, results))
        .collect();
    let mut more_findings = findings.split_off(findings.len().min(FINDINGS_SHOWN));
    let findings_left_out = more_findings.len().saturating_sub(ROWS_SHOWN);
    more_findings.truncate(ROWS_SHOWN);
    let (persons, persons_once): (Vec<PersonView>, Vec<PersonView>) = summary
        .persons
        .iter()
        .map(|p| person_view(p, results, faces))
        .partition(|p| p.photos.len() + p.more_photos > 1);
    let (mut persons, mut persons_once) = (persons, persons_once);
    let persons_left_out = persons.len().saturating_sub(PERSONS_SHOWN)
        + persons_once.len().saturating_sub(PERSONS_SHOWN);
    let persons_once_total = persons_once.len();
    persons.truncate(PERSONS_SHOWN);
    persons_once.truncate(PERSONS_SHOWN);
    let mut map = map_view(results, &summary.findings, countries);
    if let Some(m) = map.as_mut() {
        m.strip = m
            .stops
            .iter()
            .map(|s| {
                let i = s.image - 1;
                let written = |j: usize| match copies.get(j) {
                    Some(Annotated::Written(src)) => Some(src.clone()),
                    _ => None,
                };
                let thumb = written(i).or_else(|| results[i].duplicate_of.and_then(written));
                StripItem {
                    n: s.n,
                    image: s.image,
                    time: s.time.clone(),
                    alt: format!(
                        "Stop {} at {}: {}",
                        s.n,
                        s.time,
                        file_name(&results[i].path)
                    ),
                    thumb,
                }
            })
            .collect();
    }
    let page = Page {
        version: env!("CARGO_PKG_VERSION"),
        cloud: cloud_view(results, cloud_files),
        photos: count_of(n, "photo", "photos"),
        verdict: verdict(&summary.findings.sentences)
            .into_iter()
            .map(|s| clean(&s.headline))
            .collect(),
        per_day: per_day(summary.images_per_second),
        sample_note: sample_note(results),
        stats: vec![
            (summary.images, plural(summary.images, "photo", "photos")),
            (face_count, plural(face_count, "face", "faces")),
            (
                summary.people,
                plural(summary.people, "person in view", "people in view"),
            ),
            (
                summary.objects,
                plural(summary.objects, "object", "objects"),
            ),
        ],
        stats_notes: stats_notes(summary),
        failed: summary.failed,
        object_totals: object_totals(results),
        findings,
        more_findings,
        findings_left_out,
        wrong: wrong_cases(results, summary),
        map,
        places_unnamed: summary.findings.places_unnamed.as_deref().map(clean),
        geonames: summary.findings.places.iter().any(|p| p.name.is_some()),
        timeline: timeline(&summary.findings),
        timeline_more: summary.findings.timeline.len().saturating_sub(ROWS_SHOWN),
        places: summary
            .findings
            .places
            .iter()
            .map(|p| {
                [
                    p.name
                        .as_ref()
                        .map_or_else(String::new, |n| clean(&n.words)),
                    format!("{:.5}, {:.5}", p.latitude, p.longitude),
                    fmt_number(p.radius_km),
                    clean(&names_list(&p.images)),
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
                    clean(&names_list(&d.images)),
                ]
            })
            .collect(),
        persons,
        persons_once,
        persons_once_total,
        persons_left_out,
        identity_caveats: crate::identity::CAVEATS
            .iter()
            .map(|c| (c.source, c.text))
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
        images: shown
            .iter()
            .map(|&i| image_view(i, &results[i], results, copies.get(i).unwrap_or(&Annotated::None)))
            .collect(),
        images_note: (links.per_page > 0).then(|| {
            format!(
                "The {} of the {} that give most away (cited by the findings, with identifying text, a position or faces). Every photo is on the photo pages, {} to a page:",
                count_of(shown.len(), "photo", "photos"),
                count_of(n, "photo", "photos"),
                PHOTOS_PER_PAGE
            )
        }),
        photo_pages: if links.per_page > 0 { photo_pages(n) } else { Vec::new() },
        links,
        videos: videos
            .iter()
            .enumerate()
            .map(|(i, v)| video_view(v, video_files.get(i)))
            .collect(),
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
fn person_view(
    p: &Person,
    results: &[ImageResult],
    faces: &BTreeMap<(usize, usize), String>,
) -> PersonView {
    let mut thumbs = Vec::new();
    for (i, r) in results.iter().enumerate() {
        for (j, f) in r.faces.iter().enumerate() {
            if f.identity.and_then(|x| x.person) == Some(p.id) {
                if let Some(src) = faces.get(&(i, j)) {
                    thumbs.push((src.clone(), i + 1, j + 1));
                }
            }
        }
    }
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
        more_photos: p.images.len().saturating_sub(LIST_SHOWN),
        photos: p
            .images
            .iter()
            .take(LIST_SHOWN)
            .filter_map(|path| {
                let i = results.iter().position(|r| &r.path == path)?;
                let when = results[i]
                    .metadata
                    .taken_at
                    .map_or(String::new(), |t| format!("{} {}", t.date(), t.clock()));
                Some((i + 1, file_name(path), when))
            })
            .collect(),
        more_faces: p.faces.saturating_sub(thumbs.len()),
        thumbs,
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

/// "235,000 photos a day", at this run's rate on this computer.
fn per_day(images_per_second: f64) -> Option<String> {
    (images_per_second > 0.0 && images_per_second.is_finite()).then(|| {
        let n = (images_per_second * 86_400.0).round() as u64;
        // Three significant figures: the rate of one run is no more exact.
        let unit = 10u64.pow((n.max(1).ilog10()).saturating_sub(2));
        let n = (n + unit / 2) / unit * unit;
        format!("{} photos a day", group_thousands(n))
    })
}

/// The demo's synthetic files, named once.
fn sample_note(results: &[ImageResult]) -> Option<String> {
    let demo: Vec<String> = results
        .iter()
        .filter(|r| is_demo(&r.metadata))
        .map(|r| file_name(&r.path))
        .collect();
    if demo.is_empty() {
        return None;
    }
    Some(format!(
        "Sample data: {} ({}) carry metadata onlooker wrote for this demo, \
         a made-up day out with a made-up owner, over copies of other samples' \
         pictures. A real camera records the same fields.",
        count_of(demo.len(), "photo", "photos"),
        demo.join(", ")
    ))
}

fn stats_notes(summary: &Summary) -> Vec<String> {
    let mut notes = Vec::new();
    if summary.faces_without_person > 0 {
        notes.push(format!(
            "Not counted: {} on photos where no person was detected (see what the models got wrong).",
            count_of(summary.faces_without_person, "\"face\"", "\"faces\"")
        ));
    }
    if summary.duplicates > 0 {
        notes.push(format!(
            "{} the same picture as an earlier photo: counted once.",
            match summary.duplicates {
                1 => "1 photo is".to_string(),
                n => format!("{n} photos are"),
            }
        ));
    }
    if summary.people > 0 {
        notes.push(
            "People in view are person shapes counted photo by photo, not different people.".into(),
        );
    }
    notes
}

/// The finding's headline, statement and evidence, each photo linked to
/// its place on the page and its fields named as people say them.
fn finding_view(s: &Sentence, results: &[ImageResult]) -> FindingView {
    FindingView {
        headline: clean(&s.headline),
        text: clean(&s.text),
        more_evidence: s.evidence.len().saturating_sub(LIST_SHOWN),
        evidence: s
            .evidence
            .iter()
            .take(LIST_SHOWN)
            .map(|e| {
                let number = results
                    .iter()
                    .position(|r| r.path == e.image)
                    .map(|i| i + 1);
                let mut fields: Vec<&str> = Vec::new();
                for f in &e.fields {
                    let name = field_name(f);
                    if !fields.contains(&name) {
                        fields.push(name);
                    }
                }
                (number, file_name(&e.image), fields.join(", "))
            })
            .collect(),
    }
}

/// An evidence field as people say it.
fn field_name(f: &str) -> &str {
    match f {
        "taken_at" => "time taken",
        "gps.latitude" | "gps.longitude" => "GPS position",
        "camera.make" | "camera.model" => "camera",
        "camera.serial" => "serial number",
        "faces.person" => "face match",
        findings::TEXT_FIELD => "text read in the photo",
        other => other,
    }
}

/// Where this run's own evidence shows an error or a doubt: faces on
/// photos with no person, persons that join such a face with others,
/// gender guessed against a low confidence, attributes guessed on faces
/// below the cloud minimum. One case per image and kind.
fn wrong_cases(results: &[ImageResult], summary: &Summary) -> Vec<WrongCase> {
    let mut out = Vec::new();
    let at = |i: usize| Some((i + 1, file_name(&results[i].path)));
    for (i, r) in results.iter().enumerate() {
        if r.duplicate_of.is_some() {
            continue;
        }
        let with = |d: Doubt| -> Vec<(usize, &Face)> {
            r.faces
                .iter()
                .enumerate()
                .filter(|(_, f)| f.doubts.contains(&d))
                .map(|(k, f)| (k + 1, f))
                .collect()
        };
        for (k, f) in with(Doubt::NoPerson) {
            let animal = f
                .doubts
                .contains(&Doubt::InsideAnimal)
                .then(|| doubts::held_by_non_person(f, &r.objects))
                .flatten();
            let mut text = match animal {
                Some(a) => format!(
                    "face {k} lies inside the {}'s box, on a photo where no person was detected: probably the {}'s face",
                    a.label, a.label
                ),
                None => format!(
                    "no person was detected in this photo, so nothing confirms that face {k} is a human face"
                ),
            };
            let guess = thinks(f, false);
            if !guess.is_empty() {
                text.push_str(&format!("; the models still describe it as {guess}"));
            }
            if let Some(p) = f.identity.and_then(|id| id.person) {
                let others = summary
                    .persons
                    .iter()
                    .find(|x| x.id == p)
                    .map_or(0, |x| x.images.len().saturating_sub(1));
                if others > 0 {
                    text.push_str(&format!(
                        ", and face matching puts it with person P{p} in {}",
                        count_of(others, "other photo", "other photos")
                    ));
                }
            }
            text.push_str(". It is left out of the face count.");
            out.push(WrongCase {
                image: at(i),
                text: capitalise(&text),
            });
        }
        let unsure = with(Doubt::UncertainGender);
        if !unsure.is_empty() {
            let list: Vec<String> = unsure
                .iter()
                .filter_map(|(k, f)| {
                    let g = f.attributes.gender.as_ref()?;
                    Some(format!("face {k} {} at {}", g.label, percent(g.confidence)))
                })
                .collect();
            out.push(WrongCase {
                image: at(i),
                text: format!(
                    "Gender stated as a fact though the model itself was less than {} sure: {}.",
                    percent(doubts::GENDER_CONFIDENCE),
                    list.join(", ")
                ),
            });
        }
        let small = with(Doubt::AttributesBelowCloudMinimum);
        if !small.is_empty() {
            let min = small
                .iter()
                .map(|(_, f)| f.cloud_min_size_px)
                .max()
                .unwrap_or(0);
            out.push(WrongCase {
                image: at(i),
                text: format!(
                    "Age, gender and expression guessed on {} smaller than the {min} px the cloud services need to answer at all: {}.",
                    count_of(small.len(), "face", "faces"),
                    small.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>().join(", ")
                ),
            });
        }
    }
    out
}

/// Objects over the batch: how many, and in how many photos, most first;
/// a picture repeated counts once.
fn object_totals(results: &[ImageResult]) -> Vec<(&'static str, usize, usize)> {
    let mut totals: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    for r in results.iter().filter(|r| r.duplicate_of.is_none()) {
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

/// The timeline with its place and device indices resolved to a position
/// and a camera name.
/// "a.jpg, b.jpg and 40 more": the first [`LIST_SHOWN`] names.
fn names_list(names: &[String]) -> String {
    let shown = names[..names.len().min(LIST_SHOWN)].join(", ");
    match names.len().saturating_sub(LIST_SHOWN) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

fn timeline(f: &Findings) -> Vec<[String; 4]> {
    f.timeline
        .iter()
        .take(ROWS_SHOWN)
        .map(|t| {
            let place =
                t.place
                    .and_then(|i| f.places.get(i))
                    .map_or_else(String::new, |p| match &p.name {
                        Some(n) if n.city.is_some() => {
                            clean(&format!("near {} ({} area)", n.nearest.name, n.area))
                        }
                        Some(n) => clean(&format!("near {}", n.nearest.name)),
                        None => format!("{:.5}, {:.5}", p.latitude, p.longitude),
                    });
            let device = t
                .device
                .and_then(|i| f.devices.get(i))
                .map_or_else(String::new, |d| clean(&d.name));
            [
                format!("{} {}", t.taken_at.human_date(), t.taken_at.clock()),
                file_name(&t.image),
                place,
                device,
            ]
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
    // "7 for 400 TB, 22 for 1.4 PB"; none when nothing was analysed.
    let per_volume = |n: fn(&projection::VolumeEstimate) -> Option<u64>| {
        p.projection
            .volumes
            .iter()
            .map(|v| n(v).map(|n| format!("{} for {}", group_thousands(n), v.volume)))
            .collect::<Option<Vec<String>>>()
            .map(|v| v.join(", "))
    };
    let photos = per_volume(|v| v.as_photos.machines_for_days);
    let video = per_volume(|v| v.as_video.machines_for_days);
    let machines = photos.zip(video).map(|(photos, video)| {
        format!(
            "Machines like this one needed to get through it in {}: {photos} of photos; {video} of video.",
            projection::days_text(a.days),
        )
    });
    ScaleView {
        assumptions,
        rows,
        machines,
        notes,
    }
}

fn image_view(i: usize, r: &ImageResult, results: &[ImageResult], copy: &Annotated) -> ImageView {
    let name = file_name(&r.path);
    let (nf, no) = (r.faces.len(), r.objects.len());
    let duplicate_of = r
        .duplicate_of
        .filter(|&j| j < results.len() && j != i)
        .map(|j| (j + 1, file_name(&results[j].path)));
    let counts = (r.error.is_none() && duplicate_of.is_none()).then(|| {
        format!(
            "{} · {} · {}",
            count_of(nf, "face", "faces"),
            count_of(r.people, "person", "people"),
            count_of(no, "object", "objects")
        )
    });
    let alt = alt_text(&name, r);
    let (copy, copy_failed) = match copy {
        Annotated::Written(src) => (Some(src.clone()), None),
        Annotated::Failed(reason) => (None, Some(clean(reason))),
        Annotated::None => (None, None),
    };
    let crops = match (&copy, r.faces.len() >= CROP_GRID_FROM) {
        (Some(_), true) => r
            .faces
            .iter()
            .enumerate()
            .filter_map(|(k, f)| crop(k + 1, f, r.width, r.height))
            .collect(),
        _ => Vec::new(),
    };
    let shown = duplicate_of.is_none();
    let metadata = if is_demo(&r.metadata) {
        // The tool's own notes ("synthetic", where the pixels come from)
        // are said once at the top, not as what the file gives away.
        let mut m = r.metadata.clone();
        m.software = None;
        m.description = None;
        metadata_rows(&m)
    } else {
        metadata_rows(&r.metadata)
    };
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
        duplicate_of,
        faces: if shown {
            r.faces.iter().map(face_row).collect()
        } else {
            Vec::new()
        },
        crops,
        objects: if shown {
            r.objects
                .iter()
                .map(|o| format!("{} {}", o.label, percent(o.score)))
                .collect()
        } else {
            Vec::new()
        },
        object_rows: if shown {
            r.objects.iter().map(object_row).collect()
        } else {
            Vec::new()
        },
        tags: if shown {
            r.tags
                .iter()
                .map(|t| format!("{} {}", clean(&t.name), percent(t.confidence)))
                .collect()
        } else {
            Vec::new()
        },
        text: if shown {
            r.text
                .iter()
                .map(|t| TextRow {
                    text: clean(&t.text),
                    kind: t.kind.map(|k| k.name()),
                    score: percent(t.score),
                })
                .collect()
        } else {
            Vec::new()
        },
        metadata,
    }
}

/// What the annotated copy shows, for people who cannot see it.
fn alt_text(name: &str, r: &ImageResult) -> String {
    let mut alt = format!("{name}, annotated");
    let nf = r.faces.len();
    if nf > 0 {
        alt.push_str(&format!(
            ": {} in yellow boxes numbered 1 to {nf}",
            count_of(nf, "face", "faces")
        ));
    }
    if !r.scene.is_empty() {
        alt.push_str(&format!(
            "{} outlined by kind ({})",
            if nf > 0 { "; objects" } else { ": objects" },
            clean(&r.scene)
        ));
    }
    if !r.text.is_empty() {
        alt.push_str(&format!(
            "; {} of text framed in cyan",
            count_of(r.text.len(), "line", "lines")
        ));
    }
    if nf == 0 && r.scene.is_empty() && r.text.is_empty() {
        alt.push_str(": nothing detected");
    }
    alt
}

/// A square window onto the annotated copy, 4 face sizes wide... no: the
/// face and a margin of a quarter of its size, scaled to [`CROP_PX`].
fn crop(number: usize, f: &Face, width: u32, height: u32) -> Option<Crop> {
    let b = f.bbox;
    let side = b.w.max(b.h) * 1.5;
    if !(side.is_finite() && side > 0.0 && width > 0 && height > 0) {
        return None;
    }
    let scale = CROP_PX / side;
    let (cx, cy) = (b.x + b.w / 2.0, b.y + b.h / 2.0);
    Some(Crop {
        number,
        style: format!(
            "width:{:.0}px;left:{:.0}px;top:{:.0}px",
            width as f32 * scale,
            (side / 2.0 - cx) * scale,
            (side / 2.0 - cy) * scale
        ),
    })
}

/// Side of a face crop on the page, CSS pixels.
const CROP_PX: f32 = 96.0;

/// "P2 · female 90% · about 34 · happy 62%": what the models think (the
/// person id first when `person`).
fn thinks(f: &Face, person: bool) -> String {
    let a = &f.attributes;
    let mut parts = Vec::new();
    if let (true, Some(p)) = (person, f.identity.and_then(|i| i.person)) {
        parts.push(format!("P{p}"));
    }
    if let Some(g) = &a.gender {
        parts.push(format!("{} {}", g.label, percent(g.confidence)));
    }
    if let Some(age) = a.age.filter(|a| a.is_finite()) {
        parts.push(format!("about {}", age.round() as i64));
    }
    if let Some(e) = &a.expression {
        let p = e.scores.get(e.label).copied().unwrap_or_default();
        parts.push(format!("{} {}", e.label, percent(p)));
    }
    parts.join(" · ")
}

fn doubt_text(d: Doubt, f: &Face) -> String {
    match d {
        Doubt::NoPerson => "no person detected in this photo: nothing confirms a human face".into(),
        Doubt::InsideAnimal => "inside an animal's box: probably the animal's face".into(),
        Doubt::UncertainGender => format!(
            "gender guessed at under {}",
            percent(doubts::GENDER_CONFIDENCE)
        ),
        Doubt::AttributesBelowCloudMinimum => format!(
            "guessed on {} px, below the cloud minimum of {} px",
            f.size_px, f.cloud_min_size_px
        ),
    }
}

fn face_row(f: &Face) -> FaceRow {
    let mut doubts: Vec<String> = f.doubts.iter().map(|&d| doubt_text(d, f)).collect();
    if let Some(FaceIdentity {
        no_identity: Some(_),
        ..
    }) = &f.identity
    {
        doubts.push(person_cell(f));
    }
    let p = &f.head_pose;
    let expression_rest = f
        .attributes
        .expression
        .as_ref()
        .map_or_else(String::new, |e| {
            format!(" · expression {}", expression_cell(e))
        });
    FaceRow {
        thinks: thinks(f, true),
        doubts,
        measures: format!(
            "score {} · yaw {}°, pitch {}°, roll {}° · blur {} · exposure {} · {} px (cloud minimum {} px) · box {}{expression_rest}",
            percent(f.score),
            whole(p.yaw),
            whole(p.pitch),
            whole(p.roll),
            blur_cell(&f.blur),
            exposure_cell(&f.exposure),
            f.size_px,
            f.cloud_min_size_px,
            box_cell(f.bbox)
        ),
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

/// "happy 62% (then neutral 20%, sad 9%)"
fn expression_cell(e: &crate::result::Expression) -> String {
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
    /// Tags of the sampled frames with when they were given.
    tags: Vec<(String, String)>,
    /// Annotated keyframes: file in the report folder, caption.
    keyframes: Vec<(String, String)>,
    /// Why some keyframes are missing.
    keyframe_problem: Option<String>,
}

/// One lane of the strip: its label, its thumbnail (file, annotated
/// keyframe it links to) and its segments as CSS `left`/`width`
/// percentages with a tooltip.
struct Lane {
    label: String,
    kind: &'static str,
    thumb: Option<(String, String)>,
    segments: Vec<(String, String, String)>,
}

fn video_view(v: &VideoResult, files: Option<&VideoFiles>) -> VideoView {
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
            thumb: files.and_then(|f| f.persons.get(&p.id)).cloned(),
            segments: segments(&p.appearances),
        })
        .collect();
    lanes.extend(v.objects.iter().enumerate().map(|(i, o)| Lane {
        label: clean(o.label),
        kind: "object",
        thumb: files.and_then(|f| f.objects.get(&i)).cloned(),
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
        tags: v
            .tags
            .iter()
            .map(|t| (clean(&t.name), when(&t.ranges)))
            .collect(),
        keyframes: files
            .map(|f| {
                f.keyframes
                    .iter()
                    .map(|(file, _, caption)| (file.clone(), clean(caption)))
                    .collect()
            })
            .unwrap_or_default(),
        keyframe_problem: files.and_then(|f| f.problem.as_deref()).map(clean),
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
            measured_video_frames_per_second: None,
            days: 30.0,
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
        // 56 million s over 30 days of 86,400 s: 21.6, so 22 machines.
        assert!(
            h.contains(
                "needed to get through it in 30 days: 7 for 400 TB, 22 for 1.4 PB of photos;"
            ),
            "{h}"
        );
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
                "<tr><th scope=\"row\">1</th><td>female 90% · about 34 · happy 62%</td><td></td></tr>"
            ),
            "{h}"
        );
        assert!(h.contains(
            "<li>score 90% · yaw -13°, pitch 3°, roll 4° · blur low (0) · exposure good (0) · \
             0 px (cloud minimum 0 px) · box 10, 20, 30 × 41 · expression happy 62% \
             (then neutral 20%, sad 9%)</li>"
        ));
        assert!(h.contains("<th scope=\"row\">position</th><td>48.85841° N, 2.50000° W</td>"));
        assert!(h.contains("<p class=\"counts\">1 face · 0 people · 0 objects</p>"));
        assert!(
            h.contains("<bdi>a\u{FFFD}.jpg</bdi>"),
            "control character replaced"
        );
        assert!(h.contains("width=\"64\" height=\"48\" style=\"width:min(100%,128px)\""));
    }

    fn said(kind: FindingKind, headline: &str, photos: usize) -> Sentence {
        Sentence {
            kind,
            text: format!("{headline} (exactly)"),
            headline: headline.into(),
            evidence: (0..photos)
                .map(|i| crate::result::Evidence {
                    image: format!("{i}.jpg"),
                    fields: vec!["taken_at"],
                })
                .collect(),
        }
    }

    /// The verdict: the strongest finding of each of the strongest kinds,
    /// whatever order they were built in.
    #[test]
    fn the_verdict_states_the_strongest_kinds_first() {
        use FindingKind::*;
        let built = vec![
            said(Day, "a day", 5),
            said(Model, "a model", 3),
            said(Person, "a face in 2", 2),
            said(Person, "a face in 4", 4),
            said(Name, "an artist", 1),
            said(Name, "an owner", 5),
            said(Text, "an email", 1),
            said(Device, "a serial", 5),
            said(Route, "a trail", 5),
        ];
        let v: Vec<&str> = verdict(&built)
            .iter()
            .map(|s| s.headline.as_str())
            .collect();
        assert_eq!(v, ["an owner", "a trail", "a serial", "a face in 4"]);
        let few = vec![said(Model, "a model", 3), said(Day, "a day", 1)];
        let v: Vec<&str> = verdict(&few).iter().map(|s| s.headline.as_str()).collect();
        assert_eq!(v, ["a day", "a model"]);

        // On the page: the verdict before the contents, then every finding
        // strongest first, its statement behind "Evidence".
        let summary = Summary {
            images_per_second: 2.5,
            findings: Findings {
                sentences: built,
                ..Default::default()
            },
            ..Default::default()
        };
        let h = render(&[], &summary, &[], None);
        let verdict_at = h.find("<li>an owner</li>").unwrap();
        assert!(verdict_at < h.find("<li>a trail</li>").unwrap());
        assert!(verdict_at < h.find("id=\"contents\"").unwrap());
        assert!(h.contains("<strong>216,000 photos a day</strong>"), "{h}");
        let order: Vec<usize> = [
            "an owner",
            "an artist",
            "a trail",
            "a serial",
            "a face in 4",
            "a face in 2",
            "an email",
            "a day",
            "a model",
        ]
        .iter()
        .map(|t| {
            h.find(&format!("<span class=\"claim\">{t}</span>"))
                .unwrap()
        })
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert!(h.contains("<summary>1 more finding</summary>"), "{h}");
        assert!(h.contains("<p>an owner (exactly)</p>"));
    }

    #[test]
    fn absent_sections_are_not_rendered() {
        let h = render(&[], &Summary::default(), &[], None);
        assert!(!h.contains("id=\"caveats\""));
        assert!(!h.contains("id=\"scale\""));
        assert!(!h.contains("<h3>Timeline</h3>"));
        assert!(h.contains("What an onlooker learns from 0 photos"));
    }

    #[test]
    fn a_large_report_is_paged_and_every_link_reaches_its_photo() {
        use crate::exif::Gps;
        // 250 photos; 30 of them located (the findings cite them), more
        // than the front page shows.
        let mut results: Vec<ImageResult> = (0..250)
            .map(|i| ImageResult {
                path: format!("p{i:03}.jpg"),
                ..Default::default()
            })
            .collect();
        for k in 0..30 {
            let i = [7, 130, 249].get(k).copied().unwrap_or(8 * k);
            let when = format!("2026:05:01 {:02}:{:02}:00", 8 + k / 6, k % 6 * 10);
            let r = &mut results[i];
            r.metadata.taken_at = crate::exif::parse_datetime(when.as_bytes(), None).unwrap();
            r.metadata.gps = Some(Gps {
                latitude: Some(48.84 + i as f64 * 1e-4),
                longitude: Some(2.39 + i as f64 * 1e-4),
                ..Default::default()
            });
        }
        let summary = Summary {
            findings: Findings::of(&results),
            ..Default::default()
        };
        let pages = render_report(&Report::of_photos(&results, &summary));
        let files: Vec<&str> = pages.photos.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(files, ["photos-1.html", "photos-2.html", "photos-3.html"]);
        let articles = |h: &str| h.matches("<article class=\"image\"").count();
        // The front page: the located photos first among the few shown.
        let shown = articles(&pages.index);
        assert_eq!(shown, SHOWN_WHEN_PAGED);
        assert!(pages.index.contains("id=\"image-8\""));
        assert!(!pages.index.contains("id=\"image-2\""), "not located");
        // Some cited photos are on the photo pages only.
        assert!(pages.index.contains(".html#image-"));
        // Lists that grow with the folder stop, saying how many more.
        assert!(
            pages.index.contains("and 18 more photos (all are in"),
            "30 photos behind one finding, 12 listed"
        );
        assert!(pages
            .index
            .contains("href=\"photos-3.html\">201\u{2013}250</a>"));
        // Every photo's section on exactly its page.
        for (k, (_, page)) in pages.photos.iter().enumerate() {
            assert_eq!(articles(page), if k < 2 { 100 } else { 50 });
            assert!(page.contains(&format!("id=\"image-{}\"", k * 100 + 1)));
            assert!(page.contains("href=\"index.html\""));
        }
        // Each link to a photo lands on a page holding it.
        let all = std::iter::once(("index.html", pages.index.as_str()))
            .chain(pages.photos.iter().map(|(f, p)| (f.as_str(), p.as_str())));
        let mut checked = 0;
        for (here, page) in all {
            for part in page.split("href=\"").skip(1) {
                let href = &part[..part.find('"').unwrap()];
                let Some((file, anchor)) = href.split_once('#') else {
                    continue;
                };
                if !anchor.starts_with("image-") {
                    continue;
                }
                let target = if file.is_empty() {
                    page
                } else {
                    &pages.photos.iter().find(|(f, _)| f == file).unwrap().1
                };
                assert!(
                    target.contains(&format!("id=\"{anchor}\"")),
                    "{here}: {href}"
                );
                checked += 1;
            }
        }
        assert!(checked > 30, "{checked} links checked");
        // Up to the page size, one page as before.
        let one = render_report(&Report::of_photos(
            &results[..PHOTOS_PER_PAGE],
            &Summary::default(),
        ));
        assert!(one.photos.is_empty());
        assert_eq!(articles(&one.index), PHOTOS_PER_PAGE);
    }

    /// A day of three located photos (given out of time order), their
    /// places named from a tiny gazetteer.
    fn named_day(names: findings::Names) -> (Vec<ImageResult>, Summary) {
        use crate::exif::{Gps, Metadata};
        let photo = |path: &str, when: &str, lat: f64, lon: f64| ImageResult {
            path: path.into(),
            metadata: Metadata {
                taken_at: crate::exif::parse_datetime(when.as_bytes(), Some(b"+02:00")).unwrap(),
                gps: Some(Gps {
                    latitude: Some(lat),
                    longitude: Some(lon),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let results = vec![
            photo("b.jpg", "2026:05:01 12:00:00", 48.8427, 2.4353),
            photo("a.jpg", "2026:05:01 08:05:00", 48.8447, 2.3872),
            photo("c.jpg", "2026:05:01 18:39:00", 48.8283, 2.4467),
        ];
        let summary = Summary {
            findings: Findings::named(&results, names),
            ..Default::default()
        };
        (results, summary)
    }

    #[test]
    fn the_map_names_the_towns_and_the_day_strip_follows_the_clock() {
        let g = crate::gazetteer::Gazetteer::parse(
            b"lat,lon,name,admin1,admin2,cc\n\
              48.85341,2.3488,Paris,Ile-de-France,Paris,FR\n\
              48.84721,2.43793,Vincennes,Ile-de-France,Departement du Val-de-Marne,FR\n\
              48.84171,2.41932,Saint-Mande,Ile-de-France,Departement du Val-de-Marne,FR\n",
        )
        .unwrap();
        let (results, summary) = named_day(findings::Names::Gazetteer(&g));
        let copies: Vec<Annotated> = ["images/b.jpg", "images/a.jpg", "images/c.jpg"]
            .iter()
            .map(|s| Annotated::Written(s.to_string()))
            .collect();
        let h = render(&results, &summary, &copies, None);
        assert!(h.contains(">Vincennes</text>"), "{h}");
        assert!(h.contains(">Saint-Mande</text>"));
        // Paris is west of the drawing: at the left edge, pointing at it.
        assert!(h.contains(">← Paris "), "{h}");
        assert!(h.contains("in the Paris area"));
        assert!(
            h.contains("<td>near Vincennes, 6.4 km east of central Paris (Ile-de-France, FR)</td>")
        );
        assert!(h.contains(">GeoNames</a>"));
        let strip = &h[h.find("<ol class=\"day-strip\"").unwrap()..];
        let strip = &strip[..strip.find("</ol>").unwrap()];
        let order: Vec<usize> = ["images/a.jpg", "images/b.jpg", "images/c.jpg"]
            .iter()
            .map(|src| strip.find(src).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{strip}");
        assert!(strip.contains("href=\"#image-2\"") && strip.contains("<b>1</b> 08:05"));
        assert!(strip.contains("alt=\"Stop 1 at 08:05: a.jpg\""));

        // Without the gazetteer: coordinates, one note, no credit.
        let (results, summary) = named_day(findings::Names::Unavailable("gazetteer missing"));
        let h = render(&results, &summary, &copies, None);
        assert_eq!(
            h.matches("places are given as coordinates only: gazetteer missing")
                .count(),
            1
        );
        assert!(!h.contains("class=\"town-t\"") && !h.contains(">GeoNames</a>"));
    }

    fn render_with(
        results: &[ImageResult],
        summary: &Summary,
        countries: Option<&Countries>,
    ) -> String {
        render_full(&Report {
            countries,
            ..Report::of_photos(results, summary)
        })
    }

    #[test]
    fn the_map_gains_an_inset_naming_the_country_the_trail_is_in() {
        use crate::countries::tests::square;
        use crate::countries::{Countries, Country};
        // A square country around the day's trail (east of Paris) and a
        // neighbour to the north.
        let c = Countries::from_countries(vec![
            Country {
                name: "Squareland".into(),
                rings: vec![square(-2.0, 44.0, 8.0, true)],
            },
            Country {
                name: "Northland".into(),
                rings: vec![square(-2.0, 52.0, 8.0, true)],
            },
        ]);
        let (results, summary) = named_day(findings::Names::Off);
        let h = render_with(&results, &summary, Some(&c));
        let map = &h[h.find("<figure class=\"map\"").unwrap()..];
        let map = &map[..map.find("</figure>").unwrap()];
        assert!(map.contains("<g class=\"map-inset\""), "{map}");
        assert!(map.contains(">Squareland</text>"), "{map}");
        assert!(map.contains("<title>Inset: Squareland and its neighbours"));
        assert!(map.contains("aria-label=\"Map of 3 positions"));
        assert!(map.contains(". Inset: Squareland and its neighbours, the yellow square"));
        assert_eq!(map.matches("class=\"inset-country\"").count(), 1);
        assert!(map.contains("Country outline: Natural Earth, public domain."));
        // The stops are spread over the drawing: the inset found a corner,
        // so the map keeps its height.
        assert!(map.contains("viewBox=\"0 0 640 400\""), "{map}");

        // At sea: the world, said so.
        let far = Countries::from_countries(vec![Country {
            name: "Elsewhere".into(),
            rings: vec![square(100.0, 10.0, 5.0, true)],
        }]);
        let h = render_with(&results, &summary, Some(&far));
        assert!(h.contains(">World</text>"));
        assert!(h.contains("in none of the 1:110m country outlines"));
        assert!(!h.contains("class=\"inset-country\""));

        // Without the outlines: no inset, no credit.
        let h = render_with(&results, &summary, None);
        assert!(!h.contains("map-inset") && !h.contains("Natural Earth"));
    }

    #[test]
    fn the_demo_day_is_in_france_on_the_natural_earth_outlines() {
        let c = Countries::load(&crate::runtime::default_models_dir())
            .expect("run `make models`: the Natural Earth outlines");
        assert_eq!(c.len(), 177);
        assert_eq!(c.name_at(48.8427, 2.4353), Some("France"));
        assert_eq!(c.name_at(35.68, 139.76), Some("Japan"));
        assert_eq!(
            c.name_at(-29.5, 28.2),
            Some("Lesotho"),
            "in South Africa's hole"
        );
        assert_eq!(c.name_at(45.0, -30.0), None, "the Atlantic");
        let (results, summary) = named_day(findings::Names::Off);
        let h = render_with(&results, &summary, Some(&c));
        let map = &h[h.find("<figure class=\"map\"").unwrap()..];
        let map = &map[..map.find("</figure>").unwrap()];
        assert!(map.contains(">France</text>"), "{map}");
        assert!(map.contains("The inset shows France and its neighbours"));
        let inset = &map[map.find("<g class=\"map-inset\"").unwrap()..];
        let inset = &inset[..inset.find("</g>").unwrap()];
        eprintln!("the inset: {} bytes", inset.len());
        assert!(inset.len() < 15_000, "{}", inset.len());
        // At sea in the Atlantic: the whole world, still small.
        let world = super::inset::draw(&c, [-30.0, 45.0, -29.9, 45.1]);
        assert!(world.world);
        eprintln!("the world's outlines: {} bytes", world.land.len());
        assert!(world.land.len() < 15_000, "{}", world.land.len());
    }
}
