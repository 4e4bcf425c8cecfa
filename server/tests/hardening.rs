//! Hardening against outside clients: brute force, forged cross-site
//! requests, idle sockets, and the defects an outside review found.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use controller_core::project::demo_project;
use controller_core::protocol::panel::{ErrorCode, ServerMessage};
use roomctl::project_store::LoadedProject;
use support::ftp::Control;
use support::panel::{self, hello, ws_connect_from};
use support::{TestSettings, ADMIN, ADMIN_PW};

const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_password_guessing_backs_off() {
    let env = TestSettings::upload((52100, 52110));
    let running = env.start().await;
    let addr = running.addrs.ftp.unwrap();
    let mut c = Control::connect(addr).await;
    for i in 0..30 {
        let r = c.cmd(&format!("USER {ADMIN}")).await;
        assert!(r.starts_with("331"), "USER {i}: {r}");
        let r = c.cmd("PASS wrong-guess").await;
        assert!(r.starts_with("530"), "PASS {i}: {r}");
    }
    // Right after the guesses, the right password is not even checked.
    let r = c.cmd(&format!("USER {ADMIN}")).await;
    assert!(r.starts_with("331"), "{r}");
    let r = c.cmd(&format!("PASS {ADMIN_PW}")).await;
    assert!(
        r.starts_with("530"),
        "the password is tried during back-off: {r}"
    );
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panel_pin_guessing_backs_off_per_address() {
    let mut project = demo_project().clone();
    project.panels[0].pin = Some("2468".into());
    let loaded = LoadedProject {
        project: Arc::new(project),
        source: String::new(),
        origin: "test".into(),
    };
    let running = panel::settings().start(loaded).await;
    let addr = running.addrs.panel.unwrap();
    let mut backed_off = 0;
    for guess in 0..50 {
        let mut ws = ws_connect_from(ATTACKER, addr).await;
        let reply = hello(&mut ws, "tablet", Some(&format!("{guess:04}"))).await;
        let ServerMessage::Error { code, message } = reply else {
            panic!("guess {guess} was let in: {reply:?}")
        };
        assert_eq!(code, ErrorCode::WrongPin);
        if message.contains("too many") {
            backed_off += 1;
        }
    }
    assert!(
        backed_off >= 40,
        "only {backed_off} of 50 quick guesses met the back-off"
    );
    // The right PIN from the guessing address waits too ...
    let mut ws = ws_connect_from(ATTACKER, addr).await;
    let reply = hello(&mut ws, "tablet", Some("2468")).await;
    assert!(
        matches!(&reply, ServerMessage::Error { message, .. } if message.contains("too many")),
        "{reply:?}"
    );
    // ... while another address is not held back.
    let mut ws = ws_connect_from(OTHER, addr).await;
    let reply = hello(&mut ws, "tablet", Some("2468")).await;
    assert!(matches!(reply, ServerMessage::Welcome { .. }), "{reply:?}");
    running.shutdown().await;
}
