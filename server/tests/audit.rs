//! The audit trail: a real syslog receiver on loopback (a UDP socket, and a
//! TCP listener reading RFC 6587 octet-counted frames) parses the RFC 5424
//! messages of a failed Telnet login and a project apply; the file rotates
//! at its cap and is read back after a restart; a user removed from the
//! settings file is audited and cannot log in any more, without a restart.

use crate::support;

use std::time::Duration;

use controller_core::audit::{AuditEntry, AuditEvent, AuditOutcome};
use controller_core::engine::Command;
use roomctl::security::auth::Role;
use support::telnet::{command, login, read_until, send_line};
use support::*;
use syslog_rfc5424::{SyslogFacility, SyslogMessage, SyslogSeverity};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// How long the receiver waits for the messages it expects (a failure
/// guard, not a timing claim).
const PATIENCE: Duration = Duration::from_secs(30);

/// A syslog collector on loopback: every message it receives, as text.
async fn receiver(tcp: bool) -> (String, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    if tcp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("tcp://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(read_octet_counted(stream, tx));
            }
        });
        (url, rx)
    } else {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let url = format!("udp://{}", socket.local_addr().unwrap());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok((n, _)) = socket.recv_from(&mut buf).await {
                let _ = tx.send(String::from_utf8(buf[..n].to_vec()).expect("UTF-8"));
            }
        });
        (url, rx)
    }
}

/// RFC 6587 §3.4.1: `MSG-LEN SP SYSLOG-MSG`, one after the other.
async fn read_octet_counted(stream: TcpStream, tx: mpsc::UnboundedSender<String>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut len = Vec::new();
        match reader.read_until(b' ', &mut len).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let digits = std::str::from_utf8(&len[..len.len() - 1]).expect("ASCII length");
        assert!(
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
            "not an octet count: {digits:?}"
        );
        let mut message = vec![0u8; digits.parse().unwrap()];
        reader.read_exact(&mut message).await.unwrap();
        let _ = tx.send(String::from_utf8(message).expect("UTF-8"));
    }
}

/// Waits for a message whose entry matches `wanted`; the parsed message
/// and its entry.
async fn expect(
    rx: &mut mpsc::UnboundedReceiver<String>,
    wanted: impl Fn(&AuditEntry) -> bool,
) -> (SyslogMessage, AuditEntry) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let text = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("the collector gets the entry")
            .expect("the receiver runs");
        let message = syslog_rfc5424::parse_message(&text)
            .unwrap_or_else(|e| panic!("not RFC 5424 ({e}): {text:?}"));
        assert_eq!(message.version, 1, "{text}");
        assert!(message.timestamp.is_some(), "a timestamp: {text}");
        assert!(
            message.hostname.as_deref().is_some_and(|h| !h.is_empty()),
            "a host name: {text}"
        );
        assert_eq!(message.appname.as_deref(), Some("roomctl"), "{text}");
        assert_eq!(message.facility, SyslogFacility::LOG_AUTHPRIV, "{text}");
        let entry = AuditEntry::parse_line(&message.msg)
            .unwrap_or_else(|e| panic!("MSG is an audit entry ({e}): {text}"));
        assert_eq!(message.msgid.as_deref(), Some(entry.event.as_str()));
        if wanted(&entry) {
            return (message, entry);
        }
    }
}

