//! The station's web page: login (the `[[users]]` of the settings file;
//! viewer sees, operator presses and acknowledges), the room grid, a
//! room's page (its card and its real panel, [`super::panel`]), the alert list and its CSV, and one server-sent event
//! stream per page that carries the cards (or the room) it shows as they
//! change ([`super::events`]). Every request that changes
//! something (login included) must come from the station's own pages
//! (the controller's `csrf` check); the session cookie is SameSite=Strict
//! and has its own name (`roomctl_station_session`), so a station and a
//! controller on one host keep their logins apart.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use app::station::{self, GridView, LiveDocument, NowView, PanelTab, RoomView, StationPage};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use controller_core::fleet::CardFilter;
use leptos::prelude::*;
use serde::Deserialize;

use super::registry::RoomCommand;
pub use super::signin::signed_in;
use super::signin::user;
use super::usage::{self, Period};
use super::{history, unix_now, Station};
use crate::security::auth::{self, Role};
use crate::security::sessions::{cookie_token, STATION_COOKIE as COOKIE};
use crate::services::http::layers::Framing;

/// Cards per grid page.
pub const PAGE_SIZE: usize = 60;

type Shared = State<Arc<Station>>;

/// One screen of the station's web page: its routes, served with the
/// station as state. A new screen is one module and one line in
/// [`screens`] (or [`super::StationService::with_screen`]).
pub type Screen = fn() -> Router<Arc<Station>>;

/// The station's built-in screens.
pub fn screens() -> Vec<Screen> {
    vec![
        login_screen,
        rooms_screen,
        now_screen,
        alerts_screen,
        usage_screen,
        super::panel::screen,
        super::assets::screen,
    ]
}

fn login_screen() -> Router<Arc<Station>> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
}

fn rooms_screen() -> Router<Arc<Station>> {
    Router::new()
        .route("/", get(grid))
        .route("/room/{key}", get(room))
        .route("/room/{key}/press", post(press))
        .route("/api/rooms", get(api_rooms))
        .route("/events", get(events))
        .route("/metrics", get(super::metrics::metrics))
}

fn now_screen() -> Router<Arc<Station>> {
    Router::new().route("/now", get(now_page))
}

/// Every room now: booked or free, in use or not (app/src/station/now.rs).
async fn now_page(State(st): Shared, headers: HeaderMap) -> Response {
    let u = match user(&st, &headers, Role::Viewer) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    let view = NowView {
        user: u.name,
        role: u.role.to_string(),
        cards: st.registry.cards(&CardFilter::default()),
    };
    live_page("Now", StationPage::Now(view))
}

/// A live screen (grid, now view, room), with the Content-Security-Policy
/// of the app's pages: its wasm, and its hydration script by the nonce of
/// this answer (`services::http::layers::page_policy`).
fn live_page(title: &str, page: StationPage) -> Response {
    let LiveDocument { html, nonce } = station::live_document(title, page, unix_now());
    let policy = crate::services::http::layers::page_policy(&nonce, Framing::Deny);
    match HeaderValue::from_str(&policy) {
        Ok(policy) => ([(header::CONTENT_SECURITY_POLICY, policy)], Html(html)).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "no policy for the page").into_response(),
    }
}

fn alerts_screen() -> Router<Arc<Station>> {
    Router::new()
        .route("/alerts", get(alerts))
        .route("/alerts.csv", get(alerts_csv))
        .route("/alerts/{id}/ack", post(acknowledge))
}

fn usage_screen() -> Router<Arc<Station>> {
    Router::new()
        .route("/usage", get(usage_page))
        .route("/usage.csv", get(usage_csv))
}

/// The station's screens as one router (without a socket: tests drive it
/// with `oneshot`); every request that changes something must come from
/// the station's own pages.
pub fn router(station: Arc<Station>, screens: &[Screen]) -> Router {
    screens
        .iter()
        .fold(Router::new(), |router, screen| router.merge(screen()))
        .layer(axum::middleware::from_fn(
            crate::services::http::csrf::same_origin,
        ))
        .with_state(station)
}

#[derive(Deserialize)]
struct LoginError {
    error: Option<String>,
}

async fn login_form(Query(q): Query<LoginError>) -> Html<String> {
    Html(station::login_page(q.error.is_some()))
}

#[derive(Deserialize)]
struct Credentials {
    user: String,
    password: String,
}

