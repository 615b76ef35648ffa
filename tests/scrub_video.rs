//! `onlooker scrub` on videos, with the real binary, models and ffmpeg:
//! the sample video's copy has faces covered on every frame (the `analyze`
//! video pipeline finds none in it, where it finds faces in the original),
//! no creation time, location or encoder string, no audio by default, and
//! the input is byte-identical; `--keep-audio` keeps a clip's sound and
//! still drops its tags; a truncated video and a missing ffmpeg are each
//! one error for that file while the rest of the run is scrubbed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use onlooker::batch::{Engine, Plan};
use onlooker::imageio::DecodeLimits;
use onlooker::pipeline::Options;
use onlooker::scrub;
use onlooker::video::{self, VideoOptions};
use onlooker::{runtime, Runtime};

fn sha256(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

fn report(dir: &Path) -> serde_json::Value {
    let path = dir.join(scrub::REPORT);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn entry<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["input"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no {name} in {r}"))
}

/// ffprobe's JSON for a file: format, streams.
fn ffprobe(path: &Path) -> serde_json::Value {
    let o = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json"])
        .args(["-show_format", "-show_streams", "-show_chapters"])
        .arg(path)
        .output()
        .expect("ffprobe (Debian package ffmpeg) must be installed");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Every tag of the file and of its streams, as `key=value`.
fn tags(p: &serde_json::Value) -> Vec<String> {
    let mut all = Vec::new();
    let streams = p["streams"].as_array().unwrap();
    for t in std::iter::once(&p["format"]["tags"]).chain(streams.iter().map(|s| &s["tags"])) {
        if let Some(t) = t.as_object() {
            all.extend(
                t.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap())),
            );
        }
    }
    all
}

fn stream_kinds(p: &serde_json::Value) -> Vec<String> {
    p["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_type"].as_str().unwrap().to_string())
        .collect()
}

/// No tag that says when, where, with what: only the muxer's structural
/// ones, and the encoder blank.
fn assert_no_identifying_tags(p: &serde_json::Value, what: &str) {
    for t in tags(p) {
        let (key, value) = t.split_once('=').unwrap();
        let allowed = match key {
            "major_brand" | "minor_version" | "compatible_brands" | "language" => true,
            "handler_name" => matches!(value, "VideoHandler" | "SoundHandler"),
            "vendor_id" => value == "[0][0][0][0]",
            "encoder" => value.trim().is_empty(),
            _ => false,
        };
        assert!(allowed, "{what}: tag {t}");
    }
    assert_eq!(p["chapters"].as_array().map_or(0, Vec::len), 0, "{what}");
}

#[test]
fn sample_video_copy_has_no_face_on_any_frame_no_metadata_and_no_audio() {
    let input = common::sample("video/people_cuts.mp4");
    let before = sha256(&input);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = common::onlooker()
        .args(["scrub".as_ref(), input.as_os_str(), "--out".as_ref()])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(sha256(&input), before, "the input changed");
    let line = stdout
        .lines()
        .find(|l| l.contains("people_cuts.mp4: "))
        .unwrap_or_else(|| panic!("no line for the video in:\n{stdout}"));
    assert!(line.contains(": 450 frames, faces on "), "{line}");
    assert!(
        line.contains("-> 0 faces, 0 text lines, metadata dropped"),
        "{line}"
    );

    let r = report(&out);
    let f = entry(&r, "people_cuts.mp4");
    let v = &f["video"];
    assert_eq!(f["written"], true, "{f}");
    assert_eq!(f["verification"]["passed"], true, "{f}");
    assert_eq!(f["verification"]["faces"], 0, "{f}");
    assert_eq!(v["frames"], 450, "{f}");
    assert_eq!(v["frame_rate"], 25.0, "{f}");
    assert_eq!(v["audio"], "none", "{f}");
    assert_eq!(v["verification_samples"], 36, "{f}");
    // Every frame of the sample shows a face (people_cuts.tsv).
    assert_eq!(v["frames_with_faces"], 450, "{f}");
    assert_eq!(v["frames_covered"], 450, "{f}");
    // Overlapping regions of neighbouring frames are merged: at least one
    // region a frame.
    assert!(v["face_regions_covered"].as_u64().unwrap() >= 450, "{f}");

    // The copy: every frame there, no tag that says when or where, no
    // encoder named anywhere in the bytes, no audio stream.
    let copy = out.join("people_cuts.mp4");
    let p = ffprobe(&copy);
    assert_eq!(stream_kinds(&p), ["video"]);
    assert_eq!(p["streams"][0]["nb_frames"], "450");
    assert_eq!(p["streams"][0]["width"], 640);
    assert_no_identifying_tags(&p, "copy");
    let bytes = std::fs::read(&copy).unwrap();
    for needle in [&b"x264"[..], b"Lavc", b"Lavf", b"creation_time"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the copy holds {:?}",
            String::from_utf8_lossy(needle)
        );
    }
    let leftovers: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // The analysis of videos itself, independently of the scrub code:
    // faces in the original, none in the copy.
    let rt = Runtime::load(&runtime::default_models_dir()).expect("run `make models` first");
    let engine = Engine::new(&rt, &Options::default(), Plan::new(2)).unwrap();
    let limits = DecodeLimits::default();
    let opts = VideoOptions::default();
    let original = video::analyze(&engine, &input, &opts, &limits).unwrap();
    assert!(original.tracks.len() >= 4, "{:?}", original.result);
    let again = video::analyze(&engine, &copy, &opts, &limits).unwrap();
    assert_eq!(again.result.error, None);
    assert_eq!(again.result.frames_analysed, 36);
    assert!(
        again.tracks.is_empty(),
        "faces in the copy: {:?}",
        again.tracks
    );
}

