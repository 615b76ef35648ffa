//! "What an onlooker learns" from the files of a batch, before any model
//! runs: a timeline by capture time, the places (GPS positions grouped when
//! close), the devices (serial numbers tie photos to one camera) and plain
//! sentences. Every sentence is built only from metadata the files state
//! and cites the images and fields it rests on; nothing is guessed, and
//! nothing is said about the people in the photos. The text read in the
//! photos adds sentences too: the identifying lines (email, phone, ...) of
//! each photo, quoted, citing the field `text`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::exif::{clean_text, distance_km, format_position, Metadata, Timestamp};
use crate::gazetteer::Gazetteer;
use crate::result::{
    Device, Evidence, FindingKind, Findings, ImageResult, Place, PlaceName, Sentence, TextLine,
    TimelineEntry,
};

/// Where the places' names come from.
#[derive(Clone, Copy)]
pub enum Names<'a> {
    /// Not asked for: places are coordinates (unit tests, `Findings::of`).
    Off,
    /// The offline gazetteer, loaded.
    Gazetteer(&'a Gazetteer),
    /// Asked for, but the gazetteer could not be had: why, said once in
    /// `places_unnamed` when there are places.
    Unavailable(&'a str),
}

/// The evidence field of sentences built from the text read in a photo.
pub const TEXT_FIELD: &str = "text";

/// A position joins a place when it lies within this distance of the
/// place's centre: a neighbourhood, small enough that a zoo and the next
/// district stay apart.
pub const PLACE_RADIUS_KM: f64 = 1.5;

/// One image's metadata, as the findings see it.
struct Item<'a> {
    image: &'a str,
    meta: &'a Metadata,
    text: &'a [TextLine],
}

impl Findings {
    /// The findings of a batch (failed images included: a file whose pixels
    /// cannot be decoded may still say where and when it was made).
    pub fn of(results: &[ImageResult]) -> Findings {
        Self::named(results, Names::Off)
    }

    /// The findings, with the places described in words by `names`.
    pub fn named(results: &[ImageResult], names: Names) -> Findings {
        let items: Vec<Item> = results
            .iter()
            .map(|r| Item {
                image: &r.path,
                meta: &r.metadata,
                text: &r.text,
            })
            .collect();
        build(&items, names)
    }

    pub fn is_empty(&self) -> bool {
        self.timeline.is_empty()
            && self.places.is_empty()
            && self.devices.is_empty()
            && self.sentences.is_empty()
    }
}

/// Whether any of these results states a position (what makes loading the
/// gazetteer worth it).
pub fn any_position(results: &[ImageResult]) -> bool {
    results.iter().any(|r| r.metadata.position().is_some())
}

fn build(items: &[Item], names: Names) -> Findings {
    // Time order first (ties by name), undated photos after: places are
    // grown in that order, so the numbering follows the day.
    let mut order: Vec<&Item> = items.iter().collect();
    order.sort_by(|a, b| {
        let ka = a.meta.taken_at.map(|t| t.sort_key());
        let kb = b.meta.taken_at.map(|t| t.sort_key());
        match (ka, kb) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.image.cmp(b.image))
    });

    let (mut places, place_of) = group_places(&order);
    let mut places_unnamed = None;
    match names {
        Names::Off => {}
        Names::Gazetteer(g) => {
            for p in &mut places {
                p.name = Some(g.describe(p.latitude, p.longitude));
            }
        }
        Names::Unavailable(why) if !places.is_empty() => {
            places_unnamed = Some(format!("places are given as coordinates only: {why}"));
        }
        Names::Unavailable(_) => {}
    }
    let (devices, device_of) = group_devices(&order);
    let timeline: Vec<TimelineEntry> = order
        .iter()
        .filter_map(|it| {
            Some(TimelineEntry {
                image: it.image.to_string(),
                taken_at: it.meta.taken_at?,
                place: place_of.get(it.image).copied(),
                device: device_of.get(it.image).copied(),
            })
        })
        .collect();

    let mut sentences = Vec::new();
    sentences.extend(day_sentences(
        &order, &devices, &device_of, &places, &place_of,
    ));
    sentences.extend(route_sentences(&order, &places, &place_of));
    sentences.extend(place_sentences(&order, &places, &place_of));
    sentences.extend(device_sentences(&order, &devices, &device_of));
    sentences.extend(name_sentences(&order));
    sentences.extend(text_sentences(items));
    Findings {
        timeline,
        places,
        devices,
        sentences,
        places_unnamed,
    }
}

/// The areas a set of places lie in, in words for a headline: "in the
/// Paris area", "around Lyon and Grenoble"; None when a place has no name.
fn area_phrase<'a>(names: impl IntoIterator<Item = Option<&'a PlaceName>>) -> Option<String> {
    let mut areas: Vec<String> = Vec::new();
    for n in names {
        let a = &n?.area;
        if !areas.contains(a) {
            areas.push(a.clone());
        }
    }
    match areas.len() {
        0 => None,
        1 => Some(format!("in the {} area", areas[0])),
        2..=3 => Some(format!("around {}", and_list(&areas))),
        n => Some(format!(
            "around {} and {} other places",
            areas[..2].join(", "),
            n - 2
        )),
    }
}

