//! `onlooker find` with the real detector and identity model on the
//! identity samples (`samples/people`, faces labelled in `labels.tsv`):
//! each person's other photos rank above everyone else, the JSON has the
//! documented shape, a reference without one clear face is refused, and
//! `--out` writes the faces side by side.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

fn people() -> PathBuf {
    common::sample("people")
}

fn find(args: &[&std::ffi::OsStr]) -> Output {
    common::onlooker()
        .arg("find")
        .args(args)
        .args(["--threads", "2"])
        .output()
        .unwrap()
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn find_json(reference: &Path, extra: &[&str]) -> Value {
    let folder = people();
    let mut args: Vec<&std::ffi::OsStr> = vec![reference.as_os_str(), folder.as_os_str()];
    args.extend(extra.iter().map(|s| os(s)));
    args.extend([os("--json"), os("-"), os("--quiet")]);
    let o = find(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let x0 = a[0].max(b[0]);
    let y0 = a[1].max(b[1]);
    let x1 = (a[0] + a[2]).min(b[0] + b[2]);
    let y1 = (a[1] + a[3]).min(b[1] + b[3]);
    let i = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    i / (a[2] * a[3] + b[2] * b[3] - i)
}

fn bbox(v: &Value) -> [f64; 4] {
    let a: Vec<f64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    [a[0], a[1], a[2], a[3]]
}

/// (file, person, box) of every named face in `labels.tsv`.
fn labels() -> Vec<(String, String, [f64; 4])> {
    let text = std::fs::read_to_string(people().join("labels.tsv")).unwrap();
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        for (name, b) in cols[1].split(", ").zip(cols[5].split(" ; ")) {
            let v: Vec<f64> = b.split(',').map(|v| v.trim().parse().unwrap()).collect();
            out.push((cols[0].into(), name.into(), [v[0], v[1], v[2], v[3]]));
        }
    }
    out
}

/// The labelled person of a face (file name and box), if it is one.
fn who(labels: &[(String, String, [f64; 4])], path: &str, b: [f64; 4]) -> Option<String> {
    labels
        .iter()
        .find(|(f, _, lb)| path.ends_with(f.as_str()) && iou(*lb, b) > 0.5)
        .map(|(_, n, _)| n.clone())
}

#[test]
fn each_persons_other_photos_rank_above_everyone_else() {
    let labels = labels();
    // One-face portraits as references: no --face needed.
    for (portrait, name) in [
        ("obama_portrait_2012.jpg", "Barack Obama"),
        ("biden_portrait_2013.jpg", "Joe Biden"),
        ("garan_portrait.jpg", "Ron Garan"),
        ("whitson_portrait.jpg", "Peggy Whitson"),
    ] {
        let doc = find_json(&people().join(portrait), &[]);
        let matches = doc["matches"].as_array().unwrap();
        let kinds: Vec<(bool, f64)> = matches
            .iter()
            .map(|m| {
                let person = who(&labels, m["path"].as_str().unwrap(), bbox(&m["box"]));
                (
                    person.as_deref() == Some(name),
                    m["similarity"].as_f64().unwrap(),
                )
            })
            .collect();
        // Every other labelled face of the person is found ...
        let expected = labels
            .iter()
            .filter(|(f, n, _)| n == name && f != portrait)
            .count();
        assert!(expected >= 1, "{name}");
        let found = kinds.iter().filter(|k| k.0).count();
        assert_eq!(found, expected, "{name}: {matches:?}");
        // ... and ranks above every other face listed.
        let last_genuine = kinds.iter().rposition(|k| k.0).unwrap();
        assert!(
            kinds[..=last_genuine].iter().all(|k| k.0),
            "{name}: someone else ranks among the genuine matches: {matches:?}"
        );
        // The reference face itself is not its own match.
        assert!(
            !matches
                .iter()
                .any(|m| m["path"].as_str().unwrap().ends_with(portrait)),
            "{name}: {matches:?}"
        );
    }
}

#[test]
fn the_json_has_the_documented_shape_sorted_highest_first() {
    let reference = people().join("obama_portrait_2012.jpg");
    let doc = find_json(&reference, &[]);
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&doc), ["matches", "reference", "version"]);
    assert_eq!(doc["version"], 1);
    assert_eq!(keys(&doc["reference"]), ["box", "path"]);
    assert_eq!(
        doc["reference"]["path"],
        reference.to_string_lossy().as_ref()
    );
    let ref_box = bbox(&doc["reference"]["box"]);
    assert!(
        iou(ref_box, [377.0, 74.0, 227.0, 357.0]) > 0.8,
        "{ref_box:?}"
    );
    let matches = doc["matches"].as_array().unwrap();
    assert!(matches.len() >= 3, "{matches:?}");
    let mut last = f64::INFINITY;
    for m in matches {
        assert_eq!(keys(m), ["box", "path", "similarity", "verdict"]);
        let s = m["similarity"].as_f64().unwrap();
        assert!(s <= last, "not sorted: {matches:?}");
        last = s;
        let verdict = m["verdict"].as_str().unwrap();
        let want = if s >= 0.5 {
            "very likely same person"
        } else {
            assert!(s >= 0.35, "listed under the possible threshold: {m}");
            "possibly same person"
        };
        assert_eq!(verdict, want, "{m}");
        assert_eq!(bbox(&m["box"]).len(), 4);
    }
    // The file is the same document as stdout.
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("find.json");
    let o = find(&[
        reference.as_os_str(),
        people().as_os_str(),
        os("--json"),
        file.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let from_file: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(from_file, doc);
    // With the JSON in a file, the terminal shows the ranked list.
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("1. 0."), "{out}");
    assert!(out.contains("very likely same person"), "{out}");
}

