//! One batch split across machines: which inputs are whose (`--shard K/N`),
//! and the shard file each machine writes (`--jsonl` with `--shard`), which
//! `onlooker merge` reads back.
//!
//! Every machine walks the same folders and keeps the inputs whose path,
//! relative to the folder given, hashes to its index: no coordination, and
//! a file added later lands in one shard without moving any other.
//!
//! A shard file is JSON Lines of [`Record`]s: a `shard` header naming the
//! batch, one `image` or `video` record per input as it is finished, and an
//! `end` record once all are. A file without its end record is resumed: the
//! records it holds are kept and only the rest is analysed.

use std::collections::HashSet;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::geometry::BBox;
use crate::identity::Embedding;
use crate::imageio::DecodeLimits;
use crate::pipeline::Options;
use crate::result::{ImageResult, VideoResult};
use crate::video::VideoOptions;

/// The shard file format's version, in every header.
pub const FORMAT: u32 = 1;

/// Where `--shard-from-env` finds the shard's index: a Slurm job array's
/// task id, else a Kubernetes Indexed Job's completion index.
pub const INDEX_VARS: [&str; 2] = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"];
/// Where `--shard-from-env` finds the number of shards: set by the user
/// (Kubernetes sets nothing), else the Slurm array's task count.
pub const COUNT_VARS: [&str; 2] = ["ONLOOKER_SHARDS", "SLURM_ARRAY_TASK_COUNT"];

/// Why sharding could not start, or shard files cannot be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: line {line} is not a shard record ({reason}); it is not an onlooker shard file, or was damaged", .path.display())]
    NotShardFile {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{}: {why}", .path.display())]
    Other { path: PathBuf, why: String },
    /// The files given to `merge` are not one complete batch.
    #[error("{0}")]
    NotOneBatch(String),
}

/// Shard `index` of `count` (0-based, as Slurm's and Kubernetes' indices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        if count == 0 {
            return Err(ShardError::Usage(
                "the number of shards must be at least 1".into(),
            ));
        }
        if index >= count {
            return Err(ShardError::Usage(format!(
                "shard index {index} is not below the number of shards {count}: shards are numbered from 0 (a Slurm array 0-{})",
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }

    /// From `K/N`, as `--shard` takes it.
    pub fn parse(s: &str) -> Result<Shard, ShardError> {
        let bad = || ShardError::Usage(format!("--shard {s:?}: expected K/N, such as 0/3"));
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k = k.trim().parse().map_err(|_| bad())?;
        let n = n.trim().parse().map_err(|_| bad())?;
        Shard::new(k, n)
    }

    /// From the job's environment (`--shard-from-env`), read through `var`
    /// (`std::env::var` outside tests).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        let first = |names: &[&'static str]| {
            names
                .iter()
                .find_map(|n| var(n).filter(|v| !v.trim().is_empty()).map(|v| (*n, v)))
        };
        let number = |(name, v): (&str, String)| {
            v.trim().parse::<u32>().map_err(|_| {
                ShardError::Usage(format!(
                    "--shard-from-env: {name}={v:?} is not a whole number"
                ))
            })
        };
        let index = first(&INDEX_VARS).ok_or_else(|| {
            ShardError::Usage(format!(
                "--shard-from-env: neither {} is set; run inside a Slurm job array or a Kubernetes Indexed Job, or give --shard K/N",
                INDEX_VARS.join(" nor ")
            ))
        })?;
        let count = first(&COUNT_VARS).ok_or_else(|| {
            ShardError::Usage(format!(
                "--shard-from-env: set {} to the number of shards (Slurm sets {}; Kubernetes sets nothing)",
                COUNT_VARS[0], COUNT_VARS[1]
            ))
        })?;
        Shard::new(number(index)?, number(count)?)
    }

    /// Whether the input named `key` (see [`key`]) is this shard's: the
    /// first 8 bytes of its SHA-256, modulo the count.
    pub fn owns(&self, key: &str) -> bool {
        let digest = Sha256::digest(key.as_bytes());
        let mut head = [0u8; 8];
        head.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(head) % u64::from(self.count) == u64::from(self.index)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Shard::parse(s)
    }
}

