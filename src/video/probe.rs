//! What a video file is before any frame is decoded: its container sniffed
//! from the first bytes (not the name), and ffprobe's account of its first
//! video stream (size, frame rate, duration, rotation), read as typed JSON.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use super::tool::{self, Tool};
use super::VideoError;

/// Extensions a video is usually named with. Only used to collect such
/// files from folders (so an empty or broken `clip.mp4` is reported rather
/// than skipped); what a file is comes from its content.
pub const VIDEO_EXTENSIONS: &[&str] = &["mp4", "m4v", "mov", "mkv", "webm", "avi"];

/// A container recognised from the file's first bytes. Each maps to the
/// ffmpeg demuxer that is forced on it, so ffmpeg never guesses a format
/// (a playlist format could reference other files or URLs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// ISO base media (`ftyp` box at offset 4): MP4, MOV, M4V, 3GP.
    Mp4,
    /// EBML header: Matroska and WebM.
    Matroska,
    /// `RIFF....AVI `.
    Avi,
}

impl Container {
    /// The ffmpeg demuxer name.
    pub fn demuxer(self) -> &'static str {
        match self {
            Container::Mp4 => "mov",
            Container::Matroska => "matroska",
            Container::Avi => "avi",
        }
    }

    /// The container from a file's first 12 bytes or more.
    pub fn sniff(head: &[u8]) -> Option<Container> {
        if head.len() >= 8 && &head[4..8] == b"ftyp" {
            Some(Container::Mp4)
        } else if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
            Some(Container::Matroska)
        } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"AVI " {
            Some(Container::Avi)
        } else {
            None
        }
    }
}

/// The container of the file at `path`, reading only its first bytes, and
/// only when it is a regular file (a named pipe would block).
pub fn sniff_path(path: &Path) -> Option<Container> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut head = [0u8; 12];
    let mut file = std::fs::File::open(path).ok()?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return None,
        }
    }
    Container::sniff(&head[..n])
}

/// Whether the name ends in a usual video extension.
pub fn has_video_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The first video stream as ffprobe describes it, upright.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// The stream's index in the file (ffmpeg's `-map 0:INDEX`).
    pub index: u32,
    /// Size of the upright frames (after the rotation is applied).
    pub width: u32,
    pub height: u32,
    /// Clockwise rotation the player applies, 0, 90, 180 or 270.
    pub rotation: u32,
    /// Frames per second of the stream, when stated.
    pub frame_rate: Option<f64>,
    /// Seconds, from the stream or else the container; 0 when unknown.
    pub duration_seconds: f64,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    format: Option<ProbeFormat>,
}

#[derive(Deserialize)]
struct ProbeStream {
    #[serde(default)]
    index: u32,
    codec_type: Option<String>,
    // Wider than u32: an absurd header is reported as such, not as bad JSON.
    width: Option<u64>,
    height: Option<u64>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    duration: Option<String>,
    tags: Option<ProbeTags>,
    #[serde(default)]
    side_data_list: Vec<ProbeSideData>,
    disposition: Option<ProbeDisposition>,
}

#[derive(Deserialize)]
struct ProbeTags {
    rotate: Option<String>,
}

#[derive(Deserialize)]
struct ProbeSideData {
    rotation: Option<f64>,
}

#[derive(Deserialize)]
struct ProbeDisposition {
    #[serde(default)]
    attached_pic: u8,
}

#[derive(Deserialize)]
struct ProbeFormat {
    duration: Option<String>,
}

/// Runs ffprobe on `path` (demuxer forced to `container`'s, local files
/// only) and describes its first video stream, refusing sizes over
/// `max_side` or frames over `max_frame_bytes` before anything is decoded.
pub fn probe(
    path: &Path,
    container: Container,
    max_side: u32,
    max_frame_bytes: u64,
) -> Result<StreamInfo, VideoError> {
    let parsed: Probe = ffprobe_json(path, container, &[])?;
    describe(parsed, max_side, max_frame_bytes)
}

