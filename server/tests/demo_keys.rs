//! Every key of the built-in demo does what it says, through the library
//! drivers the demo names: with each device's simulator running (`roomctl
//! simulate --driver ...`, as scripts/demo.sh starts them), a key pressed on
//! a panel (connected from 127.0.0.2, as a tablet on the LAN would) makes
//! the controller call a driver command that a simulated device recognises.
//! A key added to the demo without device traffic fails here. Then the
//! state comes back: the display key's LED and the projector's power
//! variable follow what the simulated projector reports, on the panel's
//! own websocket; the Mute key and the volume fader's mute are one state
//! with the DSP's; the volume keys move the DSP and the fader. Loopback
//! only.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use controller_core::driver::simulator::Heard;
use controller_core::driver::Value as DriverValue;
use controller_core::engine::Snapshot;
use controller_core::project::{LedMode, Project, Value, DEMO_PROJECT_TOML};
use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use roomctl::simulator::driver::DriverSimulator;
use roomctl::state::controller::Controller;
use support::panel::{hello, recv, send, ws_connect_from, Ws};
use support::{eventually, loaded, TestSettings};

/// Generous bound for things that take milliseconds; a failure, not a timing.
const PATIENCE: Duration = Duration::from_secs(20);

const CLIENT: &str = "127.0.0.2";

/// The demo's devices: id, the driver it names, its loopback port.
const DEVICES: [(&str, &str, &str); 5] = [
    ("projector", "pjlink", "127.0.0.1:4352"),
    ("matrix", "kramer-p3000", "127.0.0.1:4353"),
    ("dsp", "biamp-tesira", "127.0.0.1:4354"),
    ("lights", "lutron-integration", "127.0.0.1:4355"),
    ("screen", "lutron-shade", "127.0.0.1:4356"),
];

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

/// A panel connection from [`CLIENT`] that said hello as `panel`, with
/// the snapshot it was sent.
async fn panel(addr: std::net::SocketAddr, panel: &str) -> (Ws, Snapshot) {
    let mut ws = ws_connect_from(CLIENT.parse::<IpAddr>().unwrap(), addr).await;
    let ServerMessage::Welcome { .. } = hello(&mut ws, panel, None).await else {
        panic!("welcome first")
    };
    loop {
        if let ServerMessage::Snapshot { snapshot } = recv(&mut ws).await {
            return (ws, snapshot);
        }
    }
}

/// Reads the panel's messages, applying its steps to `seen`, until `done`
/// holds of what the panel has been told.
async fn panel_sees(
    ws: &mut Ws,
    seen: &mut Snapshot,
    what: &str,
    done: impl Fn(&Snapshot) -> bool,
) {
    let give_up = tokio::time::Instant::now() + PATIENCE;
    while !done(seen) {
        let left = give_up.saturating_duration_since(tokio::time::Instant::now());
        let Ok(m) = tokio::time::timeout(left, recv(ws)).await else {
            panic!("the panel was never shown that {what}: {seen:?}");
        };
        match m {
            ServerMessage::Step { step, .. } => seen.apply(&step),
            ServerMessage::Snapshot { snapshot } => *seen = snapshot,
            _ => {}
        }
    }
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

/// The demo's simulated devices, each with its driver's default settings
/// (what `roomctl simulate --driver X --listen ...` runs), on free ports.
struct Room {
    sims: BTreeMap<&'static str, DriverSimulator>,
}

impl Room {
    async fn start() -> (Room, String) {
        let mut sims = BTreeMap::new();
        let mut text = DEMO_PROJECT_TOML.to_string();
        for (id, driver, address) in DEVICES {
            let sim = support::simulate_driver(driver).await;
            text = support::readdress(&text, &[(address, sim.addr)]);
            sims.insert(id, sim);
        }
        (Room { sims }, text)
    }

    fn sim(&self, id: &str) -> &DriverSimulator {
        &self.sims[id]
    }

    /// What every simulated device has heard so far, by device.
    fn heard(&self) -> BTreeMap<&'static str, Vec<Heard>> {
        self.sims.iter().map(|(id, s)| (*id, s.heard())).collect()
    }

    fn state(&self, id: &str, state: &str) -> Option<DriverValue> {
        self.sim(id).state().get(state).cloned()
    }

    async fn shutdown(self) {
        for (_, s) in self.sims {
            s.shutdown().await;
        }
    }
}

/// The commands a driver sends by itself (polls, on connecting): not a
/// key's doing.
fn own_commands(room: &Room) -> BTreeMap<&'static str, BTreeSet<String>> {
    room.sims
        .iter()
        .map(|(id, s)| {
            let own = s
                .driver
                .polls
                .iter()
                .chain(&s.driver.on_connect)
                .map(|p| p.command.clone())
                .collect();
            (*id, own)
        })
        .collect()
}

