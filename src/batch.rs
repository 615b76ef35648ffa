//! Finding the images to analyse and running the analysis over them in
//! parallel. Each worker thread owns one [`Analyzer`] (its own ORT sessions,
//! one intra-op thread each); images are decoded, analysed and dropped one at
//! a time, and results stream to the caller as they finish.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};

use rayon::prelude::*;

use crate::error::SetupError;
use crate::pipeline::{display_path, Analyzer, ImageResult, Options};
use crate::runtime::Runtime;

/// File endings picked up when walking a folder. Files named explicitly are
/// always tried, whatever their name.
pub const IMAGE_EXTENSIONS: [&str; 9] = [
    "jpg", "jpeg", "png", "gif", "webp", "tif", "tiff", "bmp", "jfif",
];

/// An input found on disk, or a problem found while looking for inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File(PathBuf),
    Unreadable { path: PathBuf, reason: String },
}

fn has_image_extension(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// Expands files and folders (recursively, sorted, hidden entries skipped)
/// into the list of inputs. Symlinked folders are followed once: a link loop
/// is reported, not walked forever.
pub fn collect_inputs(paths: &[PathBuf]) -> Vec<Input> {
    let mut out = Vec::new();
    let mut seen_dirs = HashSet::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut seen_dirs, &mut out),
            Ok(_) => out.push(Input::File(p.clone())),
            Err(e) => out.push(Input::Unreadable {
                path: p.clone(),
                reason: e.to_string(),
            }),
        }
    }
    out
}

fn walk(dir: &Path, seen: &mut HashSet<PathBuf>, out: &mut Vec<Input>) {
    let canonical = match std::fs::canonicalize(dir) {
        Ok(c) => c,
        Err(e) => {
            out.push(Input::Unreadable {
                path: dir.to_path_buf(),
                reason: e.to_string(),
            });
            return;
        }
    };
    if !seen.insert(canonical) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            out.push(Input::Unreadable {
                path: dir.to_path_buf(),
                reason: format!("cannot list folder: {e}"),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let hidden = p
            .file_name()
            .map(|n| n.to_string_lossy().starts_with('.'))
            .unwrap_or(false);
        if hidden {
            continue;
        }
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => walk(&p, seen, out),
            Ok(_) if has_image_extension(&p) => out.push(Input::File(p)),
            Ok(_) => {}
            Err(e) if has_image_extension(&p) || std::fs::symlink_metadata(&p).is_ok() => {
                out.push(Input::Unreadable {
                    path: p,
                    reason: e.to_string(),
                })
            }
            Err(_) => {}
        }
    }
}

/// Runs the analysis over `inputs` on `threads` workers and hands every
/// result to `sink` (on the calling thread) as soon as it is ready, with its
/// index in `inputs`.
pub fn run(
    rt: &Runtime,
    options: &Options,
    inputs: &[Input],
    threads: usize,
    mut sink: impl FnMut(usize, ImageResult),
) -> Result<(), SetupError> {
    let threads = threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("onlooker-worker-{i}"))
        .build()
        .map_err(|e| SetupError::Io(std::io::Error::other(e)))?;
    // Build one analyzer first so a setup problem is reported once, up front.
    let first = Analyzer::new(rt, options.clone())?;
    let idle = Mutex::new(vec![first]);
    let (tx, rx) = mpsc::channel::<(usize, ImageResult)>();

    std::thread::scope(|scope| {
        let idle = &idle;
        let worker = scope.spawn(move || -> Result<(), SetupError> {
            pool.install(|| {
                inputs
                    .par_iter()
                    .enumerate()
                    .try_for_each_with(tx, |tx, (i, input)| {
                        let result = match input {
                            Input::Unreadable { path, reason } => ImageResult {
                                path: display_path(path),
                                error: Some(format!("cannot read: {reason}")),
                                ..Default::default()
                            },
                            Input::File(path) => {
                                let taken = idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
                                let mut analyzer = match taken {
                                    Some(a) => a,
                                    None => Analyzer::new(rt, options.clone())?,
                                };
                                let r = analyzer.analyze_path(path);
                                idle.lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .push(analyzer);
                                r
                            }
                        };
                        // The receiver only goes away if the caller is gone.
                        let _ = tx.send((i, result));
                        Ok(())
                    })
            })
        });
        for (i, r) in rx {
            sink(i, r);
        }
        worker
            .join()
            .unwrap_or_else(|_| Err(SetupError::Io(std::io::Error::other("worker panicked"))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_folders_sorted_skipping_hidden_and_non_images() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        for f in ["b.JPG", "a.png", "notes.txt", ".hidden.jpg", "sub/c.webp"] {
            std::fs::write(root.join(f), b"x").unwrap();
        }
        let got = collect_inputs(&[root.to_path_buf()]);
        let names: Vec<String> = got
            .iter()
            .map(|i| match i {
                Input::File(p) => p.strip_prefix(root).unwrap().display().to_string(),
                Input::Unreadable { path, .. } => format!("!{}", path.display()),
            })
            .collect();
        assert_eq!(names, vec!["a.png", "b.JPG", "sub/c.webp"]);
    }

    #[test]
    fn missing_paths_are_reported_and_explicit_files_kept() {
        let d = tempfile::tempdir().unwrap();
        let txt = d.path().join("notes.txt");
        std::fs::write(&txt, b"x").unwrap();
        let got = collect_inputs(&[d.path().join("missing.jpg"), txt.clone()]);
        assert!(matches!(&got[0], Input::Unreadable { .. }));
        assert_eq!(got[1], Input::File(txt));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_walked_once() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.jpg"), b"x").unwrap();
        std::os::unix::fs::symlink(d.path(), d.path().join("loop")).unwrap();
        let got = collect_inputs(&[d.path().to_path_buf()]);
        assert_eq!(got.len(), 1);
    }
}
