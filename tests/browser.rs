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

/// What a probe page wrote into its `<pre id="probe">`, as JSON.
fn probe_result(dom: &str) -> Value {
    let start = dom.find("<pre id=\"probe\">").expect("probe output") + 16;
    let json = &dom[start..start + dom[start..].find("</pre>").unwrap()];
    let json = json
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// The outer page of the layout probe: the report in an iframe of exactly
/// `width` x `height` CSS pixels (a window cannot be made narrower than
/// 500 px, an iframe can), measured by a script in the outer page, so the
/// report itself is tested unmodified, its Content-Security-Policy intact.
/// The result goes into `<pre id="probe">` as JSON, for `--dump-dom`.
fn probe_page(index_url: &str, width: u32, height: u32) -> String {
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>probe</title></head>
<body style="margin:0"><iframe id="f" src="{index_url}" width="{width}" height="{height}" style="border:0;display:block"></iframe>
<pre id="probe">not loaded</pre>
<script>
function measure(w, d) {{
  var over = [];
  d.querySelectorAll('body *').forEach(function (e) {{
    var r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return;
    // What shows: clipped by every ancestor that does not let it overflow.
    var right = r.right;
    for (var a = e.parentElement; a; a = a.parentElement) {{
      if (w.getComputedStyle(a).overflowX !== 'visible') right = Math.min(right, a.getBoundingClientRect().right);
    }}
    var name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : '');
    if (right > w.innerWidth + 0.5) over.push(name + ' reaches ' + Math.round(right));
    var ox = w.getComputedStyle(e).overflowX;
    if ((ox === 'auto' || ox === 'scroll') && e.scrollWidth > e.clientWidth + 1) over.push(name + ' scrolls sideways');
  }});
  return {{page_width: d.documentElement.scrollWidth, overflowing: over}};
}}
function box(e) {{ if (!e) return null; var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }}
function boxes(d, sel) {{ return Array.prototype.map.call(d.querySelectorAll(sel), box); }}
document.getElementById('f').addEventListener('load', function () {{
  var out;
  try {{
    var w = this.contentWindow, d = this.contentDocument;
    var v = d.getElementById('verdict').getBoundingClientRect();
    out = {{width: w.innerWidth, height: w.innerHeight, verdict_top: v.top, verdict_bottom: v.bottom,
           verdict: d.getElementById('verdict').innerText, closed: measure(w, d),
           map_width: d.querySelector('#map svg') ? d.querySelector('#map svg').getBoundingClientRect().width : 0,
           map_stops: Array.prototype.filter.call(d.querySelectorAll('#map circle.stop'), function (c) {{ return c.getBoundingClientRect().width > 0; }}).length,
           map_towns: d.querySelectorAll('#map .town-t').length,
           map_box: box(d.querySelector('#map svg')),
           inset: box(d.querySelector('#map .map-inset')),
           inset_frame: box(d.querySelector('#map .inset-frame')),
           inset_name: box(d.querySelector('#map .inset-name')),
           inset_here: box(d.querySelector('#map .inset-here')),
           map_stop_boxes: boxes(d, '#map circle.stop'),
           map_labels: boxes(d, '#map .stop-t, #map .town-t'),
           strip: Array.prototype.map.call(d.querySelectorAll('.day-strip img'), function (i) {{ var r = i.getBoundingClientRect(); return [r.left, r.right, r.width]; }})}};
    d.querySelectorAll('details').forEach(function (x) {{ x.open = true; }});
    out.opened = measure(w, d);
  }} catch (e) {{ out = {{error: String(e)}}; }}
  document.getElementById('probe').textContent = JSON.stringify(out);
}});
</script></body></html>"#
    )
}

