//! `index.html`: one self-contained page for a room to look at.
//!
//! It is rendered from the serialised JSON document, not from the Rust
//! types: every field another stage adds (attributes, metadata, findings,
//! timing, a scale projection) is shown when present and nothing is shown
//! when absent, without this module having to know those types.
//!
//! Nothing in the page touches the network: the CSS is inline, there is no
//! script and no web font, images are relative files in the report folder,
//! and a Content-Security-Policy forbids any other load should a future
//! edit add one. Every string from the document (paths, EXIF text, labels)
//! goes through [`escape`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

/// What became of the annotated copy of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Annotated {
    /// Written; the path relative to the report folder (`images/...`).
    Written(String),
    /// The image was analysed but its copy could not be made.
    Failed(String),
    /// No copy: the image was not analysed.
    None,
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters (NUL, escape sequences from EXIF junk)
            // have no business on screen.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root{--fg:#111;--muted:#3d3d3d;--bg:#fff;--accent:#0a4a94;--line:#9a9a9a;--warn:#7a2e00;--warn-bg:#fff1e0;--focus:#e65c00}
*{box-sizing:border-box}
html{font-size:20px}
@media (min-width:1600px){html{font-size:23px}}
body{margin:0;background:var(--bg);color:var(--fg);font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;line-height:1.5}
.skip{position:absolute;left:-9999px;top:0;background:var(--fg);color:var(--bg);padding:.5rem 1rem;z-index:10;font-weight:bold}
.skip:focus{left:0}
header,nav,main,footer{max-width:74rem;margin:0 auto;padding:0 1.5rem}
header{padding-top:1.5rem}
h1{font-size:2.2rem;line-height:1.2;margin:.5rem 0}
h2{font-size:1.7rem;line-height:1.25;margin:2.5rem 0 1rem;padding-bottom:.25rem;border-bottom:4px solid var(--fg)}
h3{font-size:1.35rem;line-height:1.3;margin:2rem 0 .5rem}
h4{font-size:1.1rem;margin:1.25rem 0 .4rem}
a{color:var(--accent);text-underline-offset:.15em}
:focus-visible{outline:4px solid var(--focus);outline-offset:3px}
.lede{font-size:1.15rem;max-width:60rem}
nav ol{padding-left:1.5rem}
nav ol ol{columns:3 16rem;font-size:.9rem}
.stats{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;padding:0;margin:1rem 0}
.stats li{border:3px solid var(--fg);border-radius:.5rem;padding:.5rem 1rem;min-width:8rem}
.stats strong{display:block;font-size:2.2rem;line-height:1.1}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.95rem}
caption{text-align:left;font-weight:bold;padding:.25rem 0}
th,td{border:1px solid var(--line);padding:.3rem .6rem;text-align:left;vertical-align:top}
thead th{background:#e8e8e8}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.wide{overflow-x:auto}
figure{margin:1rem 0}
figure img{display:block;max-width:100%;height:auto;max-height:88vh;object-fit:contain;object-position:left top}
figcaption{color:var(--muted);margin-top:.3rem}
.path{color:var(--muted);overflow-wrap:anywhere;margin:.2rem 0}
.counts{font-size:1.15rem;font-weight:bold;margin:.3rem 0}
.error{background:var(--warn-bg);color:var(--warn);border-left:6px solid var(--warn);padding:.5rem 1rem}
.caveats{background:#f2f2f2;border-left:6px solid var(--fg);padding:.5rem 1.25rem}
.evidence{color:var(--muted);font-size:.9rem}
article.image{border-top:3px solid var(--line);margin-top:2.5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.5rem 0}
dt{font-weight:bold}
dd{margin:0;overflow-wrap:anywhere}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5rem 1.5rem}
.sw{display:inline-block;width:1em;height:1em;border:2px solid var(--fg);vertical-align:-.15em;margin-right:.4em}
.sw-face{background:#ffd600}.sw-eye{background:#00e676}.sw-nose{background:#ff4040}.sw-mouth{background:#e040fb}
footer{color:var(--muted);margin-top:3rem;padding-bottom:2rem}
@media print{
 html{font-size:11pt}
 .skip,nav{display:none}
 header,main,footer{max-width:none;padding:0}
 a{color:inherit;text-decoration:none}
 h2{border-bottom-width:2px}
 h2,h3,h4{break-after:avoid}
 figure,table,.stats,.caveats{break-inside:avoid}
 article.image{break-before:page;border:0;margin-top:0}
 figure img{width:auto!important;max-height:55vh}
 .stats li{border-width:1px}
}
"#;

/// Keys of one image that have their own place on the page.
const IMAGE_KEYS: [&str; 10] = [
    "path",
    "width",
    "height",
    "faces",
    "objects",
    "people",
    "object_counts",
    "scene",
    "metadata",
    "error",
];
/// Summary keys shown in the counts or under timing.
const COUNT_KEYS: [&str; 6] = ["images", "analysed", "failed", "faces", "objects", "people"];
const TIMING_KEYS: [&str; 2] = ["elapsed_seconds", "images_per_second"];

/// Above this many photos the pictures load lazily, as they are scrolled
/// to; below it every picture loads with the page, so printing and
/// screenshots show them all.
const LAZY_FROM: usize = 40;

/// Renders the whole page. `images[i]` is the annotated copy of
/// `doc.images[i]` (missing entries count as no copy).
pub fn render(doc: &Value, images: &[Annotated]) -> String {
    render_with_projection(doc, images, None)
}

/// [`render`], with a scale projection (a serialised
/// `projection::Projection`) shown under "At scale" when the document has
/// none of its own.
pub fn render_with_projection(
    doc: &Value,
    images: &[Annotated],
    projection: Option<&Value>,
) -> String {
    let empty = Vec::new();
    let list = doc
        .get("images")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let empty_map = Map::new();
    let summary = doc
        .get("summary")
        .and_then(Value::as_object)
        .unwrap_or(&empty_map);
    let n = list.len();
    let mut h = String::with_capacity(16 * 1024 + n * 4096);

    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' file:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n\
<meta name=\"generator\" content=\"onlooker {}\">\n\
<title>onlooker report: {} {}</title>\n<style>{}</style>\n</head>\n<body>\n\
<a class=\"skip\" href=\"#main\">Skip to the report</a>\n",
        env!("CARGO_PKG_VERSION"),
        n,
        plural(n, "photo", "photos"),
        CSS
    );

    let mut sections = Sections::of(doc, summary, list);
    if let (true, Some(p)) = (sections.projection.is_empty(), projection) {
        sections.projection.push(("scale_projection", p));
    }

    // Header and table of contents.
    let _ = write!(
        h,
        "<header>\n<h1>What an onlooker learns from {n} {}</h1>\n\
<p class=\"lede\">onlooker ran open face and object models on this computer, the way a cloud \
vision service would on its servers. Everything below was computed locally; this page loads \
nothing from the network.</p>\n</header>\n",
        plural(n, "photo", "photos")
    );
    h.push_str("<nav aria-label=\"Contents\">\n<h2 id=\"contents\">Contents</h2>\n<ol>\n");
    h.push_str("<li><a href=\"#learns\">What an onlooker learns</a></li>\n");
    if sections.caveats.is_some() {
        h.push_str("<li><a href=\"#caveats\">About age, gender and expression</a></li>\n");
    }
    h.push_str("<li><a href=\"#timing\">Timing and throughput</a></li>\n");
    if !sections.projection.is_empty() {
        h.push_str("<li><a href=\"#scale\">At scale</a></li>\n");
    }
    if !sections.other.is_empty() {
        h.push_str("<li><a href=\"#more\">More results</a></li>\n");
    }
    let _ = write!(h, "<li><a href=\"#images\">The photos</a>");
    if n > 0 {
        h.push_str("\n<ol>\n");
        for (i, img) in list.iter().enumerate() {
            let _ = writeln!(
                h,
                "<li><a href=\"#image-{}\">{}</a></li>",
                i + 1,
                escape(&file_name(img))
            );
        }
        h.push_str("</ol>\n");
    }
    h.push_str("</li>\n</ol>\n</nav>\n<main id=\"main\" tabindex=\"-1\">\n");

    learns(&mut h, summary, list);
    if let Some(c) = sections.caveats {
        h.push_str("<section id=\"caveats\" aria-labelledby=\"caveats-h\">\n<h2 id=\"caveats-h\">About age, gender and expression</h2>\n<div class=\"caveats\">\n");
        caveats(&mut h, c);
        h.push_str("</div>\n</section>\n");
    }
    timing(&mut h, summary, n, &sections.timing_extra);
    if !sections.projection.is_empty() {
        h.push_str("<section id=\"scale\" aria-labelledby=\"scale-h\">\n<h2 id=\"scale-h\">At scale</h2>\n");
        for (k, v) in &sections.projection {
            if !scale_table(&mut h, v) {
                let _ = writeln!(h, "<h3>{}</h3>", escape(&capitalise(&humanize(k))));
                block(&mut h, v);
            }
        }
        h.push_str("</section>\n");
    }
    if !sections.other.is_empty() {
        h.push_str("<section id=\"more\" aria-labelledby=\"more-h\">\n<h2 id=\"more-h\">More results</h2>\n");
        for (k, v) in &sections.other {
            let _ = writeln!(h, "<h3>{}</h3>", escape(&capitalise(&humanize(k))));
            block(&mut h, v);
        }
        h.push_str("</section>\n");
    }

    h.push_str("<section id=\"images\" aria-labelledby=\"images-h\">\n<h2 id=\"images-h\">The photos</h2>\n");
    if list.iter().any(|i| has_items(i, "faces")) {
        h.push_str(
            "<ul class=\"legend\" aria-label=\"Colours on the annotated photos\">\
<li><span class=\"sw sw-face\"></span>face box and its number</li>\
<li><span class=\"sw sw-eye\"></span>eyes</li><li><span class=\"sw sw-nose\"></span>nose</li>\
<li><span class=\"sw sw-mouth\"></span>mouth corners</li>\
<li>objects: one colour per kind, with the model's score</li></ul>\n",
        );
    }
    let lazy = n >= LAZY_FROM;
    for (i, img) in list.iter().enumerate() {
        image(
            &mut h,
            i,
            img,
            images.get(i).unwrap_or(&Annotated::None),
            lazy,
        );
    }
    h.push_str("</section>\n</main>\n");
    let _ = write!(
        h,
        "<footer>\n<p>Made by onlooker {} on this computer. The full results are in \
<a href=\"report.json\">report.json</a>, one row per detection in \
<a href=\"detections.csv\">detections.csv</a>.</p>\n</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    h
}

/// Where the optional parts of the document go on the page.
struct Sections<'a> {
    caveats: Option<&'a Value>,
    timing_extra: Vec<(&'a str, &'a Value)>,
    projection: Vec<(&'a str, &'a Value)>,
    other: Vec<(&'a str, &'a Value)>,
}

impl<'a> Sections<'a> {
    fn of(doc: &'a Value, summary: &'a Map<String, Value>, _images: &'a [Value]) -> Self {
        let mut s = Sections {
            caveats: None,
            timing_extra: Vec::new(),
            projection: Vec::new(),
            other: Vec::new(),
        };
        let is_projection = |k: &str| k.contains("projection") || k.contains("scale");
        let is_caveats = |k: &str| k.contains("caveat");
        for (k, v) in summary {
            let k = k.as_str();
            if COUNT_KEYS.contains(&k) || TIMING_KEYS.contains(&k) || k == "findings" || absent(v) {
                continue;
            }
            if is_caveats(k) {
                s.caveats = Some(v);
            } else if is_projection(k) {
                s.projection.push((k, v));
            } else {
                s.timing_extra.push((k, v));
            }
        }
        if let Some(top) = doc.as_object() {
            for (k, v) in top {
                let k = k.as_str();
                if matches!(k, "version" | "images" | "summary") || absent(v) {
                    continue;
                }
                if is_caveats(k) {
                    s.caveats = s.caveats.or(Some(v));
                } else if is_projection(k) {
                    s.projection.push((k, v));
                } else {
                    s.other.push((k, v));
                }
            }
        }
        s
    }
}

fn absent(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn has_items(v: &Value, key: &str) -> bool {
    v.get(key)
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn count_of(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", plural(n, one, many))
}

/// The last component of the image's path, for headings.
fn file_name(img: &Value) -> String {
    let p = img.get("path").and_then(Value::as_str).unwrap_or("");
    let name = p.rsplit(['/', '\\']).find(|s| !s.is_empty()).unwrap_or(p);
    if name.is_empty() {
        "(unnamed)".into()
    } else {
        name.into()
    }
}

fn usize_at(m: &Map<String, Value>, k: &str) -> Option<usize> {
    m.get(k).and_then(Value::as_u64).map(|n| n as usize)
}

fn learns(h: &mut String, summary: &Map<String, Value>, list: &[Value]) {
    h.push_str("<section id=\"learns\" aria-labelledby=\"learns-h\">\n<h2 id=\"learns-h\">What an onlooker learns</h2>\n");
    let count = |k: &str, f: &dyn Fn(&Value) -> usize| {
        usize_at(summary, k).unwrap_or_else(|| list.iter().map(f).sum())
    };
    let len =
        |k: &'static str| move |i: &Value| i.get(k).and_then(Value::as_array).map_or(0, Vec::len);
    let images = usize_at(summary, "images").unwrap_or(list.len());
    let faces = count("faces", &len("faces"));
    let objects = count("objects", &len("objects"));
    let people = count("people", &|i| {
        i.get("people").and_then(Value::as_u64).unwrap_or(0) as usize
    });
    let failed = count("failed", &|i| {
        usize::from(i.get("error").is_some_and(|e| !e.is_null()))
    });
    h.push_str("<ul class=\"stats\">\n");
    for (n, one, many) in [
        (images, "photo", "photos"),
        (faces, "face", "faces"),
        (people, "person", "people"),
        (objects, "object", "objects"),
    ] {
        let _ = writeln!(h, "<li><strong>{n}</strong> {}</li>", plural(n, one, many));
    }
    if failed > 0 {
        let _ = writeln!(h, "<li><strong>{failed}</strong> could not be read</li>");
    }
    h.push_str("</ul>\n");

    // Objects over the batch: how many, and in how many photos.
    let mut totals: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    for img in list {
        if let Some(c) = img.get("object_counts").and_then(Value::as_object) {
            for (label, n) in c {
                let e = totals.entry(label.clone()).or_default();
                e.0 += n.as_u64().unwrap_or(0);
                e.1 += 1;
            }
        }
    }
    if !totals.is_empty() {
        let mut rows: Vec<_> = totals.into_iter().collect();
        rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
        h.push_str("<h3>What is in the photos</h3>\n<table>\n<thead><tr><th scope=\"col\">object</th><th scope=\"col\">how many</th><th scope=\"col\">in how many photos</th></tr></thead>\n<tbody>\n");
        for (label, (n, photos)) in rows {
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{n}</td><td class=\"num\">{photos}</td></tr>",
                escape(&label)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }

    if let Some(f) = summary.get("findings").filter(|v| !absent(v)) {
        findings(h, f);
    }
    h.push_str("</section>\n");
}

/// `summary.findings`: sentences first (the plain-language part), then the
/// timeline, places and devices they are built from, then anything else.
fn findings(h: &mut String, f: &Value) {
    let Some(obj) = f.as_object() else {
        h.push_str("<h3>From the files' metadata</h3>\n");
        block(h, f);
        return;
    };
    let order = ["sentences", "statements", "timeline", "places", "devices"];
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
    for k in keys {
        let v = &obj[k];
        if absent(v) {
            continue;
        }
        let title = match k.as_str() {
            "sentences" | "statements" => "In plain words".to_string(),
            "timeline" => "Timeline".into(),
            "places" => "Places".into(),
            "devices" => "Devices".into(),
            other => capitalise(&humanize(other)),
        };
        let _ = writeln!(h, "<h3>{}</h3>", escape(&title));
        match (k.as_str(), v) {
            ("sentences" | "statements", Value::Array(items)) => {
                h.push_str("<ul class=\"sentences\">\n");
                for item in items {
                    h.push_str("<li>");
                    sentence(h, item);
                    h.push_str("</li>\n");
                }
                h.push_str("</ul>\n");
            }
            ("timeline", Value::Array(items)) if timeline(h, items, obj) => {}
            _ => block(h, v),
        }
    }
}

/// The timeline with its place and device indices resolved (to a position
/// and a camera name); false, writing nothing, for another shape.
fn timeline(h: &mut String, items: &[Value], findings: &Map<String, Value>) -> bool {
    if !items.iter().all(|i| i.get("taken_at").is_some()) {
        return false;
    }
    let nth = |list: &str, i: Option<u64>| {
        findings
            .get(list)
            .and_then(Value::as_array)
            .and_then(|l| l.get(i? as usize))
    };
    h.push_str("<div class=\"wide\"><table>\n<thead><tr><th scope=\"col\">taken at</th><th scope=\"col\">photo</th><th scope=\"col\">place</th><th scope=\"col\">device</th></tr></thead>\n<tbody>\n");
    for it in items {
        let place = nth("places", it.get("place").and_then(Value::as_u64))
            .and_then(|p| Some((p.get("latitude")?.as_f64()?, p.get("longitude")?.as_f64()?)))
            .map_or_else(String::new, |(lat, lon)| format!("{lat:.5}, {lon:.5}"));
        let device = nth("devices", it.get("device").and_then(Value::as_u64))
            .and_then(|d| d.get("name").or_else(|| d.get("model")))
            .map_or_else(String::new, inline);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{device}</td></tr>",
            inline(&it["taken_at"]),
            it.get("image").map_or_else(String::new, inline),
            escape(&place)
        );
    }
    h.push_str("</tbody>\n</table></div>\n");
    true
}

/// Evidence as `photo.jpg (taken_at, gps.latitude)`, one per cited photo.
fn evidence(v: &Value) -> String {
    let Some(items) = v.as_array() else {
        return inline(v);
    };
    let parts: Vec<String> = items
        .iter()
        .map(|e| match (e.get("image"), e.get("fields")) {
            (Some(img), Some(fields)) => format!("{} ({})", inline(img), inline(fields)),
            _ => inline(e),
        })
        .collect();
    parts.join("; ")
}

/// One finding: its text, then the evidence it cites, in smaller type.
fn sentence(h: &mut String, item: &Value) {
    let Some(o) = item.as_object() else {
        h.push_str(&inline(item));
        return;
    };
    let main = ["text", "sentence", "statement", "summary"]
        .iter()
        .find_map(|k| o.get(*k).and_then(Value::as_str).map(|s| (*k, s)));
    match main {
        Some((key, text)) => {
            h.push_str(&escape(text));
            let rest: Vec<_> = o.iter().filter(|(k, v)| *k != key && !absent(v)).collect();
            if !rest.is_empty() {
                h.push_str("<br><span class=\"evidence\">");
                let parts: Vec<String> = rest
                    .iter()
                    .map(|(k, v)| {
                        let shown = if k.as_str() == "evidence" {
                            evidence(v)
                        } else {
                            keyed(k, v)
                        };
                        format!("{}: {}", escape(&humanize(k)), shown)
                    })
                    .collect();
                h.push_str(&parts.join("; "));
                h.push_str("</span>");
            }
        }
        None => h.push_str(&inline(item)),
    }
}

fn caveats(h: &mut String, c: &Value) {
    match c {
        Value::String(s) => paragraphs(h, s),
        Value::Array(items) => {
            h.push_str("<ul>\n");
            for it in items {
                h.push_str("<li>");
                match it {
                    Value::String(s) => h.push_str(&escape(s)),
                    Value::Object(o) => {
                        let title = ["source", "title", "who", "name"]
                            .iter()
                            .find_map(|k| o.get(*k).and_then(Value::as_str));
                        let text = ["text", "caveat", "statement", "summary"]
                            .iter()
                            .find_map(|k| o.get(*k).and_then(Value::as_str));
                        match (title, text) {
                            (Some(t), Some(x)) => {
                                let _ = write!(h, "<strong>{}</strong>: {}", escape(t), escape(x));
                            }
                            _ => block(h, it),
                        }
                    }
                    other => h.push_str(&inline(other)),
                }
                h.push_str("</li>\n");
            }
            h.push_str("</ul>\n");
        }
        Value::Object(o) => {
            h.push_str("<dl>\n");
            for (k, v) in o {
                let _ = write!(h, "<dt>{}</dt><dd>", escape(&capitalise(&humanize(k))));
                match v {
                    Value::String(s) => paragraphs(h, s),
                    _ => block(h, v),
                }
                h.push_str("</dd>\n");
            }
            h.push_str("</dl>\n");
        }
        other => block(h, other),
    }
}

fn paragraphs(h: &mut String, s: &str) {
    for p in s.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        let _ = writeln!(h, "<p>{}</p>", escape(p).replace('\n', "<br>"));
    }
}

fn timing(h: &mut String, summary: &Map<String, Value>, n: usize, extra: &[(&str, &Value)]) {
    h.push_str("<section id=\"timing\" aria-labelledby=\"timing-h\">\n<h2 id=\"timing-h\">Timing and throughput</h2>\n");
    let secs = summary.get("elapsed_seconds").and_then(Value::as_f64);
    let rate = summary.get("images_per_second").and_then(Value::as_f64);
    h.push_str("<dl>\n");
    if let Some(s) = secs {
        let _ = writeln!(
            h,
            "<dt>Analysis time</dt><dd>{} s for {}</dd>",
            fmt_number(s),
            count_of(n, "photo", "photos")
        );
    }
    if let Some(r) = rate {
        let _ = writeln!(
            h,
            "<dt>Throughput</dt><dd>{} photos per second</dd>",
            fmt_number(r)
        );
        if r > 0.0 {
            let _ = writeln!(
                h,
                "<dt>Per photo</dt><dd>{} ms of wall time</dd>",
                fmt_number(1000.0 / r)
            );
            let per_day = r * 86_400.0;
            let _ = writeln!(
                h,
                "<dt>At this rate</dt><dd>{} photos a day on this one computer</dd>",
                group_thousands(per_day.round() as u64)
            );
        }
    }
    h.push_str("</dl>\n");
    for (k, v) in extra {
        let _ = writeln!(h, "<h3>{}</h3>", escape(&capitalise(&humanize(k))));
        block(h, v);
    }
    h.push_str("</section>\n");
}

/// A serialised `projection::Projection` as a sentence of assumptions, a
/// table of volumes and the notes. False (nothing written) for any other
/// shape, which is then shown as it is.
fn scale_table(h: &mut String, p: &Value) -> bool {
    let (Some(a), Some(volumes)) = (
        p.get("assumptions").and_then(Value::as_object),
        p.get("volumes").and_then(Value::as_array),
    ) else {
        return false;
    };
    let num = |k: &str| a.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let machines = num("machines").max(1.0) as u64;
    let _ = writeln!(
        h,
        "<p>At {} photos per second per machine, on {}, with photos of {} MB on average, and video analysed at {} frame per second of footage recorded at {} Mbit/s:</p>",
        fmt_number(num("images_per_second_per_machine")),
        count_of(machines as usize, "machine", "machines"),
        fmt_number(num("average_photo_bytes") / 1e6),
        fmt_number(num("video_frames_per_second")),
        fmt_number(num("video_bits_per_second") / 1e6),
    );
    h.push_str("<div class=\"wide\"><table>\n<thead><tr><th scope=\"col\">archive</th><th scope=\"col\">photos</th><th scope=\"col\">time for the photos</th><th scope=\"col\">as video: hours of footage</th><th scope=\"col\">time for the video</th></tr></thead>\n<tbody>\n");
    let secs = |v: &Value, part: &str| {
        let key = if machines > 1 {
            "seconds_all_machines"
        } else {
            "seconds_one_machine"
        };
        v.pointer(&format!("/{part}/{key}"))
            .and_then(Value::as_f64)
            .map_or_else(String::new, crate::projection::human_duration)
    };
    for v in volumes {
        let photos = v.pointer("/as_photos/photos").and_then(Value::as_f64);
        let hours = v.pointer("/as_video/footage_hours").and_then(Value::as_f64);
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(v.get("volume").and_then(Value::as_str).unwrap_or("")),
            escape(&photos.map_or_else(String::new, crate::projection::human_count)),
            escape(&secs(v, "as_photos")),
            escape(&hours.map_or_else(String::new, crate::projection::human_count)),
            escape(&secs(v, "as_video")),
        );
    }
    h.push_str("</tbody>\n</table></div>\n");
    if let Some(notes) = p.get("notes").filter(|n| !absent(n)) {
        h.push_str("<h3>What this leaves out</h3>\n");
        block(h, notes);
    }
    true
}

fn image(h: &mut String, i: usize, img: &Value, copy: &Annotated, lazy: bool) {
    let name = file_name(img);
    let path = img.get("path").and_then(Value::as_str).unwrap_or("");
    let width = img.get("width").and_then(Value::as_u64).unwrap_or(0);
    let height = img.get("height").and_then(Value::as_u64).unwrap_or(0);
    let error = img.get("error").and_then(Value::as_str);
    let faces = img.get("faces").and_then(Value::as_array);
    let objects = img.get("objects").and_then(Value::as_array);
    let nf = faces.map_or(0, Vec::len);
    let no = objects.map_or(0, Vec::len);

    let _ = write!(
        h,
        "<article class=\"image\" id=\"image-{n}\" aria-labelledby=\"image-{n}-h\">\n\
<h3 id=\"image-{n}-h\">{n}. <bdi>{}</bdi></h3>\n<p class=\"path\">",
        escape(&name),
        n = i + 1
    );
    let _ = write!(h, "<bdi>{}</bdi>", escape(path));
    if width > 0 && height > 0 {
        let _ = write!(h, " · {width} × {height} px");
    }
    h.push_str("</p>\n");

    if let Some(e) = error {
        let _ = writeln!(
            h,
            "<p class=\"error\"><strong>Could not be analysed:</strong> {}</p>",
            escape(e)
        );
    }
    let scene = img.get("scene").and_then(Value::as_str).unwrap_or("");
    if error.is_none() {
        let mut line = count_of(nf, "face", "faces");
        if let Some(p) = img.get("people").and_then(Value::as_u64) {
            line.push_str(&format!(" · {}", count_of(p as usize, "person", "people")));
        }
        line.push_str(&format!(" · {}", count_of(no, "object", "objects")));
        let _ = writeln!(h, "<p class=\"counts\">{}</p>", escape(&line));
    }

    match copy {
        Annotated::Written(src) => {
            let mut alt = format!(
                "Annotated copy of {name}: {}, {}",
                count_of(nf, "face", "faces"),
                count_of(no, "object", "objects")
            );
            if !scene.is_empty() {
                alt.push_str(&format!(" ({scene})"));
            }
            // Small photos are shown up to twice their size, so the labels
            // read from the back of a room; large ones fit the page.
            let dims = if width > 0 && height > 0 {
                format!(
                    " width=\"{width}\" height=\"{height}\" style=\"width:min(100%,{}px)\"",
                    width * 2
                )
            } else {
                String::new()
            };
            let _ = write!(
                h,
                "<figure>\n<img src=\"{}\" alt=\"{}\"{dims}{}>\n",
                escape(src),
                escape(&alt),
                if lazy { " loading=\"lazy\"" } else { "" }
            );
            if !scene.is_empty() {
                let _ = writeln!(h, "<figcaption>Objects: {}</figcaption>", escape(scene));
            }
            h.push_str("</figure>\n");
        }
        Annotated::Failed(reason) => {
            let _ = writeln!(
                h,
                "<p class=\"error\">No annotated copy: {}</p>",
                escape(reason)
            );
        }
        Annotated::None => {}
    }

    if let Some(fs) = faces.filter(|f| !f.is_empty()) {
        faces_table(h, fs);
    }
    if let Some(os) = objects.filter(|o| !o.is_empty()) {
        objects_table(h, os);
    }
    if let Some(m) = img.get("metadata").filter(|m| !absent(m)) {
        h.push_str("<h4>What the file itself says</h4>\n");
        metadata(h, m);
    }
    if let Some(o) = img.as_object() {
        let extra: Vec<_> = o
            .iter()
            .filter(|(k, v)| !IMAGE_KEYS.contains(&k.as_str()) && !absent(v))
            .collect();
        if !extra.is_empty() {
            h.push_str("<h4>More</h4>\n<dl>\n");
            for (k, v) in extra {
                let _ = write!(h, "<dt>{}</dt><dd>", escape(&capitalise(&humanize(k))));
                block(h, v);
                h.push_str("</dd>\n");
            }
            h.push_str("</dl>\n");
        }
    }
    h.push_str("</article>\n");
}

/// Face columns in the order people read them; other keys follow in the
/// order they appear.
const FACE_ORDER: [&str; 9] = [
    "age",
    "gender",
    "expression",
    "head_pose",
    "blur",
    "exposure",
    "size_px",
    "cloud_min_size_px",
    "below_cloud_min_size",
];

fn columns(items: &[Value], skip: &[&str], order: &[&str]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for it in items {
        if let Some(o) = it.as_object() {
            for (k, v) in o {
                if !skip.contains(&k.as_str()) && !absent(v) && !cols.contains(k) {
                    cols.push(k.clone());
                }
            }
        }
    }
    cols.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
    cols
}

fn column_title(k: &str) -> String {
    match k {
        "size_px" => "size (px)".into(),
        "cloud_min_size_px" => "cloud minimum (px)".into(),
        "below_cloud_min_size" => "too small for the cloud".into(),
        "head_pose" => "head pose".into(),
        other => humanize(other),
    }
}

fn faces_table(h: &mut String, faces: &[Value]) {
    let cols = columns(faces, &["box", "score", "landmarks"], &FACE_ORDER);
    let _ = write!(
        h,
        "<div class=\"wide\"><table>\n<caption>{}</caption>\n<thead><tr><th scope=\"col\">face</th><th scope=\"col\">score</th>",
        escape(&capitalise(&count_of(faces.len(), "face", "faces")))
    );
    for c in &cols {
        let _ = write!(h, "<th scope=\"col\">{}</th>", escape(&column_title(c)));
    }
    h.push_str("<th scope=\"col\">box (x, y, w × h)</th></tr></thead>\n<tbody>\n");
    for (i, f) in faces.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td>",
            i + 1,
            score_cell(f.get("score"))
        );
        for c in &cols {
            let _ = write!(h, "<td>{}</td>", field_cell(c, f.get(c.as_str())));
        }
        let _ = writeln!(h, "<td class=\"num\">{}</td></tr>", box_cell(f.get("box")));
    }
    h.push_str("</tbody>\n</table></div>\n");
}

