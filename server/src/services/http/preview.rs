//! The Project Designer's live preview: the real panel (the app's own
//! Leptos components, the same page a tablet loads) over a **preview
//! controller** running the designer's draft, so clicking in it is a dry
//! run that behaves as the room will (toggles, interlocks, LEDs, levels,
//! templates) and sends nothing to any device.
//!
//! - `POST /designer/preview[?token=T]` (an admin's designer session, the
//!   same-origin CSRF check of every changing request): the draft's TOML
//!   is validated by the one validator (the project store's, as an
//!   upload); an invalid draft is answered 422 with every error and
//!   changes nothing. A valid one replaces the draft of preview `T` (its
//!   panels get the new project through their live channel and reload) or
//!   makes a new preview; the answer is `{"ok", "token", "base"}`.
//! - `GET /designer/preview/{token}/panel/{panel}` (and `/` for the
//!   default panel): the panel page, rendered by the app under the base
//!   path `/designer/preview/{token}` (app/src/base.rs), so its live channel
//!   is `/designer/preview/{token}/ws`: the same live-channel code as `/ws`
//!   ([`super::panel_channel`]), given the preview's controller instead of the
//!   running one. These pages alone may be framed, by the controller's own
//!   pages only (`frame-ancestors 'self'`, [`Framing::SameOrigin`]).
//!
//! Why a preview press cannot reach a device: device I/O, room logic,
//! timers, MQTT, the LAN protocols all live in services that the
//! supervisor starts with the running controller's [`StartEnv`] and that
//! subscribe to its bus. A preview controller is a separate
//! [`Controller::new`] with its own engine and its own bus; nothing here
//! starts a service, and the preview's live channel is handed only the
//! preview controller (its [`LiveState`] holds no other), so the only
//! subscribers of its bus are its own panels. Its settings switch off the
//! audit trail's file and syslog and the settings file, the only I/O
//! `Controller::new` itself could do.
//!
//! Bounded: a preview belongs to the admin session that made it (others
//! get 404), a session holds at most [`PER_SESSION`] (a new one replaces
//! its least recently used), each HTTP port at most [`TOTAL`], a preview at
//! most [`PANELS`] connected panels, and a preview unused for
//! `[panel] preview_idle_secs` with no panel connected is removed, and so
//! is one whose admin session ended (logout, expiry), its panels closed
//! (checked on every preview request and every [`SWEEP`], so at most
//! [`TOTAL`] drafts per port are ever held).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::base::Base;
use app::shell;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use controller_core::project::{PanelProfile, Project};
use leptos::prelude::*;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::admin::admin_session;
use super::layers::{in_frame, page_csp, Framing};
use super::panel_channel::{self, LiveState};
use super::PortBackend;
use crate::config::Settings;
use crate::runtime::sync::lock;
use crate::state::controller::Controller;
use crate::storage::project_store::ProjectStore;
use app::backend::Backend;

/// Previews one admin session may hold (a few designer tabs).
pub const PER_SESSION: usize = 3;
/// Previews one HTTP port holds at most, for all sessions together.
pub const TOTAL: usize = 12;
/// Panels connected to one preview at most.
pub const PANELS: usize = 4;

/// How often previews are checked for ended sessions and idleness.
const SWEEP: Duration = Duration::from_secs(2);

/// Where the previews live: `{PREFIX}/{token}`.
const PREFIX: &str = "/designer/preview";

/// Every preview of one HTTP port.
pub struct Previews {
    running: Controller,
    store: Arc<ProjectStore>,
    options: LeptosOptions,
    port: u16,
    idle: Duration,
    all: Mutex<HashMap<String, Preview>>,
}

struct Preview {
    /// The admin session that made it: only that session may use it.
    owner: String,
    controller: Controller,
    /// Closes its panels when it is removed.
    shutdown: CancellationToken,
    panels: Arc<Semaphore>,
    last_used: Instant,
}

impl Preview {
    fn has_panels(&self) -> bool {
        self.panels.available_permits() < PANELS
    }
}