fn number(v: Option<DriverValue>) -> f64 {
    match v {
        Some(DriverValue::Number(n)) => n,
        Some(DriverValue::Int(i)) => i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

fn text(v: Option<DriverValue>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

#[tokio::test]
async fn every_demo_key_reaches_a_simulated_device_through_its_driver() {
    let (room, project_text) = Room::start().await;
    let running = TestSettings::only(&["panel", "logic"])
        .start(loaded(&project_text))
        .await;
    let c = running.controller.clone();
    let addr = running.addrs.panel.unwrap();
    eventually(PATIENCE, "the five devices are connected", || {
        DEVICES.iter().all(|(d, _, _)| online(&c, d))
    })
    .await;
    let project = c.project();
    assert!(
        project.devices.iter().all(|d| d.driver.is_some()),
        "the demo's devices are all driver devices"
    );
    let own = own_commands(&room);

    let mut panels: BTreeMap<String, (Ws, Snapshot)> = BTreeMap::new();
    for b in &project.buttons {
        let on = panel_of(&project, &b.id).to_string();
        if !panels.contains_key(&on) {
            panels.insert(on.clone(), panel(addr, &on).await);
        }
        let (ws, _) = panels.get_mut(&on).unwrap();
        let before = room.heard();
        press_and_release(ws, &b.id).await;
        eventually(
            PATIENCE,
            &format!("key {:?} ({}) calls a device's command", b.id, b.label),
            || {
                let now = room.heard();
                let new: Vec<(&str, &Heard)> = now
                    .iter()
                    .flat_map(|(id, heard)| {
                        let skip = before[id].len().min(heard.len());
                        heard[skip..].iter().map(move |h| (*id, h))
                    })
                    .filter(|(id, h)| !own[id].contains(&h.command))
                    .collect();
                (!new.is_empty())
                    .then_some(())
                    .ok_or(format!("nothing but polls since: {now:?}"))
            },
        )
        .await;
    }

    for on in ["tablet", "wall"] {
        if !panels.contains_key(on) {
            panels.insert(on.to_string(), panel(addr, on).await);
        }
    }

    // Sources route the input to the display's output on the switcher; the
    // light keys set the dimmer's level; the screen keys move the shade.
    let (tablet, _) = panels.get_mut("tablet").unwrap();
    press_and_release(tablet, "src_hdmi2").await;
    eventually(PATIENCE, "HDMI 2 is routed on the switcher", || {
        room.state("matrix", "input") == Some(DriverValue::Int(2))
    })
    .await;
    let (wall, _) = panels.get_mut("wall").unwrap();
    press_and_release(wall, "light_presentation").await;
    eventually(PATIENCE, "the dimmer is at 70 %", || {
        number(room.state("lights", "level")) == 70.0
    })
    .await;

    // The display key: the projector powers on, and what it reports comes
    // back to the panel that pressed it, as the key's LED and as the
    // driver's state variable.
    let (wall, seen) = panels.get_mut("wall").unwrap();
    let lit = seen.led("display_power").map(|l| l.mode);
    if lit != Some(LedMode::Off) {
        // The key-by-key round above may have left it on: switch it off first.
        press_and_release(wall, "display_power").await;
        panel_sees(wall, seen, "the projector is off", |s| {
            s.led("display_power").map(|l| l.mode) == Some(LedMode::Off)
        })
        .await;
    }
    press_and_release(wall, "display_power").await;
    panel_sees(wall, seen, "the projector reports power on", |s| {
        s.variables.get("projector.power") == Some(&Value::Text("on".into()))
            && s.led("display_power").map(|l| l.mode) == Some(LedMode::On)
            && s.variables.get("projector_state") == Some(&Value::Text("on".into()))
    })
    .await;
    assert_eq!(text(room.state("projector", "power")), "on");

    // Mute and the fader's mute are one state with the DSP's, both ways.
    let (tablet, seen) = panels.get_mut("tablet").unwrap();
    let muted_now = c.snapshot().levels["volume"].muted == Some(true);
    assert_eq!(c.snapshot().buttons["mute"].latched, muted_now);
    press_and_release(tablet, "mute").await;
    let want = !muted_now;
    let dsp_mute = |on: bool| if on { "on" } else { "off" };
    eventually(PATIENCE, "the Mute key mutes the DSP and the fader", || {
        let s = c.snapshot();
        (text(room.state("dsp", "mute")) == dsp_mute(want)
            && s.levels["volume"].muted == Some(want)
            && s.buttons["mute"].latched == want)
            .then_some(())
            .ok_or(format!("dsp {:?}, {s:?}", room.state("dsp", "mute")))
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
        (text(room.state("dsp", "mute")) == dsp_mute(unmuted)
            && lit == unmuted
            && s.buttons["mute"].latched == unmuted)
            .then_some(())
            .ok_or(format!("dsp {:?}, {s:?}", room.state("dsp", "mute")))
    })
    .await;

    // Volume + and - move the DSP's level by a step, and the fader follows,
    // on the panel too.
    let before = number(room.state("dsp", "level"));
    press_and_release(tablet, "vol_up").await;
    eventually(
        PATIENCE,
        "Volume + is louder on the DSP and the fader",
        || {
            let now = number(room.state("dsp", "level"));
            (now > before && c.snapshot().levels["volume"].value == now)
                .then_some(())
                .ok_or(format!("{now} {:?}", c.snapshot().levels["volume"]))
        },
    )
    .await;
    let louder = number(room.state("dsp", "level"));
    panel_sees(tablet, seen, "the fader moved up", |s| {
        s.levels["volume"].value == louder
    })
    .await;
    press_and_release(tablet, "vol_down").await;
    eventually(
        PATIENCE,
        "Volume - is softer on the DSP and the fader",
        || {
            let now = number(room.state("dsp", "level"));
            (now < louder && c.snapshot().levels["volume"].value == now)
                .then_some(())
                .ok_or(format!("{now} {:?}", c.snapshot().levels["volume"]))
        },
    )
    .await;

    // A fader moved on the panel reaches the DSP through the driver's
    // `level` command.
    send(
        tablet,
        &ClientMessage::SetLevel {
            level: "volume".into(),
            value: Some(-12.5),
            muted: None,
        },
    )
    .await;
    eventually(PATIENCE, "the DSP is at -12.5 dB", || {
        number(room.state("dsp", "level")) == -12.5
    })
    .await;

    running.shutdown().await;
    room.shutdown().await;
}
