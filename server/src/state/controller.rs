//! The controller handle: the one engine, the one event bus, and what every
//! service shares (settings, identity, users, login sessions, the status
//! board, the recent-events log). Cheap to clone (an `Arc`).
//!
//! Every input becomes a [`Command`] through [`Controller::execute`]; every
//! output subscribes to the [`Bus`] (engine state through
//! [`Controller::subscribe`], which pairs a snapshot with the stream that
//! continues it). The engine lock is held only to apply a command and
//! publish its step (no await inside), so the bus's order is the engine's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use controller_core::calendar::ClosedDays;
use controller_core::engine::{Command, Engine, EngineError, Snapshot, Step};
use controller_core::project::Project;
use controller_core::view::StatusReport;

use super::bus::{Bus, BusEvent, Published, Subscription};
use super::eventlog::{unix_now, EventLog};
use super::status::StatusBoard;
use crate::audit::{Audit, AuditEvent, AuditOutcome};
use crate::config::Settings;
use crate::runtime::{
    metrics::Metrics,
    sync::{lock, read, write},
};
use crate::security::auth::{self, LoginError, Logins, User, UserStore};
use crate::security::sessions::Sessions;
use crate::storage::settings_file::SettingsFile;

/// Identity as the services report it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub model: String,
    pub serial: String,
    pub firmware: String,
}

/// The running project: the engine and the text its project came from,
/// changed together under one lock.
struct Running {
    engine: Engine,
    /// The text the running project was loaded from, when it came from a file.
    source: Option<String>,
    /// A fresh installation: nothing was stored, so the built-in demo runs
    /// (until a project is loaded). The designer then opens a new project.
    fresh: bool,
    /// The revision of the last published step that panels show (see
    /// [`Published::after`]).
    last_shown: u64,
}

impl Running {
    /// `step` ready for the bus, with the `after` of the panels' stream;
    /// called under the lock, in the engine's order.
    fn publishing(&mut self, step: Step) -> Published {
        let published = Published::new(step, self.last_shown);
        if published.shown {
            self.last_shown = published.step.revision;
        }
        published
    }
}

struct Shared {
    running: Mutex<Running>,
    bus: Bus,
    settings: Settings,
    identity: Identity,
    users: RwLock<Arc<UserStore>>,
    logins: Logins,
    sessions: Sessions,
    status: StatusBoard,
    log: EventLog,
    audit: Audit,
    metrics: Metrics,
    settings_file: Option<SettingsFile>,
    started: Instant,
    next_id: AtomicU64,
    /// The days the `[holidays]` feed closes (empty without one): the
    /// timers follow it.
    closed_days: tokio::sync::watch::Sender<Arc<ClosedDays>>,
}

#[derive(Clone)]
pub struct Controller(Arc<Shared>);

/// A right password on a path that does not accept this user (an admin
/// over plain HTTP where admins log in over HTTPS).
#[derive(Debug)]
pub struct LoginRefused {
    pub user: User,
    /// Why, in the audit trail's words.
    pub why: String,
}

impl Controller {
    pub fn new(settings: Settings, project: Arc<Project>) -> Controller {
        let bus = Bus::default();
        let identity = Identity {
            name: settings.identity.name.clone(),
            model: settings.identity.model.clone(),
            // `serve::start` puts this installation's own serial here; a
            // controller made without it (a preview, a unit test) has the
            // machine's.
            serial: if settings.identity.serial.is_empty() {
                crate::storage::installation::machine_serial()
            } else {
                settings.identity.serial.clone()
            },
            firmware: env!("CARGO_PKG_VERSION").to_string(),
        };
        Controller(Arc::new(Shared {
            running: Mutex::new(Running {
                engine: Engine::new(project),
                source: None,
                fresh: false,
                last_shown: 0,
            }),
            status: StatusBoard::new(bus.clone()),
            bus,
            users: RwLock::new(Arc::new(UserStore::new(settings.users.clone()))),
            audit: Audit::start(&settings.audit),
            metrics: Metrics::new(),
            settings_file: settings
                .telnet
                .settings_file
                .as_deref()
                .map(SettingsFile::new),
            settings,
            identity,
            logins: Logins::default(),
            sessions: Sessions::default(),
            log: EventLog::new(500),
            started: Instant::now(),
            next_id: AtomicU64::new(1),
            closed_days: tokio::sync::watch::Sender::new(Arc::default()),
        }))
    }

    // ---- the engine ----

