//! A video's keyframes in the report folder (or inline, as `data:` URLs, on
//! the workshop page, which writes nothing). Each sample the page shows
//! (every person's best face, every object kind's surest sighting) is read
//! again from the video (`video::keyframes::Keyframes::read`: ffmpeg seeks
//! to it, one short child process per sample, frames over a pipe); the
//! timeline's lane thumbnails are cut from its clean pixels
//! (`report/thumbs`), then it is drawn like an annotated photo
//! (`report/annotate`, faces labelled with their person) and written as
//! `keyframes/v<video>-f<sample>.jpg`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use rayon::prelude::*;

use super::{annotate, thumbs, write_atomic_unsynced};
use crate::geometry::BBox;
use crate::result::{Face, ImageResult, VideoResult};
use crate::video::keyframes::Keyframes;

/// The folder of keyframes and their thumbnails in the report.
pub const KEYFRAMES: &str = "keyframes";

/// What one video's keyframes gave the page; paths are relative to the
/// report folder.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct VideoFiles {
    /// Per person id: its thumbnail and the annotated keyframe it is from.
    pub persons: BTreeMap<u32, (String, String)>,
    /// Per object lane (index into the video's `objects`): the same.
    pub objects: BTreeMap<usize, (String, String)>,
    /// The annotated keyframes in time order, with their time (seconds)
    /// and who and what they show.
    pub keyframes: Vec<(String, f64, String)>,
    /// Why some keyframes could not be made.
    pub problem: Option<String>,
}

/// Whether `name` has the form of a keyframe file: `v<digits>-`, then `f`,
/// `p` or `o` and digits, `.jpg`.
pub fn is_keyframe_name(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    name.strip_prefix('v')
        .and_then(|n| n.strip_suffix(".jpg"))
        .and_then(|n| n.split_once('-'))
        .is_some_and(|(v, rest)| {
            digits(v) && rest.strip_prefix(['f', 'p', 'o']).is_some_and(digits)
        })
}

/// One sample to read again and what to make of it.
struct Job<'a> {
    video: usize,
    keyframes: &'a Keyframes,
    size: (u32, u32),
    sample: u64,
    /// Thumbnails: file name, box, and whose (person id or object lane).
    thumbs: Vec<(String, BBox, Whose)>,
}

#[derive(Clone, Copy)]
enum Whose {
    Person(u32),
    Object(usize),
}

/// Where the keyframes go: files in a report folder, or `data:` URLs for
/// the workshop page (which writes nothing).
#[derive(Clone, Copy)]
enum Sink<'a> {
    Folder(&'a Path),
    Inline,
}

impl Sink<'_> {
    /// Stores one JPEG; returns what the page links (a path relative to
    /// the report folder, or a `data:` URL).
    fn store(self, name: &str, jpeg: &[u8]) -> Result<String, String> {
        match self {
            Sink::Folder(folder) => {
                let dest = folder.join(name);
                write_atomic_unsynced(&dest, jpeg)
                    .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
                Ok(format!("{KEYFRAMES}/{name}"))
            }
            Sink::Inline => {
                use base64::Engine as _;
                Ok(format!(
                    "data:image/jpeg;base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(jpeg)
                ))
            }
        }
    }
}

/// Writes the keyframes of `videos` (`keyframes[i]` belongs to
/// `videos[i]`; `None`: nothing analysed) into `dir/keyframes`, on
/// `pool`; with `clean` (the folder held an earlier report), keyframe files
/// this run did not write are removed. Returns what the page links, one
/// entry per video. A keyframe that cannot be made is left off and said,
/// never fatal.
pub fn write(
    dir: &Path,
    videos: &[VideoResult],
    keyframes: &[Option<Keyframes>],
    pool: &rayon::ThreadPool,
    clean: bool,
) -> Vec<VideoFiles> {
    let folder = dir.join(KEYFRAMES);
    let jobs = jobs(videos, keyframes);
    if jobs.is_empty() {
        if clean {
            remove_stale(&folder, &HashSet::new());
        }
        return vec![VideoFiles::default(); videos.len()];
    }
    if let Err(e) = std::fs::create_dir_all(&folder) {
        let problem = format!("cannot create {}: {e}", folder.display());
        let mut files = vec![VideoFiles::default(); videos.len()];
        for j in &jobs {
            files[j.video]
                .problem
                .get_or_insert_with(|| problem.clone());
        }
        return files;
    }
    let (files, written) = make_all(&jobs, videos.len(), pool, Sink::Folder(&folder));
    if clean {
        remove_stale(&folder, &written);
    }
    files
}

/// The same keyframes as [`write`], as `data:` URLs: nothing is written.
pub fn inline(
    videos: &[VideoResult],
    keyframes: &[Option<Keyframes>],
    pool: &rayon::ThreadPool,
) -> Vec<VideoFiles> {
    make_all(&jobs(videos, keyframes), videos.len(), pool, Sink::Inline).0
}

/// One job per sample to read again: every person's best face and every
/// object lane's surest sighting, grouped by the sample they are on.
fn jobs<'a>(videos: &[VideoResult], keyframes: &'a [Option<Keyframes>]) -> Vec<Job<'a>> {
    let mut jobs: Vec<Job> = Vec::new();
    for (v, (video, k)) in videos.iter().zip(keyframes).enumerate() {
        let Some(k) = k else { continue };
        let mut by_sample: BTreeMap<u64, Vec<(String, BBox, Whose)>> = BTreeMap::new();
        for p in &video.persons {
            by_sample
                .entry(k.sample(p.best_face.frame_time))
                .or_default()
                .push((
                    format!("v{}-p{}.jpg", v + 1, p.id),
                    p.best_face.bbox,
                    Whose::Person(p.id),
                ));
        }
        for (label, sample, bbox) in &k.objects {
            let Some(lane) = video.objects.iter().position(|o| o.label == *label) else {
                continue;
            };
            by_sample.entry(*sample).or_default().push((
                format!("v{}-o{}.jpg", v + 1, lane + 1),
                *bbox,
                Whose::Object(lane),
            ));
        }
        jobs.extend(by_sample.into_iter().map(|(sample, thumbs)| Job {
            video: v,
            keyframes: k,
            size: (video.width, video.height),
            sample,
            thumbs,
        }));
    }
    jobs
}