/// What an input is called when it is assigned to a shard: its path
/// relative to the first of `roots` that holds it, with `/` between the
/// parts, so that machines mounting the archive at different places agree.
/// A file given by itself is known by its name.
pub fn key(roots: &[PathBuf], input: &Path) -> String {
    let relative = roots
        .iter()
        .find_map(|root| match input.strip_prefix(root) {
            Ok(rest) if rest.as_os_str().is_empty() => input.file_name().map(Path::new),
            Ok(rest) => Some(rest),
            Err(_) => None,
        })
        .unwrap_or(input);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The settings every shard of a batch (and every resumed session of a
/// shard) must share for their results to be one batch's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Settings {
    pub face_threshold: f32,
    pub object_threshold: f32,
    pub object_tiles: bool,
    /// Files written before the face survey existed read every photo whole.
    #[serde(default)]
    pub face_survey: bool,
    pub age: bool,
    pub gender: bool,
    pub expression: bool,
    pub text: bool,
    pub identity: bool,
    pub tags: bool,
    pub fps: f64,
    pub max_width: u32,
    pub max_height: u32,
    pub max_alloc_bytes: u64,
    pub max_file_bytes: u64,
    /// Face embeddings (biometric data) are in the records: needed to tell
    /// who is who across shards.
    pub embeddings: bool,
}

impl Settings {
    pub fn of(options: &Options, video: &VideoOptions, embeddings: bool) -> Settings {
        Settings {
            face_threshold: options.face_threshold,
            object_threshold: options.object_threshold,
            object_tiles: options.object_tiles,
            face_survey: options.face_survey,
            age: options.attributes.age,
            gender: options.attributes.gender,
            expression: options.attributes.expression,
            text: options.text,
            identity: options.identity,
            tags: options.tags,
            fps: video.fps,
            max_width: options.limits.max_width,
            max_height: options.limits.max_height,
            max_alloc_bytes: options.limits.max_alloc_bytes,
            max_file_bytes: options.limits.max_file_bytes,
            embeddings,
        }
    }

    /// The decode limits these settings name.
    pub fn limits(&self) -> DecodeLimits {
        DecodeLimits {
            max_width: self.max_width,
            max_height: self.max_height,
            max_alloc_bytes: self.max_alloc_bytes,
            max_file_bytes: self.max_file_bytes,
        }
    }
}

/// The first record of a shard file: which batch, which shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    /// [`FORMAT`].
    pub format: u32,
    /// The onlooker version that wrote the file.
    pub onlooker: String,
    pub shard: Shard,
    /// The paths given to `analyze`, as given.
    pub roots: Vec<String>,
    /// Inputs found in `roots`, all shards together.
    pub inputs_total: usize,
    /// Inputs of this shard: the records to expect.
    pub inputs: usize,
    pub settings: Settings,
}

impl Header {
    /// Whether `other` describes the same batch (any shard of it).
    fn same_batch(&self, other: &Header) -> bool {
        self.format == other.format
            && self.onlooker == other.onlooker
            && self.shard.count == other.shard.count
            && self.roots == other.roots
            && self.inputs_total == other.inputs_total
            && self.settings == other.settings
    }
}

/// A face track of a video as the persons pass needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrackRecord {
    /// Sample indices the face was seen in, increasing.
    pub frames: Vec<u64>,
    /// The clearest view: its sample index, box and quality.
    pub best_frame: u64,
    #[serde(rename = "best_box")]
    pub best_bbox: BBox,
    pub best_quality: f32,
    /// The track's mean embedding (biometric data), only with
    /// `--embeddings`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Embedding>,
}

/// A video's result with what the persons pass and the report need of it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct VideoRecord {
    /// Index among all inputs of the batch.
    pub input: usize,
    /// Persons are empty: they are known once all shards are merged.
    pub result: VideoResult,
    /// Samples per second of footage, and the length, seconds.
    pub fps: f64,
    pub duration: f64,
    pub tracks: Vec<TrackRecord>,
    /// The samples the report shows again; absent when nothing was
    /// analysed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyframes: Option<crate::video::keyframes::KeyframesRecord>,
}

/// The last record of a complete shard file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct End {
    pub images: usize,
    pub videos: usize,
    /// Images and videos that could not be (fully) analysed.
    pub failed: usize,
    /// The images analysed in the session that finished the shard, and the
    /// seconds they took (a resumed shard's earlier sessions are not timed).
    pub timed_images: usize,
    pub seconds: f64,
}

