//! Central control (TCP 5009): a press produces the 8001 datagram and the
//! panel update; login, roles, allow-list, limits, slow and hostile clients.

use crate::support;

use std::net::SocketAddr;
use std::time::Duration;

use controller_core::protocol::central::{ErrorCode, Event, Request};
use controller_core::protocol::live_broadcast::LiveMessage;
use controller_core::protocol::panel::ServerMessage;
use roomctl::cli::press::CentralClient;
use roomctl::runtime::serve::Running;
use roomctl::security::auth::Role;
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
    // It measures this process's memory: no other test may run beside it.
    if !support::process::alone(
        "oversized_garbage_and_truncated_lines_get_errors_and_the_connection_lives",
    ) {
        return;
    }
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
            s.central.allow = roomctl::security::access::AllowList::parse(&["10.0.0.0/8"]).unwrap();
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

/// A fake controller on loopback that says `first` (and, after the
/// client's first request, `then`), for the client's side of bad lines.
async fn fake_controller(first: Vec<u8>, then: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (r, mut w) = s.into_split();
        let _ = w.write_all(&first).await;
        let mut line = String::new();
        let _ = BufReader::new(r).read_line(&mut line).await;
        let _ = w.write_all(&then).await;
        // Hold the connection until the client leaves.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    addr
}

