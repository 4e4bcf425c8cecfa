//! The one test harness of the server's integration tests. Every test file
//! includes it with `mod support;` and uses the parts it needs:
//!
//! - [`settings`]: [`TestSettings`], settings with only the named services
//!   on (every TCP port free-chosen), users, a temporary project directory
//!   and settings file ([`TestEnv`]);
//! - [`eventually`]: wait for a condition, panic naming it;
//! - [`fake_device`]: a line-based room device on loopback (silent, a DSP
//!   answering late, or switched off until the test switches it on);
//! - [`http`]: raw HTTP/1.1 over a socket, and `oneshot` on an axum `Router`;
//! - [`panel`]: the panel WebSocket client;
//! - [`telnet`] and [`ftp`]: console and FTP control-connection clients;
//! - [`netns`]: run a test inside a network namespace of its own;
//! - [`process`]: run a test alone in a process of its own;
//! - [`mosquitto`]: a real MQTT broker on a free loopback port, and a
//!   subscriber that remembers what it saw;
//! - [`radicale`]: a real CalDAV server on a free loopback port.
//!
//! Everything talks to loopback or to a namespace the test made itself.

// Each test binary uses only part of the harness.
#![allow(dead_code)]

pub mod eventually;
pub mod fake_device;
pub mod ftp;
pub mod http;
pub mod idler;
pub mod mosquitto;
pub mod netns;
pub mod panel;
pub mod process;
pub mod radicale;
pub mod settings;
pub mod telnet;

use std::net::TcpListener;

use controller_core::engine::Command;
use roomctl::state::controller::Controller;

// Not every test binary uses every re-export.
#[allow(unused_imports)]
pub use eventually::eventually;
#[allow(unused_imports)]
pub use settings::{
    bad_project, loaded, project, start, TestEnv, TestSettings, ADMIN, ADMIN_PW, VIEWER, VIEWER_PW,
};

/// A TCP port on 127.0.0.1 that was free a moment ago (for a child process
/// that must be told its port up front), never the same twice in one test
/// binary. Chosen below Linux's ephemeral range (32768-60999): a port the
/// kernel handed out for `bind(0)` is soon handed out again as the source
/// port of an outgoing connection, before the child binds it.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::Mutex;
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let seed = RandomState::new();
    for attempt in 0u32..10_000 {
        let port = 20_000 + (seed.hash_one(attempt) % 12_000) as u16;
        let mut handed_out = HANDED_OUT.lock().unwrap();
        if handed_out.contains(&port) || TcpListener::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        handed_out.push(port);
        return port;
    }
    panic!("no free port between 20000 and 32000 on 127.0.0.1")
}

/// The demo room as it was before drivers: raw devices (strings and
/// regular expressions) for `roomctl simulate`'s line-protocol projector,
/// matrix and DSP. The built-in demo uses library drivers; the tests of raw
/// devices use this room, since raw devices keep working unchanged.
#[allow(dead_code)]
pub const RAW_DEMO: &str = include_str!("../fixtures/raw-demo.toml");

/// The simulated device of library driver `id` on a free loopback port,
/// with the driver's default settings (a sample value where it has none),
/// as `roomctl simulate --driver ID` runs it.
#[allow(dead_code)]
pub async fn simulate_driver(id: &str) -> roomctl::simulator::driver::DriverSimulator {
    let library = controller_core::driver::library::Library::shared();
    let driver = std::sync::Arc::clone(
        library
            .get(id)
            .unwrap_or_else(|| panic!("no library driver {id:?}")),
    );
    let settings = driver
        .settings
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.default.clone().unwrap_or_else(|| s.kind.sample()),
            )
        })
        .collect();
    roomctl::simulator::driver::DriverSimulator::start(
        driver,
        settings,
        controller_core::driver::simulator::Fault::default(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

/// The second loopback address tests run their clients from, so the
/// server meets them as it meets another host (all of 127/8 is local).
pub const OTHER_ADDRESS: &str = "127.0.0.2";

/// `text` with each device address `from` moved to `to`, matched with its
/// quotes: a port just written ("127.0.0.1:43531") is never taken for the
/// start of the next device's ("127.0.0.1:4353"), as plain chained
/// `replace` calls would (a random failure, one run in many).
pub fn readdress(text: &str, moves: &[(&str, std::net::SocketAddr)]) -> String {
    moves.iter().fold(text.to_string(), |text, (from, to)| {
        text.replace(&format!("\"{from}\""), &format!("\"{to}\""))
    })
}

/// A project's smallest panel: `tablet`, one page (`main`) holding the key
/// `button` (the tests' project texts end their panels with it).
pub fn one_key_panel(button: &str) -> String {
    format!(
        "[[panels]]\nid = \"tablet\"\nname = \"Tablet\"\ncolumns = 1\nrows = 1\n\n\
         [[panels.pages]]\nid = \"main\"\ntitle = \"Main\"\n\
         buttons = [ {{ button = \"{button}\", row = 0, col = 0 }} ]\n"
    )
}

/// A TCP connection to `to` from `local` (an address of this host, port
/// chosen by the system).
pub async fn connect_from(local: &str, to: std::net::SocketAddr) -> tokio::net::TcpStream {
    let ip: std::net::IpAddr = local.parse().expect("a local address");
    let socket = if ip.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .unwrap();
    socket.bind(std::net::SocketAddr::new(ip, 0)).unwrap();
    socket
        .connect(to)
        .await
        .unwrap_or_else(|e| panic!("connect from {local} to {to}: {e}"))
}

/// Presses `button` (and holds it) as source "test".
pub fn press(c: &Controller, button: &str) {
    c.execute(Command::Press {
        button: button.into(),
        source: "test".into(),
    })
    .expect("press");
}

/// Releases `button` as source "test".
pub fn release(c: &Controller, button: &str) {
    c.execute(Command::Release {
        button: button.into(),
        source: "test".into(),
    })
    .expect("release");
}

/// A press and its release.
pub fn press_and_release(c: &Controller, button: &str) {
    press(c, button);
    release(c, button);
}

/// Runs a program to completion; (exit ok, stdout, stderr).
pub async fn run(program: &str, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Resident memory of this process, in KiB.
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// Resident memory this process allocated (heap, stacks: `RssAnon`), in
/// KiB: what a burst of clients costs, without the pages of the (debug)
/// test binary's own code that happen to be resident.
#[allow(dead_code)]
pub fn anon_rss_kib() -> u64 {
    status_kib("RssAnon:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The real `roomctl` binary serving with the settings file `config`
/// (quiet; killed when dropped).
pub fn spawn_roomctl(config: &std::path::Path) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_roomctl"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}
