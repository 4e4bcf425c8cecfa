//! LAN lookup (UDP 8000): discover finds every controller, answers are
//! never answered, unicast mode, rate limit, hostile input.

use crate::support;

use std::net::SocketAddr;
use std::time::Duration;

use controller_core::protocol::lookup::{LookupMessage, Service};
use roomctl::cli::discover::{discover, table};
use roomctl::config::ReplyMode;
use support::netns::{in_namespace, Loopback};
use support::settings::LAN_SERVICES;
use support::TestSettings;
use tokio::net::UdpSocket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_controllers_are_both_discovered() {
    if !in_namespace("two_controllers_are_both_discovered", Loopback::Multicast) {
        return;
    }
    // Development defaults: bound to 127.0.0.1:8000, answers broadcast to
    // 127.255.255.255:8000, both controllers share the port.
    let a = TestSettings::only(&LAN_SERVICES)
        .name("Room A")
        .start_demo()
        .await;
    let b = TestSettings::only(&["panel", "apprimo", "lookup", "live", "central"])
        .name("Room B")
        .start_demo()
        .await;
    // The broadcast listening socket is an open port too, listed with it.
    let lookup = a.controller.status().service("lookup").unwrap();
    assert!(
        lookup.endpoint.contains("udp 127.255.255.255:8000"),
        "{}",
        lookup.endpoint
    );

    let found = discover(
        "127.255.255.255:8000".parse().unwrap(),
        Duration::from_millis(800),
    )
    .await
    .unwrap();
    let names: Vec<&str> = found.iter().map(|f| f.id.name.as_str()).collect();
    assert!(
        names.contains(&"Room A") && names.contains(&"Room B"),
        "{found:#?}"
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    let room_a = found.iter().find(|f| f.id.name == "Room A").unwrap();
    assert_eq!(room_a.id.project_name, "Demo meeting room");
    assert_eq!(room_a.id.address, Some("127.0.0.1".parse().unwrap()));
    let central = room_a
        .id
        .services
        .iter()
        .find(|s| s.service == Service::Central)
        .expect("central port listed");
    assert_eq!(Some(central.port), a.addrs.central.map(|c| c.port()));
    println!("{}", table(&found));

    // The command-line tool prints both as a table.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_roomctl"))
        .args(["discover", "--wait-ms", "600"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("NAME"), "{text}");
    assert!(text.contains("Room A") && text.contains("Room B"), "{text}");

    // One request, exactly one answer from each: nobody answers an answer.
    let listener =
        roomctl::services::lan_socket::shared_udp("127.255.255.255:8000".parse().unwrap()).unwrap();
    let asker = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    asker.set_broadcast(true).unwrap();
    asker
        .send_to(
            &LookupMessage::Request { nonce: 99 }.encode(),
            "127.255.255.255:8000",
        )
        .await
        .unwrap();
    let mut replies = 0;
    let mut requests = 0;
    let mut buf = [0u8; 4096];
    while let Ok(Ok((n, _))) =
        tokio::time::timeout(Duration::from_millis(700), listener.recv_from(&mut buf)).await
    {
        match LookupMessage::decode(&buf[..n]) {
            Ok(LookupMessage::Reply(id)) => {
                assert_eq!(id.nonce, 99);
                replies += 1;
            }
            Ok(LookupMessage::Request { .. }) => requests += 1,
            Err(e) => panic!("garbage on port 8000: {e}"),
        }
    }
    assert_eq!((requests, replies), (1, 2));
    a.shutdown().await;
    b.shutdown().await;
}

async fn unicast_controller(max_per_sec: u32) -> (roomctl::runtime::serve::Running, SocketAddr) {
    let running = TestSettings::only(&["panel", "apprimo", "lookup", "live", "central"])
        .name("Unicast room")
        .edit(|s| {
            s.lookup.port = 0;
            s.lookup.reply = ReplyMode::Unicast;
            s.lookup.max_replies_per_sec = max_per_sec;
        })
        .start_demo()
        .await;
    let addr = running.addrs.lookup.unwrap();
    (running, addr)
}

async fn ask(socket: &UdpSocket, to: SocketAddr, nonce: u32) -> Option<LookupMessage> {
    socket
        .send_to(&LookupMessage::Request { nonce }.encode(), to)
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some(LookupMessage::decode(&buf[..n]).unwrap())
}

#[tokio::test]
async fn unicast_mode_answers_the_asker_with_its_nonce() {
    let (running, addr) = unicast_controller(20).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let Some(LookupMessage::Reply(id)) = ask(&socket, addr, 4242).await else {
        panic!("no answer")
    };
    assert_eq!(id.nonce, 4242);
    assert_eq!(id.name, "Unicast room");
    assert!(!id.serial.is_empty() && !id.firmware.is_empty());
    let lookup = id.services.iter().find(|s| s.service == Service::Lookup);
    assert_eq!(lookup.map(|s| s.port), Some(addr.port()));
    running.shutdown().await;
}

#[tokio::test]
async fn answers_are_rate_limited() {
    let (running, addr) = unicast_controller(5).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let start = std::time::Instant::now();
    for nonce in 0..200 {
        socket
            .send_to(&LookupMessage::Request { nonce }.encode(), addr)
            .await
            .unwrap();
    }
    let mut replies = 0u32;
    let mut buf = [0u8; 4096];
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(300), socket.recv_from(&mut buf)).await
    {
        replies += 1;
    }
    // A burst of 5, then 5 per second for as long as requests were arriving.
    let allowed = 5.0 + 5.0 * start.elapsed().as_secs_f64() + 1.0;
    assert!(replies >= 1, "no answer at all");
    assert!(
        (replies as f64) <= allowed,
        "{replies} answers, at most {allowed} allowed"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn garbage_replies_and_oversized_datagrams_get_no_answer_and_real_askers_still_do() {
    let (running, addr) = unicast_controller(1000).await;
    let hostile = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let reply = LookupMessage::Reply(Default::default()).encode();
    let mut request = LookupMessage::Request { nonce: 1 }.encode();
    let truncated = request[..7].to_vec();
    request.push(0); // trailing byte
    let inputs: Vec<Vec<u8>> = vec![
        vec![],
        b"RCLU".to_vec(),
        truncated,
        request,
        reply,
        b"RCLU\x02\x01\0\0\0\0".to_vec(),
        vec![0xff; 3000],
        vec![0x52; 60_000],
    ];
    for _ in 0..50 {
        for input in &inputs {
            hostile.send_to(input, addr).await.unwrap();
        }
    }
    let mut buf = [0u8; 4096];
    let got = tokio::time::timeout(Duration::from_millis(300), hostile.recv_from(&mut buf)).await;
    assert!(got.is_err(), "hostile input was answered");
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    assert!(matches!(
        ask(&socket, addr, 7).await,
        Some(LookupMessage::Reply(_))
    ));
    running.shutdown().await;
}

/// A second network namespace joined to the test's by a veth pair: the
/// other host of a two-host LAN. Deleted when dropped.
struct OtherHost {
    name: String,
}

impl OtherHost {
    fn sh(script: &str) {
        let ok = std::process::Command::new("sh")
            .args(["-c", script])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "cannot set up the two-host LAN: {script}");
    }
}

impl Drop for OtherHost {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Defect 13: on a LAN without a gateway (no default route, as on many AV
/// VLANs) the lan profile's answer to 255.255.255.255 had no route: it goes
/// to the broadcast address of the network the request came from, and
/// `roomctl discover` on the other host finds the controller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_works_on_a_lan_without_a_default_route() {
    if !in_namespace(
        "discovery_works_on_a_lan_without_a_default_route",
        Loopback::Plain,
    ) {
        return;
    }
    // This namespace is host A (10.9.0.1/24 on v0); host B is a namespace
    // of its own (10.9.0.2/24 on v1). No default route on either.
    let other = OtherHost {
        name: format!("roomctl-test-b-{}", std::process::id()),
    };
    let b = &other.name;
    OtherHost::sh(&format!(
        "ip netns add {b} \
         && ip link add v0 type veth peer name v1 netns {b} \
         && ip addr add 10.9.0.1/24 brd + dev v0 && ip link set v0 up \
         && ip -n {b} link set lo up \
         && ip -n {b} addr add 10.9.0.2/24 brd + dev v1 && ip -n {b} link set v1 up"
    ));
    let routes = std::process::Command::new("ip")
        .args(["route", "show", "default"])
        .output()
        .unwrap();
    assert!(routes.stdout.is_empty(), "no default route in this test");

    let mut s = roomctl::config::Settings::defaults(roomctl::config::Profile::Lan);
    // Lookup (and central, which it lists) only.
    for enabled in [
        &mut s.panel.enabled,
        &mut s.apprimo.enabled,
        &mut s.https.enabled,
        &mut s.live.enabled,
        &mut s.extension.enabled,
        &mut s.telnet.enabled,
        &mut s.ftp.enabled,
        &mut s.logic.enabled,
    ] {
        *enabled = false;
    }
    s.central.port = 0;
    s.audit.file = Default::default();
    s.identity.name = "Isolated room".into();
    let running = support::start(s, roomctl::storage::project_store::demo()).await;

    let out = tokio::process::Command::new("ip")
        .args(["netns", "exec", b, env!("CARGO_BIN_EXE_roomctl")])
        .args(["discover", "--to", "255.255.255.255", "--wait-ms", "1500"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}{err}");
    assert!(text.contains("Isolated room"), "{text}{err}");
    assert!(text.contains("10.9.0.1"), "{text}{err}");
    // The answer went by the LAN's broadcast address, not by the fallback
    // to the asker (which is logged).
    let log = running.controller.log().recent(100);
    assert!(
        !log.iter().any(|l| l.contains("lookup: cannot send")),
        "{log:#?}"
    );

    // An asker on no network of ours with a broadcast address (loopback
    // here): 255.255.255.255 has no route, so the answer goes to the asker,
    // and the failure is logged once (then counted until the next report).
    let asker = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for nonce in [1, 2] {
        asker
            .send_to(&LookupMessage::Request { nonce }.encode(), "127.0.0.1:8000")
            .await
            .unwrap();
        let mut buf = [0u8; 4096];
        let (n, _) = tokio::time::timeout(Duration::from_secs(10), asker.recv_from(&mut buf))
            .await
            .expect("the asker gets the answer")
            .unwrap();
        assert!(matches!(
            LookupMessage::decode(&buf[..n]),
            Ok(LookupMessage::Reply(id)) if id.nonce == nonce
        ));
    }
    let log = running.controller.log().recent(100);
    let reported: Vec<_> = log
        .iter()
        .filter(|l| l.contains("lookup: cannot send the answer to 255.255.255.255:8000"))
        .collect();
    assert_eq!(reported.len(), 1, "{log:#?}");
    assert!(reported[0].contains("answered 127.0.0.1:"), "{reported:?}");
    running.shutdown().await;
}

/// Issue 20 item 10: the controller's address was added without a
/// broadcast address (`ip addr add 10.77.0.21/24 dev v0`, no `brd`), as
/// the other host's. The answer to a lookup goes to the network's
/// broadcast address computed from address and prefix (it went to the
/// controller's own address), and `roomctl discover` on the other host
/// (which asks on its own network the same way) finds the controller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_works_on_an_address_without_a_broadcast_address() {
    if !in_namespace(
        "discovery_works_on_an_address_without_a_broadcast_address",
        Loopback::Plain,
    ) {
        return;
    }
    let other = OtherHost {
        name: format!("roomctl-test-nobrd-{}", std::process::id()),
    };
    let b = &other.name;
    OtherHost::sh(&format!(
        "ip netns add {b} \
         && ip link add v0 type veth peer name v1 netns {b} \
         && ip addr add 10.77.0.21/24 dev v0 && ip link set v0 up \
         && ip -n {b} link set lo up \
         && ip -n {b} addr add 10.77.0.22/24 dev v1 && ip -n {b} link set v1 up"
    ));
    let shown = std::process::Command::new("ip")
        .args(["-4", "addr", "show", "dev", "v0"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("10.77.0.21/24") && !shown.contains(" brd "),
        "no broadcast address on v0: {shown}"
    );

    let mut s = roomctl::config::Settings::defaults(roomctl::config::Profile::Lan);
    for enabled in [
        &mut s.panel.enabled,
        &mut s.apprimo.enabled,
        &mut s.https.enabled,
        &mut s.live.enabled,
        &mut s.extension.enabled,
        &mut s.telnet.enabled,
        &mut s.ftp.enabled,
        &mut s.logic.enabled,
    ] {
        *enabled = false;
    }
    s.central.port = 0;
    s.audit.file = Default::default();
    s.identity.name = "Room without brd".into();
    let running = support::start(s, roomctl::storage::project_store::demo()).await;

    let out = tokio::process::Command::new("ip")
        .args(["netns", "exec", b, env!("CARGO_BIN_EXE_roomctl")])
        .args(["discover", "--to", "255.255.255.255", "--wait-ms", "1500"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}{err}");
    assert!(text.contains("Room without brd"), "{text}{err}");
    assert!(text.contains("10.77.0.21"), "{text}{err}");
    // Asked on the other host's network's broadcast address, computed.
    assert!(err.contains("asked on 10.77.0.255"), "{err}");
    // Answered by broadcast, not by the fallback to the asker.
    let log = running.controller.log().recent(100);
    assert!(
        !log.iter().any(|l| l.contains("lookup: cannot send")),
        "{log:#?}"
    );

    // A plain asker on the other host (its own socket, nothing of ours)
    // sends to the network's broadcast address and, listening on port
    // 8000 of that address, hears the controller's broadcast answer.
    let script = "import socket,sys\n\
        l=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
        l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
        l.bind(('10.77.0.255',8000)); l.settimeout(10)\n\
        a=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
        a.setsockopt(socket.SOL_SOCKET,socket.SO_BROADCAST,1)\n\
        a.sendto(bytes.fromhex(sys.argv[1]),('10.77.0.255',8000))\n\
        while True:\n\
        \x20   d,f=l.recvfrom(4096)\n\
        \x20   if f[0]!='10.77.0.22': print(f[0]); print(d.hex()); break\n";
    let request = LookupMessage::Request { nonce: 2020 }.encode();
    let hex: String = request.iter().map(|b| format!("{b:02x}")).collect();
    let out = tokio::process::Command::new("ip")
        .args(["netns", "exec", b, "python3", "-c", script, &hex])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = said.lines();
    assert_eq!(lines.next(), Some("10.77.0.21"), "{said}");
    let hex = lines.next().expect("the answer, in hex");
    let answer: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert!(
        matches!(LookupMessage::decode(&answer), Ok(LookupMessage::Reply(id)) if id.nonce == 2020),
        "{said}"
    );
    running.shutdown().await;
}
