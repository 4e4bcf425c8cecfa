//! LAN lookup, UDP 8000: answers "who is there?" with this controller's
//! identification (`controller_core::protocol::lookup`).
//!
//! Answers go by broadcast to port 8000 (as the reference product; for
//! 255.255.255.255, the broadcast address of the network the request came
//! from) or, by setting, unicast to the asker. They are rate-limited for all askers
//! together, so the service is useless as an amplifier. Replies (our own,
//! looped back, or another controller's) are never answered.

pub mod discover;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use controller_core::protocol::lookup::{Identification, LookupMessage, ServicePort, MAX_DATAGRAM};
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::net::UdpSocket;
use tokio::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use super::lan_socket::{
    broadcast_listen_addr, local_address_towards, shared_udp, subnet_broadcast_towards,
};
use super::{Endpoint, Service, StartEnv, StartError, Started};
use crate::config::{LookupSettings, ReplyMode, Settings};
use crate::state::controller::Controller;
use crate::state::status::StatusBoard;

pub const NAME: &str = "lookup";

/// At most `per_sec` answers in any one-second window, bursts included.
///
/// A sliding window of the last answers' times, not a token bucket: a
/// bucket that starts full and refills while it drains lets nearly twice
/// the rate through in the first second (39 answers where the docs promise
/// 20). Memory is bounded by `per_sec` entries.
pub struct ReplyBudget {
    per_sec: usize,
    sent: VecDeque<Instant>,
}

impl ReplyBudget {
    pub fn new(per_sec: u32, _now: Instant) -> ReplyBudget {
        let per_sec = per_sec as usize;
        ReplyBudget {
            per_sec,
            sent: VecDeque::with_capacity(per_sec.min(1024)),
        }
    }

    /// Takes one answer from the budget, if there is one left.
    pub fn take(&mut self, now: Instant) -> bool {
        while self
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= Duration::from_secs(1))
        {
            self.sent.pop_front();
        }
        if self.sent.len() < self.per_sec {
            self.sent.push_back(now);
            true
        } else {
            false
        }
    }
}

pub struct LookupService;

impl Service for LookupService {
    fn name(&self) -> &'static str {
        NAME
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.lookup.enabled
    }

    fn purpose(&self, s: &Settings) -> String {
        let how = match s.lookup.reply {
            ReplyMode::Broadcast => "by broadcast",
            ReplyMode::Unicast => "to the asker",
        };
        format!(
            "LAN lookup: answers configuration tools' \"who is there?\" with this controller's identification ({how}, at most {} answers per second)",
            s.lookup.max_replies_per_sec
        )
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        async move {
            let controller = env.controller.clone();
            let s = controller.settings();
            let settings = &s.lookup;
            let broadcast = s.network.broadcast;
            let addr = SocketAddr::new(settings.bind, settings.port);
            let socket =
                shared_udp(addr).map_err(|e| super::bind_error(NAME, "UDP", addr, NAME, e))?;
            let local = socket.local_addr()?;
            // The services started before this one, as the status board has them.
            let mut services = advertised_services(controller.status(), s);
            services.push(ServicePort {
                service: controller_core::protocol::lookup::Service::Lookup,
                port: local.port(),
            });
            // A service bound to one address also listens on the broadcast
            // address, where lookup requests arrive.
            let broadcast_socket = match broadcast_listen_addr(local.ip(), broadcast, local.port()) {
                Some(b) => match shared_udp(b) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        controller.log().record(format!(
                            "lookup: cannot listen on {b} ({e}); only requests sent to {local} are answered"
                        ));
                        None
                    }
                },
                None => None,
            };
            let reply_to = match settings.reply {
                ReplyMode::Broadcast => Some(SocketAddr::new(broadcast, local.port())),
                ReplyMode::Unicast => None,
            };
            let service = Lookup {
                controller: controller.clone(),
                settings: settings.clone(),
                bound_ip: local.ip(),
                reply_to,
                services: Arc::new(services),
                budget: ReplyBudget::new(settings.max_replies_per_sec, Instant::now()),
                send_failures: 0,
                failure_logged: None,
            };
            // Both sockets are open ports: the status page and the console's
            // `network` list them together.
            let describe = match broadcast_socket.as_ref().and_then(|b| b.local_addr().ok()) {
                Some(b) => format!("udp {local} and udp {b} (broadcasts)"),
                None => format!("udp {local}"),
            };
            Ok(Started::listening(
                Endpoint {
                    addr: local,
                    describe,
                },
                service.run(env.shutdown, socket, broadcast_socket).boxed(),
            ))
        }
        .boxed()
    }
}