/// ffprobe's JSON description of `path` (`-show_format -show_streams` and
/// `extra`), the demuxer forced to `container`'s, local files only.
fn ffprobe_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    container: Container,
    extra: &[&str],
) -> Result<T, VideoError> {
    let base = [
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-f",
        container.demuxer(),
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
    ];
    let mut args: Vec<&std::ffi::OsStr> = base.iter().chain(extra).map(|a| a.as_ref()).collect();
    let url = tool::file_url(path);
    args.extend(["-i".as_ref(), url.as_os_str()]);
    let out = tool::output(Tool::Ffprobe, &args)?;
    if !out.status.success() {
        return Err(VideoError::Unreadable(tool::first_lines(&out.stderr)));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| VideoError::Unreadable(format!("ffprobe's description is not valid: {e}")))
}

fn describe(p: Probe, max_side: u32, max_frame_bytes: u64) -> Result<StreamInfo, VideoError> {
    let stream = p
        .streams
        .iter()
        .find(|s| {
            s.codec_type.as_deref() == Some("video")
                && s.disposition.as_ref().is_none_or(|d| d.attached_pic == 0)
        })
        .ok_or(VideoError::NoVideoStream)?;
    let (w, h) = (stream.width.unwrap_or(0), stream.height.unwrap_or(0));
    if w == 0 || h == 0 {
        return Err(VideoError::NoFrameSize);
    }
    let rotation = rotation(stream);
    let (w, h) = if rotation % 180 == 90 { (h, w) } else { (w, h) };
    let frame_bytes = w.saturating_mul(h).saturating_mul(3);
    if w > u64::from(max_side) || h > u64::from(max_side) || frame_bytes > max_frame_bytes {
        return Err(VideoError::TooLarge {
            width: w,
            height: h,
            max_side,
            max_frame_mib: max_frame_bytes >> 20,
        });
    }
    let seconds = |s: &Option<String>| {
        s.as_deref()
            .and_then(|d| d.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d > 0.0)
    };
    let duration_seconds = seconds(&stream.duration)
        .or_else(|| p.format.as_ref().and_then(|f| seconds(&f.duration)))
        .unwrap_or(0.0);
    let frame_rate = [&stream.avg_frame_rate, &stream.r_frame_rate]
        .into_iter()
        .find_map(|r| ratio(r.as_deref()?));
    Ok(StreamInfo {
        index: stream.index,
        width: w as u32,
        height: h as u32,
        rotation,
        frame_rate,
        duration_seconds,
    })
}

/// Clockwise degrees to turn the stored frames upright: ffprobe reports
/// the display matrix's counter-clockwise angle (`-90` for a phone held
/// upright) and older files a `rotate` tag (clockwise).
fn rotation(s: &ProbeStream) -> u32 {
    let degrees = s
        .side_data_list
        .iter()
        .find_map(|d| d.rotation)
        .map(|r| -r)
        .or_else(|| s.tags.as_ref()?.rotate.as_deref()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    if !degrees.is_finite() {
        return 0;
    }
    let quarter = (degrees / 90.0).round() as i64;
    (quarter.rem_euclid(4) * 90) as u32
}

/// `"30000/1001"` as a number; `None` for `0/0` and other nonsense.
fn ratio(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let v = n.trim().parse::<f64>().ok()? / d.trim().parse::<f64>().ok()?;
    (v.is_finite() && v > 0.0).then_some(v)
}

/// Everything of a file's container that is not pixels or sound, as
/// ffprobe lists it: tags of the file and of each stream, the kinds of
/// stream, chapters. What `scrub` reports of an original and checks is
/// gone from its copy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerTags {
    /// `(where, key, value)`: where is `format` or `stream N (kind)`.
    pub tags: Vec<(String, String, String)>,
    /// Each stream's kind (`video`, `audio`, `data`, `subtitle`, ...).
    pub streams: Vec<String>,
    pub chapters: usize,
}