/// Greedy grouping in time order: each position joins the nearest place
/// whose centre is within [`PLACE_RADIUS_KM`], else starts a new one.
fn group_places<'a>(order: &[&'a Item]) -> (Vec<Place>, BTreeMap<&'a str, usize>) {
    let mut members: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut places: Vec<Place> = Vec::new();
    let mut place_of = BTreeMap::new();
    for it in order {
        let Some(pos) = it.meta.position() else {
            continue;
        };
        let nearest = places
            .iter()
            .enumerate()
            .map(|(i, p)| (i, distance_km((p.latitude, p.longitude), pos)))
            .filter(|(_, d)| *d <= PLACE_RADIUS_KM)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let i = match nearest {
            Some((i, _)) => i,
            None => {
                members.push(Vec::new());
                places.push(Place {
                    latitude: pos.0,
                    longitude: pos.1,
                    radius_km: 0.0,
                    images: Vec::new(),
                    name: None,
                });
                places.len() - 1
            }
        };
        members[i].push(pos);
        let (lat, lon) = centre(&members[i]);
        let p = &mut places[i];
        p.latitude = lat;
        p.longitude = lon;
        p.images.push(it.image.to_string());
        place_of.insert(it.image, i);
    }
    for (p, pts) in places.iter_mut().zip(&members) {
        p.radius_km = pts
            .iter()
            .map(|&q| distance_km((p.latitude, p.longitude), q))
            .fold(0.0, f64::max);
    }
    (places, place_of)
}

/// Mean of the positions as unit vectors, so a group astride the
/// antimeridian is not centred on the other side of the planet.
pub fn centre(points: &[(f64, f64)]) -> (f64, f64) {
    let (mut x, mut y, mut z) = (0.0, 0.0, 0.0);
    for &(lat, lon) in points {
        let (la, lo) = (lat.to_radians(), lon.to_radians());
        x += la.cos() * lo.cos();
        y += la.cos() * lo.sin();
        z += la.sin();
    }
    let lon = y.atan2(x).to_degrees();
    let lat = z.atan2((x * x + y * y).sqrt()).to_degrees();
    (lat, lon)
}

/// Farthest of `points` from their centre, km.
fn spread(points: &[(f64, f64)]) -> ((f64, f64), f64) {
    let c = centre(points);
    let r = points
        .iter()
        .map(|&p| distance_km(c, p))
        .fold(0.0, f64::max);
    (c, r)
}

/// Same make, model and serial: one entry. Photos that name no camera
/// belong to none.
fn group_devices<'a>(order: &[&'a Item]) -> (Vec<Device>, BTreeMap<&'a str, usize>) {
    let mut devices: Vec<Device> = Vec::new();
    let mut device_of = BTreeMap::new();
    for it in order {
        let Some(cam) = &it.meta.camera else { continue };
        let Some(name) = cam.name() else { continue };
        let i = match devices
            .iter()
            .position(|d| d.make == cam.make && d.model == cam.model && d.serial == cam.serial)
        {
            Some(i) => i,
            None => {
                devices.push(Device {
                    name,
                    make: cam.make.clone(),
                    model: cam.model.clone(),
                    serial: cam.serial.clone(),
                    images: Vec::new(),
                });
                devices.len() - 1
            }
        };
        devices[i].images.push(it.image.to_string());
        device_of.insert(it.image, i);
    }
    (devices, device_of)
}

fn device_fields(d: &Device) -> Vec<&'static str> {
    let mut f = Vec::new();
    if d.make.is_some() {
        f.push("camera.make");
    }
    if d.model.is_some() {
        f.push("camera.model");
    }
    if d.serial.is_some() {
        f.push("camera.serial");
    }
    f
}

fn photos(n: usize) -> String {
    format!("{n} photo{}", if n == 1 { "" } else { "s" })
}

/// Rounded up to 0.1 km, so "within" stays true.
fn km(r: f64) -> String {
    format!("{:.1} km", ((r * 10.0).ceil() / 10.0).max(0.1))
}