/// A 2 s clip with sound, a creation time and a location, made by ffmpeg.
fn clip(path: &Path) {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi"])
        .args(["-i", "smptebars=size=320x240:rate=25:duration=2"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=2"])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"])
        .args(["-metadata", "creation_time=2024-05-01T10:00:00Z"])
        .args(["-metadata", "location=+48.85+002.35/"])
        .args(["-movflags", "+faststart"])
        .arg(path)
        .output()
        .expect("ffmpeg (Debian package ffmpeg) must be installed");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn keep_audio_keeps_the_sound_without_tags_and_broken_videos_or_no_ffmpeg_cost_one_file() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let clip_path = inputs.join("clip.mp4");
    clip(&clip_path);
    let p = ffprobe(&clip_path);
    assert_eq!(stream_kinds(&p), ["video", "audio"]);
    assert!(tags(&p).iter().any(|t| t.starts_with("creation_time=")));
    assert!(tags(&p).iter().any(|t| t.starts_with("location=")));
    // The second half of a video cut off; a photo beside them.
    let bytes = std::fs::read(&clip_path).unwrap();
    std::fs::write(inputs.join("truncated.mp4"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::copy(common::sample("grace_hopper.jpg"), inputs.join("photo.jpg")).unwrap();

    let run = |out: &Path, extra: &[&str], env: Option<(&str, &str)>| {
        let mut c = common::onlooker();
        c.arg("scrub")
            .arg(&inputs)
            .arg("--out")
            .arg(out)
            .args(extra);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(1), "one input cannot be scrubbed");
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };

    let kept = tmp.path().join("kept");
    let (stdout, stderr) = run(&kept, &["--keep-audio"], None);
    let r = report(&kept);
    let f = entry(&r, "clip.mp4");
    assert_eq!(f["written"], true, "{f}");
    assert_eq!(f["verification"]["passed"], true, "{f}");
    assert_eq!(f["video"]["audio"], "kept", "{f}");
    assert_eq!(f["video"]["frames"], 50, "{f}");
    let found: Vec<&str> = f["found"]["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for word in ["creation time", "location"] {
        assert!(found.contains(&word), "{found:?}");
    }
    let p = ffprobe(&kept.join("clip.mp4"));
    assert_eq!(stream_kinds(&p), ["video", "audio"]);
    assert_no_identifying_tags(&p, "copy with --keep-audio");
    assert!(stdout.contains("metadata dropped, audio kept"), "{stdout}");
    // The truncated video: one error naming what is wrong, no copy; the
    // photo and the clip were scrubbed all the same.
    let t = entry(&r, "truncated.mp4");
    assert_eq!(t["written"], false);
    let e = t["error"].as_str().unwrap();
    assert!(
        e.contains("damaged or truncated video, no copy made"),
        "{e}"
    );
    assert!(
        stderr.contains("truncated.mp4: not scrubbed: damaged"),
        "{stderr}"
    );
    assert!(!kept.join("truncated.mp4").exists());
    assert_eq!(entry(&r, "photo.jpg")["written"], true);
    assert_eq!(r["summary"]["videos"], 2);

    // Without --keep-audio: no audio stream.
    let dropped = tmp.path().join("dropped");
    run(&dropped, &[], None);
    let r = report(&dropped);
    assert_eq!(entry(&r, "clip.mp4")["video"]["audio"], "dropped");
    let p = ffprobe(&dropped.join("clip.mp4"));
    assert_eq!(stream_kinds(&p), ["video"]);
    assert_no_identifying_tags(&p, "copy");

    // No ffmpeg: each video says which package to install; the photo is
    // still scrubbed.
    let none = tmp.path().join("none");
    let (_, stderr) = run(
        &none,
        &[],
        Some(("ONLOOKER_FFPROBE", "/nonexistent/ffprobe")),
    );
    let r = report(&none);
    let e = entry(&r, "clip.mp4")["error"].as_str().unwrap().to_string();
    assert!(e.contains("Debian package `ffmpeg`"), "{e}");
    assert!(
        stderr.contains("clip.mp4: not scrubbed: `ffprobe` not found"),
        "{stderr}"
    );
    assert_eq!(entry(&r, "photo.jpg")["written"], true);
    assert_eq!(r["summary"]["written"], 1);
}
