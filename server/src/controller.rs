//! The controller handle: the one engine, its event stream, and the shared
//! registries every service reports to. Cheap to clone (an `Arc`).
//!
//! Every input becomes [`Command`] through [`Controller::execute`]; every
//! output subscribes to [`Controller::subscribe`]. The engine lock is held
//! only to apply a command and publish its step (no await inside), so the
//! stream's order is the engine's order. A step is serialised at most once
//! per wire format ([`Published::encoded`]) and the same bytes go to every
//! connection.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Instant;

use bytes::Bytes;
use controller_core::engine::{Command, Engine, EngineError, Snapshot, Step};
use controller_core::project::Project;
use controller_core::view::{DeviceStatus, PanelSession, StatusReport, TimerStatus};
use tokio::sync::broadcast;

use crate::auth::UserStore;
use crate::config::Settings;
use crate::eventlog::{unix_now, EventLog};
use crate::services::ServiceRegistry;

/// How many steps a slow subscriber may fall behind before it must
/// resynchronise from a snapshot.
const STREAM_CAPACITY: usize = 4096;

/// The wire formats a step is published in; each is encoded once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Encoding {
    /// The panel WebSocket's `step` message (JSON text).
    PanelJson = 0,
    /// The central-control (TCP 5009) `step` line.
    CentralLine = 1,
    /// The live-update (UDP 8001) datagram.
    LiveDatagram = 2,
}
const ENCODINGS: usize = 3;

/// A step as published on the stream, with its encodings cached.
pub struct Published {
    pub step: Step,
    encoded: [OnceLock<Bytes>; ENCODINGS],
}

impl Published {
    fn new(step: Step) -> Published {
        Published {
            step,
            encoded: Default::default(),
        }
    }

    /// This step in `format`, encoded by `encode` the first time it is asked for.
    pub fn encoded(&self, format: Encoding, encode: impl FnOnce(&Step) -> Bytes) -> Bytes {
        self.encoded[format as usize]
            .get_or_init(|| encode(&self.step))
            .clone()
    }
}

/// Identity as the services report it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub model: String,
    pub serial: String,
    pub firmware: String,
}

struct Shared {
    engine: Mutex<Engine>,
    events: broadcast::Sender<Arc<Published>>,
    settings: Settings,
    identity: Identity,
    users: RwLock<Arc<UserStore>>,
    services: ServiceRegistry,
    panels: Mutex<BTreeMap<u64, PanelSession>>,
    devices: Mutex<BTreeMap<String, DeviceStatus>>,
    timers: Mutex<Vec<TimerStatus>>,
    log: EventLog,
    started: Instant,
    next_id: std::sync::atomic::AtomicU64,
    project_source: Mutex<Option<String>>,
    sessions: crate::sessions::Sessions,
}

#[derive(Clone)]
pub struct Controller(Arc<Shared>);

impl Controller {
    pub fn new(settings: Settings, project: Arc<Project>) -> Controller {
        let (events, _) = broadcast::channel(STREAM_CAPACITY);
        let identity = Identity {
            name: settings.identity.name.clone(),
            model: settings.identity.model.clone(),
            serial: if settings.identity.serial.is_empty() {
                machine_serial()
            } else {
                settings.identity.serial.clone()
            },
            firmware: env!("CARGO_PKG_VERSION").to_string(),
        };
        Controller(Arc::new(Shared {
            engine: Mutex::new(Engine::new(project)),
            events,
            users: RwLock::new(Arc::new(UserStore::new(settings.users.clone()))),
            settings,
            identity,
            services: ServiceRegistry::default(),
            panels: Mutex::new(BTreeMap::new()),
            devices: Mutex::new(BTreeMap::new()),
            timers: Mutex::new(Vec::new()),
            log: EventLog::new(500),
            started: Instant::now(),
            next_id: 1.into(),
            project_source: Mutex::new(None),
            sessions: Default::default(),
        }))
    }

    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        // A panic while holding the lock cannot leave the engine half-applied
        // (apply builds the step before mutating), so a poisoned lock is safe.
        self.0.engine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a command and publishes its step.
    pub fn execute(&self, command: Command) -> Result<Option<Arc<Published>>, EngineError> {
        let mut engine = self.engine();
        let step = engine.apply(command)?;
        Ok(step.map(|step| {
            let published = Arc::new(Published::new(step));
            // No subscribers is fine: the step is still applied.
            let _ = self.0.events.send(published.clone());
            published
        }))
    }

