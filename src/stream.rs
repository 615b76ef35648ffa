//! Results written as they arrive: JSON Lines output and running totals, so
//! that a batch of any size needs no more memory than a batch of ten.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use crate::attributes;
use crate::doubts;
use crate::findings::Names;
use crate::result::{Attribute, Findings, ImageResult, Summary};

/// One JSON object per image, one per line, flushed line by line so that a
/// reader (`tail -f`, another program) sees every result as soon as it is
/// written, and an interrupted run leaves every finished image on disk.
pub struct JsonlWriter {
    out: BufWriter<Box<dyn Write + Send>>,
}

impl JsonlWriter {
    /// Creates (or truncates) `path`; `-` is standard output. Refuses to
    /// replace a file that looks like an image: the inputs are never written.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        if path == Path::new("-") {
            return Ok(Self::new(Box::new(std::io::stdout())));
        }
        if looks_like_image(path) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} is an image: refusing to overwrite it with results",
                    path.display()
                ),
            ));
        }
        Ok(Self::new(Box::new(File::create(path)?)))
    }

    pub fn new(out: Box<dyn Write + Send>) -> Self {
        JsonlWriter {
            out: BufWriter::new(out),
        }
    }

    pub fn write(&mut self, result: &ImageResult) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, result)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// Only a regular file can be an input photo. Anything else (`/dev/stdout`,
/// a named pipe) is not read: opening a pipe to read it would wait for a
/// writer that never comes.
fn looks_like_image(path: &Path) -> bool {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = [0u8; 16];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    n > 0 && image::guess_format(&head[..n]).is_ok()
}

/// Totals over a batch, updated one result at a time.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub images: usize,
    pub failed: usize,
    pub faces: usize,
    pub objects: usize,
    pub people: usize,
    pub text_lines: usize,
    /// The path and metadata of each image whose file had any, and its
    /// identifying text lines (no pixels, no detections; a few hundred
    /// bytes each): the batch findings compare every photo's time, place
    /// and device, and cite what its text gives away, so they need them all.
    metadata: Vec<ImageResult>,
    /// Face attributes seen so far, for the caveats that concern them.
    attributes: Vec<Attribute>,
    /// Pixel hashes seen so far: a picture seen again is not counted again.
    pictures: HashSet<String>,
    duplicates: usize,
    faces_without_person: usize,
}

impl Tally {
    pub fn add(&mut self, r: &ImageResult) {
        self.images += 1;
        self.failed += usize::from(r.error.is_some());
        // Which copy of a picture counts depends on arrival order, but the
        // copies' detections are the same, so the totals are not.
        let repeat = match &r.pixels_sha256 {
            Some(h) => !self.pictures.insert(h.clone()),
            None => false,
        };
        if repeat {
            self.duplicates += 1;
        } else {
            self.faces += r.faces.len();
            self.faces_without_person += r
                .faces
                .iter()
                .filter(|f| !doubts::counts_as_human(f))
                .count();
            self.objects += r.objects.len();
            self.people += r.people;
            self.text_lines += r.text.len();
        }
        let text: Vec<_> = r
            .text
            .iter()
            .filter(|l| l.kind.is_some())
            .cloned()
            .collect();
        if !r.metadata.is_empty() || !text.is_empty() {
            self.metadata.push(ImageResult {
                path: r.path.clone(),
                metadata: r.metadata.clone(),
                text,
                ..Default::default()
            });
        }
        for a in r.faces.iter().flat_map(|f| f.attributes.present()) {
            if !self.attributes.contains(&a) {
                self.attributes.push(a);
            }
        }
    }

