//! The panel service: HTTP on the panel port (80 on a LAN) and the Apprimo
//! port (8080). Both serve the same Leptos app and the same live channel;
//! they differ in the panel layout opened at `/` (tablet vs wall panel).

pub mod admin;
mod assets;
mod backend;
mod backup;
pub(crate) mod csrf;
mod designer;
mod fanout;
pub(crate) mod layers;
mod login;
mod metrics;
mod notices;
pub mod panel_channel;
mod preview;
mod secure;
pub mod status_feed;
pub mod tls;
mod users;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::backend::Backend;
use app::{shell, Screen};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use controller_core::project::PanelProfile;
use futures::future::BoxFuture;
use futures::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use leptos::prelude::*;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::accept::{serve_connections, Gate, Refusals};
use super::{bind_tcp, Endpoint, Service, StartEnv, StartError, Started};
use crate::config::Settings;
use crate::security::access::AllowList;

pub use backend::PortBackend;
pub use secure::Transport;
pub use tls::HttpsService;

/// Which of the two HTTP ports a router serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortKind {
    /// The panel port (80): tablets, phones, browsers.
    Panel,
    /// The Apprimo port (8080): wall panels.
    Apprimo,
}

impl PortKind {
    pub fn service_name(self) -> &'static str {
        match self {
            PortKind::Panel => "panel",
            PortKind::Apprimo => "apprimo",
        }
    }

    fn profile(self) -> PanelProfile {
        match self {
            PortKind::Panel => PanelProfile::Tablet,
            PortKind::Apprimo => PanelProfile::Wall,
        }
    }
}

/// Leptos's options: where the compiled site (wasm, JS, CSS, public/) is.
/// cargo-leptos sets LEPTOS_SITE_ROOT; a release install keeps `site/`
/// next to the binary's directory (target/release/../site = target/site).
pub fn leptos_options() -> LeptosOptions {
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent()?.parent().map(|p| p.join("site")))
            .filter(|p| p.join("pkg").exists())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| "target/site".into())
    });
    let reload_port = std::env::var("LEPTOS_RELOAD_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3001);
    LeptosOptions::builder()
        .output_name("roomctl")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .reload_port(reload_port)
        .build()
}

/// The panel service on one of the two HTTP ports.
pub struct PanelService(pub PortKind);

impl Service for PanelService {
    fn name(&self) -> &'static str {
        self.0.service_name()
    }

    fn enabled(&self, s: &Settings) -> bool {
        match self.0 {
            PortKind::Panel => s.panel.enabled,
            PortKind::Apprimo => s.apprimo.enabled,
        }
    }

    fn purpose(&self, s: &Settings) -> String {
        let keepalive = s.panel.keepalive_secs.max(1);
        match self.0 {
            PortKind::Panel => format!(
                "touch panels in a browser (pages and the live channel with {keepalive} s keep-alive)"
            ),
            PortKind::Apprimo => format!(
                "wall panels (Apprimo Touch 8i profile): same service, wall layout by default, {keepalive} s keep-alive"
            ),
        }
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        let kind = self.0;
        async move {
            let name = kind.service_name();
            let s = env.settings();
            let addr = match kind {
                PortKind::Panel => SocketAddr::new(s.panel.bind, s.panel.port),
                PortKind::Apprimo => SocketAddr::new(s.apprimo.bind, s.apprimo.port),
            };
            let listener = bind_tcp(name, name, addr).await?;
            let local = listener.local_addr()?;
            let router = router(&env, kind, local.port());
            let task = serve_router(&env, name, listener, router, s.panel.allow.clone(), None);
            Ok(Started::listening(Endpoint::tcp(local), task))
        }
        .boxed()
    }
}

/// Serves `router` on `listener` behind the panel settings' allow-list,
/// connection caps and header timeout: plain HTTP, or HTTPS when `tls`
/// is given (the handshake must finish within the header timeout too).
pub(crate) fn serve_router(
    env: &StartEnv,
    name: &'static str,
    listener: TcpListener,
    router: Router,
    allow: AllowList,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> BoxFuture<'static, anyhow::Result<()>> {
    let s = env.settings();
    let not_allowed = not_allowed_text(name);
    let router = router.layer(middleware::from_fn_with_state(
        (Arc::new(allow.clone()), not_allowed),
        allow_list,
    ));
    let gate = Gate::new(allow, s.panel.max_http_connections);
    // A TLS client cannot read a plain-text refusal: it is only closed.
    let refusal = |status, text| match tls {
        Some(_) => Bytes::new(),
        None => plain_refusal(status, text),
    };
    let refusals = Refusals {
        not_allowed: refusal("403 Forbidden", not_allowed),
        full: refusal(
            "503 Service Unavailable",
            "too many connections; try again later\n",
        ),
        address_full: refusal(
            "503 Service Unavailable",
            "too many connections from this address; try again later\n",
        ),
    };
    let header_timeout = Duration::from_secs(s.panel.header_timeout_secs.max(1));
    let shutdown = env.shutdown.clone();
    serve_connections(
        listener,
        name,
        gate,
        refusals,
        env.shutdown.clone(),
        move |tcp, peer| {
            let (router, shutdown, tls) = (router.clone(), shutdown.clone(), tls.clone());
            async move {
                // Panel messages are small and latency-bound: send each at
                // once instead of letting Nagle's algorithm hold it behind
                // an unacknowledged one.
                let _ = tcp.set_nodelay(true);
                match tls {
                    None => {
                        // Every write goes through one queue shared with
                        // the panels' fan-out (fanout.rs).
                        let io = fanout::PlainIo::new(tcp);
                        let socket = io.socket();
                        serve_http(
                            io,
                            peer,
                            Transport::Plain,
                            Some(socket),
                            router,
                            header_timeout,
                            shutdown,
                        )
                        .await
                    }
                    Some(acceptor) => {
                        match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
                            Ok(Ok(stream)) => {
                                serve_http(
                                    stream,
                                    peer,
                                    Transport::Tls,
                                    None,
                                    router,
                                    header_timeout,
                                    shutdown,
                                )
                                .await
                            }
                            Ok(Err(e)) => {
                                tracing::debug!("{name}: TLS handshake with {peer} failed: {e}")
                            }
                            Err(_) => {
                                tracing::debug!("{name}: no TLS handshake from {peer} in time")
                            }
                        }
                    }
                }
            }
        },
    )
    .boxed()
}

