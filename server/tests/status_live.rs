//! The status page's live channel (`/status/live`): the page opens it once
//! and the controller sends the status report again when something on it
//! changes, here a device going offline; the page never asks again. Only a
//! login that may see the status page may open it, and a login that ends
//! closes it with the reason.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use controller_core::view::StatusReport;
use controller_core::Command;
use futures::StreamExt;
use roomctl::security::auth::Role;
use support::fake_device::{Answer, FakeDevice};
use support::http::{cookie_of, post_form, post_text};
use support::panel::{settings, ws_connect_at, Ws};
use support::{eventually, loaded};
use tokio_tungstenite::tungstenite::Message;

/// Generous bound for things that take milliseconds or a reconnect; a
/// failure, not a timing.
const PATIENCE: Duration = Duration::from_secs(30);

/// A PJLink projector that is on.
fn projector() -> Answer {
    Arc::new(|line| match line {
        "%1POWR ?" => vec!["%1POWR=1".into()],
        _ => vec!["%1POWR=OK".into()],
    })
}

fn answering() -> Answer {
    Arc::new(|_| vec!["OK".into()])
}

/// The demo's devices at the fake ones, polled every second.
fn room(projector: &FakeDevice, others: &FakeDevice) -> String {
    support::RAW_DEMO
        .replace("127.0.0.1:4352", &projector.addr.to_string())
        .replace("127.0.0.1:4353", &others.addr.to_string())
        .replace("127.0.0.1:4354", &others.addr.to_string())
        .replace("poll_secs = 5", "poll_secs = 1")
        .replace("poll_secs = 10", "poll_secs = 1")
        .replace("reconnect_secs = 5", "reconnect_secs = 1")
}

/// The next message on the channel: a report, or the close frame's code
/// and reason.
async fn next(ws: &mut Ws) -> Result<StatusReport, (u16, String)> {
    loop {
        let message = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("the status channel says something")
            .expect("the status channel is open")
            .expect("a message");
        match message {
            Message::Text(json) => return Ok(serde_json::from_str(&json).expect("a status report")),
            Message::Close(frame) => {
                let frame = frame.expect("a close frame with a reason");
                return Err((frame.code.into(), frame.reason.to_string()));
            }
            _ => continue,
        }
    }
}

fn projector_online(report: &StatusReport) -> Option<bool> {
    report
        .devices
        .iter()
        .find(|d| d.id == "projector")
        .map(|d| d.online)
}

/// A press and release of `button`, as a central-control client makes it.
fn press(c: &roomctl::state::controller::Controller, button: &str) {
    for command in [
        Command::Press {
            button: button.into(),
            source: "central:test@127.0.0.1".into(),
        },
        Command::Release {
            button: button.into(),
            source: "central:test@127.0.0.1".into(),
        },
    ] {
        c.execute(command).expect("the demo has the button");
    }
}

async fn login(addr: std::net::SocketAddr, user: &str) -> String {
    let body = format!("user={user}&password=correct+horse+battery&next=%2Fstatus");
    let (_, answer) = post_form(addr, "/login", &body).await;
    cookie_of(&answer)
}

#[tokio::test]
async fn a_device_going_offline_reaches_an_open_status_page() {
    let mut projector = FakeDevice::start(projector(), Duration::ZERO);
    let others = FakeDevice::start(answering(), Duration::ZERO);
    let running = settings()
        .user("desk", Role::Viewer, "correct horse battery")
        .start(loaded(&room(&projector, &others)))
        .await;
    let c = running.controller.clone();
    let addr = running.addrs.panel.unwrap();
    eventually(PATIENCE, "the projector is online", || {
        c.status()
            .devices()
            .iter()
            .any(|d| d.id == "projector" && d.online)
    })
    .await;

    // Without a login the channel does not open.
    assert!(ws_connect_at(addr, "/status/live", "").await.is_err());

    let mut page = ws_connect_at(addr, "/status/live", &login(addr, "desk").await)
        .await
        .expect("a viewer may follow the status");
    let first = next(&mut page).await.expect("the first report");
    assert_eq!(projector_online(&first), Some(true));

    // The projector loses power: the page is told, unasked.
    projector.switch_off().await;
    loop {
        let report = next(&mut page).await.expect("a report");
        if projector_online(&report) == Some(false) {
            break;
        }
    }
    running.shutdown().await;
}

#[tokio::test]
async fn a_press_reaches_the_page_and_a_logout_closes_it_with_the_reason() {
    let running = settings()
        .user("ada", Role::Admin, "correct horse battery")
        .start_demo()
        .await;
    let c = running.controller.clone();
    let addr = running.addrs.panel.unwrap();
    let cookie = login(addr, "ada").await;
    let mut page = ws_connect_at(addr, "/status/live", &cookie)
        .await
        .expect("an admin may follow the status");
    let first = next(&mut page).await.expect("the first report");

    // A press is a new engine revision on the page.
    press(&c, "mute");
    loop {
        let report = next(&mut page).await.expect("a report");
        if report.engine_revision > first.engine_revision {
            break;
        }
    }

    // Logged out: the next change closes the channel, saying why.
    let (status, _) = post_text(addr, "/logout", &cookie, "").await;
    assert!(status < 400, "logout answered {status}");
    press(&c, "mute");
    loop {
        match next(&mut page).await {
            Ok(_) => continue,
            Err((code, reason)) => {
                assert_eq!(code, 4001);
                assert!(reason.contains("Log in"), "{reason}");
                break;
            }
        }
    }
    running.shutdown().await;
}
