//! Running ffprobe and ffmpeg as plain child processes. The programs can be
//! named by `ONLOOKER_FFPROBE` / `ONLOOKER_FFMPEG` (default: found on the
//! PATH). Every child is tied to the run: a [`ChildGuard`] kills and reaps
//! it when dropped (on error, on early return, on a panic unwinding), and
//! on Linux the kernel kills it if the thread that started it dies (Ctrl-C,
//! `kill`), so no ffmpeg outlives onlooker.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;

use super::VideoError;

/// The Debian package that provides both programs.
pub const PACKAGE: &str = "ffmpeg";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Ffprobe,
    Ffmpeg,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Ffprobe => "ffprobe",
            Tool::Ffmpeg => "ffmpeg",
        }
    }

    /// The environment variable that overrides the program.
    pub fn env(self) -> &'static str {
        match self {
            Tool::Ffprobe => "ONLOOKER_FFPROBE",
            Tool::Ffmpeg => "ONLOOKER_FFMPEG",
        }
    }

    pub fn program(self) -> OsString {
        std::env::var_os(self.env())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| self.name().into())
    }

    fn command(self) -> Command {
        let mut c = Command::new(self.program());
        c.stdin(Stdio::null());
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe and touches no memory of
            // the parent; it is all the child does between fork and exec.
            unsafe {
                c.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        c
    }

    /// Starts the program with `args`; a program that cannot be found is
    /// [`VideoError::ToolMissing`].
    pub fn spawn(self, args: &[&OsStr], stdout: Stdio) -> Result<ChildGuard, VideoError> {
        self.spawn_with(args, Stdio::null(), stdout)
    }

    /// [`Tool::spawn`] with a given standard input (a pipe for the frames
    /// ffmpeg encodes).
    pub fn spawn_with(
        self,
        args: &[&OsStr],
        stdin: Stdio,
        stdout: Stdio,
    ) -> Result<ChildGuard, VideoError> {
        let child = self
            .command()
            .args(args)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.spawn_error(e))?;
        Ok(ChildGuard(Some(child)))
    }

    fn spawn_error(self, e: std::io::Error) -> VideoError {
        match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                VideoError::ToolMissing {
                    program: self.name(),
                    path: PathBuf::from(self.program()),
                    env: self.env(),
                }
            }
            _ => VideoError::Start {
                program: self.name(),
                reason: e.to_string(),
            },
        }
    }
}

/// Runs `tool` to the end and collects its output (stdout and stderr are
/// read concurrently by `wait_with_output`, so neither pipe can fill up).
pub fn output(tool: Tool, args: &[&OsStr]) -> Result<Output, VideoError> {
    let mut guard = tool.spawn(args, Stdio::piped())?;
    let child = guard.0.take().expect("a fresh guard holds its child");
    child.wait_with_output().map_err(|e| VideoError::Start {
        program: tool.name(),
        reason: e.to_string(),
    })
}

/// Reads a child's error output on its own thread, so a chatty ffmpeg
/// cannot block on a full pipe; capped, only the first lines are reported.
pub fn drain(stderr: Option<std::process::ChildStderr>) -> Option<JoinHandle<Vec<u8>>> {
    stderr.map(|mut e| {
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
    })
}

/// A child process that is killed and reaped when dropped, unless it was
/// waited for already.
pub struct ChildGuard(Option<Child>);

impl ChildGuard {
    pub fn child(&mut self) -> &mut Child {
        self.0
            .as_mut()
            .expect("the child is held until the guard is dropped")
    }

    /// Waits for the child to exit on its own.
    pub fn wait(mut self) -> std::io::Result<std::process::ExitStatus> {
        let mut child = self.0.take().expect("the child is held until waited for");
        child.wait()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `path` as an ffmpeg URL on the `file` protocol: a name like `http:x` or
/// `-y` is then a file name, never a URL or an option.
pub fn file_url(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut s = OsString::from("file:");
    s.push(absolute.as_os_str());
    PathBuf::from(s)
}

/// A line of ffmpeg's log without its `[mov,mp4 @ 0x55d0...] ` prefix
/// (a memory address, different on every run) and surrounding space.
fn without_context(line: &str) -> &str {
    let mut l = line.trim();
    while l.starts_with('[') {
        match l.find("] ") {
            Some(end) if l[..end].contains(" @ 0x") => l = l[end + 2..].trim_start(),
            _ => break,
        }
    }
    l.trim_end_matches('.')
}

/// The first few lines of a program's error output, for a message.
pub fn first_lines(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(without_context)
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    if lines.is_empty() {
        "no reason given".into()
    } else {
        lines
            .join("; ")
            .chars()
            .filter(|c| !c.is_control())
            .take(400)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_lose_their_addresses() {
        let log = b"[NULL @ 0x5566f8eb0100] Invalid NAL unit size (33502 > 22427).\n\n\
            [mov,mp4,m4a,3gp,3g2,mj2 @ 0x5566f8ea6a00] stream 0, offset 0xee93: partial file\n";
        assert_eq!(
            first_lines(log),
            "Invalid NAL unit size (33502 > 22427); stream 0, offset 0xee93: partial file"
        );
        assert_eq!(first_lines(b"  \n"), "no reason given");
        assert_eq!(first_lines(b"[x] plain"), "[x] plain");
    }
}
