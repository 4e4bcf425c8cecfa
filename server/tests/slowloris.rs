//! Slowloris on every TCP port at once: a few hundred connections from one
//! machine (127.0.0.1) send a byte now and then and never finish a request
//! or a login line, while a real client from another machine (127.0.0.2,
//! also this host's loopback) is served on each port: the panel page, a
//! Telnet login, an FTP login and a central-control login. Bounded: at most
//! `PER_PORT` sockets per port, for as long as the real clients take
//! (never more than `ATTACK_LIMIT`).

use crate::support;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use roomctl::cli::press::CentralClient;
use roomctl::security::auth::Role;
use support::ftp::Control;
use support::http::{connect_from, raw_from};
use support::telnet::{read_until, send_line};
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

const PER_PORT: usize = 75;
const TRICKLE: Duration = Duration::from_millis(300);
/// The attack stops by itself after this, whatever happens.
const ATTACK_LIMIT: Duration = Duration::from_secs(30);

/// One slow client: the start of a request, then a byte per [`TRICKLE`],
/// until told to stop or the server closes. Counts itself while connected.
async fn trickle(
    to: SocketAddr,
    start: &'static [u8],
    stop: CancellationToken,
    open: Arc<AtomicUsize>,
) {
    let Ok(Ok(mut s)) = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(to)).await
    else {
        return;
    };
    if s.write_all(start).await.is_err() {
        return;
    }
    open.fetch_add(1, Ordering::Relaxed);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(TRICKLE) => {
                if s.write_all(b"a").await.is_err() {
                    break;
                }
            }
        }
    }
    open.fetch_sub(1, Ordering::Relaxed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_clients_are_served_on_every_port_during_a_slowloris() {
    // In a temporary directory: FTP offers FTPS, so it generates a
    // certificate beside the project directory.
    let env = TestSettings::only(&["panel", "telnet", "ftp", "central"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .user("op", Role::Operator, "operator-secret-1")
        .edit(|s| s.ftp.passive_ports = (52180, 52189))
        .in_tempdir();
    let running = env.start().await;
    let panel = running.addrs.panel.unwrap();
    let telnet = running.addrs.telnet.unwrap();
    let ftp = running.addrs.ftp.unwrap();
    let central = running.addrs.central.unwrap();

    let stop = CancellationToken::new();
    let open = Arc::new(AtomicUsize::new(0));
    let mut attack = tokio::task::JoinSet::new();
    for (to, start) in [
        (panel, &b"GET / HTTP/1.1\r\nHost: room\r\nX-Slow: "[..]),
        (telnet, &b"a"[..]),
        (ftp, &b"USER a"[..]),
        (central, &b"{\"type\":\"login\",\"user\":\""[..]),
    ] {
        for _ in 0..PER_PORT {
            attack.spawn(trickle(to, start, stop.clone(), open.clone()));
        }
    }
    let limit = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(ATTACK_LIMIT).await;
        limit.cancel();
    });
    eventually(
        Duration::from_secs(20),
        "the slow clients are connected",
        || open.load(Ordering::Relaxed) >= 4,
    )
    .await;
    tokio::time::sleep(TRICKLE * 2).await;

    let real: IpAddr = "127.0.0.2".parse().unwrap();
    // The panel page.
    let (status, answer) = raw_from(
        Some(real),
        panel,
        "GET / HTTP/1.1\r\nHost: room\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    // A Telnet login.
    let mut s = connect_from(real, telnet).await;
    read_until(&mut s, "login: ").await;
    send_line(&mut s, ADMIN).await;
    read_until(&mut s, "Password: ").await;
    send_line(&mut s, ADMIN_PW).await;
    read_until(&mut s, "roomctl> ").await;
    // An FTP login.
    let mut c = Control::over(connect_from(real, ftp).await).await;
    let said = c.cmd(&format!("USER {ADMIN}")).await;
    assert!(said.starts_with("331"), "{said}");
    let said = c.cmd(&format!("PASS {ADMIN_PW}")).await;
    assert!(said.starts_with("230"), "{said}");
    // A central-control login.
    let mut client = CentralClient::over(connect_from(real, central).await)
        .await
        .unwrap();
    client.login("op", "operator-secret-1").await.unwrap();

    // The slow clients were still there while all of this was served.
    let still_open = open.load(Ordering::Relaxed);
    assert!(
        still_open > 0,
        "the attack had ended before the clients were served"
    );
    println!("slow connections open at the end: {still_open}");
    stop.cancel();
    while attack.join_next().await.is_some() {}
    running.shutdown().await;
}
