//! Failed logins cost bounded memory: argon2 holds its memory cost for each
//! check, so the number of checks running at once must not follow the
//! number of clients. Alone in its test binary: it measures this process's
//! resident memory, which other tests running beside it would disturb.

use crate::support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use controller_core::protocol::central::{Event, Request};
use futures::future::join_all;
use roomctl::cli::press::CentralClient;
use roomctl::security::auth::Role;
use support::http::{connect_from, raw_from};
use support::{anon_rss_kib, rss_kib, TestSettings, ADMIN, ADMIN_PW};

/// Attackers per burst, each from an address of its own (so the per-address
/// limits do not hide the global one), and bursts.
const ATTACKERS: u8 = 40;
const BURSTS: usize = 5;
/// The ceiling the issue asks for, on the memory the controller allocates
/// (`RssAnon`): the resident pages of this debug test binary's own code
/// (over 500 MB of it, file-backed and shared) grow with every module
/// added anywhere and are not what a burst of logins costs. Both figures
/// are printed.
const MAX_RSS_KIB: u64 = 64 * 1024;

fn attacker(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, i + 1))
}

/// The real client's address.
const REAL: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// One failed central-control login from `source`; returns once answered
/// (or the connection is closed).
async fn failed_central_login(source: IpAddr, addr: SocketAddr) {
    let stream = connect_from(source, addr).await;
    let Ok(mut c) = CentralClient::over(stream).await else {
        return;
    };
    let _ = c
        .request(&Request::Login {
            user: "mallory".into(),
            password: "not the password".into(),
        })
        .await;
}

async fn failed_web_login(source: IpAddr, addr: SocketAddr) {
    let body = "user=mallory&password=not+the+password&next=%2Fstatus";
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, _) = raw_from(Some(source), addr, &request).await;
    assert_eq!(
        status, 303,
        "a failed login is answered with the form again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_failed_logins_keep_memory_bounded_and_real_clients_served() {
    // It measures this process's memory: no other test may run beside it.
    if !support::process::alone(
        "bursts_of_failed_logins_keep_memory_bounded_and_real_clients_served",
    ) {
        return;
    }
    let running = TestSettings::only(&["panel", "central"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .start_demo()
        .await;
    let central = running.addrs.central.unwrap();
    let panel = running.addrs.panel.unwrap();

    // A central station logged in before the attack, from its own address.
    let mut station = CentralClient::over(connect_from(REAL, central).await)
        .await
        .unwrap();
    station.login(ADMIN, ADMIN_PW).await.unwrap();
    let before = anon_rss_kib();
    println!(
        "allocated before the bursts: {before} KiB (resident with code: {} KiB)",
        rss_kib()
    );

    let mut peak = before;
    for burst in 0..BURSTS {
        let attack = async {
            let central_attack =
                join_all((0..ATTACKERS).map(|i| failed_central_login(attacker(i), central)));
            let web_attack = join_all((0..ATTACKERS).map(|i| failed_web_login(attacker(i), panel)));
            futures::join!(central_attack, web_attack);
        };
        let watch = async {
            // While the burst runs: memory stays under the ceiling, and the
            // station and the panel port keep answering.
            for _ in 0..10 {
                peak = peak.max(anon_rss_kib());
                let reply = station.request(&Request::Status).await.unwrap();
                assert!(matches!(reply, Event::Status { .. }), "{reply:?}");
                let (status, _) = raw_from(
                    Some(REAL),
                    panel,
                    &format!("GET /healthz HTTP/1.1\r\nHost: {panel}\r\nConnection: close\r\n\r\n"),
                )
                .await;
                assert_eq!(status, 200);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(120), async {
            futures::join!(attack, watch)
        })
        .await
        .unwrap_or_else(|_| panic!("burst {burst} was not answered within 120 s"));
        peak = peak.max(anon_rss_kib());
        assert!(
            peak < MAX_RSS_KIB,
            "allocated memory reached {peak} KiB during burst {burst} (before: {before} KiB)"
        );
        // The rightful user logs in at once after each burst.
        let mut real = CentralClient::over(connect_from(REAL, central).await)
            .await
            .unwrap();
        real.login(ADMIN, ADMIN_PW)
            .await
            .unwrap_or_else(|e| panic!("the real login after burst {burst}: {e:#}"));
    }
    println!(
        "peak allocated: {peak} KiB (resident with code now: {} KiB)",
        rss_kib()
    );
}
