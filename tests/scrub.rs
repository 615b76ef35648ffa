//! `onlooker scrub` end to end with the real binary, models and samples:
//! every copy passes its own verification, which the test repeats with the
//! library (faces, metadata blocks), inputs stay byte-identical, metadata
//! planted in a PNG and a JPEG is gone, a photo stored sideways is copied
//! upright, a truncated file is reported while the run goes on, nothing is
//! overwritten without --force, a copy failing a check is not written, and
//! --keep-faces, --keep-text and --keep-icc leave what they name.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use onlooker::pipeline::{Analyzer, Options};
use onlooker::scrub::{self, container};
use onlooker::{exif, runtime, Runtime};

fn hashes(root: &Path) -> BTreeMap<PathBuf, String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let bytes = std::fs::read(e.path()).unwrap();
            (
                e.path().to_path_buf(),
                format!("{:x}", Sha256::digest(&bytes)),
            )
        })
        .collect()
}

fn report(dir: &Path) -> serde_json::Value {
    let path = dir.join(scrub::REPORT);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn run(args: &[&Path]) -> std::process::Output {
    common::onlooker().arg("scrub").args(args).output().unwrap()
}

#[test]
fn samples_scrubbed_copies_pass_verification_and_inputs_are_untouched() {
    let samples = common::samples();
    let before = hashes(&samples);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("scrubbed");
    let o = run(&[&samples, Path::new("--out"), &dir]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(hashes(&samples), before, "an input changed");

    let r = report(&dir);
    let all = r["files"].as_array().unwrap();
    // The sample video is scrubbed too (tests/scrub_video.rs checks the
    // copy itself).
    let (videos, files): (Vec<_>, Vec<_>) = all
        .iter()
        .partition(|f| f["input"].as_str().unwrap().ends_with(".mp4"));
    assert_eq!(videos.len(), 1, "{videos:?}");
    assert_eq!(videos[0]["written"], true, "{}", videos[0]);
    assert_eq!(videos[0]["verification"]["passed"], true, "{}", videos[0]);
    assert_eq!(videos[0]["video"]["frames"], 450, "{}", videos[0]);
    assert!(dir.join("video/people_cuts.mp4").is_file());
    assert_eq!(r["summary"]["videos"], 1);
    assert!(
        stdout.contains("people_cuts.mp4: 450 frames, faces on "),
        "{stdout}"
    );
    assert!(files.len() >= 30, "{} files", files.len());
    for f in &files {
        assert_eq!(f["written"], true, "{f}");
        assert_eq!(f["verification"]["passed"], true, "{f}");
        assert_eq!(f["verification"]["faces"], 0, "{f}");
    }
    assert_eq!(r["summary"]["written"], all.len());
    // The page: one section per file, each verified, the heading saying so.
    let page = std::fs::read_to_string(dir.join(scrub::page::PAGE)).unwrap();
    assert!(
        page.contains(&format!(
            "<h1>All {} copies give nothing away that onlooker can find</h1>",
            all.len()
        )),
        "{page}"
    );
    assert_eq!(
        page.matches("<article class=\"file pass\"").count(),
        all.len()
    );
    assert!(!page.contains("Needs attention"));
    // Copies get the mode any new file gets here (0666 less the umask),
    // not a temporary file's 0600.
    {
        use std::os::unix::fs::PermissionsExt;
        let probe = out.path().join("probe");
        std::fs::File::create(&probe).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for copy in ["solvay_1927.jpg", "video/people_cuts.mp4", scrub::REPORT] {
            assert_eq!(mode(&dir.join(copy)), mode(&probe), "{copy}");
        }
    }
    assert!(page.contains("<video src=\"video/people_cuts.mp4\""));

    // The checks again, independently of the scrub code: the full
    // pipeline at its defaults on each written copy finds no face, and the
    // bytes carry no metadata block or EXIF field.
    let rt = Runtime::load(&runtime::default_models_dir()).expect("run `make models` first");
    let mut analyzer = Analyzer::new(&rt, Options::default()).unwrap();
    let solvay = dir.join("solvay_1927.jpg");
    let original = analyzer.analyze_path(&samples.join("solvay_1927.jpg"));
    assert!(
        original.faces.len() >= 29,
        "{} faces in the original",
        original.faces.len()
    );
    let copy = analyzer.analyze_path(&solvay);
    assert_eq!(copy.error, None);
    assert_eq!(
        copy.faces.len(),
        0,
        "faces left in the Solvay copy: {:?}",
        copy.faces.iter().map(|f| f.bbox).collect::<Vec<_>>()
    );
    let solvay_entry = files
        .iter()
        .find(|f| f["input"].as_str().unwrap().ends_with("solvay_1927.jpg"))
        .unwrap();
    assert!(
        solvay_entry["removed"]["face_regions"]
            .as_array()
            .unwrap()
            .len()
            >= 29
    );

    let day_out = samples.join("day_out");
    let mut seen = 0;
    for e in std::fs::read_dir(&day_out).unwrap() {
        let path = e.unwrap().path();
        let original = exif::read(&std::fs::read(&path).unwrap());
        assert!(
            original.position().is_some() && original.taken_at.is_some(),
            "{}: the sample lost its metadata",
            path.display()
        );
        assert!(original.camera.is_some() && original.owner.is_some());
        let copy_path = dir.join("day_out").join(path.file_name().unwrap());
        let bytes = std::fs::read(&copy_path).unwrap();
        let m = exif::read(&bytes);
        assert!(m.is_empty(), "{}: {m:?}", copy_path.display());
        assert_eq!(container::blocks(&bytes), vec![], "{}", copy_path.display());
        seen += 1;
    }
    assert_eq!(seen, 5);
    // Before -> after, the faces before counted as the analysis counts
    // them (the covered ones from the lower threshold on).
    let line = stdout
        .lines()
        .find(|l| l.contains("solvay_1927.jpg: "))
        .unwrap_or_else(|| panic!("no Solvay line in:\n{stdout}"));
    let regions = solvay_entry["removed"]["face_regions"]
        .as_array()
        .unwrap()
        .len();
    for part in [
        format!(": {} faces, ", original.faces.len()),
        format!("-> 0 faces, no metadata ({regions} face regions covered, written to "),
    ] {
        assert!(line.contains(&part), "{part:?} not in {line}");
    }
}

/// A minimal APP1 segment holding an Exif TIFF block (big-endian) with a
/// single IFD0 entry: Orientation (0x0112), SHORT, 1 value.
fn exif_orientation_segment(orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08"); // header, IFD0 at offset 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padded to 4 bytes
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut seg = vec![0xff, 0xe1];
    seg.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    seg.extend_from_slice(b"Exif\0\0");
    seg.extend_from_slice(&tiff);
    seg
}

/// A photo with a face, re-encoded with the blocks a phone or an editor
/// leaves: XMP and IPTC in a JPEG, a tEXt chunk in a PNG.
fn planted(dir: &Path) {
    let img = common::load("astronaut.png");
    let (w, h) = img.dimensions();
    let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><dc:creator>Planted Owner</dc:creator></x:xmpmeta>";
    let iptc = b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x11\x1c\x02\x50\0\x0dPlanted Owner\0";
    let mut jpeg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 90);
    enc.add_app_segment(1, xmp.to_vec()).unwrap();
    enc.add_app_segment(13, iptc.to_vec()).unwrap();
    enc.encode(
        img.as_raw(),
        w as u16,
        h as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .unwrap();
    assert_eq!(
        container::blocks(&jpeg),
        vec![container::Block::Xmp, container::Block::Iptc]
    );
    std::fs::write(dir.join("planted.jpg"), &jpeg).unwrap();

    let mut png = Vec::new();
    let mut enc = png::Encoder::new(&mut png, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.add_text_chunk("Author".into(), "Planted Owner".into())
        .unwrap();
    enc.write_header()
        .unwrap()
        .write_image_data(img.as_raw())
        .unwrap();
    assert_eq!(container::blocks(&png), vec![container::Block::TextChunk]);
    std::fs::write(dir.join("planted.png"), &png).unwrap();

    // Stored sideways with EXIF orientation 6 (shown turned 90 degrees
    // clockwise): the copy must be upright without the tag.
    let upright = common::load("grace_hopper.jpg");
    let stored = image::imageops::rotate270(&upright);
    let mut sideways = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut sideways, 95)
        .encode_image(&stored)
        .unwrap();
    let mut tagged = sideways[..2].to_vec();
    tagged.extend(exif_orientation_segment(6));
    tagged.extend_from_slice(&sideways[2..]);
    assert_eq!(exif::read(&tagged).orientation, Some(6));
    std::fs::write(dir.join("sideways.jpg"), &tagged).unwrap();

    // Hostile: a PNG cut off after 5000 bytes (the JPEG decoder accepts a
    // truncated JPEG, filling the rest grey: scrubbed like any photo).
    let whole = std::fs::read(common::sample("coffee.png")).unwrap();
    std::fs::write(dir.join("truncated.png"), &whole[..5000]).unwrap();
}

#[test]
fn planted_metadata_is_gone_a_truncated_file_is_reported_and_nothing_is_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    planted(&inputs);
    let before = hashes(&inputs);
    let dir = tmp.path().join("out");

    let o = run(&[&inputs, Path::new("--out"), &dir]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("truncated.png: not scrubbed"), "{stderr}");
    assert_eq!(hashes(&inputs), before, "an input changed");

    let r = report(&dir);
    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len(), 4);
    for name in ["planted.jpg", "planted.png"] {
        let f = files
            .iter()
            .find(|f| f["input"].as_str().unwrap().ends_with(name))
            .unwrap();
        assert_eq!(f["written"], true, "{f}");
        assert!(f["found"]["faces"].as_u64().unwrap() >= 1, "{f}");
        assert!(!f["found"]["blocks"].as_array().unwrap().is_empty(), "{f}");
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(container::blocks(&bytes), vec![], "{name}");
        assert!(exif::read(&bytes).is_empty(), "{name}");
        for needle in [&b"Planted Owner"[..], b"tEXt", b"8BIM", b"adobe"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{name} holds {:?}",
                String::from_utf8_lossy(needle)
            );
        }
    }
    // The sideways photo: copied upright, the pixels outside the covered
    // regions those of the upright photo (two JPEG encodings apart).
    let copy = std::fs::read(dir.join("sideways.jpg")).unwrap();
    assert!(exif::read(&copy).is_empty());
    let copy = image::load_from_memory(&copy).unwrap().to_rgb8();
    let upright = common::load("grace_hopper.jpg");
    assert_eq!(copy.dimensions(), upright.dimensions());
    let entry = files
        .iter()
        .find(|f| f["input"].as_str().unwrap().ends_with("sideways.jpg"))
        .unwrap();
    assert_eq!(entry["written"], true, "{entry}");
    let regions: Vec<[f64; 4]> = ["face_regions", "text_regions"]
        .iter()
        .flat_map(|k| entry["removed"][k].as_array().unwrap())
        .map(|b| [0, 1, 2, 3].map(|i| b[i].as_f64().unwrap()))
        .collect();
    assert!(!regions.is_empty(), "{entry}");
    let covered = |x: u32, y: u32| {
        let (x, y) = (f64::from(x), f64::from(y));
        regions
            .iter()
            .any(|r| x >= r[0] && x < r[0] + r[2] && y >= r[1] && y < r[1] + r[3])
    };
    let (mut sum, mut n) = (0u64, 0u64);
    for (x, y, p) in copy.enumerate_pixels() {
        if !covered(x, y) {
            let q = upright.get_pixel(x, y);
            sum += (0..3).map(|c| u64::from(p[c].abs_diff(q[c]))).sum::<u64>();
            n += 3;
        }
    }
    let mean = sum as f64 / n as f64;
    assert!(
        mean < 4.0,
        "mean difference {mean:.2} from the upright photo"
    );

    let bad = files
        .iter()
        .find(|f| f["input"].as_str().unwrap().ends_with("truncated.png"))
        .unwrap();
    assert_eq!(bad["written"], false);
    assert!(
        bad["error"].as_str().unwrap().contains("truncated"),
        "{bad}"
    );
    assert!(!dir.join("truncated.png").exists());
    let page = std::fs::read_to_string(dir.join(scrub::page::PAGE)).unwrap();
    let attention = &page[page
        .find("Needs attention")
        .expect("a needs-attention list")..];
    let attention = &attention[..attention.find("</ul>").unwrap()];
    assert!(
        attention.contains("truncated.png</bdi></a>: not scrubbed"),
        "{attention}"
    );
    assert!(page.contains("<article class=\"file fail\""));

    // Again into the same folder: refused before anything is written.
    let copies = hashes(&dir);
    let o = run(&[&inputs, Path::new("--out"), &dir]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(hashes(&dir), copies);
    // With --force it is replaced.
    let o = common::onlooker()
        .args(["scrub", "--force", "--out"])
        .args([&dir, &inputs])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(dir.join("planted.png").exists());

    // An --out that is an input, lies inside one or holds one is refused.
    for (out, why) in [
        (inputs.clone(), "that is, or is inside, the input"),
        (inputs.join("copies"), "that is, or is inside, the input"),
        (tmp.path().to_path_buf(), "it holds the input"),
    ] {
        let o = run(&[&inputs, Path::new("--out"), &out]);
        assert_eq!(o.status.code(), Some(2), "{}", out.display());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(why), "{}: {stderr}", out.display());
    }
    assert!(!inputs.join("copies").exists());
    assert_eq!(hashes(&inputs), before);
}

