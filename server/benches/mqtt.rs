//! MQTT bridge benchmark: prints figures, asserts nothing.
//!
//! With a Mosquitto started here on a loopback port (the tests' broker
//! helper):
//! - (a) a press -> its `button/<id>/state` message at a subscriber: p50/p99;
//! - (b) the controller's CPU per engine step with the bridge on and off
//!   (this process's utime + stime from /proc/self/stat);
//! - (c) a fleet: CONTROLLERS simulated controllers (a load generator
//!   publishing the bridge's topic tree) into one broker, one subscriber
//!   holding the whole fleet's state: messages per second and its lag.
//!
//! Run: `cargo bench -p server --bench mqtt` (`-- --quick` for a short run).
//! Results: docs/performance.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use controller_core::engine::Command;
use controller_core::protocol::mqtt::{ButtonPayload, Topics};
use controller_core::ButtonState;
use roomctl::runtime::serve::Running;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use support::mosquitto::Mosquitto;
use support::TestSettings;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const CONTROLLERS: usize = 1000;
/// Buttons of each simulated controller (the demo has 16).
const BUTTONS: usize = 16;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(quick));
}

async fn run(quick: bool) {
    let broker = Mosquitto::start().await;
    println!("mqtt bench: Mosquitto on 127.0.0.1:{}", broker.port);
    latency(&broker, if quick { 200 } else { 2000 }).await;
    let steps = if quick { 5_000 } else { 20_000 };
    let off = cpu_per_step(None, steps).await;
    let on = cpu_per_step(Some(&broker), steps).await;
    println!(
        "(b) CPU per step ({steps} steps): bridge off {:.1} us, bridge on {:.1} us",
        off.as_secs_f64() * 1e6,
        on.as_secs_f64() * 1e6
    );
    fleet(&broker, if quick { 3 } else { 10 }).await;
}

async fn controller(broker: Option<&Mosquitto>) -> Running {
    let settings = match broker {
        Some(b) => TestSettings::only(&["mqtt"]).toml(&format!(
            "[mqtt]\nurl = \"{}\"\nha_discovery = true\n",
            b.url()
        )),
        None => TestSettings::only(&[]),
    };
    settings.name("Bench").start_demo().await
}

/// A subscriber that forwards every message on `filter` with the time it came.
async fn subscriber(
    port: u16,
    filter: &str,
) -> (
    AsyncClient,
    mpsc::UnboundedReceiver<(Instant, String, bytes::Bytes)>,
) {
    let mut o = MqttOptions::new(
        format!("bench-sub-{}", support::free_port()),
        "127.0.0.1",
        port,
    );
    o.set_keep_alive(Duration::from_secs(30));
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(o, 64);
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    let mut ready_tx = Some(ready_tx);
    client.subscribe(filter, QoS::AtMostOnce).await.unwrap();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(r) = ready_tx.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx.send((Instant::now(), p.topic, p.payload)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    ready.await.unwrap();
    (client, rx)
}

/// (a) press/release -> state message latency.
async fn latency(broker: &Mosquitto, samples: usize) {
    let running = controller(Some(broker)).await;
    let topics = Topics::new("roomctl/{serial}", &running.controller.identity().serial);
    let (_client, mut rx) = subscriber(broker.port, &topics.button_state("vol_up")).await;
    // The retained state first.
    let _ = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let button = "vol_up".to_string();
        let source = "bench".to_string();
        let start = Instant::now();
        let command = if i % 2 == 0 {
            Command::Press { button, source }
        } else {
            Command::Release { button, source }
        };
        running.controller.execute(command).unwrap();
        let (at, _, _) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a state message within 5 s")
            .unwrap();
        times.push(at - start);
    }
    times.sort();
    println!(
        "(a) press -> state message at a subscriber ({samples} samples): p50 {:?}, p99 {:?}, max {:?}",
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );
    running.shutdown().await;
}

