//! HTTP as the tests speak it: raw HTTP/1.1 over a socket (the bytes a
//! browser sends, the whole answer back as text), and `oneshot` on an axum
//! `Router` where no socket is needed.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tower::ServiceExt;

/// Sends `request` as it is and reads the answer until the server closes;
/// (status, the whole answer: status line, headers and body).
pub async fn raw(addr: SocketAddr, request: &str) -> (u16, String) {
    raw_from(None, addr, request).await
}

/// A TCP connection to `addr` from `source` (any address of 127.0.0.0/8
/// is this host's: tests use several to stand for several clients).
pub async fn connect_from(source: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    socket.connect(addr).await.unwrap()
}

/// [`raw`] from `source` (`None`: the default address).
pub async fn raw_from(source: Option<IpAddr>, addr: SocketAddr, request: &str) -> (u16, String) {
    let mut s = match source {
        Some(source) => connect_from(source, addr).await,
        None => TcpStream::connect(addr).await.unwrap(),
    };
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .unwrap_or_else(|_| panic!("no complete answer from {addr} within 20 s"))
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP/1.1 answer: {text:?}"));
    (status, text)
}

/// `GET path`.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await
}

/// `GET path` with a `Cookie` header.
pub async fn get_with_cookie(addr: SocketAddr, path: &str, cookie: &str) -> (u16, String) {
    raw(
        addr,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await
}

/// `POST path` with a form body (`a=1&b=2`), from the controller's own
/// page (an `Origin` of the address it is sent to, as a browser sends).
pub async fn post_form(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    raw(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

/// The `name=value` of the answer's first `set-cookie`.
pub fn cookie_of(answer: &str) -> String {
    answer
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string()
}

/// Calls `router` once with `request`, no socket involved (the peer a
/// handler sees is 127.0.0.1); (status, body as text).
pub async fn oneshot(router: Router, mut request: Request<Body>) -> (StatusCode, String) {
    let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = router
        .oneshot(request)
        .await
        .expect("routers are infallible");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 16 << 20)
        .await
        .expect("the body is read");
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A `GET path` request for [`oneshot`].
pub fn get_request(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// `POST path` with `body` as text, the session `cookie` (may be empty)
/// and an `Origin` of the controller itself, as the designer's script
/// sends it; (status, the whole answer).
pub async fn post_text(addr: SocketAddr, path: &str, cookie: &str, body: &str) -> (u16, String) {
    raw(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nCookie: {cookie}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}
