//! The station as a service: one [`Service`] started by the supervisor like
//! the controller's. Its start opens the history, binds the web page's
//! port, starts its tasks (usage, offline alerts, lookup, the broker, one
//! watcher per room) and serves its screens through the panel ports' HTTP
//! stack (`services::http::serve_router`: the accept gate with `[station]
//! allow` and the `[panel]` connection caps and header timeout; the layers
//! of `services::http::layers`: security headers, compression, body limit,
//! request timeout).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use axum::http::{header, HeaderValue};
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;
use tower_http::set_header::SetResponseHeaderLayer;

use super::alerts::{self, Alerts};
use super::history::{History, UsageRecord};
use super::registry::Registry;
use super::{discovery, mqtt, unix_now, usage, web, Station};
use crate::config::{Settings, StationTransport};
use crate::security::auth::UserStore;
use crate::security::sessions::Sessions;
use crate::services::http::layers;
use crate::services::{bind_tcp, Endpoint, Service, StartEnv, StartError, Started};

/// The central station's web page and its watchers.
pub struct StationService {
    password: String,
    /// The settings file's folder (relative paths start there).
    base: PathBuf,
    screens: Vec<web::Screen>,
    started: Arc<OnceLock<Arc<Station>>>,
}

impl StationService {
    /// The station with its built-in screens ([`web::screens`]).
    pub fn new(password: String, base: &Path) -> StationService {
        StationService {
            password,
            base: base.to_path_buf(),
            screens: web::screens(),
            started: Arc::default(),
        }
    }

    /// Adds a screen (its routes) to the station's web page.
    pub fn with_screen(mut self, screen: web::Screen) -> StationService {
        self.screens.push(screen);
        self
    }

    /// The running station, once [`Service::start`] has made it.
    pub fn started(&self) -> Arc<OnceLock<Arc<Station>>> {
        self.started.clone()
    }
}

impl Service for StationService {
    fn name(&self) -> &'static str {
        "station"
    }

    fn enabled(&self, _: &Settings) -> bool {
        // `roomctl station` is how it is switched on.
        true
    }

    fn purpose(&self, s: &Settings) -> String {
        let s = &s.station;
        let how = match s.transport {
            StationTransport::Central => "central control",
            StationTransport::Mqtt => "central control and the MQTT broker",
        };
        format!(
            "the central station's web page: watches rooms ({} on the list{}) over {how}, raises alerts after {} s offline",
            s.rooms.len(),
            if s.lookup_broadcast.is_empty() {
                ""
            } else {
                ", more found by lookup"
            },
            s.offline_after_secs
        )
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        let (password, base) = (self.password.clone(), self.base.clone());
        let (screens, slot) = (self.screens.clone(), self.started.clone());
        async move {
            let settings = env.settings().clone();
            let s = &settings.station;
            let users = UserStore::new(settings.users.clone());
            if !users.has_admin() {
                return Err(StartError::Fatal(anyhow::anyhow!(
                    "the station needs an admin user for its web page: run `roomctl user add admin --role admin` with this settings file"
                )));
            }
            // (An absolute path replaces the base it is joined to.)
            let near = |p: &PathBuf| base.join(p);
            let history = History::open(&near(&s.database), unix_now())?;
            let registry = Registry::new();
            let alerts = Arc::new(Alerts::new(history, registry.clone(), s.webhooks.clone()));
            let listener = bind_tcp("station", "station", SocketAddr::new(s.bind, s.port)).await?;
            let local = listener.local_addr()?;
            let (recorder, records) = usage::Recorder::new();
            let station = Arc::new(Station {
                settings: s.clone(),
                password,
                registry,
                alerts: alerts.clone(),
                usage: recorder,
                users: Arc::new(users),
                logins: crate::security::auth::Logins::default(),
                sessions: Sessions::default(),
                panels: Arc::new(Semaphore::new(settings.panel.max_connections.max(1))),
                shutdown: env.shutdown.clone(),
                tasks: TaskTracker::new(),
            });
            for room in &s.rooms {
                station.add_room(room.address, &room.address.to_string(), &room.name);
            }
            if s.transport == StationTransport::Mqtt {
                // The broker is the `[mqtt]` section's; its files relative
                // to the settings file, like the station's own.
                let mut m = settings.mqtt.clone();
                m.password_file = m.password_file.as_ref().map(near);
                m.ca_file = m.ca_file.as_ref().map(near);
                let broker = mqtt::start(station.clone(), m)
                    .context("[station] transport = \"mqtt\"")?;
                station.tasks.spawn(broker);
            }
            station
                .tasks
                .spawn(usage::run(records, usage_writer(alerts.clone()), env.shutdown.clone()));
            station.tasks.spawn(alerts::watch_offline(
                alerts,
                Duration::from_secs(s.offline_after_secs),
                s.retention_days,
                env.shutdown.clone(),
            ));
            if !s.lookup_broadcast.is_empty() {
                station.tasks.spawn(discovery::run(station.clone()));
            }
            let router = web::router(station.clone(), &screens).layer(
                SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(layers::STATION_CSP),
                ),
            );
            let router = layers::around_with_limit(router, &settings, settings.panel.max_body_bytes);
            let web = crate::services::http::serve_router(
                &env,
                "station",
                listener,
                router,
                s.allow.clone(),
                None,
            );
            let _ = slot.set(station.clone());
            let task = async move {
                let served = web.await;
                station.tasks.close();
                station.tasks.wait().await;
                served
            };
            Ok(Started::listening(Endpoint::tcp(local), task.boxed()))
        }
        .boxed()
    }
}

/// Where usage records are written: the history the alerts hold.
fn usage_writer(
    alerts: Arc<Alerts>,
) -> impl Fn(&[UsageRecord]) -> anyhow::Result<()> + Clone + Send + 'static {
    move |batch| alerts.history().insert_usage(batch)
}
