//! The report folder, end to end with the real models on the real samples:
//! annotated copies the size of the upright image with the boxes drawn on
//! them, the page, the CSV and the JSON; refusing a non-empty folder;
//! never touching the inputs; hostile text escaped; CSV quoting.

mod common;
use common::sample;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Output;

use image::{ImageFormat, RgbImage};
use serde_json::Value;
use sha2::{Digest, Sha256};

use onlooker::exif::Camera;
use onlooker::report::annotate::class_colour;
use onlooker::report::html::{self, Annotated};
use onlooker::report::{self, csv as report_csv, output};
use onlooker::result::{Device, Evidence, Sentence, Summary};
use onlooker::{runtime, Analyzer, ImageResult, Options, Runtime};

fn onlooker(args: &[&std::ffi::OsStr]) -> Output {
    common::onlooker()
        .arg("analyze")
        .arg("--models")
        .arg(runtime::default_models_dir())
        .args(["--threads", "2"])
        .args(args)
        .output()
        .expect("run onlooker")
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

fn text(o: &Output) -> String {
    common::output_text(o)
}

/// sha256 of every file under `dir`, by path.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let h = Sha256::digest(std::fs::read(&p).unwrap());
                out.insert(p, format!("{h:x}"));
            }
        }
    }
    out
}

/// A JPEG of `upright` stored turned a quarter to the left, with EXIF
/// Orientation 6 (rotate 90° clockwise to view), as phones write them.
fn sideways_jpeg(upright: &RgbImage) -> Vec<u8> {
    let stored = image::imageops::rotate270(upright);
    let mut jpeg = Cursor::new(Vec::new());
    stored.write_to(&mut jpeg, ImageFormat::Jpeg).unwrap();
    let jpeg = jpeg.into_inner();
    // Big-endian TIFF with one IFD entry: 0x0112 Orientation, SHORT, 1, 6.
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn close(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() <= tol)
}

/// Whether the left edge of `b` is drawn in `colour` on `img` (JPEG: near).
fn edge_drawn(img: &RgbImage, b: &Value, colour: [u8; 3]) -> bool {
    let x = b[0].as_f64().unwrap().round() as u32 + 1;
    let y0 = b[1].as_f64().unwrap();
    let h = b[3].as_f64().unwrap();
    // Most of the edge, not one lucky pixel.
    let ys: Vec<u32> = (1..10).map(|k| (y0 + h * k as f64 / 10.0) as u32).collect();
    ys.iter()
        .filter(|y| close(img.get_pixel(x, **y).0, colour, 48))
        .count()
        >= 7
}

