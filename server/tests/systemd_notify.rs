//! What the packaged units' `Type=notify` and `WatchdogSec=` rely on
//! (packaging/roomctl.service, roomctl-station.service; issue 23 item 2):
//! the real `roomctl serve` and `roomctl station`, started as systemd
//! starts a notify unit (a `NOTIFY_SOCKET` datagram socket the test holds,
//! `WATCHDOG_USEC` set), say READY=1 once they listen, WATCHDOG=1 again and
//! again while they run, and STOPPING=1 on SIGTERM before a clean exit.
//! Both bind loopback only (the development profile, ports chosen free).

use crate::support;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use roomctl::security::auth::Role;
use support::TestSettings;
use tokio::process::{Child, Command};

/// Far longer than a start or a watchdog period takes; only a hang waits
/// this long.
const PATIENCE: Duration = Duration::from_secs(60);

/// The unit's `WatchdogSec`, shortened: pings every 0.5 s.
const WATCHDOG_USEC: &str = "1000000";

/// A `roomctl` process started as a `Type=notify` unit is, and what it has
/// told the notify socket so far.
struct Notified {
    child: Child,
    socket: UnixDatagram,
    heard: Vec<String>,
    log: std::path::PathBuf,
}

impl Notified {
    fn start(dir: &Path, args: &[&str]) -> Notified {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket.set_nonblocking(true).unwrap();
        let log = dir.join("roomctl.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_roomctl"))
            .args(args)
            .env("NOTIFY_SOCKET", &path)
            .env("WATCHDOG_USEC", WATCHDOG_USEC)
            .env_remove("WATCHDOG_PID")
            .env("RUST_LOG", "warn")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        Notified {
            child,
            socket,
            heard: Vec::new(),
            log,
        }
    }

    /// Waits until the process has said `line` `times` times in all.
    async fn wait_for(&mut self, line: &str, times: usize) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut buf = [0u8; 4096];
        loop {
            while let Ok(n) = self.socket.recv(&mut buf) {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.heard.extend(message.lines().map(String::from));
            }
            if self.heard.iter().filter(|l| *l == line).count() >= times {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "roomctl stopped ({status}) before saying {line} {times}x; it said {:?}\n{}",
                    self.heard,
                    self.output()
                );
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "roomctl did not say {line} {times}x; it said {:?}\n{}",
                self.heard,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `systemctl stop`: SIGTERM; STOPPING=1, then a clean exit.
    async fn stop(mut self) -> Vec<String> {
        let pid = self.child.id().unwrap().to_string();
        let (ok, _, err) = support::run("kill", &["-TERM", &pid]).await;
        assert!(ok, "{err}");
        self.wait_for("STOPPING=1", 1).await;
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("roomctl exits after SIGTERM")
            .unwrap();
        assert!(status.success(), "exit {status}\n{}", self.output());
        self.heard
    }
}

/// The order systemd needs: READY=1 first, pings after it, STOPPING=1 last.
fn assert_in_order(heard: &[String]) {
    let at = |line: &str| heard.iter().position(|l| l == line);
    let ready = at("READY=1").expect("READY=1");
    let ping = at("WATCHDOG=1").expect("WATCHDOG=1");
    let stopping = at("STOPPING=1").expect("STOPPING=1");
    assert!(ready < ping && ping < stopping, "{heard:?}");
    assert!(
        !heard[stopping + 1..].iter().any(|l| l == "READY=1"),
        "{heard:?}"
    );
}

#[tokio::test]
async fn the_controller_says_ready_pings_the_watchdog_and_says_stopping() {
    let env = TestSettings::only(&["panel", "logic"]).in_tempdir();
    std::fs::write(env.settings_file(), env.settings.to_toml()).unwrap();
    let config = env.settings_file();
    let mut roomctl = Notified::start(
        env.dir.path(),
        &["--config", config.to_str().unwrap(), "serve"],
    );
    roomctl.wait_for("READY=1", 1).await;
    assert!(
        roomctl.heard.iter().any(|l| l == "STATUS=serving"),
        "{:?}",
        roomctl.heard
    );
    // Ready means listening: the panel answers at once.
    let addr = roomctl
        .output()
        .lines()
        .find_map(|l| {
            l.trim().strip_prefix("Status page:").map(|u| {
                u.trim()
                    .trim_start_matches("http://")
                    .trim_end_matches("/status")
                    .to_string()
            })
        })
        .unwrap_or_else(|| panic!("the start message names the panel\n{}", roomctl.output()));
    let (ok, out, err) = support::run("curl", &["-sS", &format!("http://{addr}/healthz")]).await;
    assert!(ok && !out.is_empty(), "{out}{err}");
    // Pinged again and again, not once.
    roomctl.wait_for("WATCHDOG=1", 3).await;
    let heard = roomctl.stop().await;
    assert_in_order(&heard);
}

#[tokio::test]
async fn the_station_says_ready_pings_the_watchdog_and_says_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("station.sqlite");
    // Its web page needs an admin to start.
    let settings = TestSettings::only(&[])
        .user("ops", Role::Admin, "ops words")
        .edit(|s| {
            s.station.port = 0;
            s.station.database = database.clone();
            s.station.rooms.clear();
            s.station.lookup_broadcast.clear();
        })
        .build();
    let config = dir.path().join("roomctl.toml");
    std::fs::write(&config, settings.to_toml()).unwrap();
    let mut station = Notified::start(
        dir.path(),
        &["--config", config.to_str().unwrap(), "station"],
    );
    station.wait_for("READY=1", 1).await;
    assert!(
        station.heard.iter().any(|l| l == "STATUS=watching rooms"),
        "{:?}",
        station.heard
    );
    assert!(database.is_file(), "ready after its database is open");
    station.wait_for("WATCHDOG=1", 3).await;
    let heard = station.stop().await;
    assert_in_order(&heard);
}
