//! The FTP control-channel guard: a line filter between the client and
//! libunftp.
//!
//! Why this exists: libunftp 0.24 connects to whatever address a `PORT`
//! command names (the classic FTP bounce attack) and offers no hook to
//! check it, and it does not know `EPRT`. The guard sees every command
//! line before libunftp does and:
//! - refuses `PORT`/`EPRT` to any address but the client's own, and to
//!   privileged ports (below 1024);
//! - turns an IPv4 `EPRT |1|addr|port|` into the equivalent `PORT`;
//! - refuses lines longer than [`MAX_LINE`] (memory stays bounded).
//!
//! Everything else passes unchanged, both ways. Only the command verb and
//! the `PORT`/`EPRT` arguments are parsed; libunftp does the rest.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;

/// The longest command line accepted (RFC 959 servers commonly allow 512;
/// paths make some longer).
pub const MAX_LINE: usize = 4096;

/// What to do with one command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Pass these bytes to the server.
    Forward(Vec<u8>),
    /// Answer the client with this reply and do not forward.
    Refuse(&'static str),
}

/// Decides about one complete command line (with its line ending).
pub fn check_line(line: &[u8], client: IpAddr) -> Verdict {
    let text = String::from_utf8_lossy(line);
    let trimmed = text.trim_end_matches(['\r', '\n']);
    let (verb, arg) = match trimmed.split_once(' ') {
        Some((v, a)) => (v, a.trim()),
        None => (trimmed, ""),
    };
    if verb.eq_ignore_ascii_case("PORT") {
        match parse_port(arg) {
            Some(addr) => active_target(addr, client, line.to_vec()),
            None => Verdict::Refuse("501 Syntax: PORT h1,h2,h3,h4,p1,p2\r\n"),
        }
    } else if verb.eq_ignore_ascii_case("EPRT") {
        match parse_eprt(arg) {
            Some(SocketAddr::V4(v4)) => {
                let [a, b, c, d] = v4.ip().octets();
                let port = v4.port();
                let rewritten = format!("PORT {a},{b},{c},{d},{},{}\r\n", port >> 8, port & 0xff);
                active_target(SocketAddr::V4(v4), client, rewritten.into_bytes())
            }
            Some(SocketAddr::V6(_)) => {
                Verdict::Refuse("522 Only IPv4 active mode is supported, use (1) or EPSV\r\n")
            }
            None => Verdict::Refuse("501 Syntax: EPRT |1|address|port|\r\n"),
        }
    } else {
        Verdict::Forward(line.to_vec())
    }
}

fn same_host(a: IpAddr, b: IpAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    canon(a) == canon(b)
}

fn active_target(addr: SocketAddr, client: IpAddr, forward: Vec<u8>) -> Verdict {
    if !same_host(addr.ip(), client) {
        Verdict::Refuse("504 Active mode connects only back to your own address (FTP bounce protection); use PASV\r\n")
    } else if addr.port() < 1024 {
        Verdict::Refuse("504 Active mode to a privileged port (below 1024) is refused\r\n")
    } else {
        Verdict::Forward(forward)
    }
}

fn parse_port(arg: &str) -> Option<SocketAddr> {
    let parts: Vec<u8> = arg
        .split(',')
        .map(|p| p.trim().parse::<u8>())
        .collect::<Result<_, _>>()
        .ok()?;
    let [a, b, c, d, p1, p2] = parts.as_slice() else {
        return None;
    };
    Some(SocketAddr::new(
        Ipv4Addr::new(*a, *b, *c, *d).into(),
        u16::from(*p1) << 8 | u16::from(*p2),
    ))
}

/// `EPRT <d><af><d><addr><d><port><d>` (RFC 2428).
fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let delim = arg.chars().next()?;
    if !(33..=126).contains(&(delim as u32)) {
        return None;
    }
    let fields: Vec<&str> = arg.split(delim).collect();
    let ["", af, addr, port, ""] = fields.as_slice() else {
        return None;
    };
    let ip: IpAddr = match *af {
        "1" => IpAddr::V4(addr.parse().ok()?),
        "2" => IpAddr::V6(addr.parse().ok()?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port.parse().ok()?))
}

