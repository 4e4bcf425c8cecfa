//! Writing a user change to the settings file: checked against the file's
//! users as they are now, one change at a time, the password hashed off the
//! async threads.

use std::path::PathBuf;
use std::sync::Mutex;

use axum::http::StatusCode;

use super::{check, refused, Change, Refused};
use crate::config::Settings;
use crate::security::auth::hash_password;
use crate::state::controller::Controller;

/// One change at a time: checking "not the last admin" and writing the
/// file are one step, so two admins removing each other at once cannot
/// leave none.
static WRITING: Mutex<()> = Mutex::new(());

/// Hashes the new password, if any, and writes the change, off the async
/// threads; what was done, for the audit trail.
pub(super) async fn hash_and_write(
    controller: &Controller,
    change: &Change,
    password: Option<String>,
) -> Result<String, Refused> {
    let worker = controller.clone();
    let file = controller.settings().telnet.settings_file.clone();
    let asked = change.clone();
    tokio::task::spawn_blocking(move || {
        let hash = match password {
            Some(p) => Some(hash_password(&p).map_err(|_| {
                refused(
                    StatusCode::BAD_REQUEST,
                    "A password needs at least 8 characters; nothing changed.",
                )
            })?),
            None => None,
        };
        write(&worker, file, &asked, hash)
    })
    .await
    .unwrap_or_else(|_| {
        Err(refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The change failed; nothing changed.",
        ))
    })
}

/// Makes `change` in the settings file (`hash`: the new password's), after
/// checking it against the file's users as they are now; the running
/// controller takes them at once. What was done, in words for the audit.
fn write(
    controller: &Controller,
    file: Option<PathBuf>,
    change: &Change,
    hash: Option<String>,
) -> Result<String, Refused> {
    let _one_at_a_time = crate::runtime::sync::lock(&WRITING);
    let Some(file) = file else {
        return Err(refused(
            StatusCode::CONFLICT,
            "This controller was started without a settings file, so its users cannot be \
             changed here: start it with one (roomctl --config FILE serve).",
        ));
    };
    let cannot = |e: anyhow::Error| {
        tracing::error!(
            "admin page: cannot change users in {}: {e:#}",
            file.display()
        );
        refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "The settings file {} could not be changed; nothing changed. The controller's log says why.",
                file.display()
            ),
        )
    };
    let users = Settings::load(&file, None).map_err(cannot)?.users;
    check(&users, change)?;
    let existing = users.iter().find(|u| u.name == change.name());
    let name = change.name();
    let done = match (change, existing) {
        (Change::Add { role, .. }, _) => {
            let hash = hash.unwrap_or_default();
            crate::config::users::set_user(&file, name, *role, &hash).map_err(cannot)?;
            format!("added {name} ({role})")
        }
        (Change::Role { role, .. }, Some(u)) => {
            crate::config::users::set_user(&file, name, *role, &u.password_hash).map_err(cannot)?;
            format!("{name}: role changed from {} to {role}", u.role)
        }
        (Change::Password { .. }, Some(u)) => {
            let hash = hash.unwrap_or_default();
            crate::config::users::set_user(&file, name, u.role, &hash).map_err(cannot)?;
            format!("{name}: password reset")
        }
        (Change::Remove { .. }, _) => {
            crate::config::users::remove_user(&file, name).map_err(cannot)?;
            format!("removed {name}")
        }
        // `check` found the user for every change but Add.
        (_, None) => return Err(refused(StatusCode::NOT_FOUND, "No such user.")),
    };
    controller.adopt_settings_file();
    Ok(done)
}
