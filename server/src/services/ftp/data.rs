//! FTP data connections, relayed between the client and libunftp.
//!
//! Why this exists: libunftp serves the guard's loopback end of the control
//! connection ([`super::guard`]), so it takes 127.0.0.1 for the client's
//! address, and it closes every data connection that does not come from
//! that address. A client on another host (127.0.0.2, 10.77.0.2) logged in
//! and then hung on its first LIST/RETR/STOR. So the data connections take
//! the same path as the control connection: the client talks to us, we
//! talk to libunftp over loopback, and libunftp sees one address for both.
//!
//! libunftp's other ways in do not fit here (checked against 0.24):
//! `proxy_protocol_mode` serves a listening port of its own, IPv4 only,
//! with no active mode, hands the authenticator the proxy's address
//! anyway, and would still need the data connections forwarded by us;
//! serving the client's socket directly would bypass the guard (FTP bounce
//! protection, EPRT, the TLS rules, the login deadline).
//!
//! - Passive (`PASV`/`EPSV`): [`PassiveBinder`](super::passive::PassiveBinder)
//!   binds the public listener on the client's side (filtered to the
//!   client's address) and gives libunftp a loopback socket; the guard
//!   announces the public port ([`announce_port`]) and [`passive`] relays
//!   the client's connection to libunftp's.
//! - Active (`PORT`/`EPRT`, already checked to point back to the client):
//!   [`active`] connects to the client, then has libunftp connect to a
//!   loopback listener of ours, and relays.
//!
//! Because the connection passes through here, the guard knows whether a
//! transfer's data connection came: a `150` with none after
//! `[ftp] data_timeout_secs` is answered `425` ([`DataLink::established`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How long libunftp 0.24 waits for a passive data connection after
/// `PASV` (a constant in its `passive_common.rs`); a client connecting
/// later is turned away.
pub const LIBUNFTP_ACCEPT_WINDOW: Duration = Duration::from_secs(15);

/// A passive listener the binder made for the next `PASV`/`EPSV` reply:
/// the client's side, and the loopback port libunftp listens on.
pub struct PassiveOffer {
    pub public: TcpListener,
    pub inner_port: u16,
}

/// Where the binder leaves its [`PassiveOffer`] for the guard (libunftp
/// calls the binder while it answers `PASV`; the guard reads the answer).
pub type OfferSlot = Arc<Mutex<Option<PassiveOffer>>>;

/// One data connection being set up or carried. Dropping it stops it (its
/// listener closes, a relay in progress is cut).
pub struct DataLink {
    established: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl DataLink {
    /// Whether the client's data connection is there (and handed on).
    pub fn established(&self) -> bool {
        self.established.load(Ordering::Acquire)
    }
}

impl Drop for DataLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits (up to `window`) for the client on the offer's public port, then
/// relays it to libunftp's loopback port.
pub fn passive(offer: PassiveOffer, window: Duration) -> DataLink {
    let established = Arc::new(AtomicBool::new(false));
    let flag = established.clone();
    let task = tokio::spawn(async move {
        let Ok(Ok((client, from))) = tokio::time::timeout(window, offer.public.accept()).await
        else {
            return;
        };
        drop(offer.public);
        let inner = match TcpStream::connect((Ipv4Addr::LOCALHOST, offer.inner_port)).await {
            Ok(s) => s,
            Err(e) => {
                tracing::info!(
                    "ftp: data connection from {from} came too late for the server: {e}"
                );
                return;
            }
        };
        flag.store(true, Ordering::Release);
        relay(client, inner).await;
    });
    DataLink { established, task }
}

/// Active mode: connects to the client at `to` (within `timeout`), then
/// waits for libunftp on a loopback listener. Returns the link and the
/// loopback port to give libunftp in its `PORT` command.
pub async fn active(to: SocketAddr, timeout: Duration) -> std::io::Result<(DataLink, u16)> {
    let client = match tokio::time::timeout(timeout, TcpStream::connect(to)).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {} s", timeout.as_secs()),
            ))
        }
    };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let port = listener.local_addr()?.port();
    let established = Arc::new(AtomicBool::new(true));
    let task = tokio::spawn(async move {
        // libunftp connects as soon as it reads the PORT command.
        let accepted = tokio::time::timeout(LIBUNFTP_ACCEPT_WINDOW, listener.accept()).await;
        let Ok(Ok((inner, from))) = accepted else {
            return;
        };
        if from.ip() != IpAddr::V4(Ipv4Addr::LOCALHOST) {
            return;
        }
        drop(listener);
        relay(client, inner).await;
    });
    Ok((DataLink { established, task }, port))
}

/// Carries bytes both ways until both sides are done (TLS, when the data
/// connection is protected, passes through: libunftp holds it).
async fn relay(mut client: TcpStream, mut inner: TcpStream) {
    let _ = tokio::io::copy_bidirectional(&mut client, &mut inner).await;
    let _ = client.shutdown().await;
    let _ = inner.shutdown().await;
}

/// The `PASV` (`227 ... (h1,h2,h3,h4,p1,p2)`) or `EPSV`
/// (`229 ... (|||port|)`) reply in `chunk`, with the port replaced by
/// `port`; `None` when `chunk` holds neither.
pub fn announce_port(chunk: &[u8], port: u16) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(chunk).ok()?;
    let mut out = String::with_capacity(text.len());
    let mut done = false;
    for line in text.split_inclusive('\n') {
        if !done && (line.starts_with("227 ") || line.starts_with("229 ")) {
            let open = line.find('(')?;
            let close = line.rfind(')')?;
            let inside = &line[open + 1..close];
            let replaced = if line.starts_with("227") {
                let fields: Vec<&str> = inside.split(',').collect();
                if fields.len() != 6 {
                    return None;
                }
                format!("{},{},{}", fields[..4].join(","), port >> 8, port & 0xff)
            } else {
                let delim = inside.chars().next()?;
                format!("{d}{d}{d}{port}{d}", d = delim)
            };
            out.push_str(&line[..=open]);
            out.push_str(&replaced);
            out.push_str(&line[close..]);
            done = true;
        } else {
            out.push_str(line);
        }
    }
    done.then(|| out.into_bytes())
}

/// Whether `chunk` (one or more whole replies) holds a preliminary `150`
/// or `125`: a transfer starts and needs its data connection.
pub fn transfer_starts(chunk: &[u8]) -> bool {
    chunk
        .split(|&b| b == b'\n')
        .any(|line| line.starts_with(b"150") || line.starts_with(b"125"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasv_and_epsv_replies_get_the_public_port() {
        assert_eq!(
            announce_port(b"227 Entering Passive Mode (10,77,0,1,195,80)\r\n", 50001).unwrap(),
            b"227 Entering Passive Mode (10,77,0,1,195,81)\r\n"
        );
        assert_eq!(
            announce_port(b"229 Entering Extended Passive Mode (|||40123|)\r\n", 50001).unwrap(),
            b"229 Entering Extended Passive Mode (|||50001|)\r\n"
        );
        assert!(announce_port(b"200 OK\r\n", 1).is_none());
        assert!(announce_port(b"227 broken (1,2)\r\n", 1).is_none());
    }

    #[test]
    fn a_transfer_start_is_seen() {
        assert!(transfer_starts(b"150 Sending data\r\n"));
        assert!(transfer_starts(b"200 x\r\n125 go\r\n"));
        assert!(!transfer_starts(b"226 done\r\n"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(chunk in proptest::collection::vec(proptest::num::u8::ANY, 0..200), port: u16) {
            let _ = announce_port(&chunk, port);
            let _ = transfer_starts(&chunk);
        }
    }
}
