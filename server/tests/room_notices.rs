//! What the room's user meets on the panel when devices fail, on loopback
//! fake devices (`support::fake_device`) and a panel connected from
//! another address (127.0.0.2): a device that does not answer is a notice
//! in the user's words that clears itself when the device is back; a
//! source whose route failed does not stay lit; what a device can no
//! longer confirm shows as unknown; a projector's "busy" refusal is a
//! notice, and the next command is refused (not sent) while it is busy.

use crate::support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use controller_core::project::{LedMode, Value};
use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use roomctl::state::controller::Controller;
use support::fake_device::{Answer, FakeDevice};
use support::panel::{hello, recv, recv_data, send, settings, ws_connect_from, Ws};
use support::{eventually, loaded};

/// Generous bound for things that take milliseconds or a reconnect; a
/// failure, not a timing.
const PATIENCE: Duration = Duration::from_secs(30);
/// The panel's address: another one than the controller's.
const PANEL_FROM: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// The demo project with its three devices at `projector`, `matrix` and
/// `dsp`, polled every second and reconnected after one.
fn room(projector: SocketAddr, matrix: SocketAddr, dsp: SocketAddr) -> String {
    let moves = [
        ("127.0.0.1:4352", projector),
        ("127.0.0.1:4353", matrix),
        ("127.0.0.1:4354", dsp),
    ];
    support::readdress(support::RAW_DEMO, &moves)
        .replace("poll_secs = 5", "poll_secs = 1")
        .replace("poll_secs = 10", "poll_secs = 1")
        .replace("reconnect_secs = 5", "reconnect_secs = 1")
}

/// A PJLink projector as far as the demo asks it: `%1POWR ?` answers
/// `power`; `%1POWR 0` answers `off` (`ERR3` while it warms up).
fn projector(power: &'static str, off: &'static str) -> Answer {
    Arc::new(move |line| match line {
        "%1POWR ?" => vec![format!("%1POWR={power}")],
        "%1POWR 0" => vec![format!("%1POWR={off}")],
        "%1POWR 1" => vec!["%1POWR=OK".into()],
        _ => vec!["%1ERR1".into()],
    })
}

/// A device that answers every line (so it is never silent).
fn answering() -> Answer {
    Arc::new(|_| vec!["OK".into()])
}

/// The tablet panel, connected from [`PANEL_FROM`] as a browser is.
async fn tablet(addr: SocketAddr) -> Ws {
    let mut ws = ws_connect_from(PANEL_FROM, addr).await;
    let welcome = hello(&mut ws, "tablet", None).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    let ServerMessage::Snapshot { .. } = recv_data(&mut ws).await else {
        panic!("a snapshot after the welcome")
    };
    ws
}

/// Every notice the panel is sent until one with `key` and `active`
/// arrives: (key, message, active), that one last.
async fn notices_until(ws: &mut Ws, key: &str, active: bool) -> Vec<(String, String, bool)> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            match recv(ws).await {
                ServerMessage::Notice {
                    key: k,
                    message,
                    active: a,
                    ..
                } => {
                    let done = k == key && a == active;
                    seen.push((k, message, a));
                    if done {
                        return;
                    }
                }
                // A live panel answers the keep-alive, or it is let go.
                ServerMessage::Ping { seq } => send(ws, &ClientMessage::Pong { seq }).await,
                _ => {}
            }
        }
    })
    .await;
    assert!(
        found.is_ok(),
        "no notice {key:?} (active: {active}) within {PATIENCE:?}; seen: {seen:#?}"
    );
    seen
}

async fn press(ws: &mut Ws, button: &str) {
    send(
        ws,
        &ClientMessage::Press {
            button: button.into(),
        },
    )
    .await;
    send(
        ws,
        &ClientMessage::Release {
            button: button.into(),
        },
    )
    .await;
}

fn online(c: &Controller, id: &str) -> Option<bool> {
    c.status()
        .devices()
        .into_iter()
        .find(|d| d.id == id)
        .map(|d| d.online)
}

fn led(c: &Controller, button: &str) -> LedMode {
    c.snapshot().buttons[button].led.mode
}

/// What a room user must never read: addresses, OS errors, ids, the
/// developer's sentence about steps.
fn assert_in_users_words(message: &str) {
    for developer in [
        "127.0.0.1",
        "os error",
        "did not complete",
        "step",
        "\"matrix\"",
        "Connection refused",
    ] {
        assert!(
            !message.contains(developer),
            "{message:?} holds {developer:?}"
        );
    }
}

