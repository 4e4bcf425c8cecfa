//! The Telnet console as a plain (nc-style) client: no negotiation
//! answers, LF line ends. Telnet commands stay in the text read.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one wait for console output may take.
const PATIENCE: Duration = Duration::from_secs(30);

/// Connects and logs in; returns at the first `roomctl> ` prompt.
pub async fn login(addr: SocketAddr, user: &str, password: &str) -> TcpStream {
    logged_in(TcpStream::connect(addr).await.unwrap(), user, password).await
}

/// [`login`] from `source` (another address of 127.0.0.0/8: another host).
pub async fn login_from(
    source: std::net::IpAddr,
    addr: SocketAddr,
    user: &str,
    password: &str,
) -> TcpStream {
    let s = super::http::connect_from(source, addr).await;
    logged_in(s, user, password).await
}

async fn logged_in(mut s: TcpStream, user: &str, password: &str) -> TcpStream {
    read_until(&mut s, "login: ").await;
    send_line(&mut s, user).await;
    read_until(&mut s, "Password: ").await;
    send_line(&mut s, password).await;
    read_until(&mut s, "roomctl> ").await;
    s
}

/// Sends `line` and reads up to the next prompt; the text read.
pub async fn command(s: &mut TcpStream, line: &str) -> String {
    send_line(s, line).await;
    read_until(s, "roomctl> ").await
}

/// Sends `line` with an LF.
pub async fn send_line(s: &mut TcpStream, line: &str) {
    s.write_all(format!("{line}\n").as_bytes()).await.unwrap();
}

/// Reads until `needle` appears; the text read. Panics when the server
/// closes first or nothing comes for 30 s.
pub async fn read_until(s: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if text.contains(needle) {
            return text;
        }
        let n = tokio::time::timeout(PATIENCE, s.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("waiting for {needle:?}; got {text:?}"))
            .unwrap();
        assert!(n > 0, "closed while waiting for {needle:?}; got {text:?}");
        got.extend_from_slice(&buf[..n]);
    }
}