fn objects_table(h: &mut String, objects: &[Value]) {
    let cols = columns(objects, &["box", "score", "label", "class_id"], &[]);
    let _ = write!(
        h,
        "<div class=\"wide\"><table>\n<caption>{}</caption>\n<thead><tr><th scope=\"col\">object</th><th scope=\"col\">score</th>",
        escape(&capitalise(&count_of(objects.len(), "object", "objects")))
    );
    for c in &cols {
        let _ = write!(h, "<th scope=\"col\">{}</th>", escape(&column_title(c)));
    }
    h.push_str("<th scope=\"col\">box (x, y, w × h)</th></tr></thead>\n<tbody>\n");
    for o in objects {
        let label = o.get("label").and_then(Value::as_str).unwrap_or("?");
        let _ = write!(
            h,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td>",
            escape(label),
            score_cell(o.get("score"))
        );
        for c in &cols {
            let _ = write!(h, "<td>{}</td>", field_cell(c, o.get(c.as_str())));
        }
        let _ = writeln!(h, "<td class=\"num\">{}</td></tr>", box_cell(o.get("box")));
    }
    h.push_str("</tbody>\n</table></div>\n");
}

fn score_cell(v: Option<&Value>) -> String {
    match v.and_then(Value::as_f64) {
        Some(s) => format!("{:.0}%", s * 100.0),
        None => String::new(),
    }
}

