//! Upgrades keep everything: `tests/fixtures/data-0.1.0/` is a data
//! directory as roomctl 0.1.0 (the first packaged release) leaves it, before
//! any stored format carried a version: settings with users, projects with
//! history, the audit trail and the station's database. Every later
//! release must start on it and find every project, user, history entry
//! and alert; this test runs it with the current one.

mod support;

use std::path::{Path, PathBuf};

use roomctl::config::Settings;
use roomctl::project_store::ProjectStore;
use roomctl::station::history::History;
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
