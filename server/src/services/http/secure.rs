//! What changes when a request came over TLS or not: the session cookie's
//! `Secure` flag, and (with `[https] admin_requires_https`, the LAN
//! profile's default) that an admin may not log in over plain HTTP, where
//! the password would cross the LAN readable by anyone on it. The plain
//! ports point to the HTTPS address instead.

use axum::http::{header, HeaderMap};

use crate::security::sessions::COOKIE;
use crate::state::controller::Controller;

/// How a request reached the controller; put into every request's
/// extensions by the connection that carried it (absent: plain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Plain,
    Tls,
}

impl Transport {
    /// The transport of a request (no extension, as in router tests: plain).
    pub fn of(extension: Option<axum::Extension<Transport>>) -> Transport {
        extension.map(|e| e.0).unwrap_or(Transport::Plain)
    }
}

/// The session cookie for `token` (empty: the cookie that removes it).
/// `Secure` over TLS, so the browser never sends it over plain HTTP.
pub fn session_cookie(token: &str, transport: Transport) -> String {
    let secure = if transport == Transport::Tls {
        "; Secure"
    } else {
        ""
    };
    let expire = if token.is_empty() { "; Max-Age=0" } else { "" };
    format!("{COOKIE}={token}; Path=/{expire}; HttpOnly; SameSite=Strict{secure}")
}

/// Whether an admin may log in over this transport.
pub fn admin_login_allowed(controller: &Controller, transport: Transport) -> bool {
    transport == Transport::Tls || !controller.settings().https.admin_requires_https
}

/// The login page's address over HTTPS at the host the browser used, when
/// the HTTPS service runs.
pub fn https_login_url(controller: &Controller, headers: &HeaderMap) -> Option<String> {
    let port = controller.status().service_addr("https")?.port();
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let host = strip_port(host);
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
    {
        return None;
    }
    Some(if port == 443 {
        format!("https://{host}/login")
    } else {
        format!("https://{host}:{port}/login")
    })
}

/// What the plain-HTTP login page says to admins, as HTML.
pub fn admin_notice(controller: &Controller, headers: &HeaderMap) -> String {
    match https_login_url(controller, headers) {
        Some(url) => {
            let url = app::text::escape_html(&url);
            format!(
                "<p class=\"notice\" role=\"note\">Admins log in over HTTPS only, so the password is never sent readable: <a href=\"{url}\">{url}</a></p>"
            )
        }
        None => "<p class=\"notice\" role=\"note\">Admins log in over HTTPS only, and the HTTPS service is off: switch it on in [https] of the settings.</p>".to_string(),
    }
}

/// `host:port` → `host`; `[v6]:port` → `[v6]`.
fn strip_port(host: &str) -> &str {
    if let Some(end) = host.strip_prefix('[').and_then(|h| h.find(']')) {
        return &host[..end + 2];
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_secure_over_tls_only() {
        assert!(session_cookie("abc", Transport::Tls).ends_with("; Secure"));
        assert!(!session_cookie("abc", Transport::Plain).contains("Secure"));
        assert!(session_cookie("", Transport::Plain).contains("Max-Age=0"));
    }

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("10.0.0.5:80"), "10.0.0.5");
        assert_eq!(strip_port("room-a"), "room-a");
        assert_eq!(strip_port("[::1]:3000"), "[::1]");
        assert_eq!(strip_port("[fe80::1]"), "[fe80::1]");
    }
}