fn box_cell(v: Option<&Value>) -> String {
    let Some(b) = v.and_then(Value::as_array) else {
        return String::new();
    };
    let n: Vec<String> = b
        .iter()
        .map(|x| {
            x.as_f64()
                .map_or_else(|| "?".into(), |f| format!("{}", f.round() as i64))
        })
        .collect();
    match n.as_slice() {
        [x, y, w, hh] => format!("{x}, {y}, {w} × {hh}"),
        _ => escape(&n.join(", ")),
    }
}

/// One attribute of a face or object, formatted by what it is.
fn field_cell(key: &str, v: Option<&Value>) -> String {
    let Some(v) = v else {
        return String::new();
    };
    match (key, v) {
        ("age", Value::Number(n)) => n
            .as_f64()
            .map_or_else(String::new, |a| format!("{}", a.round() as i64)),
        ("head_pose", Value::Object(o)) => {
            let parts: Vec<String> = ["yaw", "pitch", "roll"]
                .iter()
                .filter_map(|k| {
                    o.get(*k)
                        .and_then(Value::as_f64)
                        .map(|d| format!("{k} {}°", d.round() as i64))
                })
                .collect();
            if parts.is_empty() {
                inline(v)
            } else {
                escape(&parts.join(", "))
            }
        }
        _ => inline(v),
    }
}