async fn login(
    State(st): Shared,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Form(c): Form<Credentials>,
) -> Response {
    let name: String = c.user.chars().take(64).collect();
    let users = st.users.clone();
    match auth::verify(&st.logins, users, peer.ip(), name.clone(), c.password).await {
        Ok(user) => {
            tracing::info!("station: {} ({}) logged in", user.name, user.role);
            let token = st.sessions.open(user);
            (
                StatusCode::SEE_OTHER,
                [
                    (
                        header::SET_COOKIE,
                        format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"),
                    ),
                    (header::LOCATION, "/".to_string()),
                ],
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!("station: failed login for {name:?} from {peer}: {e}");
            Redirect::to("/login?error=1").into_response()
        }
    }
}

async fn logout(State(st): Shared, headers: HeaderMap) -> Response {
    if let Some(t) = cookie_token(&headers, COOKIE) {
        st.sessions.close(&t);
    }
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"),
            ),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}

/// The grid's query: the filter's fields spelled out rather than
/// `#[serde(flatten)]`ed, because a flattened struct reaches serde as
/// strings only and `offline=true` then fails as "expected a boolean".
#[derive(Deserialize, Default)]
struct GridQuery {
    #[serde(default)]
    search: String,
    #[serde(default)]
    offline: bool,
    #[serde(default)]
    alerts: bool,
    #[serde(default)]
    location: String,
    #[serde(default)]
    page: usize,
}

impl GridQuery {
    fn filter(&self) -> CardFilter {
        CardFilter {
            search: self.search.clone(),
            offline: self.offline,
            alerts: self.alerts,
            location: self.location.clone(),
        }
    }
}

async fn grid(State(st): Shared, headers: HeaderMap, Query(q): Query<GridQuery>) -> Response {
    let u = match user(&st, &headers, Role::Viewer) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    let all = st.registry.cards(&CardFilter::default());
    let online = all.iter().filter(|c| c.online).count();
    let total = all.len();
    let filter = q.filter();
    let matching = st.registry.cards(&filter);
    let pages = matching.len().div_ceil(PAGE_SIZE);
    let page = q.page.min(pages.saturating_sub(1));
    let cards = matching
        .into_iter()
        .skip(page * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let view = GridView {
        user: u.name,
        role: u.role.to_string(),
        filter,
        cards,
        page,
        pages,
        total,
        online,
        locations: st.registry.locations(),
    };
    live_page("Rooms", StationPage::Grid(view))
}

#[derive(Deserialize)]
struct RoomQuery {
    /// The panel shown (its id); the room's first when left out.
    #[serde(default)]
    panel: String,
}

/// A room's page: its card and its real panel ([`super::panel`]).
async fn room(
    State(st): Shared,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(q): Query<RoomQuery>,
) -> Response {
    let u = match user(&st, &headers, Role::Viewer) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    let found = st.registry.find(&key).and_then(|i| {
        st.registry.read(i, |r| {
            let panels: Vec<PanelTab> = r
                .layout
                .iter()
                .flat_map(|l| &l.panels)
                .map(|p| PanelTab {
                    id: p.id.clone(),
                    name: p.name.clone(),
                })
                .collect();
            (r.card.clone(), panels)
        })
    });
    let Some((card, panels)) = found else {
        return (StatusCode::NOT_FOUND, "no such room").into_response();
    };
    let unavailable = super::panel::unavailable(&st, &key, &card, panels.len());
    let shown = panels
        .iter()
        .find(|p| p.id == q.panel)
        .or(panels.first())
        .map(|p| p.id.clone());
    let title = card.name.clone();
    let view = RoomView {
        user: u.name,
        can_press: u.role >= Role::Operator,
        role: u.role.to_string(),
        card,
        panels,
        shown,
        unavailable,
    };
    live_page(&title, StationPage::Room(Box::new(view)))
}

#[derive(Deserialize)]
struct PressForm {
    button: String,
    /// `press`, `release`, or `tap` (press then release; the default).
    #[serde(default)]
    action: String,
}

async fn press(
    State(st): Shared,
    headers: HeaderMap,
    Path(key): Path<String>,
    Form(f): Form<PressForm>,
) -> Response {
    let u = match user(&st, &headers, Role::Operator) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    let Some(room) = st.registry.find(&key) else {
        return (StatusCode::NOT_FOUND, "no such room").into_response();
    };
    let steps: &[bool] = match f.action.as_str() {
        "press" => &[false],
        "release" => &[true],
        _ => &[false, true],
    };
    for &release in steps {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let command = RoomCommand::Press {
            button: f.button.clone(),
            release,
            reply: tx,
        };
        if let Err(e) = st.registry.command(room, command) {
            return (StatusCode::SERVICE_UNAVAILABLE, e).into_response();
        }
        match tokio::time::timeout(Duration::from_secs(5), rx).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => return (StatusCode::CONFLICT, e).into_response(),
            _ => return (StatusCode::GATEWAY_TIMEOUT, "the room did not answer").into_response(),
        }
    }
    tracing::info!("station: {} pressed {} in {key}", u.name, f.button);
    StatusCode::NO_CONTENT.into_response()
}