/// One line of a shard file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub enum Record {
    Shard(Header),
    Image {
        /// Index among all inputs of the batch.
        input: usize,
        result: ImageResult,
    },
    Video(VideoRecord),
    End(End),
}

impl Record {
    /// The input index of an image or video record.
    pub fn input(&self) -> Option<usize> {
        match self {
            Record::Image { input, .. } => Some(*input),
            Record::Video(v) => Some(v.input),
            _ => None,
        }
    }
}

/// The JSON Schema of one shard file line (`schema/shard.schema.json`).
pub fn schema() -> schemars::Schema {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut s = generator.into_root_schema_for::<Record>();
    s.insert("title".into(), "onlooker shard file line".into());
    s
}

/// Reads the complete records of a shard file: each with the byte offset
/// just past its line. A last line without its newline (the writer was
/// stopped mid-line) is left out; any other line that is not a record is
/// an error.
fn read_records(path: &Path) -> Result<Vec<(Record, u64)>, ShardError> {
    let file = File::open(path).map_err(|source| ShardError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = BufReader::new(file);
    let mut out = Vec::new();
    let mut line = Vec::new();
    let mut offset = 0u64;
    for number in 1.. {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| ShardError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        offset += n as u64;
        let record: Record =
            serde_json::from_slice(&line).map_err(|e| ShardError::NotShardFile {
                path: path.to_path_buf(),
                line: number,
                reason: e.to_string(),
            })?;
        let misplaced = match (&record, out.is_empty()) {
            (Record::Shard(_), first) => !first,
            (_, true) => true,
            (_, false) => matches!(out.last(), Some((Record::End(_), _))),
        };
        if misplaced {
            return Err(ShardError::NotShardFile {
                path: path.to_path_buf(),
                line: number,
                reason: "records out of order: a shard file is a header, then results, then an end record".into(),
            });
        }
        out.push((record, offset));
    }
    Ok(out)
}

/// A shard file as `merge` needs it: complete, or an error saying what is
/// missing.
#[derive(Debug)]
pub struct ShardFile {
    pub path: PathBuf,
    pub header: Header,
    pub images: Vec<(usize, ImageResult)>,
    pub videos: Vec<VideoRecord>,
    pub end: End,
}

impl ShardFile {
    /// Reads a complete shard file.
    pub fn read(path: &Path) -> Result<ShardFile, ShardError> {
        let other = |why: String| ShardError::Other {
            path: path.to_path_buf(),
            why,
        };
        let mut records = read_records(path)?.into_iter().map(|(r, _)| r);
        let header = match records.next() {
            Some(Record::Shard(h)) => h,
            _ => return Err(other("empty: the shard never started, or was stopped before writing anything; run it again".into())),
        };
        if header.format != FORMAT {
            return Err(other(format!(
                "shard file format {} (written by onlooker {}); this onlooker reads format {FORMAT}",
                header.format, header.onlooker
            )));
        }
        let (mut images, mut videos, mut end) = (Vec::new(), Vec::new(), None);
        for r in records {
            match r {
                Record::Image { input, result } => images.push((input, result)),
                Record::Video(v) => videos.push(v),
                Record::End(e) => end = Some(e),
                Record::Shard(_) => {}
            }
        }
        let done = images.len() + videos.len();
        let end = match end {
            Some(e) if e.images + e.videos == done && done == header.inputs => e,
            _ => {
                return Err(other(format!(
                    "shard {} is incomplete: {done} of its {} inputs, and no end record; it was interrupted: run it again (it resumes where it stopped)",
                    header.shard, header.inputs
                )))
            }
        };
        Ok(ShardFile {
            path: path.to_path_buf(),
            header,
            images,
            videos,
            end,
        })
    }
}

/// What a shard file holds so far, for its end record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub images: usize,
    pub videos: usize,
    pub failed: usize,
}

impl ShardFile {
    /// Counts the records of the shard file at `path` (complete or not).
    pub fn count(path: &Path) -> Result<Counts, ShardError> {
        let mut c = Counts::default();
        for (r, _) in read_records(path)? {
            match r {
                Record::Image { result, .. } => {
                    c.images += 1;
                    c.failed += usize::from(result.error.is_some());
                }
                Record::Video(v) => {
                    c.videos += 1;
                    c.failed += usize::from(v.result.error.is_some());
                }
                _ => {}
            }
        }
        Ok(c)
    }
}

