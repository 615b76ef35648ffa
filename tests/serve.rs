//! `onlooker serve` as a client sees it: the real binary listening on an
//! ephemeral port of 127.0.0.1, a real HTTP client (`ureq`). Uploads give
//! the document `analyze --json` gives for the same files; bad bodies get
//! 400, oversize ones 413, a full queue 503; a corrupt image is 200 with
//! its error; nothing is written to the temp or working folder; Ctrl-C
//! stops the server cleanly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::samples;

/// A running `onlooker serve`, stopped with SIGINT when dropped.
struct Server {
    child: Child,
    url: String,
    /// Its working folder and TMPDIR, empty at start.
    dir: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut child = common::onlooker()
            .env("TMPDIR", dir.path())
            .current_dir(dir.path())
            .args(["serve", "--port", "0", "--models"])
            .arg(onlooker::runtime::default_models_dir())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start onlooker serve");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("onlooker serve: ")
            .unwrap_or_else(|| panic!("first line names the address: {line:?}"))
            .to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        // The rest of stdout, read so the server never blocks on it.
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = out.read_to_string(&mut rest);
        });
        Server { child, url, dir }
    }

    /// Sends SIGINT (Ctrl-C) and waits; the exit status and stderr.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id() as libc::pid_t;
        unsafe { libc::kill(pid, libc::SIGINT) };
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "server did not stop within a minute of Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (status, err)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

const BOUNDARY: &str = "onlooker-test-boundary-7f3a";

/// A multipart/form-data body: (field name, file name, bytes).
fn form(parts: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, file, bytes) in parts {
        write!(
            body,
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .unwrap();
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    write!(body, "--{BOUNDARY}--\r\n").unwrap();
    body
}

struct Reply {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

fn post(url: &str, content_type: &str, body: &[u8]) -> Reply {
    let mut r = agent()
        .post(format!("{url}api/analyze"))
        .header("Content-Type", content_type)
        .send(body)
        .expect("request");
    Reply {
        status: r.status().as_u16(),
        retry_after: r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: r.body_mut().read_to_string().unwrap(),
    }
}

fn post_form(url: &str, parts: &[(&str, &str, &[u8])]) -> Reply {
    post(
        url,
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        &form(parts),
    )
}

fn json(r: &Reply) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

/// Boxes rounded to a tenth of a pixel, as compared.
fn boxes(v: &Value) -> Vec<Vec<i64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["box"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| (x.as_f64().unwrap() * 10.0).round() as i64)
                .collect()
        })
        .collect()
}

fn labels(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|o| o["label"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn uploads_give_the_clis_document_and_nothing_is_written() {
    let names = ["astronaut.png", "dog.jpg", "grace_hopper.jpg", "newton.png"];
    let server = Server::start(&["--threads", "2"]);
    let health = agent()
        .get(format!("{}healthz", server.url))
        .call()
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);

    let files: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(samples().join(n)).unwrap())
        .collect();
    let parts: Vec<(&str, &str, &[u8])> = names
        .iter()
        .zip(&files)
        .map(|(n, b)| ("file", *n, b.as_slice()))
        .collect();
    let r = post_form(&server.url, &parts);
    assert_eq!(r.status, 200, "{}", r.body);
    let served = json(&r);
    // A second run of the same uploads: the engine is reused.
    let again = post_form(&server.url, &parts);
    assert_eq!(again.status, 200);

    // The CLI on the same files.
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("cli.json");
    let o = common::onlooker()
        .arg("analyze")
        .args(names.iter().map(|n| samples().join(n)))
        .arg("--json")
        .arg(&out)
        .args(["--threads", "2", "--quiet", "--models"])
        .arg(onlooker::runtime::default_models_dir())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cli: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();

    assert_eq!(served["version"], cli["version"]);
    let (si, ci) = (
        served["images"].as_array().unwrap(),
        cli["images"].as_array().unwrap(),
    );
    assert_eq!(si.len(), names.len());
    assert_eq!(ci.len(), names.len());
    let mut faces = 0;
    for ((s, c), name) in si.iter().zip(ci).zip(names) {
        assert_eq!(s["path"], name, "path is the uploaded file name");
        assert!(s["error"].is_null(), "{name}: {}", s["error"]);
        assert_eq!(s["width"], c["width"], "{name}");
        assert_eq!(
            s["faces"].as_array().unwrap().len(),
            c["faces"].as_array().unwrap().len(),
            "{name}"
        );
        assert_eq!(boxes(&s["faces"]), boxes(&c["faces"]), "{name} face boxes");
        assert_eq!(
            boxes(&s["objects"]),
            boxes(&c["objects"]),
            "{name} object boxes"
        );
        assert_eq!(
            labels(&s["objects"]),
            labels(&c["objects"]),
            "{name} labels"
        );
        assert_eq!(
            s["text"].as_array().unwrap().len(),
            c["text"].as_array().unwrap().len()
        );
        assert_eq!(s["pixels_sha256"], c["pixels_sha256"], "{name}");
        assert_eq!(s["metadata"], c["metadata"], "{name}");
        faces += s["faces"].as_array().unwrap().len();
    }
    assert_eq!(faces, 3, "astronaut, Grace Hopper and Newton");
    for key in ["images", "analysed", "failed", "faces", "objects", "people"] {
        assert_eq!(served["summary"][key], cli["summary"][key], "summary.{key}");
    }
    assert_eq!(
        served["summary"]["persons"].as_array().unwrap().len(),
        cli["summary"]["persons"].as_array().unwrap().len()
    );
    // Valid against the published schema, like the CLI's.
    common::validate_document(&served).unwrap();

    // Nothing written: the server's working folder and TMPDIR (one
    // folder) are as empty as at the start.
    let left: Vec<_> = std::fs::read_dir(server.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "the server wrote {left:?}");
    let (status, stderr) = server.stop();
    assert!(status.success(), "Ctrl-C ends cleanly: {status}; {stderr}");
    for name in names {
        assert!(
            !stderr.contains(name),
            "file names logged without --verbose: {stderr}"
        );
    }
}

