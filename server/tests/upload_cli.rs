//! `roomctl project push|pull|validate|rollback HOST` against a running
//! controller (FTP through suppaftp, the console through Telnet). Loopback.

use crate::support;

use std::process::Stdio;

use support::*;
use tokio::io::AsyncWriteExt;

async fn roomctl(args: &[&str], password: &str) -> (bool, String, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roomctl"))
        .args(args)
        .env_remove("ROOMCTL_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{password}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_pull_validate_and_rollback() {
    let h = TestSettings::upload((41300, 41319));
    let running = h.start().await;
    let ftp = running.addrs.ftp.unwrap().port().to_string();
    let telnet = running.addrs.telnet.unwrap().port().to_string();
    let remote = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        v.extend(
            [
                "127.0.0.1",
                "--user",
                ADMIN,
                "--ftp-port",
                &ftp,
                "--telnet-port",
                &telnet,
                "--password-stdin",
            ]
            .map(String::from),
        );
        v
    };
    let file = h.dir.path().join("room.toml");
    std::fs::write(&file, project("Pushed room", 5)).unwrap();

    // push --apply
    let mut args = remote(&["project", "push"]);
    args.push(file.to_str().unwrap().into());
    args.push("--apply".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out, err) = roomctl(&args, ADMIN_PW).await;
    assert!(ok, "push: {out}\n{err}");
    assert!(
        out.contains("OK") && out.contains("now running \"Pushed room\""),
        "{out}"
    );
    assert_eq!(running.controller.project().project.name, "Pushed room");

    // pull (active mode, to a file)
    let pulled = h.dir.path().join("pulled.toml");
    let mut args = remote(&["project", "pull"]);
    args.extend([
        "--active".into(),
        "--output".into(),
        pulled.to_str().unwrap().into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, err) = roomctl(&args, ADMIN_PW).await;
    assert!(ok, "pull: {err}");
    assert_eq!(
        std::fs::read_to_string(&pulled).unwrap(),
        project("Pushed room", 5)
    );

    // push of a bad project: refused with line and field, nothing changes
    std::fs::write(&file, bad_project()).unwrap();
    let mut args = remote(&["project", "push"]);
    args.push(file.to_str().unwrap().into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, err) = roomctl(&args, ADMIN_PW).await;
    assert!(
        !ok && err.contains("REFUSED") && err.contains("line"),
        "{err}"
    );
    assert_eq!(running.controller.project().project.name, "Pushed room");

    // validate (nothing pending after an apply), rollback
    let args = remote(&["project", "validate"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out, _) = roomctl(&args, ADMIN_PW).await;
    assert!(ok && out.contains("no uploaded project"), "{out}");
    let args = remote(&["project", "rollback"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out, _) = roomctl(&args, ADMIN_PW).await;
    assert!(ok && out.contains("Demo meeting room"), "{out}");
    // A refused apply (nothing uploaded) is a failure with the reason.
    let apply = remote(&["project", "apply"]);
    let apply: Vec<&str> = apply.iter().map(String::as_str).collect();
    let (ok, out, err) = roomctl(&apply, ADMIN_PW).await;
    assert!(
        !ok && err.contains("refused") && err.contains("no uploaded project"),
        "{out}\n{err}"
    );

    // a wrong password is an error
    let (ok, _, err) = roomctl(&args, "not-the-password").await;
    assert!(!ok && err.contains("login"), "{err}");
    running.shutdown().await;
}

/// Defect 10b: a push refused before the controller reads it (a viewer may
/// not upload) prints its own refusal, not the report of the upload before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_push_prints_its_own_refusal() {
    let h = TestSettings::upload((41320, 41329));
    let running = h.start().await;
    let ftp = running.addrs.ftp.unwrap().port().to_string();
    let telnet = running.addrs.telnet.unwrap().port().to_string();
    let push = |user: &str, file: &std::path::Path| -> Vec<String> {
        [
            "project",
            "push",
            "127.0.0.1",
            file.to_str().unwrap(),
            "--user",
            user,
            "--ftp-port",
            &ftp,
            "--telnet-port",
            &telnet,
            "--password-stdin",
        ]
        .map(String::from)
        .to_vec()
    };
    let bad = h.dir.path().join("bad.toml");
    std::fs::write(&bad, bad_project()).unwrap();
    let good = h.dir.path().join("good.toml");
    std::fs::write(&good, project("Good", 2)).unwrap();

    // The admin's invalid upload leaves its report on the controller.
    let args = push(ADMIN, &bad);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out, err) = roomctl(&args, ADMIN_PW).await;
    assert!(!ok, "{out}{err}");
    assert!(err.contains("REFUSED") && err.contains("toggel"), "{err}");

    // The viewer's push is refused for its role, and says so.
    let args = push(VIEWER, &good);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out, err) = roomctl(&args, VIEWER_PW).await;
    assert!(!ok, "{out}{err}");
    assert!(err.contains("refused") && err.contains("550"), "{err}");
    assert!(
        !err.contains("REFUSED") && !err.contains("toggel") && !out.contains("toggel"),
        "the earlier upload's report is not this push's: {out}{err}"
    );
    running.shutdown().await;
}