/// One sentence per calendar day (by the camera's clock): how many photos,
/// from when to when, where, and with which device.
fn day_sentences(
    order: &[&Item],
    devices: &[Device],
    device_of: &BTreeMap<&str, usize>,
    places: &[Place],
    place_of: &BTreeMap<&str, usize>,
) -> Vec<Sentence> {
    let mut days: BTreeMap<String, Vec<&Item>> = BTreeMap::new();
    for it in order {
        if let Some(t) = it.meta.taken_at {
            days.entry(t.date()).or_default().push(it);
        }
    }
    let mut out = Vec::new();
    for (date, day) in days {
        // Within a day, order by the clock as shown, so "between" reads
        // right even if offsets differ.
        let mut times: Vec<Timestamp> = day.iter().filter_map(|it| it.meta.taken_at).collect();
        times.sort_by_key(|t| (t.hour, t.minute, t.second));
        let (first, last) = (times[0], times[times.len() - 1]);
        let mut text = if day.len() == 1 {
            format!("1 photo on {date} at {}", first.clock())
        } else {
            format!(
                "{} on {date} between {} and {}",
                photos(day.len()),
                first.clock(),
                last.clock()
            )
        };
        let offsets: Vec<Option<String>> = times.iter().map(|t| t.offset()).collect();
        if let Some(Some(o)) = offsets.first() {
            if offsets.iter().all(|x| x.as_deref() == Some(o)) {
                let _ = write!(text, " (UTC{o})");
            }
        }
        let mut fields: BTreeMap<&str, Vec<&'static str>> =
            day.iter().map(|it| (it.image, vec!["taken_at"])).collect();

        let located: Vec<(&str, (f64, f64))> = day
            .iter()
            .filter_map(|it| Some((it.image, it.meta.position()?)))
            .collect();
        if !located.is_empty() {
            let pts: Vec<(f64, f64)> = located.iter().map(|l| l.1).collect();
            let (c, r) = spread(&pts);
            let whole = if located.len() == day.len() {
                "all".to_string()
            } else {
                format!("{} of them", located.len())
            };
            if located.len() == 1 {
                let (lat, lon) = pts[0];
                let who = if day.len() == 1 {
                    "located"
                } else {
                    "1 of them located"
                };
                let _ = write!(text, ", {who} at {}", format_position(lat, lon));
            } else {
                let _ = write!(
                    text,
                    ", {whole} within {} of {}",
                    km(r),
                    format_position(c.0, c.1)
                );
            }
            for (img, _) in &located {
                if let Some(f) = fields.get_mut(img) {
                    f.extend(["gps.latitude", "gps.longitude"]);
                }
            }
        }

        let used: Vec<Option<usize>> = day
            .iter()
            .map(|it| device_of.get(it.image).copied())
            .collect();
        if let Some(Some(d)) = used.first() {
            if used.iter().all(|u| *u == Some(*d)) {
                let dev = &devices[*d];
                let how = match (&dev.serial, day.len()) {
                    (Some(s), _) => format!("one {} (serial {s})", dev.name),
                    (None, 1) => format!("a {}", dev.name),
                    (None, _) => format!("the same model, {}", dev.name),
                };
                let _ = write!(text, ", taken with {how}");
                for it in &day {
                    if let Some(f) = fields.get_mut(it.image) {
                        f.extend(device_fields(dev));
                    }
                }
            }
        }
        text.push('.');
        let mut headline = if day.len() == 1 {
            format!(
                "1 photo was taken on {} at {}",
                first.human_date(),
                first.clock()
            )
        } else {
            format!(
                "{} were taken on {}, from {} to {}",
                photos(day.len()),
                first.human_date(),
                first.clock(),
                last.clock()
            )
        };
        match (located.len(), day.len()) {
            (0, _) => {}
            (1, 1) => headline.push_str(", and say where"),
            (l, d) if l == d => headline.push_str(", all saying where"),
            (l, _) => {
                let _ = write!(headline, ", {l} of them saying where");
            }
        }
        let area = area_phrase(located.iter().map(|(img, _)| {
            place_of
                .get(img)
                .and_then(|&i| places.get(i))
                .and_then(|p| p.name.as_ref())
        }));
        if let Some(a) = area {
            let _ = write!(headline, ": {a}");
        }
        headline.push('.');
        out.push(Sentence {
            kind: FindingKind::Day,
            text,
            headline,
            evidence: evidence(fields),
        });
    }
    out
}

/// A dated, located photo: image, time, position.
type Stop<'a> = (&'a str, Timestamp, (f64, f64));

/// When a day's positions, in time order, visit more than one place: how
/// far the photos show the person moved.
fn route_sentences(
    order: &[&Item],
    places: &[Place],
    place_of: &BTreeMap<&str, usize>,
) -> Vec<Sentence> {
    let mut days: BTreeMap<String, Vec<Stop>> = BTreeMap::new();
    for it in order {
        if let (Some(t), Some(p)) = (it.meta.taken_at, it.meta.position()) {
            days.entry(t.date()).or_default().push((it.image, t, p));
        }
    }
    let mut out = Vec::new();
    for (date, stops) in days {
        let visited: Vec<usize> = stops
            .iter()
            .filter_map(|s| place_of.get(s.0).copied())
            .collect();
        let mut distinct = visited.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < 2 {
            continue;
        }
        let length: f64 = stops.windows(2).map(|w| distance_km(w[0].2, w[1].2)).sum();
        let (first, last) = (&stops[0], &stops[stops.len() - 1]);
        let words = |s: &Stop| {
            let name = place_of
                .get(s.0)
                .and_then(|&i| places.get(i))
                .and_then(|p| p.name.as_ref());
            match name {
                Some(n) => format!("{} ({})", format_position(s.2 .0, s.2 .1), n.words),
                None => format_position(s.2 .0, s.2 .1),
            }
        };
        let text = format!(
            "On {date} the positions, in time order, move through {} places, \
             about {length:.1} km in straight lines, from {} at {} to {} at {}.",
            distinct.len(),
            words(first),
            first.1.clock(),
            words(last),
            last.1.clock(),
        );
        let area = area_phrase(distinct.iter().map(|&i| places[i].name.as_ref()))
            .map(|a| format!(" {a}"))
            .unwrap_or_default();
        let fields = stops
            .iter()
            .map(|s| (s.0, vec!["taken_at", "gps.latitude", "gps.longitude"]))
            .collect();
        let headline = format!(
            "On {} the photos trace a {length:.1} km trail through {} places{area}, from {} to {}.",
            first.1.human_date(),
            distinct.len(),
            first.1.clock(),
            last.1.clock(),
        );
        out.push(Sentence {
            kind: FindingKind::Route,
            text,
            headline,
            evidence: evidence(fields),
        });
    }
    out
}

