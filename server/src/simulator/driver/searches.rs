//! The LAN searches a simulated device answers ([`DriverSimulator::answer_searches`]):
//! sockets where the PJLink class 2 search, SSDP and mDNS queries are
//! heard, answered as controller-core's [`SearchResponder`] says.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use controller_core::driver::discovery::mdns::{MDNS_GROUP, MDNS_PORT};
use controller_core::driver::discovery::{
    SearchResponder, MAX_DATAGRAM, PJLINK_PORT, SSDP_GROUP, SSDP_PORT,
};
use controller_core::driver::simulator::{Fault, SimDevice};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::DriverSimulator;
use crate::runtime::sync::lock;
use crate::services::lan_socket::{multicast_udp, shared_udp, subnet_broadcast_towards};

impl DriverSimulator {
    /// Answers the LAN searches the driver declares (`[discovery]`), as
    /// the device at `ip` (an address of this host: the simulator's own,
    /// or another one in a test's namespace): the PJLink class 2 search on
    /// UDP 4352, SSDP on UDP 1900 and mDNS queries on UDP 5353, each heard
    /// by unicast and by broadcast or multicast, and answered from `ip` to
    /// the searcher (mDNS: the legacy unicast answer, to the query's port).
    /// Returns the addresses it listens on (none: the driver declares no
    /// search). A silent fault answers nothing.
    pub async fn answer_searches(&mut self, ip: Ipv4Addr) -> anyhow::Result<Vec<SocketAddr>> {
        let Some(responder) = SearchResponder::for_driver(&self.driver, ip, self.addr.port())
        else {
            return Ok(Vec::new());
        };
        let name = self.driver.id.clone();
        let bind = |addr: SocketAddr| {
            shared_udp(addr).with_context(|| {
                format!("the simulated {name} cannot listen for searches on udp {addr}")
            })
        };
        // (where a search is heard, the socket that answers it: the
        // unicast socket, so answers come from `ip`)
        let mut ears: Vec<(Arc<UdpSocket>, Arc<UdpSocket>)> = Vec::new();
        if responder.pjlink.is_some() {
            let unicast = Arc::new(bind(SocketAddr::new(ip.into(), PJLINK_PORT))?);
            ears.push((Arc::clone(&unicast), Arc::clone(&unicast)));
            // A socket bound to one address does not hear broadcasts; one
            // bound to its network's broadcast address does.
            let broadcast = if ip.is_loopback() {
                Some(Ipv4Addr::new(127, 255, 255, 255))
            } else {
                subnet_broadcast_towards(ip)
            };
            if let Some(b) = broadcast {
                let heard = bind(SocketAddr::new(b.into(), PJLINK_PORT))?;
                ears.push((Arc::new(heard), unicast));
            }
        }
        if responder.ssdp.is_some() {
            let unicast = Arc::new(bind(SocketAddr::new(ip.into(), SSDP_PORT))?);
            ears.push((Arc::clone(&unicast), Arc::clone(&unicast)));
            // Joined on `ip`'s interface; refused on a loopback without
            // MULTICAST (the search would not stay on this host): then
            // only unicast searches are heard.
            match multicast_udp(SSDP_GROUP, SSDP_PORT, ip, 1) {
                Ok(group) => ears.push((Arc::new(group), unicast)),
                Err(e) => tracing::warn!(
                    "{name}: SSDP searches to the group {SSDP_GROUP} are not heard: {e}"
                ),
            }
        }
        if responder.mdns.is_some() {
            let unicast = Arc::new(bind(SocketAddr::new(ip.into(), MDNS_PORT))?);
            ears.push((Arc::clone(&unicast), Arc::clone(&unicast)));
            match multicast_udp(MDNS_GROUP, MDNS_PORT, ip, 1) {
                Ok(group) => ears.push((Arc::new(group), unicast)),
                Err(e) => tracing::warn!(
                    "{name}: mDNS queries to the group {MDNS_GROUP} are not heard: {e}"
                ),
            }
        }
        let mut listening = Vec::new();
        let responder = Arc::new(responder);
        for (ear, mouth) in ears {
            listening.push(ear.local_addr()?);
            self.tasks.spawn(answer_searches(
                ear,
                mouth,
                Arc::clone(&responder),
                Arc::clone(&self.device),
                self.token.clone(),
                name.clone(),
            ));
        }
        Ok(listening)
    }
}

/// Hears searches on `ear` and answers them from `mouth`.
async fn answer_searches(
    ear: Arc<UdpSocket>,
    mouth: Arc<UdpSocket>,
    responder: Arc<SearchResponder>,
    device: Arc<Mutex<SimDevice>>,
    token: CancellationToken,
    name: String,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        let received = tokio::select! {
            _ = token.cancelled() => return,
            r = ear.recv_from(&mut buf) => r,
        };
        let Ok((n, peer)) = received else {
            continue;
        };
        if lock(&device).fault() == Fault::Silent {
            continue;
        }
        if let Some(answer) = responder.answer(&buf[..n]) {
            if let Err(e) = mouth.send_to(&answer, peer).await {
                tracing::warn!("{name}: cannot answer the search of {peer}: {e}");
            }
        }
    }
}
