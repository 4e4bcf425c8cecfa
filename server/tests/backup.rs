//! `roomctl backup` and `roomctl restore` as an installer runs them (the
//! real binary on a data directory laid out as a controller keeps it):
//! everything comes back; a corrupt, foreign, newer or invalid archive and
//! a disk that fills up during the restore change nothing; and the admin
//! page's API does the same for a logged-in admin.

use crate::support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use controller_core::fleet::AlertRecord;
use controller_core::project::DEMO_PROJECT_TOML;
use roomctl::security::auth::Role;
use roomctl::station::history::History;
use support::{project, run, TestSettings};

const ROOMCTL: &str = env!("CARGO_BIN_EXE_roomctl");

/// A controller's data directory: settings with two users, projects with
/// history (entries written before they carried a format), a generated
/// certificate and a station database with one alert.
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let users = [
        support::settings::user("admin", Role::Admin, "admin words 1"),
        support::settings::user("guest", Role::Viewer, "guest words 1"),
    ];
    let mut text = String::from(
        "[identity]\nname = \"Room 12\"\n\n[project]\ndir = \"projects\"\n\n[station]\ndatabase = \"var/station.sqlite\"\n\n[audit]\nfile = \"audit.log\"\n",
    );
    for u in users {
        text.push_str(&format!(
            "\n[[users]]\nname = \"{}\"\nrole = \"{}\"\npassword_hash = \"{}\"\n",
            u.name, u.role, u.password_hash
        ));
    }
    std::fs::write(d.join("roomctl.toml"), text).unwrap();
    let projects = d.join("projects");
    std::fs::create_dir_all(projects.join("history")).unwrap();
    std::fs::write(projects.join("active.toml"), project("Lecture hall", 7)).unwrap();
    std::fs::write(projects.join("previous.toml"), DEMO_PROJECT_TOML).unwrap();
    for (id, name, rev) in [(1, "Demo", 1), (2, "Lecture hall", 7)] {
        let text = if id == 1 {
            DEMO_PROJECT_TOML.to_string()
        } else {
            project(name, rev)
        };
        std::fs::write(projects.join("history").join(format!("{id:06}.toml")), text).unwrap();
        // As the first release wrote them: no `format`.
        std::fs::write(
            projects.join("history").join(format!("{id:06}.json")),
            format!(
                "{{\"id\":{id},\"time\":1700000000,\"user\":\"admin\",\"via\":\"web\",\"action\":\"apply\",\"name\":\"{name}\",\"revision\":{rev}}}"
            ),
        )
        .unwrap();
    }
    let tls = d.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    std::fs::write(tls.join("cert.pem"), "CERTIFICATE of Room 12\n").unwrap();
    std::fs::write(tls.join("key.pem"), "KEY of Room 12\n").unwrap();
    std::fs::write(tls.join("names.txt"), "room-12\nlocalhost\n").unwrap();
    let history = History::open(&d.join("var/station.sqlite"), 1_700_000_000).unwrap();
    history
        .insert(&AlertRecord {
            id: 0,
            room_key: "r1".into(),
            room: "Room 12".into(),
            kind: "offline".into(),
            detail: "no answer on 5009".into(),
            raised_at: 1_700_000_100,
            acked_by: "ops".into(),
            acked_at: 1_700_000_200,
            cleared_at: 1_700_000_300,
        })
        .unwrap();
    drop(history);
    dir
}

/// Every file under `dir` (but the audit trail, which a restore appends
/// to) with its bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.to_string_lossy().contains("audit.log") {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

async fn roomctl(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let config = dir.join("roomctl.toml");
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    run(ROOMCTL, &all).await
}

fn alerts(dir: &Path) -> Vec<AlertRecord> {
    History::open(&dir.join("var/station.sqlite"), 1_700_000_400)
        .unwrap()
        .list(false, 100)
        .unwrap()
}

