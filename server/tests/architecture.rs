//! The architecture's promises, tested from outside: a new service is one
//! module and one line in the list and is started, registered and stopped
//! like every other; services without a port report `running`; and the one
//! event bus carries room-logic devices going down to every front end
//! (central control on 5009, live updates on 8001), not only to the status
//! page.

use crate::support;

use std::time::Duration;

use controller_core::protocol::central::{Event, Request};
use controller_core::protocol::live_broadcast::LiveMessage;
use controller_core::view::ServiceState;
use roomctl::cli::press::CentralClient;
use roomctl::runtime::serve;
use support::{eventually, loaded, TestSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

const PATIENCE: Duration = Duration::from_secs(20);

/// A toy service, written the way every service is: a name, a purpose
/// from its settings, and a start that binds and returns its task.
mod toy {
    use futures::future::BoxFuture;
    use futures::FutureExt;
    use roomctl::config::Settings;
    use roomctl::services::{bind_tcp, Endpoint, Service, StartEnv, StartError, Started};
    use tokio::io::AsyncWriteExt;

    /// Answers every connection with the controller's name.
    pub struct Greeter;

    impl Service for Greeter {
        fn name(&self) -> &'static str {
            "greeter"
        }
        fn setting(&self) -> &'static str {
            "identity"
        }
        fn enabled(&self, _: &Settings) -> bool {
            true
        }
        fn purpose(&self, s: &Settings) -> String {
            format!("greets with \"{}\"", s.identity.name)
        }
        fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
            async move {
                let listener =
                    bind_tcp("greeter", "identity", "127.0.0.1:0".parse().unwrap()).await?;
                let local = listener.local_addr()?;
                let name = env.settings().identity.name.clone();
                let task = async move {
                    loop {
                        tokio::select! {
                            _ = env.shutdown.cancelled() => return Ok(()),
                            r = listener.accept() => {
                                let (mut s, _) = r?;
                                s.write_all(format!("{name}\n").as_bytes()).await?;
                            }
                        }
                    }
                };
                Ok(Started::listening(Endpoint::tcp(local), task.boxed()))
            }
            .boxed()
        }
    }
}

#[tokio::test]
async fn a_new_service_is_one_module_and_one_line() {
    let settings = TestSettings::only(&["panel"]).name("Toy room").build();
    let mut services = serve::services();
    services.extend([
        Box::new(toy::Greeter) as Box<dyn roomctl::services::Service>,
        Box::new(support::idler::Idler),
    ]);
    let running = serve::start_with(settings, roomctl::storage::project_store::demo(), services)
        .await
        .expect("starts");
    let board = running.controller.status();
    let greeter = board
        .service("greeter")
        .expect("registered by the supervisor");
    assert_eq!(greeter.state, ServiceState::Listening);
    assert_eq!(greeter.purpose, "greets with \"Toy room\"");
    let addr = board.service_addr("greeter").unwrap();
    assert_eq!(greeter.endpoint, format!("tcp {addr}"));
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    assert_eq!(text, "Toy room\n");
    assert_eq!(board.service("idler").unwrap().state, ServiceState::Running);
    // Services without a port run, they do not listen.
    assert_eq!(
        board.service("repeat").unwrap().state,
        ServiceState::Running
    );
    // Switched off in the settings: registered disabled by the supervisor.
    assert_eq!(
        board.service("central").unwrap().state,
        ServiceState::Disabled
    );
    let controller = running.controller.clone();
    running.shutdown().await;
    assert_eq!(
        controller.status().service("greeter").unwrap().state,
        ServiceState::Stopped
    );
}

#[tokio::test]
async fn purposes_follow_the_effective_settings() {
    let settings = TestSettings::only(&["panel", "extension"])
        .edit(|s| {
            s.panel.keepalive_secs = 7;
            s.extension.keepalive_secs = 4;
            s.extension.offline_after_secs = 12;
        })
        .build();
    let running = serve::start(settings, roomctl::storage::project_store::demo())
        .await
        .unwrap();
    let board = running.controller.status();
    assert!(board
        .service("panel")
        .unwrap()
        .purpose
        .contains("7 s keep-alive"));
    let ext = board.service("extension").unwrap().purpose;
    assert!(
        ext.contains("every 4 s") && ext.contains("after 12 s"),
        "{ext}"
    );
    running.shutdown().await;
}

/// A project with one TCP device whose status LED is `link`.
fn room(device: std::net::SocketAddr) -> String {
    let panel = support::one_key_panel("link");
    format!(
        r#"
[project]
name = "Bus room"

[[buttons]]
id = "link"
label = "Link"
led = "feedback"

{panel}
[[devices]]
id = "dev"
transport = "tcp"
address = "{device}"
terminator = '\r\n'
reconnect_secs = 1
status_led = "link"
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_device_going_down_reaches_central_control_and_live_updates() {
    let device = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let live = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let live_port = live.local_addr().unwrap().port();
    let settings = TestSettings::only(&["central", "live", "logic"])
        .toml("[central]\nrequire_login = false\n")
        .edit(|s| {
            s.live.destination = "127.0.0.1".parse().unwrap();
            s.live.port = live_port;
        })
        .build();
    let running = support::start(settings, loaded(&room(device.local_addr().unwrap()))).await;
    let c = running.controller.clone();
    let (mut conn, _) = tokio::time::timeout(PATIENCE, device.accept())
        .await
        .expect("the controller connects to the device")
        .unwrap();
    eventually(PATIENCE, "the device shows online", || {
        c.status()
            .devices()
            .iter()
            .any(|d| d.id == "dev" && d.online)
    })
    .await;

    let mut station = CentralClient::connect(&running.addrs.central.unwrap().to_string())
        .await
        .unwrap();
    let Event::Status {
        subscribed: true, ..
    } = station.request(&Request::Subscribe).await.unwrap()
    else {
        panic!("a subscription")
    };
    // Drain datagrams sent so far (the project load, the LED of the link).
    let mut buf = [0u8; 65536];
    while tokio::time::timeout(Duration::from_millis(200), live.recv_from(&mut buf))
        .await
        .is_ok()
    {}

    // The device goes away.
    conn.shutdown().await.unwrap();
    drop(conn);

    let device_event = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Event::Device {
                id, online, kind, ..
            } = station.next_event().await.unwrap()
            {
                return (id, online, kind);
            }
        }
    })
    .await
    .expect("central control hears of the device");
    assert_eq!(device_event.0, "dev");
    assert!(!device_event.1, "offline");

    let datagram = tokio::time::timeout(PATIENCE, async {
        loop {
            let (n, _) = live.recv_from(&mut buf).await.unwrap();
            if let Ok(LiveMessage::Device { id, online, .. }) = LiveMessage::decode(&buf[..n]) {
                return (id, online);
            }
        }
    })
    .await
    .expect("a live datagram about the device");
    assert_eq!(datagram, ("dev".to_string(), false));
    running.shutdown().await;
}