async fn failed_login_and_apply_reach_syslog(tcp: bool) {
    let (url, mut rx) = receiver(tcp).await;
    let env = TestSettings::only(&["telnet"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .edit(|s| s.audit.syslog = url.clone())
        .in_tempdir();
    let running = env.start().await;
    let addr = running.addrs.telnet.unwrap();

    // A wrong password on the console.
    let mut s = TcpStream::connect(addr).await.unwrap();
    read_until(&mut s, "login: ").await;
    send_line(&mut s, ADMIN).await;
    read_until(&mut s, "Password: ").await;
    send_line(&mut s, "not the password").await;
    read_until(&mut s, "Login incorrect").await;
    let (message, entry) = expect(&mut rx, |e| e.event == AuditEvent::Login).await;
    assert_eq!(entry.outcome, AuditOutcome::Failed);
    assert_eq!(entry.service, "telnet");
    assert_eq!(entry.user.as_deref(), Some(ADMIN));
    assert_eq!(entry.address.as_deref(), Some("127.0.0.1"));
    assert_eq!(message.severity, SyslogSeverity::SEV_WARNING);

    // An upload, then `project apply` by the admin on the console.
    running
        .store
        .upload(
            &running.controller,
            project("Audited", 7).as_bytes(),
            "ftp:installer@127.0.0.1",
        )
        .unwrap();
    let mut console = login(addr, ADMIN, ADMIN_PW).await;
    let said = command(&mut console, "project apply").await;
    assert!(said.contains("Audited"), "{said}");
    let (_, entry) = expect(&mut rx, |e| e.event == AuditEvent::Apply).await;
    assert_eq!(entry.outcome, AuditOutcome::Ok);
    assert_eq!(entry.service, "telnet");
    assert_eq!(entry.user.as_deref(), Some(ADMIN));
    assert!(entry.detail.contains("Audited"), "{entry:?}");

    // The console shows the same trail.
    let said = command(&mut console, "audit 10").await;
    assert!(
        said.contains("login FAILED telnet user=installer"),
        "{said}"
    );
    assert!(said.contains("apply ok telnet"), "{said}");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_login_and_an_apply_reach_syslog_over_udp() {
    failed_login_and_apply_reach_syslog(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_login_and_an_apply_reach_syslog_over_tcp() {
    failed_login_and_apply_reach_syslog(true).await;
}

fn remote_press(controller: &roomctl::state::controller::Controller, n: usize) {
    for command in [
        Command::Press {
            button: "display_power".into(),
            source: format!("central:op{n}@127.0.0.1"),
        },
        Command::Release {
            button: "display_power".into(),
            source: format!("central:op{n}@127.0.0.1"),
        },
    ] {
        controller.execute(command).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_rotates_at_its_cap_and_survives_a_restart() {
    let env = TestSettings::only(&[])
        .edit(|s| {
            s.audit.max_bytes = 4096;
            s.audit.keep = 2;
        })
        .in_tempdir();
    let file = env.dir.path().join("var").join("audit.log");
    let running = env.start().await;
    // Presses from central control are audited by default.
    for n in 0..120 {
        remote_press(&running.controller, n);
    }
    // Presses from panels are not.
    for command in [
        Command::Press {
            button: "mute".into(),
            source: "panel:tablet@127.0.0.1".into(),
        },
        Command::Release {
            button: "mute".into(),
            source: "panel:tablet@127.0.0.1".into(),
        },
    ] {
        running.controller.execute(command).unwrap();
    }
    remote_press(&running.controller, 120);
    eventually(PATIENCE, "the last press is in the file", || {
        std::fs::read_to_string(&file).is_ok_and(|t| t.contains("op120"))
    })
    .await;
    running.shutdown().await;
    let rotated = |n: usize| env.dir.path().join("var").join(format!("audit.log.{n}"));
    for path in [file.clone(), rotated(1), rotated(2)] {
        let len = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .len();
        assert!(len <= 4096, "{} holds {len} bytes", path.display());
    }
    assert!(!rotated(3).exists(), "keep = 2");
    for line in std::fs::read_to_string(&file).unwrap().lines() {
        let entry = AuditEntry::parse_line(line).unwrap();
        assert_eq!(entry.event, AuditEvent::Press);
        assert_eq!(entry.service, "central", "{line}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(&entry.time).is_ok(),
            "{}",
            entry.time
        );
    }

    let all: String = [rotated(2), rotated(1), file.clone()]
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        !all.contains("\"panel\""),
        "panel presses are not audited by default"
    );

    // After a restart the trail is read back, and goes on in the same file.
    let running = env.start().await;
    let recent = running.controller.audit().recent(5);
    assert_eq!(
        recent.last().and_then(|e| e.user.as_deref()),
        Some("op120"),
        "{recent:?}"
    );
    remote_press(&running.controller, 1000);
    eventually(PATIENCE, "the new press is in the file", || {
        std::fs::read_to_string(&file).is_ok_and(|t| t.contains("op1000") && t.contains("op120"))
    })
    .await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_user_cannot_log_in_without_a_restart() {
    let env = TestSettings::only(&["telnet", "ftp"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .user(VIEWER, Role::Viewer, VIEWER_PW)
        .edit(|s| s.ftp.passive_ports = (52160, 52169))
        .in_tempdir();
    let running = env.start().await;
    let telnet = running.addrs.telnet.unwrap();
    let ftp = running.addrs.ftp.unwrap();
    let mut viewer = login(telnet, VIEWER, VIEWER_PW).await;
    // The trail names users and addresses: not for viewers.
    let said = command(&mut viewer, "audit").await;
    assert!(said.contains("needs the operator role"), "{said}");
    drop(viewer);
    drop(support::ftp::Control::login(ftp, VIEWER, VIEWER_PW).await);

    let file = env.settings_file();
    let config = file.to_str().unwrap();
    let (ok, out, err) = run(
        env!("CARGO_BIN_EXE_roomctl"),
        &["--config", config, "user", "remove", VIEWER],
    )
    .await;
    assert!(ok, "{out}{err}");

    // Telnet: refused at once.
    let mut s = TcpStream::connect(telnet).await.unwrap();
    read_until(&mut s, "login: ").await;
    send_line(&mut s, VIEWER).await;
    read_until(&mut s, "Password: ").await;
    send_line(&mut s, VIEWER_PW).await;
    read_until(&mut s, "Login incorrect").await;
    // FTP: 530.
    let mut c = support::ftp::Control::connect(ftp).await;
    let said = c.cmd(&format!("USER {VIEWER}")).await;
    assert!(said.starts_with("331"), "{said}");
    let said = c.cmd(&format!("PASS {VIEWER_PW}")).await;
    assert!(said.starts_with("530"), "{said}");
    // The admin still logs in; the change is in the audit trail.
    drop(login(telnet, ADMIN, ADMIN_PW).await);
    let removed = running
        .controller
        .audit()
        .recent(50)
        .into_iter()
        .find(|e| e.event == AuditEvent::User)
        .expect("the removal is audited");
    assert_eq!(removed.user.as_deref(), Some(VIEWER));
    assert_eq!(removed.detail, "removed");
    running.shutdown().await;
}

/// Another host: the clients of the tests below connect from it.
const OTHER_HOST: &str = "127.0.0.2";

/// `POST path` with a form `body` from [`OTHER_HOST`], with the session
/// `cookie` (may be empty) and the controller's own `Origin`.
async fn post_from_other_host(
    addr: std::net::SocketAddr,
    path: &str,
    cookie: &str,
    body: &str,
) -> (u16, String) {
    support::http::raw_from(
        Some(OTHER_HOST.parse().unwrap()),
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

/// Issue 20 item 5: a login name holding a newline, ESC and the C1 CSI
/// (what a terminal takes as the start of a control sequence) reaches the
/// trail, syslog, the file and the console escaped: no forged line, no
/// escape sequence for the reader's terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_name_cannot_forge_a_line_or_drive_a_terminal() {
    let (url, mut rx) = receiver(false).await;
    let env = TestSettings::only(&["panel", "telnet"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .edit(|s| s.audit.syslog = url.clone())
        .in_tempdir();
    let running = env.start().await;
    let panel = running.addrs.panel.unwrap();
    // "x\nFORGED login ok web user=admin ESC[2J CSI 31m"
    let name = "x%0AFORGED+login+ok+web+user%3Dadmin%1B%5B2J%C2%9B31m";
    let (status, answer) =
        post_from_other_host(panel, "/login", "", &format!("user={name}&password=nope")).await;
    assert_eq!(status, 303, "{answer}");

    let (_, entry) = expect(&mut rx, |e| e.event == AuditEvent::Login).await;
    assert_eq!(entry.outcome, AuditOutcome::Failed);
    assert_eq!(entry.address.as_deref(), Some(OTHER_HOST));
    let user = entry.user.unwrap();
    assert!(!user.chars().any(char::is_control), "{user:?}");
    assert!(user.starts_with("x\\nFORGED"), "{user:?}");

    let file = env.dir.path().join("var").join("audit.log");
    eventually(PATIENCE, "the login is in the file", || {
        std::fs::read_to_string(&file).is_ok_and(|t| t.contains("FORGED"))
    })
    .await;
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("\\u001b") && !text.contains('\u{9b}'),
        "{text:?}"
    );

    let mut console = login(running.addrs.telnet.unwrap(), ADMIN, ADMIN_PW).await;
    for said in [
        command(&mut console, "audit 10").await,
        command(&mut console, "log 50").await,
    ] {
        assert!(said.contains("FORGED"), "{said:?}");
        assert!(
            !said.contains('\u{1b}') && !said.contains('\u{9b}'),
            "{said:?}"
        );
        assert!(
            !said.lines().any(|l| l.starts_with("FORGED")),
            "a forged line: {said:?}"
        );
    }
    for line in running.controller.log().recent(50) {
        assert!(!line.chars().any(char::is_control), "{line:?}");
    }
    running.shutdown().await;
}

/// Issue 20 item 6: `roomctl serve` with the default, relative settings
/// path (`roomctl.toml` in the folder it runs in) writes the trail to
/// `var/audit.log` there, and the console says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_settings_path_still_writes_the_trail_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("roomctl.toml");
    let admin = support::settings::user(ADMIN, Role::Admin, ADMIN_PW);
    roomctl::config::users::set_user(&config, ADMIN, Role::Admin, &admin.password_hash).unwrap();
    let port = free_port();
    let mut text = std::fs::read_to_string(&config).unwrap();
    for off in [
        "panel",
        "apprimo",
        "https",
        "lookup",
        "live",
        "central",
        "extension",
        "ftp",
        "logic",
    ] {
        text.push_str(&format!("\n[{off}]\nenabled = false\n"));
    }
    text.push_str(&format!("\n[telnet]\nport = {port}\n"));
    std::fs::write(&config, text).unwrap();
    let _roomctl = tokio::process::Command::new(env!("CARGO_BIN_EXE_roomctl"))
        .current_dir(dir.path())
        .arg("serve")
        .env_remove("ROOMCTL_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let telnet: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while TcpStream::connect(telnet).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "roomctl serves");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut console =
        support::telnet::login_from(OTHER_HOST.parse().unwrap(), telnet, ADMIN, ADMIN_PW).await;
    let said = command(&mut console, "audit").await;
    let file = dir.path().canonicalize().unwrap().join("var/audit.log");
    assert!(
        said.contains(&format!("file: {};", file.display())),
        "{said}"
    );
    eventually(PATIENCE, "the console login is in the file", || {
        std::fs::read_to_string(&file).is_ok_and(|t| {
            t.lines()
                .filter_map(|l| AuditEntry::parse_line(l).ok())
                .any(|e| e.event == AuditEvent::Login && e.address.as_deref() == Some(OTHER_HOST))
        })
    })
    .await;
}

/// Issue 20 item 6: an audit file that cannot be written is said loudly at
/// start: the audit service shows failed with the reason (status board,
/// console `services`), the console's `audit` says it is not written, and
/// the trail goes on in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_file_that_cannot_be_written_is_reported_at_start() {
    let mut env = TestSettings::only(&["telnet"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .in_tempdir();
    // A file where the trail's folder should be: nothing can be created
    // below it (whoever runs the test, root included).
    let blocker = env.dir.path().join("blocker");
    std::fs::write(&blocker, "not a folder").unwrap();
    env.settings.audit.file = blocker.join("audit.log");
    let running = env.start().await;
    let audit = running.controller.status().service("audit").unwrap();
    match &audit.state {
        controller_core::view::ServiceState::Failed(why) => {
            assert!(why.contains("blocker/audit.log"), "{why}")
        }
        other => panic!("the audit service is {other:?}"),
    }
    let mut console = login(running.addrs.telnet.unwrap(), ADMIN, ADMIN_PW).await;
    let said = command(&mut console, "services").await;
    assert!(said.contains("audit") && said.contains("failed"), "{said}");
    let said = command(&mut console, "audit").await;
    assert!(said.contains("file: NOT WRITTEN: cannot write"), "{said}");
    assert!(said.contains("login ok telnet user=installer"), "{said}");
    assert!(running
        .controller
        .log()
        .recent(50)
        .iter()
        .any(|l| l.contains("service audit failed")));
    running.shutdown().await;
}

/// Issue 20 item 7: in the LAN profile's rule an admin's right password
/// over plain HTTP gets 403, and the trail (file and syslog) says failed,
/// from the client's address; the admin page's apply and rollback entries
/// carry the client's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_admin_login_is_failed_and_admin_page_changes_name_the_client() {
    let (url, mut rx) = receiver(false).await;
    let env = TestSettings::only(&["panel"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .edit(|s| {
            s.https.admin_requires_https = true;
            s.audit.syslog = url.clone();
        })
        .in_tempdir();
    let running = env.start().await;
    let panel = running.addrs.panel.unwrap();
    let (status, answer) = post_from_other_host(
        panel,
        "/login",
        "",
        &format!("user={ADMIN}&password={ADMIN_PW}"),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    let (message, entry) = expect(&mut rx, |e| e.event == AuditEvent::Login).await;
    assert_eq!(entry.outcome, AuditOutcome::Failed, "{entry:?}");
    assert_eq!(entry.user.as_deref(), Some(ADMIN));
    assert_eq!(entry.address.as_deref(), Some(OTHER_HOST));
    assert!(entry.detail.contains("HTTPS"), "{entry:?}");
    assert_eq!(message.severity, SyslogSeverity::SEV_WARNING);
    let file = env.dir.path().join("var").join("audit.log");
    eventually(PATIENCE, "the refusal is in the file", || {
        std::fs::read_to_string(&file).is_ok_and(|t| t.contains("\"event\":\"login\""))
    })
    .await;
    let line = std::fs::read_to_string(&file).unwrap();
    assert!(line.contains("\"outcome\":\"failed\""), "{line}");
    assert!(!line.contains("\"outcome\":\"ok\""), "{line}");
    running.shutdown().await;

    // Where admins may log in over plain HTTP: apply and rollback from
    // the admin page, from the other host.
    let env = TestSettings::only(&["panel"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .in_tempdir();
    let running = env.start().await;
    let panel = running.addrs.panel.unwrap();
    let (status, answer) = post_from_other_host(
        panel,
        "/login",
        "",
        &format!("user={ADMIN}&password={ADMIN_PW}"),
    )
    .await;
    assert_eq!(status, 303, "{answer}");
    let cookie = support::http::cookie_of(&answer);
    for (name, revision) in [("First", 2), ("Second", 3)] {
        running
            .store
            .upload(
                &running.controller,
                project(name, revision).as_bytes(),
                "ftp:installer@127.0.0.1",
            )
            .unwrap();
        let (status, answer) = post_from_other_host(panel, "/admin/api/apply", &cookie, "").await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, answer) = post_from_other_host(panel, "/admin/api/rollback", &cookie, "").await;
    assert_eq!(status, 200, "{answer}");
    let recent = running.controller.audit().recent(20);
    for event in [AuditEvent::Apply, AuditEvent::Rollback] {
        let entry = recent
            .iter()
            .rev()
            .find(|e| e.event == event)
            .unwrap_or_else(|| panic!("{event:?} audited: {recent:#?}"));
        assert_eq!(entry.service, "admin-page", "{entry:?}");
        assert_eq!(entry.user.as_deref(), Some(ADMIN), "{entry:?}");
        assert_eq!(entry.address.as_deref(), Some(OTHER_HOST), "{entry:?}");
    }
    running.shutdown().await;
}
