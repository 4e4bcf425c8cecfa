//! The panel service: HTTP on the panel port (80 on a LAN) and the Apprimo
//! port (8080). Both serve the same Leptos app and the same live channel;
//! they differ in the panel layout opened at `/` (tablet vs wall panel).

pub mod admin;
mod assets;
mod backend;
mod backup;
mod connections;
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

use app::backend::Backend;
use app::{shell, Screen};
use axum::extract::Request;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use controller_core::project::PanelProfile;
use futures::future::BoxFuture;
use futures::FutureExt;
use leptos::prelude::*;
use tokio::sync::Semaphore;

use super::{bind_tcp, Endpoint, Service, StartEnv, StartError, Started};
use crate::config::Settings;

pub use backend::PortBackend;
pub(crate) use connections::serve_router;
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

/// The whole HTTP app of one port (pages, live channel, login, admin API),
/// without a socket: tests drive it with `tower::ServiceExt::oneshot`.
pub fn router(env: &StartEnv, kind: PortKind, port: u16) -> Router {
    let options = leptos_options();
    let backend = port_backend(env, kind);
    let (status_feed, live) = live_channels(env, &backend, port);
    // Leptos runs resources on the tokio runtime (a no-op when set already).
    let _ = any_spawner::Executor::init_tokio();
    let previews = Arc::new(preview::Previews::new(
        env.controller.clone(),
        env.store.clone(),
        options.clone(),
        port,
    ));
    previews.watch();
    let router = screens(backend, &options, env.controller.clone())
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
        .fallback_service(assets::service(&options))
        .with_state(options)
        .layer(middleware::from_fn(csrf::same_origin));
    layers::around(router, env.settings())
}

/// What the app's screens on this port read: the controller, the port's
/// profile and (on the Apprimo port) its default panel.
fn port_backend(env: &StartEnv, kind: PortKind) -> Backend {
    let settings = env.settings();
    let default_panel = match kind {
        PortKind::Apprimo if !settings.apprimo.default_panel.is_empty() => {
            Some(settings.apprimo.default_panel.clone())
        }
        _ => None,
    };
    Backend(Arc::new(PortBackend {
        controller: env.controller.clone(),
        profile: kind.profile(),
        default_panel,
    }))
}

/// The port's two WebSockets, the status page's feed and the panels' live
/// channel, sharing one cap on sessions.
fn live_channels(
    env: &StartEnv,
    backend: &Backend,
    port: u16,
) -> (status_feed::StatusFeed, panel_channel::LiveState) {
    let sessions = Arc::new(Semaphore::new(env.settings().panel.max_connections));
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
    (status_feed, live)
}

/// The app's screens, rendered once every resource has loaded (a panel
/// page arrives with its LEDs' current state, not a loading fallback), and
/// their server functions.
fn screens(
    backend: Backend,
    options: &LeptosOptions,
    controller: crate::state::controller::Controller,
) -> Router<LeptosOptions> {
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
    let router = Screen::ROUTES
        .iter()
        .fold(Router::new(), |r, p| r.route(p, get(render.clone())));
    let router = designer::route(router, get(render.clone()), controller);
    router.route(
        "/api/{*server_fn}",
        get(server_fns.clone()).post(server_fns),
    )
}
