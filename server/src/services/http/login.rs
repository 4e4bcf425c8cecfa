//! `/login` and `/logout`: a plain HTML form (works without JavaScript, on
//! any kiosk browser), checked against the one user store.

use std::net::SocketAddr;

use app::text::{escape_html as escape, urlencode};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::secure::{self, Transport};
use crate::security::auth::{LoginError, Role};
use crate::security::sessions::session_token;
use crate::state::controller::Controller;

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct Credentials {
    user: String,
    password: String,
    next: Option<String>,
}

/// Only local paths: a login must not become an open redirect.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/status".to_string(),
    }
}

pub async fn form(
    State(controller): State<Controller>,
    transport: Option<Extension<Transport>>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Html<String> {
    let next = safe_next(q.next.as_deref());
    let notice = if !controller.users().has_admin() {
        "<p class=\"error\">No admin user exists yet, so admin pages are off. On the controller, run: <code>roomctl user add admin --role admin</code>, then restart it.</p>".to_string()
    } else if !secure::admin_login_allowed(&controller, Transport::of(transport)) {
        secure::admin_notice(&controller, &headers)
    } else {
        String::new()
    };
    let error = match q.error.as_deref() {
        None => "",
        Some("busy") => "<p class=\"error\" role=\"alert\">Too many failed logins from here, or the controller is busy checking others: wait a little and try again.</p>",
        Some(_) => "<p class=\"error\" role=\"alert\">Wrong user name or password.</p>",
    };
    Html(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · roomctl</title><link rel="stylesheet" href="/pkg/roomctl.css"></head>
<body><main class="login-page"><h1>Log in to {name}</h1>{notice}{error}
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label>User <input name="user" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form><p><a href="/">Back to the panel</a></p></main></body></html>"#,
        name = escape(&controller.identity().name),
        next = escape(&next),
    ))
}

pub async fn submit(
    State(controller): State<Controller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    transport: Option<Extension<Transport>>,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    let transport = Transport::of(transport);
    let next = safe_next(c.next.as_deref());
    let name = c.user.chars().take(64).collect::<String>();
    // An admin's right password over plain HTTP is still refused: the
    // audit trail says so, not "ok".
    let plain_http_refused = !secure::admin_login_allowed(&controller, transport);
    let user = controller
        .verify_login_unless("web", peer.ip(), name, c.password, |user| {
            (user.role == Role::Admin && plain_http_refused)
                .then(|| "admins log in over HTTPS, not plain HTTP".to_string())
        })
        .await;
    match user {
        Ok(Err(refused)) => {
            controller.log().record(format!(
                "refused admin login: {} from {} over plain HTTP (admins log in over HTTPS)",
                refused.user.name,
                peer.ip()
            ));
            (
                StatusCode::FORBIDDEN,
                Html(format!(
                    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Log in over HTTPS · roomctl</title><link rel=\"stylesheet\" href=\"/pkg/roomctl.css\"></head><body><main class=\"login-page\"><h1>Log in over HTTPS</h1><p role=\"alert\">This is an admin account, and admins do not log in over plain HTTP here: you are not logged in.</p>{}</main></body></html>",
                    secure::admin_notice(&controller, &headers)
                )),
            )
                .into_response()
        }
        Ok(Ok(user)) => {
            controller.log().record(format!(
                "login: {} ({}) from {}",
                user.name,
                user.role,
                peer.ip()
            ));
            let token = controller.sessions().open(user);
            (
                StatusCode::SEE_OTHER,
                [
                    (
                        header::SET_COOKIE,
                        secure::session_cookie(&token, transport),
                    ),
                    (header::LOCATION, next),
                ],
            )
                .into_response()
        }
        Err(why) => {
            controller.log().record(format!(
                "failed login for {:?} from {}: {why}",
                c.user.chars().take(64).collect::<String>(),
                peer.ip()
            ));
            let error = match why {
                LoginError::Wrong => "1",
                LoginError::Backoff(_) | LoginError::Busy => "busy",
            };
            Redirect::to(&format!("/login?error={error}&next={}", urlencode(&next))).into_response()
        }
    }
}

pub async fn logout(
    State(controller): State<Controller>,
    transport: Option<Extension<Transport>>,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = session_token(&headers) {
        controller.sessions().close(&token);
    }
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                secure::session_cookie("", Transport::of(transport)),
            ),
            (header::LOCATION, "/".to_string()),
        ],
    )
        .into_response()
}
