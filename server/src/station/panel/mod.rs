//! A room's real panel at the station: the panel app (the same Leptos
//! page and wasm a tablet in the room loads) under the base path
//! `/room/{key}/panel`, as the Project Designer's preview runs it under
//! its own (services/http/preview.rs), with its live channel relayed to
//! the room's own panel service.
//!
//! Why a relay and not a panel over the station's central-control (5009)
//! connection: what makes the panel behave as on the room's tablet lives
//! in the room's panel service, not in the state 5009 carries: the PIN
//! check and its back-off, notices, fader rules, meeting changes, a new
//! layout in place when a project is applied. A panel fed from 5009
//! would need a second implementation of each in the station; relaying
//! the live channel to the room keeps one. So:
//!
//! - `GET /room/{key}/panel/` and `/room/{key}/panel/panel/{panel}`: the
//!   room's view of that panel (layout, state, PIN required or not) is
//!   read from the room's own page of it (`app::view_in_page`, beside the
//!   code that writes it), and the station renders the app with it under
//!   the base path. Templates, confirmations and the PIN keypad are then
//!   the panel's own code, with the station's copy of its wasm (the same
//!   build as the page it renders). Framable by the station's own pages
//!   only (its room page shows it in an iframe).
//! - `GET /room/{key}/panel/ws`: the panel's live channel, relayed message
//!   by message to the room's `/ws`; the room answers hello, checks the
//!   PIN, presses, moves faders and sends notices.
//!
//! Who may: any signed-in station user sees the panel live; an operator
//! (or admin) operates it. A viewer's messages that would operate the room
//! are answered here (`unavailable`, which the panel takes without ending
//! its session) and never reach it: the panel has no read-only mode, so a
//! viewer gets no control. The relay is bounded: one connection per
//! browser panel under `[panel] max_connections` in all, a connect
//! deadline, message sizes (the panel's 64 KiB towards the room, `[station]
//! max_line_bytes` from it, where a layout is the largest message), and it
//! ends with the user's station session and with the station. The room
//! sees the station's address: its PIN back-off counts every station user
//! together, and its status page lists the panel as `roomctl station`.

mod relay;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::backend::{Backend, PanelBackend};
use app::base::Base;
use app::shell;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use controller_core::fleet::RoomCard;
use controller_core::view::{PanelView, StatusReport};
use leptos::prelude::provide_context;

use super::signin::signed_in;
use super::Station;
use crate::security::auth::Role;
use crate::services::http::layers::{in_frame, page_csp, Framing};

/// Time allowed for reaching the room's panel service (connect and answer).
const ROOM_TIMEOUT: Duration = Duration::from_secs(5);

/// The base path of room `key`'s panel.
fn base_of(key: &str) -> String {
    format!("/room/{key}/panel")
}

/// The panel routes, one screen of the station's web page.
pub(super) fn screen() -> Router<Arc<Station>> {
    // Leptos runs resources on the tokio runtime (a no-op when set already).
    let _ = any_spawner::Executor::init_tokio();
    Router::new()
        .route("/room/{key}/panel/", get(page))
        .route("/room/{key}/panel/panel/{panel}", get(page))
        .route("/room/{key}/panel/ws", get(relay::socket))
}

/// Why a room's panel cannot be reached from the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoPanel {
    NoSuchRoom,
    Offline,
    /// Watched through the broker: no address the station reaches.
    NotDirect,
    /// Its layout names no panel port.
    NoPort,
}

impl NoPanel {
    fn text(self) -> &'static str {
        match self {
            NoPanel::NoSuchRoom => "There is no such room.",
            NoPanel::Offline => {
                "The room is offline: its panel shows here when the station reaches it again."
            }
            NoPanel::NotDirect => {
                "This room is watched through the MQTT broker: the station does not reach it \
                 directly, so its panel opens only on the room's own network."
            }
            NoPanel::NoPort => {
                "This room's controller serves no panel the station can reach (its [panel] \
                 service is off, or it is too old to say where it is)."
            }
        }
    }

    /// The answer in the room page's frame.
    fn answer(self) -> Response {
        let status = match self {
            NoPanel::Offline => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::NOT_FOUND,
        };
        in_frame(status, format!("{}\n", self.text()))
    }
}

