//! An uploaded video as a file that exists only in memory, so that ffmpeg
//! and ffprobe (which need to seek: an MP4's index is often at its end)
//! can open it by path while nothing is written to disk.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bytes held in an anonymous in-memory file (Linux `memfd_create`); it
/// and its contents are gone when this is dropped.
pub(crate) struct MemFile {
    /// Keeps the file alive; read through `path`, never written again.
    _file: File,
    path: PathBuf,
}

impl MemFile {
    /// A path other processes of this user can open: this process's open
    /// file in `/proc` (`/proc/self` would name the reader's own files).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Copies `bytes` into a new in-memory file.
#[cfg(target_os = "linux")]
pub(crate) fn from_bytes(bytes: &[u8]) -> std::io::Result<MemFile> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: the name is a NUL-terminated literal; the returned descriptor
    // is checked and then owned by exactly one `OwnedFd`.
    let fd = unsafe { libc::memfd_create(c"onlooker-upload".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.write_all(bytes)?;
    let path = PathBuf::from(format!(
        "/proc/{}/fd/{}",
        std::process::id(),
        file.as_raw_fd()
    ));
    Ok(MemFile { _file: file, path })
}

/// Without `memfd_create` there is no file that is never on disk: videos
/// are refused rather than written to a temporary file.
#[cfg(not(target_os = "linux"))]
pub(crate) fn from_bytes(_bytes: &[u8]) -> std::io::Result<MemFile> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "videos can be analysed on this page only on Linux (they are never written to disk); use `onlooker analyze`",
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn another_process_reads_the_bytes_by_path() {
        let bytes = b"not on any disk\n".repeat(1000);
        let m = from_bytes(&bytes).unwrap();
        let read = std::process::Command::new("cat")
            .arg(m.path())
            .output()
            .unwrap();
        assert!(read.status.success());
        assert_eq!(read.stdout, bytes);
    }
}
