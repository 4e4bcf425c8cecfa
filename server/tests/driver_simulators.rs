//! Every library driver against its simulator, over real sockets on
//! loopback: `roomctl simulate --driver` serves the device, a client bound
//! to another address (127.0.0.2) runs the driver's session, and each of
//! the transcript's commands (then the polls) gets exactly the bytes the
//! simulator's model says, read into the same state the simulator holds.
//! Also the command line: several simulators at once, and a fault mode.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use controller_core::driver::library::{transcript_file, Library};
use controller_core::driver::session::{Event, Phase, Session};
use controller_core::driver::simulator::{Fault, Output, SimDevice};
use controller_core::driver::transcript::Transcript;
use controller_core::driver::{Driver, TransportKind};
use roomctl::cli::simulate::{start_drivers, SimulateArgs};
use roomctl::simulator::driver::DriverSimulator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

const WAIT: Duration = Duration::from_secs(10);

fn transcript(driver: &Driver) -> Transcript {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../drivers")
        .join(transcript_file(&format!("{}.toml", driver.id)));
    Transcript::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A client socket bound to 127.0.0.2, as a controller elsewhere on the LAN.
enum Link {
    Tcp(TcpStream),
    Udp(UdpSocket, SocketAddr),
    /// An http driver: each line sent is one request; the answers' bodies
    /// (with the line end a body leaves out) wait to be read.
    Http(SocketAddr, Vec<u8>),
}

impl Link {
    async fn open(kind: TransportKind, addr: SocketAddr) -> Link {
        match kind {
            TransportKind::Udp => {
                let s = UdpSocket::bind("127.0.0.2:0").await.unwrap();
                Link::Udp(s, addr)
            }
            TransportKind::Http => Link::Http(addr, Vec::new()),
            _ => {
                let s = TcpSocket::new_v4().unwrap();
                s.bind("127.0.0.2:0".parse().unwrap()).unwrap();
                Link::Tcp(s.connect(addr).await.unwrap())
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        match self {
            Link::Tcp(s) => s.write_all(bytes).await.unwrap(),
            Link::Udp(s, to) => {
                s.send_to(bytes, *to).await.unwrap();
            }
            Link::Http(to, answers) => {
                let line = String::from_utf8_lossy(bytes);
                let (method, path) = line.trim_end().split_once(' ').unwrap();
                let s = TcpSocket::new_v4().unwrap();
                s.bind("127.0.0.2:0".parse().unwrap()).unwrap();
                let mut stream = s.connect(*to).await.unwrap();
                let request =
                    format!("{method} {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\n\r\n");
                stream.write_all(request.as_bytes()).await.unwrap();
                let mut response = Vec::new();
                tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
                    .await
                    .expect("the simulator answers")
                    .unwrap();
                let text = String::from_utf8_lossy(&response);
                assert!(text.starts_with("HTTP/1.1 200"), "{text}");
                let (_, body) = text.split_once("\r\n\r\n").unwrap();
                if !body.is_empty() {
                    answers.extend_from_slice(body.as_bytes());
                    answers.extend_from_slice(b"\r\n");
                }
            }
        }
    }

    /// Exactly `n` bytes, in the pieces they arrived in (UDP: whole
    /// datagrams adding up to `n`, each a message for a datagram-framed
    /// driver, so each is handed to the session on its own).
    async fn read_exact(&mut self, n: usize) -> Vec<Vec<u8>> {
        if let Link::Http(_, answers) = self {
            assert!(answers.len() >= n, "the simulator's answers: {answers:?}");
            return vec![answers.drain(..n).collect()];
        }
        let mut pieces = Vec::new();
        let mut got_total = 0;
        while got_total < n {
            let mut buf = vec![0u8; 65536];
            let got = match self {
                Link::Tcp(s) => tokio::time::timeout(WAIT, s.read(&mut buf[..n - got_total]))
                    .await
                    .expect("the simulator answers")
                    .unwrap(),
                Link::Udp(s, _) => tokio::time::timeout(WAIT, s.recv(&mut buf))
                    .await
                    .expect("the simulator answers")
                    .unwrap(),
                Link::Http(..) => unreachable!("answered above"),
            };
            assert!(got > 0, "the simulator closed the connection");
            got_total += got;
            pieces.push(buf[..got].to_vec());
        }
        pieces
    }
}

fn expected(outputs: Vec<Output>) -> Vec<u8> {
    outputs
        .into_iter()
        .flat_map(|o| match o {
            Output::Send { bytes, .. } => bytes,
            Output::Close => panic!("no fault was asked for"),
        })
        .collect()
}

/// One driver's session against its simulator on a socket.
async fn round_trip(driver: Arc<Driver>) {
    let t = transcript(&driver);
    let settings = t.settings(&driver).unwrap();
    let sim = DriverSimulator::start(
        Arc::clone(&driver),
        settings.clone(),
        Fault::None,
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    // The model of what the simulator will say, step by step.
    let mut twin = SimDevice::new(Arc::clone(&driver), settings.clone(), Fault::None);
    let mut session = Session::new(Arc::clone(&driver), settings);
    let mut link = Link::open(driver.transport.kind, sim.addr).await;
    let mut to_device: Vec<Vec<u8>> = Vec::new();
    let greeting = expected(twin.connect());
    for e in session.connected(0) {
        if let Event::Send(b) = e {
            to_device.push(b);
        }
    }
    let mut incoming = if greeting.is_empty() {
        Vec::new()
    } else {
        link.read_exact(greeting.len()).await
    };
    assert_eq!(incoming.concat(), greeting, "{}: greeting", driver.id);
    // Login: back and forth until both sides are quiet.
    for _ in 0..16 {
        for e in incoming.iter().flat_map(|p| session.receive(p, 0)) {
            match e {
                Event::Send(b) => to_device.push(b),
                Event::LoginRefused => panic!("{}: login refused", driver.id),
                _ => {}
            }
        }
        if to_device.is_empty() {
            break;
        }
        let mut want = Vec::new();
        for b in to_device.drain(..) {
            link.send(&b).await;
            want.extend(expected(twin.receive(&b)));
        }
        incoming = if want.is_empty() {
            Vec::new()
        } else {
            link.read_exact(want.len()).await
        };
        assert_eq!(incoming.concat(), want, "{}: login answers", driver.id);
    }
    assert_eq!(session.phase(), Phase::Ready, "{}", driver.id);
    let mut read_states = 0;
    for case in &t.commands {
        let params = Transcript::params(&driver, case).unwrap();
        let mut calls = vec![(case.command.clone(), params)];
        calls.extend(
            driver
                .polls
                .iter()
                .map(|p| (p.command.clone(), p.params.clone())),
        );
        for (command, params) in calls {
            let bytes = session.command(&command, &params).unwrap();
            link.send(&bytes).await;
            let want = expected(twin.receive(&bytes));
            let got = if want.is_empty() {
                Vec::new()
            } else {
                link.read_exact(want.len()).await
            };
            assert_eq!(got.concat(), want, "{}: answer to {command}", driver.id);
            for e in got.iter().flat_map(|p| session.receive(p, 0)) {
                match e {
                    Event::State { name, value } => {
                        read_states += 1;
                        assert_eq!(
                            sim.state().get(&name),
                            Some(&value),
                            "{}: {name}",
                            driver.id
                        );
                    }
                    Event::Unrecognised(m) => panic!("{}: unrecognised {m:?}", driver.id),
                    _ => {}
                }
            }
        }
    }
    assert_eq!(
        sim.state(),
        *twin.state(),
        "{}: the served device and its model agree",
        driver.id
    );
    if !driver.state.is_empty() && driver.commands.iter().any(|c| !c.reply.is_empty()) {
        assert!(read_states > 0, "{}: nothing was read back", driver.id);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn every_driver_against_its_simulator_on_loopback() {
    let library = Library::builtin();
    assert!(!library.drivers.is_empty());
    for driver in library.drivers.values() {
        round_trip(Arc::clone(driver)).await;
    }
}

#[tokio::test]
async fn the_command_line_starts_several_simulators_and_a_fault() {
    let args = SimulateArgs {
        projector: "127.0.0.1:0".parse().unwrap(),
        matrix: "127.0.0.1:0".parse().unwrap(),
        dsp: "127.0.0.1:0".parse().unwrap(),
        warmup_secs: 0,
        cooldown_secs: 0,
        drivers: vec!["samsung-mdc".into(), "pjlink".into()],
        listens: vec![
            "127.0.0.1:0".parse().unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        ],
        faults: vec!["none".into(), "disconnecting:1".into()],
        settings: vec!["id=7".into()],
        answer_searches: false,
        list: false,
    };
    let sims = start_drivers(&args).await.unwrap();
    assert_eq!(sims.len(), 2);
    // The Samsung display took id 7: it answers a command for id 7.
    let mdc = &sims[0];
    let mut link = Link::open(TransportKind::Tcp, mdc.addr).await;
    link.send(&[0xAA, 0x11, 0x07, 0x00, 0x18]).await;
    let answer = link.read_exact(8).await.concat();
    assert_eq!(&answer[..6], &[0xAA, 0xFF, 0x07, 0x03, 0x41, 0x11]);
    // The projector greets, answers one command, then hangs up.
    let pj = &sims[1];
    let mut link = Link::open(TransportKind::Tcp, pj.addr).await;
    assert_eq!(link.read_exact(9).await.concat(), b"PJLINK 0\r");
    link.send(b"%1POWR 1\r").await;
    assert_eq!(link.read_exact(10).await.concat(), b"%1POWR=OK\r");
    let Link::Tcp(mut s) = link else {
        unreachable!()
    };
    let mut rest = Vec::new();
    let n = tokio::time::timeout(WAIT, s.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0, "closed after one command");
    for s in sims {
        s.shutdown().await;
    }
}

#[tokio::test]
async fn bad_simulate_arguments_are_refused_in_words() {
    let mut args = SimulateArgs {
        projector: "127.0.0.1:0".parse().unwrap(),
        matrix: "127.0.0.1:0".parse().unwrap(),
        dsp: "127.0.0.1:0".parse().unwrap(),
        warmup_secs: 0,
        cooldown_secs: 0,
        drivers: vec!["no-such-display".into()],
        listens: vec!["127.0.0.1:0".parse().unwrap()],
        faults: vec![],
        settings: vec![],
        answer_searches: false,
        list: false,
    };
    let e = start_drivers(&args).await.err().unwrap().to_string();
    assert!(e.contains("no driver \"no-such-display\""), "{e}");
    args.drivers = vec!["pjlink".into()];
    args.faults = vec!["loud".into()];
    let e = start_drivers(&args).await.err().unwrap().to_string();
    assert!(e.contains("not a fault"), "{e}");
}