/// An FTP server whose data connections are dead: it answers the login
/// and PASV, takes the data connection, and then says nothing more about
/// a transfer (no 226, no data), as a link that drops the data flow does.
async fn dead_data_server() -> std::net::SocketAddr {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let control = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = control.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = control.accept().await {
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                let data = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let port = data.local_addr().unwrap().port();
                // Data connections are taken and held, never served.
                tokio::spawn(async move {
                    let mut held = Vec::new();
                    while let Ok((s, _)) = data.accept().await {
                        held.push(s);
                    }
                });
                let _ = w.write_all(b"220 dead data\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    let reply = match verb.as_str() {
                        "USER" => "331 password\r\n".to_string(),
                        "PASS" => "230 in\r\n".to_string(),
                        "PASV" => format!(
                            "227 Entering Passive Mode (127,0,0,1,{},{})\r\n",
                            port >> 8,
                            port & 0xff
                        ),
                        "EPSV" => format!("229 Entering Extended Passive Mode (|||{port}|)\r\n"),
                        "STOR" | "RETR" | "LIST" | "NLST" => "150 go\r\n".to_string(),
                        "QUIT" => "221 bye\r\n".to_string(),
                        _ => "200 ok\r\n".to_string(),
                    };
                    if w.write_all(reply.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Issue 20, 14: `roomctl project push` gives up on a dead data
/// connection after its `--timeout`, with an error that says what to
/// check, instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_gives_up_on_a_dead_data_connection() {
    let server = dead_data_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("room.toml");
    std::fs::write(&file, project("Never arrives", 2)).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roomctl"))
        .args([
            "project",
            "push",
            "127.0.0.1",
            file.to_str().unwrap(),
            "--ftp-port",
            &server.port().to_string(),
            "--timeout",
            "2",
        ])
        .env("ROOMCTL_PASSWORD", "anything")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let waited = tokio::time::timeout(std::time::Duration::from_secs(90), child.wait()).await;
    let status = waited
        .expect("roomctl project push gave up by itself")
        .unwrap();
    let mut err = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut err)
        .await
        .unwrap();
    assert!(!status.success(), "{err}");
    assert!(
        err.contains("did not answer within 2 s") && err.contains("firewall"),
        "{err}"
    );
}

/// Issue 20, 8: `roomctl user add` writes the settings file (password
/// hashes) private to its owner; a settings file any user may change, and
/// an empty or world-writable station password file, are refused with
/// the fix in the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_with_secrets_are_private_and_checked() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("roomctl.toml");
    let config_arg = config.to_str().unwrap();
    let (ok, out, err) = roomctl(
        &[
            "--config",
            config_arg,
            "user",
            "add",
            "boss",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "a-long-password",
    )
    .await;
    assert!(ok, "{out}{err}");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the settings file with a hash is {mode:o}");

    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (ok, out, err) = roomctl(&["--config", config_arg, "user", "list"], "").await;
    assert!(
        !ok && err.contains("every user") && err.contains("chmod 600"),
        "{out}{err}"
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();

    let mut station =
        roomctl::config::Settings::defaults(roomctl::config::Profile::Development).station;
    let password_file = dir.path().join("station.pw");
    station.password_file = Some(password_file.clone());
    std::fs::write(&password_file, "").unwrap();
    std::env::remove_var("ROOMCTL_STATION_PASSWORD");
    let e = roomctl::station::read_password(&station, dir.path()).unwrap_err();
    assert!(format!("{e:#}").contains("is empty"), "{e:#}");
    std::fs::write(&password_file, "secret\n").unwrap();
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let e = roomctl::station::read_password(&station, dir.path()).unwrap_err();
    assert!(format!("{e:#}").contains("chmod 600"), "{e:#}");
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        roomctl::station::read_password(&station, dir.path()).unwrap(),
        "secret"
    );
}
