//! The access token of `--listen`: on a room network, every request must
//! carry it, in the query of the printed URL (`?token=`) or in the cookie
//! the server then sets, so the page's own assets and uploads carry it
//! too. Missing: 401; wrong: 403. Without a token (the loopback bind), a
//! request naming another host is refused (403).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;

const COOKIE: &str = "onlooker_token";

/// A fresh random token: 128 bits from the operating system, as hex.
pub fn new_token() -> Result<String, std::io::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn from_query(request: &Request) -> Option<String> {
    request
        .uri()
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token=").map(str::to_owned))
}

fn from_cookie(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Whether a request's `Host` names this computer. On the loopback bind
/// (no token) this is the defence against DNS rebinding: a web page
/// elsewhere whose name is made to resolve to 127.0.0.1 would otherwise
/// reach the server from the visitor's browser, with `Host` its own name.
/// A request without `Host` (not a browser's) is let through.
fn local_host(request: &Request) -> bool {
    let Some(host) = request.headers().get(header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "::1"
    )
}

pub(crate) async fn check(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let Some(token) = app.config.token.as_deref() else {
        if !local_host(&request) {
            super::api::drain(request.into_body(), app.config.max_upload_bytes).await;
            return refuse(
                StatusCode::FORBIDDEN,
                "this server answers only addresses of this computer (127.0.0.1, localhost)",
            );
        }
        return next.run(request).await;
    };
    let query = from_query(&request);
    let given = query.clone().or_else(|| from_cookie(&request));
    if given.as_deref().is_none_or(|g| !same(g, token)) {
        // Read and dropped (within the upload limit), so a client sees the
        // refusal rather than a connection closed under its upload.
        super::api::drain(request.into_body(), app.config.max_upload_bytes).await;
        return match given {
            None => refuse(
                StatusCode::UNAUTHORIZED,
                "this server needs its access token: open the address it printed",
            ),
            Some(_) => refuse(StatusCode::FORBIDDEN, "wrong access token"),
        };
    }
    let mut response = next.run(request).await;
    if query.is_some() {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
        )) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_computers_names_are_local_hosts() {
        let with = |host: Option<&str>| {
            let mut r = Request::new(axum::body::Body::empty());
            if let Some(h) = host {
                r.headers_mut()
                    .insert(header::HOST, HeaderValue::from_str(h).unwrap());
            }
            local_host(&r)
        };
        for ok in [
            None,
            Some("127.0.0.1:8737"),
            Some("localhost:8737"),
            Some("LOCALHOST"),
            Some("[::1]:8737"),
        ] {
            assert!(with(ok), "{ok:?}");
        }
        for bad in [
            "attacker.example:8737",
            "127.0.0.1.attacker.example",
            "localhost.attacker.example:8737",
            "[::2]:8737",
            "",
        ] {
            assert!(!with(Some(bad)), "{bad}");
        }
    }

    #[test]
    fn tokens_are_fresh_hex() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b));
        assert!(!same(&a, &a[..31]));
    }
}
