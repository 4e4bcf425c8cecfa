//! Browser login sessions for the HTTP ports: the admin pages (status,
//! admin) and, where `panel.require_login` is set, the panels themselves.
//! A session is a random 256-bit token in an HttpOnly, SameSite=Strict
//! cookie; the store keeps it in memory with an expiry (a restart logs
//! everyone out, which is what a controller should do).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::http::{header, HeaderMap};

use super::auth::{Role, User};
use crate::runtime::sync::lock;

pub const COOKIE: &str = "roomctl_session";
/// The central station's own cookie: a browser keeps cookies per host, not
/// per port, so a station and a controller on one host that shared a name
/// would log each other out.
pub const STATION_COOKIE: &str = "roomctl_station_session";
const LIFETIME: Duration = Duration::from_secs(12 * 3600);
const MAX_SESSIONS: usize = 10_000;

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, (User, Instant)>>,
}

impl Sessions {
    /// Opens a session for a logged-in user; returns its token.
    pub fn open(&self, user: User) -> String {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut map = lock(&self.map);
        let now = Instant::now();
        map.retain(|_, (_, expires)| *expires > now);
        if map.len() >= MAX_SESSIONS {
            // Drop the oldest rather than grow without bound.
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (_, e))| *e)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(token.clone(), (user, now + LIFETIME));
        token
    }

    pub fn user(&self, token: &str) -> Option<User> {
        let map = lock(&self.map);
        map.get(token)
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(u, _)| u.clone())
    }

    pub fn close(&self, token: &str) {
        lock(&self.map).remove(token);
    }

    /// Ends every session of user `name` but `keep` (a user removed, or
    /// given another role or password, logs in again).
    pub fn close_user(&self, name: &str, keep: Option<&str>) {
        lock(&self.map).retain(|token, (u, _)| u.name != name || Some(token.as_str()) == keep);
    }

    /// The user of the session named in a `Cookie` header, if any.
    pub fn from_cookie_header(&self, header: Option<&str>) -> Option<User> {
        self.user(token_in(header?, COOKIE)?)
    }

    /// The user of the session a request's cookies name, if any.
    pub fn from_headers(&self, headers: &HeaderMap) -> Option<User> {
        self.user(&session_token(headers)?)
    }
}

/// The token of cookie `name` in one `Cookie` header value.
fn token_in<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The session token among a request's `Cookie` headers (the one cookie
/// parser of every HTTP page).
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie_token(headers, COOKIE)
}

/// The token of cookie `name` among a request's `Cookie` headers.
pub fn cookie_token(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| token_in(h, name))
        .map(str::to_string)
}

/// Whether a session's user may do what needs `role`.
pub fn allowed(user: Option<&User>, role: Role) -> bool {
    user.is_some_and(|u| u.role >= role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_find_close() {
        let s = Sessions::default();
        let t = s.open(User {
            name: "a".into(),
            role: Role::Admin,
        });
        let header = format!("other=1; {COOKIE}={t}");
        assert_eq!(s.from_cookie_header(Some(&header)).unwrap().name, "a");
        assert!(s
            .from_cookie_header(Some("roomctl_session=forged"))
            .is_none());
        s.close(&t);
        assert!(s.user(&t).is_none());
        assert!(allowed(
            Some(&User {
                name: "o".into(),
                role: Role::Operator
            }),
            Role::Viewer
        ));
        assert!(!allowed(
            Some(&User {
                name: "o".into(),
                role: Role::Operator
            }),
            Role::Admin
        ));
        assert!(!allowed(None, Role::Viewer));
    }
}
