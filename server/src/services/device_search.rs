//! The device search (`[device_search]`): finds room devices on the LAN
//! whose drivers say how (`[discovery]` in a driver file), for the status
//! page's list of found devices with a suggested driver each.
//!
//! One UDP socket sends the searches and reads their answers: the PJLink
//! class 2 search (`%2SRCH` to UDP 4352, usually a broadcast; projectors
//! answer `%2ACKN=<MAC>` to the searcher's port 4352, so the socket is
//! bound to 4352, shared with other programs of this host) and SSDP
//! `M-SEARCH` requests (to the group 239.255.255.250:1900; devices answer
//! `200 OK` to the sender) and the mDNS query (DNS-SD PTR questions for the
//! service types drivers declare, to 224.0.0.251:5353; sent from a port
//! other than 5353, it is a "legacy unicast" query that devices answer to
//! the sender, RFC 6762 6.7), at start and every `every_secs`. What the
//! requests and answers are, and which driver an answer suggests, is
//! controller-core's (`driver::discovery`, sans-IO); this file only sends
//! and receives. Answers are bounded ([`MAX_DATAGRAM`]) and the list is
//! capped (`max_found`); nothing is answered, so the socket cannot be
//! used to amplify.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use controller_core::driver::discovery::mdns::{self, MDNS_PORT};
use controller_core::driver::discovery::{
    mdns_services, ssdp_search, ssdp_search_targets, Answer, FoundDevice, MAX_DATAGRAM,
    PJLINK_PORT, PJLINK_SEARCH, SSDP_PORT,
};
use controller_core::driver::library::Library;
use futures::future::BoxFuture;
use futures::FutureExt;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::lan_socket::{multicast_unavailable, subnet_broadcasts};
use super::{Endpoint, Service, StartEnv, StartError, Started};
use crate::config::{DeviceSearchSettings, Settings};
use crate::state::controller::Controller;

pub const NAME: &str = "device_search";

/// The seconds SSDP devices may wait before answering (`MX`).
const SSDP_MX: u8 = 1;

pub struct DeviceSearchService;

impl Service for DeviceSearchService {
    fn name(&self) -> &'static str {
        NAME
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.device_search.enabled
    }

    fn purpose(&self, s: &Settings) -> String {
        let d = &s.device_search;
        let mut searches = Vec::new();
        if let Some(to) = d.pjlink_to {
            searches.push(format!("PJLink class 2 search to {to}:{PJLINK_PORT}"));
        }
        if let Some(to) = d.ssdp_to {
            searches.push(format!("SSDP search to {to}:{SSDP_PORT}"));
        }
        if let Some(to) = d.mdns_to {
            searches.push(format!("mDNS query to {to}:{MDNS_PORT}"));
        }
        let when = match d.every_secs {
            0 => "once at start".to_string(),
            n => format!("every {n} s"),
        };
        format!(
            "finds room devices for the status page: {} ({when}); reads only their answers, answers nothing",
            if searches.is_empty() {
                "no search set".to_string()
            } else {
                searches.join(", ")
            }
        )
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        async move {
            let settings = env.settings().device_search.clone();
            if settings.pjlink_to.is_none()
                && settings.ssdp_to.is_none()
                && settings.mdns_to.is_none()
            {
                return Err(StartError::Off(
                    "(none of pjlink_to, ssdp_to and mdns_to is set in [device_search])".into(),
                ));
            }
            let multicast = [settings.ssdp_to, settings.mdns_to]
                .into_iter()
                .any(|to| matches!(to, Some(IpAddr::V4(to)) if to.is_multicast()));
            if multicast {
                // On loopback without MULTICAST the search would leave by
                // another interface: refused, as for the extension bus.
                if multicast_unavailable(settings.interface).is_some() {
                    return Err(StartError::Failed(format!(
                        "the SSDP and mDNS searches cannot stay on {}: the interface has no MULTICAST flag \
                         (as root: `ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo`); \
                         set [device_search] interface to the LAN address, or remove ssdp_to and mdns_to",
                        settings.interface
                    )));
                }
            }
            // PJLink answers come to port 4352; SSDP answers to any port.
            let port = if settings.pjlink_to.is_some() {
                PJLINK_PORT
            } else {
                0
            };
            let addr = SocketAddr::new(settings.bind, port);
            let socket = search_socket(addr, &settings)
                .map_err(|e| super::bind_error(NAME, "UDP", addr, NAME, e))?;
            let local = socket.local_addr()?;
            let mut to = Vec::new();
            if let Some(a) = settings.pjlink_to {
                to.push(format!("{a}:{PJLINK_PORT}"));
            }
            if let Some(a) = settings.ssdp_to {
                to.push(format!("{a}:{SSDP_PORT}"));
            }
            if let Some(a) = settings.mdns_to {
                to.push(format!("{a}:{MDNS_PORT}"));
            }
            let search = DeviceSearch {
                controller: env.controller.clone(),
                socket,
                library: Arc::new(Library::builtin()),
                settings,
            };
            Ok(Started::listening(
                Endpoint {
                    addr: local,
                    describe: format!("udp {local} -> {}", to.join(", ")),
                },
                search.run(env.shutdown).boxed(),
            ))
        }
        .boxed()
    }
}

