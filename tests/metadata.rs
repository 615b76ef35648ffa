//! Metadata and batch findings on the real sample files: the darknet
//! photos' real camera EXIF, the synthetic "day out" series written by
//! `scripts/day_out.rs`, and a JPEG whose EXIF segment is garbage (analysed
//! by the real models all the same).

mod common;
use common::{onlooker, samples};

use std::path::Path;

use onlooker::exif::{self, Metadata};
use onlooker::imageio::{self, DecodeLimits};
use onlooker::result::Findings;
use onlooker::{runtime, Analyzer, ImageResult, Options, Runtime};

#[path = "../scripts/day_out.rs"]
#[allow(dead_code)]
mod day_out;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(samples().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn meta(name: &str) -> Metadata {
    exif::read(&read(name))
}

fn camera(m: &Metadata) -> (&str, &str) {
    let c = m.camera.as_ref().expect("camera");
    (c.make.as_deref().unwrap(), c.model.as_deref().unwrap())
}

#[test]
fn darknet_samples_give_their_real_camera_and_date() {
    let dog = meta("dog.jpg");
    assert_eq!(camera(&dog), ("Canon", "Canon PowerShot S95"));
    assert_eq!(dog.taken_at.unwrap().to_string(), "2014-09-19T16:08:30");
    assert_eq!(dog.utc_offset, None, "the file records no offset");
    assert_eq!(dog.software.as_deref(), Some("Photos 1.0"));
    assert_eq!(dog.orientation, Some(1));
    assert_eq!(dog.description, None, "an all-spaces description is absent");
    assert_eq!(dog.gps, None);
    assert_eq!(dog.error, None);

    // Make and Model are space-padded in these files.
    for (name, when) in [
        ("person.jpg", "2013-04-13T14:59:36"),
        ("horses.jpg", "2013-04-13T15:02:50"),
        ("eagle.jpg", "2013-07-19T21:57:42"),
    ] {
        let m = meta(name);
        assert_eq!(camera(&m), ("PENTAX", "PENTAX K-5"), "{name}");
        assert_eq!(m.taken_at.unwrap().to_string(), when, "{name}");
        assert_eq!(m.camera.as_ref().unwrap().serial, None, "{name}");
        assert_eq!((m.gps.is_none(), m.error.is_none()), (true, true), "{name}");
    }

    // Photoshop's DateTime is when the file was edited, not a capture time.
    let solvay = meta("solvay_1927.jpg");
    assert_eq!(solvay.taken_at, None);
    assert_eq!(
        solvay.modified_at.unwrap().to_string(),
        "2006-03-16T00:45:29"
    );
    assert_eq!(
        solvay.software.as_deref(),
        Some("Adobe Photoshop CS2 Windows")
    );
    assert_eq!(solvay.camera, None);

    // chelsea.png's orientation is in XMP only (no eXIf chunk), which the
    // EXIF reader does not claim to read.
    for name in ["giraffe.jpg", "coffee.png", "newton.png", "chelsea.png"] {
        assert!(meta(name).is_empty(), "{name} has no EXIF");
    }
}

#[test]
fn day_out_files_are_the_scripts_output_with_the_source_pixels() {
    let d = tempfile::tempdir().unwrap();
    let written = day_out::generate(&samples(), d.path()).unwrap();
    assert_eq!(written.len(), day_out::SHOTS.len());
    let limits = DecodeLimits::default();
    for shot in &day_out::SHOTS {
        let fresh = std::fs::read(d.path().join(shot.file)).unwrap();
        let committed = read(&format!("day_out/{}", shot.file));
        assert!(
            fresh == committed,
            "samples/day_out/{} differs from what scripts/day_out.rs writes: \
             run `cargo run --release --example day_out`",
            shot.file
        );
        let copy = imageio::decode(committed, &limits).unwrap();
        let source = imageio::decode(read(shot.source), &limits).unwrap();
        assert!(
            copy.rgb == source.rgb,
            "{} pixels differ from {}",
            shot.file,
            shot.source
        );
    }
}

#[test]
fn day_out_gives_back_the_positions_times_and_device_written() {
    let mut results: Vec<ImageResult> = Vec::new();
    for shot in &day_out::SHOTS {
        let m = meta(&format!("day_out/{}", shot.file));
        assert_eq!(m.error, None, "{}", shot.file);
        assert!(m.warnings.is_empty(), "{}: {:?}", shot.file, m.warnings);
        let g = m.gps.as_ref().expect("gps");
        assert!(
            (g.latitude.unwrap() - shot.latitude).abs() < 1e-5,
            "{}",
            shot.file
        );
        assert!(
            (g.longitude.unwrap() - shot.longitude).abs() < 1e-5,
            "{}",
            shot.file
        );
        assert!((g.altitude.unwrap() - shot.altitude).abs() < 0.05);
        let (h, mi, s) = shot.time;
        let t = m.taken_at.unwrap();
        assert_eq!(
            t.to_string(),
            format!("2026-05-01T{h:02}:{mi:02}:{s:02}+02:00")
        );
        assert_eq!(
            g.time.as_deref(),
            Some(format!("2026-05-01T{:02}:{mi:02}:{s:02}Z", h - 2).as_str())
        );
        assert_eq!(m.utc_offset.as_deref(), Some("+02:00"));
        let c = m.camera.as_ref().unwrap();
        assert_eq!(c.name().unwrap(), "FUJIFILM X100V");
        assert_eq!(c.serial.as_deref(), Some(day_out::SERIAL));
        assert_eq!(m.owner.as_deref(), Some(day_out::OWNER));
        assert!(m.description.as_deref().unwrap().starts_with("Synthetic"));
        results.push(ImageResult {
            path: shot.file.into(),
            metadata: m,
            ..Default::default()
        });
    }

    // Given in reverse, the timeline still follows the clock.
    results.reverse();
    let f = Findings::of(&results);
    let order: Vec<&str> = f.timeline.iter().map(|e| e.image.as_str()).collect();
    let expected: Vec<&str> = day_out::SHOTS.iter().map(|s| s.file).collect();
    assert_eq!(order, expected);

    // Zoo and lake are one place; the other three stops are their own.
    assert_eq!(f.places.len(), 4, "{:#?}", f.places);
    assert_eq!(f.places[2].images, ["DSCF0431.jpg", "DSCF0437.jpg"]);
    assert_eq!(f.devices.len(), 1);
    assert_eq!(f.devices[0].images.len(), 5);
    let day = &f.sentences[0];
    assert!(
        day.text.starts_with(
            "5 photos on 2026-05-01 between 08:05 and 18:39 (UTC+02:00), all within 2.6 km of"
        ),
        "{}",
        day.text
    );
    assert!(
        day.text
            .ends_with("taken with one FUJIFILM X100V (serial SYNTH-0501)."),
        "{}",
        day.text
    );
    assert_eq!(day.evidence.len(), 5);
    assert!(day
        .evidence
        .iter()
        .all(|e| e.fields.contains(&"camera.serial")));
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[test]
fn a_png_exif_chunk_is_read_too() {
    // coffee.png with the first day-out shot's EXIF block as an eXIf chunk
    // after IHDR (8-byte signature + 25-byte IHDR chunk).
    let png = read("coffee.png");
    let tiff = day_out::exif_block(&day_out::SHOTS[0]).unwrap();
    let mut chunk = (tiff.len() as u32).to_be_bytes().to_vec();
    let mut body = b"eXIf".to_vec();
    body.extend_from_slice(&tiff);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    let mut bytes = png[..33].to_vec();
    bytes.extend_from_slice(&chunk);
    bytes.extend_from_slice(&png[33..]);

    let m = exif::read(&bytes);
    assert_eq!(m.error, None);
    let (lat, lon) = m.position().unwrap();
    assert!((lat - day_out::SHOTS[0].latitude).abs() < 1e-5);
    assert!((lon - day_out::SHOTS[0].longitude).abs() < 1e-5);
    assert_eq!(m.camera.unwrap().serial.as_deref(), Some(day_out::SERIAL));
    // And the file still decodes to the same pixels.
    let limits = DecodeLimits::default();
    assert!(
        imageio::decode(bytes, &limits).unwrap().rgb == imageio::decode(png, &limits).unwrap().rgb
    );
}

/// `jpeg` with an extra APP1 "Exif" segment right after SOI.
fn with_app1(jpeg: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn garbage_in_the_exif_segment_never_blocks_the_pixel_analysis() {
    let rt = Runtime::load(&runtime::default_models_dir()).expect("run `make models` first");
    let mut analyzer = Analyzer::new(&rt, Options::default()).unwrap();

    // Grace Hopper's portrait (no EXIF of its own) with a garbage block.
    let mut garbage = b"Exif\0\0".to_vec();
    garbage.extend((0..400u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let bytes = with_app1(&read("grace_hopper.jpg"), &garbage);
    let r = analyzer.analyze_bytes(Path::new("garbled_hopper.jpg"), bytes);
    assert_eq!(r.error, None);
    assert_eq!(r.faces.len(), 1, "{:?}", r.faces);
    assert_eq!(r.people, 1);
    let e = r
        .metadata
        .error
        .as_deref()
        .expect("metadata error recorded");
    assert!(e.contains("EXIF"), "{e}");
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["metadata"]["error"], e);

    // A valid TIFF header pointing into nowhere: also recorded, not fatal.
    let mut broken = b"Exif\0\0MM\0*\xff\xff\xff\x00".to_vec();
    broken.extend_from_slice(&[0xAB; 64]);
    let bytes = with_app1(&read("person.jpg"), &broken);
    let r = analyzer.analyze_bytes(Path::new("garbled_person.jpg"), bytes);
    assert_eq!(r.error, None);
    assert_eq!(r.object_counts.get("person"), Some(&1));
    assert_eq!(r.object_counts.get("horse"), Some(&1));
    let e = r
        .metadata
        .error
        .as_deref()
        .expect("metadata error recorded");
    assert!(e.starts_with("EXIF block unreadable"), "{e}");
}

#[test]
fn the_cli_prints_the_timeline_and_findings_and_puts_them_in_the_json() {
    let out = onlooker()
        .args(["analyze", "--no-report", "--threads", "2", "--json", "-"])
        .arg(samples().join("day_out"))
        .arg(samples().join("dog.jpg"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for needle in [
        "timeline:",
        "2014-09-19 16:08:30",
        "2026-05-01 08:05:12 +02:00",
        "places:",
        "devices:",
        "FUJIFILM X100V (serial SYNTH-0501): 5 photos",
        "what an onlooker learns:",
        "- 5 photos on 2026-05-01 between 08:05 and 18:39",
    ] {
        assert!(
            stderr.contains(needle),
            "{needle:?} missing from:\n{stderr}"
        );
    }
    let v = common::document(&out.stdout);
    let f = &v["summary"]["findings"];
    assert_eq!(f["timeline"].as_array().unwrap().len(), 6);
    assert!(f["timeline"][0]["image"]
        .as_str()
        .unwrap()
        .ends_with("dog.jpg"));
    assert_eq!(f["places"].as_array().unwrap().len(), 4);
    assert_eq!(f["devices"].as_array().unwrap().len(), 2);
    assert!(f["sentences"][0]["evidence"][0]["fields"].is_array());
    let dog = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with("/dog.jpg"))
        .unwrap();
    assert_eq!(dog["metadata"]["camera"]["model"], "Canon PowerShot S95");
    assert_eq!(dog["metadata"]["taken_at"], "2014-09-19T16:08:30");
    let first = &v["images"][0]["metadata"];
    assert!(first["gps"]["latitude"].is_f64());
    assert!(first["gps"]["longitude"].is_f64());
}

#[test]
fn streaming_without_a_document_still_prints_the_findings_and_caveats() {
    // No --json and no report: results are not kept, yet the summary must
    // not claim the files give nothing away.
    let out = onlooker()
        .args(["analyze", "--no-report", "--threads", "2"])
        .arg(samples().join("day_out"))
        .arg(samples().join("astronaut.png"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    for needle in [
        "timeline:",
        "FUJIFILM X100V (serial SYNTH-0501): 5 photos",
        "- 5 photos on 2026-05-01 between 08:05 and 18:39",
        "Microsoft, Azure Face",
    ] {
        assert!(
            stdout.contains(needle),
            "{needle:?} missing from:\n{stdout}"
        );
    }
    assert!(!stdout.contains("no capture time, position or camera"));
}
