//! Every key of the built-in demo does what it says: pressed on a panel
//! (from 127.0.0.2, as a tablet on the LAN would) with the simulated
//! projector, matrix and DSP running, each one sends a command to one of
//! them. A key added to the demo without device traffic fails here. Then
//! the Mute key and the volume fader's mute are checked to be one state,
//! and the volume keys to move the DSP and the fader. Loopback only.

mod support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use controller_core::project::{LedMode, Project, DEMO_PROJECT_TOML};
use controller_core::protocol::panel::ClientMessage;
use roomctl::controller::Controller;
use roomctl::simulator::{Simulator, SimulatorConfig};
use support::panel::{hello, send, ws_connect_from, Ws};
use support::{eventually, loaded, TestSettings};

/// Generous bound for things that take milliseconds; a failure, not a timing.
const PATIENCE: Duration = Duration::from_secs(20);

const CLIENT: &str = "127.0.0.2";

fn online(c: &Controller, id: &str) -> bool {
    c.status()
        .devices()
        .into_iter()
        .any(|d| d.id == id && d.online)
}

/// The first panel of `project` that places `button` on a page.
fn panel_of<'a>(project: &'a Project, button: &str) -> &'a str {
    project
        .panels
        .iter()
        .find(|p| {
            p.pages
                .iter()
                .any(|page| page.buttons.iter().any(|b| b.button == button))
        })
        .map(|p| p.id.as_str())
        .unwrap_or_else(|| panic!("the demo places {button} on no panel"))
}

/// A panel connection from [`CLIENT`] that said hello as `panel`.
async fn panel(addr: std::net::SocketAddr, panel: &str) -> Ws {
    let mut ws = ws_connect_from(CLIENT.parse::<IpAddr>().unwrap(), addr).await;
    hello(&mut ws, panel, None).await;
    ws
}

async fn press_and_release(ws: &mut Ws, button: &str) {
    let button = button.to_string();
    send(
        ws,
        &ClientMessage::Press {
            button: button.clone(),
        },
    )
    .await;
    send(ws, &ClientMessage::Release { button }).await;
}

#[tokio::test]
async fn every_demo_key_reaches_a_simulated_device() {
    let any = Some("127.0.0.1:0".parse().unwrap());
    let sim = Simulator::start(SimulatorConfig {
        projector: any,
        matrix: any,
        dsp: any,
        warmup: Duration::from_millis(300),
        cooldown: Duration::from_millis(300),
    })
    .await
    .unwrap();
    let text = DEMO_PROJECT_TOML
        .replace("127.0.0.1:4352", &sim.projector_addr.unwrap().to_string())
        .replace("127.0.0.1:4353", &sim.matrix_addr.unwrap().to_string())
        .replace("127.0.0.1:4354", &sim.dsp_addr.unwrap().to_string());
    let running = TestSettings::only(&["panel", "logic"])
        .start(loaded(&text))
        .await;
    let c = running.controller.clone();
    let addr = running.addrs.panel.unwrap();
    eventually(PATIENCE, "the three devices are connected", || {
        ["projector", "matrix", "dsp"].iter().all(|d| online(&c, d))
    })
    .await;
    let project = c.project();
    // A device's poll is not a key's doing.
    let polls: BTreeMap<String, String> = project
        .devices
        .iter()
        .filter_map(|d| Some((d.id.clone(), d.poll.clone()?)))
        .collect();
    let is_poll = |device: &str, line: &str| polls.get(device).is_some_and(|p| p == line);

    let mut panels: BTreeMap<String, Ws> = BTreeMap::new();
    for b in &project.buttons {
        let on = panel_of(&project, &b.id).to_string();
        if !panels.contains_key(&on) {
            panels.insert(on.clone(), panel(addr, &on).await);
        }
        let ws = panels.get_mut(&on).unwrap();
        let seen = sim.received().len();
        press_and_release(ws, &b.id).await;
        eventually(
            PATIENCE,
            &format!("key {:?} ({}) sends a command to a device", b.id, b.label),
            || {
                let received = sim.received();
                let new: Vec<_> = received[seen.min(received.len())..]
                    .iter()
                    .filter(|(d, line)| !is_poll(d, line))
                    .collect();
                (!new.is_empty())
                    .then_some(())
                    .ok_or(format!("nothing but polls since: {received:?}"))
            },
        )
        .await;
    }

    // The screen and each light preset have a relay of their own.
    for relay in 1..=6 {
        assert!(sim.relay_pulses(relay).unwrap() >= 1, "relay {relay}");
    }

    // Mute and the fader's mute are one state, both ways.
    let tablet = panels.get_mut("tablet").unwrap();
    let muted_now = c.snapshot().levels["volume"].muted == Some(true);
    assert_eq!(c.snapshot().buttons["mute"].latched, muted_now);
    press_and_release(tablet, "mute").await;
    let want = !muted_now;
    eventually(PATIENCE, "the Mute key mutes the DSP and the fader", || {
        let s = c.snapshot();
        (sim.dsp_state().1 == want
            && s.levels["volume"].muted == Some(want)
            && s.buttons["mute"].latched == want)
            .then_some(())
            .ok_or(format!("dsp {:?}, {s:?}", sim.dsp_state()))
    })
    .await;
    send(
        tablet,
        &ClientMessage::SetLevel {
            level: "volume".into(),
            value: None,
            muted: Some(!want),
        },
    )
    .await;
    eventually(PATIENCE, "the fader's mute unlights the Mute key", || {
        let s = c.snapshot();
        let lit = s.led("mute").unwrap().mode != LedMode::Off;
        let unmuted = !want;
        (sim.dsp_state().1 == unmuted && lit == unmuted && s.buttons["mute"].latched == unmuted)
            .then_some(())
            .ok_or(format!("dsp {:?}, {s:?}", sim.dsp_state()))
    })
    .await;

    // Volume + and - move the DSP by a step, and its answer the fader.
    let before = sim.dsp_state().0;
    press_and_release(tablet, "vol_up").await;
    eventually(
        PATIENCE,
        "Volume + is louder on the DSP and the fader",
        || {
            let now = sim.dsp_state().0;
            (now > before && c.snapshot().levels["volume"].value == now)
                .then_some(())
                .ok_or(format!("{now} {:?}", c.snapshot().levels["volume"]))
        },
    )
    .await;
    let before = sim.dsp_state().0;
    press_and_release(tablet, "vol_down").await;
    eventually(
        PATIENCE,
        "Volume - is softer on the DSP and the fader",
        || {
            let now = sim.dsp_state().0;
            (now < before && c.snapshot().levels["volume"].value == now)
                .then_some(())
                .ok_or(format!("{now} {:?}", c.snapshot().levels["volume"]))
        },
    )
    .await;

    running.shutdown().await;
    sim.shutdown().await;
}