/// (b) CPU per step, in steps of 100 followed by a millisecond's pause (a
/// busy room, not a flood: the bus and the queue never overflow).
async fn cpu_per_step(broker: Option<&Mosquitto>, steps: usize) -> Duration {
    let running = controller(broker).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let c = &running.controller;
    let start = cpu_time();
    for i in 0..steps {
        let (button, source) = ("vol_up".to_string(), "bench".to_string());
        let command = if i % 2 == 0 {
            Command::Press { button, source }
        } else {
            Command::Release { button, source }
        };
        c.execute(command).unwrap();
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    // Let the bridge finish publishing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let used = cpu_time() - start;
    if broker.is_some() {
        let line = c
            .status()
            .service("mqtt")
            .map(|s| s.endpoint)
            .unwrap_or_default();
        println!("    bridge after the run: {line}");
    }
    running.shutdown().await;
    used / steps as u32
}

/// (c) CONTROLLERS simulated controllers, each publishing its retained
/// state and then `rate` steps per second (an event and a button state,
/// the bridge's messages for a momentary press), for `secs` seconds; one
/// subscriber keeps the fleet's latest state per topic.
async fn fleet(broker: &Mosquitto, secs: u64) {
    let rate = 10u64;
    let (_sub, mut rx) = subscriber(broker.port, "roomctl/#").await;
    let epoch = Instant::now();
    let received = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let holder = {
        let (received, stop) = (received.clone(), stop.clone());
        tokio::spawn(async move {
            let mut fleet: HashMap<String, bytes::Bytes> = HashMap::new();
            let mut lags = Vec::new();
            loop {
                let (at, topic, payload) = tokio::select! {
                    m = rx.recv() => match m { Some(m) => m, None => break },
                    _ = stop.cancelled() => break,
                };
                received.fetch_add(1, Ordering::Relaxed);
                if let Some(sent) = sent_at(&payload) {
                    lags.push(at.duration_since(epoch).saturating_sub(sent));
                }
                fleet.insert(topic, payload);
            }
            (fleet.len(), lags)
        })
    };
    // Connect the fleet.
    let mut clients = Vec::with_capacity(CONTROLLERS);
    for i in 0..CONTROLLERS {
        let serial = format!("RC-SIM-{i:04}");
        let mut o = MqttOptions::new(format!("roomctl-{serial}"), "127.0.0.1", broker.port);
        o.set_keep_alive(Duration::from_secs(60));
        let (client, mut eventloop) = AsyncClient::new(o, 256);
        tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
        clients.push((Topics::new("roomctl/{serial}", &serial), client));
    }
    let connected = Instant::now();
    for (topics, client) in &clients {
        let _ = client.try_publish(topics.status(), QoS::AtMostOnce, true, "online");
        for b in 0..BUTTONS {
            let payload = ButtonPayload::encode(ButtonState::default(), 1);
            let _ = client.try_publish(
                topics.button_state(&format!("b{b}")),
                QoS::AtMostOnce,
                true,
                payload,
            );
        }
    }
    let initial = (CONTROLLERS * (BUTTONS + 1)) as u64;
    while received.load(Ordering::Relaxed) < initial
        && connected.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "(c) fleet of {CONTROLLERS}: connected and {} retained messages at the subscriber in {:?}",
        received.load(Ordering::Relaxed),
        connected.elapsed()
    );
    // Steady load: every controller `rate` steps/s, spread over the second.
    let before = received.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_micros(
        1_000_000 / (rate * CONTROLLERS as u64),
    ));
    let mut sent = 0u64;
    let mut n = 0usize;
    while start.elapsed() < Duration::from_secs(secs) {
        tick.tick().await;
        let (topics, client) = &clients[n % CONTROLLERS];
        n += 1;
        let now = epoch.elapsed().as_nanos();
        let stamp = format!("{{\"t\":{now}}}");
        for (topic, retain) in [(topics.event(), false), (topics.button_state("b0"), true)] {
            if client
                .try_publish(topic, QoS::AtMostOnce, retain, stamp.clone())
                .is_ok()
            {
                sent += 1;
            }
        }
    }
    let offered = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) - before < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let got = received.load(Ordering::Relaxed) - before;
    let all = start.elapsed();
    stop.cancel();
    let (topics_held, mut lags) = holder.await.unwrap();
    lags.sort();
    println!(
        "    steady load {rate} steps/s per controller: {sent} messages sent in {offered:.1?} ({:.0}/s offered), {got} received in {all:.1?} ({:.0}/s); the subscriber holds {topics_held} topics",
        sent as f64 / offered.as_secs_f64(),
        got as f64 / all.as_secs_f64()
    );
    if !lags.is_empty() {
        println!(
            "    subscriber lag (publish by the load generator -> the subscriber has it): p50 {:?}, p99 {:?}, max {:?}",
            percentile(&lags, 0.50),
            percentile(&lags, 0.99),
            lags[lags.len() - 1]
        );
    }
    drop(clients);
}

/// The send time a load message carries (`{"t": nanos since epoch}`).
fn sent_at(payload: &[u8]) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    Some(Duration::from_nanos(v.get("t")?.as_u64()?))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// This process's CPU time (user + system) so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // utime and stime are the 14th and 15th fields of the line, in clock
    // ticks: the 12th and 13th after the command name's closing
    // parenthesis (counted by position: tpgid may be -1).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let field = |n: usize| -> u64 {
        rest.split_whitespace()
            .nth(n)
            .and_then(|f| f.parse().ok())
            .unwrap_or(0)
    };
    let ticks = field(11) + field(12);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_micros(ticks * 1_000_000 / hz)
}
