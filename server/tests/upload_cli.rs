//! `roomctl project push|pull|validate|rollback HOST` against a running
//! controller (FTP through suppaftp, the console through Telnet). Loopback.

mod support;

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
