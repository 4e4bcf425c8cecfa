//! Shared helpers of the LAN-service tests (lan_*.rs): a private network
//! namespace per test, settings on free ports, users.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use roomctl::auth::{hash_password, Role};
use roomctl::config::{Profile, Settings, UserEntry};
use roomctl::project_store;
use roomctl::serve::{self, Running};

const NETNS_ENV: &str = "ROOMCTL_TEST_IN_NETNS";

/// How loopback is set up inside the namespace.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Loopback {
    /// `lo` up, MULTICAST on, 224.0.0.0/4 routed to it.
    Multicast,
    /// `lo` up only (as on a stock host).
    Plain,
    /// `lo` up and a LAN: veth `v0` 10.9.0.1/24 (its peer leads nowhere),
    /// the default route through it, for the `lan` profile's defaults.
    Lan,
}

/// The namespace LAN's address of this host ([`Loopback::Lan`]).
pub const LAN_ADDRESS: &str = "10.9.0.1";

/// Runs the calling test inside a fresh network namespace of its own.
///
/// Outside the namespace: re-runs this test binary, filtered to `test`,
/// under `unshare -n`, asserts it passed, and returns `false` (the caller
/// returns). Inside: sets up loopback and returns `true` (the caller runs
/// the test body). Nothing sent in the namespace can reach a real network.
pub fn in_namespace(test: &str, lo: Loopback) -> bool {
    if std::env::var_os(NETNS_ENV).is_some() {
        let mut script = String::from("ip link set lo up");
        match lo {
            Loopback::Multicast => script
                .push_str(" && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo"),
            Loopback::Plain => {}
            Loopback::Lan => script.push_str(&format!(
                " && ip link add v0 type veth peer name v1 && ip link set v1 up \
                 && ip addr add {LAN_ADDRESS}/24 dev v0 && ip link set v0 up \
                 && ip route add default dev v0"
            )),
        }
        let ok = Command::new("sh")
            .args(["-c", &script])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "cannot set up loopback in the namespace: {script}");
        return true;
    }
    let usable = Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !usable {
        eprintln!(
            "SKIPPED {test}: `unshare -n` is not available here (needs root or user namespaces)"
        );
        return false;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let status = Command::new("unshare")
        .arg("-n")
        .arg(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(NETNS_ENV, "1")
        .status()
        .expect("run the test under unshare -n");
    assert!(
        status.success(),
        "{test} failed inside its network namespace"
    );
    false
}

/// Development settings with every TCP port free-chosen (port 0).
pub fn settings(name: &str) -> Settings {
    let mut s = Settings::defaults(Profile::Development);
    s.identity.name = name.into();
    s.identity.serial = format!("RC-TEST-{name}").replace(' ', "-");
    s.panel.port = 0;
    s.apprimo.port = 0;
    s.central.port = 0;
    // The LAN tests count extension devices; the demo's room devices
    // (projector, matrix) belong to the room-logic tests.
    s.logic.enabled = false;
    s
}

pub async fn start(settings: Settings) -> Running {
    serve::start(settings, project_store::demo())
        .await
        .expect("controller starts")
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

/// Polls `check` every 20 ms until it is true or `limit` passes.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < end {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

/// Resident memory of this process, in KiB.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
