//! The station's `GET /metrics` (Prometheus text exposition; any station
//! user, see [`crate::security::scrape_access`]): rooms online and offline, and the
//! open alerts by kind, read from the registry and the alert history at
//! each scrape. docs/network.md, "Monitoring", has the scrape configuration.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Station;
use crate::security::scrape_access::scrape_user;

/// The most open alerts counted (the history keeps them bounded anyway).
const MAX_OPEN_ALERTS: usize = 100_000;

/// The alert kinds, so every kind has a series even at 0.
const ALERT_KINDS: [&str; 5] = [
    "offline",
    "device_offline",
    "project_changed",
    "login_failed",
    "protocol_error",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

/// The exposition of the station as it is now.
pub fn exposition(station: &Station) -> String {
    let mut registry = Registry::with_prefix("roomctl_station");
    let rooms = Family::<StateLabel, Gauge>::default();
    let (online, added) = station.registry.counts();
    for (state, n) in [
        ("online", online),
        ("offline", added.saturating_sub(online)),
    ] {
        rooms
            .get_or_create(&StateLabel {
                state: state.into(),
            })
            .set(n as i64);
    }
    registry.register(
        "rooms",
        "Rooms watched, by state (online or offline)",
        rooms,
    );
    let alerts = Family::<KindLabel, Gauge>::default();
    let mut open: BTreeMap<String, i64> = ALERT_KINDS.iter().map(|k| (k.to_string(), 0)).collect();
    for a in station.alerts.list(true, MAX_OPEN_ALERTS) {
        *open.entry(a.kind).or_default() += 1;
    }
    for (kind, n) in open {
        alerts.get_or_create(&KindLabel { kind }).set(n);
    }
    registry.register(
        "alerts_open",
        "Alerts raised and not cleared, by kind",
        alerts,
    );
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &registry);
    out
}

pub async fn metrics(
    State(station): State<Arc<Station>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = scrape_user(
        &station.sessions,
        &station.logins,
        station.users.clone(),
        peer.ip(),
        &headers,
    )
    .await
    {
        return refused.into_response();
    }
    // The alert history is SQLite: read it off the async threads.
    let text = tokio::task::spawn_blocking(move || exposition(&station))
        .await
        .unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, crate::runtime::metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}
