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
    let url = tool::file_url(path);
    let map = format!("0:{}", info.index);
    let filter = format!("fps={fps},scale={}:{}", info.width, info.height);
    let args: [&OsStr; 22] = [
        "-nostdin".as_ref(),
        "-hide_banner".as_ref(),
        "-loglevel".as_ref(),
        "error".as_ref(),
        "-protocol_whitelist".as_ref(),
        "file".as_ref(),
        "-f".as_ref(),
        container.demuxer().as_ref(),
        "-i".as_ref(),
        url.as_os_str(),
        "-map".as_ref(),
        map.as_ref(),
        "-vf".as_ref(),
        filter.as_ref(),
        "-an".as_ref(),
        "-sn".as_ref(),
        "-f".as_ref(),
        "rawvideo".as_ref(),
        "-pix_fmt".as_ref(),
        "rgb24".as_ref(),
        "-dn".as_ref(),
        "pipe:1".as_ref(),
    ];
    let mut guard = Tool::Ffmpeg.spawn(&args, Stdio::piped())?;
    let child = guard.child();
    let stdout = child.stdout.take().ok_or_else(|| VideoError::Start {
        program: "ffmpeg",
        reason: "no output pipe".into(),
    })?;
    // Read on its own thread so a chatty ffmpeg cannot block on a full
    // pipe; capped, only the first lines are reported.
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = e.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if kept.len() < 16 << 10 {
                    kept.extend_from_slice(&buf[..n]);
                }
            }
            kept
        })
    });
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
