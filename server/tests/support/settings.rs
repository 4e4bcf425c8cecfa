//! Test settings: one builder, only the named services on.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use controller_core::project::{Project, DEMO_PROJECT_TOML};
use roomctl::config::{Profile, Settings, UserEntry};
use roomctl::runtime::serve::{self, Running};
use roomctl::security::auth::{hash_password, Role};
use roomctl::storage::project_store::{self, LoadedProject, ProjectStore};

/// Every service [`TestSettings::only`] knows, by its settings section.
pub const SERVICES: [&str; 14] = [
    "panel",
    "apprimo",
    "https",
    "lookup",
    "live",
    "central",
    "extension",
    "telnet",
    "ftp",
    "logic",
    "mqtt",
    "device_search",
    "calendar",
    "holidays",
];

/// The LAN services and the two HTTP ports, without the room logic (the
/// LAN tests count extension devices; the demo's room devices belong to the
/// room-logic tests).
pub const LAN_SERVICES: [&str; 6] = ["panel", "apprimo", "lookup", "live", "central", "extension"];

/// The admin and viewer of [`TestSettings::upload`] (and of any test that
/// wants them).
pub const ADMIN: &str = "installer";
pub const ADMIN_PW: &str = "installer-secret-1";
pub const VIEWER: &str = "guest";
pub const VIEWER_PW: &str = "guest-secret-1";

/// Settings for one test, built step by step:
///
/// ```ignore
/// let s = TestSettings::only(&["panel", "central"])
///     .name("Room A")
///     .user("op", Role::Operator, "pw")
///     .toml("[central]\nmax_connections = 2\n")
///     .build();
/// ```
#[derive(Debug, Clone)]
pub struct TestSettings {
    settings: Settings,
}

impl TestSettings {
    /// The development profile with only `services` switched on (names
    /// from [`SERVICES`]; an unknown name panics) and every TCP port 0
    /// (any free port). UDP ports (lookup, live, extension) keep the
    /// profile's defaults; the room logic is a service here too.
    pub fn only(services: &[&str]) -> TestSettings {
        for name in services {
            assert!(
                SERVICES.contains(name),
                "unknown service {name:?}; known: {SERVICES:?}"
            );
        }
        let on = |name: &str| services.contains(&name);
        let mut s = Settings::defaults(Profile::Development);
        s.panel.enabled = on("panel");
        s.apprimo.enabled = on("apprimo");
        s.https.enabled = on("https");
        s.lookup.enabled = on("lookup");
        s.live.enabled = on("live");
        s.central.enabled = on("central");
        s.extension.enabled = on("extension");
        s.telnet.enabled = on("telnet");
        s.ftp.enabled = on("ftp");
        s.logic.enabled = on("logic");
        s.mqtt.enabled = on("mqtt");
        s.device_search.enabled = on("device_search");
        s.calendar.enabled = on("calendar");
        s.holidays.enabled = on("holidays");
        s.panel.port = 0;
        s.apprimo.port = 0;
        s.https.port = 0;
        s.central.port = 0;
        s.telnet.port = 0;
        s.ftp.port = 0;
        // The audit trail in memory: a test that wants the file uses
        // `in_tempdir`, which puts it there.
        s.audit.file = PathBuf::new();
        // A serial of its own, so a test controller makes no
        // `installation-id` in the working directory; a test of that file
        // clears it (and runs `in_tempdir`).
        s.identity.serial = "RC-TEST".into();
        TestSettings { settings: s }
    }

    /// The upload tests' settings: FTP, Telnet and the room logic on, FTP's
    /// passive ports in `passive`, [`ADMIN`] and [`VIEWER`] as users, in a
    /// temporary directory.
    pub fn upload(passive: (u16, u16)) -> TestEnv {
        TestSettings::only(&["ftp", "telnet", "logic"])
            .user(ADMIN, Role::Admin, ADMIN_PW)
            .user(VIEWER, Role::Viewer, VIEWER_PW)
            .edit(|s| s.ftp.passive_ports = passive)
            .in_tempdir()
    }

    /// The controller's name, and a serial derived from it.
    pub fn name(self, name: &str) -> TestSettings {
        self.edit(|s| {
            s.identity.name = name.into();
            s.identity.serial = format!("RC-TEST-{name}").replace(' ', "-");
        })
    }

