//! The admin page's server side (`/admin/api/*` on the panel ports): log
//! in, upload, download, validate, apply and roll back the project, its
//! history (list, diff, restore), backed by the same [`ProjectStore`] as FTP
//! and the console. Its users are managed in `users.rs`. The page itself is
//! app/src/admin.rs, hydrated by its own wasm (`pkg/admin.wasm`).
//!
//! Every answer comes in two forms: JSON when the request accepts
//! `application/json` (the page's script, which shows it in the page), else
//! a short HTML page in the site's stylesheet with a link back (the forms
//! still work without scripts). Only our own words reach a person: no
//! framework's error text.
//!
//! Login is the panel service's `/login` form (one session store for every
//! page, crate::security::sessions); every action here checks that the session's user
//! is still an admin. There is no default password: with no admin user
//! nobody can log in.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use app::text::escape_html as escape;

use crate::security::auth::Role;
use crate::security::sessions::session_token;
use crate::state::controller::Controller;
use crate::storage::project_store::{Change, ProjectStore, ACTIVE, PENDING, PREVIOUS};

#[derive(Clone)]
struct AdminState {
    controller: Controller,
    store: Arc<ProjectStore>,
}

/// The admin routes, for the panel service's router.
pub fn routes<S: Clone + Send + Sync + 'static>(
    controller: Controller,
    store: Arc<ProjectStore>,
) -> Router<S> {
    let limit = controller.settings().ftp.max_upload_bytes as usize + 64 * 1024;
    let state = AdminState { controller, store };
    Router::new()
        .route("/admin/api/info", get(info))
        .route("/admin/api/project/{which}", get(download))
        .route("/admin/api/upload", post(upload))
        .route("/admin/api/validate", post(validate))
        .route("/admin/api/apply", post(apply))
        .route("/admin/api/rollback", post(rollback))
        .route("/admin/api/whoami", get(whoami))
        .route("/admin/api/history", get(history))
        .route("/admin/api/diff", get(diff))
        .route("/admin/api/restore/{id}", post(restore))
        .route("/admin/api/version/{which}", get(version))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Whether the caller is the page's script (JSON) rather than a plain form.
pub(super) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// A result: `{"ok", "title", "text"}` for the script, else a page with
/// the title, the text (pre-formatted) and a link back.
pub(super) fn page(headers: &HeaderMap, status: StatusCode, title: &str, text: &str) -> Response {
    if wants_json(headers) {
        let body = serde_json::json!({
            "ok": status.is_success(),
            "title": title,
            "text": text,
        });
        return (status, axum::Json(body)).into_response();
    }
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"/pkg/roomctl.css\"><title>{t}</title></head>\
         <body><main class=\"admin-page\"><h1>{t}</h1>\
         <pre class=\"admin-result {class}\">{x}</pre>\
         <p><a href=\"/admin\">Back to the admin page</a></p></main></body></html>",
        t = escape(title),
        x = escape(text),
        class = if status.is_success() { "ok" } else { "error" },
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// Data for the script: JSON, or the same shown as text on a page.
pub(super) fn data<T: serde::Serialize>(
    headers: &HeaderMap,
    title: &str,
    value: &T,
    text: String,
) -> Response {
    if wants_json(headers) {
        axum::Json(value).into_response()
    } else {
        page(headers, StatusCode::OK, title, &text)
    }
}

/// The session token and name of the logged-in admin a request comes
/// from (the one session store of every HTTP page), if it is one. A
/// session whose user is no longer an admin (users may have changed since
/// the login) is closed.
pub(crate) fn admin_session(
    controller: &Controller,
    headers: &HeaderMap,
) -> Option<(String, String)> {
    let token = session_token(headers)?;
    let sessions = controller.sessions();
    let user = sessions.user(&token)?;
    if controller
        .users()
        .names()
        .any(|(n, r)| n == user.name && r == Role::Admin)
    {
        Some((token, user.name))
    } else {
        sessions.close(&token);
        None
    }
}

impl AdminState {
    /// The logged-in admin (the one session store of every HTTP page);
    /// `Err(Denied)` is the answer otherwise.
    fn user(&self, headers: &HeaderMap) -> Result<String, Denied> {
        admin_session(&self.controller, headers)
            .map(|(_, name)| name)
            .ok_or(Denied(wants_json(headers)))
    }

    fn store(&self) -> Arc<ProjectStore> {
        self.store.clone()
    }
}

/// Not logged in (or no longer an admin); whether to answer in JSON.
#[derive(Clone, Copy)]
pub(super) struct Denied(pub(super) bool);

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        if self.0 {
            headers.insert(
                header::ACCEPT,
                "application/json".parse().expect("a valid header"),
            );
        }
        page(
            &headers,
            StatusCode::UNAUTHORIZED,
            "Log in first",
            "This needs an admin login: log in at /login?next=/admin.",
        )
    }
}

