//! Upgrades keep everything: `tests/fixtures/data-0.1.0/` is a data
//! directory as roomctl 0.1.0 (the first packaged release) leaves it, before
//! any stored format carried a version: settings with users, projects with
//! history, the audit trail and the station's database. Every later
//! release must start on it and find every project, user, history entry
//! and alert; this test runs it with the current one.

use crate::support;

use std::path::{Path, PathBuf};

use roomctl::config::Settings;
use roomctl::station::history::History;
use roomctl::storage::project_store::ProjectStore;
use support::run;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data-0.1.0")
}

/// A copy of the fixture to run on (the fixture itself stays as it was).
fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = std::process::Command::new("cp")
        .args(["-a", &format!("{}/.", fixture().display())])
        .arg(dir.path())
        .output()
        .map(|o| {
            (
                o.status.success(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert!(ok, "{out}{err}");
    dir
}

#[tokio::test]
async fn the_first_releases_data_directory_loads_with_this_one() {
    let dir = copy();
    let d = dir.path();
    let config = d.join("roomctl.toml");

    // Settings and users.
    let settings = Settings::load(&config, None).expect("the 0.1.0 settings load");
    assert_eq!(settings.format, 1, "unversioned settings are format 1");
    assert_eq!(settings.identity.name, "Lecture hall 12");
    let names: Vec<&str> = settings.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["admin", "guest"]);
    let (ok, out, err) = run(
        env!("CARGO_BIN_EXE_roomctl"),
        &["--config", config.to_str().unwrap(), "user", "list"],
    )
    .await;
    assert!(
        ok && out.contains("admin") && out.contains("guest"),
        "{out}{err}"
    );

    // The project and its history.
    let store = ProjectStore::new(settings.project_dir(&config));
    let loaded = store.load_active_or_demo();
    assert_eq!(loaded.project.project.name, "Lecture hall 12");
    assert_eq!(loaded.project.project.revision, 4);
    let history = store.history_list();
    let found: Vec<(u64, &str, u32)> = history
        .iter()
        .map(|e| (e.id, e.name.as_str(), e.format))
        .collect();
    assert_eq!(
        found,
        [(2, "Lecture hall 12", 1), (1, "Demo meeting room", 1)],
        "every history entry, read as format 1"
    );

    // The audit trail.
    let audit = roomctl::audit::file::tail(&d.join("var/audit.log"), 10);
    assert_eq!(audit.len(), 2, "{audit:?}");

    // The station's alerts and usage, its schema now versioned.
    let db = d.join("var/station.sqlite");
    let h = History::open(&db, 1_764_100_000).expect("the 0.1.0 station database opens");
    let alerts = h.list(false, 10).unwrap();
    let rooms: Vec<&str> = alerts.iter().map(|a| a.room.as_str()).collect();
    assert_eq!(rooms, ["Room 14", "Room 12"]);
    drop(h);
    let version: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);

    // And the controller itself starts on it, running that project.
    let (ok, out, err) = run(
        env!("CARGO_BIN_EXE_roomctl"),
        &["validate", d.join("projects/active.toml").to_str().unwrap()],
    )
    .await;
    assert!(ok && out.contains("Lecture hall 12"), "{out}{err}");
}

#[tokio::test]
async fn a_backup_of_the_first_releases_data_restores_with_this_one() {
    let dir = copy();
    let d = dir.path();
    let config = d.join("roomctl.toml");
    let archive = d.join("backup.tar.gz");
    roomctl::backup::create(&config, &archive, false).expect("backup");
    std::fs::remove_dir_all(d.join("projects")).unwrap();
    let restored = roomctl::backup::restore(&config, &archive).expect("restore");
    assert_eq!(restored.manifest.controller, "Lecture hall 12");
    let store = ProjectStore::new(d.join("projects"));
    assert_eq!(store.history_list().len(), 2);
}

/// The data directory the first Debian package (0.1.0-1) left on a box,
/// laid out as there: `etc/roomctl/` (the conffile with its users and the
/// station's password file), `var/lib/roomctl/` (projects and history,
/// certificate, installation id, the station's database with its alerts),
/// `var/log/roomctl/audit.log`. Made by running that package's binary as
/// installed (tests/installed_package.rs with ROOMCTL_SAVE_DATA_DIR).
fn package_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/package-0.1.0-1")
}