/// One sentence per place that more than one photo shares.
fn place_sentences(
    order: &[&Item],
    places: &[Place],
    place_of: &BTreeMap<&str, usize>,
) -> Vec<Sentence> {
    let mut out = Vec::new();
    for (i, p) in places.iter().enumerate() {
        if p.images.len() < 2 {
            continue;
        }
        let mut text = format!(
            "{} were taken within {} of {}",
            photos(p.images.len()),
            km(p.radius_km),
            format_position(p.latitude, p.longitude)
        );
        if let Some(n) = &p.name {
            let _ = write!(text, " ({})", n.words);
        }
        let members: Vec<&&Item> = order
            .iter()
            .filter(|it| place_of.get(it.image) == Some(&i))
            .collect();
        let times: Vec<Timestamp> = members.iter().filter_map(|it| it.meta.taken_at).collect();
        let mut fields: BTreeMap<&str, Vec<&'static str>> = members
            .iter()
            .map(|it| (it.image, vec!["gps.latitude", "gps.longitude"]))
            .collect();
        let at = match &p.name {
            Some(n) if n.city.is_some() => {
                format!("one place in the {} area, near {}", n.area, n.nearest.name)
            }
            Some(n) => format!("one place near {}", n.nearest.name),
            None => "one place".to_string(),
        };
        let mut headline = format!(
            "{} were taken at {at}, within {} of each other",
            photos(p.images.len()),
            km(2.0 * p.radius_km)
        );
        if times.len() == members.len() {
            let (a, b) = (times[0], times[times.len() - 1]);
            if a.date() == b.date() {
                let _ = write!(
                    headline,
                    ", on {} from {} to {}",
                    a.human_date(),
                    a.clock(),
                    b.clock()
                );
            }
            if a.date() == b.date() {
                let _ = write!(
                    text,
                    ", on {} from {} to {}",
                    a.date(),
                    a.clock(),
                    b.clock()
                );
            } else {
                let _ = write!(text, ", from {} to {}", a.date(), b.date());
            }
            for f in fields.values_mut() {
                f.push("taken_at");
            }
        }
        text.push('.');
        headline.push('.');
        out.push(Sentence {
            kind: FindingKind::Place,
            text,
            headline,
            evidence: evidence(fields),
        });
    }
    out
}

/// Devices seen in more than one photo, and what their serial proves.
fn device_sentences(
    order: &[&Item],
    devices: &[Device],
    device_of: &BTreeMap<&str, usize>,
) -> Vec<Sentence> {
    let mut out = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        if d.images.len() < 2 {
            continue;
        }
        let dates: Vec<String> = order
            .iter()
            .filter(|it| device_of.get(it.image) == Some(&i))
            .filter_map(|it| it.meta.taken_at.map(|t| t.date()))
            .collect();
        let when = match (dates.first(), dates.last()) {
            (Some(a), Some(b)) if a == b => format!(", all taken on {a}"),
            (Some(a), Some(b)) => format!(", taken from {a} to {b}"),
            _ => String::new(),
        };
        let text = match &d.serial {
            Some(s) => format!(
                "Serial number {s} ties {} to one {}{when}.",
                photos(d.images.len()),
                d.name
            ),
            None => format!(
                "{}{when}, name the same camera model, {}, but no serial number: \
                 they may come from one camera or several.",
                photos(d.images.len()),
                d.name
            ),
        };
        let (kind, headline) = match &d.serial {
            Some(s) => (
                FindingKind::Device,
                format!(
                    "One camera, a {} with serial number {s}, ties {} together.",
                    d.name,
                    photos(d.images.len())
                ),
            ),
            None => (
                FindingKind::Model,
                format!(
                    "{} name the same camera model, a {}, but no serial number.",
                    photos(d.images.len()),
                    d.name
                ),
            ),
        };
        let mut f = device_fields(d);
        if !when.is_empty() {
            f.push("taken_at");
        }
        out.push(Sentence {
            kind,
            text,
            headline,
            evidence: d
                .images
                .iter()
                .map(|img| Evidence {
                    image: img.clone(),
                    fields: f.clone(),
                })
                .collect(),
        });
    }
    out
}