/// The page read as its users would: an educator on a 1024x768 projector,
/// an advocate on a 390x844 phone. On the demo's samples, the verdict is on
/// the first screen, nothing runs off the side (folded sections closed or
/// open), no request leaves the page; screenshots of both are kept in
/// target/tmp (story-1024x768.png, story-390x844.png).
#[test]
fn the_verdict_comes_first_on_a_projector_and_a_phone() {
    let Some(exe) = chromium() else {
        if std::env::var_os("ONLOOKER_REQUIRE_BROWSER").is_some() {
            panic!("Chromium not found, and ONLOOKER_REQUIRE_BROWSER is set");
        }
        eprintln!("SKIPPED the_verdict_comes_first_on_a_projector_and_a_phone: Chromium not found");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .env_remove("ONLOOKER_MODELS")
        .env_remove("ORT_DYLIB_PATH")
        .arg("analyze")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples"))
        .arg("--out")
        .arg(&out)
        .args(["--threads", "2", "--quiet", "--models"])
        .arg(onlooker::runtime::default_models_dir())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let index = out.join("index.html");
    let page = std::fs::read_to_string(&index).unwrap();
    // The five "day out" files repeat other samples' pixels: said once
    // each, counted once (one giraffe, not two).
    assert_eq!(page.matches("Same picture as").count(), 5);
    assert!(
        page.contains("<span class=\"chip-n\">1</span> giraffe"),
        "{page}"
    );
    assert_eq!(page.matches("Sample data:").count(), 1);
    assert!(!page.contains("Synthetic metadata written by"));
    // The cat's "face" is called out, and not counted.
    let wrong = &page[page
        .find("id=\"wrong\"")
        .expect("a what-went-wrong section")..];
    let wrong = &wrong[..wrong.find("</section>").unwrap()];
    assert!(
        wrong.contains("chelsea.png") && wrong.contains("probably the cat&#39;s face"),
        "{wrong}"
    );
    assert!(
        page.contains("Not counted: "),
        "faces without a person noted"
    );
    // The places are described from the gazetteer, credited in the footer,
    // and the map names the towns by the trail.
    assert!(page.contains("places in the Paris area"), "{page}");
    assert!(page.contains("of central Paris (Ile-de-France, FR)"));
    assert!(page.contains("class=\"town-t\"") && page.contains(">Vincennes</text>"));
    assert!(page.contains(">GeoNames</a>") && page.contains("CC BY 4.0"));
    // The map's inset: the day out is in France, credited.
    assert!(page.contains("<text class=\"inset-name\" x=\"6\" y=\"13\">France</text>"));
    assert!(page.contains("Country outline: Natural Earth, public domain."));

    let index_url = file_url(&index);
    for (w, h) in [(1024u32, 768u32), (390, 844)] {
        let probe = d.path().join(format!("probe-{w}x{h}.html"));
        std::fs::write(&probe, probe_page(&index_url, w, h)).unwrap();
        let run = run_chromium(
            &exe,
            &file_url(&probe),
            &[
                "--dump-dom".into(),
                "--allow-file-access-from-files".into(),
                "--window-size=1200,1000".into(),
            ],
        );
        let m = probe_result(&run.stdout);
        assert!(m["error"].is_null(), "{m}");
        assert_eq!(
            (m["width"].as_u64(), m["height"].as_u64()),
            (Some(w.into()), Some(h.into()))
        );
        let (top, bottom) = (
            m["verdict_top"].as_f64().unwrap(),
            m["verdict_bottom"].as_f64().unwrap(),
        );
        assert!(
            top >= 0.0 && bottom <= f64::from(h),
            "{w}x{h}: verdict at {top}..{bottom}"
        );
        let verdict = m["verdict"].as_str().unwrap();
        for said in ["Alex Example", "9.6 km trail", "SYNTH-0501", "photos a day"] {
            assert!(
                verdict.contains(said),
                "{w}x{h}: verdict lacks {said:?}: {verdict}"
            );
        }
        // The day out's five stops are drawn on the map, which fits.
        assert_eq!(m["map_stops"].as_u64(), Some(5), "{m}");
        assert!(m["map_towns"].as_u64().unwrap() >= 2, "{m}");
        // The day strip: the five photos, small, side by side or wrapped,
        // none past the right edge.
        let strip = m["strip"].as_array().unwrap();
        assert_eq!(strip.len(), 5, "{m}");
        for t in strip {
            let (left, right, width) = (
                t[0].as_f64().unwrap(),
                t[1].as_f64().unwrap(),
                t[2].as_f64().unwrap(),
            );
            assert!(
                width > 50.0 && left >= 0.0 && right <= f64::from(w),
                "{w}x{h} strip: {m}"
            );
        }
        let map_width = m["map_width"].as_f64().unwrap();
        assert!(map_width > 200.0 && map_width <= f64::from(w), "{m}");
        // The inset is drawn, inside the map, with its name and the
        // trail's square inside it, and covers no stop and no label.
        let rect = |v: &Value| -> [f64; 4] {
            let a = v.as_array().unwrap_or_else(|| panic!("{w}x{h}: {m}"));
            [0, 1, 2, 3].map(|k| a[k].as_f64().unwrap())
        };
        let inside = |a: [f64; 4], b: [f64; 4]| {
            a[0] >= b[0] - 0.5 && a[1] >= b[1] - 0.5 && a[2] <= b[2] + 0.5 && a[3] <= b[3] + 0.5
        };
        let overlap =
            |a: [f64; 4], b: [f64; 4]| a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
        let inset = rect(&m["inset_frame"]);
        let g = rect(&m["inset"]);
        assert!(g[2] - g[0] > 0.0 && g[3] - g[1] > 0.0, "{w}x{h}: {m}");
        assert!(
            inset[2] - inset[0] > 40.0 && inset[3] - inset[1] > 30.0,
            "{w}x{h}: inset {inset:?}"
        );
        assert!(inside(inset, rect(&m["map_box"])), "{w}x{h}: {m}");
        assert!(inside(rect(&m["inset_name"]), inset), "{w}x{h}: {m}");
        assert!(inside(rect(&m["inset_here"]), inset), "{w}x{h}: {m}");
        for (what, list) in [("stop", "map_stop_boxes"), ("label", "map_labels")] {
            for b in m[list].as_array().unwrap() {
                assert!(
                    !overlap(inset, rect(b)),
                    "{w}x{h}: the inset {inset:?} covers a {what} at {b}"
                );
            }
        }
        for state in ["closed", "opened"] {
            let s = &m[state];
            assert!(
                s["page_width"].as_u64().unwrap() <= u64::from(w),
                "{w}x{h} {state}: {s}"
            );
            assert_eq!(
                s["overflowing"].as_array().unwrap().len(),
                0,
                "{w}x{h} {state}: {s}"
            );
        }
        assert!(page_requests(&run.netlog).is_empty());

        // The page itself, as people see it: a screenshot, no request.
        let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("story-{w}x{h}.png"));
        let _ = std::fs::remove_file(&shot);
        let run = run_chromium(
            &exe,
            &index_url,
            &[
                format!("--screenshot={}", shot.display()),
                format!("--window-size={w},{h}"),
            ],
        );
        let requests = page_requests(&run.netlog);
        assert!(
            requests.is_empty(),
            "the report made requests: {requests:?}"
        );
        let png = std::fs::read(&shot).expect("screenshot written");
        assert_eq!(png_size(&png), (w, h));
        eprintln!("screenshot: {}", shot.display());
    }
}