/// What the first package's box held, as its operators saw it.
const FIRST_PROJECT: &str = "Lecture hall 3";
const FIRST_ADMIN_PASSWORD: &str = "first admin on the box";
/// The box's host name then (one of the names its generated certificate
/// covers, `tls/names.txt`): an upgrade does not rename the box, so the
/// controller runs under it here too (in a UTS namespace of its own), and
/// the certificate must stay the one the box's clients already trust.
const FIRST_HOST_NAME: &str = "vm";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_packages_data_directory_runs_with_this_release() {
    use support::netns::{in_namespace, Loopback, VETH_CLIENT, VETH_SERVER};
    if !in_namespace(
        "the_first_packages_data_directory_runs_with_this_release",
        Loopback::VethPair,
    ) {
        return;
    }
    // The lan profile's broadcasts and multicast need a route, as on a box.
    let (ok, _, err) = run("ip", &["route", "add", "default", "dev", "v0"]).await;
    assert!(ok, "{err}");

    // The box's directories under a temporary root; the settings' paths
    // (/var/lib/roomctl, /etc/roomctl/station.password ...) moved there.
    let box_ = tempfile::tempdir().unwrap();
    let root = box_.path().to_str().unwrap().to_string();
    let (ok, out, err) = run(
        "cp",
        &["-a", &format!("{}/.", package_fixture().display()), &root],
    )
    .await;
    assert!(ok, "{out}{err}");
    let config = box_.path().join("etc/roomctl/roomctl.toml");
    let packaged = std::fs::read_to_string(&config).unwrap();
    let mut moved = packaged.clone();
    for dir in ["/etc/roomctl", "/var/lib/roomctl", "/var/log/roomctl"] {
        moved = moved.replace(dir, &format!("{root}{dir}"));
    }
    assert_ne!(
        moved, packaged,
        "the packaged settings name the box's paths"
    );
    std::fs::write(&config, moved).unwrap();
    let state = box_.path().join("var/lib/roomctl");
    let cert_before = std::fs::read(state.join("tls/cert.pem")).unwrap();
    let id_before = std::fs::read_to_string(state.join("installation-id")).unwrap();
    let audit_file = box_.path().join("var/log/roomctl/audit.log");
    let audit_before = roomctl::audit::file::tail(&audit_file, 1000).len();
    assert!(audit_before >= 3, "the fixture's audit trail");

    // Settings and users.
    let settings = Settings::load(&config, None).expect("the first package's settings load");
    let names: Vec<&str> = settings.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["admin", "station"]);

    let names = std::fs::read_to_string(state.join("tls/names.txt")).unwrap();
    assert!(
        names.lines().any(|l| l == FIRST_HOST_NAME),
        "the certificate covered the box's host name: {names}"
    );

    // The controller, as the unit starts it, on that directory, on a box
    // still called what it was.
    let mut controller = tokio::process::Command::new("unshare")
        .args([
            "--uts",
            "sh",
            "-c",
            "hostname \"$0\" && exec \"$@\"",
            FIRST_HOST_NAME,
            env!("CARGO_BIN_EXE_roomctl"),
            "--config",
            config.to_str().unwrap(),
            "serve",
        ])
        .current_dir(&state)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let page = format!("http://{VETH_SERVER}/");
    let mut seen = String::new();
    for _ in 0..300 {
        let (ok, out, _) = run("curl", &["-sS", "--interface", VETH_CLIENT, &page]).await;
        if ok {
            seen = out;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        seen.contains(FIRST_PROJECT),
        "it runs the first package's project: {seen}"
    );

    // The admin's password still works: the project comes back over FTP.
    let mut pull = tokio::process::Command::new(env!("CARGO_BIN_EXE_roomctl"))
        .args([
            "project",
            "pull",
            VETH_SERVER,
            "--user",
            "admin",
            "--password-stdin",
            "-o",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut input = pull.stdin.take().unwrap();
        input
            .write_all(format!("{FIRST_ADMIN_PASSWORD}\n").as_bytes())
            .await
            .unwrap();
    }
    let pulled = pull.wait_with_output().await.unwrap();
    assert!(
        pulled.status.success() && String::from_utf8_lossy(&pulled.stdout).contains(FIRST_PROJECT),
        "the first admin logs in and pulls the project: {}",
        String::from_utf8_lossy(&pulled.stderr)
    );
    controller.kill().await.unwrap();

    // The project's history, read forward.
    let store = ProjectStore::new(settings.project_dir(&config));
    let history = store.history_list();
    assert!(
        history
            .iter()
            .any(|e| e.name == FIRST_PROJECT && e.user == "admin" && e.action == "apply"),
        "the history has the first package's apply: {history:?}"
    );
    // The certificate and the installation's identity are the box's still.
    assert_eq!(
        std::fs::read(state.join("tls/cert.pem")).unwrap(),
        cert_before
    );
    assert_eq!(
        std::fs::read_to_string(state.join("installation-id")).unwrap(),
        id_before
    );
    // The audit trail goes on where it was.
    let audit = roomctl::audit::file::tail(&audit_file, 1000);
    assert!(audit.len() > audit_before, "{audit:?}");

    // The station's alerts: three devices down and the room offline.
    let db = state.join("station.sqlite");
    let h = History::open(&db, 1_800_000_000).expect("the first package's station database");
    let alerts = h.list(false, 100).unwrap();
    let mut kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "device_offline",
            "device_offline",
            "device_offline",
            "offline"
        ],
        "{alerts:?}"
    );
}
