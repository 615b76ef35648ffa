//! Text through the whole command: the JSON lines with their kinds, the
//! findings that cite them, the terminal lines, the report page (escaped),
//! the CSV rows, and `--no-text` with a models folder that lacks the text
//! models.

mod common;

use common::{onlooker, sample};
use onlooker::manifest::Manifest;
use onlooker::runtime;

fn run_ok(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn image<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("{name} not in the document"))
}

#[test]
fn the_json_has_the_lines_with_kinds_and_the_findings_cite_them() {
    let out = run_ok(
        onlooker()
            .args(["analyze", "--threads", "2", "--json", "-"])
            .arg(sample("text")),
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let badge = &image(&doc, "text/badge.jpg")["text"];
    let kinded: Vec<(&str, &str)> = badge
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| Some((l["text"].as_str()?, l.get("kind")?.as_str()?)))
        .collect();
    assert_eq!(
        kinded,
        [
            ("ada.lovelace@example.org", "email"),
            ("+44 20 7946 0958", "phone")
        ]
    );
    let first = &badge[0];
    assert_eq!(first["text"], "RUSTCONF 2026");
    assert_eq!(first["box"].as_array().unwrap().len(), 4);
    assert_eq!(first["polygon"].as_array().unwrap().len(), 4);
    // `text` follows `objects` in the image object (read from the bytes:
    // serde_json's map here sorts its keys).
    let raw = String::from_utf8_lossy(&out.stdout);
    let pos = |k: &str| raw.find(&format!("\"{k}\":")).unwrap();
    assert!(pos("objects") < pos("text") && pos("text") < pos("people"));
    assert_eq!(doc["summary"]["text_lines"], 26);

    let sentences: Vec<&str> = doc["summary"]["findings"]["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let badge_sentence = sentences
        .iter()
        .find(|s| s.contains("text/badge.jpg"))
        .unwrap_or_else(|| panic!("no sentence on the badge: {sentences:?}"));
    assert_eq!(
        *badge_sentence,
        format!(
            "The text in {} reads an email address (\"ada.lovelace@example.org\") \
             and a phone number (\"+44 20 7946 0958\").",
            image(&doc, "text/badge.jpg")["path"].as_str().unwrap()
        )
    );
    assert!(
        sentences
            .iter()
            .any(|s| s.contains("street.jpg")
                && s.contains("licence-plate-like code (\"AB12 CDE\")")),
        "{sentences:?}"
    );

    // The terminal (stderr here, as the JSON is on stdout): the lines per
    // image with their kinds, the findings, the total.
    let terminal = String::from_utf8_lossy(&out.stderr);
    assert!(terminal.contains("  text: 5 lines read\n"), "{terminal}");
    assert!(
        terminal.contains("    \"ada.lovelace@example.org\" [email]\n"),
        "{terminal}"
    );
    assert!(
        terminal.contains("What the text in the photos gives away:"),
        "{terminal}"
    );
    assert!(terminal.contains(" 26 text lines, "), "{terminal}");
}

#[test]
fn the_report_lists_the_text_escaped_and_the_csv_has_text_rows() {
    let d = tempfile::tempdir().unwrap();
    let out_dir = d.path().join("report");
    run_ok(
        onlooker()
            .args(["analyze", "--threads", "2", "-q", "--out"])
            .arg(&out_dir)
            .arg(sample("text/letter.jpg"))
            .arg(sample("text/badge.jpg")),
    );
    let page = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    // The letter's first line has an ampersand: escaped on the page, as
    // all recognised text is.
    assert!(
        page.contains("<bdi>Baker &#38; Hudson Solicitors</bdi>")
            || page.contains("<bdi>Baker &amp; Hudson Solicitors</bdi>"),
        "text not listed escaped"
    );
    assert!(
        !page.contains("Baker & Hudson"),
        "raw ampersand on the page"
    );
    assert!(page.contains("Text read: 12 lines"));
    assert!(page.contains("<span class=\"chip\">email</span>"));
    assert!(page.contains("The text in "), "text findings on the page");

    let csv = std::fs::read_to_string(out_dir.join("detections.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.starts_with("image,kind,label,score,x,y,width,height,age,gender,expression")
            && header.ends_with(",text,person"),
        "{header}"
    );
    let text_rows: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter(|l| l.contains(",text,"))
        .collect();
    assert_eq!(text_rows.len(), 12 + 5, "{csv}");
    assert!(
        text_rows
            .iter()
            .any(|r| r.contains(",text,email,") && r.ends_with(",ada.lovelace@example.org,")),
        "{csv}"
    );

    // The annotated badge has the text colour on it.
    let copy = std::fs::read_dir(out_dir.join("images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("badge"))
        .unwrap();
    let img = image::open(&copy).unwrap().to_rgb8();
    let cyan = img
        .pixels()
        .filter(|p| p.0[0] < 60 && p.0[1] > 190 && p.0[2] > 220)
        .count();
    assert!(cyan > 500, "text outlines drawn: {cyan} cyan pixels");
}

#[test]
fn no_text_reads_nothing_and_loads_no_text_model() {
    // A models folder with everything but the text files.
    let d = tempfile::tempdir().unwrap();
    let m = Manifest::builtin();
    let src = runtime::default_models_dir();
    let files =
        std::iter::once(&m.runtime).chain(m.models.iter().filter(|e| !e.name.starts_with("text_")));
    for e in files {
        std::os::unix::fs::symlink(src.join(&e.file), d.path().join(&e.file)).unwrap();
    }

    let out = run_ok(
        onlooker()
            .args([
                "analyze",
                "--threads",
                "1",
                "--no-text",
                "--json",
                "-",
                "--models",
            ])
            .arg(d.path())
            .arg(sample("text/badge.jpg")),
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["images"][0]["text"], serde_json::json!([]));
    assert_eq!(doc["summary"]["text_lines"], 0);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("text:"));

    // Without --no-text the same folder is a setup error naming a text model.
    let out = onlooker()
        .args(["analyze", "--threads", "1", "--json", "-", "--models"])
        .arg(d.path())
        .arg(sample("text/badge.jpg"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("text_"), "{err}");
}