/// The running lookup service.
struct Lookup {
    controller: Controller,
    settings: LookupSettings,
    bound_ip: IpAddr,
    /// `Some(broadcast:port)` in broadcast mode; `None` answers the asker.
    reply_to: Option<SocketAddr>,
    services: Arc<Vec<ServicePort>>,
    budget: ReplyBudget,
    /// Answers that could not be sent since the last report in the log.
    send_failures: u64,
    failure_logged: Option<Instant>,
}

/// Failed answers are reported at most this often.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);

impl Lookup {
    async fn run(
        mut self,
        shutdown: CancellationToken,
        socket: UdpSocket,
        broadcast_socket: Option<UdpSocket>,
    ) -> anyhow::Result<()> {
        // One byte more than the limit, so an oversized datagram is seen as such.
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        let mut buf2 = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            let (len, from) = tokio::select! {
                r = socket.recv_from(&mut buf) => match r {
                    Ok(x) => x,
                    Err(e) => { transient(e)?; continue }
                },
                r = recv_opt(&broadcast_socket, &mut buf2) => match r {
                    Ok((len, from)) => { buf[..len].copy_from_slice(&buf2[..len]); (len, from) }
                    Err(e) => { transient(e)?; continue }
                },
                _ = shutdown.cancelled() => return Ok(()),
            };
            if let Some(reply) = self.answer(&buf[..len], from, Instant::now()) {
                self.send_answer(&socket, &reply, from).await;
            }
        }
    }

    /// Where an answer to `from` goes: the asker (unicast mode), or the
    /// broadcast address. For 255.255.255.255 that is the broadcast address
    /// of the network the asker is on: the limited broadcast leaves only by
    /// the default route's interface, and not at all on a LAN without a
    /// gateway (no default route), where the asker is still one hop away.
    fn reply_target(&self, from: SocketAddr) -> SocketAddr {
        match (self.reply_to, from.ip()) {
            (None, _) => from,
            (Some(to), IpAddr::V4(asker)) if to.ip() == IpAddr::V4(Ipv4Addr::BROADCAST) => {
                match subnet_broadcast_towards(asker) {
                    Some(b) => SocketAddr::new(b.into(), to.port()),
                    None => to,
                }
            }
            (Some(to), _) => to,
        }
    }

    /// Sends an answer; a broadcast that cannot be sent goes to the asker
    /// instead. Failures are logged (at most once a minute, with a count).
    async fn send_answer(&mut self, socket: &UdpSocket, reply: &[u8], from: SocketAddr) {
        let to = self.reply_target(from);
        let Err(e) = socket.send_to(reply, to).await else {
            return;
        };
        let fell_back = to != from && socket.send_to(reply, from).await.is_ok();
        let now = Instant::now();
        self.send_failures += 1;
        if self
            .failure_logged
            .is_none_or(|t| now.duration_since(t) >= FAILURE_LOG_INTERVAL)
        {
            self.failure_logged = Some(now);
            let n = std::mem::take(&mut self.send_failures);
            self.controller.log().record(format!(
                "lookup: cannot send the answer to {to} ({e}){}; {n} answer(s) failed this way since the last report",
                if fell_back {
                    format!("; answered {from} directly instead")
                } else {
                    String::new()
                }
            ));
        }
    }

    /// The answer to a datagram, if it gets one.
    fn answer(&mut self, datagram: &[u8], from: SocketAddr, now: Instant) -> Option<Vec<u8>> {
        let Ok(LookupMessage::Request { nonce }) = LookupMessage::decode(datagram) else {
            return None; // replies, garbage, other versions: never answered
        };
        if !self.settings.allow.allows(from.ip()) || !self.budget.take(now) {
            return None;
        }
        Some(LookupMessage::Reply(self.identification(nonce, from)).encode())
    }

    fn identification(&self, nonce: u32, asker: SocketAddr) -> Identification {
        let id = self.controller.identity();
        let project = self.controller.project();
        let address = if self.bound_ip.is_unspecified() {
            local_address_towards(asker)
        } else {
            Some(self.bound_ip)
        };
        Identification {
            nonce,
            name: id.name.clone(),
            model: id.model.clone(),
            serial: id.serial.clone(),
            firmware: id.firmware.clone(),
            address,
            project_name: project.project.name.clone(),
            project_revision: project.project.revision,
            location: project.project.location.clone(),
            services: self.services.as_ref().clone(),
        }
    }
}

