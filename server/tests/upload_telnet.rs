//! The Telnet console with real clients: Python's telnetlib (a client that
//! refuses every option), a character-mode client (accepts ECHO/SGA, types
//! with backspace) and nc-style bare lines. Loopback only.

use crate::support;

use std::time::Duration;

use support::telnet::{command, login, read_until, send_line};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IAC: u8 = 255;
const DO: u8 = 253;
const WILL: u8 = 251;

const TELNETLIB: &str = r#"
import sys, warnings
warnings.filterwarnings("ignore")
import telnetlib
host, port, user, pw = sys.argv[1:5]
t = telnetlib.Telnet(host, int(port), timeout=20)
t.read_until(b"login: ")
t.write(user.encode() + b"\r\n")
t.read_until(b"Password: ")
t.write(pw.encode() + b"\r\n")
t.read_until(b"roomctl> ")
for cmd in ["help", "status", "network", "frobnicate", "press", "press mute", "leds mute", "project info", "quit"]:
    t.write(cmd.encode() + b"\r\n")
    out = t.read_until(b"roomctl> " if cmd != "quit" else b"Goodbye.")
    print("=== " + cmd)
    print(out.decode(errors="replace"))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telnetlib_scripted_session() {
    let h = TestSettings::upload((41140, 41149));
    let running = h.start().await;
    let addr = running.addrs.telnet.expect("telnet is on");
    let script = h.dir.path().join("telnet.py");
    std::fs::write(&script, TELNETLIB).unwrap();
    let port = addr.port().to_string();
    let (ok, out, err) = run(
        "python3",
        &[
            script.to_str().unwrap(),
            "127.0.0.1",
            &port,
            ADMIN,
            ADMIN_PW,
        ],
    )
    .await;
    assert!(ok, "telnetlib: {out}\n{err}");
    let section = |cmd: &str| -> String {
        let start = out
            .find(&format!("=== {cmd}\n"))
            .unwrap_or_else(|| panic!("no {cmd} in {out}"));
        out[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("=== "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(section("help").contains("project validate"));
    assert!(section("status").contains("Demo meeting room"));
    let network = section("network");
    assert!(
        network.contains("ftp") && network.contains("telnet") && network.contains("tcp 127.0.0.1:"),
        "{network}"
    );
    assert!(section("frobnicate").contains("unknown command"));
    assert!(section("press").contains("usage: press BUTTON"));
    assert!(section("press mute").contains("ok"));
    assert!(section("leds mute").contains("latched"));
    // Words, not debug text.
    assert!(!section("leds mute").contains('{'));
    assert!(section("project info").contains("running"));
    assert!(out.contains("Goodbye."));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_validate_apply_rollback_from_the_console() {
    let h = TestSettings::upload((41150, 41159));
    let running = h.start().await;
    let addr = running.addrs.telnet.unwrap();
    let mut s = login(addr, ADMIN, ADMIN_PW).await;
    assert!(command(&mut s, "project validate")
        .await
        .contains("no uploaded project"));
    assert!(command(&mut s, "project apply")
        .await
        .contains("no uploaded project"));
    assert!(command(&mut s, "project rollback")
        .await
        .contains("no previous project"));

    // A bad upload is refused with its line and field; nothing changes.
    let err = running
        .store
        .upload(&running.controller, bad_project().as_bytes(), "test");
    assert!(err.is_err());
    assert!(command(&mut s, "log 3").await.contains("toggel"));

    running
        .store
        .upload(
            &running.controller,
            project("New room", 7).as_bytes(),
            "test",
        )
        .unwrap();
    assert!(command(&mut s, "project validate")
        .await
        .contains("\"New room\" (revision 7) is valid"));
    let (_, mut events) = running.controller.subscribe();
    let out = command(&mut s, "project apply").await;
    assert!(out.contains("now running \"New room\" revision 7"), "{out}");
    // Every subscriber (panels, central clients, keypads) gets the new project in one step.
    let event = events.recv().await.unwrap();
    assert!(event
        .step()
        .expect("a step")
        .step
        .changes
        .iter()
        .any(|c| matches!(c, controller_core::engine::Change::ProjectLoaded { .. })));
    assert_eq!(running.controller.project().project.name, "New room");
    assert!(command(&mut s, "project info")
        .await
        .contains("previous    \"Demo meeting room\""));
    let out = command(&mut s, "project rollback").await;
    assert!(out.contains("now running \"Demo meeting room\""), "{out}");
    assert_eq!(
        running.controller.project().project.name,
        "Demo meeting room"
    );
    assert!(command(&mut s, "project frob")
        .await
        .contains("unknown project command"));

    // A viewer may look but not apply or press.
    let mut v = login(addr, VIEWER, VIEWER_PW).await;
    assert!(command(&mut v, "project rollback")
        .await
        .contains("needs the admin role"));
    assert!(command(&mut v, "press display_power")
        .await
        .contains("operator role"));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_history_diff_and_restore_from_the_console() {
    let h = TestSettings::upload((43510, 43519));
    let running = h.start().await;
    let addr = running.addrs.telnet.unwrap();
    let mut s = login(addr, ADMIN, ADMIN_PW).await;
    assert!(command(&mut s, "project history")
        .await
        .contains("no project has been applied yet"));
    for (name, rev) in [("First room", 2), ("Second room", 3)] {
        running
            .store
            .upload(
                &running.controller,
                project(name, rev).as_bytes(),
                "ftp:installer@127.0.0.1",
            )
            .unwrap();
        assert!(command(&mut s, "project apply").await.contains(name));
    }
    let out = command(&mut s, "project history").await;
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("#2 ") && lines[0].contains("telnet") && lines[0].contains(ADMIN),
        "{out}"
    );
    assert!(lines[0].contains("\"Second room\" revision 3"), "{out}");
    assert!(
        lines[1].starts_with("#1 ") && lines[1].contains("\"First room\""),
        "{out}"
    );

    let out = command(&mut s, "project diff 1 2").await;
    assert!(
        out.contains("* project renamed from \"First room\" to \"Second room\""),
        "{out}"
    );
    assert!(out.contains("* revision 2 → 3"), "{out}");
    assert!(
        out.contains("--- #1") && out.contains("+name = \"Second room\""),
        "{out}"
    );
    assert!(command(&mut s, "project diff 1 99")
        .await
        .contains("no project \"99\" in the history"));

    let mut v = login(addr, VIEWER, VIEWER_PW).await;
    assert!(command(&mut v, "project restore 1")
        .await
        .contains("needs the admin role"));
    let out = command(&mut s, "project restore 1").await;
    assert!(
        out.contains("\"First room\" revision 2 is now the uploaded project"),
        "{out}"
    );
    assert_eq!(running.controller.project().project.name, "Second room");
    let out = command(&mut s, "project diff running pending").await;
    assert!(out.contains("-name = \"Second room\""), "{out}");
    assert!(command(&mut s, "project apply")
        .await
        .contains("First room"));
    assert!(command(&mut s, "project history").await.contains("#3 "));
    // The history is on disk, next to the store.
    assert!(h.project_dir().join("history/000003.json").is_file());
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn character_mode_echo_backspace_and_bad_login() {
    let h = TestSettings::upload((41160, 41169));
    let running = h.start().await;
    let addr = running.addrs.telnet.unwrap();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut first = [0u8; 3];
    s.read_exact(&mut first).await.unwrap();
    assert_eq!(first, [IAC, WILL, 1], "server offers ECHO first");
    read_until(&mut s, "login: ").await;
    // Like `telnet` and PuTTY: accept the server's echo, character mode.
    s.write_all(&[IAC, DO, 1, IAC, DO, 3, IAC, WILL, 3])
        .await
        .unwrap();
    // Wrong password first.
    s.write_all(format!("{ADMIN}\r\0").as_bytes())
        .await
        .unwrap();
    read_until(&mut s, "Password: ").await;
    s.write_all(b"nope\r\n").await.unwrap();
    let out = read_until(&mut s, "login: ").await;
    assert!(
        out.contains("****") && out.contains("Login incorrect"),
        "{out:?}"
    );
    // Typed with a mistake and DEL (PuTTY's backspace).
    s.write_all(format!("{ADMIN}x\x7f\r\n").as_bytes())
        .await
        .unwrap();
    let out = read_until(&mut s, "Password: ").await;
    assert!(out.contains("x\x08 \x08"), "backspace echo: {out:?}");
    s.write_all(format!("{ADMIN_PW}\r\n").as_bytes())
        .await
        .unwrap();
    read_until(&mut s, "roomctl> ").await;
    s.write_all(b"stauts\x08\x08\x08tus\r\n").await.unwrap();
    let out = read_until(&mut s, "roomctl> ").await;
    assert!(out.contains("Demo meeting room"), "{out:?}");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwd_cap_allow_list_and_idle_timeout() {
    let mut h = TestSettings::upload((41170, 41179));
    h.settings.telnet.max_connections = 1;
    h.settings.telnet.idle_timeout_secs = 2;
    let running = h.start().await;
    let addr = running.addrs.telnet.unwrap();

    let mut s = login(addr, VIEWER, VIEWER_PW).await;
    // The cap: a second session is turned away, the first is unharmed.
    let mut second = TcpStream::connect(addr).await.unwrap();
    let mut buf = String::new();
    second.read_to_string(&mut buf).await.unwrap();
    assert!(buf.contains("Too many console sessions"), "{buf}");

    send_line(&mut s, "passwd").await;
    read_until(&mut s, "Current password: ").await;
    send_line(&mut s, VIEWER_PW).await;
    read_until(&mut s, "New password: ").await;
    send_line(&mut s, "a-new-secret-2").await;
    read_until(&mut s, "Again: ").await;
    send_line(&mut s, "a-new-secret-2").await;
    let out = read_until(&mut s, "roomctl> ").await;
    assert!(out.contains("password changed"), "{out}");
    assert!(running
        .controller
        .users()
        .verify(VIEWER, "a-new-secret-2")
        .is_some());
    assert!(running
        .controller
        .users()
        .verify(VIEWER, VIEWER_PW)
        .is_none());
    let file = roomctl::config::Settings::load(&h.settings_file(), None).unwrap();
    assert!(roomctl::security::auth::UserStore::new(file.users)
        .verify(VIEWER, "a-new-secret-2")
        .is_some());

    // Idle: the session is closed by the server.
    let out = read_until(&mut s, "Idle for too long").await;
    assert!(out.contains("goodbye"));
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut rest))
        .await
        .expect("closed");
    // The slot is free again.
    let mut s = login(addr, VIEWER, "a-new-secret-2").await;
    assert!(command(&mut s, "help").await.contains("quit"));
    running.shutdown().await;

    // Allow-list: 127.0.0.1 not allowed.
    let mut h = TestSettings::upload((41180, 41189));
    h.settings.telnet.allow = roomctl::security::access::AllowList::parse(&["10.0.0.0/8"]).unwrap();
    let running = h.start().await;
    let mut s = TcpStream::connect(running.addrs.telnet.unwrap())
        .await
        .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    assert!(buf.contains("allow-list"), "{buf}");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_admin_user_means_ftp_and_telnet_are_off() {
    let mut h = TestSettings::upload((41190, 41199));
    h.settings
        .users
        .retain(|u| u.role != roomctl::security::auth::Role::Admin);
    let running = h.start().await;
    assert!(running.addrs.telnet.is_none() && running.addrs.ftp.is_none());
    let ftp = running.controller.status().service("ftp").unwrap();
    assert!(ftp.purpose.contains("admin user"), "{}", ftp.purpose);
    running.shutdown().await;
}

/// Issue 20, 4: `project diff` and `project history` on the console show a
/// viewer no panel PIN (secrets go only to admins); an admin still sees
/// what changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_no_pins_in_project_diff_or_history() {
    let h = TestSettings::upload((43520, 43529));
    let running = h.start().await;
    let addr = running.addrs.telnet.unwrap();
    let with_pin = |name: &str, rev: u32, pin: &str| {
        project(name, rev).replacen("[[panels]]\n", &format!("[[panels]]\npin = \"{pin}\"\n"), 1)
    };
    for (name, rev, pin) in [("First room", 2, "482913"), ("Second room", 3, "730546")] {
        running
            .store
            .upload(
                &running.controller,
                with_pin(name, rev, pin).as_bytes(),
                "ftp:installer@127.0.0.1",
            )
            .unwrap();
        running.store.apply(&running.controller, "test").unwrap();
    }
    let mut v =
        support::telnet::login_from(OTHER_ADDRESS.parse().unwrap(), addr, VIEWER, VIEWER_PW).await;
    for cmd in [
        "project diff 1 2",
        "project diff 1 running",
        "project history",
    ] {
        let out = command(&mut v, cmd).await;
        for pin in ["482913", "730546"] {
            assert!(
                !out.contains(pin),
                "a viewer read a PIN with `{cmd}`: {out}"
            );
        }
    }
    assert!(command(&mut v, "project diff 1 2")
        .await
        .contains("+name = \"Second room\""));
    let mut a =
        support::telnet::login_from(OTHER_ADDRESS.parse().unwrap(), addr, ADMIN, ADMIN_PW).await;
    let out = command(&mut a, "project diff 1 2").await;
    assert!(out.contains("730546") && out.contains("482913"), "{out}");
    running.shutdown().await;
}
