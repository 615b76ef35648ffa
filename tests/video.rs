//! Videos end to end with the real ffmpeg, real models and the binary:
//! a video made here from sample photos with known cuts (A 0-3 s, B 3-6 s,
//! A 6-9 s), the committed sample video against its truth, bad videos, a
//! missing ffmpeg, and no ffmpeg process left behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Sampling interval at the default 2 frames per second.
const INTERVAL: f64 = 0.5;

fn people(name: &str) -> PathBuf {
    common::samples().join("people").join(name)
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-y", "-v", "error"])
        .args(args)
        .output()
        .expect("ffmpeg is installed (Debian package ffmpeg)");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A 9 s video: `a` for 0-3 s, `b` for 3-6 s, `a2` for 6-9 s, each photo
/// fitted into 640x480.
fn make_cuts(out: &Path, a: &Path, b: &Path, a2: &Path) {
    let fit = "scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25";
    let graph = format!(
        "[0]{fit}[a];[1]{fit}[b];[2]{fit}[c];[a][b][c]concat=n=3:v=1:a=0,format=yuv420p[v]"
    );
    let (a, b, a2) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        a2.to_str().unwrap(),
    );
    ffmpeg(&[
        "-loop",
        "1",
        "-framerate",
        "25",
        "-t",
        "3",
        "-i",
        a,
        "-loop",
        "1",
        "-framerate",
        "25",
        "-t",
        "3",
        "-i",
        b,
        "-loop",
        "1",
        "-framerate",
        "25",
        "-t",
        "3",
        "-i",
        a2,
        "-filter_complex",
        &graph,
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-threads",
        "1",
        "-crf",
        "23",
        out.to_str().unwrap(),
    ]);
}

fn analyze(args: &[&std::ffi::OsStr], envs: &[(&str, &str)]) -> Output {
    let mut c = common::onlooker();
    c.arg("analyze")
        .args(args)
        .args(["--json", "-", "--threads", "2", "--no-attributes"]);
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn doc_of(o: &Output) -> Value {
    let doc = common::document(&o.stdout);
    common::assert_document(&doc);
    doc
}

fn video<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["videos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("{name} not among the videos: {doc}"))
}

fn ranges(p: &Value) -> Vec<(f64, f64)> {
    p["appearances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["start"].as_f64().unwrap(), r["end"].as_f64().unwrap()))
        .collect()
}

fn near(got: &[(f64, f64)], want: &[(f64, f64)]) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| (g.0 - w.0).abs() <= INTERVAL && (g.1 - w.1).abs() <= INTERVAL)
}

/// The person whose appearances match `want` within one sampling interval.
fn person_at(v: &Value, want: &[(f64, f64)]) -> u64 {
    let persons = v["persons"].as_array().unwrap();
    persons
        .iter()
        .find(|p| near(&ranges(p), want))
        .unwrap_or_else(|| {
            let all: Vec<_> = persons
                .iter()
                .map(|p| (p["id"].clone(), ranges(p)))
                .collect();
            panic!("nobody on screen at {want:?}; persons: {all:?}")
        })["id"]
        .as_u64()
        .unwrap()
}

/// ffmpeg or ffprobe processes whose command line mentions `dir`.
fn ffmpeg_processes_on(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let program = cmd.split(' ').next().unwrap_or("");
        if (program.ends_with("ffmpeg") || program.ends_with("ffprobe")) && cmd.contains(&needle) {
            found.push(cmd);
        }
    }
    found
}