#[tokio::test]
async fn backup_and_restore_bring_everything_back() {
    let dir = data_dir();
    let d = dir.path();
    let archive = d.join("../room12-backup.tar.gz");
    let archive = std::path::absolute(archive).unwrap();
    let (ok, out, err) = roomctl(d, &["backup", archive.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("backup of \"Room 12\""), "{out}");
    let before = contents(d);
    let alerts_before = alerts(d);

    // Everything goes: users, projects, history, the database, the certificate.
    std::fs::write(d.join("roomctl.toml"), "[identity]\nname = \"wiped\"\n").unwrap();
    std::fs::remove_dir_all(d.join("projects")).unwrap();
    std::fs::remove_file(d.join("var/station.sqlite")).unwrap();
    std::fs::write(d.join("tls/cert.pem"), "another certificate\n").unwrap();

    let (ok, out, err) = roomctl(d, &["restore", archive.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("restored \"Room 12\""), "{out}");
    assert!(out.contains("own certificate was kept"), "{out}");
    let after = contents(d);
    for (path, bytes) in &before {
        if path.starts_with("tls") || path.starts_with("var") {
            continue;
        }
        assert_eq!(after.get(path), Some(bytes), "{} differs", path.display());
    }
    // Without its key in the archive, the certificate stays the box's own.
    assert_eq!(after[Path::new("tls/cert.pem")], b"another certificate\n");
    assert_eq!(alerts(d), alerts_before);
    let (ok, users, _) = roomctl(d, &["user", "list"]).await;
    assert!(
        ok && users.contains("admin") && users.contains("guest"),
        "{users}"
    );
    // No staging left behind.
    assert!(
        !after
            .keys()
            .any(|p| p.to_string_lossy().contains(".restore")),
        "{:?}",
        after.keys()
    );
    let audit = std::fs::read_to_string(d.join("audit.log")).unwrap();
    assert!(audit.contains("\"event\":\"backup\""), "{audit}");
    assert!(audit.contains("\"event\":\"restore\""), "{audit}");

    // With the private key asked for, the certificate comes back too.
    let (ok, out, err) = roomctl(
        d,
        &["backup", "--include-private-key", archive.to_str().unwrap()],
    )
    .await;
    assert!(ok && out.contains("private key"), "{out}{err}");
    std::fs::remove_dir_all(d.join("tls")).unwrap();
    let (ok, out, err) = roomctl(d, &["restore", archive.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    assert_eq!(
        std::fs::read(d.join("tls/key.pem")).unwrap(),
        b"KEY of Room 12\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.join("tls/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the key is readable by others: {mode:o}");
    std::fs::remove_file(&archive).unwrap();
}

/// A gzip-compressed tar of `files` (name, bytes), in that order.
fn tar_gz(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (name, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // The name as given, `..` included (the tar crate refuses to write
        // such a path; a hostile archive has one all the same).
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        tar.append(&h, &bytes[..]).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn manifest(version: u32, files: &[(&str, usize)]) -> Vec<u8> {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|(p, n)| serde_json::json!({"path": p, "bytes": n}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "format": "roomctl-backup", "version": version, "roomctl": "9.0.0",
        "controller": "Room 12", "created": 1, "private_key": false, "files": files,
    }))
    .unwrap()
}

#[tokio::test]
async fn a_bad_archive_is_refused_and_changes_nothing() {
    let dir = data_dir();
    let d = dir.path();
    let good = d.join("../good.tar.gz");
    let (ok, _, err) = roomctl(d, &["backup", good.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    let good_bytes = std::fs::read(&good).unwrap();
    std::fs::remove_file(&good).unwrap();
    let before = contents(d);
    let bad_project = b"[project]\nname = \"x\"\n[[buttons]]\nid = 3\n".to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not an archive",
            b"hello, this is not gzip".to_vec(),
            "is not a roomctl backup",
        ),
        (
            "a foreign archive",
            tar_gz(&[("etc/passwd", b"root:x:0:0".to_vec())]),
            "is not a roomctl backup",
        ),
        (
            "cut short",
            good_bytes[..good_bytes.len() / 2].to_vec(),
            "damaged",
        ),
        (
            "from a newer release",
            tar_gz(&[("manifest.json", manifest(2, &[]))]),
            "upgrade roomctl first",
        ),
        (
            "an invalid project",
            tar_gz(&[
                (
                    "manifest.json",
                    manifest(1, &[("project/active.toml", bad_project.len())]),
                ),
                ("project/active.toml", bad_project.clone()),
            ]),
            "project active.toml is not valid",
        ),
        (
            "a path outside",
            tar_gz(&[
                (
                    "manifest.json",
                    manifest(1, &[("project/../../evil.toml", 3)]),
                ),
                ("project/../../evil.toml", b"bad".to_vec()),
            ]),
            "unknown file",
        ),
    ];
    for (what, bytes, expected) in cases {
        let file = d.join("../bad.tar.gz");
        std::fs::File::create(&file)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        let (ok, out, err) = roomctl(d, &["restore", file.to_str().unwrap()]).await;
        assert!(!ok, "{what}: restored: {out}");
        assert!(err.contains(expected), "{what}: {err}");
        assert!(err.contains("nothing was changed"), "{what}: {err}");
        assert_eq!(contents(d), before, "{what}: the data directory changed");
        std::fs::remove_file(&file).unwrap();
    }
}

#[tokio::test]
async fn a_disk_that_fills_up_during_a_restore_changes_nothing() {
    // The data directory on a 512 KiB tmpfs in a mount namespace of its
    // own; the archive (with a station database of several MB) elsewhere.
    let dir = data_dir();
    let d = dir.path();
    {
        let history = History::open(&d.join("var/station.sqlite"), 1_700_000_000).unwrap();
        let records: Vec<_> = (0..40_000)
            .map(|i| roomctl::station::history::UsageRecord {
                room: format!("room {i}"),
                building: "main building, east wing".into(),
                at: 1_700_000_000 + i,
                kind: "press".into(),
                subject: format!("button number {i}"),
            })
            .collect();
        history.insert_usage(&records).unwrap();
    }
    let outside = tempfile::tempdir().unwrap();
    let archive = outside.path().join("big.tar.gz");
    let (ok, _, err) = roomctl(d, &["backup", archive.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    // The small copy that fits on the tmpfs: the same, with a small database.
    let small = data_dir();
    let seed = small.path();
    let mnt = outside.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let script = format!(
        "set -e; mount -t tmpfs -o size=512k tmpfs {mnt}; cp -a {seed}/. {mnt}/; \
         sums() {{ cd {mnt} && find . -type f ! -name 'audit.log*' | sort | xargs sha256sum; find . ! -name 'audit.log*' | sort; }}; \
         sums > {out}/before; \
         set +e; {roomctl} --config {mnt}/roomctl.toml restore {archive} 2> {out}/err; echo $? > {out}/rc; set -e; \
         sums > {out}/after; df -k {mnt} > {out}/df",
        mnt = mnt.display(),
        seed = seed.display(),
        out = outside.path().display(),
        roomctl = ROOMCTL,
        archive = archive.display(),
    );
    let (ok, out, err) = run("unshare", &["-m", "sh", "-c", &script]).await;
    assert!(ok, "the mount namespace test could not run: {out}{err}");
    let read = |f: &str| std::fs::read_to_string(outside.path().join(f)).unwrap();
    let rc = read("rc");
    let stderr = read("err");
    assert_ne!(rc.trim(), "0", "restored on a full disk: {stderr}");
    assert!(stderr.contains("no space left"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(read("before"), read("after"), "{stderr}\n{}", read("df"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_page_backs_up_and_restores_while_the_controller_runs() {
    let mut h = TestSettings::upload((41340, 41349));
    h.settings.panel.enabled = true;
    // The settings file says where the projects are, as a real one does.
    let file = h.settings_file();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("[project]\ndir = \"project\"\n{text}")).unwrap();
    let running = h.start().await;
    let store = running.store.clone();
    store
        .upload(&running.controller, project("Before", 1).as_bytes(), "test")
        .unwrap();
    store.apply(&running.controller, "test").unwrap();
    let base = format!("http://{}", running.addrs.panel.unwrap());
    let jar = h.dir.path().join("cookies");
    let archive = h.dir.path().join("download.tar.gz");
    let curl = |args: &[&str]| {
        let mut all: Vec<String> = [
            "-sS",
            "-b",
            jar.to_str().unwrap(),
            "-c",
            jar.to_str().unwrap(),
            "-H",
            &format!("Origin: {base}"),
            "-w",
            "\nHTTP %{http_code}\n",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        all.extend(args.iter().map(|s| s.to_string()));
        async move {
            let args: Vec<&str> = all.iter().map(String::as_str).collect();
            let (ok, out, err) = run("curl", &args).await;
            assert!(ok, "curl: {err}");
            out
        }
    };
    let url = |p: &str| format!("{base}{p}");
    // Not without an admin's login.
    let out = curl(&["-o", archive.to_str().unwrap(), &url("/admin/api/backup")]).await;
    assert!(out.contains("HTTP 401"), "{out}");
    curl(&[
        "-d",
        &format!(
            "user={}&password={}&next=/admin",
            support::ADMIN,
            support::ADMIN_PW
        ),
        &url("/login"),
    ])
    .await;
    let out = curl(&["-o", archive.to_str().unwrap(), &url("/admin/api/backup")]).await;
    assert!(out.contains("HTTP 200"), "{out}");

    store
        .upload(&running.controller, project("After", 2).as_bytes(), "test")
        .unwrap();
    store.apply(&running.controller, "test").unwrap();
    assert_eq!(running.controller.project().project.name, "After");

    // A foreign archive is refused with our words; the project stays.
    let junk = h.dir.path().join("junk.tar.gz");
    std::fs::write(&junk, b"not an archive").unwrap();
    let out = curl(&[
        "--data-binary",
        &format!("@{}", junk.display()),
        "-H",
        "Content-Type: application/gzip",
        &url("/admin/api/restore"),
    ])
    .await;
    assert!(
        out.contains("HTTP 422") && out.contains("not a roomctl backup"),
        "{out}"
    );
    assert_eq!(running.controller.project().project.name, "After");

    let out = curl(&[
        "--data-binary",
        &format!("@{}", archive.display()),
        "-H",
        "Content-Type: application/gzip",
        &url("/admin/api/restore"),
    ])
    .await;
    assert!(
        out.contains("HTTP 200") && out.contains("Restored"),
        "{out}"
    );
    assert_eq!(running.controller.project().project.name, "Before");
    let audit: Vec<String> = running
        .controller
        .audit()
        .recent(20)
        .iter()
        .map(|e| e.event.as_str().to_string())
        .collect();
    assert!(audit.contains(&"backup".to_string()), "{audit:?}");
    assert!(audit.contains(&"restore".to_string()), "{audit:?}");
    running.shutdown().await;
}
