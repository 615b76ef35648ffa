//! `detections.csv`: one row per detection, for spreadsheets and scripts.
//! RFC 4180 quoting (by the `csv` crate), CRLF line ends, UTF-8 without a
//! byte-order mark.

use std::borrow::Cow;

use crate::result::ImageResult;

/// The columns, in order. `age`, `gender` and `expression` are filled for
/// faces when the attribute stage ran, empty otherwise. Text lines are rows
/// of kind `text`: `label` is the identifying kind (`email`, `phone`, ...)
/// or empty, the box is the line's axis-aligned bounds, and `text` (the
/// column after `expression`) what it says. Tags are rows of kind `tag`:
/// `label` is the tag's name, `score` its confidence, no box (they are
/// about the whole picture). `person` is the id the persons
/// pass gave a face. New columns go last, so earlier ones keep their places.
pub const COLUMNS: [&str; 13] = [
    "image",
    "kind",
    "label",
    "score",
    "x",
    "y",
    "width",
    "height",
    "age",
    "gender",
    "expression",
    "text",
    "person",
];

/// Text that a spreadsheet would run as a formula (starting with `=`, `+`,
/// `-`, `@`, tab or CR) gets a leading `'`: a file named `=HYPERLINK(...)`
/// must not become a live formula when the CSV is opened. Quoting is the
/// writer's job.
pub fn neutral(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

fn number(v: f32, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        String::new()
    }
}

/// The CSV of a batch. Images that failed have no detections and so no
/// rows.
pub fn render(results: &[ImageResult]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(COLUMNS)?;
    for r in results {
        let path = neutral(&r.path);
        for f in &r.faces {
            let b = f.bbox;
            let a = &f.attributes;
            w.write_record([
                &*path,
                "face",
                "face",
                &number(f.score, 4),
                &number(b.x, 1),
                &number(b.y, 1),
                &number(b.w, 1),
                &number(b.h, 1),
                &a.age.map_or_else(String::new, |age| number(age, 0)),
                a.gender.as_ref().map_or("", |g| g.label),
                a.expression.as_ref().map_or("", |e| e.label),
                "",
                &f.identity
                    .and_then(|i| i.person)
                    .map_or_else(String::new, |p| p.to_string()),
            ])?;
        }
        for o in &r.objects {
            let b = o.bbox;
            w.write_record([
                &*path,
                "object",
                &neutral(o.label),
                &number(o.score, 4),
                &number(b.x, 1),
                &number(b.y, 1),
                &number(b.w, 1),
                &number(b.h, 1),
                "",
                "",
                "",
                "",
                "",
            ])?;
        }
        for t in &r.text {
            let b = t.bbox;
            w.write_record([
                &*path,
                "text",
                t.kind.map_or("", |k| k.name()),
                &number(t.score, 4),
                &number(b.x, 1),
                &number(b.y, 1),
                &number(b.w, 1),
                &number(b.h, 1),
                "",
                "",
                "",
                &neutral(&t.text),
                "",
            ])?;
        }
        for t in &r.tags {
            w.write_record([
                &*path,
                "tag",
                &neutral(&t.name),
                &number(t.confidence, 4),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ])?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A face, an object, text lines and a tag, from typed values, to the
    /// exact bytes.
    #[test]
    fn rows_come_from_the_typed_results() {
        use crate::geometry::BBox;
        use crate::result::{Face, FaceAttributes, Gender, Object};
        let bbox = BBox {
            x: 1.0,
            y: 2.0,
            w: 3.0,
            h: 4.04,
        };
        let r = ImageResult {
            path: "a,b.jpg".into(),
            faces: vec![Face {
                bbox,
                score: 0.9,
                attributes: FaceAttributes {
                    age: Some(33.6),
                    gender: Some(Gender {
                        label: "female",
                        confidence: 0.9,
                    }),
                    expression: None,
                },
                identity: Some(crate::result::FaceIdentity {
                    person: Some(3),
                    no_identity: None,
                }),
                ..Default::default()
            }],
            objects: vec![Object {
                label: "dog",
                class_id: 16,
                score: 0.834,
                bbox,
            }],
            text: vec![
                crate::result::TextLine {
                    text: "=call \"Ada\", +44 20 7946 0958".into(),
                    score: 0.95,
                    bbox,
                    polygon: [[1.0, 2.0], [4.0, 2.0], [4.0, 6.0], [1.0, 6.0]],
                    kind: Some(crate::result::TextKind::Phone),
                },
                crate::result::TextLine {
                    text: "hello".into(),
                    score: 0.5,
                    bbox,
                    polygon: [[1.0, 2.0], [4.0, 2.0], [4.0, 6.0], [1.0, 6.0]],
                    kind: None,
                },
            ],
            tags: vec![crate::result::Tag {
                name: "espresso".into(),
                confidence: 0.87,
            }],
            ..Default::default()
        };
        let text = String::from_utf8(render(&[r]).unwrap()).unwrap();
        assert_eq!(
            text,
            "image,kind,label,score,x,y,width,height,age,gender,expression,text,person\r\n\
             \"a,b.jpg\",face,face,0.9000,1.0,2.0,3.0,4.0,34,female,,,3\r\n\
             \"a,b.jpg\",object,dog,0.8340,1.0,2.0,3.0,4.0,,,,,\r\n\
             \"a,b.jpg\",text,phone,0.9500,1.0,2.0,3.0,4.0,,,,\"'=call \"\"Ada\"\", +44 20 7946 0958\",\r\n\
             \"a,b.jpg\",text,,0.5000,1.0,2.0,3.0,4.0,,,,hello,\r\n\
             \"a,b.jpg\",tag,espresso,0.8700,,,,,,,,,\r\n"
        );
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutral("=1+1"), "'=1+1");
        assert_eq!(neutral("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutral("-2"), "'-2");
        assert_eq!(neutral("photo-1.jpg"), "photo-1.jpg");
    }
}
