//! The panel service: HTTP on the panel port (80 on a LAN) and the Apprimo
//! port (8080). Both serve the same Leptos app and the same live channel;
//! they differ in the panel layout opened at `/` (tablet vs wall panel).

mod backend;
pub mod live;
mod login;

use std::net::SocketAddr;
use std::sync::Arc;

use app::backend::Backend;
use app::{shell, Screen};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use controller_core::project::PanelProfile;
use controller_core::view::ServiceState;
use leptos::prelude::*;
use tokio::sync::Semaphore;

use super::{bind_tcp, ServiceContext, Supervisor};
use crate::access::AllowList;

pub use backend::PortBackend;

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

/// Binds and starts one HTTP port. Returns the bound address.
pub async fn start(
    sup: &mut Supervisor,
    kind: PortKind,
    addr: SocketAddr,
) -> anyhow::Result<SocketAddr> {
    let ctx = sup.context();
    let name = kind.service_name();
    let listener = bind_tcp(name, name, addr).await?;
    let local = listener.local_addr()?;
    let settings = ctx.controller.settings().panel.clone();
    let purpose = match kind {
        PortKind::Panel => {
            "touch panels in a browser (pages and the live channel with 5 s keep-alive)"
        }
        PortKind::Apprimo => {
            "wall panels (Apprimo Touch 8i profile): same service, wall layout by default"
        }
    };
    ctx.controller.services().register(
        name,
        purpose,
        format!("tcp {local}"),
        name,
        ServiceState::Listening,
    );
    let router = router(&ctx, kind, local.port());
    let allow = settings.allow.clone();
    let router = router.layer(middleware::from_fn_with_state(Arc::new(allow), allow_list));
    let shutdown = ctx.shutdown.clone();
    // Panel messages are small and latency-bound: send each at once instead
    // of letting Nagle's algorithm hold it behind an unacknowledged one.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    sup.spawn(name, async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
        Ok(())
    });
    Ok(local)
}

fn router(ctx: &ServiceContext, kind: PortKind, port: u16) -> Router {
    let options = leptos_options();
    let settings = ctx.controller.settings();
    let default_panel = match kind {
        PortKind::Apprimo if !settings.apprimo.default_panel.is_empty() => {
            Some(settings.apprimo.default_panel.clone())
        }
        _ => None,
    };
    let backend = Backend(Arc::new(PortBackend {
        controller: ctx.controller.clone(),
        profile: kind.profile(),
        default_panel,
    }));
    let live = live::LiveState {
        ctx: ctx.clone(),
        port,
        sessions: Arc::new(Semaphore::new(settings.panel.max_connections)),
    };
    // Leptos runs resources on the tokio runtime (a no-op when set already).
    let _ = any_spawner::Executor::init_tokio();
    // The app's screens, rendered once every resource has loaded (a panel
    // page arrives with its LEDs' current state, not a loading fallback).
    let render = {
        let backend = backend.clone();
        let options = options.clone();
        leptos_axum::render_app_async_with_context(
            move || provide_context(backend.clone()),
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
    let mut router = Router::new();
    for path in Screen::ROUTES {
        router = router.route(path, get(render.clone()));
    }
    router
        .route("/ws", get(live::upgrade).with_state(live))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/login",
            get(login::form)
                .post(login::submit)
                .with_state(ctx.controller.clone()),
        )
        .route(
            "/logout",
            post(login::logout).with_state(ctx.controller.clone()),
        )
        .merge(super::admin::routes(ctx.controller.clone()))
        .route(
            "/api/{*server_fn}",
            get(server_fns.clone()).post(server_fns),
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options)
}

async fn allow_list(
    State(allow): State<Arc<AllowList>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if allow.allows(peer.ip()) {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "this address is not on the panel service's allow-list\n",
        )
            .into_response()
    }
}