/// Relays a control connection between `client` and `server` (libunftp),
/// filtering the client's commands. Returns when either side closes.
pub async fn relay<C, S>(client: C, server: S, client_ip: IpAddr, login_deadline: Duration)
where
    C: AsyncRead + AsyncWrite + Send + 'static,
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut client_rx, client_tx) = tokio::io::split(client);
    let (mut server_rx, mut server_tx) = tokio::io::split(server);
    let client_tx = Arc::new(Mutex::new(client_tx));
    let logged_in = AtomicBool::new(false);

    let replies = {
        let client_tx = client_tx.clone();
        let logged_in = &logged_in;
        async move {
            let mut buf = vec![0u8; 8192];
            loop {
                match server_rx.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        // libunftp writes each reply whole: a `230` at the
                        // start of a line in one read is the login's success.
                        let chunk = &buf[..n];
                        if chunk.starts_with(b"230") || chunk.windows(4).any(|w| w == b"\n230") {
                            logged_in.store(true, Ordering::Relaxed);
                        }
                        if client_tx.lock().await.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }
    };

    let commands = {
        let client_tx = client_tx.clone();
        async move {
            let mut line = Vec::with_capacity(256);
            let mut buf = vec![0u8; 4096];
            'outer: loop {
                let n = match client_rx.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                for &byte in &buf[..n] {
                    line.push(byte);
                    if byte == b'\n' {
                        match check_line(&line, client_ip) {
                            Verdict::Forward(bytes) => {
                                if server_tx.write_all(&bytes).await.is_err() {
                                    break 'outer;
                                }
                            }
                            Verdict::Refuse(reply) => {
                                tracing::info!("ftp: refused from {client_ip}: {reply}");
                                if client_tx
                                    .lock()
                                    .await
                                    .write_all(reply.as_bytes())
                                    .await
                                    .is_err()
                                {
                                    break 'outer;
                                }
                            }
                        }
                        line.clear();
                    } else if line.len() >= MAX_LINE {
                        let _ = client_tx
                            .lock()
                            .await
                            .write_all(b"500 Command line too long; closing\r\n")
                            .await;
                        break 'outer;
                    }
                }
            }
            let _ = server_tx.shutdown().await;
        }
    };

    // A client that has not logged in by the deadline is let go (it would
    // otherwise hold a place under the connection cap for the idle timeout).
    let deadline = async {
        tokio::time::sleep(login_deadline).await;
        if logged_in.load(Ordering::Relaxed) {
            std::future::pending::<()>().await;
        }
        let _ = client_tx
            .lock()
            .await
            .write_all(
                format!(
                    "421 No login within {} s; closing\r\n",
                    login_deadline.as_secs()
                )
                .as_bytes(),
            )
            .await;
    };

    tokio::select! {
        _ = replies => {}
        _ = commands => {}
        _ = deadline => {}
    }
    let _ = client_tx.lock().await.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));

    #[test]
    fn port_back_to_the_client_passes() {
        let line = b"PORT 10,0,0,5,200,10\r\n";
        assert_eq!(check_line(line, CLIENT), Verdict::Forward(line.to_vec()));
    }

    #[test]
    fn port_to_another_host_is_refused() {
        assert!(matches!(
            check_line(b"PORT 10,0,0,6,200,10\r\n", CLIENT),
            Verdict::Refuse(r) if r.starts_with("504")
        ));
        assert!(matches!(
            check_line(b"port 127,0,0,1,200,10\r\n", CLIENT),
            Verdict::Refuse(_)
        ));
    }

    #[test]
    fn port_to_a_privileged_port_is_refused() {
        assert!(matches!(
            check_line(b"PORT 10,0,0,5,0,25\r\n", CLIENT),
            Verdict::Refuse(_)
        ));
    }

    #[test]
    fn eprt_becomes_port() {
        assert_eq!(
            check_line(b"EPRT |1|10.0.0.5|51210|\r\n", CLIENT),
            Verdict::Forward(b"PORT 10,0,0,5,200,10\r\n".to_vec())
        );
        assert!(matches!(
            check_line(b"EPRT |1|10.9.9.9|51210|\r\n", CLIENT),
            Verdict::Refuse(_)
        ));
        assert!(matches!(
            check_line(b"EPRT |2|::1|51210|\r\n", CLIENT),
            Verdict::Refuse(r) if r.starts_with("522")
        ));
    }

    #[test]
    fn malformed_arguments_get_a_syntax_error() {
        for bad in [
            &b"PORT 1,2,3\r\n"[..],
            b"PORT 300,1,1,1,1,1\r\n",
            b"EPRT garbage\r\n",
            b"EPRT |1|x|1|\r\n",
        ] {
            assert!(matches!(check_line(bad, CLIENT), Verdict::Refuse(r) if r.starts_with("501")));
        }
    }

    #[test]
    fn other_commands_pass_unchanged() {
        let line = b"RETR active.toml\r\n";
        assert_eq!(check_line(line, CLIENT), Verdict::Forward(line.to_vec()));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(line in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = check_line(&line, CLIENT);
        }
    }
}