#[test]
fn a_reference_without_one_clear_face_is_refused() {
    // No face at all.
    let o = find(&[common::sample("dog.jpg").as_os_str(), people().as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("dog.jpg: no face found"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
    // Several faces without --face: refused, listing them.
    let group = people().join("obama_iss_call_2010.jpg");
    let o = find(&[group.as_os_str(), people().as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("faces found; choose one with --face N"), "{e}");
    assert!(e.contains("face 1:") && e.contains("face 2:"), "{e}");
    // --face out of range.
    let o = find(&[
        group.as_os_str(),
        people().as_os_str(),
        os("--face"),
        os("99"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--face 99"), "{}", stderr(&o));
    // --face N is the N-th face listed: the one listed at Obama's place
    // (the largest face, centre) finds his portraits.
    let obama = [930.0, 363.0, 192.0, 261.0];
    let listed: Vec<(String, [f64; 4])> = e
        .lines()
        .filter_map(|l| {
            let (n, rest) = l.trim().strip_prefix("face ")?.split_once(':')?;
            let nums: Vec<f64> = rest
                .split_once('[')?
                .1
                .trim_end_matches(']')
                .split(',')
                .map(|v| v.trim().parse().ok())
                .collect::<Option<_>>()?;
            Some((n.to_string(), [nums[0], nums[1], nums[2], nums[3]]))
        })
        .collect();
    assert_eq!(listed.len(), 7, "{e}");
    let (n, _) = listed
        .iter()
        .find(|(_, b)| iou(*b, obama) > 0.5)
        .unwrap_or_else(|| panic!("Obama's face is not listed: {e}"));
    let doc = find_json(&group, &["--face", n]);
    assert!(iou(bbox(&doc["reference"]["box"]), obama) > 0.5);
    let first = doc["matches"][0]["path"].as_str().unwrap();
    assert!(first.contains("obama_"), "{doc}");
}

#[test]
fn out_writes_the_faces_side_by_side_and_is_never_inside_an_input() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("found");
    let reference = people().join("biden_portrait_2013.jpg");
    let o = find(&[
        reference.as_os_str(),
        people().as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--quiet"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let n = doc["matches"].as_array().unwrap().len();
    assert!(n >= 1, "{doc}");
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    let imgs: Vec<&str> = page.split("<img src=\"").skip(1).collect();
    // The reference once on its own, then beside each match.
    assert_eq!(imgs.len(), 1 + 2 * n, "{page}");
    for i in imgs {
        let src = &i[..i.find('"').unwrap()];
        let thumb = image::open(out.join(src)).unwrap();
        assert!(thumb.width().max(thumb.height()) == 160, "{src}");
    }
    assert!(page.contains("very likely same person"));
    assert!(!page.contains("http://") && !page.contains("https://"));
    // Running again replaces the earlier report.
    let again = find(&[
        reference.as_os_str(),
        people().as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--quiet"),
    ]);
    assert!(again.status.success(), "{}", stderr(&again));
    // Never on or inside an input.
    let inside = people().join("found");
    let o = find(&[
        reference.as_os_str(),
        people().as_os_str(),
        os("--out"),
        inside.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("inside, the input"), "{}", stderr(&o));
    assert!(!inside.exists());
}
