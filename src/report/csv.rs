//! `detections.csv`: one row per detection, for spreadsheets and scripts.
//! RFC 4180 quoting, CRLF line ends, UTF-8 without a byte-order mark.

use std::borrow::Cow;

use serde_json::Value;

/// The columns, in order. `age`, `gender` and `expression` are filled for
/// faces when the attribute stage ran, empty otherwise.
pub const COLUMNS: [&str; 11] = [
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
];

/// Quotes a field when it holds a comma, quote, CR or LF (quotes doubled).
/// Text that a spreadsheet would run as a formula (starting with `=`, `+`,
/// `-`, `@`, tab or CR) gets a leading `'`: a file named `=HYPERLINK(...)`
/// must not become a live formula when the CSV is opened.
pub fn field(s: &str) -> Cow<'_, str> {
    let neutral = match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    };
    if neutral.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", neutral.replace('"', "\"\"")))
    } else {
        neutral
    }
}

fn number(v: Option<&Value>, decimals: usize) -> String {
    match v.and_then(Value::as_f64) {
        Some(f) if f.is_finite() => format!("{f:.decimals$}"),
        _ => String::new(),
    }
}

fn row(out: &mut String, cells: &[Cow<'_, str>]) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(c);
    }
    out.push_str("\r\n");
}

fn box_cells(d: &Value) -> [String; 4] {
    let b = d.get("box").and_then(Value::as_array);
    let at = |i: usize| number(b.and_then(|b| b.get(i)), 1);
    [at(0), at(1), at(2), at(3)]
}

fn text_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The CSV of a JSON document (as written to `report.json`). Images that
/// failed have no detections and so no rows.
pub fn render(doc: &Value) -> String {
    let mut out = String::new();
    row(
        &mut out,
        &COLUMNS
            .iter()
            .map(|c| Cow::Borrowed(*c))
            .collect::<Vec<_>>(),
    );
    let images = doc.get("images").and_then(Value::as_array);
    for img in images.into_iter().flatten() {
        let path = img.get("path").and_then(Value::as_str).unwrap_or("");
        for f in img
            .get("faces")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let [x, y, w, h] = box_cells(f);
            let age = match f.get("age") {
                Some(Value::Number(_)) => number(f.get("age"), 0),
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            row(
                &mut out,
                &[
                    field(path),
                    "face".into(),
                    "face".into(),
                    number(f.get("score"), 4).into(),
                    x.into(),
                    y.into(),
                    w.into(),
                    h.into(),
                    field(&age),
                    field(text_at(f, "/gender/label")),
                    field(text_at(f, "/expression/label")),
                ],
            );
        }
        for o in img
            .get("objects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let [x, y, w, h] = box_cells(o);
            row(
                &mut out,
                &[
                    field(path),
                    "object".into(),
                    field(text_at(o, "/label")),
                    number(o.get("score"), 4).into(),
                    x.into(),
                    y.into(),
                    w.into(),
                    h.into(),
                    "".into(),
                    "".into(),
                    "".into(),
                ],
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(field("plain.jpg"), "plain.jpg");
        assert_eq!(field("a,b.jpg"), "\"a,b.jpg\"");
        assert_eq!(field("say \"hi\".jpg"), "\"say \"\"hi\"\".jpg\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("cr\rhere"), "\"cr\rhere\"");
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(field("=1+1"), "'=1+1");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            field("=HYPERLINK(\"x\",\"y\")"),
            "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""
        );
        assert_eq!(field("photo-1.jpg"), "photo-1.jpg");
    }
}
