//! `roomctl station`: the central station. Watches many rooms over central
//! control (5009), one connection per room ([`watcher`]); finds rooms on
//! the static list and by LAN lookup ([`discovery`]), and with
//! `transport = "mqtt"` under a broker's topic tree ([`mqtt`]); keeps them in the
//! [`registry`]; raises [`alerts`] (history in SQLite, [`history`]; POSTs
//! to [`webhook`]s); counts how rooms are used ([`usage`]); serves the
//! browser view and presses ([`web`], one [`web::Screen`] per page group).
//!
//! The station is a service like the controller's ([`service::StationService`]):
//! started by the one `Supervisor` from a service list ([`services`]),
//! its web page served through the same accept gate, allow-list, timeouts
//! and HTTP layers as the panel ports, its state on the status board of
//! the process that runs it ([`RunningStation::board`]). Documented in
//! docs/station.md.

pub mod alerts;
mod assets;
pub mod discovery;
pub mod events;
pub mod history;
pub mod metrics;
pub mod mqtt;
pub mod panel;
pub mod registry;
pub mod service;
mod signin;
pub mod usage;
pub mod watcher;
pub mod web;
pub mod webhook;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Settings, StationSettings};
use crate::security::auth::UserStore;
use crate::security::sessions::Sessions;
use crate::services::{Service, Supervisor};
use crate::state::controller::Controller;
use crate::state::status::StatusBoard;
use crate::storage::project_store::ProjectStore;
use alerts::Alerts;
use registry::Registry;
pub use service::StationService;

/// Everything the station's tasks share.
pub struct Station {
    pub settings: StationSettings,
    /// The station account's password (for rooms that ask for a login).
    pub password: String,
    pub registry: Arc<Registry>,
    pub alerts: Arc<Alerts>,
    /// Where the watchers put usage records (written to the history).
    pub usage: usage::Recorder,
    pub users: Arc<UserStore>,
    /// The bounded password check and its back-off, as on a controller.
    pub logins: crate::security::auth::Logins,
    pub sessions: Sessions,
    /// Room panels' live channels relayed at once, at most
    /// (`[panel] max_connections`, see [`panel`]).
    pub panels: Arc<tokio::sync::Semaphore>,
    /// The supervisor's cancellation: every task of the station ends on it.
    pub shutdown: CancellationToken,
    /// The tasks started while it runs (one watcher per room found, the
    /// broker's presses); the service's task waits for them at shutdown.
    pub(crate) tasks: TaskTracker,
}

impl Station {
    /// Adds a room (unless its address is known) and starts its watcher.
    /// `identity` makes its key (see [`registry::key_for`]).
    pub fn add_room(
        self: &Arc<Station>,
        address: SocketAddr,
        identity: &str,
        name: &str,
    ) -> Option<usize> {
        let (index, commands) = self.registry.add(address, identity, name)?;
        let station = self.clone();
        self.tasks
            .spawn(watcher::watch(station, index, address, commands));
        Some(index)
    }
}

/// The service list of `roomctl station`: the station alone (tests add
/// their own beside it).
pub fn services(password: String, base: &Path) -> Vec<Box<dyn Service>> {
    vec![Box::new(StationService::new(password, base))]
}

/// A running station and the supervisor that started it.
pub struct RunningStation {
    pub station: Arc<Station>,
    /// Where its web page listens.
    pub addr: SocketAddr,
    host: Controller,
    supervisor: Supervisor,
}

impl RunningStation {
    /// The status board of the process: the station's state (listening,
    /// failed: why, stopped) and any service started beside it.
    pub fn board(&self) -> &StatusBoard {
        self.host.status()
    }

    /// The handle whose board and log the supervisor writes (kept after
    /// [`RunningStation::shutdown`] to read the states it left).
    pub fn host(&self) -> &Controller {
        &self.host
    }

    /// Stops every task, waiting at most the supervisor's deadline.
    pub async fn shutdown(self) {
        self.supervisor
            .shutdown(crate::runtime::serve::SHUTDOWN_DEADLINE)
            .await;
    }
}

/// Starts the station: history, web page, static rooms, lookup, alerts.
/// `base` is the settings file's folder (relative paths start there).
pub async fn start(
    settings: &Settings,
    password: String,
    base: &Path,
) -> anyhow::Result<RunningStation> {
    start_with(settings, StationService::new(password, base), Vec::new()).await
}

/// Starts `station` and then `others` through one [`Supervisor`], as
/// `roomctl serve` starts the controller's list. The supervisor needs a
/// controller handle for its status board and log: the station's is one
/// with no room services and its project never served (the built-in demo),
/// audit off (the station keeps its own history).
pub async fn start_with(
    settings: &Settings,
    station: StationService,
    others: Vec<Box<dyn Service>>,
) -> anyhow::Result<RunningStation> {
    let mut host_settings = settings.clone();
    host_settings.audit.enabled = false;
    let host = Controller::new(
        host_settings.clone(),
        crate::storage::project_store::demo().project,
    );
    let store = Arc::new(ProjectStore::for_settings(&host_settings));
    let started = station.started();
    let mut supervisor = Supervisor::new(host.clone(), store);
    let mut list: Vec<Box<dyn Service>> = vec![Box::new(station)];
    list.extend(others);
    for service in &list {
        if let Err(e) = supervisor.start(service.as_ref()).await {
            supervisor
                .shutdown(crate::runtime::serve::SHUTDOWN_DEADLINE)
                .await;
            return Err(e);
        }
    }
    let (Some(station), Some(addr)) = (
        started.get().cloned(),
        host.status().service_addr("station"),
    ) else {
        let why = host
            .status()
            .service("station")
            .map(|s| format!("{:?}", s.state))
            .unwrap_or_default();
        supervisor
            .shutdown(crate::runtime::serve::SHUTDOWN_DEADLINE)
            .await;
        anyhow::bail!("the station did not start: {why}");
    };
    tracing::info!(
        "station: web page on http://{addr}/, watching {} rooms from the list",
        station.settings.rooms.len()
    );
    Ok(RunningStation {
        station,
        addr,
        host,
        supervisor,
    })
}

/// The password of the station's account: ROOMCTL_STATION_PASSWORD, else
/// the first line of `password_file`, else none.
pub fn read_password(s: &StationSettings, base: &Path) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("ROOMCTL_STATION_PASSWORD") {
        return Ok(p);
    }
    match &s.password_file {
        Some(f) => {
            let path = if f.is_absolute() {
                f.clone()
            } else {
                base.join(f)
            };
            crate::storage::secret_file::read_password_file(&path, "station password file")
        }
        None => Ok(String::new()),
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