/// The text of a version (`running`, `pending`, `demo` or a history id),
/// for the designer to open; 404 with our words when there is none.
async fn version(
    State(st): State<AdminState>,
    headers: HeaderMap,
    Path(which): Path<String>,
) -> Response {
    if let Err(d) = st.user(&headers) {
        return d.into_response();
    }
    let store = st.store();
    let controller = st.controller.clone();
    let asked = which.clone();
    match tokio::task::spawn_blocking(move || store.version_text(&controller, &asked)).await {
        Ok(Ok(text)) => (
            [(header::CONTENT_TYPE, "application/toml; charset=utf-8")],
            text,
        )
            .into_response(),
        Ok(Err(e)) => page(&headers, StatusCode::NOT_FOUND, "Not found", &e.to_string()),
        Err(e) => page(
            &headers,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot read",
            &e.to_string(),
        ),
    }
}

/// `?via=designer`: the designer's uploads and applies are recorded in the
/// history as coming from the designer rather than the admin page.
#[derive(serde::Deserialize, Default)]
struct Via {
    via: Option<String>,
}

impl Via {
    /// Who did it, as the store and the audit trail name them: the page,
    /// the admin and the client's address (`admin-page:ada@192.0.2.7`).
    fn by(&self, user: &str, peer: SocketAddr) -> String {
        let page = match self.via.as_deref() {
            Some("designer") => "designer",
            _ => "admin-page",
        };
        format!("{page}:{user}@{}", peer.ip())
    }
}

async fn info(State(st): State<AdminState>, headers: HeaderMap) -> Response {
    if let Err(d) = st.user(&headers) {
        return d.into_response();
    }
    let info = st.store().info(&st.controller);
    let text = info.lines(
        [
            "running:",
            "stored:",
            "previous:",
            "uploaded:",
            "auto apply:",
        ],
        10,
    );
    if wants_json(&headers) {
        // The designer's start: `fresh` (nothing stored, the built-in demo
        // runs) opens a new project; a save numbers its revision after
        // the running one.
        let running = st.controller.project();
        return axum::Json(serde_json::json!({
            "ok": true,
            "title": "Projects",
            "text": text,
            "fresh": st.controller.is_fresh(),
            "running": {
                "name": running.project.name,
                "revision": running.project.revision,
            },
        }))
        .into_response();
    }
    page(&headers, StatusCode::OK, "Projects", &text)
}

