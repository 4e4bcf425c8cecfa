//! The `lan` profile's defaults (0.0.0.0, reference ports, broadcast to
//! 255.255.255.255, the multicast group on the LAN interface), tested on a
//! LAN that exists only inside this test's network namespace.

use crate::support;

use std::net::Ipv4Addr;
use std::time::Duration;

use controller_core::protocol::live_broadcast::LiveMessage;
use roomctl::cli::discover::discover;
use roomctl::cli::keypad::SimKeypad;
use roomctl::cli::press::CentralClient;
use roomctl::config::{Profile, Settings};
use roomctl::services::lan_socket::shared_udp;
use roomctl::storage::project_store;
use support::eventually;
use support::netns::{in_namespace, Loopback, LAN_ADDRESS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lan_defaults_discover_live_central_and_keypads() {
    if !in_namespace(
        "lan_defaults_discover_live_central_and_keypads",
        Loopback::Lan,
    ) {
        return;
    }
    // The profile's own defaults (ports included): they are what is tested.
    let mut s = Settings::defaults(Profile::Lan);
    s.central.require_login = false;
    s.identity.serial = "RC-LAN-TEST".into();
    // The project directory, and the certificate generated beside it.
    let dir = tempfile::tempdir().unwrap();
    s.project.dir = dir.path().join("project");
    let running = support::start(s, project_store::demo()).await;
    assert_eq!(running.addrs.central.unwrap().port(), 5009);

    // HTTPS on 443, with a certificate generated for the LAN address.
    assert_eq!(running.addrs.https.unwrap().port(), 443);
    let cert = dir.path().join("tls").join("cert.pem");
    let (ok, out, err) = support::run(
        "curl",
        &[
            "-sS",
            "--cacert",
            cert.to_str().unwrap(),
            &format!("https://{LAN_ADDRESS}/healthz"),
        ],
    )
    .await;
    // The demo's devices are not running here, so the room is "degraded"
    // (503 with the reasons); what counts is that HTTPS answers on the LAN.
    assert!(
        ok && (out == "ok\n" || out.starts_with("degraded")),
        "curl https://{LAN_ADDRESS}/: {out} {err}"
    );

    // Discovery by limited broadcast finds it at its LAN address.
    let found = discover(
        "255.255.255.255:8000".parse().unwrap(),
        Duration::from_millis(700),
    )
    .await
    .unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].id.address, Some(LAN_ADDRESS.parse().unwrap()));

    // A keypad on the LAN interface: online, LEDs back.
    let lan: Ipv4Addr = LAN_ADDRESS.parse().unwrap();
    let mut kp = SimKeypad::join(
        "kp-lan",
        vec!["mute".into()],
        Ipv4Addr::new(224, 10, 10, 25),
        7979,
        lan,
        1,
    )
    .unwrap();
    kp.announce().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), kp.next_leds())
        .await
        .unwrap()
        .unwrap();
    let controller = running.controller.clone();
    eventually(Duration::from_secs(5), "the keypad is online", || {
        controller
            .status()
            .devices()
            .iter()
            .any(|d| d.id == "kp-lan" && d.online)
    })
    .await;
    let maddr = std::process::Command::new("ip")
        .args(["maddr", "show", "dev", "v0"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&maddr.stdout).contains("224.10.10.25"));

    // A press over 5009 is broadcast on 8001.
    let watch = shared_udp("0.0.0.0:8001".parse().unwrap()).unwrap();
    let mut client = CentralClient::connect(&format!("{LAN_ADDRESS}:5009"))
        .await
        .unwrap();
    client.press("mute").await.unwrap();
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), watch.recv_from(&mut buf))
            .await
            .expect("a live datagram")
            .unwrap();
        if let Ok(LiveMessage::Changes { leds, .. }) = LiveMessage::decode(&buf[..n]) {
            assert_eq!(leds[0].button, "mute");
            break;
        }
    }
    running.shutdown().await;
}

/// Issue 20 item 9: `[network] bind` is every service's default bind
/// address. Two controllers on one host, one with `bind = "127.0.0.2"`,
/// both serve on the same (default) ports; a client from a third address
/// reaches each at its own address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_bind_lets_two_controllers_share_the_ports() {
    if !in_namespace(
        "network_bind_lets_two_controllers_share_the_ports",
        Loopback::Multicast,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let settings = |bind: &str, name: &str| {
        // As the settings file says it: only [network] bind, no service's own.
        let mut s = Settings::from_toml(
            &format!("[network]\nbind = \"{bind}\"\n[identity]\nname = \"{name}\"\n"),
            None,
        )
        .unwrap();
        s.project.dir = dir.path().join(bind).join("project");
        s.audit.file = Default::default();
        // Telnet and FTP serve once there is an admin.
        s.users.push(support::settings::user(
            support::ADMIN,
            roomctl::security::auth::Role::Admin,
            support::ADMIN_PW,
        ));
        s
    };
    let a = support::start(settings("127.0.0.1", "Room A"), project_store::demo()).await;
    let b = support::start(settings("127.0.0.2", "Room B"), project_store::demo()).await;

    let tcp = ["panel", "apprimo", "https", "central", "telnet", "ftp"];
    for name in tcp.iter().chain(&["lookup"]) {
        let at = |r: &roomctl::runtime::serve::Running| r.controller.status().service_addr(name);
        let (Some(on_a), Some(on_b)) = (at(&a), at(&b)) else {
            panic!(
                "{name} serves on both: {:?} / {:?}",
                a.controller.status().service(name),
                b.controller.status().service(name)
            );
        };
        assert_eq!(on_a.ip().to_string(), "127.0.0.1", "{name}");
        assert_eq!(on_b.ip().to_string(), "127.0.0.2", "{name}");
        assert_eq!(on_a.port(), on_b.port(), "{name} on the same port");
    }
    // Live updates send from an ephemeral port of the bind address.
    let live = b.controller.status().service_addr("live").unwrap();
    assert_eq!(live.ip().to_string(), "127.0.0.2");
    // A browser on a third address gets each controller's own login page.
    let client: std::net::IpAddr = "127.0.0.3".parse().unwrap();
    for (host, name) in [("127.0.0.1", "Room A"), ("127.0.0.2", "Room B")] {
        let panel: std::net::SocketAddr = format!("{host}:3000").parse().unwrap();
        let (status, page) = support::http::raw_from(
            Some(client),
            panel,
            &format!("GET /login HTTP/1.1\r\nHost: {panel}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains(&format!("Log in to {name}")), "{page}");
    }
    // Lookup: each answers with its own address.
    let found = discover(
        "127.255.255.255:8000".parse().unwrap(),
        Duration::from_millis(800),
    )
    .await
    .unwrap();
    let address = |name: &str| {
        found
            .iter()
            .find(|f| f.id.name == name)
            .and_then(|f| f.id.address)
            .map(|a| a.to_string())
    };
    assert_eq!(
        address("Room A").as_deref(),
        Some("127.0.0.1"),
        "{found:#?}"
    );
    assert_eq!(
        address("Room B").as_deref(),
        Some("127.0.0.2"),
        "{found:#?}"
    );
    a.shutdown().await;
    b.shutdown().await;
}
