//! Finding the images to analyse and running the analysis over them in
//! parallel. By default each worker thread owns one [`Analyzer`] (its own ORT
//! sessions, one intra-op thread each); images are decoded, analysed and
//! dropped one at a time, and results stream to the caller, in input order,
//! as they finish. Nothing per image is kept here: memory does not grow with
//! the number of images.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

use crate::error::{ImageError, SetupError};
use crate::pipeline::{self, display_path, Analyzer, Options};
use crate::result::ImageResult;
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

impl Input {
    pub fn path(&self) -> &Path {
        match self {
            Input::File(p) | Input::Unreadable { path: p, .. } => p,
        }
    }
}

pub(crate) fn has_image_extension(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// Expands files and folders (recursively, sorted, hidden entries skipped)
/// into the list of inputs. Symlinked folders are followed, each real
/// folder walked once: a link loop ends, and entries that cannot be looked
/// at become inputs that report why.
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

/// [`collect_inputs`] without the videos (`video::is_video`): the inputs
/// the [`Engine`] analyses as images. `analyze` takes the videos its own
/// way; `bench` measures images only.
pub fn collect_images(paths: &[PathBuf]) -> (Vec<Input>, usize) {
    let (images, videos): (Vec<Input>, Vec<Input>) = collect_inputs(paths)
        .into_iter()
        .partition(|i| !matches!(i, Input::File(p) if crate::video::is_video(p)));
    (images, videos.len())
}

fn walk(dir: &Path, seen: &mut HashSet<PathBuf>, out: &mut Vec<Input>) {
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let hidden = e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.');
            // walkdir ends loops through an ancestor; the set also keeps two
            // links to one folder from walking it twice.
            !hidden
                && (!e.file_type().is_dir()
                    || std::fs::canonicalize(e.path()).is_ok_and(|c| seen.insert(c)))
        });
    for entry in walker {
        match entry {
            // Not only regular files: a FIFO or device named like an image is
            // reported by the reader, which refuses it.
            Ok(e)
                if !e.file_type().is_dir()
                    && (has_image_extension(e.path()) || crate::video::is_video(e.path())) =>
            {
                out.push(Input::File(e.into_path()))
            }
            Ok(_) => {}
            // A loop back to an ancestor: that folder is walked already.
            Err(e) if e.loop_ancestor().is_some() => {}
            Err(e) => {
                let Some(path) = e.path().map(Path::to_path_buf) else {
                    continue;
                };
                let hidden = e.depth() > 0
                    && path
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                let reason = match e.io_error() {
                    Some(io) if path.is_dir() => format!("cannot list folder: {io}"),
                    Some(io) => io.to_string(),
                    None => e.to_string(),
                };
                // As before: an entry that exists (even as a broken link)
                // or looks like an image is reported; other noise is not.
                if !hidden
                    && (has_image_extension(&path)
                        || crate::video::has_video_extension(&path)
                        || std::fs::symlink_metadata(&path).is_ok())
                {
                    out.push(Input::Unreadable { path, reason });
                }
            }
        }
    }
}

/// How ONNX Runtime sessions are laid out over the cores. Measured on the
/// samples (README.md, "Throughput"): one session per worker with a single
/// intra-op thread is the fastest, so it is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Topology {
    /// N workers, each with its own sessions running on one intra-op
    /// thread: decode, preprocessing and inference all run in parallel.
    #[default]
    PerWorker,
    /// One worker, images one after another, its sessions using N intra-op
    /// threads.
    OneSession,
    /// N workers decode and preprocess in parallel and share one set of
    /// sessions (N intra-op threads) behind a lock.
    SharedSession,
}

impl Topology {
    pub const ALL: [Topology; 3] = [
        Topology::PerWorker,
        Topology::OneSession,
        Topology::SharedSession,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Topology::PerWorker => "per-worker",
            Topology::OneSession => "one-session",
            Topology::SharedSession => "shared-session",
        }
    }

    pub fn parse(s: &str) -> Option<Topology> {
        Topology::ALL.into_iter().find(|t| t.name() == s)
    }

    /// ORT intra-op threads for each session, for `threads` cores.
    pub fn intra_threads(self, threads: usize) -> usize {
        match self {
            Topology::PerWorker => 1,
            Topology::OneSession | Topology::SharedSession => threads.max(1),
        }
    }

    /// Worker threads taking images, for `threads` cores.
    pub fn workers(self, threads: usize) -> usize {
        match self {
            Topology::OneSession => 1,
            Topology::PerWorker | Topology::SharedSession => threads.max(1),
        }
    }
}

