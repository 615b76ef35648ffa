//! The report in a real browser: headless Chromium opens a report made by
//! the real binary on real samples, the rendered page holds the expected
//! content, the page makes no network request, and a screenshot is saved
//! (`target/tmp/browser-report.png`).
//!
//! Requests are read from Chromium's own network log: every URL request the
//! page starts carries the page as its initiator, while the browser's
//! background traffic (update checks and the like, which no flag fully
//! silences) has none. A control page that does load a remote image shows
//! the check sees requests. DNS answers "not found" for every host, so
//! nothing leaves the machine whatever happens.
//!
//! Skipped, with a message, where Chromium is not installed, unless
//! `ONLOOKER_REQUIRE_BROWSER` is set (as `.ci/run` does): then its absence
//! fails the test.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ONLOOKER_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

struct Run {
    stdout: String,
    netlog: Value,
}

/// Runs headless Chromium on `url` with a fresh profile and `extra` flags;
/// returns what it printed and its network log. Killed after two minutes.
fn run_chromium(exe: &Path, url: &str, extra: &[String]) -> Run {
    let profile = tempfile::tempdir().unwrap();
    let netlog = profile.path().join("netlog.json");
    let mut child = Command::new(exe)
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
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .arg(format!("--log-net-log={}", netlog.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 2 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let stdout = reader.join().unwrap();
    let text = std::fs::read_to_string(&netlog).expect("chromium wrote its network log");
    // A log cut short (the process ends while writing) lacks the closing
    // brackets; the events written so far are still valid.
    let netlog = serde_json::from_str(&text).unwrap_or_else(|_| {
        let trimmed = text.trim_end().trim_end_matches(',');
        serde_json::from_str(&format!("{trimmed}]}}")).expect("network log is JSON")
    });
    Run { stdout, netlog }
}

/// URLs of the network requests a page started (http, https, ws...).
fn page_requests(netlog: &Value) -> Vec<String> {
    let start_job = netlog["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_u64();
    let mut urls = Vec::new();
    for e in netlog["events"].as_array().into_iter().flatten() {
        if e["type"].as_u64() != start_job {
            continue;
        }
        let p = &e["params"];
        let url = p["url"].as_str().unwrap_or("");
        // The browser's own traffic has no initiating page.
        let initiator = p["initiator"].as_str().unwrap_or("not an origin");
        if initiator != "not an origin" && !url.starts_with("file:") && !url.starts_with("data:") {
            urls.push(url.to_string());
        }
    }
    urls
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

#[test]
fn the_report_renders_offline_in_chromium() {
    let Some(exe) = chromium() else {
        if std::env::var_os("ONLOOKER_REQUIRE_BROWSER").is_some() {
            panic!("Chromium not found, and ONLOOKER_REQUIRE_BROWSER is set: apt-get install -y chromium");
        }
        eprintln!(
            "SKIPPED the_report_renders_offline_in_chromium: Chromium not found \
             (apt-get install -y chromium, or set ONLOOKER_CHROMIUM)"
        );
        return;
    };
    let d = tempfile::tempdir().unwrap();

    // The control: a page that loads a remote image is seen doing so.
    let control = d.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><title>control</title><img src=\"http://onlooker-control.invalid/x.png\">",
    )
    .unwrap();
    let run = run_chromium(&exe, &file_url(&control), &["--dump-dom".into()]);
    let seen = page_requests(&run.netlog);
    assert!(
        seen.iter().any(|u| u.contains("onlooker-control.invalid")),
        "the network check must see the control page's request: {seen:?}"
    );

    // A report from the real binary on real samples, one of them under a
    // hostile name that would load a remote image if it were not escaped.
    let input = d.path().join("photos");
    std::fs::create_dir(&input).unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    for name in ["astronaut.png", "dog.jpg", "grace_hopper.jpg"] {
        std::fs::copy(samples.join(name), input.join(name)).unwrap();
    }
    let hostile = "<img src=http:onlooker-leak.invalid>.png";
    std::fs::copy(samples.join("newton.png"), input.join(hostile)).unwrap();
    let out = d.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .env_remove("ONLOOKER_MODELS")
        .env_remove("ORT_DYLIB_PATH")
        .arg("analyze")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(["--threads", "2", "--quiet", "--models"])
        .arg(onlooker::runtime::default_models_dir())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let index = file_url(&out.join("index.html"));

    let run = run_chromium(&exe, &index, &["--dump-dom".into()]);
    let dom = run.stdout;
    assert!(
        dom.contains("What an onlooker learns from 4 photos"),
        "{dom}"
    );
    for name in ["astronaut.png", "dog.jpg", "grace_hopper.jpg"] {
        assert!(
            dom.contains(&format!("<bdi>{name}</bdi>")),
            "{name} heading"
        );
    }
    // The hostile name is text in the page, not an element.
    assert!(dom.contains("&lt;img src=http:onlooker-leak.invalid&gt;.png"));
    assert!(!dom.contains("<img src=\"http:"));
    // Face counts: the astronaut, Grace Hopper and Newton have one each.
    assert_eq!(dom.matches("1 face · 1 person").count(), 3, "{dom}");
    assert!(
        dom.contains("0 faces · 0 people · 3 objects"),
        "dog.jpg line"
    );
    assert_eq!(dom.matches("<img src=\"images/").count(), 4);
    let requests = page_requests(&run.netlog);
    assert!(
        requests.is_empty(),
        "the report made requests: {requests:?}"
    );

    // A screenshot, for people to look at; kept in target/tmp.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-report.png");
    let _ = std::fs::remove_file(&shot);
    let run = run_chromium(
        &exe,
        &index,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".into(),
        ],
    );
    assert!(page_requests(&run.netlog).is_empty());
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(png_size(&png), (1280, 2000));
    // Not a blank page: the heading and stats put dark pixels on it.
    let img = image::load_from_memory(&png).unwrap().to_luma8();
    let dark = img.pixels().filter(|p| p.0[0] < 80).count();
    assert!(dark > 5_000, "screenshot has content ({dark} dark pixels)");
    eprintln!("screenshot: {}", shot.display());
}