impl Drop for Preview {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The preview controller's settings: the running ones (identity,
/// keep-alive) without anything that reaches outside the process or
/// checks a login of its own (the preview's routes check the admin).
fn preview_settings(running: &Settings) -> Settings {
    let mut s = running.clone();
    s.audit.enabled = false;
    s.audit.syslog.clear();
    s.telnet.settings_file = None;
    s.panel.require_login = false;
    s.users.clear();
    s
}

/// The base path of preview `token`.
fn base_of(token: &str) -> String {
    format!("{PREFIX}/{token}")
}

fn new_token() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn answer(status: StatusCode, title: &str, text: impl Into<String>) -> Response {
    let body = json!({ "ok": status.is_success(), "title": title, "text": text.into() });
    (status, Json(body)).into_response()
}

fn not_logged_in() -> Response {
    answer(
        StatusCode::UNAUTHORIZED,
        "Log in first",
        "The preview needs an admin login: log in at /login?next=/designer.",
    )
}

fn no_such_preview() -> Response {
    in_frame(
        StatusCode::NOT_FOUND,
        "This preview does not exist or has expired; the designer makes a new one when the project changes.\n",
    )
}

/// `{base}/status` and anything else below a preview that is not a panel.
async fn not_a_panel() -> Response {
    in_frame(
        StatusCode::NOT_FOUND,
        "The preview shows the draft's panels only; the status page is the running controller's (/status).\n",
    )
}

impl Previews {
    pub fn new(
        running: Controller,
        store: Arc<ProjectStore>,
        options: LeptosOptions,
        port: u16,
    ) -> Previews {
        let idle = Duration::from_secs(running.settings().panel.preview_idle_secs.max(1));
        Previews {
            running,
            store,
            options,
            port,
            idle,
            all: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the previews every few seconds (until the port's router,
    /// which holds them, is gone), so one whose admin logged out or whose
    /// session expired ends, and its panels with it, without waiting for
    /// another preview request.
    pub fn watch(self: &Arc<Self>) {
        let previews = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SWEEP);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(previews) = previews.upgrade() else {
                    return;
                };
                let mut all = lock(&previews.all);
                previews.expire(&mut all);
            }
        });
    }

    /// Removes the previews whose session ended (logged out, expired) and
    /// those unused for the idle time (none with a panel connected).
    fn expire(&self, all: &mut HashMap<String, Preview>) {
        let now = Instant::now();
        let sessions = self.running.sessions();
        all.retain(|_, p| {
            sessions.user(&p.owner).is_some()
                && (p.has_panels() || now.duration_since(p.last_used) < self.idle)
        });
    }

    /// The controller of preview `token` if `session` owns it (marked used).
    fn open(
        &self,
        token: &str,
        session: &str,
    ) -> Option<(Controller, CancellationToken, Arc<Semaphore>)> {
        let mut all = lock(&self.all);
        self.expire(&mut all);
        let p = all.get_mut(token).filter(|p| p.owner == session)?;
        p.last_used = Instant::now();
        Some((p.controller.clone(), p.shutdown.clone(), p.panels.clone()))
    }

    /// Puts `project` into preview `token` (if `session` owns it) or into a
    /// new preview; returns the preview's token.
    fn put(
        &self,
        session: &str,
        token: Option<&str>,
        project: Project,
        text: String,
    ) -> Result<String, (StatusCode, String)> {
        let project = Arc::new(project);
        let mut all = lock(&self.all);
        self.expire(&mut all);
        if let Some(p) = token
            .and_then(|t| all.get_mut(t))
            .filter(|p| p.owner == session)
        {
            p.last_used = Instant::now();
            p.controller
                .load_project(project, text, "designer preview")
                .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
            return Ok(token.unwrap_or_default().to_string());
        }
        let mine: Vec<(String, Instant)> = all
            .iter()
            .filter(|(_, p)| p.owner == session)
            .map(|(t, p)| (t.clone(), p.last_used))
            .collect();
        if mine.len() >= PER_SESSION {
            if let Some((oldest, _)) = mine.iter().min_by_key(|(_, used)| *used) {
                all.remove(oldest);
            }
        }
        if all.len() >= TOTAL {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "{TOTAL} previews are open on this controller (designer tabs of every admin); \
                     close some, or try again when they have been unused for {} s",
                    self.idle.as_secs()
                ),
            ));
        }
        let controller =
            Controller::new(preview_settings(self.running.settings()), project).with_source(text);
        let token = new_token();
        all.insert(
            token.clone(),
            Preview {
                owner: session.to_string(),
                controller,
                shutdown: CancellationToken::new(),
                panels: Arc::new(Semaphore::new(PANELS)),
                last_used: Instant::now(),
            },
        );
        Ok(token)
    }
}