#[test]
fn cuts_become_appearances_and_a_person_in_a_photo_and_a_video_is_one_id() {
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip.mp4");
    make_cuts(
        &clip,
        &people("obama_portrait_2012.jpg"),
        &people("biden_portrait_2013.jpg"),
        &people("obama_congress_2009.jpg"),
    );
    // The photo first in input order: its person id is 1.
    let photo = people("obama_portrait_2012.jpg");
    let o = analyze(&[photo.as_os_str(), clip.as_os_str()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = doc_of(&o);
    let v = video(&doc, "clip.mp4");
    assert_eq!(v["error"], Value::Null);
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(640), Some(480))
    );
    assert!(
        (v["duration_seconds"].as_f64().unwrap() - 9.0).abs() < 0.1,
        "{v}"
    );
    assert_eq!(v["frames_analysed"], 18);

    let a = person_at(v, &[(0.0, 3.0), (6.0, 9.0)]);
    let b = person_at(v, &[(3.0, 6.0)]);
    assert_ne!(a, b);
    let photo_person = doc["images"][0]["faces"][0]["person"].as_u64();
    assert_eq!(photo_person, Some(a), "A's photo and A in the video differ");
    assert_eq!(a, 1);
    let best = &v["persons"].as_array().unwrap()[0]["best_face"];
    assert!(best["frame_time"].as_f64().unwrap() < 9.0);
    assert_eq!(best["box"].as_array().unwrap().len(), 4);

    let sentences: Vec<&str> = doc["summary"]["findings"]["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let want =
        format!("Person {a} is on screen for 6 s in clip.mp4, from 0:00 to 0:09 in 2 appearances.");
    assert!(sentences.contains(&want.as_str()), "{sentences:?}");
    // The terminal timeline (stderr when the JSON goes to stdout).
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("person {b:<3} on screen 0:03-0:06")),
        "{err}"
    );
    assert!(ffmpeg_processes_on(d.path()).is_empty());
}

