//! The admin page's backup and restore (`crate::backup`), for an admin:
//! `GET /admin/api/backup` downloads the archive (`?private_key=1` puts
//! the TLS private key in); `POST /admin/api/restore` with the archive as
//! the body checks it and puts it back, then runs the restored project.
//! Users take effect at once (the settings file is followed); other
//! settings, the certificate and the station's database at the next start
//! of the service that uses them. Both are written to the audit trail.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::admin::admin_session;
use crate::audit::{AuditEvent, AuditOutcome};
use crate::state::controller::Controller;
use crate::storage::project_store::ProjectStore;

#[derive(Clone)]
struct BackupState {
    controller: Controller,
    store: Arc<ProjectStore>,
}

pub fn routes<S: Clone + Send + Sync + 'static>(
    controller: Controller,
    store: Arc<ProjectStore>,
) -> Router<S> {
    Router::new()
        .route("/admin/api/backup", get(backup))
        .route("/admin/api/restore", post(restore))
        .with_state(BackupState { controller, store })
}

fn text(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}\n", message.into()),
    )
        .into_response()
}

/// The answer to anyone but a logged-in admin.
fn not_admin() -> Response {
    text(
        StatusCode::UNAUTHORIZED,
        "This needs an admin login: log in at /login?next=/admin.",
    )
}

/// The answer when the controller runs without a settings file.
fn no_settings_file() -> Response {
    text(
        StatusCode::CONFLICT,
        "This controller runs without a settings file, so there is nothing to back up or restore.",
    )
}

/// The logged-in admin's name and the settings file, or the answer.
fn admin_and_file(
    controller: &Controller,
    headers: &HeaderMap,
) -> Result<(String, std::path::PathBuf), Box<Response>> {
    let Some((_, user)) = admin_session(controller, headers) else {
        return Err(Box::new(not_admin()));
    };
    match controller.settings().telnet.settings_file.clone() {
        Some(file) => Ok((user, file)),
        None => Err(Box::new(no_settings_file())),
    }
}

#[derive(Deserialize)]
struct BackupQuery {
    #[serde(default)]
    private_key: Option<String>,
}

async fn backup(
    State(st): State<BackupState>,
    headers: HeaderMap,
    Query(q): Query<BackupQuery>,
) -> Response {
    let (user, config) = match admin_and_file(&st.controller, &headers) {
        Ok(found) => found,
        Err(answer) => return *answer,
    };
    let key = q.private_key.is_some_and(|v| v == "1" || v == "true");
    let made = tokio::task::spawn_blocking(move || crate::backup::create_bytes(&config, key))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .and_then(|r| r);
    let audit = st.controller.audit();
    match made {
        Ok((manifest, bytes)) => {
            audit.record(
                AuditEvent::Backup,
                AuditOutcome::Ok,
                "admin-page",
                Some(&user),
                None,
                format!(
                    "{} files{}",
                    manifest.files.len(),
                    if manifest.private_key {
                        ", with the TLS private key"
                    } else {
                        ""
                    }
                ),
            );
            let name = format!(
                "roomctl-backup-{}-{}.tar.gz",
                manifest
                    .controller
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect::<String>(),
                manifest.created
            );
            (
                [
                    (header::CONTENT_TYPE, "application/gzip".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => {
            audit.record(
                AuditEvent::Backup,
                AuditOutcome::Failed,
                "admin-page",
                Some(&user),
                None,
                format!("{e:#}"),
            );
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("The backup could not be made: {e:#}"),
            )
        }
    }
}

async fn restore(State(st): State<BackupState>, headers: HeaderMap, body: Bytes) -> Response {
    let (user, config) = match admin_and_file(&st.controller, &headers) {
        Ok(found) => found,
        Err(answer) => return *answer,
    };
    let restored = tokio::task::spawn_blocking(move || {
        crate::backup::restore::restore_from(&config, "the uploaded archive", &body[..])
    })
    .await;
    let audit = st.controller.audit();
    let restored = match restored {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            audit.record(
                AuditEvent::Restore,
                AuditOutcome::Failed,
                "admin-page",
                Some(&user),
                None,
                e.to_string(),
            );
            let status = match e {
                crate::backup::RestoreError::Full { .. }
                | crate::backup::RestoreError::Io { .. }
                | crate::backup::RestoreError::Swap { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            return text(status, format!("Not restored: {e}"));
        }
        Err(e) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Not restored: {e}"),
            )
        }
    };
    audit.record(
        AuditEvent::Restore,
        AuditOutcome::Ok,
        "admin-page",
        Some(&user),
        None,
        format!(
            "\"{}\" made {} ({} files)",
            restored.manifest.controller, restored.manifest.created, restored.files
        ),
    );
    // The restored project runs now; users follow the settings file.
    let store = st.store.clone();
    let loaded = tokio::task::spawn_blocking(move || store.load_active_or_demo()).await;
    if let Ok(loaded) = loaded {
        let by = format!("admin-page:{user}");
        if let Err(e) = st
            .controller
            .load_project(loaded.project, loaded.source, &by)
        {
            tracing::warn!("restore: the restored project did not load: {e}");
        }
    }
    st.controller.refresh_settings_file().await;
    text(
        StatusCode::OK,
        format!(
            "Restored \"{}\" ({} files). The project runs now and users apply at once; other settings{} apply when roomctl restarts.",
            restored.manifest.controller,
            restored.files,
            if restored.kept_certificate {
                ""
            } else {
                ", the certificate"
            }
        ),
    )
}
