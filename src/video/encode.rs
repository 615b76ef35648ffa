//! Frames into a video file: one ffmpeg child reading raw RGB24 frames on
//! its standard input and writing H.264 (libx264, yuv420p) in MP4. Nothing
//! of an original file is carried over but, when asked, its audio: no
//! global, stream or chapter metadata, no encoder tags (`bitexact`), and
//! no x264 version SEI in the bitstream (it names the encoder and its
//! settings). Used by `scrub` for its covered copies.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Stdio};
use std::thread::JoinHandle;

use image::RgbImage;

use super::probe::Container;
use super::tool::{self, ChildGuard, Tool};
use super::VideoError;

/// x264's constant rate factor: visually close to the source at 640x480
/// without growing the file much.
const CRF: &str = "20";
/// Speed over size: a scrubbed copy is re-encoded once, on the user's
/// machine, while they wait.
const PRESET: &str = "veryfast";

/// Where the audio of the copy comes from.
#[derive(Debug, Clone, Copy)]
pub struct Audio<'a> {
    /// The original file: its audio streams are re-encoded to AAC (a
    /// plain copy could carry codec-level tags along).
    pub from: &'a Path,
    pub container: Container,
}

/// A running ffmpeg taking frames.
pub struct Encoder {
    // Field order: the pipe closes before the guard kills and reaps.
    stdin: Option<ChildStdin>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    guard: ChildGuard,
    path: PathBuf,
    width: u32,
    height: u32,
    frames: u64,
}

/// The ffmpeg arguments for a `width` x `height` stream at `fps` written to
/// `out` (an MP4 whatever its name), with `audio` mapped from an original.
fn args(width: u32, height: u32, fps: f64, out: &Path, audio: Option<&Audio>) -> Vec<String> {
    let mut a: Vec<String> = [
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
    ]
    .map(String::from)
    .to_vec();
    a.push(format!("{width}x{height}"));
    a.extend(["-r".into(), format!("{fps}"), "-i".into(), "pipe:0".into()]);
    if let Some(au) = audio {
        a.extend(
            [
                "-protocol_whitelist",
                "file",
                "-f",
                au.container.demuxer(),
                "-i",
            ]
            .map(String::from),
        );
        a.push(tool::file_url(au.from).to_string_lossy().into_owned());
    }
    a.extend(["-map", "0:v:0"].map(String::from));
    if audio.is_some() {
        // `?`: an original without audio gives a copy without audio.
        a.extend(["-map", "1:a?", "-c:a", "aac", "-b:a", "160k"].map(String::from));
    } else {
        a.push("-an".into());
    }
    // `-map_metadata -1` alone stops only the global tags; `:s` the
    // streams' (an audio stream's creation_time, its handler name).
    a.extend(
        [
            "-map_metadata",
            "-1",
            "-map_metadata:s",
            "-1",
            "-map_chapters",
            "-1",
            "-sn",
            "-dn",
        ]
        .map(String::from),
    );
    if width % 2 == 1 || height % 2 == 1 {
        // yuv420p needs even sides: a black line rather than a lost one.
        a.extend(["-vf".into(), "pad=ceil(iw/2)*2:ceil(ih/2)*2".into()]);
    }
    a.extend(
        [
            "-c:v",
            "libx264",
            "-preset",
            PRESET,
            "-crf",
            CRF,
            "-pix_fmt",
            "yuv420p",
            // SEI units (type 6) hold x264's version and settings string.
            "-bsf:v",
            "filter_units=remove_types=6",
            "-fflags",
            "+bitexact",
            "-flags:v",
            "+bitexact",
            "-flags:a",
            "+bitexact",
            // The muxer would name the encoder in the stream ("Lavc
            // libx264", the sample description's compressor name); a
            // blank of our own takes its place (an empty value would
            // delete the tag and let the muxer write its own).
            "-metadata",
            "encoder=",
            "-metadata:s:v",
            "encoder= ",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
        ]
        .map(String::from),
    );
    a.push(tool::file_url(out).to_string_lossy().into_owned());
    a
}