#[test]
fn the_sample_video_matches_its_truth() {
    let sample = common::samples().join("video/people_cuts.mp4");
    let meta = std::fs::metadata(&sample).unwrap();
    assert!(meta.len() <= 5_000_000);
    let out = tempfile::tempdir().unwrap();
    let o = analyze(
        &[
            sample.as_os_str(),
            "--no-text".as_ref(),
            "--out".as_ref(),
            out.path().as_os_str(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = doc_of(&o);
    let v = video(&doc, "people_cuts.mp4");
    // The report folder: the same document, and a timeline strip with one
    // lane per person and per object kind.
    let report = common::document_file(&out.path().join("report.json"));
    assert_eq!(report["videos"], doc["videos"]);
    let page = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    let lanes = |kind: &str| page.matches(&format!("class=\"lane lane-{kind}\"")).count();
    assert_eq!(lanes("person"), v["persons"].as_array().unwrap().len());
    assert_eq!(lanes("object"), v["objects"].as_array().unwrap().len());
    assert!(
        page.contains("title=\"0:03 to 0:06\""),
        "B's cut is on the strip"
    );
    assert!(v["duration_seconds"].as_f64().unwrap() <= 30.0);
    let truth = std::fs::read_to_string(common::samples().join("video/people_cuts.tsv")).unwrap();
    let mut spans: std::collections::BTreeMap<&str, Vec<(f64, f64)>> = Default::default();
    for line in truth.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        spans
            .entry(f[0])
            .or_default()
            .push((f[2].parse().unwrap(), f[3].parse().unwrap()));
    }
    assert_eq!(spans.len(), 4);
    let ids: std::collections::BTreeSet<u64> =
        spans.values().map(|want| person_at(v, want)).collect();
    assert_eq!(ids.len(), 4, "four people, four ids");
    let objects: Vec<&str> = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["label"].as_str().unwrap())
        .collect();
    assert!(objects.contains(&"person"), "{objects:?}");

    // Keyframes: each person's best face and each object kind's surest
    // sighting as a lane thumbnail, each linking to its annotated frame.
    assert_keyframes(out.path(), v, 2.0);

    // Again into the same folder, sampling at 1 frame per second: an
    // earlier report (keyframes included) is replaced without --force, and
    // the keyframes of the first run that this one did not make are gone.
    let o = analyze(
        &[
            sample.as_os_str(),
            "--no-text".as_ref(),
            "--fps".as_ref(),
            "1".as_ref(),
            "--out".as_ref(),
            out.path().as_os_str(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = doc_of(&o);
    let linked = assert_keyframes(out.path(), video(&doc, "people_cuts.mp4"), 1.0);
    let mut on_disk: Vec<String> = std::fs::read_dir(out.path().join("keyframes"))
        .unwrap()
        .map(|e| format!("keyframes/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, linked, "only this run's keyframes are left");
}

/// The report folder `out` holds the keyframes of video 1, `v`, sampled
/// at `fps`: real JPEGs (thumbnails of at most 160 px, annotated frames of
/// the video's size), each linked from the page. Returns the files linked.
fn assert_keyframes(out: &Path, v: &Value, fps: f64) -> Vec<String> {
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    let size = |file: &str| {
        let path = out.join(file);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(bytes.starts_with(&[0xFF, 0xD8]), "{file} is a JPEG");
        let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        (img.width(), img.height())
    };
    let frame_size = (
        v["width"].as_u64().unwrap() as u32,
        v["height"].as_u64().unwrap() as u32,
    );
    let mut linked = std::collections::BTreeSet::new();
    let persons = v["persons"].as_array().unwrap();
    let objects = v["objects"].as_array().unwrap();
    assert!(!persons.is_empty() && !objects.is_empty());
    let thumbs = persons
        .iter()
        .map(|p| format!("keyframes/v1-p{}.jpg", p["id"]))
        .chain((1..=objects.len()).map(|i| format!("keyframes/v1-o{i}.jpg")));
    for thumb in thumbs {
        let (w, h) = size(&thumb);
        assert!(w.max(h) == 160 && w.min(h) > 0, "{thumb}: {w}x{h}");
        assert!(
            page.contains(&format!("src=\"{thumb}\"")),
            "{thumb} on the page"
        );
        linked.insert(thumb);
    }
    // The best face's frame, annotated, linked from its lane.
    for p in persons {
        let t = p["best_face"]["frame_time"].as_f64().unwrap();
        let frame = format!("keyframes/v1-f{}.jpg", (t * fps).round());
        assert_eq!(size(&frame), frame_size, "{frame}");
        assert!(
            page.contains(&format!("href=\"{frame}\"")),
            "{frame} linked"
        );
    }
    for href in page.split("href=\"keyframes/").skip(1) {
        let file = &href[..href.find('"').unwrap()];
        let file = format!("keyframes/{file}");
        if file.contains("-f") {
            assert_eq!(size(&file), frame_size, "{file}");
        }
        linked.insert(file);
    }
    linked.into_iter().collect()
}

#[test]
fn bad_videos_are_reported_and_the_batch_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    let good = d.path().join("good.mp4");
    make_cuts(
        &good,
        &people("whitson_portrait.jpg"),
        &people("garan_portrait.jpg"),
        &people("whitson_portrait.jpg"),
    );
    let bytes = std::fs::read(&good).unwrap();
    // Named like nothing in particular: found by content in the folder.
    std::fs::write(dir.join("good.bin"), &bytes).unwrap();
    // moov at the end: cut in half, the index is gone.
    std::fs::write(dir.join("truncated.mp4"), &bytes[..bytes.len() / 2]).unwrap();
    let mut corrupt = bytes[..64].to_vec();
    corrupt.extend((0..40_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(dir.join("corrupt.mp4"), corrupt).unwrap();
    std::fs::write(dir.join("empty.mp4"), b"").unwrap();
    let audio = dir.join("audio.m4a");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=2",
        "-c:a",
        "aac",
        audio.to_str().unwrap(),
    ]);
    std::fs::copy(people("biden_portrait_2013.jpg"), dir.join("photo.jpg")).unwrap();

    let o = analyze(&[dir.as_os_str(), "--no-text".as_ref()], &[]);
    // Some inputs failed: exit 1, not 2, and the document is complete.
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc = doc_of(&o);
    assert_eq!(doc["images"].as_array().unwrap().len(), 1);
    assert_eq!(doc["images"][0]["faces"].as_array().unwrap().len(), 1);
    assert_eq!(
        doc["videos"].as_array().unwrap().len(),
        5,
        "{}",
        doc["videos"]
    );
    for (name, reason) in [
        ("truncated.mp4", "corrupt or unreadable video"),
        ("corrupt.mp4", "corrupt or unreadable video"),
        ("empty.mp4", "file is empty"),
        ("audio.m4a", "no video stream"),
    ] {
        let v = video(&doc, name);
        let e = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no error: {v}"));
        assert!(e.contains(reason), "{name}: {e}");
        assert_eq!(v["frames_analysed"], 0);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("{name}: video not analysed: {e}")),
            "{err}"
        );
    }
    let g = video(&doc, "good.bin");
    assert_eq!(g["error"], Value::Null);
    assert_eq!(g["frames_analysed"], 18);
    assert!(ffmpeg_processes_on(d.path()).is_empty());

    // Cut after the index (moov first): the frames before the cut are
    // analysed and the damage is reported.
    let faststart = d.path().join("faststart.mp4");
    ffmpeg(&[
        "-i",
        good.to_str().unwrap(),
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        faststart.to_str().unwrap(),
    ]);
    let fs = std::fs::read(&faststart).unwrap();
    let cut = d.path().join("cut.mp4");
    std::fs::write(&cut, &fs[..fs.len() / 2]).unwrap();
    let o = analyze(&[cut.as_os_str(), "--no-text".as_ref()], &[]);
    assert_eq!(o.status.code(), Some(1));
    let doc = doc_of(&o);
    let v = video(&doc, "cut.mp4");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("damaged or truncated"),
        "{v}"
    );
    let frames = v["frames_analysed"].as_u64().unwrap();
    assert!(frames > 0 && frames < 18, "{v}");

    // An absurd frame size is refused from ffprobe's description, before
    // any frame is decoded.
    let o = analyze(
        &[
            good.as_os_str(),
            "--no-text".as_ref(),
            "--max-pixels-side".as_ref(),
            "100".as_ref(),
        ],
        &[],
    );
    let doc = doc_of(&o);
    let e = video(&doc, "good.mp4")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(e.contains("640x480 pixels, over the limit of 100"), "{e}");
    assert!(ffmpeg_processes_on(d.path()).is_empty());
}

#[test]
fn a_missing_ffmpeg_is_one_clear_error_exit_2_and_the_images_are_still_analysed() {
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip.mp4");
    make_cuts(
        &clip,
        &people("garan_portrait.jpg"),
        &people("whitson_portrait.jpg"),
        &people("garan_portrait.jpg"),
    );
    let photo = people("whitson_portrait.jpg");
    for (var, program) in [
        ("ONLOOKER_FFPROBE", "ffprobe"),
        ("ONLOOKER_FFMPEG", "ffmpeg"),
    ] {
        let missing = d.path().join("no-such-dir").join(program);
        let o = analyze(
            &[clip.as_os_str(), photo.as_os_str(), "--no-text".as_ref()],
            &[(var, missing.to_str().unwrap())],
        );
        assert_eq!(o.status.code(), Some(2), "{var}");
        let err = String::from_utf8_lossy(&o.stderr);
        let line = format!("onlooker: videos not analysed: `{program}` not found");
        assert!(err.contains(&line), "{err}");
        assert!(err.contains("Debian package `ffmpeg`"), "{err}");
        let doc = doc_of(&o);
        assert_eq!(doc["images"][0]["faces"].as_array().unwrap().len(), 1);
        assert!(doc["images"][0]["error"].is_null());
        let e = video(&doc, "clip.mp4")["error"].as_str().unwrap();
        assert!(e.contains(&format!("`{program}` not found")), "{e}");
    }
}

#[test]
fn ffmpeg_dies_with_onlooker() {
    let d = tempfile::tempdir().unwrap();
    // Long enough to still be decoding when onlooker is stopped.
    let long = d.path().join("long.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x480:rate=25:duration=600",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-threads",
        "1",
        long.to_str().unwrap(),
    ]);
    let mut child = common::onlooker()
        .args([
            "analyze",
            "--json",
            "-",
            "--threads",
            "1",
            "--no-text",
            "--no-attributes",
        ])
        .arg(&long)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait (polling, no timing assertion) until its ffmpeg is running.
    let mut seen = false;
    for _ in 0..600 {
        if !ffmpeg_processes_on(d.path())
            .iter()
            .any(|c| c.contains("rawvideo"))
        {
            std::thread::sleep(std::time::Duration::from_millis(100));
            continue;
        }
        seen = true;
        break;
    }
    assert!(seen, "ffmpeg never started");
    // As Ctrl-C would: no destructor runs in onlooker.
    let pid = child.id() as libc::pid_t;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    child.wait().unwrap();
    let mut left = ffmpeg_processes_on(d.path());
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        left = ffmpeg_processes_on(d.path());
    }
    assert!(left.is_empty(), "left running: {left:?}");
}