/// The outer page probing `scrub-report.html` in an iframe of `width` x
/// `height`: every picture is made to load (they are lazy) and reported
/// with whether it loaded, its natural and shown widths and the width of
/// the outline drawing over it; then what runs off the side.
fn scrub_probe_page(page_url: &str, width: u32, height: u32) -> String {
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>probe</title></head>
<body style="margin:0"><iframe id="f" src="{page_url}" width="{width}" height="{height}" style="border:0;display:block"></iframe>
<pre id="probe">not loaded</pre>
<script>
document.getElementById('f').addEventListener('load', function () {{
  var w = this.contentWindow, d = this.contentDocument;
  var imgs = Array.prototype.slice.call(d.querySelectorAll('.pic img'));
  imgs.forEach(function (i) {{ i.loading = 'eager'; }});
  // Polled: an image's decode() promise does not settle under headless
  // Chromium's virtual time, its `complete` flag does.
  var tries = 0;
  var poll = setInterval(function () {{
    tries++;
    if (!imgs.every(function (i) {{ return i.complete; }}) && tries < 400) return;
    clearInterval(poll);
    var ok = imgs.map(function (i) {{ return i.complete && i.naturalWidth > 0; }});
    var over = [];
    d.querySelectorAll('body *').forEach(function (e) {{
      var r = e.getBoundingClientRect();
      if (r.width > 0 && r.right > w.innerWidth + 0.5) over.push(e.tagName + '.' + e.className + ' reaches ' + Math.round(r.right));
    }});
    var out = {{width: w.innerWidth, page_width: d.documentElement.scrollWidth, overflowing: over,
      pictures: imgs.map(function (i, k) {{
        var svg = i.parentElement.querySelector('svg');
        return {{src: i.getAttribute('src'), loaded: ok[k], natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
                 outlines: svg ? svg.querySelectorAll('rect').length : 0, drawing: svg ? svg.getBoundingClientRect().width : null}};
      }}),
      attention: d.querySelectorAll('.callout a').length}};
    document.getElementById('probe').textContent = JSON.stringify(out);
  }}, 50);
}});
</script></body></html>"#
    )
}