/// The search socket: its port shared (a PJLink controller or `roomctl
/// simulate` may hold 4352 too), broadcast allowed, multicast leaving from
/// the configured interface with the configured TTL.
fn search_socket(addr: SocketAddr, s: &DeviceSearchSettings) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_broadcast(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    if addr.is_ipv4() {
        if !s.interface.is_unspecified() {
            socket.set_multicast_if_v4(&s.interface)?;
        }
        socket.set_multicast_ttl_v4(s.ttl)?;
        // Devices simulated on this host hear the search too.
        socket.set_multicast_loop_v4(true)?;
    }
    UdpSocket::from_std(socket.into())
}

struct DeviceSearch {
    controller: Controller,
    socket: UdpSocket,
    library: Arc<Library>,
    settings: DeviceSearchSettings,
}

impl DeviceSearch {
    async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let every = match self.settings.every_secs {
            0 => None,
            n => Some(Duration::from_secs(n)),
        };
        let mut rounds = tokio::time::interval(every.unwrap_or(Duration::from_secs(3600)));
        rounds.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut searched = false;
        // One byte more than an answer may have: a longer one is seen as such.
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            tokio::select! {
                _ = rounds.tick(), if every.is_some() || !searched => {
                    searched = true;
                    self.search().await;
                }
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((n, from)) => self.answer(&buf[..n], from),
                    Err(e) => tracing::debug!("{NAME}: receive failed: {e}"),
                },
                _ = shutdown.cancelled() => return Ok(()),
            }
        }
    }

    /// Sends one round of searches.
    async fn search(&self) {
        if let Some(to) = self.settings.pjlink_to {
            self.send(PJLINK_SEARCH, SocketAddr::new(to, PJLINK_PORT))
                .await;
        }
        if let Some(to) = self.settings.ssdp_to {
            for st in ssdp_search_targets(&self.library) {
                self.send(&ssdp_search(&st, SSDP_MX), SocketAddr::new(to, SSDP_PORT))
                    .await;
            }
        }
        if let Some(to) = self.settings.mdns_to {
            let services = mdns_services(&self.library);
            if !services.is_empty() {
                self.send(&mdns::query(&services), SocketAddr::new(to, MDNS_PORT))
                    .await;
            }
        }
    }

    async fn send(&self, datagram: &[u8], to: SocketAddr) {
        let Err(e) = self.socket.send_to(datagram, to).await else {
            return;
        };
        // 255.255.255.255 has no route on a LAN without a gateway: search
        // each of this machine's networks instead.
        if to.ip() == IpAddr::V4(Ipv4Addr::BROADCAST) {
            let mut sent = false;
            for b in subnet_broadcasts() {
                let each = SocketAddr::new(b.into(), to.port());
                sent |= self.socket.send_to(datagram, each).await.is_ok();
            }
            if sent {
                return;
            }
        }
        tracing::warn!("{NAME}: cannot send a search to {to}: {e}");
    }

    /// Reads one datagram; each answer in it puts its device on the list.
    fn answer(&self, datagram: &[u8], from: SocketAddr) {
        let answers = Answer::read_all(datagram);
        if answers.is_empty() {
            tracing::debug!(
                "{NAME}: {} bytes from {from} are not a search answer",
                datagram.len()
            );
        }
        for answer in answers {
            self.found(&answer, from);
        }
    }

    fn found(&self, answer: &Answer, from: SocketAddr) {
        let found = FoundDevice::new(answer, from.ip(), &self.library);
        let line = format!(
            "found {} at {} by {}: {}",
            found.identity,
            found.address,
            found.found_by.as_str(),
            if found.suggested.is_empty() {
                "no driver in the library fits".to_string()
            } else {
                format!("driver {}", found.suggested.join(" or "))
            }
        );
        if self
            .controller
            .status()
            .found_device(found, self.settings.max_found)
        {
            self.controller.log().record(line);
        }
    }
}