/// Every sample of `video` decoded in one pass, and each again on its own
/// by seeking (as the report's keyframes are): the same pixels.
fn assert_seeking_finds_every_sample(video: &Path, fps: f64) {
    use onlooker::video::{decode, probe, sniff_path};
    let container = sniff_path(video).unwrap();
    let info = probe::probe(video, container, 4096, 1 << 30).unwrap();
    let mut all = decode::open(video, container, &info, fps).unwrap();
    let mut n = 0;
    while let Some((i, frame)) = all.next_frame().unwrap() {
        let again = decode::frame_at(video, container, &info, fps, i).unwrap();
        assert!(
            frame == again,
            "{}: sample {i} at {fps} fps differs when seeked",
            video.display()
        );
        n += 1;
    }
    all.finish().unwrap();
    assert!(n > 0);
    assert!(
        decode::frame_at(video, container, &info, fps, n).is_err(),
        "a sample past the end"
    );
}

#[test]
fn a_sample_seeked_again_is_the_frame_the_analysis_saw() {
    let d = tempfile::tempdir().unwrap();
    // Moving pictures at 25 and 29.97 frames per second, and a source
    // slower than the sampling (samples repeat frames).
    for (name, rate, fps) in [
        ("25.mp4", "25", 2.0),
        ("ntsc.mp4", "30000/1001", 3.0),
        ("slow.mp4", "1", 2.0),
    ] {
        let clip = d.path().join(name);
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size=160x120:rate={rate}:duration=4"),
            "-c:v",
            "libx264",
            "-g",
            "30",
            "-threads",
            "1",
            clip.to_str().unwrap(),
        ]);
        assert_seeking_finds_every_sample(&clip, fps);
    }
    assert_seeking_finds_every_sample(&common::samples().join("video/people_cuts.mp4"), 2.0);
}