/// Where room `key`'s panel service is: the address its central control
/// was reached at, with the panel port its layout names.
fn panel_address(st: &Station, key: &str) -> Result<SocketAddr, NoPanel> {
    let room = st.registry.find(key).ok_or(NoPanel::NoSuchRoom)?;
    let found = st.registry.read(room, |r| {
        let reached = r.card.address.parse::<SocketAddr>().ok();
        let port = r.layout.as_ref().and_then(|l| l.panel_port);
        (r.card.online, reached, port)
    });
    match found.ok_or(NoPanel::NoSuchRoom)? {
        (false, _, _) => Err(NoPanel::Offline),
        (true, None, _) => Err(NoPanel::NotDirect),
        (true, Some(_), None) => Err(NoPanel::NoPort),
        (true, Some(at), Some(port)) => Ok(SocketAddr::new(at.ip(), port)),
    }
}

/// Why room `key`'s page cannot show its panel (`card` as it is now; its
/// layout has `panels` panels), if it cannot.
pub(super) fn unavailable(
    st: &Station,
    key: &str,
    card: &RoomCard,
    panels: usize,
) -> Option<String> {
    match panel_address(st, key) {
        Ok(_) if panels == 0 => Some("This room's project has no panels.".into()),
        Ok(_) => None,
        Err(NoPanel::Offline) if !card.problem.is_empty() => {
            Some(format!("{} ({})", NoPanel::Offline.text(), card.problem))
        }
        Err(why) => Some(why.text().into()),
    }
}

/// What the app renders: the room's view of one panel, as its page carried it.
struct RoomPanel(Result<PanelView, String>);

impl PanelBackend for RoomPanel {
    fn panel_view(&self, _: Option<&str>) -> Result<PanelView, String> {
        self.0.clone()
    }

    fn status(&self, _: Option<&str>) -> Result<StatusReport, String> {
        Err("The station shows a room's panels; its status page is the room's own.".into())
    }
}

/// A room's panel page: the app, rendered with the room's view of the
/// panel under the room's base path.
async fn page(
    State(st): State<Arc<Station>>,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
) -> Response {
    if signed_in(&st, request.headers(), Role::Viewer).is_err() {
        return in_frame(
            StatusCode::UNAUTHORIZED,
            "Log in to the station first (/login).\n",
        );
    }
    let key = params.get("key").cloned().unwrap_or_default();
    let address = match panel_address(&st, &key) {
        Ok(a) => a,
        Err(why) => return why.answer(),
    };
    let path = match params.get("panel") {
        Some(panel) => format!("/panel/{}", app::text::urlencode(panel)),
        None => "/".into(),
    };
    let view = match room_view(address, &path).await {
        Ok(view) => view,
        Err(why) => {
            tracing::warn!("station: the panel of room {key} at {address}{path}: {why}");
            return in_frame(
                StatusCode::BAD_GATEWAY,
                format!("The room's panel did not answer: {why}\n"),
            );
        }
    };
    let backend = Backend(Arc::new(RoomPanel(view)));
    let base = Base(base_of(&key));
    let options = crate::services::http::leptos_options();
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

/// The room's view of the panel at `path` on its panel service, read from
/// the page the room serves for it (a bounded request: time and size).
async fn room_view(address: SocketAddr, path: &str) -> Result<Result<PanelView, String>, String> {
    let client = reqwest::Client::builder()
        .timeout(ROOM_TIMEOUT)
        .connect_timeout(ROOM_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("roomctl station")
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let url = format!("http://{address}{path}");
    let mut response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    // A panel the project lacks is answered 404 with its reason in the
    // page, which the panel shows as the tablet would.
    let status = response.status();
    let limit = PAGE_MAX;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading {url}: {e}"))?
    {
        if body.len() + chunk.len() > limit {
            return Err(format!("{url} is larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    let html = String::from_utf8_lossy(&body);
    app::view_in_page(&html).ok_or_else(|| format!("{url} ({status}) carries no panel view"))
}

/// The largest panel page read from a room (a large project's layout and
/// state, as a page).
const PAGE_MAX: usize = 8 << 20;
