//! The people of a batch: for each person id the clustering gave, the
//! photos they appear in, joined with what the files say about when, where
//! and with which camera each photo was taken (`findings`). This is the
//! step that turns "faces" into "someone followed through an archive".
//!
//! A pure function over small per-face records: no pixels, no embeddings.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use crate::exif::{format_position, Timestamp};
use crate::result::{Device, Evidence, FindingKind, Place, Sentence};

/// One face that has a person id, with its photo's metadata as the batch
/// findings index it.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonFace<'a> {
    /// Person id from [`super::cluster::cluster`], from 1.
    pub person: u32,
    /// Path of the photo, as in the results.
    pub image: &'a str,
    /// Capture time of the photo, when the file states it.
    pub taken_at: Option<Timestamp>,
    /// Index into `findings.places`, when the photo has a position.
    pub place: Option<usize>,
    /// Index into `findings.devices`, when the photo names its camera.
    pub device: Option<usize>,
}

/// One person seen in the batch (`summary.persons` in the JSON).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Person {
    /// The id shown on each of this person's faces (`person`), from 1.
    pub id: u32,
    /// How many faces were judged to be this person.
    pub faces: usize,
    /// The photos, in input order, each once.
    pub images: Vec<String>,
    /// Earliest and latest capture time among the photos that state one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    /// Indices into `summary.findings.places`, ascending.
    pub places: Vec<usize>,
    /// Indices into `summary.findings.devices`, ascending.
    pub devices: Vec<usize>,
}

/// One photo of a person, with its metadata (the first face's record: all
/// faces of one photo share it).
struct Photo<'a> {
    image: &'a str,
    taken_at: Option<Timestamp>,
    place: Option<usize>,
    device: Option<usize>,
}

/// The persons, by id, and one sentence for each person seen in more than
/// one photo. `places` and `devices` are the batch findings' lists the
/// records index into; an index out of range is ignored.
pub fn persons(
    faces: &[PersonFace],
    places: &[Place],
    devices: &[Device],
) -> (Vec<Person>, Vec<Sentence>) {
    let ids: BTreeSet<u32> = faces.iter().map(|f| f.person).collect();
    let mut out = Vec::new();
    let mut sentences = Vec::new();
    for id in ids {
        let mine: Vec<&PersonFace> = faces.iter().filter(|f| f.person == id).collect();
        let mut photos: Vec<Photo> = Vec::new();
        for f in &mine {
            if !photos.iter().any(|p| p.image == f.image) {
                photos.push(Photo {
                    image: f.image,
                    taken_at: f.taken_at,
                    place: f.place.filter(|&i| i < places.len()),
                    device: f.device.filter(|&i| i < devices.len()),
                });
            }
        }
        let dated: Vec<Timestamp> = photos.iter().filter_map(|p| p.taken_at).collect();
        let first_seen = dated.iter().copied().min_by_key(|t| t.sort_key());
        let last_seen = dated.iter().copied().max_by_key(|t| t.sort_key());
        let person = Person {
            id,
            faces: mine.len(),
            images: photos.iter().map(|p| p.image.to_string()).collect(),
            first_seen,
            last_seen,
            places: distinct(photos.iter().filter_map(|p| p.place)),
            devices: distinct(photos.iter().filter_map(|p| p.device)),
        };
        if photos.len() > 1 {
            sentences.push(sentence(&person, &photos, places, devices));
        }
        out.push(person);
    }
    (out, sentences)
}

fn distinct(it: impl Iterator<Item = usize>) -> Vec<usize> {
    it.collect::<BTreeSet<_>>().into_iter().collect()
}

fn photos(n: usize) -> String {
    format!("{n} photo{}", if n == 1 { "" } else { "s" })
}