    /// Applies a command and publishes its step on the bus.
    pub fn execute(&self, command: Command) -> Result<Option<Arc<Published>>, EngineError> {
        let started = Instant::now();
        let press = matches!(command, Command::Press { .. });
        let mut running = lock(&self.0.running);
        let step = running.engine.apply(command)?;
        let published = step.map(|step| {
            let published = Arc::new(running.publishing(step));
            // Published under the lock: the bus's order is the engine's order.
            self.0.bus.publish(BusEvent::Step(published.clone()));
            published
        });
        drop(running);
        if press {
            self.0.metrics.pressed();
        }
        if published.is_some() {
            self.0.metrics.step(started.elapsed());
        }
        Ok(published)
    }

    /// Records the text the project given to [`Controller::new`] came from.
    pub fn with_source(self, text: String) -> Controller {
        lock(&self.0.running).source = Some(text);
        self
    }

    /// Loads a project (`by`: who or what brought it) and records the text
    /// it came from, in one step.
    pub fn load_project(
        &self,
        project: Arc<Project>,
        text: String,
        by: &str,
    ) -> Result<(), EngineError> {
        let mut running = lock(&self.0.running);
        let step = running.engine.apply(Command::LoadProject {
            project,
            source: by.to_string(),
        })?;
        running.source = Some(text);
        running.fresh = false;
        if let Some(step) = step {
            let published = Arc::new(running.publishing(step));
            self.0.bus.publish(BusEvent::Step(published));
        }
        Ok(())
    }

    /// A snapshot and the bus from just after it, taken atomically.
    pub fn subscribe(&self) -> (Snapshot, Subscription) {
        let running = lock(&self.0.running);
        (running.engine.snapshot(), self.0.bus.subscribe())
    }

    /// [`Controller::subscribe`] with the project the snapshot is of (for
    /// a panel that is sent its layout with the state).
    pub fn subscribe_with_project(&self) -> (Arc<Project>, Snapshot, Subscription) {
        let running = lock(&self.0.running);
        (
            running.engine.project().clone(),
            running.engine.snapshot(),
            self.0.bus.subscribe(),
        )
    }

    pub fn snapshot(&self) -> Snapshot {
        lock(&self.0.running).engine.snapshot()
    }

    pub fn revision(&self) -> u64 {
        lock(&self.0.running).engine.revision()
    }

    /// The running project and the state of it, taken together (a project
    /// applied between two separate reads could otherwise pair one project's
    /// layout with another's state).
    pub fn project_and_snapshot(&self) -> (Arc<Project>, Snapshot) {
        let running = lock(&self.0.running);
        (running.engine.project().clone(), running.engine.snapshot())
    }

    pub fn project(&self) -> Arc<Project> {
        lock(&self.0.running).engine.project().clone()
    }

    /// Marks the running project as the built-in demo of a fresh
    /// installation (nothing stored yet; see [`Controller::is_fresh`]).
    pub fn fresh_installation(self) -> Controller {
        lock(&self.0.running).fresh = true;
        self
    }

    /// Whether the controller runs the built-in demo because nothing was
    /// ever stored (not because `serve --demo` asked for it), and no
    /// project was loaded since.
    pub fn is_fresh(&self) -> bool {
        lock(&self.0.running).fresh
    }

    /// The text the running project was loaded from, when it came from a file.
    pub fn project_source(&self) -> Option<String> {
        lock(&self.0.running).source.clone()
    }

    // ---- what every service shares ----

    /// The event bus (for events that are not engine steps, and for
    /// subscribers that need no snapshot).
    pub fn bus(&self) -> &Bus {
        &self.0.bus
    }

    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    pub fn identity(&self) -> &Identity {
        &self.0.identity
    }

    pub fn users(&self) -> Arc<UserStore> {
        read(&self.0.users).clone()
    }

    pub fn set_users(&self, users: UserStore) {
        *write(&self.0.users) = Arc::new(users);
    }

    /// The login gate of every service: bounded password checks, back-off.
    pub fn logins(&self) -> &Logins {
        &self.0.logins
    }

    /// Checks a login on `service` from `source` against the user store
    /// as the settings file has it now (see [`crate::security::auth::verify`] and
    /// [`crate::storage::settings_file`]), and writes it to the audit trail: every
    /// success and every wrong password. Attempts refused unchecked
    /// (back-off, busy) are not written one by one: a flood of them would
    /// push the real history out of the rotated files; the failures that
    /// caused the back-off are there.
    pub async fn verify_login(
        &self,
        service: &str,
        source: std::net::IpAddr,
        name: String,
        password: String,
    ) -> Result<User, LoginError> {
        // Nothing is refused here, so `Err(refused)` never comes.
        self.verify_login_unless(service, source, name, password, |_| None)
            .await
            .map(|verified| verified.unwrap_or_else(|refused| refused.user))
    }

