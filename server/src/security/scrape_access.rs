//! Who may read `/metrics` (the controller's and the station's): any user
//! (viewer, the lowest role, or higher), by the browser's login session or by
//! HTTP Basic credentials (what a Prometheus scrape job sends with
//! `basic_auth`). The password goes through the one bounded check of
//! every service ([`super::auth::verify`]), back-off included.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::auth::{LoginError, Logins, User, UserStore};
use super::sessions::Sessions;

/// Why a scrape was turned away, as its answer.
#[derive(Debug)]
pub enum Refused {
    /// No credentials: ask for them.
    NoCredentials,
    /// Wrong credentials, back-off or busy (the message says which).
    Login(LoginError),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let challenge = [(header::WWW_AUTHENTICATE, "Basic realm=\"roomctl metrics\"")];
        match self {
            Refused::NoCredentials => (
                StatusCode::UNAUTHORIZED,
                challenge,
                "metrics need a user with the viewer role (HTTP Basic or a login)\n",
            )
                .into_response(),
            Refused::Login(LoginError::Wrong) => (
                StatusCode::UNAUTHORIZED,
                challenge,
                format!("{}\n", LoginError::Wrong),
            )
                .into_response(),
            Refused::Login(e) => (StatusCode::TOO_MANY_REQUESTS, format!("{e}\n")).into_response(),
        }
    }
}

/// The name and password of an `Authorization: Basic` header.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, password) = text.split_once(':')?;
    // Names are at most 64 characters everywhere a login is taken.
    Some((name.chars().take(64).collect(), password.to_string()))
}

/// The user a scrape comes from (viewer is the lowest role: any user).
pub async fn scrape_user(
    sessions: &Sessions,
    logins: &Logins,
    users: Arc<UserStore>,
    source: IpAddr,
    headers: &HeaderMap,
) -> Result<User, Refused> {
    if let Some(user) = sessions.from_headers(headers) {
        return Ok(user);
    }
    let (name, password) = basic_credentials(headers).ok_or(Refused::NoCredentials)?;
    super::auth::verify(logins, users, source, name, password)
        .await
        .map_err(Refused::Login)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_read_and_other_schemes_are_not() {
        let mut h = HeaderMap::new();
        // "prom:secret pass"
        h.insert(
            header::AUTHORIZATION,
            "Basic cHJvbTpzZWNyZXQgcGFzcw==".parse().unwrap(),
        );
        assert_eq!(
            basic_credentials(&h),
            Some(("prom".into(), "secret pass".into()))
        );
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(basic_credentials(&h), None);
        h.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(basic_credentials(&h), None);
    }
}