#[test]
fn bench_measures_the_sample_video() {
    let sample = common::samples().join("video/people_cuts.mp4");
    let bench = |json: bool| {
        let mut c = common::onlooker();
        c.arg("bench").arg(&sample).args([
            "--quick",
            "--repeat",
            "1",
            "--threads",
            "2",
            "--fps",
            "2",
        ]);
        if json {
            c.arg("--json");
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o
    };
    let o = bench(true);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["images"], 0);
    let v = &r["video"];
    assert_eq!(v["videos"], 1);
    assert_eq!(v["failed"], 0);
    assert_eq!(v["sample_fps"], 2.0);
    assert!(v["frames"].as_u64().unwrap() > 0, "{v}");
    let rate = v["frames_per_second"].as_f64().unwrap();
    assert!(rate > 0.0, "{v}");
    assert!(v["real_time_factor"].as_f64().unwrap() > 0.0, "{v}");
    // The projection takes the measured video rate, not the photo rate.
    let a = &r["projection"]["assumptions"];
    assert_eq!(a["measured_video_frames_per_second"].as_f64(), Some(rate));
    let as_video = &r["projection"]["volumes"][0]["as_video"];
    let want = as_video["frames"].as_f64().unwrap() / rate;
    let got = as_video["seconds_one_machine"].as_f64().unwrap();
    assert!((got - want).abs() <= 1e-6 * want, "{got} vs {want}");

    let text = String::from_utf8(bench(false).stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("video:") && l.contains("real-time factor")),
        "{text}"
    );
    assert!(text.contains("frames/s (measured)"), "{text}");
}