async fn download(
    State(st): State<AdminState>,
    headers: HeaderMap,
    Path(which): Path<String>,
) -> Response {
    if let Err(d) = st.user(&headers) {
        return d.into_response();
    }
    let name = match which.as_str() {
        "active" => ACTIVE,
        "previous" => PREVIOUS,
        "pending" => PENDING,
        _ => {
            return page(
                &headers,
                StatusCode::NOT_FOUND,
                "No such project",
                "Use active, previous or pending.",
            )
        }
    };
    let store = st.store();
    let text = match tokio::task::spawn_blocking(move || store.read(name)).await {
        Ok(Ok(Some(t))) => t,
        // The running project may not be stored (the demo, or --project).
        Ok(Ok(None)) if name == ACTIVE => match st.controller.project_source() {
            Some(t) => t,
            None => {
                return page(
                    &headers,
                    StatusCode::NOT_FOUND,
                    "Not stored",
                    "No active project is stored.",
                )
            }
        },
        Ok(Ok(None)) => {
            return page(
                &headers,
                StatusCode::NOT_FOUND,
                "Not stored",
                &format!("There is no {name}."),
            )
        }
        Ok(Err(e)) => {
            return page(
                &headers,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Cannot read",
                &e.to_string(),
            )
        }
        Err(e) => {
            return page(
                &headers,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Cannot read",
                &e.to_string(),
            )
        }
    };
    (
        [
            (
                header::CONTENT_TYPE,
                "application/toml; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    )
        .into_response()
}

async fn upload(
    State(st): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::extract::Query(via): axum::extract::Query<Via>,
    mut form: Multipart,
) -> Response {
    let user = match st.user(&headers) {
        Ok(u) => u,
        Err(d) => return d.into_response(),
    };
    let mut bytes = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("project") => match field.bytes().await {
                Ok(b) => bytes = Some(b),
                Err(e) => {
                    return page(
                        &headers,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Upload refused",
                        &format!("{e} (the limit is {} bytes)", st.store().max_bytes()),
                    )
                }
            },
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                return page(
                    &headers,
                    StatusCode::BAD_REQUEST,
                    "Upload refused",
                    &e.to_string(),
                )
            }
        }
    }
    let Some(bytes) = bytes else {
        return page(
            &headers,
            StatusCode::BAD_REQUEST,
            "Upload refused",
            "Choose a project file.",
        );
    };
    let store = st.store();
    let controller = st.controller.clone();
    let by = via.by(&user, peer);
    let auto = controller.settings().project.auto_apply;
    match tokio::task::spawn_blocking(move || store.upload(&controller, &bytes, &by)).await {
        Ok(Ok(p)) => page(
            &headers,
            StatusCode::OK,
            "Uploaded",
            &format!(
                "\"{}\" revision {} is valid and stored.\n{}",
                p.project.name,
                p.project.revision,
                if auto {
                    "auto_apply is on: it is running now."
                } else {
                    "Apply it to run it."
                }
            ),
        ),
        Ok(Err(e)) => page(
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Upload refused",
            &format!("The running project is unchanged.\n\n{e}"),
        ),
        Err(e) => page(
            &headers,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Upload failed",
            &e.to_string(),
        ),
    }
}

async fn validate(State(st): State<AdminState>, headers: HeaderMap) -> Response {
    if let Err(d) = st.user(&headers) {
        return d.into_response();
    }
    let store = st.store();
    let result = tokio::task::spawn_blocking(move || match store.read(PENDING)? {
        None => Ok(None),
        Some(t) => store.validate(t.as_bytes()).map(Some),
    })
    .await;
    match result {
        Ok(Ok(Some(p))) => page(
            &headers,
            StatusCode::OK,
            "Valid",
            &format!(
                "\"{}\" revision {}: {} buttons, {} panels. Apply it to run it.",
                p.project.name,
                p.project.revision,
                p.buttons.len(),
                p.panels.len()
            ),
        ),
        Ok(Ok(None)) => page(
            &headers,
            StatusCode::NOT_FOUND,
            "Nothing uploaded",
            "Upload a project first.",
        ),
        Ok(Err(e)) => page(
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            &e.to_string(),
        ),
        Err(e) => page(
            &headers,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Failed",
            &e.to_string(),
        ),
    }
}

async fn apply(
    State(st): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::extract::Query(via): axum::extract::Query<Via>,
) -> Response {
    change(st, headers, true, via, peer).await
}