    /// The tally of a whole batch at once.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a ImageResult>) -> Self {
        let mut t = Tally::default();
        results.into_iter().for_each(|r| t.add(r));
        t
    }

    /// The images whose files had metadata or identifying text (path,
    /// metadata and those lines only).
    pub fn metadata(&self) -> &[ImageResult] {
        &self.metadata
    }

    /// The batch summary: the one place it is computed, whether results
    /// were kept or only streamed through.
    pub fn summary(&self, elapsed_seconds: f64) -> Summary {
        self.summary_named(elapsed_seconds, Names::Off)
    }

    /// The summary with the places described in words by `names`.
    pub fn summary_named(&self, elapsed_seconds: f64, names: Names) -> Summary {
        Summary {
            images: self.images,
            analysed: self.images - self.failed,
            failed: self.failed,
            faces: self.faces,
            objects: self.objects,
            people: self.people,
            text_lines: self.text_lines,
            elapsed_seconds,
            images_per_second: if elapsed_seconds > 0.0 {
                self.images as f64 / elapsed_seconds
            } else {
                0.0
            },
            findings: Findings::named(&self.metadata, names),
            attribute_caveats: attributes::caveats_for(&self.attributes),
            // Filled by the persons pass (`run`), which needs all faces.
            persons: Vec::new(),
            duplicates: self.duplicates,
            faces_without_person: self.faces_without_person,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn results_stream_into_a_pipe_without_reading_it_first() {
        let d = tempfile::tempdir().unwrap();
        let pipe = d.path().join("results.jsonl");
        let reader = crate::report::tests::fifo_with_reader(&pipe);
        // Reading the pipe to see whether it holds an image would wait for
        // a writer, and this is the writer: run it aside, so that a
        // regression fails here instead of hanging the tests.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut w = JsonlWriter::create(&pipe).unwrap();
            w.write(&result("a.jpg", 0, None)).unwrap();
            drop(w);
            done.send(()).unwrap();
        });
        finished
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("JsonlWriter::create waited on the pipe");
        let got = String::from_utf8(reader.join().unwrap()).unwrap();
        assert!(got.starts_with("{\"path\":\"a.jpg\""), "{got}");
    }

    fn result(path: &str, people: usize, error: Option<&str>) -> ImageResult {
        ImageResult {
            path: path.into(),
            people,
            error: error.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn tally_counts_findings_and_caveats_of_a_known_batch() {
        // Two photos with a time, a place and a camera (the findings), and
        // a face with an age (the caveats), next to plain and failed ones.
        let day_out = |name: &str| {
            let file = format!("{}/samples/day_out/{name}", env!("CARGO_MANIFEST_DIR"));
            let mut r = result(name, 1, None);
            r.metadata = crate::exif::read(&std::fs::read(file).unwrap());
            assert!(r.metadata.position().is_some(), "{name}");
            r
        };
        let mut aged = result("e.jpg", 1, None);
        aged.faces.push(crate::result::Face {
            attributes: crate::result::FaceAttributes {
                age: Some(30.0),
                ..Default::default()
            },
            ..Default::default()
        });
        let rs = [
            result("a.jpg", 2, None),
            day_out("DSCF0412.jpg"),
            result("b.jpg", 0, Some("corrupt")),
            aged,
            day_out("DSCF0452.jpg"),
            result("c.jpg", 1, None),
        ];
        let mut t = Tally::default();
        rs.iter().for_each(|r| t.add(r));
        let streamed = t.summary(1.5);
        assert_eq!(streamed, Tally::of(&rs).summary(1.5));
        assert_eq!(
            (
                streamed.images,
                streamed.analysed,
                streamed.failed,
                streamed.faces,
                streamed.people
            ),
            (6, 5, 1, 1, 6)
        );
        assert_eq!(streamed.images_per_second, 4.0);
        assert_eq!(streamed.findings.timeline.len(), 2);
        assert!(!streamed.attribute_caveats.is_empty());
        assert_eq!(t.metadata().len(), 2, "only images with metadata");
    }

    /// A picture seen again adds nothing to the detection totals, in
    /// whichever order the copies arrive; its metadata still counts.
    #[test]
    fn a_repeated_picture_is_counted_once() {
        let pic = |path: &str, hash: &str| {
            let mut r = result(path, 2, None);
            r.pixels_sha256 = Some(hash.into());
            r.objects.push(crate::result::Object {
                label: "giraffe",
                class_id: 23,
                score: 0.9,
                bbox: Default::default(),
            });
            r.faces.push(crate::result::Face::default());
            r
        };
        let mut copy = pic("copy.jpg", "aa");
        copy.metadata.owner = Some("Alex Example".into());
        let rs = [pic("a.jpg", "aa"), pic("b.jpg", "bb"), copy];
        for order in [[0, 1, 2], [2, 1, 0]] {
            let s = Tally::of(order.map(|i| &rs[i])).summary(1.0);
            assert_eq!(
                (s.images, s.faces, s.objects, s.people, s.duplicates),
                (3, 2, 2, 4, 1)
            );
            assert_eq!(s.findings.sentences.len(), 1, "the copy's owner is found");
        }
    }

    #[test]
    fn jsonl_is_one_object_per_line_and_never_replaces_an_image() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.jsonl");
        let mut w = JsonlWriter::create(&p).unwrap();
        w.write(&result("a.jpg", 1, None)).unwrap();
        w.write(&result("b\nc.jpg", 0, Some("bad"))).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(v["path"], "b\nc.jpg");
        assert_eq!(v["error"], "bad");

        let img = d.path().join("photo.results");
        image::RgbImage::new(2, 2)
            .save_with_format(&img, image::ImageFormat::Png)
            .unwrap();
        let before = std::fs::read(&img).unwrap();
        assert!(JsonlWriter::create(&img).is_err());
        assert_eq!(std::fs::read(&img).unwrap(), before);
    }
}
