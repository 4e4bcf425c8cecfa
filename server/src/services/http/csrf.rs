//! Cross-site request forgery: a page on another site can make a browser
//! send a form to the controller. SameSite=Strict keeps the session cookie
//! off such a request, but a login form, a logout, or a browser that does
//! not honour SameSite would still go through. So every request that may
//! change something (every method but GET, HEAD, OPTIONS and TRACE) must
//! name the controller itself as its origin: its `Origin` header (or, when
//! a browser sends none, its `Referer`) must be the `Host` it was sent to,
//! whichever of the controller's addresses or names that is. The central
//! station's web page (`station::web`) uses the same check.

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
    if authority(source).is_some_and(|a| a.eq_ignore_ascii_case(host)) {
        Ok(())
    } else {
        Err(format!(
            "refused: a page from {source} may not change anything here (cross-site request)"
        ))
    }
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
}
