//! What every HTTP answer of the controller gets on its way out (and every
//! request on its way in), as tower-http layers around the router:
//!
//! - request tracing (`RUST_LOG=tower_http=debug` shows each request);
//! - a request-body limit (413) and a deadline for the whole request
//!   (408), beside hyper's header-read timeout set per connection;
//! - compression (br, zstd, gzip: whichever the browser accepts first by
//!   its weights) of anything worth it; files compressed at build time are
//!   sent as they are ([`super::assets`]);
//! - security headers: a Content-Security-Policy (pages rendered by the
//!   app get one with a per-request nonce for Leptos's hydration scripts,
//!   see [`page_csp`]), `X-Content-Type-Options: nosniff`, no framing by
//!   other sites (`frame-ancestors 'none'`, `X-Frame-Options: DENY`) and
//!   `Referrer-Policy: same-origin` (the CSRF check reads the Referer of
//!   the controller's own pages, so it must stay on them); the one
//!   exception is the Project Designer's preview, which the designer's
//!   page frames (`frame-ancestors 'self'`, [`Framing::SameOrigin`]);
//! - `Cache-Control: no-store` unless the answer says otherwise (pages and
//!   API answers hold live state; static files say `no-cache` and are
//!   revalidated with `Last-Modified`, a 304 when unchanged).

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Version};
use axum::Router;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Settings;

/// The policy of answers that are not pages of the app (the login form,
/// static files, API answers): nothing inline may run.
const BASE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// [`BASE_CSP`] for the plain answers of the designer's preview
/// (preview.rs), which the designer's page frames.
pub const FRAMED_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'self'";

/// The policy of the central station's pages without a script (`roomctl
/// station`: its login form, alerts and usage; its live screens have the
/// app pages' [`page_policy`]): nothing may run; style attributes are
/// allowed, as on the panel's pages.
pub const STATION_CSP: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The policy of the app's pages. Scripts: the controller's own files and
/// the inline scripts Leptos writes with this request's nonce (hydration,
/// resolved resources); `'wasm-unsafe-eval'` lets the page compile its
/// WebAssembly. Styles: inline style attributes are allowed (the panel
/// grid's size and each button's place are style attributes).
/// `framing`: who may show the page in a frame.
pub fn page_policy(nonce: &str, framing: Framing) -> String {
    let ancestors = match framing {
        Framing::Deny => "'none'",
        Framing::SameOrigin => "'self'",
    };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}"
    )
}

/// Who may show a page of the app in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Nobody (every page but the designer's preview).
    Deny,
    /// The controller's own pages: the Project Designer shows its preview
    /// (preview.rs) in an iframe.
    SameOrigin,
}

/// Sets the page's Content-Security-Policy with the nonce Leptos uses for
/// this render (and, for [`Framing::SameOrigin`], `X-Frame-Options:
/// SAMEORIGIN`, which [`around`] then leaves alone). Called in the render's
/// context (leptos_axum provides the nonce and the response options before
/// the router's context).
pub fn page_csp(framing: Framing) {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce, framing)) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
    if framing == Framing::SameOrigin {
        response.insert_header(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
    }
}

/// A plain-text answer shown inside a frame of the server's own pages
/// (the designer's preview, the station's room panel): framable by them,
/// as the pages it stands in for are (any other answer may not be framed
/// at all, and the frame would show the browser's refusal instead of our
/// words).
pub fn in_frame(status: StatusCode, text: impl Into<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        status,
        [
            (header::CONTENT_SECURITY_POLICY, FRAMED_CSP),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
        ],
        text.into(),
    )
        .into_response()
}

/// Compress what is worth it, but never a protocol switch (the live
/// channel's WebSocket handshake) or an answer without a body.
fn worth_compressing(
    status: StatusCode,
    _version: Version,
    _headers: &HeaderMap,
    _extensions: &axum::http::Extensions,
) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// The router with every layer above around it.
pub fn around(router: Router, settings: &Settings) -> Router {
    // A project upload may be as large as FTP allows (plus its form).
    let body_limit = settings
        .panel
        .max_body_bytes
        .max(settings.ftp.max_upload_bytes as usize + 64 * 1024);
    around_with_limit(router, settings, body_limit)
}

/// [`around`] with the body limit given: the station's pages take no
/// uploads, so `[panel] max_body_bytes` is theirs.
pub fn around_with_limit(router: Router, settings: &Settings, body_limit: usize) -> Router {
    let panel = &settings.panel;
    let static_header = |name, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    router
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(panel.request_timeout_secs.max(1)),
        ))
        .layer(
            CompressionLayer::new()
                .br(true)
                .zstd(true)
                .gzip(true)
                .compress_when(DefaultPredicate::new().and(worth_compressing)),
        )
        .layer(static_header(header::CACHE_CONTROL, "no-store"))
        .layer(static_header(header::CONTENT_SECURITY_POLICY, BASE_CSP))
        .layer(static_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(static_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(static_header(header::REFERRER_POLICY, "same-origin"))
        .layer(TraceLayer::new_for_http())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_policy_allows_the_nonce_and_wasm_only() {
        let p = page_policy("abc", Framing::Deny);
        assert!(p.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"));
        assert!(!p.contains(" 'unsafe-eval'"));
        assert!(!p.contains("script-src 'self' 'unsafe-inline'"));
        assert!(p.ends_with("frame-ancestors 'none'"));
        assert!(BASE_CSP.contains("frame-ancestors 'none'"));
        // Only the designer's preview may be framed, and only by the
        // controller's own pages.
        let p = page_policy("abc", Framing::SameOrigin);
        assert!(p.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"));
        assert!(p.ends_with("frame-ancestors 'self'"));
        assert_eq!(
            FRAMED_CSP.replace("frame-ancestors 'self'", "frame-ancestors 'none'"),
            BASE_CSP
        );
    }
}
