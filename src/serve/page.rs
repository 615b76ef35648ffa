//! The workshop page: its embedded assets (the binary holds them; the
//! page loads nothing else), the security headers every answer carries,
//! `POST /api/report`, which answers the uploads with the HTML report's
//! own sections for them, rendered by the report's askama template from
//! the typed results, annotated copies inline as `data:` URLs, and
//! `POST /api/findings`, the same report's batch sections for the results
//! the page sends back.
//!
//! The server keeps nothing between requests, so what ties the photos
//! dropped in one browser tab together lives in that tab: `/api/report`
//! also answers each upload's typed results, face embeddings included (the
//! persons across the photos need them), the page holds them in memory
//! only, and sends all it holds to `/api/findings` after each upload.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::api;
use super::api::ApiError;
use super::App;
use crate::report::html;
use crate::result::ImageResult;
use crate::run;

/// Every answer's Content-Security-Policy: scripts, styles and requests
/// from the server only; pictures also from `data:` and `blob:` URLs (the
/// annotated copies are sent inline). The report's views set a few sizes
/// in `style` attributes (`style-src-attr`); no inline script or style
/// element runs.
pub const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; \
     style-src-attr 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const INDEX: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/app.js");
const STYLE: &str = include_str!("page/page.css");
const REPORT_STYLE: &str = include_str!("../../templates/report.css");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

pub(crate) async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

pub(crate) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub(crate) async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

pub(crate) async fn report_style() -> Response {
    asset("text/css; charset=utf-8", REPORT_STYLE)
}

/// Adds the headers every answer carries: the CSP, no sniffing, no
/// referrer, no caching (results are nobody's to keep).
pub(crate) async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// What `/api/report` answers, and (`images` only) what `/api/findings`
/// is sent back.
#[derive(Serialize)]
struct ReportReply<'a> {
    /// The report's sections for the uploads (an HTML fragment).
    html: String,
    /// Their typed results, each face's embedding included: the page keeps
    /// them in the tab's memory for `/api/findings`.
    images: &'a [ImageResult],
}

/// `POST /api/report`: the uploads analysed as by `/api/analyze`, answered
/// with the report's sections for them and their results (JSON).
pub(crate) async fn report(State(app): State<Arc<App>>, request: Request) -> Response {
    match api::analyze_request(&app, request, true).await {
        Ok(mut a) => {
            let page = html::render_full(&html::Report {
                videos: &a.videos,
                video_files: &a.video_files,
                copies: &a.copies,
                countries: app.countries.as_ref(),
                ..html::Report::of_photos(&a.results, &a.summary)
            });
            for face in a.results.iter_mut().flat_map(|r| r.faces.iter_mut()) {
                face.embedding_written = face.embedding.take();
            }
            let reply = ReportReply {
                html: fragment(&page),
                images: &a.results,
            };
            match serde_json::to_string(&reply) {
                Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
                Err(e) => ApiError::Internal(e.to_string()).into_response(),
            }
        }
        Err(e) => e.into_response(),
    }
}

/// The body of `POST /api/findings`: the results the page holds.
#[derive(Deserialize)]
struct Held {
    images: Vec<ImageResult>,
}

/// `POST /api/findings`: the results of the photos dropped in one tab,
/// sent back by the page, answered with the report's batch sections for
/// them (verdict, findings, people), as `analyze` would give for the same
/// photos. Nothing of them is kept.
pub(crate) async fn findings(State(app): State<Arc<App>>, request: Request) -> Response {
    match across_photos(&app, request).await {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn across_photos(app: &Arc<App>, request: Request) -> Result<String, ApiError> {
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !json {
        return Err(ApiError::NotJson);
    }
    let limit = app.config.max_upload_bytes;
    let too_large = ApiError::RequestTooLarge {
        limit_mib: limit >> 20,
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large);
    }
    // Admitted like an upload: many faces make the persons pass costly.
    let Ok(admitted) = app.admitted.clone().try_acquire_owned() else {
        api::drain(request.into_body(), limit).await;
        return Err(ApiError::Busy);
    };
    let bytes = axum::body::to_bytes(
        request.into_body(),
        usize::try_from(limit).unwrap_or(usize::MAX),
    )
    .await
    .map_err(|_| too_large)?;
    let held: Held =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Malformed(e.to_string()))?;
    drop(bytes);
    let identity = app.config.analysis.identity;
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || {
        let _admitted = admitted;
        let mut results = held.images;
        for face in results.iter_mut().flat_map(|r| r.faces.iter_mut()) {
            face.embedding = face.embedding_written.take();
        }
        let summary = run::complete(&mut results, &mut [], 0.0, identity);
        let page = html::render_full(&html::Report {
            countries: app.countries.as_ref(),
            ..html::Report::of_photos(&results, &summary)
        });
        sections(&page, &["verdict", "learns", "people"])
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The report page's sections with these ids, in this order (each ends at
/// its first `</section>`: none of them holds another); absent ones are
/// left out.
pub(crate) fn sections(page: &str, ids: &[&str]) -> String {
    let mut out = String::new();
    for id in ids {
        let Some(start) = page.find(&format!("<section id=\"{id}\"")) else {
            continue;
        };
        let end = page[start..]
            .find("</section>")
            .map_or(page.len(), |i| start + i + "</section>".len());
        out.push_str(&page[start..end]);
    }
    out
}

/// The report page's header and main sections, without the document
/// around them, its contents list or its skip link: what the workshop page
/// shows for one upload. `main` becomes a `div` (the page has its own).
pub fn fragment(page: &str) -> String {
    let start = page.find("<header>").unwrap_or(0);
    let end = page
        .rfind("</main>")
        .map_or(page.len(), |i| i + "</main>".len());
    let mut body = page[start..end].to_string();
    if let (Some(a), Some(b)) = (body.find("<nav"), body.find("</nav>")) {
        if a < b {
            body.replace_range(a..b + "</nav>".len(), "");
        }
    }
    body.replace(
        "<main id=\"main\" tabindex=\"-1\">",
        "<div class=\"report-main\">",
    )
    .replace("</main>", "</div>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fragment_keeps_header_and_main_only() {
        let page = "<!DOCTYPE html><html><head><style>x</style></head><body><a class=\"skip\" href=\"#main\">s</a>\
            <header><h1>t</h1></header><nav><ol><li>c</li></ol></nav>\
            <main id=\"main\" tabindex=\"-1\"><p>m</p></main><footer>f</footer></body></html>";
        assert_eq!(
            fragment(page),
            "<header><h1>t</h1></header><div class=\"report-main\"><p>m</p></div>"
        );
    }

    #[test]
    fn sections_are_cut_by_id_in_the_order_asked() {
        let page = "<header><section id=\"verdict\" class=\"v\"><p>v</p></section></header>\
            <main><section id=\"learns\"><p>l</p></section><section id=\"wrong\"><p>w</p></section></main>";
        assert_eq!(
            sections(page, &["learns", "people", "verdict"]),
            "<section id=\"learns\"><p>l</p></section><section id=\"verdict\" class=\"v\"><p>v</p></section>"
        );
    }

    #[test]
    fn the_real_page_has_no_script_and_splits() {
        let page = html::render(&[], &crate::result::Summary::default(), &[], None);
        let f = fragment(&page);
        assert!(f.starts_with("<header>"), "{f}");
        assert!(f.ends_with("</div>"));
        assert!(!f.contains("<script") && !f.contains("<style") && !f.contains("<nav"));
    }
}
