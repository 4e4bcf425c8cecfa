//! Shared by the upload_* tests: a controller on loopback with free ports,
//! a temporary project directory and settings file, and two users.
#![allow(dead_code)]

use std::path::PathBuf;

use controller_core::project::DEMO_PROJECT_TOML;
use roomctl::auth::{hash_password, Role};
use roomctl::config::{Profile, Settings, UserEntry};
use roomctl::serve::Running;

pub const ADMIN: &str = "installer";
pub const ADMIN_PW: &str = "installer-secret-1";
pub const VIEWER: &str = "guest";
pub const VIEWER_PW: &str = "guest-secret-1";

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

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub settings: Settings,
}

impl Harness {
    pub fn project_dir(&self) -> PathBuf {
        self.dir.path().join("project")
    }
    pub fn settings_file(&self) -> PathBuf {
        self.dir.path().join("roomctl.toml")
    }
}

/// Settings: development profile, every port 0 (any free port), only FTP
/// and Telnet on, users written to a settings file (for `passwd`).
pub fn harness(passive: (u16, u16)) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Settings::defaults(Profile::Development);
    s.panel.enabled = false;
    s.apprimo.enabled = false;
    s.lookup.enabled = false;
    s.live.enabled = false;
    s.central.enabled = false;
    s.extension.enabled = false;
    s.ftp.port = 0;
    s.ftp.passive_ports = passive;
    s.telnet.port = 0;
    s.project.dir = dir.path().join("project");
    let file = dir.path().join("roomctl.toml");
    for (name, pw, role) in [
        (ADMIN, ADMIN_PW, Role::Admin),
        (VIEWER, VIEWER_PW, Role::Viewer),
    ] {
        let hash = hash_password(pw).unwrap();
        roomctl::cli::user::set_user(&file, name, role, &hash).unwrap();
        s.users.push(UserEntry {
            name: name.into(),
            role,
            password_hash: hash,
        });
    }
    s.telnet.settings_file = Some(file);
    Harness { dir, settings: s }
}

pub async fn start(h: &Harness) -> Running {
    let store = roomctl::project_store::ProjectStore::new(h.project_dir());
    roomctl::serve::start(h.settings.clone(), store.load_active_or_demo())
        .await
        .unwrap()
}

/// Runs a program to completion; (exit ok, stdout, stderr).
pub async fn run(program: &str, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