/// Parallelism of a run: how many cores, and how sessions use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub threads: usize,
    pub topology: Topology,
}

impl Plan {
    pub fn new(threads: usize) -> Self {
        Plan {
            threads: threads.max(1),
            topology: Topology::default(),
        }
    }
}

/// The default number of threads: every core this process may use.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Workers and their analyzers, built once and reused over any number of
/// runs (the benchmark runs the same images several times).
pub struct Engine<'rt> {
    rt: &'rt Runtime,
    options: Options,
    plan: Plan,
    pool: rayon::ThreadPool,
    /// Analyzers not in use (per-worker and one-session topologies). At most
    /// one per worker is ever built.
    idle: Mutex<Vec<Analyzer>>,
    /// The shared analyzer of the shared-session topology.
    shared: Option<Mutex<Analyzer>>,
    cancelled: AtomicBool,
}

impl<'rt> Engine<'rt> {
    /// Builds the pool and a first analyzer, so that a setup problem (a
    /// missing model) is reported once, before any image.
    pub fn new(rt: &'rt Runtime, options: &Options, plan: Plan) -> Result<Self, SetupError> {
        let plan = Plan {
            threads: plan.threads.max(1),
            ..plan
        };
        let options = Options {
            intra_threads: plan.topology.intra_threads(plan.threads),
            ..options.clone()
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(plan.topology.workers(plan.threads))
            .thread_name(|i| format!("onlooker-worker-{i}"))
            .build()
            .map_err(|e| SetupError::Threads(e.to_string()))?;
        let first = Analyzer::new(rt, options.clone())?;
        let (idle, shared) = match plan.topology {
            Topology::SharedSession => (Vec::new(), Some(Mutex::new(first))),
            _ => (vec![first], None),
        };
        Ok(Engine {
            rt,
            options,
            plan,
            pool,
            idle: Mutex::new(idle),
            shared,
            cancelled: AtomicBool::new(false),
        })
    }

    /// Builds every worker's analyzer now rather than on its first image,
    /// so that a measurement does not include opening sessions.
    pub fn build_all(&self) -> Result<(), SetupError> {
        if self.shared.is_some() {
            return Ok(());
        }
        let workers = self.pool.current_num_threads();
        let mut idle = lock(&self.idle);
        while idle.len() < workers {
            idle.push(Analyzer::new(self.rt, self.options.clone())?);
        }
        Ok(())
    }

    /// Stops the current run after the images already started (for
    /// example when the reader of the output has gone away).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn plan(&self) -> Plan {
        self.plan
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Analyses `inputs` and hands every result to `sink`, on the calling
    /// thread, in input order, as soon as it and every earlier one are done.
    /// Workers take the next image from a shared counter, so results arrive
    /// nearly in order and only the few that finish early wait in memory.
    pub fn run(
        &self,
        inputs: &[Input],
        mut sink: impl FnMut(usize, ImageResult),
    ) -> Result<(), SetupError> {
        self.cancelled.store(false, Ordering::Relaxed);
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<SetupError>> = Mutex::new(None);
        let (tx, rx) = mpsc::channel::<(usize, ImageResult)>();
        let workers = self.pool.current_num_threads();

        std::thread::scope(|scope| {
            let (next, failure) = (&next, &failure);
            scope.spawn(move || {
                self.pool.scope(|s| {
                    for _ in 0..workers {
                        let tx = tx.clone();
                        s.spawn(move |_| self.worker(inputs, next, failure, tx));
                    }
                });
            });
            let mut pending = BTreeMap::new();
            let mut expected = 0;
            for (i, r) in rx {
                pending.insert(i, r);
                while let Some(r) = pending.remove(&expected) {
                    sink(expected, r);
                    expected += 1;
                }
            }
            // Only after a setup failure can an index be missing: hand over
            // what did finish rather than drop it.
            for (i, r) in pending {
                sink(i, r);
            }
        });
        match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn worker(
        &self,
        inputs: &[Input],
        next: &AtomicUsize,
        failure: &Mutex<Option<SetupError>>,
        tx: mpsc::Sender<(usize, ImageResult)>,
    ) {
        let mut own: Option<Analyzer> = None;
        loop {
            if self.cancelled.load(Ordering::Relaxed) || lock(failure).is_some() {
                break;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(input) = inputs.get(i) else { break };
            let result = match self.analyze(input, &mut own) {
                Ok(r) => r,
                Err(e) => {
                    lock(failure).get_or_insert(e);
                    break;
                }
            };
            // The receiver only goes away if the caller is gone.
            if tx.send((i, result)).is_err() {
                break;
            }
        }
        if let Some(a) = own {
            lock(&self.idle).push(a);
        }
    }

    fn analyze(
        &self,
        input: &Input,
        own: &mut Option<Analyzer>,
    ) -> Result<ImageResult, SetupError> {
        let path = match input {
            Input::Unreadable { path, reason } => {
                return Ok(ImageResult {
                    path: display_path(path),
                    error: Some(format!("cannot read: {reason}")),
                    ..Default::default()
                })
            }
            Input::File(path) => path,
        };
        if let Some(shared) = &self.shared {
            // Decoding needs no session: only the detection holds the lock.
            let prepared = match catch(|| pipeline::prepare(path, &self.options)) {
                Some(p) => p,
                None => return Ok(panicked(path)),
            };
            let mut analyzer = lock(shared);
            return Ok(catch(|| analyzer.analyze_prepared(path, prepared))
                .unwrap_or_else(|| panicked(path)));
        }
        let analyzer = self.acquire(own)?;
        match catch(|| analyzer.analyze_path(path)) {
            Some(r) => Ok(r),
            None => {
                // Its sessions may be mid-run: build a fresh one next time.
                *own = None;
                Ok(panicked(path))
            }
        }
    }
}

impl Engine<'_> {
    /// This worker's analyzer: the one it holds, else an idle one, else a
    /// new one (per-worker and one-session topologies).
    fn acquire<'a>(&self, own: &'a mut Option<Analyzer>) -> Result<&'a mut Analyzer, SetupError> {
        if own.is_none() {
            let taken = lock(&self.idle).pop();
            *own = Some(match taken {
                Some(a) => a,
                None => Analyzer::new(self.rt, self.options.clone())?,
            });
        }
        own.as_mut()
            .ok_or_else(|| SetupError::Threads("no analyzer".into()))
    }

