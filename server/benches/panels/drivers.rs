//! Driver devices at scale: 100 library-driver devices, each against its
//! simulator generated from the driver (`roomctl simulate`'s
//! `DriverSimulator`, run in this process on loopback), all polled every
//! second (`poll_secs = 1`) by one controller.
//!
//! Printed:
//! - the controller's CPU (all its threads, `/proc/PID/task/*/schedstat`)
//!   and memory (VmRSS) while it polls them, beside the same project
//!   without devices, and the polls the simulators received per second;
//! - poll to state: a simulated device's state is changed (as someone at
//!   the device would); the time from the next command the device then
//!   receives (a poll; it answers with the new value) until a panel shows
//!   the new `<device>.<state>` variable. The first command after the
//!   change is taken, so when a device's polls come in a burst the figure
//!   is an upper bound;
//! - touch to device through a driver: a panel press whose sequence calls
//!   the `kramer-p3000` driver's `route` command, until the simulated
//!   switcher has received the command's bytes (measured while the 100
//!   devices are polled).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use controller_core::driver::library::Library;
use controller_core::driver::simulator::Fault;
use controller_core::driver::{Driver, Kind, TransportKind, Value};
use controller_core::engine::Change;
use controller_core::project::drivers::state_text;
use controller_core::project::Value as ProjectValue;
use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use futures::{SinkExt, StreamExt};
use roomctl::simulator::driver::DriverSimulator;
use tokio_tungstenite::tungstenite::Message;

use crate::lean::LeanPanels;
use crate::{connect_panel, cpu_time, into_std, ms, percentile, rss_kib, start_server_with};

/// The switcher the touch-to-device presses route on (device `matrix`).
const SWITCHER: &str = "kramer-p3000";

/// One simulated device and what the benchmark knows of it.
struct Simulated {
    id: String,
    driver: Arc<Driver>,
    sim: DriverSimulator,
    /// A state its polls report (found in the warm-up), changed each round.
    reported: Option<String>,
}

/// Library drivers whose devices a project can use with their default
/// settings and which poll: every one of them takes part, in turn.
fn pollable_drivers(library: &Library) -> Vec<Arc<Driver>> {
    library
        .drivers
        .values()
        .filter(|d| !d.polls.is_empty())
        .filter(|d| d.resolve_settings(&BTreeMap::new()).is_ok())
        .filter(|d| {
            matches!(
                d.transport.kind,
                TransportKind::Tcp | TransportKind::Udp | TransportKind::Serial
            )
        })
        .cloned()
        .collect()
}

/// A value of `kind` other than `current`, if there is one.
fn other_value(kind: &Kind, current: &Value, round: usize) -> Option<Value> {
    match kind {
        Kind::Enum(values) => {
            let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
            let at = names
                .iter()
                .position(|n| Value::Text(n.to_string()) == *current);
            let next = names.get((at.map_or(0, |i| i + 1)) % names.len())?;
            (Value::Text(next.to_string()) != *current).then(|| Value::Text(next.to_string()))
        }
        Kind::Int { min, max } => {
            let Value::Int(now) = current else {
                return None;
            };
            let lo = min.unwrap_or(i64::MIN);
            let hi = max.unwrap_or(i64::MAX);
            let up = now.checked_add(1).filter(|v| *v <= hi);
            let down = now.checked_sub(1).filter(|v| *v >= lo);
            match (round % 2, up, down) {
                (0, Some(v), _) | (1, _, Some(v)) | (_, Some(v), None) | (_, None, Some(v)) => {
                    Some(Value::Int(v))
                }
                _ => None,
            }
        }
        Kind::Number { min, max } => {
            let Value::Number(now) = current else {
                return None;
            };
            let lo = min.unwrap_or(f64::MIN);
            let hi = max.unwrap_or(f64::MAX);
            if now + 1.0 <= hi {
                Some(Value::Number(now + 1.0))
            } else if now - 1.0 >= lo {
                Some(Value::Number(now - 1.0))
            } else {
                None
            }
        }
        Kind::Text { max_length, .. } => {
            let text = format!("b{round}");
            (text.len() <= *max_length && Value::Text(text.clone()) != *current)
                .then_some(Value::Text(text))
        }
    }
}