/// Makes every job on `pool`; returns what the page links per video and
/// the names of the files stored.
fn make_all(
    jobs: &[Job],
    videos: usize,
    pool: &rayon::ThreadPool,
    sink: Sink,
) -> (Vec<VideoFiles>, HashSet<String>) {
    let mut files = vec![VideoFiles::default(); videos];
    let done: Vec<Result<Made, String>> =
        pool.install(|| jobs.par_iter().map(|j| make(sink, j)).collect());
    let mut written: HashSet<String> = HashSet::new();
    for (j, made) in jobs.iter().zip(done) {
        let f = &mut files[j.video];
        match made {
            Ok(m) => {
                for (src, name, whose) in m.thumbs {
                    match whose {
                        Whose::Person(id) => f.persons.insert(id, (src, m.frame.clone())),
                        Whose::Object(lane) => f.objects.insert(lane, (src, m.frame.clone())),
                    };
                    written.insert(name);
                }
                f.keyframes.push((m.frame, m.time, m.caption));
                written.insert(m.name);
            }
            Err(e) => {
                f.problem.get_or_insert_with(|| {
                    format!(
                        "keyframe at {}: {e}",
                        seconds(j.sample as f64 / j.keyframes.fps)
                    )
                });
            }
        }
    }
    (files, written)
}

/// What one job stored.
struct Made {
    /// What the page links for the annotated keyframe, and its file name.
    frame: String,
    name: String,
    time: f64,
    caption: String,
    /// Per thumbnail: what the page links, its file name, whose.
    thumbs: Vec<(String, String, Whose)>,
}

fn make(sink: Sink, job: &Job) -> Result<Made, String> {
    let k = job.keyframes;
    let mut rgb = k.read(job.sample).map_err(|e| e.to_string())?;
    if rgb.dimensions() != job.size {
        return Err(format!(
            "the video changed since it was analysed ({}x{} then, {}x{} now)",
            job.size.0,
            job.size.1,
            rgb.width(),
            rgb.height()
        ));
    }
    let thumbs = job
        .thumbs
        .iter()
        .filter_map(|(name, bbox, whose)| {
            let jpeg = thumbs::jpeg(&rgb, bbox).ok()?;
            let src = sink.store(name, &jpeg).ok()?;
            Some((src, name.clone(), *whose))
        })
        .collect();
    let empty = ImageResult::default();
    let found = k.frames.get(&job.sample).unwrap_or(&empty);
    annotate::annotate_labelled(&mut rgb, found, person_label);
    let jpeg = annotate::encode_jpeg(&rgb)?;
    let name = format!("v{}-f{}.jpg", job.video + 1, job.sample);
    let frame = sink.store(&name, &jpeg)?;
    let time = job.sample as f64 / k.fps;
    Ok(Made {
        frame,
        name,
        time,
        caption: caption(time, found),
        thumbs,
    })
}

/// A face on a keyframe: its person (`P2`), or `?` when the face was not
/// reliable enough to tell who it is.
pub fn person_label(_index: usize, face: &Face) -> String {
    match face.identity.and_then(|i| i.person) {
        Some(id) => format!("P{id}"),
        None => "?".into(),
    }
}

/// "0:03.5: P1, P2, tie, cup".
fn caption(time: f64, found: &ImageResult) -> String {
    let persons: BTreeSet<u32> = found
        .faces
        .iter()
        .filter_map(|f| f.identity.and_then(|i| i.person))
        .collect();
    let mut what: Vec<String> = persons.iter().map(|p| format!("P{p}")).collect();
    let mut labels: Vec<&str> = Vec::new();
    for o in &found.objects {
        if !labels.contains(&o.label) {
            labels.push(o.label);
        }
    }
    what.extend(labels.iter().map(|l| l.to_string()));
    if what.is_empty() {
        seconds(time)
    } else {
        format!("{}: {}", seconds(time), what.join(", "))
    }
}

/// "0:03.5", "1:02:03.0": a sample's time to the tenth of a second.
pub fn seconds(t: f64) -> String {
    let tenths = (t.max(0.0) * 10.0).round() as u64;
    let (s, tenth) = (tenths / 10, tenths % 10);
    if s >= 3600 {
        format!("{}:{:02}:{:02}.{tenth}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}.{tenth}", s / 60, s % 60)
    }
}

/// Keyframe files in `folder` this run did not write (an earlier report's).
fn remove_stale(folder: &Path, written: &HashSet<String>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if is_keyframe_name(&name)
            && !written.contains(&name)
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframe_names_and_times() {
        for n in ["v1-f0.jpg", "v12-p3.jpg", "v2-o10.jpg"] {
            assert!(is_keyframe_name(n), "{n}");
        }
        for n in [
            "v1-x0.jpg",
            "v-f1.jpg",
            "v1-f.jpg",
            "v1-f1.png",
            "p1-1.jpg",
            "v1f1.jpg",
        ] {
            assert!(!is_keyframe_name(n), "{n}");
        }
        assert_eq!(seconds(3.5), "0:03.5");
        assert_eq!(seconds(62.0), "1:02.0");
        assert_eq!(seconds(3723.25), "1:02:03.3");
    }
}