#[derive(Deserialize)]
struct TagsProbe {
    #[serde(default)]
    streams: Vec<TagsStream>,
    format: Option<TagsOf>,
    #[serde(default)]
    chapters: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct TagsStream {
    #[serde(default)]
    index: u32,
    codec_type: Option<String>,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct TagsOf {
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
}

/// Runs ffprobe on `path` for its tags, streams and chapters.
pub fn container_tags(path: &Path, container: Container) -> Result<ContainerTags, VideoError> {
    let p: TagsProbe = ffprobe_json(path, container, &["-show_chapters"])?;
    Ok(tags_of(p))
}

fn tags_of(p: TagsProbe) -> ContainerTags {
    let mut t = ContainerTags {
        chapters: p.chapters.len(),
        ..Default::default()
    };
    for (k, v) in p.format.map(|f| f.tags).unwrap_or_default() {
        t.tags.push(("format".into(), k, v));
    }
    for s in p.streams {
        let kind = s.codec_type.unwrap_or_else(|| "unknown".into());
        for (k, v) in s.tags {
            t.tags.push((format!("stream {} ({kind})", s.index), k, v));
        }
        t.streams.push(kind);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<StreamInfo, VideoError> {
        describe(serde_json::from_str(json).unwrap(), 20_000, 1 << 30)
    }

    #[test]
    fn containers_are_sniffed_from_content() {
        assert_eq!(
            Container::sniff(b"\0\0\0\x20ftypisom\0\0"),
            Some(Container::Mp4)
        );
        assert_eq!(
            Container::sniff(&[0x1A, 0x45, 0xDF, 0xA3, 1, 0, 0, 0]),
            Some(Container::Matroska)
        );
        assert_eq!(
            Container::sniff(b"RIFF\x10\0\0\0AVI LIST"),
            Some(Container::Avi)
        );
        assert_eq!(Container::sniff(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(Container::sniff(b"\xFF\xD8\xFF\xE0"), None);
        assert_eq!(Container::sniff(b""), None);
    }

    #[test]
    fn a_rotated_phone_video_is_described_upright() {
        let info = parse(
            r#"{"streams":[{"codec_type":"audio"},{"codec_type":"video","width":1920,"height":1080,
            "avg_frame_rate":"30000/1001","r_frame_rate":"30/1","duration":"12.5",
            "side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]}],
            "format":{"duration":"13.0"}}"#,
        )
        .unwrap();
        assert_eq!((info.width, info.height, info.rotation), (1080, 1920, 90));
        assert!((info.frame_rate.unwrap() - 29.97).abs() < 0.01);
        assert_eq!(info.duration_seconds, 12.5);
        let tagged = parse(
            r#"{"streams":[{"codec_type":"video","width":640,"height":480,"tags":{"rotate":"270"},
            "avg_frame_rate":"0/0","r_frame_rate":"25/1"}],"format":{"duration":"3.0"}}"#,
        )
        .unwrap();
        assert_eq!((tagged.width, tagged.rotation), (480, 270));
        assert_eq!(tagged.frame_rate, Some(25.0));
        assert_eq!(tagged.duration_seconds, 3.0);
    }

    #[test]
    fn container_tags_list_file_and_stream_tags() {
        let p: TagsProbe = serde_json::from_str(
            r#"{"streams":[{"index":0,"codec_type":"video","tags":{"encoder":"Lavc"}},
            {"index":1,"codec_type":"data"}],"chapters":[{"id":0}],
            "format":{"tags":{"creation_time":"2024-01-01T00:00:00Z"}}}"#,
        )
        .unwrap();
        let t = tags_of(p);
        assert_eq!(t.streams, ["video", "data"]);
        assert_eq!(t.chapters, 1);
        assert_eq!(
            t.tags,
            [
                (
                    "format".into(),
                    "creation_time".into(),
                    "2024-01-01T00:00:00Z".into()
                ),
                ("stream 0 (video)".into(), "encoder".into(), "Lavc".into()),
            ]
        );
    }

    #[test]
    fn missing_streams_and_absurd_sizes_are_refused() {
        assert!(matches!(
            parse(r#"{"streams":[{"codec_type":"audio"}],"format":{}}"#),
            Err(VideoError::NoVideoStream)
        ));
        assert!(matches!(
            parse(
                r#"{"streams":[{"codec_type":"video","disposition":{"attached_pic":1},"width":5,"height":5}]}"#
            ),
            Err(VideoError::NoVideoStream)
        ));
        assert!(matches!(
            parse(r#"{"streams":[{"codec_type":"video","width":0,"height":480}]}"#),
            Err(VideoError::NoFrameSize)
        ));
        let e = parse(r#"{"streams":[{"codec_type":"video","width":4000000000,"height":2}]}"#)
            .unwrap_err();
        assert!(matches!(e, VideoError::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("4000000000x2"), "{e}");
    }
}