#[test]
fn report_from_the_real_samples() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("photos");
    std::fs::create_dir(&input).unwrap();
    for name in ["astronaut.png", "dog.jpg", "grace_hopper.jpg"] {
        std::fs::copy(sample(name), input.join(name)).unwrap();
    }
    let dog = image::open(sample("dog.jpg")).unwrap().to_rgb8();
    std::fs::write(input.join("phone_sideways.jpg"), sideways_jpeg(&dog)).unwrap();
    std::fs::write(
        input.join("zz_broken.jpg"),
        b"\xFF\xD8\xFF\xE0 not really a jpeg",
    )
    .unwrap();
    let before = snapshot(&input);
    let out = d.path().join("report");

    let o = onlooker(&[os(&input), os("--out"), os(&out), os("--quiet")]);
    // One file is broken: exit 1, and the report is still written.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(snapshot(&input), before, "inputs untouched, nothing added");

    let doc = common::document_file(&out.join("report.json"));
    let images = doc["images"].as_array().unwrap();
    // The `--as` documents of every photo beside the page, linked from its
    // "as the cloud returns it" section (tests/cloud.rs checks their shapes).
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("<section id=\"cloud\""), "no cloud section");
    for provider in ["aws", "azure", "google"] {
        let file = format!("cloud/{provider}.json");
        let cloud: Value =
            serde_json::from_slice(&std::fs::read(out.join(&file)).unwrap()).unwrap();
        assert_eq!(cloud["provider"], provider);
        assert_eq!(cloud["images"].as_array().unwrap().len(), images.len());
        assert!(page.contains(&format!("<a href=\"{file}\">")), "{file}");
    }
    assert!(page.contains("as AWS Rekognition's DetectFaces would return it"));
    let names: Vec<&str> = images
        .iter()
        .map(|i| i["path"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "astronaut.png",
            "dog.jpg",
            "grace_hopper.jpg",
            "phone_sideways.jpg",
            "zz_broken.jpg"
        ]
    );

    // Annotated copies: one per analysed image, upright size, boxes drawn.
    let mut copies: Vec<String> = std::fs::read_dir(out.join("images"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    copies.sort();
    assert_eq!(
        copies,
        [
            "001-astronaut.jpg",
            "002-dog.jpg",
            "003-grace_hopper.jpg",
            "004-phone_sideways.jpg"
        ]
    );
    for (i, c) in copies.iter().enumerate() {
        let img = image::open(out.join("images").join(c)).unwrap().to_rgb8();
        let (w, h) = (
            images[i]["width"].as_u64().unwrap(),
            images[i]["height"].as_u64().unwrap(),
        );
        assert_eq!(
            (u64::from(img.width()), u64::from(img.height())),
            (w, h),
            "{c}"
        );
        let faces = images[i]["faces"].as_array().unwrap();
        for o in images[i]["objects"].as_array().unwrap() {
            let colour = class_colour(o["label"].as_str().unwrap(), o["class_id"].as_u64()).0;
            // A person box holding a face is left to the face box.
            let b: Vec<f64> = o["box"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let holds_face = o["label"] == "person"
                && faces.iter().any(|f| {
                    let fb: Vec<f64> = f["box"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_f64().unwrap())
                        .collect();
                    let (cx, cy) = (fb[0] + fb[2] / 2.0, fb[1] + fb[3] / 2.0);
                    cx >= b[0] && cx <= b[0] + b[2] && cy >= b[1] && cy <= b[1] + b[3]
                });
            // Boxes hidden under a bigger box's label may not show; every
            // box of these samples has a visible left edge.
            assert_eq!(edge_drawn(&img, &o["box"], colour), !holds_face, "{c}: {o}");
        }
        for f in images[i]["faces"].as_array().unwrap() {
            let colour = onlooker::report::annotate::FACE_COLOUR.0;
            assert!(edge_drawn(&img, &f["box"], colour), "{c}: {f}");
        }
    }
    // The phone picture is stored 576x768 and reported, and drawn, upright.
    assert_eq!(
        (images[3]["width"].as_u64(), images[3]["height"].as_u64()),
        (Some(768), Some(576))
    );
    assert!(images[3]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["label"] == "dog"));
    assert_eq!(images[0]["faces"].as_array().unwrap().len(), 1);
    assert!(images[4]["error"].is_string());

    // The CSV has one row per detection (text lines and tags included),
    // and parses back.
    let mut rdr = csv::Reader::from_path(out.join("detections.csv")).unwrap();
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        report_csv::COLUMNS.to_vec()
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let detections: usize = images
        .iter()
        .map(|i| {
            ["faces", "objects", "text", "tags"]
                .iter()
                .map(|k| i[*k].as_array().map_or(0, Vec::len))
                .sum::<usize>()
        })
        .sum();
    assert_eq!(rows.len(), detections);
    let astronaut_faces = rows
        .iter()
        .filter(|r| r[0].ends_with("astronaut.png") && &r[1] == "face")
        .count();
    assert_eq!(astronaut_faces, 1);
    assert!(rows
        .iter()
        .any(|r| r[0].ends_with("dog.jpg") && &r[2] == "dog"));

    // The page: every photo, its counts, the failure, no network anywhere.
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    for n in &names {
        assert!(page.contains(&format!("<bdi>{n}</bdi>")), "{n} in page");
    }
    for c in &copies {
        assert!(page.contains(&format!("src=\"images/{c}\"")), "{c} shown");
    }
    assert!(page.contains("1 face · 1 person"), "astronaut counts");
    assert!(page.contains("Could not be analysed"));
    for bad in [
        "http:", "https:", "<script", "<link", "@import", "url(", "//",
    ] {
        let hits: Vec<_> = page.match_indices(bad).collect();
        assert!(hits.is_empty(), "page contains {bad:?}");
    }
    // Nothing half-written is left behind.
    let stray: Vec<_> = snapshot(&out)
        .into_keys()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn a_non_empty_out_folder_needs_force_and_a_report_inside_the_inputs_is_not_analysed() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("photos");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(sample("astronaut.png"), input.join("astronaut.png")).unwrap();
    std::fs::copy(sample("grace_hopper.jpg"), input.join("grace_hopper.jpg")).unwrap();

    // --out inside an input folder is refused, --force or not.
    let inside = input.join("report");
    for force in [false, true] {
        let mut args = vec![os(&input), os("--out"), os(&inside)];
        if force {
            args.push(os("--force"));
        }
        let o = onlooker(&args);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("--out") && stderr.contains("inside, the input"),
            "{stderr}"
        );
        assert!(!input.join("report").exists(), "nothing written");
    }

    let out = d.path().join("report");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), b"mine").unwrap();
    let o = onlooker(&[os(&input), os("--out"), os(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("not empty") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(!out.join("index.html").exists(), "nothing written");

    let o = onlooker(&[os(&input), os("--out"), os(&out), os("--force")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read(out.join("keep.txt")).unwrap(),
        b"mine",
        "other files kept"
    );
    assert!(out.join("images/002-grace_hopper.jpg").is_file());
    let stdout = String::from_utf8_lossy(&o.stdout);
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        last.starts_with("report: ") && last.ends_with("index.html"),
        "{stdout}"
    );

    // An older report found among the inputs (as earlier versions could
    // write one there) is not analysed: its copies are not photos.
    std::fs::rename(&out, input.join("old-report")).unwrap();
    std::fs::remove_file(input.join("astronaut.png")).unwrap();
    let out = d.path().join("again");
    let o = onlooker(&[os(&input), os("--out"), os(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Its 2 annotated copies and the People section's 2 face thumbnails.
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("skipped 4 files inside onlooker report folders"));
    let doc = common::document_file(&out.join("report.json"));
    assert_eq!(doc["images"].as_array().unwrap().len(), 1, "{doc}");
    let copies: Vec<_> = std::fs::read_dir(out.join("images"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        copies,
        vec![std::ffi::OsString::from("001-grace_hopper.jpg")]
    );
}

#[test]
fn an_out_folder_holding_an_input_is_refused_even_with_force() {
    let d = tempfile::tempdir().unwrap();
    let photo = d.path().join("astronaut.png");
    std::fs::copy(sample("astronaut.png"), &photo).unwrap();
    let before = snapshot(d.path());
    let o = onlooker(&[os(&photo), os("--out"), os(d.path()), os("--force")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("contains the input"));
    assert_eq!(snapshot(d.path()), before);
}

#[test]
fn no_report_writes_no_folder() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let o = onlooker(&[
        os(&sample("astronaut.png")),
        os("--out"),
        os(&out),
        os("--no-report"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!out.exists());
}

/// Strings an attacker controls: file names, EXIF text, and whatever a
/// future stage copies from them.
const HOSTILE: [&str; 4] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(2)>",
    "' onmouseover='alert(3)",
    "</table></td><a href=\"http://evil.invalid\">x</a>",
];

/// The real analysis of the astronaut sample (one face with attributes, a
/// person), reported under `path`.
fn analysed_astronaut(path: &str) -> ImageResult {
    let rt = Runtime::load(&runtime::default_models_dir()).expect("run `make models` first");
    let mut analyzer = Analyzer::new(&rt, Options::default()).unwrap();
    let bytes = std::fs::read(sample("astronaut.png")).unwrap();
    let r = analyzer.analyze_bytes(Path::new(path), bytes);
    assert_eq!(r.error, None);
    assert_eq!(r.faces.len(), 1, "{:?}", r.faces);
    assert!(
        r.faces[0].attributes.gender.is_some(),
        "attributes computed"
    );
    assert!(!r.objects.is_empty());
    r
}

/// Real pipeline output with hostile text put where files and EXIF blocks
/// put text: the path, the EXIF fields, the findings drawn from them, and a
/// second image that failed.
fn hostile_results() -> (Vec<ImageResult>, Summary) {
    let mut r = analysed_astronaut(&format!("photos/{}.jpg", HOSTILE[0]));
    r.scene = HOSTILE[1].into();
    r.metadata.camera = Some(Camera {
        make: Some(HOSTILE[0].into()),
        model: Some(HOSTILE[1].into()),
        ..Default::default()
    });
    r.metadata.artist = Some(HOSTILE[2].into());
    r.metadata.warnings = vec![HOSTILE[3].into()];
    r.objects[0].label = HOSTILE[3];
    let failed = ImageResult {
        path: HOSTILE[1].into(),
        error: Some(HOSTILE[2].into()),
        ..Default::default()
    };
    let results = vec![r, failed];
    let mut summary = onlooker::stream::Tally::of(&results).summary(1.0);
    summary.findings.sentences.push(Sentence {
        kind: onlooker::result::FindingKind::Name,
        text: HOSTILE[0].into(),
        headline: HOSTILE[2].into(),
        evidence: vec![Evidence {
            image: HOSTILE[1].into(),
            fields: vec!["artist"],
        }],
    });
    summary.findings.devices.push(Device {
        name: HOSTILE[3].into(),
        make: Some(HOSTILE[0].into()),
        model: None,
        serial: Some(HOSTILE[2].into()),
        images: vec![HOSTILE[1].into()],
    });
    (results, summary)
}

#[test]
fn hostile_text_is_escaped_everywhere_in_the_page() {
    let (results, summary) = hostile_results();
    let copies = [
        Annotated::Written("images/001-x.jpg".into()),
        Annotated::Failed(HOSTILE[3].into()),
    ];
    let page = html::render(&results, &summary, &copies, None);
    // Every tag on the page is one the renderer writes, and none carries
    // anything from the document's hostile strings.
    let allowed = [
        "!DOCTYPE",
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "a",
        "header",
        "h1",
        "h2",
        "h3",
        "h4",
        "p",
        "nav",
        "ol",
        "ul",
        "li",
        "main",
        "section",
        "div",
        "table",
        "caption",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "dl",
        "dt",
        "dd",
        "article",
        "figure",
        "img",
        "figcaption",
        "footer",
        "strong",
        "span",
        "br",
        "bdi",
        "details",
        "summary",
        "pre",
    ];
    for tag in page
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap())
    {
        let name = tag
            .trim_start_matches('/')
            .split([' ', '\n'])
            .next()
            .unwrap();
        assert!(allowed.contains(&name), "unexpected tag <{tag}>");
        // Outside quoted values (escaped, so they cannot end early), only
        // attribute names the renderer uses.
        let mut quoted = false;
        let names: String = tag
            .chars()
            .filter(|c| {
                if *c == '"' {
                    quoted = !quoted;
                }
                !quoted && *c != '"'
            })
            .collect();
        for attr in names
            .split_whitespace()
            .skip(1)
            .filter(|_| name != "!DOCTYPE")
        {
            let attr = attr.split('=').next().unwrap();
            assert!(
                [
                    "lang",
                    "charset",
                    "name",
                    "content",
                    "http-equiv",
                    "class",
                    "href",
                    "id",
                    "aria-label",
                    "aria-labelledby",
                    "tabindex",
                    "scope",
                    "src",
                    "alt",
                    "width",
                    "height",
                    "style",
                    "loading",
                ]
                .contains(&attr),
                "unexpected attribute {attr:?} in <{tag}>"
            );
        }
    }
    // Each hostile string is on the page, as text.
    for h in HOSTILE {
        assert!(page.contains(&html::escape(h)), "{h:?} shown escaped");
    }
    // Still exactly one table per table opened: nothing closed early.
    assert_eq!(
        page.matches("<table").count(),
        page.matches("</table>").count()
    );
    assert_eq!(page.matches("<img ").count(), 1, "only the annotated copy");
}

#[test]
fn csv_quotes_hostile_names_and_parses_back() {
    let path = "a,b \"c\"\nd.jpg";
    let mut r = analysed_astronaut(path);
    r.objects[0].label = "=cmd|' /C calc'!A0";
    r.tags = vec![onlooker::result::Tag {
        name: "@SUM(1+1)".into(),
        confidence: 0.5,
    }];
    let failed = ImageResult {
        path: "broken.jpg".into(),
        error: Some("corrupt".into()),
        ..Default::default()
    };
    let bytes = report_csv::render(&[r.clone(), failed]).unwrap();
    let mut rdr = csv::Reader::from_reader(bytes.as_slice());
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.len(),
        r.faces.len() + r.objects.len() + r.tags.len(),
        "one row per detection and tag; the failed image has none"
    );
    assert_eq!(&rows[0][0], path);
    assert_eq!(&rows[0][1], "face");
    let attrs = &r.faces[0].attributes;
    assert_eq!(&rows[0][9], attrs.gender.as_ref().unwrap().label, "gender");
    assert_eq!(
        rows[0][8].parse::<f32>().unwrap(),
        attrs.age.unwrap().round(),
        "age"
    );
    assert_eq!(&rows[1][1], "object");
    assert_eq!(&rows[1][2], "'=cmd|' /C calc'!A0", "formula neutralised");
    let b = r.objects[0].bbox;
    let boxes: Vec<f32> = rows[1]
        .iter()
        .skip(4)
        .take(4)
        .map(|c| c.parse().unwrap())
        .collect();
    for (got, want) in boxes.iter().zip([b.x, b.y, b.w, b.h]) {
        assert!((got - want).abs() <= 0.05, "{boxes:?} vs {b:?}");
    }
    let tag = rows.last().unwrap();
    assert_eq!((&tag[1], &tag[2], &tag[3]), ("tag", "'@SUM(1+1)", "0.5000"));
    assert!(tag.iter().skip(4).all(str::is_empty), "a tag has no box");
    assert!(bytes.ends_with(b"\r\n"));
}

#[test]
fn atomic_writes_leave_the_old_file_or_the_new_one_and_no_temp() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("index.html");
    report::write_atomic(&p, b"old").unwrap();
    report::write_atomic(&p, b"new").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"new");
    // A rename that fails (the target is a non-empty folder) leaves the
    // target as it was and removes the temporary file.
    let dir_target = d.path().join("taken");
    std::fs::create_dir(&dir_target).unwrap();
    std::fs::write(dir_target.join("x"), b"x").unwrap();
    assert!(report::write_atomic(&dir_target, b"data").is_err());
    assert!(dir_target.join("x").is_file());
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // A missing parent folder is an error, not a panic.
    assert!(report::write_atomic(&d.path().join("no/such/dir/f"), b"x").is_err());
}

#[test]
fn the_report_folder_writer_copes_with_a_vanished_input() {
    // The annotated copy is made from the file again; if it is gone by
    // then, the page says so and everything else is written.
    let d = tempfile::tempdir().unwrap();
    let gone = d.path().join("gone.png");
    let r = analysed_astronaut(&gone.to_string_lossy());
    let summary = onlooker::stream::Tally::of([&r]).summary(1.0);
    let out = output::OutputDir::check(&d.path().join("out"), false, &[]).unwrap();
    let w = output::write(
        &out,
        std::slice::from_ref(&r),
        &summary,
        &[gone],
        &Default::default(),
        1,
    )
    .unwrap();
    assert!(matches!(&w.copies[0], Annotated::Failed(r) if r.contains("cannot read")));
    let page = std::fs::read_to_string(&w.index).unwrap();
    assert!(page.contains("No annotated copy"));
    let doc = common::document_file(&d.path().join("out/report.json"));
    assert_eq!(doc["images"][0]["faces"].as_array().map(Vec::len), Some(1));
    let csv = std::fs::read_to_string(d.path().join("out/detections.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 1 + r.objects.len() + r.tags.len());
    assert!(d.path().join("out").join(output::MARKER).is_file());
}
