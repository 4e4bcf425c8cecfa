//! The admin page's users (`/admin/api/users*`): list them, add one,
//! change a role, reset a password, remove one, as `roomctl user` does on
//! the command line and with its rules (names of letters, digits, `_`,
//! `-`, `.`; passwords of at least 8 characters, stored as argon2 hashes
//! only), through the same settings-file writer (`cli::user`). The user
//! store is the one of every service, so a change holds at once for panel
//! logins, this page, central control, Telnet and FTP; the sessions of a
//! user removed or given another role or password are closed.
//!
//! Only an admin may do it (every request checks the session, as the rest
//! of the admin API does; changing requests pass the Origin check of the
//! whole port), nobody can remove or demote the last admin, and every
//! change and every refusal is in the audit trail with who asked and from
//! where. Answers are the admin API's: JSON for the page's script, else a
//! short page.

mod store;

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::admin::{admin_session, data, page, wants_json, Denied};
use crate::audit::{AuditEvent, AuditOutcome};
use crate::security::auth::{Role, UserEntry};
use crate::state::controller::Controller;

/// The longest user name the page takes.
const MAX_NAME: usize = 64;

pub fn routes<S: Clone + Send + Sync + 'static>(controller: Controller) -> Router<S> {
    Router::new()
        .route("/admin/api/users", get(list).post(add))
        .route("/admin/api/users/{name}/role", post(set_role))
        .route("/admin/api/users/{name}/password", post(set_password))
        .route("/admin/api/users/{name}/remove", post(remove))
        .with_state(controller)
}

/// A change the page asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Add { name: String, role: Role },
    Role { name: String, role: Role },
    Password { name: String },
    Remove { name: String },
}

impl Change {
    fn name(&self) -> &str {
        match self {
            Change::Add { name, .. }
            | Change::Role { name, .. }
            | Change::Password { name }
            | Change::Remove { name } => name,
        }
    }

    /// The result page's title when it is refused.
    fn refused_title(&self) -> &'static str {
        match self {
            Change::Add { .. } => "User not added",
            Change::Remove { .. } => "User not removed",
            Change::Role { .. } | Change::Password { .. } => "User not changed",
        }
    }
}

/// A refusal: the answer's status and our words.
#[derive(Debug, PartialEq, Eq)]
struct Refused(StatusCode, String);

fn refused(status: StatusCode, text: impl Into<String>) -> Refused {
    Refused(status, text.into())
}

/// The rules of `roomctl user add` and of the settings file for a name.
fn check_name(name: &str) -> Result<(), Refused> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(refused(
            StatusCode::BAD_REQUEST,
            format!("A user name is 1 to {MAX_NAME} letters, digits, '_', '-' or '.' (no spaces)."),
        ))
    }
}

fn parse_role(role: &str) -> Result<Role, Refused> {
    match role {
        "viewer" => Ok(Role::Viewer),
        "operator" => Ok(Role::Operator),
        "admin" => Ok(Role::Admin),
        _ => Err(refused(
            StatusCode::BAD_REQUEST,
            "Choose a role: viewer (sees the status), operator (presses buttons) or admin \
             (changes the project, settings and users).",
        )),
    }
}

/// Whether `change` may be made to `users` (the file's users now).
fn check(users: &[UserEntry], change: &Change) -> Result<(), Refused> {
    let name = change.name();
    let found = users.iter().find(|u| u.name == name);
    let admins = users.iter().filter(|u| u.role == Role::Admin).count();
    match (change, found) {
        (Change::Add { .. }, Some(_)) => Err(refused(
            StatusCode::CONFLICT,
            format!("There is already a user {name}: change their role or password in the list."),
        )),
        (Change::Add { .. }, None) => Ok(()),
        (_, None) => Err(refused(
            StatusCode::NOT_FOUND,
            format!("There is no user {name:?} (the list may be out of date: reload the page)."),
        )),
        (Change::Remove { .. }, Some(u)) if u.role == Role::Admin && admins <= 1 => Err(refused(
            StatusCode::CONFLICT,
            format!(
                "{name} is the only admin: add another admin first, or nobody could manage this controller."
            ),
        )),
        (Change::Role { role, .. }, Some(u))
            if u.role == Role::Admin && *role != Role::Admin && admins <= 1 =>
        {
            Err(refused(
                StatusCode::CONFLICT,
                format!(
                    "{name} is the only admin: make another user an admin first, or nobody could manage this controller."
                ),
            ))
        }
        (_, Some(_)) => Ok(()),
    }
}