async fn alerts(State(st): Shared, headers: HeaderMap) -> Response {
    let u = match user(&st, &headers, Role::Viewer) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    let mut list = st.alerts.list(true, 1000);
    list.extend(
        st.alerts
            .list(false, 500)
            .into_iter()
            .filter(|a| a.cleared_at != 0),
    );
    let (name, role, can_ack, now) = (
        u.name,
        u.role.to_string(),
        u.role >= Role::Operator,
        unix_now(),
    );
    Html(station::document("Alerts", move || {
        view! { <station::AlertsPage user=name role alerts=list can_ack now/> }
    }))
    .into_response()
}

async fn alerts_csv(State(st): Shared, headers: HeaderMap) -> Response {
    if let Err(r) = user(&st, &headers, Role::Viewer) {
        return r.into_response();
    }
    let list = st.alerts.list(false, 100_000);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"alerts.csv\"",
            ),
        ],
        history::csv(&list),
    )
        .into_response()
}

async fn acknowledge(State(st): Shared, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    let u = match user(&st, &headers, Role::Operator) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    if st.alerts.acknowledge(id, &u.name) {
        Redirect::to("/alerts").into_response()
    } else {
        (StatusCode::NOT_FOUND, "no such alert").into_response()
    }
}

#[derive(Deserialize)]
struct UsageQuery {
    /// `day`, `week` (the default) or `month`.
    #[serde(default)]
    period: String,
}

/// The usage report of a period ending now, counted off the async threads.
async fn usage_report(
    st: &Arc<Station>,
    period: Period,
) -> Result<controller_core::fleet::UsageReport, Response> {
    let now = unix_now();
    let rooms_now: Vec<(String, String)> = st
        .registry
        .cards(&CardFilter::default())
        .into_iter()
        .map(|c| (c.name, c.location))
        .collect();
    let alerts = st.alerts.clone();
    let counted =
        tokio::task::spawn_blocking(move || usage::count(&alerts.history(), period, now)).await;
    match counted {
        Ok(Ok(c)) => Ok(usage::report(&c, &rooms_now, period, now)),
        Ok(Err(e)) => {
            tracing::error!("station: cannot read the usage history: {e:#}");
            Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read the usage history: {e:#}"),
            )
                .into_response())
        }
        Err(e) => Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("counting usage failed: {e}"),
        )
            .into_response()),
    }
}

async fn usage_page(
    State(st): Shared,
    headers: HeaderMap,
    Query(q): Query<UsageQuery>,
) -> Response {
    let u = match user(&st, &headers, Role::Viewer) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    let report = match usage_report(&st, Period::parse(&q.period)).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let (name, role) = (u.name, u.role.to_string());
    Html(station::document("Usage", move || {
        view! { <station::UsagePage user=name role report/> }
    }))
    .into_response()
}

async fn usage_csv(State(st): Shared, headers: HeaderMap, Query(q): Query<UsageQuery>) -> Response {
    if let Err(r) = user(&st, &headers, Role::Viewer) {
        return r.into_response();
    }
    let period = Period::parse(&q.period);
    let report = match usage_report(&st, period).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"usage-{}.csv\"", period.as_str()),
            ),
        ],
        usage::csv(&report),
    )
        .into_response()
}

async fn api_rooms(
    State(st): Shared,
    headers: HeaderMap,
    Query(filter): Query<CardFilter>,
) -> Response {
    if let Err(r) = user(&st, &headers, Role::Viewer) {
        return r.into_response();
    }
    Json(st.registry.cards(&filter)).into_response()
}

#[derive(Deserialize)]
struct EventsQuery {
    /// Cards to follow: comma-separated keys ("rc-3f2a9c01b7d4,10-0-0-5-5009").
    #[serde(default)]
    keys: String,
    /// A room page: its LEDs and levels.
    #[serde(default)]
    room: String,
}

/// The live stream: `cards` events (a JSON array of the changed cards the
/// page shows) and `summary` events (`{"online":N,"total":M}`, when those
/// change) or, for a room page, `room` events (its card, LEDs, levels).
async fn events(State(st): Shared, headers: HeaderMap, Query(q): Query<EventsQuery>) -> Response {
    if let Err(r) = user(&st, &headers, Role::Viewer) {
        return r.into_response();
    }
    let watched: HashSet<usize> = q
        .keys
        .split(',')
        .chain([q.room.as_str()])
        .filter_map(|k| st.registry.find(k))
        .collect();
    let room_page = st.registry.find(&q.room).is_some();
    Sse::new(super::events::stream(st, watched, room_page))
        .keep_alive(KeepAlive::default())
        .into_response()
}
