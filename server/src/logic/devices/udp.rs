//! A UDP device: datagrams to one address. UDP has no connection, so a
//! device counts as up once its socket is ready; with a `poll` string it is
//! down after three poll intervals without a datagram back (or when the host
//! reports the port unreachable), and up again at the next datagram.

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use controller_core::logic::DeviceAddress;

use super::DeviceLink;

/// Largest datagram read from a device.
const MAX_DATAGRAM: usize = 8 * 1024;

pub(super) async fn run(mut link: DeviceLink, address: DeviceAddress) {
    let target = address.host_port();
    loop {
        let socket = tokio::select! {
            _ = link.shutdown.cancelled() => return,
            s = open(&target) => s,
        };
        match socket {
            Ok(socket) => {
                let why = session(&mut link, socket, &target).await;
                if link.shutdown.is_cancelled() {
                    return;
                }
                link.down(why);
            }
            Err(e) => link.down(format!("cannot open a socket to {target}: {e}")),
        }
        if !link.wait_down(link.retry_delay()).await {
            return;
        }
    }
}

async fn open(target: &str) -> std::io::Result<UdpSocket> {
    let addr = tokio::net::lookup_host(target)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other("the name resolves to no address"))?;
    let local: std::net::SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(addr).await?;
    Ok(socket)
}

async fn session(link: &mut DeviceLink, socket: UdpSocket, target: &str) -> String {
    link.up(format!("sending to {target}"));
    let poll_every = link.poll_interval();
    let mut poll = tokio::time::interval(poll_every);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        tokio::select! {
            _ = link.shutdown.cancelled() => return "stopping".into(),
            r = socket.recv(&mut buf) => match r {
                Ok(n) => {
                    last_heard = Instant::now();
                    link.up(format!("answering from {target}"));
                    link.lines_of(&Bytes::copy_from_slice(&buf[..n])).await;
                }
                // An ICMP "port unreachable" arrives as an error on the
                // next receive; the socket stays usable.
                Err(e) => link.set_silent(format!("{target}: {e}")),
            },
            request = link.inbox.next() => {
                let Some(request) = request else { return "stopping".into() };
                let result = match link.wire_bytes(&request.payload) {
                    Ok(bytes) => socket.send(&bytes).await.map(|_| ()).map_err(|e| link.failed(format!("send failed: {e}"))),
                    Err(e) => Err(e),
                };
                let _ = request.done.send(result);
            }
            _ = poll.tick(), if link.poll.is_some() => {
                if last_heard.elapsed() > poll_every * 3 {
                    link.set_silent(format!("no datagram from {target} for {} s", last_heard.elapsed().as_secs()));
                }
                if let Some(Ok(bytes)) = link.poll.as_ref().map(|p| link.wire_bytes(p)) {
                    if let Err(e) = socket.send(&bytes).await {
                        return format!("send failed: {e}");
                    }
                }
            }
        }
    }
}