/// What the text read in each photo gives away: one sentence per photo
/// with identifying lines, each quoted with its kind, e.g. `The text in
/// badge.jpg reads an email address ("ada@example.org") and a phone number
/// ("+44 20 7946 0958").` Photos in name order. The quoted text is
/// untrusted: control characters are dropped and the length capped
/// (`exif::clean_text`), and the HTML report escapes it.
fn text_sentences(items: &[Item]) -> Vec<Sentence> {
    let mut order: Vec<&Item> = items.iter().collect();
    order.sort_by(|a, b| a.image.cmp(b.image));
    order
        .into_iter()
        .filter_map(|it| {
            let parts: Vec<String> = it
                .text
                .iter()
                .filter_map(|l| {
                    let kind = l.kind?;
                    Some(format!(
                        "{} (\"{}\")",
                        kind.phrase(),
                        clean_text(l.text.as_bytes())
                    ))
                })
                .collect();
            if parts.is_empty() {
                return None;
            }
            let mut kinds: Vec<String> = Vec::new();
            for k in it.text.iter().filter_map(|l| l.kind) {
                let phrase = k.phrase().to_string();
                if !kinds.contains(&phrase) {
                    kinds.push(phrase);
                }
            }
            Some(Sentence {
                kind: FindingKind::Text,
                text: format!("The text in {} reads {}.", it.image, and_list(&parts)),
                headline: format!(
                    "The text in {} gives away {}.",
                    file_name(it.image),
                    and_list(&kinds)
                ),
                evidence: vec![Evidence {
                    image: it.image.to_string(),
                    fields: vec![TEXT_FIELD],
                }],
            })
        })
        .collect()
}

/// The last component of a path, for short sentences.
pub fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\'])
        .find(|s| !s.is_empty())
        .unwrap_or(path)
}

/// At most `max` characters, cut at a word with an ellipsis.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let at = cut.rfind(' ').filter(|&i| i > max / 2).unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end())
}

