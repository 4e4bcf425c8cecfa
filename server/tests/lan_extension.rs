//! Extension devices on 224.10.10.25:7979, each test in its own network
//! namespace: keypads go online and offline, presses reach the engine, LEDs
//! come back, the service joins the group, hostile datagrams harm nothing.

use crate::support;

use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use controller_core::protocol::central::{Event, Request};
use controller_core::protocol::extension::{ExtensionMessage, KeyAction};
use controller_core::protocol::live_broadcast::LiveMessage;
use controller_core::view::ServiceState;
use roomctl::cli::keypad::SimKeypad;
use roomctl::cli::press::CentralClient;
use roomctl::runtime::serve::Running;
use support::netns::{in_namespace, Loopback};
use support::settings::LAN_SERVICES;
use support::{eventually, TestSettings};

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 10, 10, 25);

fn online(running: &Running, id: &str) -> Option<bool> {
    running
        .controller
        .status()
        .devices()
        .into_iter()
        .find(|d| d.id == id)
        .map(|d| d.online)
}

fn keypad(id: &str, keys: &[&str]) -> SimKeypad {
    SimKeypad::join(
        id,
        keys.iter().map(|k| k.to_string()).collect(),
        GROUP,
        7979,
        Ipv4Addr::LOCALHOST,
        0,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keypad_goes_online_and_offline_ten_seconds_after_it_is_killed() {
    if !in_namespace(
        "a_keypad_goes_online_and_offline_ten_seconds_after_it_is_killed",
        Loopback::Multicast,
    ) {
        return;
    }
    let running = TestSettings::only(&LAN_SERVICES)
        .name("Keypad room")
        .start_demo()
        .await;
    assert_eq!(
        running
            .controller
            .status()
            .service("extension")
            .unwrap()
            .state,
        ServiceState::Listening
    );
    // IGMP membership: the kernel lists the group on lo.
    let maddr = std::process::Command::new("ip")
        .args(["maddr", "show", "dev", "lo"])
        .output()
        .unwrap();
    let maddr = String::from_utf8_lossy(&maddr.stdout);
    assert!(maddr.contains("224.10.10.25"), "{maddr}");

    // The live stream reports it too.
    let watch =
        roomctl::services::lan_socket::shared_udp("127.255.255.255:8001".parse().unwrap()).unwrap();

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roomctl"))
        .args(["keypad", "--id", "kp-real", "--keys", "mute"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    eventually(Duration::from_secs(10), "the keypad comes online", || {
        online(&running, "kp-real") == Some(true)
    })
    .await;
    let mut buf = [0u8; 65536];
    let mut saw_online = false;
    while let Ok(Ok((n, _))) =
        tokio::time::timeout(Duration::from_secs(2), watch.recv_from(&mut buf)).await
    {
        if let Ok(LiveMessage::Device {
            id, online: true, ..
        }) = LiveMessage::decode(&buf[..n])
        {
            saw_online = id == "kp-real";
            break;
        }
    }
    assert!(saw_online, "no online datagram on 8001");

    // Killed (no goodbye): offline after the 10 s of silence.
    child.kill().await.unwrap();
    let killed = Instant::now();
    eventually(Duration::from_secs(20), "the keypad goes offline", || {
        online(&running, "kp-real") == Some(false)
    })
    .await;
    println!(
        "offline {:.1} s after the kill",
        killed.elapsed().as_secs_f64()
    );
    let log = running.controller.log().recent(50).join("\n");
    assert!(log.contains("kp-real (keypad) online"), "{log}");
    assert!(log.contains("kp-real (keypad) offline"), "{log}");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keypad_presses_reach_the_engine_and_its_leds_come_back() {
    if !in_namespace(
        "keypad_presses_reach_the_engine_and_its_leds_come_back",
        Loopback::Multicast,
    ) {
        return;
    }
    let running = TestSettings::only(&LAN_SERVICES)
        .name("Keypad room")
        .edit(|s| s.central.require_login = false)
        .start_demo()
        .await;
    // A central-control subscriber hears about devices too.
    let mut central = CentralClient::connect(&running.addrs.central.unwrap().to_string())
        .await
        .unwrap();
    central.request(&Request::Subscribe).await.unwrap();
    let mut kp = keypad("kp-sim", &["mute", "display_power"]);
    kp.announce().await.unwrap();
    // The answer to an announcement: every key's LED.
    let leds = tokio::time::timeout(Duration::from_secs(5), kp.next_leds())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(leds.len(), 2);
    assert!(leds.iter().all(|(_, l)| !l.mode.is_lit()));

    match central.next_event().await.unwrap() {
        Event::Device {
            id, online, kind, ..
        } => {
            assert_eq!(
                (id.as_str(), online, kind.as_str()),
                ("kp-sim", true, "keypad")
            )
        }
        other => panic!("expected a device event, got {other:?}"),
    }

    kp.key("mute", KeyAction::Press).await.unwrap();
    // The step's LED message (a keep-alive may bring a full one first).
    tokio::time::timeout(Duration::from_secs(5), async {
        while !kp.leds["mute"].mode.is_lit() {
            kp.next_leds().await.unwrap();
        }
    })
    .await
    .expect("the keypad's mute LED lights");
    let snapshot = running.controller.snapshot();
    assert!(snapshot.buttons["mute"].latched);
    kp.key("mute", KeyAction::Release).await.unwrap();
    eventually(Duration::from_secs(5), "mute is released", || {
        !running.controller.snapshot().buttons["mute"].held
    })
    .await;

    // A retransmitted key message (same seq) is not a second press.
    let revision = running.controller.revision();
    let repeat = ExtensionMessage::Key {
        device: "kp-sim".into(),
        seq: 77,
        action: KeyAction::Press,
        button: "display_power".into(),
    };
    kp.send(&repeat).await.unwrap();
    kp.send(&repeat).await.unwrap();
    eventually(Duration::from_secs(5), "the key message is applied", || {
        running.controller.revision() > revision
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(running.controller.revision(), revision + 1);
    assert!(running.controller.snapshot().buttons["display_power"].latched);

    // A late copy of an earlier message (a lower seq) is not applied, nor
    // is a key the keypad never announced; then a fresh key message (sent
    // last on the same socket, so handled last) is.
    let revision = running.controller.revision();
    for (seq, action, button) in [
        (76, KeyAction::Release, "display_power"),
        (78, KeyAction::Press, "light_full"),
        (79, KeyAction::Press, "mute"),
    ] {
        let key = ExtensionMessage::Key {
            device: "kp-sim".into(),
            seq,
            action,
            button: button.into(),
        };
        kp.send(&key).await.unwrap();
    }
    eventually(
        Duration::from_secs(5),
        "the fresh key message is applied",
        || running.controller.revision() > revision,
    )
    .await;
    let snapshot = running.controller.snapshot();
    assert!(
        snapshot.buttons["display_power"].held,
        "the late release was applied"
    );
    assert!(
        !snapshot.buttons["light_full"].held,
        "an unannounced key was applied"
    );
    assert_eq!(running.controller.revision(), revision + 1);

    // Goodbye: offline at once, and what it held is released.
    kp.goodbye().await.unwrap();
    eventually(
        Duration::from_secs(5),
        "the keypad is offline after goodbye",
        || online(&running, "kp-sim") == Some(false),
    )
    .await;
    eventually(
        Duration::from_secs(5),
        "the keys the keypad held are released",
        || {
            let b = &running.controller.snapshot().buttons;
            !b["display_power"].held && !b["mute"].held
        },
    )
    .await;
    running.shutdown().await;
}

#[tokio::test]
async fn without_multicast_on_loopback_the_service_fails_with_the_reason() {
    if !in_namespace(
        "without_multicast_on_loopback_the_service_fails_with_the_reason",
        Loopback::Plain,
    ) {
        return;
    }
    let running = TestSettings::only(&LAN_SERVICES)
        .name("Plain room")
        .start_demo()
        .await;
    let state = running
        .controller
        .status()
        .service("extension")
        .unwrap()
        .state;
    let ServiceState::Failed(why) = state else {
        panic!("extension is {state:?}")
    };
    assert!(why.contains("MULTICAST"), "{why}");
    // The rest runs.
    assert_eq!(
        running
            .controller
            .status()
            .service("central")
            .unwrap()
            .state,
        ServiceState::Listening
    );
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_floods_on_the_bus_leave_the_registry_bounded_and_keypads_served() {
    if !in_namespace(
        "garbage_and_floods_on_the_bus_leave_the_registry_bounded_and_keypads_served",
        Loopback::Multicast,
    ) {
        return;
    }
    let running = TestSettings::only(&LAN_SERVICES)
        .name("Flood room")
        .edit(|s| s.extension.max_devices = 16)
        .start_demo()
        .await;
    let flood = keypad("flood", &[]);
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        b"RCXB".to_vec(),
        b"RCXB\x01\x02".to_vec(),
        b"RCXB\x02\x02\x01a".to_vec(),
        vec![0xAA; 9000],
        vec![0; 1],
    ];
    let valid = ExtensionMessage::Key {
        device: "x".into(),
        seq: 1,
        action: KeyAction::Press,
        button: "mute".into(),
    }
    .encode();
    for cut in 0..valid.len() {
        inputs.push(valid[..cut].to_vec());
    }
    for _ in 0..200 {
        for input in &inputs {
            flood.send_raw(input).await;
        }
    }
    // (A flood overflows the socket's receive buffer: let it drain.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    // 100 distinct devices: the registry keeps at most 16.
    let ghost = |i: usize| ExtensionMessage::Announce {
        device: format!("ghost-{i}"),
        kind: "keypad".into(),
        firmware: String::new(),
        keys: vec![],
    };
    for i in 0..100 {
        flood.send(&ghost(i)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let devices = running.controller.status().devices();
    assert!(
        devices.len() <= 16 && !devices.is_empty(),
        "{}",
        devices.len()
    );
    assert!(!running.controller.snapshot().buttons["mute"].held);
    // The ghosts go away; offline ones make room for new devices.
    for i in 0..100 {
        flood
            .send(&ExtensionMessage::Goodbye {
                device: format!("ghost-{i}"),
            })
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut kp = keypad("kp-after", &["mute"]);
    kp.announce().await.unwrap();
    let leds = tokio::time::timeout(Duration::from_secs(5), kp.next_leds())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(leds.len(), 1);
    eventually(Duration::from_secs(5), "the new keypad is online", || {
        online(&running, "kp-after") == Some(true)
    })
    .await;
    running.shutdown().await;
}
