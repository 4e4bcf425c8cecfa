//! Cross-site request forgery: a page on another site can make a browser
//! send a form to the controller. SameSite=Strict keeps the session cookie
//! off such a request, but a login form, a logout, or a browser that does
//! not honour SameSite would still go through. So every request that may
//! change something (every method but GET, HEAD, OPTIONS and TRACE) must
//! name the controller itself as its origin: its `Origin` header (or, when
//! a browser sends none, its `Referer`) must be the `Host` it was sent to,
//! whichever of the controller's addresses or names that is. The central
//! station's web page (`station::web`) uses the same check.
//!
//! The panels' live channel (`/ws`) is opened with a GET, which this layer
//! lets through, yet it carries presses: a page on another port of the same
//! host is the same *site*, so the browser sends it the session cookie. Its
//! upgrade is checked by [`websocket_origin`], the same comparison.

use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub(crate) async fn same_origin(request: Request, next: Next) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    match check(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(why) => (StatusCode::FORBIDDEN, format!("{why}\n")).into_response(),
    }
}

/// Whether a changing request comes from the controller's own pages.
fn check(headers: &HeaderMap) -> Result<(), String> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let host = text(header::HOST).ok_or("refused: the request names no Host")?;
    // `Origin: null` (sandboxed frames, some redirects) says nothing.
    let source = text(header::ORIGIN)
        .filter(|o| *o != "null")
        .or_else(|| text(header::REFERER))
        .ok_or(
            "refused: a request that changes something must come from this server's own \
             pages (no Origin or Referer header)",
        )?;
    if is_host(source, host) {
        Ok(())
    } else {
        Err(format!(
            "refused: a page from {source} may not change anything here (cross-site request)"
        ))
    }
}

/// Whether a WebSocket handshake may open the panels' live channel: its
/// `Origin` is the `Host` it was sent to (the controller's own pages, the
/// designer's preview) or one of `allowed` (`[panel] allowed_origins`).
/// A handshake without `Origin` is not from a browser (a browser always
/// sends one on a WebSocket handshake, RFC 6455 section 4.1, and a page
/// cannot remove it): such a client holds its own cookie, if any.
pub(crate) fn websocket_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let listed = allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin));
    if (!host.is_empty() && is_host(origin, host)) || (origin != "null" && listed) {
        Ok(())
    } else {
        Err(format!(
            "refused: a page from {origin} may not open this controller's panel channel \
             (cross-site WebSocket); a panel page of another origin must be listed in \
             [panel] allowed_origins\n"
        ))
    }
}

/// Whether the origin or URL `source` names `host` (`host[:port]`).
fn is_host(source: &str, host: &str) -> bool {
    authority(source).is_some_and(|a| a.eq_ignore_ascii_case(host))
}

/// `host[:port]` of an origin or URL (`http://host:port/path` → `host:port`).
fn authority(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn own_origin_or_referer_only() {
        let host = (header::HOST, "10.0.0.5:8080");
        assert!(check(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://10.0.0.5:8080")
        ]))
        .is_ok());
        assert!(check(&headers(&[
            host.clone(),
            (header::REFERER, "http://10.0.0.5:8080/admin?x=1")
        ]))
        .is_ok());
        assert!(check(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://evil.example")
        ]))
        .is_err());
        assert!(check(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://10.0.0.5:8080.evil.example")
        ]))
        .is_err());
        assert!(check(&headers(&[host.clone(), (header::ORIGIN, "null")])).is_err());
        assert!(check(&headers(&[host])).is_err());
        assert!(check(&headers(&[(header::ORIGIN, "http://10.0.0.5:8080")])).is_err());
    }

    #[test]
    fn websocket_handshakes_from_own_or_listed_origins_only() {
        let host = (header::HOST, "10.0.0.5:8080");
        let allowed = vec!["http://10.0.0.9:8000/".to_string()];
        let ws = |pairs: &[(header::HeaderName, &str)]| websocket_origin(&headers(pairs), &allowed);
        assert!(ws(&[host.clone(), (header::ORIGIN, "http://10.0.0.5:8080")]).is_ok());
        assert!(ws(&[host.clone(), (header::ORIGIN, "https://10.0.0.5:8080")]).is_ok());
        assert!(ws(&[host.clone(), (header::ORIGIN, "http://10.0.0.9:8000")]).is_ok());
        // Another port of the same host is another origin.
        assert!(ws(&[host.clone(), (header::ORIGIN, "http://10.0.0.5:8081")]).is_err());
        assert!(ws(&[host.clone(), (header::ORIGIN, "http://10.0.0.9:8001")]).is_err());
        assert!(ws(&[host.clone(), (header::ORIGIN, "null")]).is_err());
        assert!(ws(&[(header::ORIGIN, "http://10.0.0.5:8080")]).is_err());
        // Not a browser: no Origin at all.
        assert!(ws(&[host]).is_ok());
    }
}