/// The preview routes, for the panel service's router.
pub fn routes<S: Clone + Send + Sync + 'static>(previews: Arc<Previews>) -> Router<S> {
    Router::new()
        .route(PREFIX, post(update))
        .route(&format!("{PREFIX}/{{token}}/"), get(page))
        .route(&format!("{PREFIX}/{{token}}/panel/{{panel}}"), get(page))
        .route(&format!("{PREFIX}/{{token}}/ws"), get(socket))
        .route(&format!("{PREFIX}/{{token}}/{{*rest}}"), get(not_a_panel))
        .with_state(previews)
}

#[derive(Deserialize)]
struct Which {
    token: Option<String>,
}

/// `POST /designer/preview`: validate the draft, then replace the
/// preview's project or make a new preview.
async fn update(
    State(previews): State<Arc<Previews>>,
    Query(which): Query<Which>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((session, _)) = admin_session(&previews.running, &headers) else {
        return not_logged_in();
    };
    let store = previews.store.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let project = store.validate(&body)?;
        // Valid means UTF-8.
        Ok::<_, crate::storage::project_store::StoreError>((
            project,
            String::from_utf8_lossy(&body).into_owned(),
        ))
    })
    .await;
    let (project, text) = match checked {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            return answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                "The draft cannot be previewed",
                e.to_string(),
            )
        }
        Err(_) => {
            return answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The draft cannot be previewed",
                "checking the draft failed; try again",
            )
        }
    };
    match previews.put(&session, which.token.as_deref(), project, text) {
        Ok(token) => {
            let body = json!({ "ok": true, "token": token, "base": base_of(&token) });
            Json(body).into_response()
        }
        Err((status, why)) => answer(status, "The draft cannot be previewed", why),
    }
}

/// A panel page of a preview: the app, rendered over the preview's
/// controller under the preview's base path.
async fn page(
    State(previews): State<Arc<Previews>>,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
) -> Response {
    let token = params.get("token").cloned().unwrap_or_default();
    let Some((session, _)) = admin_session(&previews.running, request.headers()) else {
        return in_frame(
            StatusCode::UNAUTHORIZED,
            "The preview needs an admin login: log in at /login?next=/designer.\n",
        );
    };
    let Some((controller, _, _)) = previews.open(&token, &session) else {
        return no_such_preview();
    };
    let backend = Backend(Arc::new(PortBackend {
        controller,
        profile: PanelProfile::Tablet,
        default_panel: None,
    }));
    let base = Base(base_of(&token));
    let options = previews.options.clone();
    let render = leptos_axum::render_app_async_with_context(
        move || {
            provide_context(backend.clone());
            provide_context(base.clone());
            page_csp(Framing::SameOrigin);
        },
        move || shell(options.clone()),
    );
    render(request).await
}

/// A preview panel's live channel: the same code as `/ws`, given the
/// preview's controller.
async fn socket(
    ws: WebSocketUpgrade,
    State(previews): State<Arc<Previews>>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let Some((session, _)) = admin_session(&previews.running, &headers) else {
        return (StatusCode::FORBIDDEN, "the preview needs an admin login\n").into_response();
    };
    let Some((controller, shutdown, panels)) = previews.open(&token, &session) else {
        return no_such_preview();
    };
    let state = LiveState {
        controller,
        shutdown,
        port: previews.port,
        sessions: panels,
        fanout: None,
    };
    panel_channel::upgrade(ws, State(state), ConnectInfo(peer), None, headers).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preview_controller_reaches_nothing_outside() {
        let mut running = Settings::defaults(crate::config::Profile::default());
        running.audit.enabled = true;
        running.audit.syslog = "udp://127.0.0.1:514".into();
        running.telnet.settings_file = Some("/etc/roomctl/settings.toml".into());
        running.panel.require_login = true;
        let s = preview_settings(&running);
        assert!(!s.audit.enabled);
        assert!(s.audit.syslog.is_empty());
        assert!(s.telnet.settings_file.is_none());
        assert!(!s.panel.require_login);
        assert!(s.users.is_empty());
        assert_eq!(s.identity, running.identity);
    }
}