/// Checks that `files` are every shard of one batch, each once.
pub fn check_batch(files: &[ShardFile]) -> Result<(), ShardError> {
    let Some(first) = files.first() else {
        return Err(ShardError::Usage("merge needs the shard files".into()));
    };
    let name = |f: &ShardFile| format!("{} (shard {})", f.path.display(), f.header.shard);
    for f in &files[1..] {
        if !f.header.same_batch(&first.header) {
            let what = if f.header.shard.count != first.header.shard.count {
                "a different number of shards"
            } else if f.header.roots != first.header.roots {
                "other folders"
            } else if f.header.inputs_total != first.header.inputs_total {
                "a different number of inputs (the folders changed between the shards' runs: run the shards again)"
            } else if f.header.settings != first.header.settings {
                "other settings"
            } else {
                "another onlooker version"
            };
            return Err(ShardError::NotOneBatch(format!(
                "{} and {} are not shards of one batch: {what}",
                name(first),
                name(f)
            )));
        }
    }
    let count = first.header.shard.count;
    let mut seen: Vec<Option<&ShardFile>> = vec![None; count as usize];
    for f in files {
        let slot = &mut seen[f.header.shard.index as usize];
        if let Some(other) = slot {
            return Err(ShardError::NotOneBatch(format!(
                "{} and {} are the same shard {}",
                other.path.display(),
                f.path.display(),
                f.header.shard
            )));
        }
        *slot = Some(f);
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_none())
        .map(|(i, _)| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        let given: Vec<String> = files.iter().map(name).collect();
        return Err(ShardError::NotOneBatch(format!(
            "shard {} missing: {} given, {} made; given: {}",
            if missing.len() == 1 {
                format!("{} is", missing[0])
            } else {
                format!("{} are", missing.join(", "))
            },
            files.len(),
            count,
            given.join(", ")
        )));
    }
    let mut inputs = HashSet::new();
    for f in files {
        let indices = f.images.iter().map(|(i, _)| *i);
        for i in indices.chain(f.videos.iter().map(|v| v.input)) {
            if i >= f.header.inputs_total || !inputs.insert(i) {
                return Err(ShardError::Other {
                    path: f.path.clone(),
                    why: format!("input {i} is out of range or also in another shard"),
                });
            }
        }
    }
    Ok(())
}

/// Where a shard run starts.
pub enum Resume {
    /// The file holds this shard complete: nothing to do.
    Complete(End),
    /// Records are appended to `writer`; the inputs in `done` are in the
    /// file already.
    Open {
        writer: ShardWriter,
        done: HashSet<usize>,
    },
}

/// Opens the shard file at `path` for the shard `header` describes:
/// created with its header when absent or empty, else checked to be this
/// shard's and cut after its last complete record.
pub fn open(path: &Path, header: &Header) -> Result<Resume, ShardError> {
    let write_err = |source| ShardError::Write {
        path: path.to_path_buf(),
        source,
    };
    let records = match std::fs::metadata(path) {
        // A pipe or a device cannot be read back to resume a stopped shard
        // (and reading a pipe would wait for a writer that never comes).
        Ok(m) if !m.is_file() => {
            return Err(ShardError::Other {
                path: path.to_path_buf(),
                why: "is not a regular file: a shard file is read back to resume a stopped shard; give a file".into(),
            })
        }
        Ok(m) if m.len() > 0 => read_records(path)?,
        _ => Vec::new(),
    };
    let Some((Record::Shard(found), _)) = records.first() else {
        // Nothing complete: a shard stopped while writing its header, or a
        // file that is not a shard file at all, which is left alone.
        if !records.is_empty() || !starts_like_a_shard_file(path) {
            return Err(ShardError::Other {
                path: path.to_path_buf(),
                why: "is not an onlooker shard file; give another --jsonl file".into(),
            });
        }
        let file = File::create(path).map_err(write_err)?;
        let mut writer = ShardWriter::new(file, path);
        writer.write(&Record::Shard(header.clone()))?;
        return Ok(Resume::Open {
            writer,
            done: HashSet::new(),
        });
    };
    if found != header {
        return Err(ShardError::Other {
            path: path.to_path_buf(),
            why: format!(
                "holds shard {} of another run (other inputs, settings or onlooker version) than this shard {}; give another --jsonl file, or remove this one to start the shard over",
                found.shard, header.shard
            ),
        });
    }
    if let Some((Record::End(end), _)) = records.last() {
        return Ok(Resume::Complete(end.clone()));
    }
    let keep = records.last().map_or(0, |(_, offset)| *offset);
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(write_err)?;
    file.set_len(keep).map_err(write_err)?;
    let mut file = file;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).map_err(write_err)?;
    let done = records.iter().filter_map(|(r, _)| r.input()).collect();
    Ok(Resume::Open {
        writer: ShardWriter::new(file, path),
        done,
    })
}