    /// Runs `job(analyzer, i)` for every `i` in `0..n` on this engine's
    /// workers and analyzers, laid out as for [`Engine::run`] (its own
    /// analyzer per worker, or the shared one behind its lock); results in
    /// item order. `onlooker bench` measures stages and the inference-only
    /// bound through it, on the very workers and sessions of the end-to-end
    /// runs. An item whose job panicked is left out.
    pub fn map<T: Send>(
        &self,
        n: usize,
        job: impl Fn(&mut Analyzer, usize) -> T + Sync,
    ) -> Result<Vec<T>, SetupError> {
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<SetupError>> = Mutex::new(None);
        let out: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
        let workers = self.pool.current_num_threads();
        self.pool.scope(|s| {
            for _ in 0..workers {
                let (next, failure, out, job) = (&next, &failure, &out, &job);
                s.spawn(move |_| {
                    let mut own: Option<Analyzer> = None;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n || lock(failure).is_some() {
                            break;
                        }
                        let done = match &self.shared {
                            Some(shared) => catch(|| job(&mut lock(shared), i)),
                            None => match self.acquire(&mut own) {
                                Ok(a) => catch(|| job(a, i)),
                                Err(e) => {
                                    lock(failure).get_or_insert(e);
                                    break;
                                }
                            },
                        };
                        match done {
                            Some(v) => *lock(&out[i]) = Some(v),
                            // Its sessions may be mid-run: build a fresh one.
                            None => own = None,
                        }
                    }
                    if let Some(a) = own {
                        lock(&self.idle).push(a);
                    }
                });
            }
        });
        if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        Ok(out
            .into_iter()
            .filter_map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
            .collect())
    }
}