    /// A user with a real argon2 hash of `password`.
    pub fn user(self, name: &str, role: Role, password: &str) -> TestSettings {
        let entry = user(name, role, password);
        self.edit(|s| s.users.push(entry))
    }

    /// Settings text merged over what is there (tables key by key), then
    /// checked as a settings file is.
    pub fn toml(self, extra: &str) -> TestSettings {
        let mut table = toml::Table::try_from(&self.settings).expect("settings serialise");
        let extra: toml::Table =
            toml::from_str(extra).unwrap_or_else(|e| panic!("bad extra settings: {e}\n{extra}"));
        merge(&mut table, extra);
        let text = toml::to_string(&table).expect("settings serialise");
        let settings = Settings::from_toml(&text, None).unwrap_or_else(|e| panic!("{e:#}\n{text}"));
        TestSettings { settings }
    }

    /// Any other change, on the settings themselves.
    pub fn edit(mut self, change: impl FnOnce(&mut Settings)) -> TestSettings {
        change(&mut self.settings);
        self
    }

    pub fn build(self) -> Settings {
        self.settings
    }

    /// A fresh temporary directory holding the project directory
    /// (`project/`) and a settings file (`roomctl.toml`) with the users,
    /// which the console's `passwd` writes to.
    pub fn in_tempdir(self) -> TestEnv {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = self.settings;
        settings.project.dir = dir.path().join("project");
        settings.audit.file = dir.path().join("var").join("audit.log");
        let file = dir.path().join("roomctl.toml");
        for u in &settings.users {
            roomctl::config::users::set_user(&file, &u.name, u.role, &u.password_hash).unwrap();
        }
        settings.telnet.settings_file = Some(file);
        TestEnv { dir, settings }
    }

    /// Starts the controller with the demo project.
    pub async fn start_demo(self) -> Running {
        start(self.build(), project_store::demo()).await
    }

    /// Starts the controller with `project`.
    pub async fn start(self, project: LoadedProject) -> Running {
        start(self.build(), project).await
    }
}

/// Starts the controller; panics with the reason if it does not start.
pub async fn start(settings: Settings, project: LoadedProject) -> Running {
    serve::start(settings, project)
        .await
        .unwrap_or_else(|e| panic!("the controller starts: {e:#}"))
}

/// A project from its text (panics with the errors if it is invalid).
pub fn loaded(text: &str) -> LoadedProject {
    let project = Project::from_toml(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    LoadedProject {
        project: Arc::new(project),
        source: text.to_string(),
        origin: "test".into(),
    }
}

/// Settings in a temporary directory ([`TestSettings::in_tempdir`]).
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub settings: Settings,
}

impl TestEnv {
    pub fn project_dir(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    pub fn settings_file(&self) -> PathBuf {
        self.dir.path().join("roomctl.toml")
    }

    /// Starts the controller with the stored active project (or the demo).
    pub async fn start(&self) -> Running {
        let store = ProjectStore::new(self.project_dir());
        start(self.settings.clone(), store.load_active_or_demo()).await
    }
}

/// A user entry with a real argon2 hash of `password` (hashed once per
/// password per test binary: argon2 is slow in debug builds).
pub fn user(name: &str, role: Role, password: &str) -> UserEntry {
    static HASHES: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
    let mut hashes = HASHES.lock().unwrap_or_else(|e| e.into_inner());
    let hash = hashes
        .entry(password.to_string())
        .or_insert_with(|| hash_password(password).unwrap())
        .clone();
    UserEntry {
        name: name.into(),
        role,
        password_hash: hash,
    }
}

/// A valid project: the demo with another name and revision.
pub fn project(name: &str, revision: u32) -> String {
    DEMO_PROJECT_TOML
        .replacen(
            "name = \"Demo meeting room\"",
            &format!("name = \"{name}\""),
            1,
        )
        .replacen("revision = 1", &format!("revision = {revision}"), 1)
}

/// An invalid project: a button kind that does not exist.
pub fn bad_project() -> String {
    project("Broken", 9).replacen("kind = \"toggle\"", "kind = \"toggel\"", 1)
}

/// Deep-merges `over` into `base`: tables key by key, anything else replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}