/// The project: two buttons routing the switcher, a panel, and the
/// devices, each polled every second.
fn project(devices: &[(String, String, String)]) -> String {
    let mut p = String::from(
        r#"[project]
name = "Driver benchmark"

[[buttons]]
id = "in1"
label = "Input 1"
kind = "momentary"

[[buttons]]
id = "in2"
label = "Input 2"
kind = "momentary"

[[panels]]
id = "tablet"
name = "Tablet"
columns = 2
rows = 1

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ { button = "in1", row = 0, col = 0 }, { button = "in2", row = 0, col = 1 } ]
"#,
    );
    if devices.is_empty() {
        return p;
    }
    p.push_str(
        r#"
[[sequences]]
id = "in1"
button = "in1"
steps = [ { device = "matrix", command = "route", params = { input = 1 } } ]

[[sequences]]
id = "in2"
button = "in2"
steps = [ { device = "matrix", command = "route", params = { input = 2 } } ]
"#,
    );
    for (id, driver, address) in devices {
        p.push_str(&format!(
            "\n[[devices]]\nid = \"{id}\"\ndriver = \"{driver}\"\naddress = \"{address}\"\npoll_secs = 1\n"
        ));
    }
    p
}

/// The variables a panel was sent, each change with its arrival.
type Shown = Arc<Mutex<Vec<(Instant, String, String)>>>;

fn watch(text: &[u8], at: Instant, shown: &Shown) {
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(ServerMessage::Step { step, .. }) = ServerMessage::decode(text) else {
        return;
    };
    let mut shown = shown.lock().unwrap();
    for change in step.changes {
        if let Change::Variable { variable, value } = change {
            let text = match value {
                ProjectValue::Text(t) => t,
                other => format!("{other:?}"),
            };
            shown.push((at, variable, text));
        }
    }
}

/// When the panel was first sent `variable = text` after `since`.
fn shown_at(shown: &Shown, since: Instant, variable: &str, text: &str) -> Option<Instant> {
    shown
        .lock()
        .unwrap()
        .iter()
        .find(|(at, v, t)| *at >= since && v == variable && t == text)
        .map(|(at, _, _)| *at)
}

