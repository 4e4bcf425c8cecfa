//! The asking side of lookup (UDP 8000): one request, and every distinct
//! answer within a wait, broadcast (on port 8000) and unicast alike. Used by
//! `roomctl discover` and the station's discovery.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use controller_core::protocol::lookup::{Identification, LookupMessage, MAX_DATAGRAM};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use crate::services::lan_socket::shared_udp;

/// One controller that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where the answer came from.
    pub from: SocketAddr,
    pub id: Identification,
}

/// Sends a lookup request to `target` and returns every distinct answer
/// received within `wait`.
pub async fn discover(target: SocketAddr, wait: Duration) -> anyhow::Result<Vec<Found>> {
    let loopback = target.ip().is_loopback();
    let local: IpAddr = if loopback {
        Ipv4Addr::LOCALHOST.into()
    } else {
        Ipv4Addr::UNSPECIFIED.into()
    };
    let sender = shared_udp(SocketAddr::new(local, 0))?;
    // Broadcast answers go to port 8000 of the broadcast address.
    let listen: IpAddr = if loopback {
        Ipv4Addr::new(127, 255, 255, 255).into()
    } else {
        Ipv4Addr::UNSPECIFIED.into()
    };
    let listener = match shared_udp(SocketAddr::new(listen, target.port())) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!(
                "note: cannot listen on {listen}:{} ({e}); only unicast answers are seen",
                target.port()
            );
            None
        }
    };
    let nonce = nonce();
    let request = LookupMessage::Request { nonce }.encode();
    send_request(&sender, &request, target).await?;
    Ok(collect_replies(&sender, &listener, wait).await)
}

/// Sends the request to `target`; when 255.255.255.255 cannot be reached,
/// to each of this machine's networks instead.
async fn send_request(
    sender: &UdpSocket,
    request: &[u8],
    target: SocketAddr,
) -> anyhow::Result<()> {
    if let Err(e) = sender.send_to(request, target).await {
        // 255.255.255.255 has no route on a LAN without a gateway: ask on
        // each of this machine's networks instead.
        let networks = if target.ip() == IpAddr::V4(Ipv4Addr::BROADCAST) {
            crate::services::lan_socket::subnet_broadcasts()
        } else {
            Vec::new()
        };
        let mut sent = 0;
        for b in &networks {
            if sender
                .send_to(request, SocketAddr::new((*b).into(), target.port()))
                .await
                .is_ok()
            {
                sent += 1;
            }
        }
        if sent == 0 {
            return Err(anyhow::anyhow!(
                "cannot send the lookup request to {target}: {e}"
            ));
        }
        eprintln!(
            "note: {target} cannot be reached ({e}); asked on {}",
            networks
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// The distinct replies heard on either socket until `wait` has passed.
async fn collect_replies(
    sender: &UdpSocket,
    listener: &Option<UdpSocket>,
    wait: Duration,
) -> Vec<Found> {
    let deadline = Instant::now() + wait;
    let mut found: Vec<Found> = Vec::new();
    let mut a = vec![0u8; MAX_DATAGRAM + 1];
    let mut b = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        let received = tokio::select! {
            r = sender.recv_from(&mut a) => r.map(|(n, from)| (a[..n].to_vec(), from)),
            r = recv(listener, &mut b) => r.map(|(n, from)| (b[..n].to_vec(), from)),
            _ = tokio::time::sleep_until(deadline) => break,
        };
        let Ok((bytes, from)) = received else {
            continue;
        };
        if let Ok(LookupMessage::Reply(mut id)) = LookupMessage::decode(&bytes) {
            // Several askers share port 8000: answers to any request count.
            id.nonce = 0;
            let entry = Found { from, id };
            if !found.contains(&entry) {
                found.push(entry);
            }
        }
    }
    found
}

async fn recv(s: &Option<UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match s {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

fn nonce() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    t.subsec_nanos() ^ std::process::id()
}
