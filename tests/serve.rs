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
        let mut args = vec!["--port", "0"];
        args.extend_from_slice(extra);
        Server::start_with(&args)
    }

    /// Started with exactly these arguments after `serve --models DIR`.
    fn start_with(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut child = common::onlooker()
            .env("TMPDIR", dir.path())
            .current_dir(dir.path())
            .args(["serve", "--models"])
            .arg(onlooker::runtime::default_models_dir())
            .args(args)
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

/// The document `onlooker analyze PATHS --json` writes (2 threads).
fn cli_document(paths: &[std::path::PathBuf]) -> Value {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("cli.json");
    let o = common::onlooker()
        .arg("analyze")
        .args(paths)
        .arg("--json")
        .arg(&out)
        .args(["--threads", "2", "--quiet", "--models"])
        .arg(onlooker::runtime::default_models_dir())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
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
    let paths: Vec<_> = names.iter().map(|n| samples().join(n)).collect();
    let cli = cli_document(&paths);

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
fn a_video_upload_gives_the_clis_timeline_and_nothing_is_written() {
    let video = std::fs::read(samples().join("video/people_cuts.mp4")).unwrap();
    let photo = std::fs::read(samples().join("grace_hopper.jpg")).unwrap();
    // The MP4's first box (`ftyp`) over zeros: content says video, ffmpeg
    // finds none.
    let ftyp = u32::from_be_bytes(video[..4].try_into().unwrap()) as usize;
    let mut broken = video[..ftyp].to_vec();
    broken.resize(ftyp + 4096, 0);
    let server = Server::start(&["--threads", "2"]);
    let r = post_form(
        &server.url,
        &[
            ("file", "people_cuts.mp4", &video),
            ("file", "grace_hopper.jpg", &photo),
            ("file", "broken.mp4", &broken),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let served = json(&r);
    common::validate_document(&served).unwrap();

    // The CLI on the same files (photos first, as the server numbers them).
    let cli = cli_document(&[
        samples().join("grace_hopper.jpg"),
        samples().join("video/people_cuts.mp4"),
    ]);

    let images = served["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "the videos are not images");
    assert_eq!(images[0]["path"], "grace_hopper.jpg");
    let videos = served["videos"].as_array().unwrap();
    assert_eq!(videos.len(), 2);
    let (s, c) = (&videos[0], &cli["videos"][0]);
    assert_eq!(s["path"], "people_cuts.mp4", "named after the upload");
    assert!(s["error"].is_null(), "{}", s["error"]);
    for key in [
        "duration_seconds",
        "frames_analysed",
        "width",
        "height",
        "persons",
        "objects",
    ] {
        assert_eq!(s[key], c[key], "videos[0].{key}");
    }
    assert!(
        !s["persons"].as_array().unwrap().is_empty(),
        "people on screen: {s}"
    );
    assert_eq!(
        s["text"].as_array().unwrap().len(),
        c["text"].as_array().unwrap().len()
    );
    let sentences = |doc: &Value| -> Vec<String> {
        doc["summary"]["findings"]["sentences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["text"].as_str().unwrap().to_string())
            .filter(|t| t.contains("on screen"))
            .collect()
    };
    assert!(!sentences(&served).is_empty());
    assert_eq!(sentences(&served), sentences(&cli));
    // The broken one: its own error, naming the upload, never the
    // in-memory file ffmpeg read.
    assert_eq!(videos[1]["path"], "broken.mp4");
    let error = videos[1]["error"].as_str().expect("an error");
    assert!(!error.contains("/proc/"), "{error}");

    let left: Vec<_> = std::fs::read_dir(server.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "the server wrote {left:?}");
    let (status, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
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
        "POST /api/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        3u64 << 20
    )
    .unwrap();
    let mut head = String::new();
    BufReader::new(&s).read_line(&mut head).unwrap();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    // A request naming another host (a page elsewhere whose name was made
    // to resolve to 127.0.0.1: DNS rebinding) is refused.
    let mut s =
        TcpStream::connect(url.trim_start_matches("http://").trim_end_matches('/')).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: rebound.example:8737\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = String::new();
    BufReader::new(&s).read_line(&mut head).unwrap();
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
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
fn results_sent_back_give_the_findings_across_the_photos() {
    // The page's way: each photo on its own to /api/report, then all the
    // results it holds to /api/findings (the server keeps nothing).
    let server = Server::start(&["--threads", "2"]);
    let mut names: Vec<_> = std::fs::read_dir(samples().join("day_out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 5);
    let mut held: Vec<Value> = Vec::new();
    for path in &names {
        let name = path.file_name().unwrap().to_str().unwrap();
        let bytes = std::fs::read(path).unwrap();
        let mut r = agent()
            .post(format!("{}api/report", server.url))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .send(&form(&[("file", name, &bytes)])[..])
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let reply: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert!(reply["html"].as_str().unwrap().contains(name));
        let images = reply["images"].as_array().unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0]["path"], name);
        // Alone, a photo ties nothing together.
        assert!(!reply["html"].as_str().unwrap().contains("together"));
        held.extend(images.iter().cloned());
    }
    let post_findings = |body: &[u8], content_type: &str| {
        let mut r = agent()
            .post(format!("{}api/findings", server.url))
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    let body = serde_json::to_vec(&serde_json::json!({ "images": held })).unwrap();
    let (status, html) = post_findings(&body, "application/json");
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("id=\"verdict\""), "{html}");
    assert!(
        html.contains("ties 5 photos together") || html.contains("ties 5 photos to one"),
        "one camera ties the five photos: {html}"
    );
    assert!(html.contains("5</strong> photos"), "{html}");
    // The trail's map, with the inset naming its country, as in the report
    // `analyze` writes.
    assert!(html.contains("id=\"map\""), "{html}");
    assert!(html.contains("class=\"map-inset\""), "{html}");
    assert!(html.contains(">France</text>"), "{html}");
    // Not the results: 400 with a JSON error; not JSON: 400.
    let (status, body) = post_findings(b"{\"images\": [{\"path\": 3}]}", "application/json");
    assert_eq!(status, 400, "{body}");
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
    let (status, _) = post_findings(b"images", "text/plain");
    assert_eq!(status, 400);
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

#[test]
fn listen_mode_refuses_requests_without_its_token() {
    let server = Server::start_with(&["--listen", "127.0.0.1:0", "--threads", "1"]);
    let (base, token) = server
        .url
        .split_once("?token=")
        .expect("the URL carries a token");
    assert_eq!(token.len(), 32, "{token}");
    assert!(token.bytes().all(|c| c.is_ascii_hexdigit()));
    let status = |path: &str, cookie: Option<&str>| {
        let mut r = agent().get(format!("{base}{path}"));
        if let Some(c) = cookie {
            r = r.header("Cookie", c);
        }
        r.call().unwrap().status().as_u16()
    };
    for path in ["", "healthz", "app.js"] {
        assert_eq!(status(path, None), 401, "/{path} without the token");
        assert_eq!(
            status(&format!("{path}?token=0123"), None),
            403,
            "/{path}, wrong token"
        );
        assert_eq!(
            status(&format!("{path}?token={token}"), None),
            200,
            "/{path} with it"
        );
    }
    // The page's own requests carry it in the cookie it was given.
    let page = agent().get(format!("{base}?token={token}")).call().unwrap();
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(cookie.ends_with(token));
    assert_eq!(status("app.js", Some(&cookie)), 200);
    assert_eq!(status("app.js", Some("onlooker_token=nope")), 403);
    let dog = std::fs::read(samples().join("dog.jpg")).unwrap();
    let without = post_form(base, &[("file", "dog.jpg", &dog)]);
    assert_eq!(without.status, 401);
    let r = agent()
        .post(format!("{base}api/analyze?token={token}"))
        .header(
            "Content-Type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .send(&form(&[("file", "dog.jpg", &dog)])[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (status, stderr) = server.stop();
    assert!(status.success());
    assert!(stderr.contains("WARNING"), "{stderr}");
}

/// The server under load: 200 uploads from 16 clients at once, each
/// answered 200 or 503 (nothing else), the server's peak memory and the
/// latency of the analysed ones printed. A measurement (about a minute on
/// two cores): `cargo test --release --test serve -- --ignored --nocapture`.
#[test]
#[ignore]
fn under_load_every_upload_is_200_or_503() {
    let server = Server::start(&["--threads", "2"]);
    let photos: Vec<(&str, Vec<u8>)> = ["grace_hopper.jpg", "dog.jpg", "person.jpg"]
        .into_iter()
        .map(|n| (n, std::fs::read(samples().join(n)).unwrap()))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    let outcomes: Vec<(u16, Duration)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..16)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= 200 {
                            break;
                        }
                        let (name, bytes) = &photos[i % photos.len()];
                        let t = Instant::now();
                        let r = post_form(&server.url, &[("file", name, bytes)]);
                        mine.push((r.status, t.elapsed()));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let wall = start.elapsed();
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap_or("VmHWM: ?")
        .to_string();
    assert_eq!(outcomes.len(), 200);
    let other: Vec<u16> = outcomes
        .iter()
        .map(|o| o.0)
        .filter(|&c| c != 200 && c != 503)
        .collect();
    assert!(other.is_empty(), "answers other than 200 or 503: {other:?}");
    let mut ok: Vec<Duration> = outcomes
        .iter()
        .filter(|o| o.0 == 200)
        .map(|o| o.1)
        .collect();
    let mut busy: Vec<Duration> = outcomes
        .iter()
        .filter(|o| o.0 == 503)
        .map(|o| o.1)
        .collect();
    ok.sort();
    busy.sort();
    let pct = |v: &[Duration], p: usize| {
        v.get((v.len() * p / 100).min(v.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    eprintln!(
        "load: 200 uploads, 16 clients, --threads 2 --queue 8: {} answered 200, {} answered 503, in {:.1} s",
        ok.len(),
        busy.len(),
        wall.as_secs_f64()
    );
    eprintln!(
        "load: 200 latency p50 {:.0} ms, p95 {:.0} ms; 503 latency p50 {:.0} ms, p95 {:.0} ms",
        pct(&ok, 50),
        pct(&ok, 95),
        pct(&busy, 50),
        pct(&busy, 95)
    );
    eprintln!(
        "load: server peak resident memory {}",
        peak.trim_start_matches("VmHWM:").trim()
    );
    assert!(!ok.is_empty());
    let (status, _) = server.stop();
    assert!(status.success());
}

// ---- the page in a real browser ----

fn chromium() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("ONLOOKER_CHROMIUM") {
        return Some(p.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| {
            ["chromium", "chromium-browser", "google-chrome", "chrome"].map(|n| d.join(n))
        })
        .find(|p| p.is_file())
}

/// Headless Chromium driven over the DevTools protocol on a pipe
/// (`--remote-debugging-pipe`: commands on its fd 3, answers on fd 4, each
/// message ended by a NUL), so no port and no WebSocket client are needed.
struct Browser {
    child: std::process::Child,
    commands: std::fs::File,
    answers: std::sync::mpsc::Receiver<Value>,
    next: u64,
    netlog: std::path::PathBuf,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn open(exe: &std::path::Path, url: &str) -> Browser {
        use std::os::fd::FromRawFd;
        use std::os::unix::process::CommandExt;
        let profile = tempfile::tempdir().unwrap();
        let netlog = profile.path().join("netlog.json");
        let pipe = || {
            let mut fds = [0; 2];
            assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
            (fds[0], fds[1])
        };
        let (cmd_r, cmd_w) = pipe();
        let (ans_r, ans_w) = pipe();
        let mut command = std::process::Command::new(exe);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--disable-extensions",
                "--remote-debugging-pipe",
                "--window-size=390,844",
                // Any host but the server's loopback address is unknown.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ])
            .arg(format!(
                "--user-data-dir={}",
                profile.path().join("p").display()
            ))
            .arg(format!("--log-net-log={}", netlog.display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        unsafe {
            command.pre_exec(move || {
                let a = libc::fcntl(cmd_r, libc::F_DUPFD, 10);
                let b = libc::fcntl(ans_w, libc::F_DUPFD, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("start chromium");
        unsafe {
            libc::close(cmd_r);
            libc::close(ans_w);
        }
        let commands = unsafe { std::fs::File::from_raw_fd(cmd_w) };
        let mut reader = BufReader::new(unsafe { std::fs::File::from_raw_fd(ans_r) });
        let (tx, answers) = std::sync::mpsc::channel();
        std::thread::spawn(move || loop {
            let mut buf = Vec::new();
            match reader.read_until(0, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    buf.pop();
                    if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Browser {
            child,
            commands,
            answers,
            next: 0,
            netlog,
            _profile: profile,
        }
    }

    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.try_call(session, method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    fn try_call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, Value> {
        self.next += 1;
        let id = self.next;
        let mut msg = serde_json::json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = Value::from(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).unwrap();
        loop {
            let v = self
                .answers
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no answer to {method}"));
            if v["id"].as_u64() == Some(id) {
                if !v["error"].is_null() {
                    return Err(v["error"].clone());
                }
                return Ok(v["result"].clone());
            }
        }
    }

    /// A script's value in the page.
    fn eval(&mut self, session: &str, expression: &str) -> Value {
        let r = self.call(
            Some(session),
            "Runtime.evaluate",
            serde_json::json!({"expression": expression, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }

    /// Closes the browser; the URLs of the requests the page started.
    fn close(mut self) -> Vec<String> {
        let _ = self.call(None, "Browser.close", serde_json::json!({}));
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let text = std::fs::read_to_string(&self.netlog).expect("network log");
        let log: Value = serde_json::from_str(&text).unwrap_or_else(|_| {
            let t = text.trim_end().trim_end_matches(',');
            serde_json::from_str(&format!("{t}]}}")).expect("network log is JSON")
        });
        let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_u64();
        log["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["type"].as_u64() == start_job)
            // The browser's own traffic has no initiating page.
            .filter(|e| {
                e["params"]["initiator"].as_str().unwrap_or("not an origin") != "not an origin"
            })
            .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
            .filter(|u| !u.starts_with("data:") && !u.starts_with("blob:"))
            .collect()
    }
}

#[test]
fn the_page_shows_uploaded_photos_and_a_video_in_chromium() {
    let Some(exe) = chromium() else {
        if std::env::var_os("ONLOOKER_REQUIRE_BROWSER").is_some() {
            panic!("Chromium not found, and ONLOOKER_REQUIRE_BROWSER is set");
        }
        eprintln!(
            "SKIPPED the_page_shows_uploaded_photos_and_a_video_in_chromium: Chromium not found"
        );
        return;
    };
    let server = Server::start(&["--threads", "2"]);
    let mut b = Browser::open(&exe, &server.url);
    let start = Instant::now();
    let target = loop {
        let targets = b.call(None, "Target.getTargets", serde_json::json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page" && t["url"].as_str().unwrap_or("").starts_with("http"))
            .map(|t| t["targetId"].as_str().unwrap().to_string());
        if let Some(p) = page {
            break p;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no page: {targets}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let session = b.call(
        None,
        "Target.attachToTarget",
        serde_json::json!({"targetId": target, "flatten": true}),
    )["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    b.call(Some(&session), "Page.enable", serde_json::json!({}));
    b.call(
        Some(&session),
        "Page.navigate",
        serde_json::json!({"url": server.url}),
    );
    // Until the page has a document, evaluating fails.
    while b
        .try_call(
            Some(&session),
            "Runtime.evaluate",
            serde_json::json!({
                "expression": "document.URL.indexOf('http') === 0 && document.readyState",
                "returnByValue": true
            }),
        )
        .map_or(true, |r| r["result"]["value"] != "complete")
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "page did not load"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The stylesheets came from the server and apply under the policy.
    assert_eq!(
        b.eval(
            &session,
            "getComputedStyle(document.getElementById('drop')).borderTopStyle"
        ),
        "dashed"
    );
    let root =
        b.call(Some(&session), "DOM.getDocument", serde_json::json!({}))["root"]["nodeId"].clone();
    let input = b.call(
        Some(&session),
        "DOM.querySelector",
        serde_json::json!({"nodeId": root, "selector": "#files"}),
    )["nodeId"]
        .clone();
    let photos = [
        samples().join("day_out/DSCF0412.jpg"),
        samples().join("grace_hopper.jpg"),
        samples().join("day_out/DSCF0418.jpg"),
        samples().join("video/people_cuts.mp4"),
    ];
    let files: Vec<String> = photos.iter().map(|p| p.display().to_string()).collect();
    b.call(
        Some(&session),
        "DOM.setFileInputFiles",
        serde_json::json!({"nodeId": input, "files": files}),
    );
    let state = loop {
        let s = b.eval(
            &session,
            "JSON.stringify(Array.prototype.map.call(document.querySelectorAll('#progress li'), function (l) { return l.className + ': ' + l.innerText; }))",
        );
        let rows: Vec<String> = serde_json::from_str(s.as_str().unwrap()).unwrap();
        if rows.len() == photos.len()
            && rows
                .iter()
                .all(|r| r.starts_with("done") || r.starts_with("failed"))
        {
            break rows;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "uploads did not finish: {rows:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(state.iter().all(|r| r.starts_with("done")), "{state:?}");
    let text = b
        .eval(&session, "document.getElementById('results').textContent")
        .as_str()
        .unwrap()
        .to_string();
    // Per photo, in upload order: its name, its findings, faces and objects.
    let first = text.find("DSCF0412.jpg").expect("first photo shown");
    let second = text.find("grace_hopper.jpg").expect("second photo shown");
    assert!(first < second, "{text}");
    let (one, two) = text.split_at(second);
    assert!(one.contains("Anyone holding these files learns"), "{one}");
    assert!(
        one.contains("Alex Example"),
        "the camera owner finding: {one}"
    );
    assert!(two.contains("1 face"), "{two}");
    assert!(
        two.contains("tie"),
        "Grace Hopper's tie among the objects: {two}"
    );
    assert!(one.contains("objects"), "{one}");
    // The video's timeline, its lanes' pictures cut from its keyframes.
    let video = text.find("people_cuts.mp4").expect("the video shown");
    assert!(text[video..].contains("The videos"), "{}", &text[video..]);
    assert!(text[video..].contains("on screen"), "{}", &text[video..]);
    let lanes = b.eval(
        &session,
        "Array.prototype.filter.call(document.querySelectorAll('#results .video img'), function (i) { return i.src.indexOf('data:image/jpeg;base64,') === 0 && i.complete && i.naturalWidth > 0; }).length",
    );
    assert!(lanes.as_u64().unwrap() >= 2, "lane pictures drawn: {lanes}");
    // Links to the full-size pictures open (a page may not open a data:
    // URL): they became blob: URLs.
    let links = b.eval(
        &session,
        "JSON.stringify([document.querySelectorAll('#results a[href^=\"data:\"]').length, document.querySelectorAll('#results a[href^=\"blob:\"][target=\"_blank\"]').length])",
    );
    let links: Vec<u64> = serde_json::from_str(links.as_str().unwrap()).unwrap();
    assert_eq!(links[0], 0, "data: links left");
    assert!(links[1] >= 3, "blob: links: {links:?}");
    // The findings across the photos dropped in this tab: the camera's
    // serial ties the two day-out photos together.
    let across = loop {
        let t = b.eval(
            &session,
            "document.getElementById('across').hidden ? '' : document.getElementById('across').textContent",
        );
        let t = t.as_str().unwrap_or("").to_string();
        if t.contains("ties 2 photos") {
            break t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "no cross-photo findings: {t}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(across.contains("Across your photos"), "{across}");
    assert!(
        across.contains("Anyone holding these files learns"),
        "{across}"
    );
    // Several reports on one page, and still no id twice.
    let dupes = b.eval(
        &session,
        "(function () { var seen = {}, d = []; Array.prototype.forEach.call(document.querySelectorAll('[id]'), function (e) { if (seen[e.id]) d.push(e.id); seen[e.id] = 1; }); return d.join(' '); })()",
    );
    assert_eq!(dupes, "", "duplicate ids");
    // The annotated copies arrived inline and were drawn.
    let drawn = b.eval(
        &session,
        "Array.prototype.filter.call(document.querySelectorAll('#results img'), function (i) { return i.src.indexOf('data:image/jpeg;base64,') === 0 && i.complete && i.naturalWidth > 0; }).length",
    );
    assert!(
        drawn.as_u64().unwrap() >= 2,
        "annotated copies drawn: {drawn}"
    );
    let shot = b.call(
        Some(&session),
        "Page.captureScreenshot",
        serde_json::json!({"format": "png"}),
    );
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-390.png");
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());

    let requests = b.close();
    assert!(
        !requests.is_empty(),
        "the network log shows the page's own requests"
    );
    let outside: Vec<&String> = requests
        .iter()
        .filter(|u| !u.starts_with(&server.url))
        .collect();
    assert!(
        outside.is_empty(),
        "requests outside the server: {outside:?}"
    );
    let (status, _) = server.stop();
    assert!(status.success());
}
