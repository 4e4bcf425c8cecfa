//! The `lan` profile's defaults (0.0.0.0, reference ports, broadcast to
//! 255.255.255.255, the multicast group on the LAN interface), tested on a
//! LAN that exists only inside this test's network namespace.

mod support;

use std::net::Ipv4Addr;
use std::time::Duration;

use controller_core::protocol::live::LiveMessage;
use roomctl::cli::discover::discover;
use roomctl::cli::keypad::SimKeypad;
use roomctl::cli::press::CentralClient;
use roomctl::config::{Profile, Settings};
use roomctl::project_store;
use roomctl::services::lan_socket::shared_udp;
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
    assert!(ok && out == "ok\n", "curl https://{LAN_ADDRESS}/: {err}");

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
