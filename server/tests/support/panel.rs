//! The panel service's WebSocket client, as a browser panel talks to it.

use std::net::SocketAddr;
use std::time::Duration;

use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use controller_core::view::PanelView;
use controller_core::Snapshot;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::TestSettings;

/// The panel tests' settings: both HTTP ports and the room logic on, a
/// 1 s keep-alive.
pub fn settings() -> TestSettings {
    TestSettings::only(&["panel", "apprimo", "logic"]).toml("[panel]\nkeepalive_secs = 1\n")
}

/// The demo project with `pin` on its first (tablet) panel.
pub fn demo_with_pin(pin: &str) -> roomctl::storage::project_store::LoadedProject {
    let mut project = controller_core::project::demo_project().clone();
    project.panels[0].pin = Some(pin.into());
    roomctl::storage::project_store::LoadedProject {
        project: std::sync::Arc::new(project),
        source: String::new(),
        origin: "test".into(),
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The panel channel at `addr`, from another address than the
/// controller's as a tablet on the LAN is: from [`super::OTHER_ADDRESS`]
/// (127.0.0.2) when the controller is on loopback, else from wherever the
/// route leads (a namespace's LAN).
pub async fn ws_connect(addr: SocketAddr) -> Ws {
    if addr.ip().is_loopback() {
        let other = super::OTHER_ADDRESS.parse().expect("an address");
        return ws_connect_from(other, addr).await;
    }
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("ws connects");
    ws
}

/// A live channel at `path` (a designer preview's `/designer/preview/{token}/ws`)
/// with the session `cookie`; the handshake's error when it is refused.
pub async fn ws_connect_at(
    addr: SocketAddr,
    path: &str,
    cookie: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}{path}").into_client_request()?;
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("a header value"));
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

/// [`ws_connect`] from `source` (an address of 127.0.0.0/8).
pub async fn ws_connect_from(source: std::net::IpAddr, addr: SocketAddr) -> Ws {
    let stream = super::http::connect_from(source, addr).await;
    let (ws, _) =
        tokio_tungstenite::client_async(format!("ws://{addr}/ws"), MaybeTlsStream::Plain(stream))
            .await
            .expect("ws connects");
    ws
}

/// A live-channel handshake from `source` (an address of 127.0.0.0/8) with
/// the headers a browser adds (`Origin`, `Cookie`); the handshake's error
/// when it is refused.
pub async fn ws_connect_with(
    source: std::net::IpAddr,
    addr: SocketAddr,
    headers: &[(&'static str, &str)],
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    ws_connect_path_with(source, addr, "/ws", headers).await
}

/// [`ws_connect_with`] to the live channel at `path` (a station's room
/// panel, `/room/{key}/panel/ws`).
pub async fn ws_connect_path_with(
    source: std::net::IpAddr,
    addr: SocketAddr,
    path: &str,
    headers: &[(&'static str, &str)],
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}{path}").into_client_request()?;
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, value.parse().expect("a header value"));
    }
    let stream = super::http::connect_from(source, addr).await;
    Ok(
        tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
            .await?
            .0,
    )
}

/// Sends `hello` for `panel` with `pin`; the first reply.
pub async fn hello(ws: &mut Ws, panel: &str, pin: Option<&str>) -> ServerMessage {
    send(
        ws,
        &ClientMessage::Hello {
            panel: panel.into(),
            revision: 0,
            pin: pin.map(Into::into),
            sparse: false,
            layout: None,
        },
    )
    .await;
    recv_data(ws).await
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

/// The next message that is not a keep-alive ping/pong or a notice (the
/// demo's devices are down in most tests, and a panel is told so).
pub async fn recv_data(ws: &mut Ws) -> ServerMessage {
    loop {
        match recv(ws).await {
            ServerMessage::Ping { .. }
            | ServerMessage::Pong { .. }
            | ServerMessage::Notice { .. } => continue,
            m => return m,
        }
    }
}

/// The next notice: (key, active).
pub async fn recv_notice(ws: &mut Ws) -> (String, bool) {
    loop {
        if let ServerMessage::Notice { key, active, .. } = recv(ws).await {
            return (key, active);
        }
    }
}

/// Connects a panel as earlier panels do (sent every step) and reads
/// welcome + snapshot.
pub async fn panel(addr: SocketAddr, panel: &str) -> (Ws, Snapshot) {
    panel_with(addr, panel, false).await
}

/// Connects a panel, `sparse` as today's panels are (sent only the steps
/// that change what it shows) or not, and reads welcome + snapshot.
pub async fn panel_with(addr: SocketAddr, panel: &str, sparse: bool) -> (Ws, Snapshot) {
    let mut ws = connect_hello(addr, panel, sparse, None).await;
    let ServerMessage::Snapshot { snapshot } = recv_data(&mut ws).await else {
        panic!("snapshot second")
    };
    (ws, snapshot)
}

/// [`panel`] from `source` (another address than the controller's, as a
/// tablet on the LAN).
pub async fn panel_from(source: std::net::IpAddr, addr: SocketAddr, panel: &str) -> (Ws, Snapshot) {
    let mut ws = ws_connect_from(source, addr).await;
    let ServerMessage::Welcome { protocol, .. } = hello(&mut ws, panel, None).await else {
        panic!("welcome first")
    };
    assert_eq!(protocol, 1);
    let ServerMessage::Snapshot { snapshot } = recv_data(&mut ws).await else {
        panic!("snapshot second")
    };
    (ws, snapshot)
}

/// Connects, says hello (protocol 1) and reads the welcome.
async fn connect_hello(addr: SocketAddr, panel: &str, sparse: bool, layout: Option<&str>) -> Ws {
    let mut ws = ws_connect(addr).await;
    send(
        &mut ws,
        &ClientMessage::Hello {
            panel: panel.into(),
            revision: 0,
            pin: None,
            sparse,
            layout: layout.map(str::to_string),
        },
    )
    .await;
    let ServerMessage::Welcome { protocol, .. } = recv_data(&mut ws).await else {
        panic!("welcome first")
    };
    assert_eq!(protocol, 1);
    ws
}

/// The view the panel page at `/panel/{panel}` is rendered with, as the
/// server builds it (its `layout` key is what an in-place panel says).
pub fn view_of(controller: &roomctl::state::controller::Controller, panel: &str) -> PanelView {
    let (project, snapshot) = controller.project_and_snapshot();
    PanelView::build(
        &controller.identity().name,
        &project,
        Some(panel),
        controller_core::project::PanelProfile::Tablet,
        snapshot,
        controller.settings().panel.keepalive_secs * 1000,
    )
    .expect("the project has this panel")
}

/// Connects a panel as the panel page does (sparse, re-rendering layouts
/// in place) holding `layout`, and reads the welcome; the next message
/// (a snapshot, or a layout when `layout` is not the current one) is the
/// caller's.
pub async fn in_place_panel(addr: SocketAddr, panel: &str, layout: &str) -> Ws {
    connect_hello(addr, panel, true, Some(layout)).await
}
