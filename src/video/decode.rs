//! Frames out of ffmpeg: one child process per video, sampling with
//! ffmpeg's own `fps` filter, turning upright (ffmpeg applies the stream's
//! rotation), scaled to exactly the size ffprobe promised, and written as
//! raw RGB24 to a pipe, never to files. Memory is one frame at a time here;
//! the caller bounds how many are in flight.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{ChildStdout, Stdio};
use std::thread::JoinHandle;

use image::RgbImage;

use super::probe::{Container, StreamInfo};
use super::tool::{self, ChildGuard, Tool};
use super::VideoError;

/// A running ffmpeg and its frames.
pub struct Frames {
    // Field order: the pipe closes before the guard kills and reaps.
    stdout: ChildStdout,
    stderr: Option<JoinHandle<Vec<u8>>>,
    guard: ChildGuard,
    width: u32,
    height: u32,
    frame_bytes: usize,
    next: u64,
}

/// Starts decoding the stream `info` describes, `fps` frames per second of
/// footage.
pub fn open(
    path: &Path,
    container: Container,
    info: &StreamInfo,
    fps: f64,
) -> Result<Frames, VideoError> {
    start(path, container, info, Some(fps), None)
}

/// Starts decoding every frame of the stream `info` describes (no `fps`
/// filter: ffmpeg's constant-rate output at the stream's own rate, which
/// for a constant-rate file is each stored frame once), upright. What
/// `scrub` covers: a face must be covered on every frame, not on samples.
pub fn open_every(
    path: &Path,
    container: Container,
    info: &StreamInfo,
) -> Result<Frames, VideoError> {
    start(path, container, info, None, None)
}

/// Sample `index` (at `fps`) of the video again, the very frame the
/// analysis saw: ffmpeg seeks (`-ss`) to [`SEEK_BACK`] samples before it,
/// runs the same `fps` filter from there and this keeps the last of the
/// frames it was asked for. Used for the report's keyframes; one short
/// child process per frame, killed and reaped when done.
pub fn frame_at(
    path: &Path,
    container: Container,
    info: &StreamInfo,
    fps: f64,
    index: u64,
) -> Result<RgbImage, VideoError> {
    let from = index.saturating_sub(SEEK_BACK);
    let mut frames = start(
        path,
        container,
        info,
        Some(fps),
        Some((from, index - from + 1)),
    )?;
    let mut last = None;
    while let Some((_, frame)) = frames.next_frame()? {
        last = Some(frame);
    }
    let count = frames.next;
    match frames.finish() {
        // ffmpeg's complaints about a damaged stretch: the analysis read
        // its frames through the same complaints.
        Ok(()) | Err(VideoError::Damaged(_)) => {}
        Err(e) => return Err(e),
    }
    match last {
        Some(frame) if count == index - from + 1 => Ok(frame),
        _ => Err(VideoError::Decode(format!(
            "sample {index} is past the end of the video"
        ))),
    }
}

/// How many samples before the wanted one [`frame_at`] seeks to. ffmpeg's
/// `fps` filter shows at each sample the last source frame nearer to it
/// than to the next sample; seeking exactly to a sample's time would lose
/// the frames just before it, which a sample repeats when the source has
/// fewer frames than the sampling rate.
pub const SEEK_BACK: u64 = 2;

/// ffmpeg decoding the stream, `fps` samples per second (every frame with
/// `None`); with `part` `(first, count)`, only `count` samples from sample
/// `first` (seeking).
fn start(
    path: &Path,
    container: Container,
    info: &StreamInfo,
    fps: Option<f64>,
    part: Option<(u64, u64)>,
) -> Result<Frames, VideoError> {
    let url = tool::file_url(path);
    let map = format!("0:{}", info.index);
    // `start_time=0`: sample k is the frame shown at k / fps from the start
    // of the stream, also after a seek (ffmpeg then counts from the seek
    // point, which is a whole number of samples).
    let scale = format!("scale={}:{}", info.width, info.height);
    let filter = match fps {
        Some(fps) => format!("fps={fps}:start_time=0,{scale}"),
        None => scale,
    };
    let (seek, count) = match (part, fps) {
        (Some((first, count)), Some(fps)) => (
            Some(format!("{}", first as f64 / fps)),
            Some(count.to_string()),
        ),
        _ => (None, None),
    };
    let os = OsStr::new;
    let mut args: Vec<&OsStr> = [
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        "file",
        "-f",
        container.demuxer(),
    ]
    .map(os)
    .to_vec();
    if let Some(seek) = &seek {
        args.extend([os("-ss"), os(seek)]);
    }
    args.extend([os("-i"), url.as_os_str()]);
    args.extend(["-map", &map, "-vf", &filter, "-an", "-sn", "-dn"].map(os));
    if let Some(count) = &count {
        args.extend([os("-frames:v"), os(count)]);
    }
    args.extend(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"].map(os));
    let mut guard = Tool::Ffmpeg.spawn(&args, Stdio::piped())?;
    let child = guard.child();
    let stdout = child.stdout.take().ok_or_else(|| VideoError::Start {
        program: "ffmpeg",
        reason: "no output pipe".into(),
    })?;
    let stderr = tool::drain(child.stderr.take());
    Ok(Frames {
        stdout,
        stderr,
        guard,
        width: info.width,
        height: info.height,
        frame_bytes: info.width as usize * info.height as usize * 3,
        next: 0,
    })
}

impl Frames {
    /// The next sampled frame and its index (time = index / fps), or `None`
    /// at the end of the stream.
    pub fn next_frame(&mut self) -> Result<Option<(u64, RgbImage)>, VideoError> {
        let mut buf = vec![0u8; self.frame_bytes];
        let mut filled = 0;
        while filled < buf.len() {
            match self.stdout.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(VideoError::Pipe(e.to_string())),
            }
        }
        if filled == 0 {
            return Ok(None);
        }
        if filled < buf.len() {
            return Err(VideoError::Decode(format!(
                "ffmpeg stopped in the middle of frame {}",
                self.next
            )));
        }
        let image = RgbImage::from_raw(self.width, self.height, buf)
            .ok_or_else(|| VideoError::Decode("frame of the wrong size".into()))?;
        let index = self.next;
        self.next += 1;
        Ok(Some((index, image)))
    }

    /// Waits for ffmpeg to exit; what it complained about, if anything.
    /// A clean exit with errors on its way (a damaged stretch it skipped, a
    /// truncated file) is reported too.
    pub fn finish(self) -> Result<(), VideoError> {
        let Frames {
            stdout,
            stderr,
            guard,
            ..
        } = self;
        drop(stdout);
        let status = guard
            .wait()
            .map_err(|e| VideoError::Decode(format!("cannot wait for ffmpeg: {e}")))?;
        let messages = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
        if !status.success() {
            return Err(VideoError::Decode(format!(
                "ffmpeg failed ({status}): {}",
                tool::first_lines(&messages)
            )));
        }
        if !messages.iter().all(u8::is_ascii_whitespace) {
            return Err(VideoError::Damaged(tool::first_lines(&messages)));
        }
        Ok(())
    }
}