/// The keep options each leave what they name, and only that: the faces
/// and text of a photo that has both, and its colour profile, byte for
/// byte; its EXIF block still goes.
#[test]
fn keep_faces_text_and_icc_leave_them_in_the_copy() {
    let photo = common::sample("people/garan_cupola_2011.jpg");
    let original = std::fs::read(&photo).unwrap();
    let icc = container::icc_profile(&original).expect("the sample has a colour profile");
    assert!(container::blocks(&original).contains(&container::Block::Exif));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("kept");
    let o = common::onlooker()
        .args([
            "scrub",
            "--keep-faces",
            "--keep-text",
            "--keep-icc",
            "--out",
        ])
        .args([&dir, &photo])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("no metadata, ICC profile kept (written to "),
        "{stdout}"
    );

    let r = report(&dir);
    assert!(r.get("faces").is_none(), "{r}");
    assert_eq!(
        (&r["text_covered"], &r["icc_kept"]),
        (&false.into(), &true.into())
    );
    let f = &r["files"][0];
    assert_eq!(f["removed"]["face_regions"], serde_json::json!([]), "{f}");
    assert_eq!(f["removed"]["text_regions"], serde_json::json!([]), "{f}");
    let removed: Vec<&str> = f["removed"]["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        removed.contains(&"EXIF block") && !removed.contains(&"ICC profile"),
        "{removed:?}"
    );
    let v = &f["verification"];
    assert_eq!(v["passed"], true, "{f}");
    assert!(f["found"]["faces"].as_u64().unwrap() >= 1, "{f}");
    assert_eq!(v["faces"], f["found"]["faces"], "{f}");
    assert!(f["found"]["text_lines"].as_u64().unwrap() >= 1, "{f}");
    assert!(v["text_lines"].as_u64().unwrap() >= 1, "{f}");

    let copy = std::fs::read(dir.join("garan_cupola_2011.jpg")).unwrap();
    assert_eq!(container::blocks(&copy), vec![container::Block::IccProfile]);
    assert_eq!(container::icc_profile(&copy), Some(icc));
    assert!(exif::read(&copy).is_empty());
}

