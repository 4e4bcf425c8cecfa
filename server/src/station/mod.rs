//! `roomctl station`: the central station. Watches many rooms over central
//! control (5009), one connection per room ([`watcher`]); finds rooms on
//! the static list and by LAN lookup ([`discovery`]), and with
//! `transport = "mqtt"` under a broker's topic tree ([`mqtt`]); keeps them in the
//! [`registry`]; raises [`alerts`] (history in SQLite, [`history`]; POSTs
//! to [`webhook`]s); counts how rooms are used ([`usage`]); serves the
//! browser view and presses ([`web`]).
//! Its own small list of tasks, started and stopped together like the
//! controller's services. Documented in docs/station.md.

pub mod alerts;
pub mod discovery;
pub mod history;
pub mod metrics;
pub mod mqtt;
pub mod registry;
pub mod usage;
pub mod watcher;
pub mod web;
pub mod webhook;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::auth::UserStore;
use crate::config::{Settings, StationSettings, StationTransport};
use crate::sessions::Sessions;
use alerts::Alerts;
use history::History;
use registry::Registry;

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
    pub logins: crate::auth::Logins,
    pub sessions: Sessions,
    pub shutdown: CancellationToken,
    tasks: std::sync::Mutex<JoinSet<()>>,
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
        crate::sync::lock(&self.tasks).spawn(watcher::watch(station, index, address, commands));
        Some(index)
    }
}

/// A running station.
pub struct RunningStation {
    pub station: Arc<Station>,
    /// Where its web page listens.
    pub addr: SocketAddr,
}

impl RunningStation {
    /// Stops every task, waiting at most a few seconds.
    pub async fn shutdown(self) {
        self.station.shutdown.cancel();
        let mut tasks = std::mem::take(&mut *crate::sync::lock(&self.station.tasks));
        let all = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(5), all)
            .await
            .is_err()
        {
            tracing::warn!("station: tasks did not stop in time");
        }
    }
}

/// Starts the station: history, web page, static rooms, lookup, alerts.
/// `base` is the settings file's folder (relative paths start there).
pub async fn start(
    settings: &Settings,
    password: String,
    base: &Path,
) -> anyhow::Result<RunningStation> {
    let s = settings.station.clone();
    let users = UserStore::new(settings.users.clone());
    if !users.has_admin() {
        anyhow::bail!(
            "the station needs an admin user for its web page: run `roomctl user add admin --role admin` with this settings file"
        );
    }
    let db = if s.database.is_absolute() {
        s.database.clone()
    } else {
        base.join(&s.database)
    };
    let history = History::open(&db, unix_now())?;
    let registry = Registry::new();
    let alerts = Arc::new(Alerts::new(history, registry.clone(), s.webhooks.clone()));
    let listener =
        crate::services::bind_tcp("station", "station", SocketAddr::new(s.bind, s.port)).await?;
    let addr = listener.local_addr()?;
    let (recorder, records) = usage::Recorder::new();
    let station = Arc::new(Station {
        settings: s.clone(),
        password,
        registry,
        alerts: alerts.clone(),
        usage: recorder,
        users: Arc::new(users),
        logins: crate::auth::Logins::default(),
        sessions: Sessions::default(),
        shutdown: CancellationToken::new(),
        tasks: std::sync::Mutex::new(JoinSet::new()),
    });
    for room in &s.rooms {
        station.add_room(room.address, &room.address.to_string(), &room.name);
    }
    let broker = match s.transport {
        StationTransport::Central => None,
        StationTransport::Mqtt => {
            // The broker is the `[mqtt]` section's; its files relative to
            // the settings file, like the station's own.
            let mut m = settings.mqtt.clone();
            let near = |p: &std::path::PathBuf| {
                if p.is_absolute() {
                    p.clone()
                } else {
                    base.join(p)
                }
            };
            m.password_file = m.password_file.as_ref().map(near);
            m.ca_file = m.ca_file.as_ref().map(near);
            Some(mqtt::start(station.clone(), m).context("[station] transport = \"mqtt\"")?)
        }
    };
    {
        let mut tasks = crate::sync::lock(&station.tasks);
        tasks.spawn(usage::run(
            records,
            alerts.clone(),
            station.shutdown.clone(),
        ));
        tasks.spawn(alerts::watch_offline(
            alerts,
            Duration::from_secs(s.offline_after_secs),
            s.retention_days,
            station.shutdown.clone(),
        ));
        if !s.lookup_broadcast.is_empty() {
            tasks.spawn(discovery::run(station.clone()));
        }
        tasks.spawn(web::serve(station.clone(), listener));
        if let Some(broker) = broker {
            tasks.spawn(broker);
        }
    }
    tracing::info!(
        "station: web page on http://{addr}/, watching {} rooms from the list",
        s.rooms.len()
    );
    Ok(RunningStation { station, addr })
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
            crate::secret_file::read_password_file(&path, "station password file")
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
