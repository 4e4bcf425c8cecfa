//! Station benchmark: prints figures, asserts nothing.
//!
//! ROOMS simulated controllers (minimal 5009 servers in this process, on
//! loopback) each change an LED RATE times a second; one station watches
//! them all, and one browser-like client reads the station's live stream
//! (`/events`, server-sent events) for every card. Printed: the time from
//! a controller sending a step to the card showing it on the stream (p50,
//! p99), the station's memory per room, and the process's CPU use.
//! Run: `cargo bench -p server --bench station` (`-- --quick`: 100 rooms).
//! Results: docs/performance.md.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use controller_core::engine::{ButtonState, Change, Snapshot, Step};
use controller_core::fleet::RoomCard;
use controller_core::project::{Led, LedColor, LedMode};
use controller_core::protocol::central::{Event, Request};
use controller_core::view::RoomLayout;
use roomctl::config::{Profile, Settings, StationRoom};
use roomctl::security::auth::{hash_password, Role, UserEntry};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const RATE: u64 = 10;
const MEASURE: Duration = Duration::from_secs(10);

/// When each room last sent "mute lit" and "mute dark".
type Sent = Arc<Mutex<HashMap<String, (Instant, Instant)>>>;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rooms = if quick { 100 } else { 1000 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(rooms));
}

fn layout(name: &str) -> RoomLayout {
    let mut project = controller_core::project::demo_project().clone();
    project.project.name = name.into();
    RoomLayout::of(&project)
}

/// One simulated controller: answers the station's handshake, then sends a
/// step flipping `mute` RATE times a second.
async fn controller(listener: TcpListener, serial: String, sent: Sent) {
    let Ok((stream, _)) = listener.accept().await else {
        return;
    };
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    let hello = Event::Hello {
        protocol: 1,
        controller: serial.clone(),
        serial: serial.clone(),
        login_required: false,
        max_message_bytes: 4096,
        idle_timeout_secs: 60,
    };
    let _ = w.write_all(&hello.encode()).await;
    let mut snapshot = Snapshot {
        revision: 0,
        project_name: serial.clone(),
        project_revision: 1,
        ..Snapshot::default()
    };
    snapshot
        .buttons
        .insert("mute".into(), ButtonState::default());
    loop {
        let Ok(Some(line)) = lines.next_line().await else {
            return;
        };
        let reply = match Request::decode(line.as_bytes(), 4096) {
            Ok(Request::Layout) => Event::Layout {
                layout: layout(&serial),
            },
            Ok(Request::Devices) => Event::Devices { devices: vec![] },
            Ok(Request::Subscribe) => {
                let _ = w
                    .write_all(
                        &Event::Status {
                            subscribed: true,
                            snapshot: snapshot.clone(),
                        }
                        .encode(),
                    )
                    .await;
                break;
            }
            _ => continue,
        };
        let _ = w.write_all(&reply.encode()).await;
    }
    // The rooms start at different instants, so their steps spread out.
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / RATE));
    let mut revision = 0u64;
    let key = serial.clone();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    loop {
        tick.tick().await;
        revision += 1;
        let lit = revision % 2 == 1;
        let mode = if lit { LedMode::On } else { LedMode::Off };
        let step = Step {
            revision,
            changes: vec![Change::Led {
                button: "mute".into(),
                led: Led {
                    mode,
                    color: LedColor::Red,
                },
            }],
        };
        {
            let mut sent = sent.lock().unwrap();
            let e = sent
                .entry(key.clone())
                .or_insert((Instant::now(), Instant::now()));
            if lit {
                e.0 = Instant::now()
            } else {
                e.1 = Instant::now()
            }
        }
        if w.write_all(&controller_core::protocol::central::step_line(&step))
            .await
            .is_err()
        {
            return;
        }
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    // utime and stime: fields 14 and 15 of the whole line, 12 and 13 after ')'.
    fields
        .get(11)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
}

async fn run(rooms: usize) {
    let sent: Sent = Arc::new(Mutex::new(HashMap::new()));
    let mut addrs = Vec::new();
    let mut listeners = Vec::new();
    for _ in 0..rooms {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(l.local_addr().unwrap());
        listeners.push(l);
    }
    for (i, l) in listeners.into_iter().enumerate() {
        tokio::spawn(controller(l, format!("SIM-{i:04}"), sent.clone()));
    }
    let dir = std::env::temp_dir().join(format!("roomctl-station-bench-{}", std::process::id()));
    let mut settings = Settings::defaults(Profile::Development);
    settings.users.push(UserEntry {
        name: "ops".into(),
        role: Role::Admin,
        password_hash: hash_password("bench words").unwrap(),
    });
    let st = &mut settings.station;
    st.port = 0;
    st.lookup_broadcast.clear();
    st.database = dir.join("station.sqlite");
    st.rooms = addrs
        .iter()
        .map(|a| StationRoom {
            address: *a,
            name: String::new(),
        })
        .collect();
    let before = rss_kib();
    let station = roomctl::station::start(&settings, String::new(), &dir)
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let online = station
            .station
            .registry
            .cards(&Default::default())
            .iter()
            .filter(|c| c.online)
            .count();
        if online == rooms {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            println!("only {online} of {rooms} rooms came online within 120 s");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "{rooms} rooms online after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let after = rss_kib();
    let web = station.addr;
    let cookie = login(web).await;
    let keys: Vec<String> = (0..rooms)
        .filter_map(|i| station.station.registry.key(i))
        .collect();
    let mut s = TcpStream::connect(web).await.unwrap();
    let req = format!("GET /events?keys={} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n", keys.join(","));
    s.write_all(req.as_bytes()).await.unwrap();
    let mut reader = BufReader::new(s);
    let mut latencies = Vec::new();
    let (mut events, mut cards) = (0u64, 0u64);
    let cpu0 = cpu_ticks();
    let t0 = Instant::now();
    let mut line = String::new();
    while t0.elapsed() < MEASURE {
        line.clear();
        match tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => break,
        }
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let Ok(batch) = serde_json::from_str::<Vec<RoomCard>>(data.trim()) else {
            continue;
        };
        let now = Instant::now();
        events += 1;
        let sent = sent.lock().unwrap();
        for card in batch {
            cards += 1;
            if let Some((lit_at, dark_at)) = sent.get(&card.name) {
                let at = if card.lit.is_empty() { dark_at } else { lit_at };
                latencies.push(now.duration_since(*at));
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = (cpu_ticks() - cpu0) as f64 / 100.0 / secs * 100.0;
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "steps sent: {} rooms x {RATE}/s = {}/s",
        rooms,
        rooms as u64 * RATE
    );
    println!(
        "stream: {:.0} events/s carrying {:.0} card updates/s",
        events as f64 / secs,
        cards as f64 / secs
    );
    println!(
        "step -> card on the stream: p50 {:.1} ms, p99 {:.1} ms ({} samples)",
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.len()
    );
    println!("station memory: {:.1} KiB per room ({} KiB for {rooms} rooms, simulated controllers' sockets included)", after.saturating_sub(before) as f64 / rooms as f64, after.saturating_sub(before));
    println!(
        "CPU (whole process: station, simulated controllers, stream reader): {cpu:.0}% of one core"
    );
    drop(reader);
    station.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn login(web: SocketAddr) -> String {
    let body = "user=ops&password=bench+words";
    let mut s = TcpStream::connect(web).await.unwrap();
    let req = format!("POST /login HTTP/1.1\r\nHost: x\r\nOrigin: http://x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string()
}