#[test]
fn bad_bodies_are_400_oversize_413_and_a_corrupt_image_is_its_own_error() {
    let server = Server::start(&[
        "--threads",
        "1",
        "--max-upload-mib",
        "2",
        "--max-file-mib",
        "1",
    ]);
    let url = &server.url;

    let garbage = post(url, "application/octet-stream", b"\x00\x01garbage");
    assert_eq!(garbage.status, 400);
    assert!(json(&garbage)["error"]
        .as_str()
        .unwrap()
        .contains("multipart"));
    let no_boundary = post(url, "multipart/form-data", b"whatever");
    assert_eq!(no_boundary.status, 400, "{}", no_boundary.body);
    assert!(json(&no_boundary)["error"].is_string());
    let truncated = post(
        url,
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\nabc").as_bytes(),
    );
    assert_eq!(truncated.status, 400, "{}", truncated.body);
    assert!(json(&truncated)["error"].is_string());
    let no_file = post_form(url, &[("note", "x.txt", b"hello")]);
    assert_eq!(no_file.status, 400);
    assert!(json(&no_file)["error"].as_str().unwrap().contains("file"));

    // A file over the per-file limit (1 MiB) in a request under the
    // request limit (2 MiB).
    let big = std::fs::read(samples().join("gauss.png")).unwrap();
    assert!(big.len() > 1 << 20 && big.len() < 2 << 20);
    let r = post_form(url, &[("file", "gauss.png", &big)]);
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(json(&r)["error"].as_str().unwrap().contains("per file"));
    // A request declared over the request limit is refused from its
    // header, before its body is read.
    let mut s =
        TcpStream::connect(url.trim_start_matches("http://").trim_end_matches('/')).unwrap();
    write!(
        s,
        "POST /api/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        3u64 << 20
    )
    .unwrap();
    let mut head = String::new();
    BufReader::new(&s).read_line(&mut head).unwrap();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    // A corrupt image among good ones: 200, its error on it alone.
    let dog = std::fs::read(samples().join("dog.jpg")).unwrap();
    // A PNG signature over bytes that are no PNG.
    let corrupt: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDRbroken beyond repair";
    let r = post_form(
        url,
        &[
            ("file", "dog.jpg", &dog),
            ("file", "broken.jpg", corrupt),
            ("file", "empty.png", b""),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = json(&r);
    let images = doc["images"].as_array().unwrap();
    assert_eq!(images.len(), 3);
    assert!(images[0]["error"].is_null());
    assert!(!images[0]["objects"].as_array().unwrap().is_empty());
    assert_eq!(images[1]["path"], "broken.jpg");
    assert!(images[1]["error"].is_string(), "{}", images[1]);
    assert!(
        images[2]["error"].as_str().unwrap().contains("empty"),
        "{}",
        images[2]
    );
    assert_eq!(doc["summary"]["failed"], 2);
    let (status, _) = server.stop();
    assert!(status.success());
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    // One worker, no waiting place: while one upload is analysed, the
    // others are refused at once rather than buffered.
    let server = Server::start(&["--threads", "1", "--queue", "0"]);
    let photo = std::fs::read(samples().join("solvay_1927.jpg")).unwrap();
    let url = server.url.clone();
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| post_form(&url, &[("file", "s.jpg", &photo)])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let busy: Vec<&Reply> = replies.iter().filter(|r| r.status == 503).collect();
    assert_eq!(ok + busy.len(), 4, "only 200 or 503");
    assert!(ok >= 1 && !busy.is_empty(), "{ok} ok, {} busy", busy.len());
    for r in busy {
        assert!(r.retry_after.is_some());
        assert!(json(r)["error"].as_str().unwrap().contains("busy"));
    }
    let (status, _) = server.stop();
    assert!(status.success());
}