    /// A snapshot and a stream of every step after it, taken atomically.
    pub fn subscribe(&self) -> (Snapshot, broadcast::Receiver<Arc<Published>>) {
        let engine = self.engine();
        (engine.snapshot(), self.0.events.subscribe())
    }

    pub fn snapshot(&self) -> Snapshot {
        self.engine().snapshot()
    }

    pub fn revision(&self) -> u64 {
        self.engine().revision()
    }

    /// The running project and the state of it, taken together (a project
    /// applied between two separate reads could otherwise pair one project's
    /// layout with another's state).
    pub fn project_and_snapshot(&self) -> (Arc<Project>, Snapshot) {
        let engine = self.engine();
        (engine.project().clone(), engine.snapshot())
    }

    pub fn project(&self) -> Arc<Project> {
        self.engine().project().clone()
    }

    /// The text the running project was loaded from, when it came from a file.
    pub fn project_source(&self) -> Option<String> {
        self.0
            .project_source
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_project_source(&self, text: Option<String>) {
        *self
            .0
            .project_source
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = text;
    }

    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    pub fn identity(&self) -> &Identity {
        &self.0.identity
    }

    pub fn users(&self) -> Arc<UserStore> {
        self.0
            .users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_users(&self, users: UserStore) {
        *self.0.users.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(users);
    }

    /// Browser login sessions (admin pages, panels that require a login).
    pub fn sessions(&self) -> &crate::sessions::Sessions {
        &self.0.sessions
    }

    pub fn services(&self) -> &ServiceRegistry {
        &self.0.services
    }

    pub fn log(&self) -> &EventLog {
        &self.0.log
    }

    pub fn uptime_secs(&self) -> u64 {
        self.0.started.elapsed().as_secs()
    }

    pub fn next_id(&self) -> u64 {
        self.0
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    // ---- connected panels (for the status page) ----

    pub fn panel_connected(&self, session: PanelSession) {
        self.0
            .panels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(session.id, session);
    }

    pub fn panel_update(&self, id: u64, f: impl FnOnce(&mut PanelSession)) {
        if let Some(s) = self
            .0
            .panels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&id)
        {
            f(s);
        }
    }

    pub fn panel_disconnected(&self, id: u64) {
        self.0
            .panels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    pub fn panels(&self) -> Vec<PanelSession> {
        self.0
            .panels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    // ---- devices (extension devices and room devices) ----

    pub fn device_update(&self, status: DeviceStatus) {
        self.0
            .devices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(status.id.clone(), status);
    }

    pub fn device_remove(&self, id: &str) {
        self.0
            .devices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    pub fn devices(&self) -> Vec<DeviceStatus> {
        self.0
            .devices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    // ---- timers of the room logic (for the status page) ----

    pub fn set_timers(&self, timers: Vec<TimerStatus>) {
        *self.0.timers.lock().unwrap_or_else(|e| e.into_inner()) = timers;
    }

    pub fn timers(&self) -> Vec<TimerStatus> {
        self.0
            .timers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn status_report(&self) -> StatusReport {
        let snapshot = self.snapshot();
        let id = self.identity();
        StatusReport {
            controller_name: id.name.clone(),
            model: id.model.clone(),
            firmware: id.firmware.clone(),
            project_name: snapshot.project_name,
            project_revision: snapshot.project_revision,
            engine_revision: snapshot.revision,
            uptime_secs: self.uptime_secs(),
            services: self.services().list(),
            panels: self.panels(),
            devices: self.devices(),
            timers: self.timers(),
            recent_events: self.log().recent(50),
        }
    }

    pub fn now(&self) -> u64 {
        unix_now()
    }
}

/// A stable serial number for this machine (from /etc/machine-id), so
/// discovery can tell controllers apart without configuration.
fn machine_serial() -> String {
    let id = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
    let id = id.trim();
    if id.len() >= 12 {
        format!("RC-{}", id[..12].to_uppercase())
    } else {
        "RC-000000000000".into()
    }
}
