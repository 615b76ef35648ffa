//! Results written as they arrive: JSON Lines output and running totals, so
//! that a batch of any size needs no more memory than a batch of ten.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use crate::pipeline::ImageResult;
use crate::report::Summary;

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

fn looks_like_image(path: &Path) -> bool {
    let mut head = [0u8; 16];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    n > 0 && image::guess_format(&head[..n]).is_ok()
}

/// Totals over a batch, updated one result at a time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub images: usize,
    pub failed: usize,
    pub faces: usize,
    pub objects: usize,
    pub people: usize,
}

impl Tally {
    pub fn add(&mut self, r: &ImageResult) {
        self.images += 1;
        self.failed += usize::from(r.error.is_some());
        self.faces += r.faces.len();
        self.objects += r.objects.len();
        self.people += r.people;
    }

    pub fn summary(&self, elapsed_seconds: f64) -> Summary {
        Summary {
            images: self.images,
            analysed: self.images - self.failed,
            failed: self.failed,
            faces: self.faces,
            objects: self.objects,
            people: self.people,
            elapsed_seconds,
            images_per_second: if elapsed_seconds > 0.0 {
                self.images as f64 / elapsed_seconds
            } else {
                0.0
            },
            // Findings and caveats need every result: see `Summary::of`.
            findings: Default::default(),
            attribute_caveats: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(path: &str, people: usize, error: Option<&str>) -> ImageResult {
        ImageResult {
            path: path.into(),
            people,
            error: error.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn tally_matches_the_summary_of_all_results() {
        let rs = [
            result("a.jpg", 2, None),
            result("b.jpg", 0, Some("corrupt")),
            result("c.jpg", 1, None),
        ];
        let mut t = Tally::default();
        rs.iter().for_each(|r| t.add(r));
        assert_eq!(t.summary(1.5), Summary::of(&rs, 1.5));
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