/// Empty, or the beginning of a header line.
fn starts_like_a_shard_file(path: &Path) -> bool {
    let mut head = Vec::new();
    let read = File::open(path).and_then(|f| f.take(10).read_to_end(&mut head));
    match read {
        Ok(_) => {
            head.is_empty() || b"{\"shard\":".starts_with(&head) || head.starts_with(b"{\"shard\":")
        }
        Err(_) => !path.exists(),
    }
}

/// Writes records, one per line, each flushed to the file as it is written
/// so that an interrupted shard keeps every finished input.
pub struct ShardWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl ShardWriter {
    fn new(file: File, path: &Path) -> ShardWriter {
        ShardWriter {
            out: BufWriter::new(file),
            path: path.to_path_buf(),
        }
    }

    pub fn write(&mut self, record: &Record) -> Result<(), ShardError> {
        let mut line = serde_json::to_vec(record).map_err(|e| ShardError::Write {
            path: self.path.clone(),
            source: e.into(),
        })?;
        line.push(b'\n');
        self.out
            .write_all(&line)
            .and_then(|_| self.out.flush())
            .map_err(|source| ShardError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse_what_they_cannot_be() {
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, count: 3 });
        for bad in ["3/3", "1", "a/3", "0/0", "-1/3", "1/3/4"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_environment_of_slurm_and_kubernetes_names_the_shard() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(
            Shard::from_env(slurm).unwrap(),
            Shard { index: 2, count: 3 }
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "0"), ("ONLOOKER_SHARDS", "4")]);
        assert_eq!(Shard::from_env(k8s).unwrap(), Shard { index: 0, count: 4 });
        let k8s_without_count = env(&[("JOB_COMPLETION_INDEX", "0")]);
        let e = Shard::from_env(k8s_without_count).unwrap_err().to_string();
        assert!(e.contains("ONLOOKER_SHARDS"), "{e}");
        let e = Shard::from_env(env(&[])).unwrap_err().to_string();
        assert!(e.contains("SLURM_ARRAY_TASK_ID"), "{e}");
        // An array numbered from 1 is caught, not silently short of a shard.
        let from_one = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        let e = Shard::from_env(from_one).unwrap_err().to_string();
        assert!(e.contains("numbered from 0"), "{e}");
    }

    #[test]
    fn keys_are_relative_to_the_folder_given() {
        let roots = [PathBuf::from("/mnt/archive"), PathBuf::from("one.jpg")];
        assert_eq!(
            key(&roots, Path::new("/mnt/archive/2024/a.jpg")),
            "2024/a.jpg"
        );
        assert_eq!(key(&roots, Path::new("one.jpg")), "one.jpg");
        let elsewhere = [PathBuf::from("/data/archive")];
        assert_eq!(
            key(&elsewhere, Path::new("/data/archive/2024/a.jpg")),
            key(&roots, Path::new("/mnt/archive/2024/a.jpg"))
        );
    }

    /// Every input is in exactly one shard, the shards are about even, and
    /// adding files moves none of the others.
    #[test]
    fn assignment_is_a_partition_that_adding_files_does_not_disturb() {
        let names: Vec<String> = (0..3000)
            .map(|i| format!("d{}/IMG_{i:04}.jpg", i % 7))
            .collect();
        let shards: Vec<Shard> = (0..3).map(|k| Shard::new(k, 3).unwrap()).collect();
        let owner = |name: &str| {
            let owners: Vec<u32> = shards
                .iter()
                .filter(|s| s.owns(name))
                .map(|s| s.index)
                .collect();
            assert_eq!(owners.len(), 1, "{name}: {owners:?}");
            owners[0]
        };
        let before: Vec<u32> = names.iter().map(|n| owner(n)).collect();
        for k in 0..3 {
            let n = before.iter().filter(|&&o| o == k).count();
            assert!((900..=1100).contains(&n), "shard {k} has {n} of 3000");
        }
        // The same files, with 500 more among them: each keeps its shard.
        let mut grown = names.clone();
        grown.extend((0..500).map(|i| format!("new/IMG_{i:04}.jpg")));
        grown.sort();
        for (name, was) in names.iter().zip(&before) {
            assert_eq!(owner(name), *was, "{name} moved");
        }
    }

    fn header(index: u32) -> Header {
        Header {
            format: FORMAT,
            onlooker: "test".into(),
            shard: Shard { index, count: 2 },
            roots: vec!["photos".into()],
            inputs_total: 3,
            inputs: 2,
            settings: Settings::of(&Options::default(), &VideoOptions::default(), false),
        }
    }

    fn image(input: usize) -> Record {
        Record::Image {
            input,
            result: ImageResult {
                path: format!("photos/{input}.jpg"),
                ..Default::default()
            },
        }
    }

    fn end(images: usize) -> Record {
        Record::End(End {
            images,
            videos: 0,
            failed: 0,
            timed_images: images,
            seconds: 1.0,
        })
    }

    fn writer(resume: Resume) -> (ShardWriter, HashSet<usize>) {
        match resume {
            Resume::Open { writer, done } => (writer, done),
            Resume::Complete(_) => panic!("complete"),
        }
    }

    #[test]
    fn an_interrupted_shard_resumes_after_its_last_complete_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("shard-0.jsonl");
        let (mut w, done) = writer(open(&p, &header(0)).unwrap());
        assert!(done.is_empty());
        w.write(&image(0)).unwrap();
        drop(w);
        // Killed mid-line.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"image":{"input":2,"res"#).unwrap();
        drop(f);
        let e = ShardFile::read(&p).unwrap_err().to_string();
        assert!(
            e.contains("shard-0.jsonl") && e.contains("incomplete: 1 of its 2"),
            "{e}"
        );

        let (mut w, done) = writer(open(&p, &header(0)).unwrap());
        assert_eq!(done, HashSet::from([0]));
        w.write(&image(2)).unwrap();
        w.write(&end(2)).unwrap();
        drop(w);
        let file = ShardFile::read(&p).unwrap();
        let inputs: Vec<usize> = file.images.iter().map(|(i, _)| *i).collect();
        assert_eq!(inputs, [0, 2]);
        assert!(matches!(open(&p, &header(0)).unwrap(), Resume::Complete(_)));
        // Another shard's file is never taken over.
        let e = open(&p, &header(1)).err().unwrap().to_string();
        assert!(e.contains("another run"), "{e}");
    }

    #[test]
    fn merge_names_the_missing_and_the_doubled_shard() {
        let d = tempfile::tempdir().unwrap();
        let made = std::cell::Cell::new(0);
        let complete = |index: u32, inputs: &[usize]| {
            made.set(made.get() + 1);
            let p = d.path().join(format!("s{index}-{}.jsonl", made.get()));
            let mut h = header(index);
            h.inputs = inputs.len();
            let (mut w, _) = writer(open(&p, &h).unwrap());
            for &i in inputs {
                w.write(&image(i)).unwrap();
            }
            w.write(&end(inputs.len())).unwrap();
            ShardFile::read(&p).unwrap()
        };
        let e = check_batch(&[complete(0, &[0, 2])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("shard 1/2 is missing"), "{e}");
        let e = check_batch(&[complete(0, &[0, 2]), complete(0, &[1])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("same shard 0/2"), "{e}");
        check_batch(&[complete(0, &[0, 2]), complete(1, &[1])]).unwrap();
        let e = check_batch(&[complete(0, &[0, 2]), complete(1, &[2])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("also in another shard"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_a_shard_file_is_named_with_its_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("results.jsonl");
        std::fs::write(&p, "{\"path\":\"a.jpg\"}\n").unwrap();
        let e = ShardFile::read(&p).unwrap_err().to_string();
        assert!(
            e.contains("results.jsonl: line 1 is not a shard record"),
            "{e}"
        );
        assert!(
            open(&p, &header(0)).is_err(),
            "a plain --jsonl file is not overwritten"
        );
    }
}