#[tokio::test]
async fn a_switcher_that_does_not_answer_is_a_notice_in_the_users_words_until_it_is_back() {
    let mut matrix = FakeDevice::switched_off(answering(), Duration::ZERO);
    let projector = FakeDevice::start(projector("0", "OK"), Duration::ZERO);
    let dsp = FakeDevice::start(answering(), Duration::ZERO);
    let text = room(projector.addr, matrix.addr, dsp.addr);
    let running = settings().start(loaded(&text)).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the matrix is known to be down", || {
        online(&c, "matrix") == Some(false)
    })
    .await;
    let mut ws = tablet(running.addrs.panel.unwrap()).await;

    // HDMI 2 pressed while the video switcher is unreachable.
    press(&mut ws, "src_hdmi2").await;
    let seen = notices_until(&mut ws, "device:matrix", true).await;
    let (_, message, _) = seen.last().unwrap();
    assert_eq!(
        message,
        "The video switcher is not responding. Check that it is switched on, or call for help."
    );
    for (_, message, _) in &seen {
        assert_in_users_words(message);
    }
    // Its route failed: HDMI 2 is neither lit nor selected.
    eventually(PATIENCE, "HDMI 2 is not lit after its route failed", || {
        let s = c.snapshot();
        s.buttons["src_hdmi2"].led.mode == LedMode::Off && !s.buttons["src_hdmi2"].latched
    })
    .await;
    // The developer's account is still in the log.
    let log = c.log().recent(500);
    assert!(
        log.iter()
            .any(|l| l.contains("matrix") && l.contains("cannot connect")),
        "the log keeps the step's failure: {log:#?}"
    );

    // The switcher comes back: the notice clears itself.
    matrix.switch_on();
    notices_until(&mut ws, "device:matrix", false).await;
    // And a press now routes and lights HDMI 2.
    press(&mut ws, "src_hdmi2").await;
    eventually(PATIENCE, "the matrix got the route", || {
        !matrix.commands("ROUTE 2 1").is_empty()
    })
    .await;
    assert_eq!(led(&c, "src_hdmi2"), LedMode::On);
    running.shutdown().await;
}

#[tokio::test]
async fn what_an_unreachable_projector_reported_is_shown_as_unknown() {
    let mut projector = FakeDevice::start(projector("1", "OK"), Duration::ZERO);
    let others = FakeDevice::start(answering(), Duration::ZERO);
    let text = room(projector.addr, others.addr, others.addr);
    let running = settings().start(loaded(&text)).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the projector reports it is on", || {
        c.snapshot().variables["projector_state"] == Value::Text("on".into())
            && led(&c, "display_power") == LedMode::On
    })
    .await;
    let mut ws = tablet(running.addrs.panel.unwrap()).await;

    projector.switch_off().await;
    notices_until(&mut ws, "device:projector", true).await;
    eventually(
        PATIENCE,
        "the display's state is unknown, its LED off",
        || {
            let s = c.snapshot();
            s.variables["projector_state"] == Value::Text("unknown".into())
                && s.buttons["display_power"].led.mode == LedMode::Off
        },
    )
    .await;

    // Back: the next poll's answer is shown again.
    projector.switch_on();
    eventually(PATIENCE, "the projector's report is shown again", || {
        c.snapshot().variables["projector_state"] == Value::Text("on".into())
    })
    .await;
    running.shutdown().await;
}

#[tokio::test]
async fn a_projector_busy_warming_up_is_a_notice_and_refuses_the_next_press() {
    // Always warming up: power state 3, and `%1POWR 0` answers ERR3.
    let projector = FakeDevice::start(projector("3", "ERR3"), Duration::ZERO);
    let others = FakeDevice::start(answering(), Duration::ZERO);
    let text = room(projector.addr, others.addr, others.addr).replace(
        "busy = 'ERR3$'",
        "busy = 'ERR3$'\nbusy_secs = 10\nwhen_busy = \"refuse\"",
    );
    let running = settings().start(loaded(&text)).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the display LED blinks: warming up", || {
        led(&c, "display_power") == LedMode::SlowBlink
    })
    .await;
    let mut ws = tablet(running.addrs.panel.unwrap()).await;

    // A second power press during warm-up: the projector refuses it.
    press(&mut ws, "display_power").await;
    let seen = notices_until(&mut ws, "busy:projector", true).await;
    assert_eq!(
        seen.last().unwrap().1,
        "The projector is warming up or cooling down. Try again in a moment."
    );
    assert_eq!(projector.commands("%1POWR 0").len(), 1);

    // Pressed again while it is busy: refused here, not sent, and said so.
    press(&mut ws, "display_power").await;
    eventually(PATIENCE, "the second press's command is refused", || {
        c.log()
            .recent(200)
            .iter()
            .any(|l| l.contains("display_off step 1 failed") && l.contains("said it is busy"))
    })
    .await;
    let seen = notices_until(&mut ws, "busy:projector", true).await;
    assert!(seen.iter().all(|(_, m, _)| !m.contains("ERR3")));
    assert_eq!(
        projector.commands("%1POWR 0").len(),
        1,
        "{:?}",
        projector.lines()
    );
    // The busy time over, the notice clears itself.
    notices_until(&mut ws, "busy:projector", false).await;
    running.shutdown().await;
}

#[tokio::test]
async fn a_press_for_a_busy_projector_is_queued_when_the_project_says_so() {
    let projector = FakeDevice::start(projector("3", "ERR3"), Duration::ZERO);
    let others = FakeDevice::start(answering(), Duration::ZERO);
    let text = room(projector.addr, others.addr, others.addr).replace(
        "busy = 'ERR3$'",
        "busy = 'ERR3$'\nbusy_secs = 10\nwhen_busy = \"queue\"",
    );
    let running = settings().start(loaded(&text)).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the display LED blinks: warming up", || {
        led(&c, "display_power") == LedMode::SlowBlink
    })
    .await;
    let mut ws = tablet(running.addrs.panel.unwrap()).await;
    press(&mut ws, "display_power").await;
    notices_until(&mut ws, "busy:projector", true).await;
    // Pressed again while busy: held back, then sent once the busy time is
    // over (and refused by the projector again, which is its business).
    press(&mut ws, "display_power").await;
    eventually(PATIENCE, "the queued command is sent", || {
        projector.commands("%1POWR 0").len() == 2
    })
    .await;
    running.shutdown().await;
}
