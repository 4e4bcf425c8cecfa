//! Who is asking: the station's session check, shared by its screens
//! ([`super::web`], [`super::panel`] and screens added beside them).

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::Station;
use crate::security::auth::{Role, User};
use crate::security::sessions::{cookie_token, STATION_COOKIE as COOKIE};

/// The logged-in user with at least `role`, or the answer that turns the
/// request away (to the login form, or 403; boxed, as a response is
/// large): for screens of their own.
pub fn signed_in(
    station: &Station,
    headers: &HeaderMap,
    role: Role,
) -> Result<User, Box<Response>> {
    user(station, headers, role).map_err(|e| Box::new(e.into_response()))
}

/// Why a request was turned away.
pub(super) enum Denied {
    /// No session: to the login form.
    Login,
    /// The user's role is below this.
    Needs(Role),
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Login => Redirect::to("/login").into_response(),
            Denied::Needs(role) => {
                (StatusCode::FORBIDDEN, format!("this needs the {role} role")).into_response()
            }
        }
    }
}

/// The logged-in user with at least `role`.
pub(super) fn user(station: &Station, headers: &HeaderMap, role: Role) -> Result<User, Denied> {
    match cookie_token(headers, COOKIE).and_then(|t| station.sessions.user(&t)) {
        Some(u) if u.role >= role => Ok(u),
        Some(_) => Err(Denied::Needs(role)),
        None => Err(Denied::Login),
    }
}