    /// [`Controller::verify_login`] for a path that refuses some right
    /// passwords (an admin over plain HTTP): `refuse` says why, or `None`.
    /// A refused login is audited as failed, with the reason, never as a
    /// success; `Ok(Err(_))` hands the caller the user and the reason.
    pub async fn verify_login_unless(
        &self,
        service: &str,
        source: std::net::IpAddr,
        name: String,
        password: String,
        refuse: impl FnOnce(&User) -> Option<String>,
    ) -> Result<Result<User, LoginRefused>, LoginError> {
        self.refresh_settings_file().await;
        let result =
            auth::verify(&self.0.logins, self.users(), source, name.clone(), password).await;
        let result = result.map(|user| match refuse(&user) {
            None => Ok(user),
            Some(why) => Err(LoginRefused { user, why }),
        });
        match &result {
            Ok(Ok(user)) => self.0.audit.record(
                AuditEvent::Login,
                AuditOutcome::Ok,
                service,
                Some(&user.name),
                Some(source),
                format!("role {}", user.role),
            ),
            Ok(Err(refused)) => {
                self.0.metrics.failed_login(service);
                self.0.audit.record(
                    AuditEvent::Login,
                    AuditOutcome::Failed,
                    service,
                    Some(&refused.user.name),
                    Some(source),
                    format!("role {}: refused: {}", refused.user.role, refused.why),
                )
            }
            Err(LoginError::Wrong) => {
                self.0.metrics.failed_login(service);
                self.0.audit.record(
                    AuditEvent::Login,
                    AuditOutcome::Failed,
                    service,
                    Some(&name),
                    Some(source),
                    LoginError::Wrong.to_string(),
                )
            }
            Err(_) => {}
        }
        result
    }

    /// Reads the settings file again if it changed (users take effect at
    /// once; see [`crate::storage::settings_file`]).
    pub async fn refresh_settings_file(&self) {
        if self.0.settings_file.is_none() {
            return;
        }
        let controller = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(file) = &controller.0.settings_file {
                file.refresh(controller.audit(), |users| controller.set_users(users));
            }
        })
        .await;
    }

    /// Takes the settings file's users after this process wrote it (see
    /// [`SettingsFile::adopt`]). Blocking (file I/O).
    pub fn adopt_settings_file(&self) {
        if let Some(file) = &self.0.settings_file {
            file.adopt(|users| self.set_users(users));
        }
    }

    /// The audit trail (logins, uploads, applies, user changes, presses).
    pub fn audit(&self) -> &Audit {
        &self.0.audit
    }

    /// Prometheus metrics (`/metrics`).
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Browser login sessions (admin pages, panels that require a login).
    pub fn sessions(&self) -> &Sessions {
        &self.0.sessions
    }

    /// Services, connected panels, devices and timers.
    pub fn status(&self) -> &StatusBoard {
        &self.0.status
    }

    /// The closed days now, and each change to come (the timers follow it).
    pub fn closed_days(&self) -> tokio::sync::watch::Receiver<Arc<ClosedDays>> {
        self.0.closed_days.subscribe()
    }

    /// The holidays service's new closed days (only when they changed, so
    /// the timers are not woken for nothing); whether they changed.
    pub fn set_closed_days(&self, days: ClosedDays) -> bool {
        self.0.closed_days.send_if_modified(|now| {
            let changed = **now != days;
            if changed {
                *now = Arc::new(days);
            }
            changed
        })
    }

    pub fn log(&self) -> &EventLog {
        &self.0.log
    }

    pub fn uptime_secs(&self) -> u64 {
        self.0.started.elapsed().as_secs()
    }

    /// A number unique in this process (panel session ids).
    pub fn next_id(&self) -> u64 {
        self.0.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn now(&self) -> u64 {
        unix_now()
    }

    /// The one `Status` model of the status page, the console and the CLI.
    pub fn status_report(&self) -> StatusReport {
        let snapshot = self.snapshot();
        let board = self.status().view();
        let id = self.identity();
        StatusReport {
            controller_name: id.name.clone(),
            model: id.model.clone(),
            firmware: id.firmware.clone(),
            project_name: snapshot.project_name,
            project_revision: snapshot.project_revision,
            engine_revision: snapshot.revision,
            uptime_secs: self.uptime_secs(),
            services: board.services,
            panels: board.panels,
            devices: board.devices,
            timers: board.timers,
            found_devices: board.found,
            recent_events: self.log().recent(50),
            audit: None,
        }
    }
}
