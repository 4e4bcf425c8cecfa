//! Shared helpers for integration tests: start the real controller on
//! ephemeral loopback ports and talk to it as its clients do.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use futures::{SinkExt, StreamExt};
use roomctl::config::Settings;
use roomctl::project_store;
use roomctl::serve::{self, Running};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Development settings with every port ephemeral and only the listed
/// services left on (besides the two HTTP ports).
pub fn test_settings(extra: &str) -> Settings {
    let base = r#"
[panel]
port = 0
keepalive_secs = 1
[apprimo]
port = 0
[lookup]
enabled = false
[live]
enabled = false
[central]
enabled = false
[extension]
enabled = false
[telnet]
enabled = false
[ftp]
enabled = false
"#;
    let mut table: toml::Table = toml::from_str(base).unwrap();
    let extra: toml::Table = toml::from_str(extra).unwrap();
    for (k, v) in extra {
        match (table.get_mut(&k), v) {
            (Some(toml::Value::Table(t)), toml::Value::Table(o)) => t.extend(o),
            (_, v) => {
                table.insert(k, v);
            }
        }
    }
    Settings::from_toml(&toml::to_string(&table).unwrap(), None).unwrap()
}

pub async fn start_demo(extra: &str) -> Running {
    serve::start(test_settings(extra), project_store::demo())
        .await
        .expect("controller starts")
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn ws_connect(addr: SocketAddr) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("ws connects");
    ws
}

pub async fn send(ws: &mut Ws, m: &ClientMessage) {
    ws.send(Message::Text(m.encode().into())).await.unwrap();
}

/// The next panel-protocol message (skipping transport pings), or panics
/// after a generous timeout.
pub async fn recv(ws: &mut Ws) -> ServerMessage {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("the stream is open")
            .expect("no transport error");
        if let Message::Text(t) = m {
            return ServerMessage::decode(&t).expect("server messages decode");
        }
    }
}

/// The next message that is not a keep-alive ping/pong.
pub async fn recv_data(ws: &mut Ws) -> ServerMessage {
    loop {
        match recv(ws).await {
            ServerMessage::Ping { .. } | ServerMessage::Pong { .. } => continue,
            m => return m,
        }
    }
}

/// Connects a panel and reads welcome + snapshot.
pub async fn panel(addr: SocketAddr, panel: &str) -> (Ws, controller_core::Snapshot) {
    let mut ws = ws_connect(addr).await;
    send(
        &mut ws,
        &ClientMessage::Hello {
            panel: panel.into(),
            revision: 0,
            pin: None,
        },
    )
    .await;
    let ServerMessage::Welcome { protocol, .. } = recv_data(&mut ws).await else {
        panic!("welcome first")
    };
    assert_eq!(protocol, 1);
    let ServerMessage::Snapshot { snapshot } = recv_data(&mut ws).await else {
        panic!("snapshot second")
    };
    (ws, snapshot)
}