impl Encoder {
    /// Starts ffmpeg writing `out` (replaced if it exists: the caller hands
    /// a temporary file), frames of `width` x `height` at `fps`.
    pub fn start(
        out: &Path,
        width: u32,
        height: u32,
        fps: f64,
        audio: Option<Audio>,
    ) -> Result<Encoder, VideoError> {
        let args = args(width, height, fps, out, audio.as_ref());
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let mut guard = Tool::Ffmpeg.spawn_with(&args, Stdio::piped(), Stdio::null())?;
        let child = guard.child();
        let stdin = child.stdin.take();
        let stderr = tool::drain(child.stderr.take());
        Ok(Encoder {
            stdin,
            stderr,
            guard,
            path: out.to_path_buf(),
            width,
            height,
            frames: 0,
        })
    }

    fn error(&self, reason: String) -> VideoError {
        VideoError::Encode {
            path: self.path.clone(),
            reason,
        }
    }

    /// Sends one frame (of the size given to [`Encoder::start`]).
    pub fn write(&mut self, frame: &RgbImage) -> Result<(), VideoError> {
        if frame.dimensions() != (self.width, self.height) {
            return Err(self.error(format!(
                "frame {} is {}x{}, the video {}x{}",
                self.frames,
                frame.width(),
                frame.height(),
                self.width,
                self.height
            )));
        }
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(self.error("ffmpeg's input is closed".into()));
        };
        if let Err(e) = stdin.write_all(frame.as_raw()) {
            // ffmpeg gave up: its own words say why better than the pipe.
            let reason = self.stop_for_reason();
            return Err(self.error(format!("{e}: {reason}")));
        }
        self.frames += 1;
        Ok(())
    }

    /// After a broken pipe: ffmpeg's first lines of complaint.
    fn stop_for_reason(&mut self) -> String {
        self.stdin = None;
        let _ = self.guard.child().kill();
        let messages = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        tool::first_lines(&messages)
    }

    /// Closes the input and waits for ffmpeg to finish the file; the
    /// frames written.
    pub fn finish(self) -> Result<u64, VideoError> {
        let Encoder {
            stdin,
            stderr,
            guard,
            path,
            frames,
            ..
        } = self;
        drop(stdin);
        let status = guard.wait();
        let messages = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
        let reason = match status {
            Ok(s) if s.success() => return Ok(frames),
            Ok(s) => format!("ffmpeg failed ({s}): {}", tool::first_lines(&messages)),
            Err(e) => format!("cannot wait for ffmpeg: {e}"),
        };
        Err(VideoError::Encode { path, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_metadata_no_encoder_tag_and_even_sides() {
        let a = args(641, 480, 25.0, Path::new("/o/x.tmp"), None).join(" ");
        for part in [
            "-map_metadata -1 -map_metadata:s -1 -map_chapters -1",
            "-fflags +bitexact",
            "-metadata encoder= -metadata:s:v encoder= ",
            "-an",
            "pad=ceil(iw/2)*2:ceil(ih/2)*2",
            "-pix_fmt yuv420p",
            "-movflags +faststart -f mp4 file:/o/x.tmp",
        ] {
            assert!(a.contains(part), "{part} missing in {a}");
        }
        assert!(!args(640, 480, 25.0, Path::new("o"), None)
            .join(" ")
            .contains("pad="));
        let audio = Audio {
            from: Path::new("/in/a.mov"),
            container: Container::Mp4,
        };
        let a = args(640, 480, 25.0, Path::new("/o/x"), Some(&audio)).join(" ");
        assert!(a.contains("-f mov -i file:/in/a.mov"), "{a}");
        assert!(a.contains("-map 1:a? -c:a aac"), "{a}");
        assert!(!a.contains("-an"), "{a}");
    }
}