#[tokio::test]
async fn the_client_turns_a_bad_or_oversized_line_into_a_clear_error() {
    use controller_core::central_client::MAX_LINE_BYTES;
    let hello = Event::Hello {
        protocol: 1,
        controller: "Fake".into(),
        serial: "F1".into(),
        login_required: false,
        max_message_bytes: 65536,
        idle_timeout_secs: 60,
    }
    .encode();
    // Binary garbage where the hello belongs: named, quoted, escaped.
    let addr = fake_controller(b"\x1b[2J\x00garbage\n".to_vec(), Vec::new()).await;
    let e = match CentralClient::connect(&addr).await {
        Ok(_) => panic!("garbage accepted as a hello"),
        Err(e) => format!("{e:#}"),
    };
    assert!(e.contains("did not say hello"), "{e}");
    assert!(e.contains("not protocol JSON"), "{e}");
    assert!(e.contains(r#""\u{1b}[2J\u{0}garbage""#), "{e}");
    // A reply longer than the client reads: an error, not a hang or a panic.
    let mut huge = vec![b'x'; MAX_LINE_BYTES + 10];
    huge.push(b'\n');
    let addr = fake_controller(hello, huge).await;
    let mut client = CentralClient::connect(&addr).await.unwrap();
    assert_eq!(client.controller, "Fake");
    let e = format!("{:#}", client.press("mute").await.unwrap_err());
    assert!(e.contains("a line longer than max_line_bytes"), "{e}");
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

/// A connection from 127.0.0.2 (another address than the controller's),
/// its `hello` read.
async fn raw_from_client(addr: &str) -> BufReader<TcpStream> {
    let stream =
        support::http::connect_from("127.0.0.2".parse().unwrap(), addr.parse().unwrap()).await;
    let mut r = BufReader::new(stream);
    assert!(matches!(read_line(&mut r).await, Event::Hello { .. }));
    r
}

/// Sends one line and reads the reply, as raw JSON.
async fn ask(c: &mut BufReader<TcpStream>, line: &str) -> serde_json::Value {
    c.get_mut()
        .write_all(format!("{line}\n").as_bytes())
        .await
        .unwrap();
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), c.read_until(b'\n', &mut reply))
        .await
        .expect("a reply within 10 s")
        .unwrap();
    serde_json::from_slice(&reply).unwrap()
}

/// `layout` and `devices` refuse unknown fields as the other requests do;
/// a viewer's (and an operator's) layout has no device commands, an
/// admin's has them; room-logic devices have a kind (`room`) and their
/// description in `name`.
#[tokio::test]
async fn layout_and_devices_are_strict_and_viewers_see_no_device_commands() {
    let running = TestSettings::only(&["central", "logic"])
        .user("view", Role::Viewer, VIEWER_PASSWORD)
        .user("ada", Role::Admin, support::ADMIN_PW)
        .start_demo()
        .await;
    let addr = central_addr(&running);
    let mut viewer = raw_from_client(&addr).await;
    let login = format!(r#"{{"type":"login","user":"view","password":"{VIEWER_PASSWORD}"}}"#);
    assert_eq!(ask(&mut viewer, &login).await["type"], "ok");
    for line in [r#"{"type":"layout","x":1}"#, r#"{"type":"devices","x":1}"#] {
        let reply = ask(&mut viewer, line).await;
        assert_eq!(reply["type"], "error", "{line}: {reply}");
        assert_eq!(reply["code"], "malformed", "{line}: {reply}");
    }
    let volume = |layout: &serde_json::Value| {
        layout["layout"]["levels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == "volume")
            .cloned()
            .unwrap()
    };
    let seen = volume(&ask(&mut viewer, r#"{"type":"layout"}"#).await);
    for field in ["device", "send", "send_mute", "command", "mute_command"] {
        assert!(seen.get(field).is_none(), "a viewer sees {field}: {seen}");
    }
    assert_eq!(seen["label"], "Volume");

    let mut admin = raw_from_client(&addr).await;
    let login = format!(
        r#"{{"type":"login","user":"ada","password":"{}"}}"#,
        support::ADMIN_PW
    );
    assert_eq!(ask(&mut admin, &login).await["type"], "ok");
    let seen = volume(&ask(&mut admin, r#"{"type":"layout"}"#).await);
    assert_eq!(seen["device"], "dsp", "{seen}");
    assert_eq!(seen["command"], "level", "{seen}");
    assert_eq!(seen["mute_command"], "mute", "{seen}");

    eventually(
        Duration::from_secs(10),
        "the room devices are listed",
        || running.controller.status().devices().len() >= 3,
    )
    .await;
    let devices = ask(&mut viewer, r#"{"type":"devices"}"#).await;
    let dsp = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "dsp")
        .cloned()
        .unwrap_or_else(|| panic!("{devices}"));
    assert_eq!(dsp["kind"], "room", "{dsp}");
    assert_eq!(dsp["name"], "Audio DSP (biamp-tesira)", "{dsp}");
    running.shutdown().await;
}

/// A login that could not be checked because another from the same
/// address is being checked is `busy` (try again), not
/// `wrong_credentials`, and does not count as a failed login.
#[tokio::test]
async fn a_login_that_cannot_be_checked_now_is_busy_not_wrong() {
    let running = central_settings().start_demo().await;
    let addr = central_addr(&running);
    let login = format!(r#"{{"type":"login","user":"op","password":"{OPERATOR_PASSWORD}"}}"#);
    let mut busy_seen = false;
    for _ in 0..10 {
        // Two logins from one address at once: one is checked, the other
        // (unless the first was already done) is told to try again.
        let mut a = raw_from_client(&addr).await;
        let mut b = raw_from_client(&addr).await;
        let line = format!("{login}\n");
        let (wa, wb) = tokio::join!(
            a.get_mut().write_all(line.as_bytes()),
            b.get_mut().write_all(line.as_bytes())
        );
        wa.unwrap();
        wb.unwrap();
        for c in [&mut a, &mut b] {
            match read_line(c).await {
                Event::Ok { .. } => {}
                Event::Error { code, message } => {
                    assert_eq!(code, ErrorCode::Busy, "{message}");
                    busy_seen = true;
                }
                other => panic!("{other:?}"),
            }
        }
        if busy_seen {
            break;
        }
    }
    assert!(
        busy_seen,
        "two logins at once from one address: one is busy"
    );
    running.shutdown().await;
}

/// `set_level` with a value and a mute applies the mute first, then the
/// value, as every other front end does (docs/protocols.md); a level
/// without a mute says `"muted": null`, as on MQTT.
#[tokio::test]
async fn set_level_mutes_first_and_a_level_without_a_mute_says_null() {
    let running = central_settings().start_demo().await;
    let addr = central_addr(&running);
    let mut c = raw_from_client(&addr).await;
    let login = format!(r#"{{"type":"login","user":"op","password":"{OPERATOR_PASSWORD}"}}"#);
    assert_eq!(ask(&mut c, &login).await["type"], "ok");
    let status = ask(&mut c, r#"{"type":"subscribe"}"#).await;
    let levels = &status["snapshot"]["levels"];
    assert!(levels["mic"]["muted"].is_null(), "{levels}");
    assert_eq!(levels["volume"]["muted"], false, "{levels}");

    c.get_mut()
        .write_all(b"{\"type\":\"set_level\",\"level\":\"volume\",\"value\":-10,\"muted\":true}\n")
        .await
        .unwrap();
    let mut order = Vec::new();
    while order.len() < 2 {
        if let Event::Step { step } = read_line(&mut c).await {
            for change in step.changes {
                match change {
                    controller_core::engine::Change::Mute { .. } => order.push("mute"),
                    controller_core::engine::Change::Level { .. } => order.push("value"),
                    _ => {}
                }
            }
        }
    }
    assert_eq!(order, ["mute", "value"]);
    running.shutdown().await;
}