fn metadata(h: &mut String, m: &Value) {
    let Some(o) = m.as_object() else {
        block(h, m);
        return;
    };
    let mut rows = Vec::new();
    // A position first, in the form people type into a map.
    let lat = m.pointer("/gps/latitude").and_then(Value::as_f64);
    let lon = m.pointer("/gps/longitude").and_then(Value::as_f64);
    if let (Some(lat), Some(lon)) = (lat, lon) {
        rows.push((
            "position".to_string(),
            escape(&format!(
                "{:.5}° {}, {:.5}° {}",
                lat.abs(),
                if lat >= 0.0 { "N" } else { "S" },
                lon.abs(),
                if lon >= 0.0 { "E" } else { "W" }
            )),
        ));
    }
    let mut flat = Vec::new();
    for (k, v) in o {
        flatten(k, v, &mut flat);
    }
    for (k, v) in flat {
        let cell = keyed(&k, v);
        rows.push((k, cell));
    }
    h.push_str("<table>\n<tbody>\n");
    for (k, v) in rows {
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\">{}</th><td>{v}</td></tr>",
            escape(&humanize(&k))
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

/// Nested objects become dotted keys (`camera.make`); an object that reads
/// as one value (a label with a confidence, a level with a value) stays
/// whole.
fn flatten<'a>(prefix: &str, v: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(o) if !reads_as_one(o) => {
            for (k, child) in o {
                flatten(&format!("{prefix}.{k}"), child, out);
            }
        }
        _ if absent(v) => {}
        _ => out.push((prefix.to_string(), v)),
    }
}