async fn recv_opt(
    socket: &Option<UdpSocket>,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// ICMP errors surface on the next receive of a UDP socket (a tool that
/// asked and went away): they end nothing.
fn transient(e: std::io::Error) -> anyhow::Result<()> {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused | ConnectionReset | Interrupted | WouldBlock => Ok(()),
        _ => Err(anyhow::anyhow!("receiving lookup requests failed: {e}")),
    }
}

/// The services a lookup answer lists: those started before lookup that
/// are listening, with their ports (lookup itself is added once bound).
fn advertised_services(board: &StatusBoard, settings: &Settings) -> Vec<ServicePort> {
    use controller_core::protocol::lookup::Service as Listed;
    let port = |name: &str| board.service_addr(name).map(|a| a.port());
    [
        (Listed::PanelHttp, port("panel")),
        (Listed::ApprimoHttp, port("apprimo")),
        (Listed::Central, port("central")),
        // Listeners own these ports; the services send from ephemeral ones.
        (Listed::Live, port("live").map(|_| settings.live.port)),
        (
            Listed::Extension,
            port("extension").map(|_| settings.extension.port),
        ),
        (Listed::Telnet, port("telnet")),
        (Listed::Ftp, port("ftp")),
    ]
    .into_iter()
    .filter_map(|(service, port)| {
        Some(ServicePort {
            service,
            port: port?,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Duration;

    /// Any one-second window holds at most the budget (the old bucket let
    /// 39 of 20 through in the first second).
    #[test]
    fn no_second_holds_more_than_the_budget() {
        let t0 = Instant::now();
        let mut b = ReplyBudget::new(20, t0);
        let mut sent = Vec::new();
        for i in 0..400u64 {
            let now = t0 + Duration::from_millis(i * 5);
            if b.take(now) {
                sent.push(now);
            }
        }
        for (i, start) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
                .count();
            assert!(in_window <= 20, "{in_window} answers within one second");
        }
        // Two seconds of asking get two seconds' worth of answers.
        assert_eq!(sent.len(), 40);
    }

    #[test]
    fn budget_allows_a_burst_then_refills() {
        let t0 = Instant::now();
        let mut b = ReplyBudget::new(3, t0);
        assert!(b.take(t0) && b.take(t0) && b.take(t0));
        assert!(!b.take(t0));
        assert!(!b.take(t0 + Duration::from_millis(999)));
        // A second after the burst, a new burst of three.
        let t1 = t0 + Duration::from_millis(1000);
        assert!(b.take(t1) && b.take(t1) && b.take(t1) && !b.take(t1));
        let mut b = ReplyBudget::new(3, t0);
        let later = t0 + Duration::from_secs(3600);
        assert!(b.take(later) && b.take(later) && b.take(later) && !b.take(later));
    }
}