/// The whole HTTP app of one port (pages, live channel, login, admin API),
/// without a socket: tests drive it with `tower::ServiceExt::oneshot`.
pub fn router(env: &StartEnv, kind: PortKind, port: u16) -> Router {
    let options = leptos_options();
    let settings = env.settings();
    let default_panel = match kind {
        PortKind::Apprimo if !settings.apprimo.default_panel.is_empty() => {
            Some(settings.apprimo.default_panel.clone())
        }
        _ => None,
    };
    let backend = Backend(Arc::new(PortBackend {
        controller: env.controller.clone(),
        profile: kind.profile(),
        default_panel,
    }));
    let sessions = Arc::new(Semaphore::new(settings.panel.max_connections));
    let status_feed = status_feed::StatusFeed {
        backend: backend.clone(),
        controller: env.controller.clone(),
        shutdown: env.shutdown.clone(),
        sessions: sessions.clone(),
    };
    let live = panel_channel::LiveState {
        controller: env.controller.clone(),
        shutdown: env.shutdown.clone(),
        port,
        sessions,
        fanout: Some(fanout::Fanout::new(
            env.controller.clone(),
            env.shutdown.clone(),
        )),
    };
    // Leptos runs resources on the tokio runtime (a no-op when set already).
    let _ = any_spawner::Executor::init_tokio();
    // The app's screens, rendered once every resource has loaded (a panel
    // page arrives with its LEDs' current state, not a loading fallback).
    let render = {
        let backend = backend.clone();
        let options = options.clone();
        leptos_axum::render_app_async_with_context(
            move || {
                provide_context(backend.clone());
                layers::page_csp(layers::Framing::Deny);
            },
            move || shell(options.clone()),
        )
    };
    let server_fns = move |request: Request| {
        let backend = backend.clone();
        leptos_axum::handle_server_fns_with_context(
            move || provide_context(backend.clone()),
            request,
        )
    };
    let previews = Arc::new(preview::Previews::new(
        env.controller.clone(),
        env.store.clone(),
        options.clone(),
        port,
    ));
    previews.watch();
    let router = Screen::ROUTES
        .iter()
        .fold(Router::new(), |r, p| r.route(p, get(render.clone())));
    let router = designer::route(router, get(render.clone()), env.controller.clone());
    let router = router
        .route("/ws", get(panel_channel::upgrade).with_state(live))
        .route(
            "/status/live",
            get(status_feed::upgrade).with_state(status_feed),
        )
        .route(
            "/login",
            get(login::form)
                .post(login::submit)
                .with_state(env.controller.clone()),
        )
        .route(
            "/logout",
            post(login::logout).with_state(env.controller.clone()),
        )
        .merge(admin::routes(env.controller.clone(), env.store.clone()))
        .merge(users::routes(env.controller.clone()))
        .merge(metrics::routes(env.controller.clone()))
        .merge(backup::routes(env.controller.clone(), env.store.clone()))
        .merge(preview::routes(previews))
        .route(
            "/api/{*server_fn}",
            get(server_fns.clone()).post(server_fns),
        )
        .fallback_service(assets::service(&options))
        .with_state(options)
        .layer(middleware::from_fn(csrf::same_origin));
    layers::around(router, settings)
}

/// A complete HTTP/1.1 answer for a connection refused at accept.
fn plain_refusal(status: &str, text: &str) -> Bytes {
    Bytes::from(format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    ))
}

/// Serves one HTTP connection with hyper directly rather than through
/// `axum::serve`, for two things axum::serve does not offer: a header read
/// timeout of our choosing (axum::serve builds its hyper connection itself,
/// with no way to set `header_read_timeout`; tower-http's TimeoutLayer
/// starts only once the head has arrived, so it cannot see a client that
/// dribbles its headers), and the accept loop of every TCP service
/// ([`serve_connections`]: connection cap and per-address cap).
async fn serve_http<Io>(
    io: Io,
    peer: SocketAddr,
    transport: Transport,
    plain: Option<fanout::PlainSocket>,
    router: Router,
    header_timeout: Duration,
    shutdown: CancellationToken,
) where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = tower::ServiceBuilder::new()
        .map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(transport);
            if let Some(socket) = &plain {
                request.extensions_mut().insert(socket.clone());
            }
            request
        })
        .service(router);
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
        // The live channel's WebSocket takes the connection over.
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, connection).await;
        }
    }
}

/// How long a request in progress may take to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What a client outside the allow-list is told: the panel, Apprimo and
/// HTTPS ports share `[panel] allow`; the station has its own.
fn not_allowed_text(service: &str) -> &'static str {
    match service {
        "station" => "this address is not on the station's allow-list\n",
        _ => "this address is not on the panel service's allow-list\n",
    }
}

async fn allow_list(
    State((allow, not_allowed)): State<(Arc<AllowList>, &'static str)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if allow.allows(peer.ip()) {
        next.run(request).await
    } else {
        (StatusCode::FORBIDDEN, not_allowed).into_response()
    }
}