fn reads_as_one(o: &Map<String, Value>) -> bool {
    o.contains_key("label") || o.contains_key("level") || o.is_empty()
}

/// [`inline`], with coordinates kept to 1 m (5 decimals): rounding a
/// position would understate what the file gives away.
fn keyed(key: &str, v: &Value) -> String {
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    let coordinate = last.contains("latitude")
        || last.contains("longitude")
        || matches!(last.as_str(), "lat" | "lon" | "lng");
    match v.as_f64() {
        Some(f) if coordinate && f.is_finite() => format!("{f:.5}"),
        _ => inline(v),
    }
}

/// A value as one line of escaped HTML.
fn inline(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => (if *b { "yes" } else { "no" }).into(),
        Value::Number(n) => n
            .as_f64()
            .map_or_else(|| escape(&n.to_string()), fmt_number),
        Value::String(s) => escape(s),
        Value::Array(a) => a.iter().map(inline).collect::<Vec<_>>().join(", "),
        Value::Object(o) => {
            // {label, confidence|score, scores}: "happy 62% (neutral 20%, sad 9%)"
            if let Some(label) = o.get("label").and_then(Value::as_str) {
                let mut s = escape(label);
                let conf = o
                    .get("confidence")
                    .or_else(|| o.get("score"))
                    .and_then(Value::as_f64)
                    .or_else(|| o.get("scores")?.get(label)?.as_f64());
                if let Some(c) = conf {
                    s.push_str(&format!(" {:.0}%", c * 100.0));
                }
                if let Some(scores) = o.get("scores").and_then(Value::as_object) {
                    let mut others: Vec<(&String, f64)> = scores
                        .iter()
                        .filter(|(k, _)| k.as_str() != label)
                        .filter_map(|(k, v)| Some((k, v.as_f64()?)))
                        .collect();
                    others.sort_by(|a, b| b.1.total_cmp(&a.1));
                    let top: Vec<String> = others
                        .iter()
                        .take(2)
                        .map(|(k, p)| format!("{} {:.0}%", escape(k), p * 100.0))
                        .collect();
                    if !top.is_empty() {
                        s.push_str(&format!(" (then {})", top.join(", ")));
                    }
                }
                return s;
            }
            // {level, value}: "medium (0.42)"
            if let Some(level) = o.get("level").and_then(Value::as_str) {
                let mut s = escape(level);
                if let Some(x) = o.get("value").and_then(Value::as_f64) {
                    s.push_str(&format!(" ({})", fmt_number(x)));
                }
                return s;
            }
            o.iter()
                .filter(|(_, v)| !absent(v))
                .map(|(k, v)| format!("{} {}", escape(&humanize(k)), keyed(k, v)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// A value as a block: tables for lists of records, definition lists for
/// objects, a line for anything else.
fn block(h: &mut String, v: &Value) {
    match v {
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            let mut cols: Vec<String> = Vec::new();
            let rows: Vec<Vec<(String, &Value)>> = items
                .iter()
                .map(|it| {
                    let mut flat = Vec::new();
                    for (k, v) in it.as_object().into_iter().flatten() {
                        flatten(k, v, &mut flat);
                    }
                    for (k, _) in &flat {
                        if !cols.contains(k) {
                            cols.push(k.clone());
                        }
                    }
                    flat
                })
                .collect();
            h.push_str("<div class=\"wide\"><table>\n<thead><tr>");
            for c in &cols {
                let _ = write!(h, "<th scope=\"col\">{}</th>", escape(&humanize(c)));
            }
            h.push_str("</tr></thead>\n<tbody>\n");
            for r in rows {
                h.push_str("<tr>");
                for c in &cols {
                    let cell = r
                        .iter()
                        .find(|(k, _)| k == c)
                        .map_or_else(String::new, |(k, v)| keyed(k, v));
                    let _ = write!(h, "<td>{cell}</td>");
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</tbody>\n</table></div>\n");
        }
        Value::Array(items) if items.iter().all(Value::is_string) && items.len() > 1 => {
            h.push_str("<ul>\n");
            for it in items {
                let _ = writeln!(h, "<li>{}</li>", inline(it));
            }
            h.push_str("</ul>\n");
        }
        Value::Object(o) if !reads_as_one(o) => {
            h.push_str("<dl>\n");
            for (k, v) in o.iter().filter(|(_, v)| !absent(v)) {
                let _ = write!(h, "<dt>{}</dt><dd>", escape(&capitalise(&humanize(k))));
                match v {
                    Value::Object(_) | Value::Array(_) => block(h, v),
                    _ => h.push_str(&keyed(k, v)),
                }
                h.push_str("</dd>\n");
            }
            h.push_str("</dl>\n");
        }
        other => {
            let _ = writeln!(h, "<p>{}</p>", inline(other));
        }
    }
}

/// `images_per_second` → `images per second`.
fn humanize(key: &str) -> String {
    key.replace(['_', '.'], " ").trim().to_string()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Integers as integers, other numbers with precision that fits their size.
fn fmt_number(f: f64) -> String {
    if !f.is_finite() {
        return String::new();
    }
    if f.fract() == 0.0 && f.abs() < 1e15 {
        let n = f as i64;
        return if n.unsigned_abs() >= 10_000 {
            format!(
                "{}{}",
                if n < 0 { "-" } else { "" },
                group_thousands(n.unsigned_abs())
            )
        } else {
            n.to_string()
        };
    }
    let a = f.abs();
    if a >= 100.0 {
        format!("{f:.0}")
    } else if a >= 10.0 {
        format!("{f:.1}")
    } else if a >= 0.01 {
        format!("{f:.2}")
    } else if a >= 0.00005 {
        format!("{f:.4}")
    } else {
        // Rounding noise (7e-13 km) reads as what it is.
        "0".into()
    }
}

fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}[31m"), "a\u{FFFD}b\u{FFFD}[31m");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(fmt_number(3.0), "3");
        assert_eq!(fmt_number(15.127), "15.1");
        assert_eq!(fmt_number(0.834), "0.83");
        assert_eq!(fmt_number(1234.6), "1235");
        assert_eq!(fmt_number(2026.0), "2026");
        assert_eq!(fmt_number(7.07e-13), "0");
        assert_eq!(fmt_number(560_000_000.0), "560,000,000");
        assert_eq!(keyed("gps.latitude", &json!(48.858_412)), "48.85841");
        assert_eq!(keyed("lon", &json!(-2.5)), "-2.50000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
        assert_eq!(group_thousands(999), "999");
    }

    #[test]
    fn values_that_read_as_one_stay_whole() {
        let e = json!({"label": "happy", "scores": {"happy": 0.62, "neutral": 0.2, "sad": 0.09, "fear": 0.01}});
        assert_eq!(inline(&e), "happy 62% (then neutral 20%, sad 9%)");
        assert_eq!(
            inline(&json!({"label": "female", "confidence": 0.87})),
            "female 87%"
        );
        assert_eq!(
            inline(&json!({"level": "low", "value": 0.12})),
            "low (0.12)"
        );
        assert_eq!(
            field_cell(
                "head_pose",
                Some(&json!({"roll": 4.2, "yaw": -12.6, "pitch": 3}))
            ),
            "yaw -13°, pitch 3°, roll 4°"
        );
    }

    #[test]
    fn a_projection_reads_as_a_table() {
        let p = crate::projection::Assumptions {
            images_per_second_per_machine: 10.0,
            machines: 1,
            average_photo_bytes: 2.5e6,
            video_frames_per_second: 1.0,
            video_bits_per_second: 5e6,
        }
        .project();
        let doc = json!({"version": 1, "images": [], "summary": {"images": 0}});
        let h = render_with_projection(&doc, &[], Some(&serde_json::to_value(p).unwrap()));
        assert!(h.contains("<h2 id=\"scale-h\">At scale</h2>"));
        assert!(h.contains("<th scope=\"row\">1.4 PB</th>"));
        // 1.4 PB of 2.5 MB photos at 10 a second: 56 million s.
        assert!(
            h.contains("560.0 million") && h.contains("1.8 years"),
            "{h}"
        );
        assert!(h.contains("What this leaves out"));
    }

    #[test]
    fn absent_sections_are_not_rendered() {
        let doc = json!({"version": 1, "images": [], "summary": {"images": 0, "elapsed_seconds": 0.1, "images_per_second": 0.0}});
        let h = render(&doc, &[]);
        assert!(!h.contains("id=\"caveats\""));
        assert!(!h.contains("id=\"scale\""));
        assert!(!h.contains("<h3>Timeline</h3>"));
        assert!(h.contains("What an onlooker learns from 0 photos"));
    }

    #[test]
    fn optional_sections_appear_when_present() {
        let doc = json!({
            "version": 1,
            "images": [],
            "summary": {
                "images": 0,
                "attribute_caveats": "Emotion is not an inner state.\n\nGender is not identity.",
                "findings": {"timeline": [{"path": "a.jpg", "taken_at": "2026-05-01T08:02:00"}],
                             "sentences": [{"text": "4 photos on 2026-05-01", "evidence": ["a.jpg"]}]},
                "scale_projection": {"machines": 1, "days_for_1_4_pb": 12.5}
            }
        });
        let h = render(&doc, &[]);
        assert!(h.contains("<p>Emotion is not an inner state.</p>"));
        assert!(h.contains("<h3>Timeline</h3>"));
        assert!(h.contains("2026-05-01T08:02:00"));
        assert!(h.contains("4 photos on 2026-05-01<br><span class=\"evidence\">evidence: a.jpg"));
        assert!(h.contains("id=\"scale\"") && h.contains("12.5"));
        // Sentences come before the timeline.
        assert!(h.find("In plain words").unwrap() < h.find("Timeline").unwrap());
    }
}
