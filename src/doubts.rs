//! Judgements on the results themselves, made once and read by every view:
//! which faces or guesses the run's own evidence puts in doubt
//! ([`judge`], per image, after every detector ran), and which images
//! repeat another's pixels ([`pixels_sha256`], [`mark_duplicates`], once the
//! batch is complete), so no total counts a picture twice.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::result::{Doubt, Face, ImageResult, Object};

/// Below this probability of its own, the gender guess is flagged: by the
/// model's own account it is wrong at least one time in ten.
pub const GENDER_CONFIDENCE: f32 = 0.9;

/// COCO classes that have a face but are not a person.
pub const NOT_PERSONS: [&str; 11] = [
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "teddy bear",
];

/// Share of a face box an object box must cover to count as holding it.
const HOLDS: f32 = 0.5;

/// The most confident animal (or teddy bear) whose box holds the face,
/// when no person's box does. A face outside every box is not doubted: the
/// object detector misses people (seen through a window, at the edge of a
/// crowd) far more often than the face detector fires on an animal.
pub fn held_by_non_person<'a>(f: &Face, objects: &'a [Object]) -> Option<&'a Object> {
    let area = f.bbox.area();
    if area.is_nan() || area <= 0.0 {
        return None;
    }
    let holds = |o: &&Object| f.bbox.intersection(&o.bbox) / area >= HOLDS;
    if objects.iter().filter(holds).any(|o| o.label == "person") {
        return None;
    }
    objects
        .iter()
        .filter(holds)
        .filter(|o| NOT_PERSONS.contains(&o.label))
        .max_by(|a, b| a.score.total_cmp(&b.score))
}

/// Sets each face's [`Doubt`]s from what the image's results show.
pub fn judge(r: &mut ImageResult) {
    let no_person = r.error.is_none() && r.people == 0;
    for f in &mut r.faces {
        let mut d = Vec::new();
        if no_person {
            d.push(Doubt::NoPerson);
        }
        if held_by_non_person(f, &r.objects).is_some() {
            d.push(Doubt::InsideAnimal);
        }
        if f.attributes
            .gender
            .as_ref()
            .is_some_and(|g| g.confidence < GENDER_CONFIDENCE)
        {
            d.push(Doubt::UncertainGender);
        }
        if f.below_cloud_min_size && !f.attributes.is_empty() {
            d.push(Doubt::AttributesBelowCloudMinimum);
        }
        f.doubts = d;
    }
}

/// Whether the face is counted in headline totals (not doubted as
/// [`Doubt::NoPerson`]).
pub fn counts_as_human(f: &Face) -> bool {
    !f.doubts.contains(&Doubt::NoPerson)
}

/// SHA-256 (hex) of an upright RGB image's size and pixels: two files with
/// the same picture, whatever their metadata or container, hash the same.
pub fn pixels_sha256(rgb: &image::RgbImage) -> String {
    let mut h = Sha256::new();
    h.update(rgb.width().to_le_bytes());
    h.update(rgb.height().to_le_bytes());
    h.update(rgb.as_raw());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Sets `duplicate_of` on every result whose pixels an earlier one (in
/// slice order, which is input order) already had.
pub fn mark_duplicates<'a>(results: impl IntoIterator<Item = &'a mut ImageResult>) {
    let mut first: HashMap<String, usize> = HashMap::new();
    for (i, r) in results.into_iter().enumerate() {
        r.duplicate_of = None;
        if let Some(h) = &r.pixels_sha256 {
            match first.get(h) {
                Some(&j) => r.duplicate_of = Some(j),
                None => {
                    first.insert(h.clone(), i);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::BBox;
    use crate::result::{FaceAttributes, Gender};

    fn decoded(name: &str) -> image::RgbImage {
        let p = format!("{}/samples/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(p).unwrap();
        crate::imageio::decode(bytes, &Default::default())
            .unwrap()
            .rgb
    }

    /// The demo's "day out" files carry new metadata over another sample's
    /// pixels: different files, the same picture.
    #[test]
    fn same_pixels_under_different_metadata_are_one_picture() {
        let dog = decoded("dog.jpg");
        let copy = decoded("day_out/DSCF0412.jpg");
        let horses = decoded("horses.jpg");
        assert_eq!(pixels_sha256(&dog), pixels_sha256(&copy));
        assert_ne!(pixels_sha256(&dog), pixels_sha256(&horses));
        let mut one_changed = dog.clone();
        one_changed.get_pixel_mut(0, 0).0[0] ^= 1;
        assert_ne!(pixels_sha256(&dog), pixels_sha256(&one_changed));

        let r = |h: Option<String>| ImageResult {
            pixels_sha256: h,
            ..Default::default()
        };
        let mut rs = vec![
            r(Some(pixels_sha256(&copy))),
            r(Some(pixels_sha256(&horses))),
            r(None),
            r(Some(pixels_sha256(&dog))),
            r(None),
            r(Some(pixels_sha256(&dog))),
        ];
        mark_duplicates(&mut rs);
        let marks: Vec<Option<usize>> = rs.iter().map(|r| r.duplicate_of).collect();
        assert_eq!(marks, [None, None, None, Some(0), None, Some(0)]);
    }

    #[test]
    fn doubts_follow_the_evidence_of_the_image() {
        let face = |conf: f32, small: bool| Face {
            below_cloud_min_size: small,
            attributes: FaceAttributes {
                gender: Some(Gender {
                    label: "male",
                    confidence: conf,
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let boxed = |label: &'static str, x: f32| Object {
            label,
            class_id: 0,
            score: 0.9,
            bbox: BBox {
                x,
                y: 0.0,
                w: 100.0,
                h: 100.0,
            },
        };
        let mut cat = ImageResult {
            faces: vec![Face {
                bbox: BBox {
                    x: 40.0,
                    y: 40.0,
                    w: 20.0,
                    h: 20.0,
                },
                ..face(0.94, false)
            }],
            objects: vec![boxed("cat", 0.0)],
            people: 0,
            ..Default::default()
        };
        judge(&mut cat);
        assert_eq!(cat.faces[0].doubts, [Doubt::NoPerson, Doubt::InsideAnimal]);
        assert!(!counts_as_human(&cat.faces[0]));
        // A person holding a cat: the face is in both boxes, so no doubt.
        cat.objects.push(boxed("person", 10.0));
        cat.people = 1;
        judge(&mut cat);
        assert!(cat.faces[0].doubts.is_empty());
        assert!(counts_as_human(&cat.faces[0]));

        let mut group = ImageResult {
            faces: vec![face(0.99, false), face(0.70, true), Face::default()],
            people: 3,
            ..Default::default()
        };
        group.faces[2].below_cloud_min_size = true;
        judge(&mut group);
        assert!(group.faces[0].doubts.is_empty());
        assert_eq!(
            group.faces[1].doubts,
            [Doubt::UncertainGender, Doubt::AttributesBelowCloudMinimum]
        );
        // Small, but nothing was guessed about it.
        assert!(group.faces[2].doubts.is_empty());
        assert!(group.faces.iter().all(counts_as_human));

        // A failed image says nothing about people.
        let mut failed = ImageResult {
            faces: vec![Face::default()],
            error: Some("x".into()),
            ..Default::default()
        };
        judge(&mut failed);
        assert!(failed.faces[0].doubts.is_empty());
    }
}