/// Checks, hashes (off the async threads), writes, audits and answers.
async fn apply(
    controller: Controller,
    headers: HeaderMap,
    peer: SocketAddr,
    change: Result<(Change, Option<String>), Refused>,
) -> Response {
    let Some((token, admin)) = admin_session(&controller, &headers) else {
        return Denied(wants_json(&headers)).into_response();
    };
    let audit = |outcome, detail: String| {
        controller.audit().record(
            AuditEvent::User,
            outcome,
            "admin-page",
            Some(admin.as_str()),
            Some(peer.ip()),
            detail,
        )
    };
    let (change, password) = match change {
        Ok(c) => c,
        Err(Refused(status, text)) => {
            audit(AuditOutcome::Failed, format!("refused: {text}"));
            return page(&headers, status, "Not done", &text);
        }
    };
    let result = store::hash_and_write(&controller, &change, password).await;
    let done = match result {
        Ok(done) => done,
        Err(Refused(status, text)) => {
            audit(
                AuditOutcome::Failed,
                format!("{:?}: refused: {text}", change.name()),
            );
            return page(&headers, status, change.refused_title(), &text);
        }
    };
    audit(AuditOutcome::Ok, done);
    controller.log().record(format!(
        "admin page: {admin} changed user {}",
        change.name()
    ));
    let name = change.name().to_string();
    // A user removed, or given another role or password, logs in again
    // (an admin resetting their own password stays logged in).
    if !matches!(change, Change::Add { .. }) {
        let keep =
            (name == admin && matches!(change, Change::Password { .. })).then_some(token.as_str());
        controller.sessions().close_user(&name, keep);
    }
    let (title, text) = done_page(&change, &name);
    page(&headers, StatusCode::OK, title, &text)
}

/// The title and text of the page that says a change was made.
fn done_page(change: &Change, name: &str) -> (&'static str, String) {
    match change {
        Change::Add { role, .. } => ("User added", format!("{name} ({role}) can log in now.")),
        Change::Role { role, .. } => ("Role changed", format!("{name} is now {role}.")),
        Change::Password { .. } => (
            "Password reset",
            format!("{name} logs in with the new password from now on."),
        ),
        Change::Remove { .. } => ("User removed", format!("{name} can no longer log in.")),
    }
}

/// The users and their roles (never their hashes).
async fn list(State(controller): State<Controller>, headers: HeaderMap) -> Response {
    let Some((_, admin)) = admin_session(&controller, &headers) else {
        return Denied(wants_json(&headers)).into_response();
    };
    controller.refresh_settings_file().await;
    let users: Vec<serde_json::Value> = controller
        .users()
        .names()
        .map(|(name, role)| serde_json::json!({ "name": name, "role": role, "you": name == admin }))
        .collect();
    let text = users
        .iter()
        .map(|u| {
            format!(
                "{} ({})\n",
                u["name"].as_str().unwrap_or(""),
                u["role"].as_str().unwrap_or("")
            )
        })
        .collect();
    data(&headers, "Users", &users, text)
}

#[derive(Deserialize)]
struct AddForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

fn unreadable() -> Refused {
    refused(
        StatusCode::BAD_REQUEST,
        "The form could not be read; nothing changed.",
    )
}

async fn add(
    State(controller): State<Controller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<AddForm>, FormRejection>,
) -> Response {
    let change = form.map_err(|_| unreadable()).and_then(|Form(f)| {
        check_name(&f.name)?;
        let role = parse_role(&f.role)?;
        Ok((Change::Add { name: f.name, role }, Some(f.password)))
    });
    apply(controller, headers, peer, change).await
}

async fn set_role(
    State(controller): State<Controller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Result<Form<RoleForm>, FormRejection>,
) -> Response {
    let change = form.map_err(|_| unreadable()).and_then(|Form(f)| {
        check_name(&name)?;
        let role = parse_role(&f.role)?;
        Ok((Change::Role { name, role }, None))
    });
    apply(controller, headers, peer, change).await
}

async fn set_password(
    State(controller): State<Controller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    let change = form.map_err(|_| unreadable()).and_then(|Form(f)| {
        check_name(&name)?;
        Ok((Change::Password { name }, Some(f.password)))
    });
    apply(controller, headers, peer, change).await
}

async fn remove(
    State(controller): State<Controller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let change = check_name(&name).map(|()| (Change::Remove { name }, None));
    apply(controller, headers, peer, change).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(name: &str, role: Role) -> UserEntry {
        UserEntry {
            name: name.into(),
            role,
            password_hash: "$argon2id$x".into(),
        }
    }

    #[test]
    fn the_last_admin_stays_and_names_follow_the_cli_rules() {
        let one = [u("ada", Role::Admin), u("bob", Role::Viewer)];
        let remove = |n: &str| Change::Remove { name: n.into() };
        let demote = Change::Role {
            name: "ada".into(),
            role: Role::Operator,
        };
        assert_eq!(
            check(&one, &remove("ada")).unwrap_err().0,
            StatusCode::CONFLICT
        );
        assert_eq!(check(&one, &demote).unwrap_err().0, StatusCode::CONFLICT);
        assert!(check(&one, &remove("bob")).is_ok());
        assert_eq!(
            check(&one, &remove("eve")).unwrap_err().0,
            StatusCode::NOT_FOUND
        );
        let two = [u("ada", Role::Admin), u("cy", Role::Admin)];
        assert!(check(&two, &remove("ada")).is_ok());
        assert!(check(&two, &demote).is_ok());
        let add = Change::Add {
            name: "bob".into(),
            role: Role::Viewer,
        };
        assert_eq!(check(&one, &add).unwrap_err().0, StatusCode::CONFLICT);
        for bad in ["", "a b", "x\ny", "é", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("front-desk_2.b").is_ok());
        assert!(parse_role("root").is_err());
    }
}