async fn rollback(
    State(st): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::extract::Query(via): axum::extract::Query<Via>,
) -> Response {
    change(st, headers, false, via, peer).await
}

async fn change(
    st: AdminState,
    headers: HeaderMap,
    apply: bool,
    via: Via,
    peer: SocketAddr,
) -> Response {
    let user = match st.user(&headers) {
        Ok(u) => u,
        Err(d) => return d.into_response(),
    };
    let change = if apply {
        Change::Apply
    } else {
        Change::Rollback
    };
    let result = st
        .store()
        .change(st.controller.clone(), change, via.by(&user, peer))
        .await;
    let what = if apply { "Apply" } else { "Rollback" };
    match result {
        Ok(p) => page(
            &headers,
            StatusCode::OK,
            &format!("{what} done"),
            &format!(
                "Now running \"{}\" revision {}.",
                p.project.name, p.project.revision
            ),
        ),
        Err(e) => page(
            &headers,
            StatusCode::CONFLICT,
            &format!("{what} not done"),
            &format!("The running project is unchanged: {e}"),
        ),
    }
}

/// Who is logged in (the page shows it beside its logout button).
async fn whoami(State(st): State<AdminState>, headers: HeaderMap) -> Response {
    match st.user(&headers) {
        Ok(user) => data(
            &headers,
            "Logged in",
            &serde_json::json!({ "user": user }),
            format!("Logged in as {user}."),
        ),
        Err(d) => d.into_response(),
    }
}

async fn history(State(st): State<AdminState>, headers: HeaderMap) -> Response {
    if let Err(d) = st.user(&headers) {
        return d.into_response();
    }
    let store = st.store();
    let entries = tokio::task::spawn_blocking(move || store.history_list())
        .await
        .unwrap_or_default();
    let text = entries
        .iter()
        .map(|e| {
            format!(
                "#{} {} by {} via {}: \"{}\" revision {}\n",
                e.id, e.action, e.user, e.via, e.name, e.revision
            )
        })
        .collect::<String>();
    data(&headers, "History", &entries, text)
}

#[derive(serde::Deserialize)]
struct DiffQuery {
    from: String,
    to: String,
}

/// `?from=&to=`: history ids, `running` or `pending`.
async fn diff(
    State(st): State<AdminState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<DiffQuery>,
) -> Response {
    if let Err(d) = st.user(&headers) {
        return d.into_response();
    }
    let store = st.store();
    let controller = st.controller.clone();
    match tokio::task::spawn_blocking(move || store.diff(&controller, &q.from, &q.to)).await {
        Ok(Ok(d)) => {
            let text = format!("{}\n\n{}", d.changes.join("\n"), d.unified);
            data(&headers, "Differences", &d, text)
        }
        Ok(Err(e)) => page(
            &headers,
            StatusCode::NOT_FOUND,
            "Cannot compare",
            &e.to_string(),
        ),
        Err(e) => page(
            &headers,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot compare",
            &e.to_string(),
        ),
    }
}

/// History entry `id` becomes the pending project.
async fn restore(
    State(st): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let user = match st.user(&headers) {
        Ok(u) => u,
        Err(d) => return d.into_response(),
    };
    let store = st.store();
    let controller = st.controller.clone();
    let by = Via::default().by(&user, peer);
    let restored = id.clone();
    match tokio::task::spawn_blocking(move || store.restore(&controller, &restored, &by)).await {
        Ok(Ok(p)) => page(
            &headers,
            StatusCode::OK,
            "Restored",
            &format!(
                "\"{}\" revision {} from history #{id} is now the uploaded project. Apply it to run it.",
                p.project.name, p.project.revision
            ),
        ),
        Ok(Err(e)) => page(&headers, StatusCode::NOT_FOUND, "Not restored", &e.to_string()),
        Err(e) => page(
            &headers,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not restored",
            &e.to_string(),
        ),
    }
}
