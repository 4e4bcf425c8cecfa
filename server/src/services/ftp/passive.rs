//! Passive data listeners: bound on the address the client reached (not
//! the loopback address libunftp sees), on a port of `ftp.passive_ports`,
//! and deaf to every address but the client's. libunftp itself gets a
//! loopback socket; the guard relays the client's data connection to it
//! ([`super::data`]), so libunftp sees the data connection come from the
//! same address as the control connection.
//!
//! libunftp gives a passive listener to the first connection that arrives.
//! Another machine that connects to the announced port first would take
//! the transfer, and the real client's `STOR`/`RETR` would wait on a data
//! connection that never comes. A classic BPF socket filter on the
//! listening socket drops every packet (so every SYN) that does not come
//! from the control connection's address: a port scanner gets no answer,
//! and the client's own connection is the only one accepted.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;

use async_trait::async_trait;
use libunftp::options::Binder;
use tokio::net::TcpSocket;

use super::data::{OfferSlot, PassiveOffer};

pub struct PassiveBinder {
    /// The address the client reached the controller on.
    pub ip: IpAddr,
    /// The client's address (IPv4-mapped addresses as IPv4).
    pub client: IpAddr,
    /// Where the public listener goes, for the guard.
    pub offers: OfferSlot,
}

impl std::fmt::Debug for PassiveBinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "passive ports on {} for {}", self.ip, self.client)
    }
}

#[async_trait]
impl Binder for PassiveBinder {
    async fn bind(
        &mut self,
        _libunftp_local: IpAddr,
        ports: RangeInclusive<u16>,
    ) -> std::io::Result<TcpSocket> {
        let span = u32::from(ports.end() - ports.start()) + 1;
        // Start at a random place in the range so sessions spread out.
        let offset = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0))
            % span;
        for i in 0..span {
            let port = *ports.start() as u32 + (offset + i) % span;
            let socket = if self.ip.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            if socket.bind(SocketAddr::new(self.ip, port as u16)).is_ok() {
                only_from(&socket, self.client)?;
                let public = socket.listen(1)?;
                // libunftp listens on loopback; the guard relays to it.
                let inner = TcpSocket::new_v4()?;
                inner.bind(SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)))?;
                let inner_port = inner.local_addr()?.port();
                *self.offers.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(PassiveOffer { public, inner_port });
                return Ok(inner);
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!(
                "every passive FTP port {}-{} is in use",
                ports.start(),
                ports.end()
            ),
        ))
    }
}

// Classic BPF, as in linux/filter.h.
const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K
/// Loads relative to the network (IP) header, whatever the socket layer
/// sees as the packet's start (SKF_NET_OFF).
const NET: i32 = -0x100000;
const ACCEPT: u32 = u32::MAX;
const DROP: u32 = 0;

/// The filter program: accept packets whose IP source is `client`.
fn program(client: IpAddr) -> Vec<socket2::SockFilter> {
    use socket2::SockFilter as F;
    let load = |offset: i32| F::new(LD_W_ABS, 0, 0, (NET + offset) as u32);
    match client {
        IpAddr::V4(v4) => vec![
            load(12), // IPv4 source address
            F::new(JEQ_K, 0, 1, u32::from(v4)),
            F::new(RET_K, 0, 0, ACCEPT),
            F::new(RET_K, 0, 0, DROP),
        ],
        IpAddr::V6(v6) => {
            let words: Vec<u32> = v6
                .octets()
                .chunks(4)
                .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
                .collect();
            let mut p = Vec::new();
            for (i, word) in words.iter().enumerate() {
                // IPv6 source address: bytes 8..24. On a mismatch jump to
                // the final DROP (2 instructions per word left, then ACCEPT).
                let left = (3 - i) as u8;
                p.push(load(8 + 4 * i as i32));
                p.push(F::new(JEQ_K, 0, 2 * left + 1, *word));
            }
            p.push(F::new(RET_K, 0, 0, ACCEPT));
            p.push(F::new(RET_K, 0, 0, DROP));
            p
        }
    }
}

/// Makes `socket` (not yet listening) take packets from `client` only.
fn only_from(socket: &TcpSocket, client: IpAddr) -> std::io::Result<()> {
    socket2::SockRef::from(socket).attach_filter(&program(client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mismatch_jumps_to_drop() {
        for client in ["192.0.2.7", "2001:db8::7"] {
            let p = program(client.parse().unwrap());
            let drop_at = p.len() - 1;
            for (i, f) in p.iter().enumerate() {
                // SockFilter hides its fields; its Debug shows them.
                let text = format!("{f:?}");
                if text.contains(&format!("code: {JEQ_K}")) {
                    let jf: usize = text
                        .split("jf: ")
                        .nth(1)
                        .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
                        .and_then(|n| n.parse().ok())
                        .unwrap();
                    assert_eq!(i + 1 + jf, drop_at, "{client}: {p:?}");
                }
            }
        }
    }
}
