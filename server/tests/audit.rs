//! The audit trail: a real syslog receiver on loopback (a UDP socket, and a
//! TCP listener reading RFC 6587 octet-counted frames) parses the RFC 5424
//! messages of a failed Telnet login and a project apply; the file rotates
//! at its cap and is read back after a restart; a user removed from the
//! settings file is audited and cannot log in any more, without a restart.

mod support;

use std::time::Duration;

use controller_core::audit::{AuditEntry, AuditEvent, AuditOutcome};
use controller_core::engine::Command;
use roomctl::auth::Role;
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

fn remote_press(controller: &roomctl::controller::Controller, n: usize) {
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