/// The benchmark: `n` driver devices, `rounds` state changes on each,
/// `window` seconds of steady polling, `touches` presses.
pub async fn driver_devices(n: usize, rounds: usize, window: u64, touches: usize) {
    let library = Library::builtin();
    let drivers = pollable_drivers(&library);
    let switcher = library.get(SWITCHER).expect("the switcher driver").clone();
    let mut devices: Vec<Simulated> = Vec::with_capacity(n);
    for i in 0..n {
        let (id, driver) = if i == 0 {
            ("matrix".to_string(), switcher.clone())
        } else {
            (format!("d{i:03}"), drivers[i % drivers.len()].clone())
        };
        let settings = driver.resolve_settings(&BTreeMap::new()).unwrap();
        let sim = DriverSimulator::start(
            driver.clone(),
            settings,
            Fault::None,
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .expect("a simulator on loopback");
        devices.push(Simulated {
            id,
            driver,
            sim,
            reported: None,
        });
    }
    let kinds: BTreeSet<&str> = devices.iter().map(|d| d.driver.id.as_str()).collect();
    let listed: Vec<(String, String, String)> = devices
        .iter()
        .map(|d| (d.id.clone(), d.driver.id.clone(), d.sim.addr.to_string()))
        .collect();

    // The same project without devices: the memory they add.
    let bare = start_server_with(60, Some(&project(&[]))).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let bare_rss = rss_kib(bare.child.id());
    drop(bare);

    let server = start_server_with(60, Some(&project(&listed))).await;
    let pid = server.child.id();
    let shown: Shown = Arc::default();
    let watcher = into_std(connect_panel(server.addr).await);
    let _panels = {
        let shown = shown.clone();
        LeanPanels::start_with(
            vec![watcher],
            Box::new(move |_, at, text| watch(text, at, &shown)),
        )
    };
    // Every device polled at least twice: connected, logged in, polling.
    let deadline = Instant::now() + Duration::from_secs(20);
    while devices.iter().any(|d| d.sim.heard_at().len() < 2) {
        assert!(
            Instant::now() < deadline,
            "devices not polled within 20 s: {:?}",
            devices
                .iter()
                .filter(|d| d.sim.heard_at().len() < 2)
                .map(|d| &d.driver.id)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Steady polling: CPU, memory, polls per second.
    let heard =
        |devices: &[Simulated]| -> usize { devices.iter().map(|d| d.sim.heard_at().len()).sum() };
    let (cpu0, heard0, t0) = (cpu_time(&pid.to_string()), heard(&devices), Instant::now());
    tokio::time::sleep(Duration::from_secs(window)).await;
    let (cpu1, heard1, wall) = (cpu_time(&pid.to_string()), heard(&devices), t0.elapsed());
    let rss = rss_kib(pid);
    let cpu = cpu1 - cpu0;
    let polls = heard1.saturating_sub(heard0);
    let configured: usize = devices.iter().map(|d| d.driver.polls.len()).sum();
    println!(
        "{n} driver devices ({} drivers), every poll each second, {window} s: controller CPU {:.1} % of one core ({} per second), {:.0} polls/s recognised by the simulators of {configured} configured ({:.1} µs of controller CPU per poll) | RSS {rss} KiB ({bare_rss} KiB with no devices: {:.1} KiB per device)",
        kinds.len(),
        cpu.as_secs_f64() / wall.as_secs_f64() * 100.0,
        ms(cpu.div_f64(wall.as_secs_f64())),
        polls as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / polls.max(1) as f64,
        (rss as f64 - bare_rss as f64) / n as f64,
    );

    // Which state each device's polls report: change every state once and
    // see which reach the panel.
    let since = Instant::now();
    let mut expected: Vec<Vec<(String, String)>> = Vec::with_capacity(n);
    for d in &devices {
        let now = d.sim.state();
        let mut mine = Vec::new();
        for s in &d.driver.state {
            let Some(current) = now.get(&s.name) else {
                continue;
            };
            let Some(v) = other_value(&s.kind, current, 0) else {
                continue;
            };
            if d.sim.set_state(&s.name, v.clone()).is_ok() {
                mine.push((s.name.clone(), state_text(&v)));
            }
        }
        expected.push(mine);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (d, mine) in devices.iter_mut().zip(&expected) {
        d.reported = mine
            .iter()
            .find(|(s, text)| shown_at(&shown, since, &format!("{}.{s}", d.id), text).is_some())
            .map(|(s, _)| s.clone());
    }
    let measured: Vec<usize> = (0..n).filter(|&i| devices[i].reported.is_some()).collect();

    // Poll to state, `rounds` times on every device that reports one.
    let mut delays = Vec::new();
    let mut missed = 0;
    for round in 1..=rounds {
        let mut changes = Vec::new();
        for &i in &measured {
            let d = &devices[i];
            let state = d.reported.as_deref().unwrap();
            let kind = &d.driver.state_def(state).unwrap().kind;
            let current = d.sim.state()[state].clone();
            let Some(v) = other_value(kind, &current, round) else {
                continue;
            };
            let at = Instant::now();
            d.sim.set_state(state, v.clone()).unwrap();
            changes.push((i, at, format!("{}.{state}", d.id), state_text(&v)));
        }
        tokio::time::sleep(Duration::from_millis(2500)).await;
        for (i, set_at, variable, text) in changes {
            let Some(seen) = shown_at(&shown, set_at, &variable, &text) else {
                missed += 1;
                continue;
            };
            let asked = devices[i]
                .sim
                .heard_at()
                .iter()
                .find(|(at, _)| *at >= set_at)
                .map(|(at, _)| *at);
            match asked {
                Some(asked) if asked <= seen => delays.push(seen - asked),
                _ => missed += 1,
            }
        }
    }
    delays.sort();
    println!(
        "poll to state ({} devices of {} drivers with a polled state, {rounds} changes each): device asked -> new state on a panel: p50 {} p99 {} max {} ({} samples, {missed} not seen within 2.5 s)",
        measured.len(),
        measured
            .iter()
            .map(|&i| devices[i].driver.id.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.99)),
        ms(delays.last().copied().unwrap_or_default()),
        delays.len(),
    );

    // Touch to device through the switcher's driver.
    let matrix = &devices[0].sim;
    let panel = connect_panel(server.addr).await;
    let (mut sink, mut stream) = panel.split();
    tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    let mut delays = Vec::with_capacity(touches);
    for i in 0..touches {
        let (button, input) = [("in1", 1), ("in2", 2)][i % 2];
        let seen = matrix.heard_at().len();
        let t0 = Instant::now();
        sink.send(Message::Text(
            ClientMessage::Press {
                button: button.into(),
            }
            .encode()
            .into(),
        ))
        .await
        .unwrap();
        let deadline = t0 + Duration::from_secs(5);
        let arrived = loop {
            let heard = matrix.heard_at();
            let skip = seen.min(heard.len());
            // The history is bounded: at the bound, look at all of it.
            let recent = if heard.len() >= controller_core::driver::simulator::HISTORY {
                &heard[..]
            } else {
                &heard[skip..]
            };
            if let Some((at, _)) = recent.iter().find(|(at, h)| {
                *at >= t0
                    && h.command == "route"
                    && h.params.get("input") == Some(&Value::Int(input))
            }) {
                break *at;
            }
            assert!(
                Instant::now() < deadline,
                "route {input} arrives within 5 s"
            );
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_micros(50));
        };
        delays.push(arrived - t0);
        sink.send(Message::Text(
            ClientMessage::Release {
                button: button.into(),
            }
            .encode()
            .into(),
        ))
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    delays.sort();
    println!(
        "touch to device through a driver ({touches} presses, {n} driver devices polled meanwhile): press sent -> the {SWITCHER} route command at its simulator: p50 {} p99 {} max {}",
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.99)),
        ms(*delays.last().unwrap()),
    );
    drop(server);
    for d in devices {
        d.sim.shutdown().await;
    }
}
