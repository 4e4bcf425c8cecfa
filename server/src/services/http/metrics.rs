//! `GET /healthz` (public: `ok`, or 503 `degraded` with the reasons, for a
//! load balancer or an uptime check) and `GET /metrics` (Prometheus text
//! exposition, for a user: see [`crate::security::scrape_access`]) on the panel ports.
//! docs/network.md, "Monitoring", has the scrape configuration.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::audit::{AuditEvent, AuditOutcome};
use crate::security::auth::LoginError;
use crate::security::scrape_access::{scrape_user, Refused};
use crate::state::controller::Controller;

pub fn routes<S: Clone + Send + Sync + 'static>(controller: Controller) -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(controller)
}

async fn healthz(State(controller): State<Controller>) -> Response {
    let health = crate::runtime::health::assess(
        &controller.status().view(),
        controller.metrics().mqtt.broker_unreachable(),
    );
    let status = if health.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(header::CACHE_CONTROL, "no-store")], health.text()).into_response()
}

async fn metrics(
    State(controller): State<Controller>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    controller.refresh_settings_file().await;
    let checked = scrape_user(
        controller.sessions(),
        controller.logins(),
        controller.users(),
        peer.ip(),
        &headers,
    )
    .await;
    if let Err(Refused::Login(LoginError::Wrong)) = &checked {
        // A successful scrape is not audited (one every 15 s would push
        // the real history out of the rotated files); a wrong password is.
        let name = crate::security::scrape_access::basic_credentials(&headers)
            .map(|(n, _)| n)
            .unwrap_or_default();
        controller.metrics().failed_login("metrics");
        controller.audit().record(
            AuditEvent::Login,
            AuditOutcome::Failed,
            "metrics",
            Some(&name),
            Some(peer.ip()),
            LoginError::Wrong.to_string(),
        );
    }
    if let Err(refused) = checked {
        return refused.into_response();
    }
    let text = controller.metrics().scrape(&controller.status().view());
    (
        [
            (header::CONTENT_TYPE, crate::runtime::metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}