/// The scrub page in Chromium: the originals (outside the folder, one
/// under a name that must be escaped in a URL) and the copies load under
/// the page's Content-Security-Policy, the outlines of the covered regions
/// lie exactly over each original, nothing runs off a projector or a
/// phone, and no request leaves the page.
#[test]
fn the_scrub_page_shows_originals_and_copies_in_chromium() {
    let Some(exe) = chromium() else {
        if std::env::var_os("ONLOOKER_REQUIRE_BROWSER").is_some() {
            panic!("Chromium not found, and ONLOOKER_REQUIRE_BROWSER is set");
        }
        eprintln!(
            "SKIPPED the_scrub_page_shows_originals_and_copies_in_chromium: Chromium not found"
        );
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("my photos");
    std::fs::create_dir(&input).unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    std::fs::copy(
        samples.join("solvay_1927.jpg"),
        input.join("solvay_1927.jpg"),
    )
    .unwrap();
    std::fs::copy(
        samples.join("day_out/DSCF0412.jpg"),
        input.join("day #1 100%.jpg"),
    )
    .unwrap();
    let out = d.path().join("scrubbed");
    let o = Command::new(env!("CARGO_BIN_EXE_onlooker"))
        .env_remove("ONLOOKER_MODELS")
        .env_remove("ORT_DYLIB_PATH")
        .arg("scrub")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--models"])
        .arg(onlooker::runtime::default_models_dir())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page_path = out.join(onlooker::scrub::page::PAGE);
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert!(page.contains("All 2 copies give nothing away"), "{page}");
    assert!(page.contains("src=\"../my%20photos/day%20%231%20100%25.jpg\""));

    for (w, h) in [(1024u32, 768u32), (390, 844)] {
        let probe = d.path().join(format!("scrub-probe-{w}x{h}.html"));
        std::fs::write(&probe, scrub_probe_page(&file_url(&page_path), w, h)).unwrap();
        let run = run_chromium(
            &exe,
            &file_url(&probe),
            &[
                "--dump-dom".into(),
                "--allow-file-access-from-files".into(),
                "--virtual-time-budget=20000".into(),
                "--window-size=1200,1000".into(),
            ],
        );
        let m = probe_result(&run.stdout);
        assert_eq!(m["width"].as_u64(), Some(w.into()), "{m}");
        let pictures = m["pictures"].as_array().unwrap();
        // Two originals and two copies, in file order.
        assert_eq!(pictures.len(), 4, "{m}");
        for p in pictures {
            assert_eq!(p["loaded"], true, "{w}x{h}: {p} did not load");
            assert!(p["natural"].as_f64().unwrap() > 100.0, "{p}");
            let shown = p["shown"].as_f64().unwrap();
            assert!(shown > 100.0 && shown <= f64::from(w), "{w}x{h}: {p}");
            if let Some(drawing) = p["drawing"].as_f64() {
                assert!((drawing - shown).abs() <= 1.0, "{w}x{h}: {p}");
            }
        }
        let originals: Vec<&Value> = pictures
            .iter()
            .filter(|p| p["src"].as_str().unwrap().starts_with("../my%20photos/"))
            .collect();
        assert_eq!(originals.len(), 2, "{m}");
        // The Solvay photo's 29 faces (and more, from the lower threshold)
        // are outlined.
        let solvay = pictures
            .iter()
            .find(|p| p["src"] == "../my%20photos/solvay_1927.jpg")
            .unwrap();
        assert!(solvay["outlines"].as_u64().unwrap() >= 29, "{solvay}");
        assert_eq!(m["attention"].as_u64(), Some(0), "{m}");
        assert!(m["page_width"].as_u64().unwrap() <= u64::from(w), "{m}");
        assert_eq!(m["overflowing"].as_array().unwrap().len(), 0, "{m}");
        assert!(page_requests(&run.netlog).is_empty());
    }
}
