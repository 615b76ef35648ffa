//! Per-image summaries of the detected objects: counts by label and a scene
//! line a person reads at a glance.

use std::collections::BTreeMap;

use crate::result::{Object, Tag};

/// Tags named in the scene line at most, and the confidence they need:
/// the line says what the picture looks like only when the classifier is
/// fairly sure (ARCHITECTURE.md, "Tags"); the terminal, the report and the
/// JSON list every tag.
pub const SCENE_TAGS: usize = 2;
pub const SCENE_TAG_CONFIDENCE: f32 = 0.3;

/// Per-image counts by label: people first (what an onlooker looks for),
/// then the most frequent, ties by label so the order is stable.
pub fn counts(objects: &[Object]) -> Vec<(&'static str, usize)> {
    let mut map = BTreeMap::<&'static str, usize>::new();
    for o in objects {
        *map.entry(o.label).or_default() += 1;
    }
    let mut v: Vec<_> = map.into_iter().collect();
    v.sort_by(|a, b| {
        (b.0 == "person")
            .cmp(&(a.0 == "person"))
            .then(b.1.cmp(&a.1))
            .then(a.0.cmp(b.0))
    });
    v
}

/// A line a person reads at a glance: the objects counted, then what the
/// whole picture looks like by its surest tags: "2 people, 1 dog, 1
/// bicycle; looks like malamute".
pub fn scene_line(counts: &[(&'static str, usize)], tags: &[Tag]) -> String {
    let mut line = if counts.is_empty() {
        "no objects recognised".to_string()
    } else {
        counts
            .iter()
            .map(|&(label, n)| format!("{n} {}", noun(label, n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let names: Vec<&str> = tags
        .iter()
        .filter(|t| t.confidence >= SCENE_TAG_CONFIDENCE)
        .take(SCENE_TAGS)
        .map(|t| t.name.as_str())
        .collect();
    if !names.is_empty() {
        line.push_str("; looks like ");
        line.push_str(&names.join(" or "));
    }
    line
}

/// The English noun phrase for `n` objects of a COCO label.
fn noun(label: &str, n: usize) -> String {
    let one = n == 1;
    match label {
        "person" if one => "person".into(),
        "person" => "people".into(),
        // "1 skis" reads wrong; both come in pairs.
        "skis" | "scissors" if one => format!("pair of {label}"),
        "skis" | "scissors" => format!("pairs of {label}"),
        "tv" if one => "TV".into(),
        "tv" => "TVs".into(),
        _ if one => label.into(),
        "sheep" => label.into(),
        "knife" => "knives".into(),
        "mouse" => "mice".into(),
        _ if label.ends_with("ch") || label.ends_with("sh") || label.ends_with('s') => {
            format!("{label}es")
        }
        _ => format!("{label}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::COCO_LABELS;
    use super::*;
    use crate::geometry::BBox;
    use crate::result::Object;

    fn o(class_id: usize) -> Object {
        Object {
            label: COCO_LABELS[class_id],
            class_id,
            score: 0.9,
            bbox: BBox::default(),
        }
    }

    #[test]
    fn people_come_first_then_the_most_frequent() {
        let c = counts(&[o(16), o(1), o(0), o(16), o(0), o(2)]);
        assert_eq!(
            c,
            vec![("person", 2), ("dog", 2), ("bicycle", 1), ("car", 1)]
        );
        assert_eq!(scene_line(&c, &[]), "2 people, 2 dogs, 1 bicycle, 1 car");
        assert_eq!(scene_line(&counts(&[o(0)]), &[]), "1 person");
        assert_eq!(scene_line(&[], &[]), "no objects recognised");
    }

    fn tag(name: &str, confidence: f32) -> Tag {
        Tag {
            name: name.into(),
            confidence,
        }
    }

    #[test]
    fn the_first_tags_say_what_the_picture_looks_like() {
        let c = counts(&[o(41), o(60)]);
        let tags = [
            tag("espresso", 0.5),
            tag("coffee mug", 0.3),
            tag("cup", 0.3),
            tag("consomme", 0.1),
        ];
        assert_eq!(
            scene_line(&c, &tags),
            "1 cup, 1 dining table; looks like espresso or coffee mug"
        );
        assert_eq!(
            scene_line(&c, &tags[..1]),
            "1 cup, 1 dining table; looks like espresso"
        );
        // Unsure tags stay out of the line.
        assert_eq!(scene_line(&c, &tags[3..]), "1 cup, 1 dining table");
        assert_eq!(
            scene_line(&[], &[tag("bald eagle", 0.9)]),
            "no objects recognised; looks like bald eagle"
        );
    }

    #[test]
    fn every_label_has_a_readable_plural() {
        let plural = |label: &str| noun(label, 2);
        assert_eq!(plural("bus"), "buses");
        assert_eq!(plural("bench"), "benches");
        assert_eq!(plural("couch"), "couches");
        assert_eq!(plural("sandwich"), "sandwiches");
        assert_eq!(plural("toothbrush"), "toothbrushes");
        assert_eq!(plural("wine glass"), "wine glasses");
        assert_eq!(plural("knife"), "knives");
        assert_eq!(plural("sheep"), "sheep");
        assert_eq!(plural("skis"), "pairs of skis");
        assert_eq!(noun("scissors", 1), "pair of scissors");
        assert_eq!(plural("tv"), "TVs");
        assert_eq!(plural("dining table"), "dining tables");
        for label in COCO_LABELS {
            let (one, many) = (noun(label, 1), noun(label, 3));
            assert!(
                !one.is_empty() && one != many || label == "sheep",
                "{label}"
            );
            assert!(!many.ends_with("ss") && !many.ends_with("ys"), "{many}");
        }
    }
}