/// `samples/text/street.jpg` is the sample whose first covering leaves
/// text readable at the edge of a covered line (the samples run needs two
/// rounds for it): with one round allowed, its copy fails a real check.
#[test]
fn a_copy_failing_a_check_is_reported_with_check_and_region_and_not_written() {
    let rt = Runtime::load(&runtime::default_models_dir()).expect("run `make models` first");
    let tmp = tempfile::tempdir().unwrap();
    let street = common::sample("text/street.jpg");
    let config = |out: &str| scrub::ScrubConfig {
        rounds: 1,
        ..scrub::ScrubConfig::new(vec![street.clone()], tmp.path().join(out))
    };

    let cfg = config("one-round");
    let r = scrub::scrub(&rt, &cfg, |_| {}).unwrap();
    let f = &r.files[0];
    let v = f.verification.as_ref().unwrap();
    assert!(!v.passed && !f.written && f.error.is_none(), "{f:?}");
    assert_eq!(v.rounds, 1);
    assert!(!v.failures.is_empty());
    for x in &v.failures {
        assert_eq!(x.check, scrub::Check::TextReadable, "{x:?}");
        let region = x.region.expect("a text failure names its region");
        assert!(
            f.removed.text_regions.iter().any(|t| region.x < t.x + t.w
                && t.x < region.x + region.w
                && region.y < t.y + t.h
                && t.y < region.y + region.h),
            "{region:?} is not where text was covered: {:?}",
            f.removed.text_regions
        );
    }
    assert!(!cfg.out.join("street.jpg").exists());
    assert_eq!(
        (
            r.summary.written,
            r.summary.failed_verification,
            r.summary.errors
        ),
        (0, 1, 0)
    );
    let line = scrub::summary_line(f);
    assert!(
        line.contains("NOT written, verification failed: text_readable: text ")
            && line.contains(" at ["),
        "{line}"
    );

    // --write-failed: the same copy is written, still reported as failed.
    let cfg = scrub::ScrubConfig {
        write_failed: true,
        ..config("write-failed")
    };
    let r = scrub::scrub(&rt, &cfg, |_| {}).unwrap();
    let f = &r.files[0];
    assert!(
        f.written && !f.verification.as_ref().unwrap().passed,
        "{f:?}"
    );
    assert!(cfg.out.join("street.jpg").exists());
    assert_eq!((r.summary.written, r.summary.failed_verification), (1, 1));
    assert!(scrub::summary_line(f).contains("although verification failed"));
    // The page outlines where the check failed, on the original.
    let page = std::fs::read_to_string(cfg.out.join(scrub::page::PAGE)).unwrap();
    assert!(
        page.contains("written although it failed a check (--write-failed)"),
        "{page}"
    );
    assert!(page.contains("<rect class=\"r-failed\""));
    assert!(page.contains("<li class=\"no\">"));

    // With the default rounds the second covers what the first left.
    let cfg = scrub::ScrubConfig::new(vec![street.clone()], tmp.path().join("default"));
    let r = scrub::scrub(&rt, &cfg, |_| {}).unwrap();
    let f = &r.files[0];
    let v = f.verification.as_ref().unwrap();
    assert!(v.passed && f.written, "{f:?}");
    assert_eq!(v.rounds, 2);
}

#[test]
fn committed_scrub_schema_is_the_generated_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/scrub-report.schema.json");
    let generated = serde_json::to_string_pretty(&scrub::schema()).unwrap() + "\n";
    if std::env::var_os("ONLOOKER_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        committed == generated,
        "regenerate with: ONLOOKER_WRITE_SCHEMA=1 cargo test --release --test scrub"
    );
}
