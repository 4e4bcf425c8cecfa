//! Central control (TCP 5009): a press produces the 8001 datagram and the
//! panel update; login, roles, allow-list, limits, slow and hostile clients.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use controller_core::protocol::central::{ErrorCode, Event, Request};
use controller_core::protocol::live::LiveMessage;
use controller_core::protocol::panel::ServerMessage;
use roomctl::auth::Role;
use roomctl::cli::press::CentralClient;
use roomctl::serve::Running;
use support::panel::{panel, recv_data};
use support::{eventually, press, rss_kib, TestSettings};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UdpSocket};

const OPERATOR_PASSWORD: &str = "operator password";
const VIEWER_PASSWORD: &str = "viewer password";

/// Central control and the two HTTP ports, an operator and a viewer.
fn central_settings() -> TestSettings {
    TestSettings::only(&["panel", "apprimo", "central"])
        .name("Central room")
        .user("op", Role::Operator, OPERATOR_PASSWORD)
        .user("view", Role::Viewer, VIEWER_PASSWORD)
}

fn central_addr(r: &Running) -> String {
    r.addrs.central.unwrap().to_string()
}

async fn operator(r: &Running) -> CentralClient {
    let mut c = CentralClient::connect(&central_addr(r)).await.unwrap();
    assert!(c.login_required);
    c.login("op", OPERATOR_PASSWORD).await.unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_press_over_central_reaches_the_live_datagram_and_the_panel() {
    // The live updates go to this test's socket on loopback.
    let live = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let live_port = live.local_addr().unwrap().port();
    let running = central_settings()
        .edit(|s| {
            s.live.enabled = true;
            s.live.destination = "127.0.0.1".parse().unwrap();
            s.live.port = live_port;
        })
        .start_demo()
        .await;

    // A panel on the live WebSocket.
    let (mut ws, snapshot) = panel(running.addrs.panel.unwrap(), "tablet").await;
    let base = snapshot.revision;

    let mut client = operator(&running).await;
    client.press("mute").await.unwrap();

    // 8001: one datagram with the step's revision and the LED.
    let mut buf = [0u8; 65536];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), live.recv_from(&mut buf))
        .await
        .expect("a live datagram")
        .unwrap();
    let LiveMessage::Changes { revision, leds, .. } = LiveMessage::decode(&buf[..n]).unwrap()
    else {
        panic!("not a changes datagram")
    };
    assert_eq!(revision, base + 1);
    assert_eq!(leds.len(), 1);
    assert_eq!(leds[0].button, "mute");
    assert!(leds[0].led.mode.is_lit());

    // The panel: the same step.
    let step = loop {
        if let ServerMessage::Step { step, .. } = recv_data(&mut ws).await {
            break step;
        }
    };
    assert_eq!(step.revision, revision);
    assert_eq!(
        step.leds().next().map(|(b, l)| (b.to_string(), l)),
        Some(("mute".to_string(), leds[0].led))
    );
    running.shutdown().await;
}