// ---- in-memory files (see `serve`) ----

impl Engine<'_> {
    /// Analyses one in-memory file on the calling thread, with an idle
    /// analyzer of this engine (built if none is idle) or the shared one:
    /// the same pipeline as a file on disk ([`Analyzer::analyze_bytes`]),
    /// nothing written anywhere. `name` only labels the result. At most as
    /// many analyzers are ever built as calls run at once: a caller that
    /// bounds its concurrent calls (the server does) bounds the sessions.
    /// A panic costs this image only, as in [`Engine::run`].
    pub fn analyze_bytes(&self, name: &Path, bytes: Vec<u8>) -> Result<ImageResult, SetupError> {
        // The checks `imageio::read_file` makes on a file's bytes.
        let refused = if bytes.len() as u64 > self.options.limits.max_file_bytes {
            Some(ImageError::FileTooBig {
                size_bytes: bytes.len() as u64,
                limit_mib: self.options.limits.max_file_bytes >> 20,
            })
        } else if bytes.is_empty() {
            Some(ImageError::Empty)
        } else {
            None
        };
        if let Some(e) = refused {
            return Ok(ImageResult::failed(name, &e));
        }
        if let Some(shared) = &self.shared {
            let prepared = match catch(|| pipeline::prepare_bytes(name, bytes, &self.options)) {
                Some(p) => p,
                None => return Ok(panicked(name)),
            };
            let mut analyzer = lock(shared);
            return Ok(catch(|| analyzer.analyze_prepared(name, prepared))
                .unwrap_or_else(|| panicked(name)));
        }
        let mut own = None;
        let analyzer = self.acquire(&mut own)?;
        let result = catch(|| analyzer.analyze_bytes(name, bytes));
        // A panicked analyzer's sessions may be mid-run: it is dropped.
        if result.is_some() {
            self.give_back(own);
        }
        Ok(result.unwrap_or_else(|| panicked(name)))
    }
}

// ---- frames of a video (see `video`) ----

impl Engine<'_> {
    /// How many workers take frames of a video in parallel.
    pub(crate) fn workers(&self) -> usize {
        self.pool.current_num_threads()
    }

    pub(crate) fn pool(&self) -> &rayon::ThreadPool {
        &self.pool
    }

    /// Runs `f` with the calling worker's analyzer: its own `own` (taken
    /// from the idle ones, or built), or the shared one behind its lock.
    /// `None` when `f` panicked: the analyzer is then dropped, since its
    /// sessions may be mid-run.
    pub(crate) fn with_analyzer<R>(
        &self,
        own: &mut Option<Analyzer>,
        f: impl FnOnce(&mut Analyzer) -> R,
    ) -> Result<Option<R>, SetupError> {
        if let Some(shared) = &self.shared {
            let mut analyzer = lock(shared);
            return Ok(catch(|| f(&mut analyzer)));
        }
        let analyzer = self.acquire(own)?;
        let r = catch(|| f(analyzer));
        if r.is_none() {
            *own = None;
        }
        Ok(r)
    }

    /// Returns a worker's analyzer for the next video or batch.
    pub(crate) fn give_back(&self, own: Option<Analyzer>) {
        if let Some(a) = own {
            lock(&self.idle).push(a);
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A bug in a decoder must cost one image, not the batch.
fn catch<T>(f: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

fn panicked(path: &Path) -> ImageResult {
    ImageResult {
        path: display_path(path),
        error: Some("internal error while analysing this image (a bug: please report it)".into()),
        ..Default::default()
    }
}

/// Runs the analysis over `inputs` on `threads` workers with the default
/// topology and hands every result to `sink` (on the calling thread), in
/// input order, with its index in `inputs`.
pub fn run(
    rt: &Runtime,
    options: &Options,
    inputs: &[Input],
    threads: usize,
    sink: impl FnMut(usize, ImageResult),
) -> Result<(), SetupError> {
    Engine::new(rt, options, Plan::new(threads))?.run(inputs, sink)
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