/// The sentences strongest first: by kind ([`FindingKind`]'s order), then
/// by how many photos they rest on, then as built (stable).
pub fn by_severity(sentences: &[Sentence]) -> Vec<&Sentence> {
    let mut v: Vec<&Sentence> = sentences.iter().collect();
    v.sort_by_key(|s| (s.kind, std::cmp::Reverse(s.evidence.len())));
    v
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Whether a sentence rests on text read in the photos (not on metadata).
pub fn from_text(s: &Sentence) -> bool {
    s.evidence
        .iter()
        .all(|e| e.fields.iter().all(|f| *f == TEXT_FIELD))
}

/// Names the files themselves carry (owner, artist, copyright holder).
fn name_sentences(order: &[&Item]) -> Vec<Sentence> {
    let mut found: BTreeMap<(&'static str, &'static str, &str), Vec<&str>> = BTreeMap::new();
    for it in order {
        let m = it.meta;
        for (label, field, value) in [
            ("camera owner", "owner", &m.owner),
            ("artist", "artist", &m.artist),
            ("copyright holder", "copyright", &m.copyright),
        ] {
            if let Some(v) = value {
                found
                    .entry((label, field, v.as_str()))
                    .or_default()
                    .push(it.image);
            }
        }
    }
    found
        .into_iter()
        .map(|((label, field, value), images)| Sentence {
            kind: if field == "copyright" {
                FindingKind::Copyright
            } else {
                FindingKind::Name
            },
            headline: format!(
                "{} name{} {}: \"{}\".",
                photos(images.len()),
                if images.len() == 1 { "s" } else { "" },
                match label {
                    "camera owner" => "their camera's owner",
                    "artist" => "who took them",
                    _ => "a copyright holder",
                },
                shorten(value, 60)
            ),
            text: format!(
                "{} name{} a {label}: \"{value}\".",
                photos(images.len()),
                if images.len() == 1 { "s" } else { "" }
            ),
            evidence: images
                .into_iter()
                .map(|img| Evidence {
                    image: img.to_string(),
                    fields: vec![field],
                })
                .collect(),
        })
        .collect()
}

fn evidence(fields: BTreeMap<&str, Vec<&'static str>>) -> Vec<Evidence> {
    fields
        .into_iter()
        .map(|(image, fields)| Evidence {
            image: image.to_string(),
            fields,
        })
        .collect()
}

/// The findings block of the terminal summary.
pub fn human(results: &[ImageResult], f: &Findings) -> String {
    let mut s = String::from("\nWhat the files themselves give away (EXIF metadata):\n");
    let (from_text, from_metadata): (Vec<&Sentence>, Vec<&Sentence>) =
        f.sentences.iter().partition(|x| from_text(x));
    if f.timeline.is_empty()
        && f.places.is_empty()
        && f.devices.is_empty()
        && from_metadata.is_empty()
    {
        s.push_str("  no capture time, position or camera in any file\n");
    }
    if !f.timeline.is_empty() {
        s.push_str("  timeline:\n");
        for e in &f.timeline {
            let t = e.taken_at;
            let when = format!(
                "{} {}:{:02} {}",
                t.date(),
                t.clock(),
                t.second,
                t.offset().unwrap_or_default()
            );
            let when = when.trim_end();
            let _ = write!(s, "    {:<26}  {}", when, e.image);
            if let Some(d) = e.device {
                let _ = write!(s, "  [{}]", f.devices[d].name);
            }
            if let Some(p) = e.place {
                let _ = write!(s, "  place {}", p + 1);
            }
            s.push('\n');
        }
    }
    if !f.places.is_empty() {
        s.push_str("  places:\n");
        for (i, p) in f.places.iter().enumerate() {
            let spread = if p.images.len() > 1 {
                format!(" within {}", km(p.radius_km))
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "    {}. {} ({}{spread})",
                i + 1,
                format_position(p.latitude, p.longitude),
                photos(p.images.len()),
            );
        }
    }
    if !f.devices.is_empty() {
        s.push_str("  devices:\n");
        for d in &f.devices {
            let serial = match &d.serial {
                Some(x) => format!("serial {x}"),
                None => "no serial".into(),
            };
            let _ = writeln!(s, "    {} ({serial}): {}", d.name, photos(d.images.len()));
        }
    }
    if !from_metadata.is_empty() {
        s.push_str("  what an onlooker learns:\n");
        for x in &from_metadata {
            let _ = writeln!(s, "    - {}", x.text);
        }
    }
    for r in results {
        if let Some(e) = &r.metadata.error {
            let _ = writeln!(s, "  {}: metadata not read: {e}", r.path);
        }
    }
    if !from_text.is_empty() {
        s.push_str("\nWhat the text in the photos gives away:\n");
        for x in &from_text {
            let _ = writeln!(s, "  - {}", x.text);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exif::{Camera, Gps};

    fn ts(date_time: &str, offset: Option<&str>) -> Timestamp {
        crate::exif::parse_datetime(date_time.as_bytes(), offset.map(str::as_bytes))
            .unwrap()
            .unwrap()
    }

    fn photo(
        path: &str,
        when: Option<&str>,
        pos: Option<(f64, f64)>,
        serial: Option<&str>,
    ) -> ImageResult {
        ImageResult {
            path: path.into(),
            metadata: Metadata {
                taken_at: when.map(|w| ts(w, Some("+02:00"))),
                gps: pos.map(|(lat, lon)| Gps {
                    latitude: Some(lat),
                    longitude: Some(lon),
                    ..Default::default()
                }),
                camera: Some(Camera {
                    make: Some("Canon".into()),
                    model: Some("Canon PowerShot S95".into()),
                    serial: serial.map(Into::into),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// A day in Paris: four photos, three near the Eiffel Tower, one at
    /// the Louvre (about 3.4 km away), given out of order.
    fn day() -> Vec<ImageResult> {
        vec![
            photo(
                "c.jpg",
                Some("2026:05:01 12:30:00"),
                Some((48.8606, 2.3376)),
                Some("42"),
            ),
            photo(
                "a.jpg",
                Some("2026:05:01 08:02:00"),
                Some((48.8584, 2.2945)),
                Some("42"),
            ),
            photo(
                "d.jpg",
                Some("2026:05:01 18:40:00"),
                Some((48.8570, 2.2950)),
                Some("42"),
            ),
            photo(
                "b.jpg",
                Some("2026:05:01 09:15:00"),
                Some((48.8560, 2.2980)),
                Some("42"),
            ),
        ]
    }

    #[test]
    fn timeline_is_in_capture_order_whatever_the_input_order() {
        let f = Findings::of(&day());
        let names: Vec<&str> = f.timeline.iter().map(|e| e.image.as_str()).collect();
        assert_eq!(names, ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]);
        let mut rev = day();
        rev.reverse();
        assert_eq!(Findings::of(&rev).timeline, f.timeline);
    }

    #[test]
    fn close_positions_group_into_one_place_with_its_centre() {
        let f = Findings::of(&day());
        assert_eq!(f.places.len(), 2, "{:?}", f.places);
        let tower = &f.places[0];
        assert_eq!(tower.images, ["a.jpg", "b.jpg", "d.jpg"]);
        assert!((tower.latitude - (48.8584 + 48.8560 + 48.8570) / 3.0).abs() < 1e-4);
        assert!((tower.longitude - (2.2945 + 2.2980 + 2.2950) / 3.0).abs() < 1e-4);
        assert!(
            tower.radius_km > 0.1 && tower.radius_km < 0.4,
            "{}",
            tower.radius_km
        );
        assert_eq!(f.places[1].images, ["c.jpg"]);
        assert_eq!(f.timeline[2].place, Some(1));
        assert_eq!(f.timeline[3].place, Some(0));
    }

    #[test]
    fn grouping_across_the_antimeridian_keeps_the_centre_there() {
        let c = centre(&[(0.0, 179.995), (0.0, -179.995)]);
        assert!(c.1.abs() > 179.99, "{c:?}");
        let f = Findings::of(&[
            photo("x.jpg", None, Some((-16.0, 179.995)), None),
            photo("y.jpg", None, Some((-16.0, -179.995)), None),
        ]);
        assert_eq!(f.places.len(), 1);
        assert!(
            f.timeline.is_empty(),
            "undated photos are not on the timeline"
        );
    }

    #[test]
    fn a_serial_ties_photos_to_one_device_a_model_alone_does_not() {
        let mut photos = day();
        photos.push(photo("e.jpg", Some("2025:01:01 10:00:00"), None, None));
        photos.push(photo("f.jpg", Some("2025:01:02 10:00:00"), None, None));
        let f = Findings::of(&photos);
        assert_eq!(f.devices.len(), 2);
        assert_eq!(f.devices[0].serial, None);
        assert_eq!(f.devices[0].images, ["e.jpg", "f.jpg"]);
        assert_eq!(f.devices[1].serial.as_deref(), Some("42"));
        assert_eq!(f.devices[1].images.len(), 4);
        let texts: Vec<&str> = f.sentences.iter().map(|s| s.text.as_str()).collect();
        assert!(
            texts.contains(
                &"Serial number 42 ties 4 photos to one Canon PowerShot S95, all taken on 2026-05-01."
            ),
            "{texts:#?}"
        );
        assert!(
            texts.contains(
                &"2 photos, taken from 2025-01-01 to 2025-01-02, name the same camera model, \
                  Canon PowerShot S95, but no serial number: they may come from one camera or several."
            ),
            "{texts:#?}"
        );
    }

    #[test]
    fn day_sentence_states_only_the_evidence_and_cites_it() {
        let f = Findings::of(&day());
        let s = &f.sentences[0];
        assert_eq!(
            s.text,
            "4 photos on 2026-05-01 between 08:02 and 18:40 (UTC+02:00), all within 2.4 km of \
             48.858 N 2.306 E, taken with one Canon PowerShot S95 (serial 42)."
        );
        assert_eq!(s.evidence.len(), 4);
        for e in &s.evidence {
            assert_eq!(
                e.fields,
                [
                    "taken_at",
                    "gps.latitude",
                    "gps.longitude",
                    "camera.make",
                    "camera.model",
                    "camera.serial"
                ]
            );
        }
        // The route and the shared place are stated with their own evidence.
        let route = f
            .sentences
            .iter()
            .find(|s| s.text.starts_with("On 2026-05-01 the positions"))
            .unwrap();
        assert!(
            route.text.contains("move through 2 places"),
            "{}",
            route.text
        );
        assert_eq!(route.evidence.len(), 4);
        let place = f
            .sentences
            .iter()
            .find(|s| s.text.starts_with("3 photos were taken within"))
            .unwrap();
        assert!(
            place.text.ends_with("on 2026-05-01 from 08:02 to 18:40."),
            "{}",
            place.text
        );
        let imgs: Vec<&str> = place.evidence.iter().map(|e| e.image.as_str()).collect();
        assert_eq!(imgs, ["a.jpg", "b.jpg", "d.jpg"]);
    }

    #[test]
    fn partial_evidence_is_said_as_partial_and_nothing_is_invented() {
        let mut one = photo("only.jpg", Some("2014:09:19 16:08:30"), None, None);
        one.metadata.taken_at = Some(ts("2014:09:19 16:08:30", None));
        let f = Findings::of(&[one]);
        assert_eq!(
            f.sentences[0].text,
            "1 photo on 2014-09-19 at 16:08, taken with a Canon PowerShot S95."
        );
        assert_eq!(f.sentences.len(), 1, "{:?}", f.sentences);

        let located = photo(
            "one.jpg",
            Some("2026:05:01 08:02:00"),
            Some((48.8584, 2.2945)),
            Some("7"),
        );
        assert_eq!(
            Findings::of(&[located]).sentences[0].text,
            "1 photo on 2026-05-01 at 08:02 (UTC+02:00), located at 48.858 N 2.295 E, \
             taken with one Canon PowerShot S95 (serial 7)."
        );

        let bare = ImageResult {
            path: "bare.png".into(),
            ..Default::default()
        };
        let f = Findings::of(&[bare]);
        assert!(f.is_empty());
        assert!(human(&[], &f).contains("no capture time, position or camera"));
    }

    #[test]
    fn names_in_the_files_are_reported_with_their_field() {
        let mut a = photo("a.jpg", None, None, None);
        a.metadata.owner = Some("Alex Example".into());
        let mut b = a.clone();
        b.path = "b.jpg".into();
        let f = Findings::of(&[a, b]);
        let s = f
            .sentences
            .iter()
            .find(|s| s.text.contains("owner"))
            .unwrap();
        assert_eq!(s.text, "2 photos name a camera owner: \"Alex Example\".");
        assert_eq!(s.evidence[1].fields, ["owner"]);
    }

    /// Strongest first: a name, then the route, the serial, then the rest;
    /// within a kind, the finding resting on more photos first.
    #[test]
    fn severity_orders_kinds_then_photos() {
        let mut photos = day();
        photos[0].metadata.owner = Some("Alex Example".into());
        photos.push(photo("e.jpg", Some("2025:01:01 10:00:00"), None, None));
        photos.push(photo("f.jpg", Some("2025:01:02 10:00:00"), None, None));
        let f = Findings::of(&photos);
        let kinds: Vec<FindingKind> = by_severity(&f.sentences).iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                FindingKind::Name,
                FindingKind::Route,
                FindingKind::Device,
                FindingKind::Place,
                FindingKind::Day,
                FindingKind::Day,
                FindingKind::Day,
                FindingKind::Model,
            ]
        );
        let days: Vec<&str> = by_severity(&f.sentences)
            .iter()
            .filter(|s| s.kind == FindingKind::Day)
            .map(|s| s.headline.as_str())
            .collect();
        assert_eq!(
            days,
            [
                "4 photos were taken on Friday 1 May 2026, from 08:02 to 18:40, all saying where.",
                "1 photo was taken on Wednesday 1 January 2025 at 10:00.",
                "1 photo was taken on Thursday 2 January 2025 at 10:00.",
            ]
        );
        let route = f
            .sentences
            .iter()
            .find(|s| s.kind == FindingKind::Route)
            .unwrap();
        assert_eq!(
            route.headline,
            "On Friday 1 May 2026 the photos trace a 6.5 km trail through 2 places, from 08:02 to 18:40."
        );
    }

    #[test]
    fn json_shape() {
        let v = serde_json::to_value(Findings::of(&day())).unwrap();
        assert_eq!(v["timeline"][0]["taken_at"], "2026-05-01T08:02:00+02:00");
        assert_eq!(v["timeline"][0]["place"], 0);
        assert!(v["places"][0]["latitude"].is_f64());
        assert_eq!(v["devices"][0]["serial"], "42");
        assert!(v["sentences"][0]["text"].is_string());
        assert_eq!(v["sentences"][0]["evidence"][0]["image"], "a.jpg");
    }

    #[test]
    fn identifying_text_becomes_a_cleaned_sentence_per_photo() {
        use crate::geometry::BBox;
        use crate::result::{TextKind, TextLine};
        let line = |text: &str, kind| TextLine {
            text: text.into(),
            score: 0.9,
            bbox: BBox::default(),
            polygon: [[0.0; 2]; 4],
            kind,
        };
        let badge = ImageResult {
            path: "b.jpg".into(),
            text: vec![
                line("Ada Lovelace", None),
                line("ada@example.org\u{1b}[2J", Some(TextKind::Email)),
                line("+44 20 7946 0958", Some(TextKind::Phone)),
            ],
            ..Default::default()
        };
        let plain = ImageResult {
            path: "a.jpg".into(),
            text: vec![line("STOP", None)],
            ..Default::default()
        };
        let f = Findings::of(&[badge, plain]);
        assert_eq!(f.sentences.len(), 1);
        let s = &f.sentences[0];
        assert_eq!(
            s.text,
            "The text in b.jpg reads an email address (\"ada@example.org[2J\") \
             and a phone number (\"+44 20 7946 0958\")."
        );
        assert!(from_text(s));
        assert_eq!(s.evidence[0].fields, [TEXT_FIELD]);
        let h = human(&[], &f);
        assert!(h.contains("no capture time, position or camera"), "{h}");
        assert!(h.contains("What the text in the photos gives away:\n  - The text in b.jpg"));
    }

    #[test]
    fn places_are_named_from_the_gazetteer_and_headlines_say_the_area() {
        let g = Gazetteer::parse(
            b"lat,lon,name,admin1,admin2,cc\n\
              48.85341,2.3488,Paris,Ile-de-France,Paris,FR\n\
              48.8566,2.2950,Eiffel Village,Ile-de-France,Paris,FR\n\
              48.8600,2.3400,Louvre Town,Ile-de-France,Paris,FR\n",
        )
        .unwrap();
        let f = Findings::named(&day(), Names::Gazetteer(&g));
        let names: Vec<&str> = f
            .places
            .iter()
            .map(|p| p.name.as_ref().unwrap().nearest.name.as_str())
            .collect();
        assert_eq!(names, ["Eiffel Village", "Louvre Town"]);
        assert_eq!(f.places_unnamed, None);
        let headline = |k: FindingKind| {
            f.sentences
                .iter()
                .find(|s| s.kind == k)
                .map(|s| s.headline.clone())
                .unwrap()
        };
        assert!(
            headline(FindingKind::Route).contains("through 2 places in the Paris area"),
            "{}",
            headline(FindingKind::Route)
        );
        assert!(headline(FindingKind::Day).ends_with("all saying where: in the Paris area."));
        assert!(headline(FindingKind::Place).starts_with(
            "3 photos were taken at one place in the Paris area, near Eiffel Village"
        ));
        let place = f
            .sentences
            .iter()
            .find(|s| s.kind == FindingKind::Place)
            .unwrap();
        assert!(
            place.text.contains("(near Eiffel Village, "),
            "{}",
            place.text
        );

        // Without the gazetteer: coordinates, and one note saying why.
        let f = Findings::named(&day(), Names::Unavailable("the gazetteer is missing"));
        assert!(f.places.iter().all(|p| p.name.is_none()));
        assert_eq!(
            f.places_unnamed.as_deref(),
            Some("places are given as coordinates only: the gazetteer is missing")
        );
        assert_eq!(Findings::of(&day()).places_unnamed, None);
        // No positions: nothing to say about names.
        let f = Findings::named(
            &[photo("x.jpg", Some("2026:05:01 08:00:00"), None, None)],
            Names::Unavailable("missing"),
        );
        assert_eq!(f.places_unnamed, None);
    }
}