/// "Person 2 appears in 4 photos taken between 09:12 and 18:40 on
/// 2026-05-01, at 3 places, with the same camera (serial 42, Canon ...)."
fn sentence(
    person: &Person,
    photos_of: &[Photo],
    places: &[Place],
    devices: &[Device],
) -> Sentence {
    let n = photos_of.len();
    let mut text = format!("Person {} appears in {}", person.id, photos(n));
    let mut fields: Vec<Vec<&'static str>> = vec![vec!["faces.person"]; n];

    let dated: Vec<(usize, Timestamp)> = photos_of
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, p.taken_at?)))
        .collect();
    if !dated.is_empty() {
        let lead = if dated.len() == n {
            String::new()
        } else {
            format!(", {} of them", dated.len())
        };
        let days: BTreeSet<String> = dated.iter().map(|(_, t)| t.date()).collect();
        let (first, last) = (
            person.first_seen.unwrap_or(dated[0].1),
            person.last_seen.unwrap_or(dated[0].1),
        );
        if dated.len() == 1 {
            let _ = write!(
                text,
                "{lead} taken at {} on {}",
                first.clock(),
                first.date()
            );
        } else if days.len() == 1 {
            // One day: by the clock as shown, as the day findings do.
            let mut clocks: Vec<Timestamp> = dated.iter().map(|d| d.1).collect();
            clocks.sort_by_key(|t| (t.hour, t.minute, t.second));
            let _ = write!(
                text,
                "{lead} taken between {} and {} on {}",
                clocks[0].clock(),
                clocks[clocks.len() - 1].clock(),
                first.date()
            );
        } else {
            let _ = write!(
                text,
                "{lead} taken on {} days, from {} {} to {} {}",
                days.len(),
                first.date(),
                first.clock(),
                last.date(),
                last.clock()
            );
        }
        for (i, _) in &dated {
            fields[*i].push("taken_at");
        }
    }

    let located: Vec<usize> = (0..n).filter(|&i| photos_of[i].place.is_some()).collect();
    if !located.is_empty() {
        let part = if located.len() == n {
            String::new()
        } else {
            format!(" ({} of the photos located)", located.len())
        };
        match person.places.as_slice() {
            [one] => {
                let p = &places[*one];
                let _ = write!(
                    text,
                    ", at one place ({}){part}",
                    format_position(p.latitude, p.longitude)
                );
            }
            many => {
                let _ = write!(text, ", at {} places{part}", many.len());
            }
        }
        for i in located {
            fields[i].extend(["gps.latitude", "gps.longitude"]);
        }
    }

    let with_device: Vec<usize> = (0..n).filter(|&i| photos_of[i].device.is_some()).collect();
    if !with_device.is_empty() {
        let part = if with_device.len() == n {
            String::new()
        } else {
            format!(" in {} of them", with_device.len())
        };
        match person.devices.as_slice() {
            [one] => {
                let d = &devices[*one];
                match &d.serial {
                    Some(s) => {
                        let _ = write!(
                            text,
                            ", with the same camera (serial {s}, {}){part}",
                            d.name
                        );
                    }
                    None => {
                        let _ = write!(
                            text,
                            ", with the same camera model ({}, no serial number){part}",
                            d.name
                        );
                    }
                }
            }
            many => {
                let _ = write!(text, ", with {} different cameras{part}", many.len());
            }
        }
        for i in with_device {
            let d = &devices[photos_of[i].device.unwrap_or_default()];
            for (present, f) in [
                (d.make.is_some(), "camera.make"),
                (d.model.is_some(), "camera.model"),
                (d.serial.is_some(), "camera.serial"),
            ] {
                if present {
                    fields[i].push(f);
                }
            }
        }
    }
    text.push('.');
    let when = match (person.first_seen, person.last_seen) {
        (Some(a), Some(b)) if a.date() == b.date() => format!(", on {}", a.human_date()),
        (Some(a), Some(b)) => format!(", from {} to {}", a.human_date(), b.human_date()),
        _ => String::new(),
    };
    Sentence {
        kind: FindingKind::Person,
        headline: format!(
            "The same face (person {}) is found in {}{when}.",
            person.id,
            photos(n)
        ),
        text,
        evidence: photos_of
            .iter()
            .zip(fields)
            .map(|(p, fields)| Evidence {
                image: p.image.to_string(),
                fields,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        crate::exif::parse_datetime(s.as_bytes(), Some(b"+02:00"))
            .unwrap()
            .unwrap()
    }

    fn place(lat: f64, lon: f64) -> Place {
        Place {
            latitude: lat,
            longitude: lon,
            radius_km: 0.0,
            images: Vec::new(),
            name: None,
        }
    }

    fn device(serial: Option<&str>) -> Device {
        Device {
            name: "Canon PowerShot S95".into(),
            make: Some("Canon".into()),
            model: Some("Canon PowerShot S95".into()),
            serial: serial.map(Into::into),
            images: Vec::new(),
        }
    }

    fn face<'a>(
        person: u32,
        image: &'a str,
        when: Option<&str>,
        place: Option<usize>,
        device: Option<usize>,
    ) -> PersonFace<'a> {
        PersonFace {
            person,
            image,
            taken_at: when.map(ts),
            place,
            device,
        }
    }

    #[test]
    fn a_day_of_one_person_in_plain_words_with_its_evidence() {
        let places = [
            place(48.8584, 2.2945),
            place(48.8606, 2.3376),
            place(48.853, 2.35),
        ];
        let devices = [device(Some("42"))];
        let faces = [
            face(2, "c.jpg", Some("2026:05:01 12:30:00"), Some(1), Some(0)),
            face(1, "a.jpg", Some("2026:05:01 08:00:00"), Some(0), Some(0)),
            face(2, "a.jpg", Some("2026:05:01 08:00:00"), Some(0), Some(0)),
            face(2, "d.jpg", Some("2026:05:01 18:40:00"), Some(2), Some(0)),
            face(2, "b.jpg", Some("2026:05:01 09:12:00"), Some(0), Some(0)),
        ];
        let (people, sentences) = persons(&faces, &places, &devices);
        assert_eq!(people.len(), 2);
        let p = &people[1];
        assert_eq!(p.id, 2);
        assert_eq!(p.faces, 4);
        assert_eq!(p.images, ["c.jpg", "a.jpg", "d.jpg", "b.jpg"]);
        assert_eq!(p.first_seen.unwrap().clock(), "08:00");
        assert_eq!(p.last_seen.unwrap().clock(), "18:40");
        assert_eq!(p.places, [0, 1, 2]);
        assert_eq!(p.devices, [0]);
        // Person 1 is in one photo: an entry, no sentence.
        assert_eq!(people[0].images, ["a.jpg"]);
        assert_eq!(sentences.len(), 1);
        assert_eq!(
            sentences[0].text,
            "Person 2 appears in 4 photos taken between 08:00 and 18:40 on 2026-05-01, \
             at 3 places, with the same camera (serial 42, Canon PowerShot S95)."
        );
        assert_eq!(sentences[0].evidence.len(), 4);
        assert_eq!(
            sentences[0].evidence[0].fields,
            [
                "faces.person",
                "taken_at",
                "gps.latitude",
                "gps.longitude",
                "camera.make",
                "camera.model",
                "camera.serial"
            ]
        );
        let v = serde_json::to_value(p).unwrap();
        assert_eq!(v["first_seen"], "2026-05-01T08:00:00+02:00");
        assert_eq!(v["places"], serde_json::json!([0, 1, 2]));
    }

    #[test]
    fn partial_metadata_is_said_as_partial_and_nothing_is_invented() {
        let places = [place(48.8584, 2.2945)];
        let devices = [device(None), device(Some("7"))];
        let faces = [
            face(1, "x.jpg", Some("2026:05:01 10:00:00"), Some(0), Some(0)),
            face(1, "y.jpg", Some("2026:05:03 11:15:00"), None, Some(1)),
            face(1, "z.jpg", None, None, None),
            // Two faces of one person in one photo count as faces, not
            // photos.
            face(1, "z.jpg", None, None, None),
        ];
        let (people, sentences) = persons(&faces, &places, &devices);
        assert_eq!(people[0].faces, 4);
        assert_eq!(people[0].images.len(), 3);
        assert_eq!(
            sentences[0].text,
            "Person 1 appears in 3 photos, 2 of them taken on 2 days, from 2026-05-01 10:00 \
             to 2026-05-03 11:15, at one place (48.858 N 2.295 E) (1 of the photos located), \
             with 2 different cameras in 2 of them."
        );
        assert_eq!(sentences[0].evidence[2].fields, ["faces.person"]);

        let bare = [
            face(3, "p.png", None, None, None),
            face(3, "q.png", None, None, None),
        ];
        let (people, sentences) = persons(&bare, &[], &[]);
        assert_eq!(sentences[0].text, "Person 3 appears in 2 photos.");
        let v = serde_json::to_value(&people[0]).unwrap();
        assert!(v.get("first_seen").is_none());
        assert_eq!(v["images"], serde_json::json!(["p.png", "q.png"]));
    }

    #[test]
    fn a_model_without_serial_is_not_called_one_camera() {
        let devices = [device(None)];
        let faces = [
            face(1, "a.jpg", Some("2026:05:01 10:00:00"), None, Some(0)),
            face(1, "b.jpg", Some("2026:05:01 10:05:00"), None, Some(0)),
        ];
        let (_, s) = persons(&faces, &[], &devices);
        assert!(
            s[0].text
                .ends_with("with the same camera model (Canon PowerShot S95, no serial number)."),
            "{}",
            s[0].text
        );
        // Out-of-range indices are ignored, not a panic.
        let odd = [
            face(1, "a.jpg", None, Some(9), Some(9)),
            face(1, "b.jpg", None, None, None),
        ];
        let (p, s) = persons(&odd, &[], &[]);
        assert!(p[0].places.is_empty() && p[0].devices.is_empty());
        assert_eq!(s[0].text, "Person 1 appears in 2 photos.");
    }
}
