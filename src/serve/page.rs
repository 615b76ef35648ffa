//! The workshop page: its embedded assets (the binary holds them; the
//! page loads nothing else), the security headers every answer carries,
//! and `POST /api/report`, which answers the uploads with the HTML report's
//! own sections for them, rendered by the report's askama template from
//! the typed results, annotated copies inline as `data:` URLs.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api;
use super::App;
use crate::report::html;

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

/// `POST /api/report`: the uploads analysed as by `/api/analyze`, answered
/// with the report's sections for them (an HTML fragment).
pub(crate) async fn report(State(app): State<Arc<App>>, request: Request) -> Response {
    match api::analyze_request(&app, request, true).await {
        Ok(a) => {
            let page = html::render(&a.results, &a.summary, &a.copies, None);
            (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                fragment(&page),
            )
                .into_response()
        }
        Err(e) => e.into_response(),
    }
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
    fn the_real_page_has_no_script_and_splits() {
        let page = html::render(&[], &crate::result::Summary::default(), &[], None);
        let f = fragment(&page);
        assert!(f.starts_with("<header>"), "{f}");
        assert!(f.ends_with("</div>"));
        assert!(!f.contains("<script") && !f.contains("<style") && !f.contains("<nav"));
    }
}