#[tokio::test]
async fn login_roles_and_errors_with_reasons() {
    let running = central_settings().start_demo().await;
    let addr = central_addr(&running);

    let mut anon = CentralClient::connect(&addr).await.unwrap();
    let e = anon.press("mute").await.unwrap_err().to_string();
    assert!(e.contains("LoginRequired"), "{e}");
    let pong = anon.request(&Request::Ping { seq: 5 }).await.unwrap();
    assert_eq!(pong, Event::Pong { seq: 5 });
    let e = anon
        .request(&Request::Hello {
            protocol: 2,
            client: String::new(),
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("UnsupportedVersion"), "{e}");

    let mut viewer = CentralClient::connect(&addr).await.unwrap();
    viewer.login("view", VIEWER_PASSWORD).await.unwrap();
    assert!(matches!(
        viewer.request(&Request::Status).await.unwrap(),
        Event::Status {
            subscribed: false,
            ..
        }
    ));
    let e = viewer.press("mute").await.unwrap_err().to_string();
    assert!(e.contains("Forbidden"), "{e}");

    let mut op = operator(&running).await;
    let e = op.press("no_such_button").await.unwrap_err().to_string();
    assert!(e.contains("UnknownButton"), "{e}");
    op.press("mute").await.unwrap();
    assert!(running.controller.snapshot().buttons["mute"].held);
    // A client that goes away releases what it holds.
    drop(op);
    eventually(
        Duration::from_secs(5),
        "the client's press is released",
        || !running.controller.snapshot().buttons["mute"].held,
    )
    .await;

    // Three wrong passwords: disconnected with the reason.
    let mut guesser = CentralClient::connect(&addr).await.unwrap();
    for _ in 0..2 {
        let e = guesser.login("op", "guess").await.unwrap_err();
        assert!(format!("{e:#}").contains("WrongCredentials"), "{e:#}");
    }
    guesser
        .send(&Request::Login {
            user: "op".into(),
            password: "guess".into(),
        })
        .await
        .unwrap();
    assert!(matches!(
        guesser.next_event().await.unwrap(),
        Event::Bye {
            code: ErrorCode::WrongCredentials,
            ..
        }
    ));
    assert!(guesser.next_event().await.is_err());
    running.shutdown().await;
}

#[tokio::test]
async fn subscribers_get_every_step_in_revision_order() {
    let running = central_settings().start_demo().await;
    let mut watcher = operator(&running).await;
    let Event::Status {
        subscribed: true,
        snapshot,
    } = watcher.request(&Request::Subscribe).await.unwrap()
    else {
        panic!("no status")
    };
    let mut presser = operator(&running).await;
    for _ in 0..20 {
        presser.press("display_power").await.unwrap();
    }
    let mut expected = snapshot.revision + 1;
    while expected <= snapshot.revision + 20 {
        match watcher.next_event().await.unwrap() {
            Event::Step { step } => {
                assert_eq!(step.revision, expected);
                expected += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(matches!(
        watcher.request(&Request::Unsubscribe).await.unwrap(),
        Event::Ok { .. }
    ));
    running.shutdown().await;
}

async fn read_line(r: &mut BufReader<TcpStream>) -> Event {
    let mut line = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), r.read_until(b'\n', &mut line))
        .await
        .unwrap()
        .unwrap();
    Event::decode(&line).unwrap()
}

async fn raw(addr: &str) -> BufReader<TcpStream> {
    let mut r = BufReader::new(TcpStream::connect(addr).await.unwrap());
    assert!(matches!(read_line(&mut r).await, Event::Hello { .. }));
    r
}

#[tokio::test]
async fn oversized_garbage_and_truncated_lines_get_errors_and_the_connection_lives() {
    let running = central_settings()
        .edit(|s| {
            s.central.require_login = false;
        })
        .start_demo()
        .await;
    let addr = central_addr(&running);
    let before = rss_kib();

    let mut c = raw(&addr).await;
    for (input, code) in [
        (b"not json\n".to_vec(), ErrorCode::Malformed),
        (b"\xff\xfe\x00garbage\n".to_vec(), ErrorCode::Malformed),
        (b"{\"type\":\"press\"}\n".to_vec(), ErrorCode::Malformed),
        (
            b"{\"type\":\"press\",\"button\":\"mute\",\"as\":\"admin\"}\n".to_vec(),
            ErrorCode::Malformed,
        ),
        (
            [vec![b'x'; 10_000], b"\n".to_vec()].concat(),
            ErrorCode::TooLarge,
        ),
    ] {
        c.get_mut().write_all(&input).await.unwrap();
        match read_line(&mut c).await {
            Event::Error { code: got, .. } => assert_eq!(
                got,
                code,
                "{:?}",
                String::from_utf8_lossy(&input[..input.len().min(40)])
            ),
            other => panic!("{other:?}"),
        }
    }
    // 20 MB without a newline: discarded as it arrives, one error.
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..20 {
        c.get_mut().write_all(&chunk).await.unwrap();
    }
    c.get_mut()
        .write_all(b"\n{\"type\":\"ping\",\"seq\":1}\n")
        .await
        .unwrap();
    assert!(matches!(
        read_line(&mut c).await,
        Event::Error {
            code: ErrorCode::TooLarge,
            ..
        }
    ));
    assert_eq!(read_line(&mut c).await, Event::Pong { seq: 1 });
    let grown = rss_kib().saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "memory grew by {grown} KiB for 20 MB of one line"
    );

    // A truncated request (no newline) and a vanished client harm nothing.
    let mut t = TcpStream::connect(&addr).await.unwrap();
    t.write_all(b"{\"type\":\"pre").await.unwrap();
    drop(t);
    let mut good = CentralClient::connect(&addr).await.unwrap();
    good.press("mute").await.unwrap();
    running.shutdown().await;
}

#[tokio::test]
async fn connection_cap_and_allow_list_refuse_with_a_reason() {
    let running = central_settings()
        .edit(|s| {
            s.central.max_connections = 2;
        })
        .start_demo()
        .await;
    let addr = central_addr(&running);
    // One address may hold only half of the places: the second client
    // comes from another address of this host.
    let mut a = CentralClient::connect(&addr).await.unwrap();
    let other = support::http::connect_from([127, 0, 0, 2].into(), addr.parse().unwrap()).await;
    let _b = CentralClient::over(other).await.unwrap();
    let mut third = BufReader::new(TcpStream::connect(&addr).await.unwrap());
    assert!(matches!(
        read_line(&mut third).await,
        Event::Bye {
            code: ErrorCode::TooManyConnections,
            ..
        }
    ));
    assert_eq!(
        a.request(&Request::Ping { seq: 1 }).await.unwrap(),
        Event::Pong { seq: 1 }
    );
    running.shutdown().await;

    let running = central_settings()
        .edit(|s| {
            s.central.allow = roomctl::access::AllowList::parse(&["10.0.0.0/8"]).unwrap();
        })
        .start_demo()
        .await;
    let mut refused = BufReader::new(TcpStream::connect(central_addr(&running)).await.unwrap());
    assert!(matches!(
        read_line(&mut refused).await,
        Event::Bye {
            code: ErrorCode::NotAllowed,
            ..
        }
    ));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_is_disconnected_and_never_blocks_the_others() {
    let running = central_settings()
        .edit(|s| {
            s.central.require_login = false;
            s.central.max_queue = 16;
        })
        .start_demo()
        .await;
    let addr = central_addr(&running);

    // Subscribes, then reads nothing.
    let mut slow = raw(&addr).await;
    slow.get_mut()
        .write_all(&Request::Subscribe.encode())
        .await
        .unwrap();
    let mut fast = CentralClient::connect(&addr).await.unwrap();

    // Far more steps than the socket buffers hold.
    for _ in 0..60_000 {
        press(&running.controller, "display_power");
        if running.controller.revision() % 5000 == 0 {
            tokio::task::yield_now().await;
        }
    }
    // The other client is answered meanwhile.
    assert_eq!(
        fast.request(&Request::Ping { seq: 2 }).await.unwrap(),
        Event::Pong { seq: 2 }
    );

    // The slow one was cut off: its stream ends well before 60,000 steps.
    // It reads late (as a client that stalled for a moment does) and still
    // gets whole lines and the reason.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut steps = 0;
    let mut last = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = tokio::time::timeout(Duration::from_secs(10), slow.read_until(b'\n', &mut line))
            .await
            .expect("the slow client's stream ends")
            .unwrap();
        if n == 0 {
            break;
        }
        match Event::decode(&line) {
            Ok(Event::Step { .. }) => steps += 1,
            Ok(e) => last = Some(e),
            Err(e) => panic!(
                "a cut or garbled line: {e}: {:?}",
                String::from_utf8_lossy(&line)
            ),
        }
    }
    assert!(steps < 60_000, "{steps} steps");
    assert!(
        matches!(
            &last,
            Some(Event::Bye {
                code: ErrorCode::SlowConsumer,
                ..
            })
        ),
        "the last line is the slow_consumer bye, not {last:?}"
    );
    println!("slow client got {steps} steps, then {last:?}");
    assert_eq!(
        fast.request(&Request::Ping { seq: 3 }).await.unwrap(),
        Event::Pong { seq: 3 }
    );
    running.shutdown().await;
}

#[tokio::test]
async fn a_flood_of_connections_and_bytes_leaves_real_clients_served() {
    let running = central_settings()
        .edit(|s| {
            s.central.require_login = false;
            s.central.max_connections = 50;
        })
        .start_demo()
        .await;
    let addr: SocketAddr = running.addrs.central.unwrap();
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        tasks.push(tokio::spawn(async move {
            let Ok(mut s) = TcpStream::connect(addr).await else {
                return;
            };
            let junk: Vec<u8> = (0..4096u32)
                .map(|j| (i.wrapping_mul(31) ^ j) as u8)
                .collect();
            let _ = s.write_all(&junk).await;
            let mut sink = [0u8; 1024];
            let _ = tokio::time::timeout(Duration::from_millis(50), s.read(&mut sink)).await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut c = CentralClient::connect(&addr.to_string()).await.unwrap();
    c.press("mute").await.unwrap();
    running.shutdown().await;
}

#[tokio::test]
async fn the_press_command_line_tool_logs_in_and_presses() {
    let running = central_settings().start_demo().await;
    let port = running.addrs.central.unwrap().port().to_string();
    let run = |user: Option<&str>| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_roomctl"));
        cmd.args(["press", "127.0.0.1", "display_power", "--port", &port])
            .env("ROOMCTL_PASSWORD", OPERATOR_PASSWORD);
        if let Some(u) = user {
            cmd.args(["--user", u]);
        }
        cmd.output()
    };
    let out = run(Some("op")).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("pressed display_power on Central room"),
        "{text}"
    );
    assert!(running.controller.snapshot().buttons["display_power"].latched);

    let out = run(None).await.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--user"));
    running.shutdown().await;
}

#[tokio::test]
async fn a_client_that_sends_and_half_closes_still_gets_its_replies() {
    let running = central_settings()
        .edit(|s| {
            s.central.require_login = false;
        })
        .start_demo()
        .await;
    let mut stream = TcpStream::connect(central_addr(&running)).await.unwrap();
    let mut requests = Vec::new();
    for seq in 0..50u64 {
        requests.extend(Request::Ping { seq }.encode());
    }
    requests.extend(Request::Status.encode());
    stream.write_all(&requests).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut all))
        .await
        .unwrap()
        .unwrap();
    let events: Vec<Event> = all
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| Event::decode(l).unwrap())
        .collect();
    assert!(matches!(events[0], Event::Hello { .. }));
    assert_eq!(events[1], Event::Pong { seq: 0 });
    assert_eq!(events[50], Event::Pong { seq: 49 });
    assert!(matches!(events[51], Event::Status { .. }));
    running.shutdown().await;
}
