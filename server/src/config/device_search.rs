//! `[device_search]`: the settings of the device search (PJLink class 2,
//! SSDP and mDNS) and each profile's defaults.

use std::net::{IpAddr, Ipv4Addr};

use controller_core::driver::discovery::{mdns::MDNS_GROUP, SSDP_GROUP};
use serde::{Deserialize, Serialize};

/// The device search (docs/drivers.md, "Finding devices on the LAN"):
/// PJLink class 2 search and SSDP, for the status page's list of found
/// devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSearchSettings {
    pub enabled: bool,
    /// The address searches are sent from (and answers received on).
    pub bind: IpAddr,
    /// Where the PJLink class 2 search (`%2SRCH`, UDP 4352) goes: a
    /// broadcast address, or one projector's; unset: not sent.
    pub pjlink_to: Option<IpAddr>,
    /// Where SSDP searches (`M-SEARCH`, UDP 1900) go: the SSDP group
    /// 239.255.255.250, or one device's address; unset: not sent.
    pub ssdp_to: Option<IpAddr>,
    /// Where the mDNS query (DNS-SD PTR questions for the service types
    /// the drivers declare, e.g. `_ssc._udp.local`; UDP 5353) goes: the
    /// mDNS group 224.0.0.251, or one device's address; unset: not sent.
    /// Sent from the search socket's own port, so devices answer it by
    /// unicast (RFC 6762, 6.7).
    #[serde(default)]
    pub mdns_to: Option<IpAddr>,
    /// The local address multicast searches leave from (0.0.0.0: the
    /// system's choice). On loopback it needs the MULTICAST flag.
    pub interface: Ipv4Addr,
    /// Multicast TTL of SSDP and mDNS searches (0 keeps them on this host).
    pub ttl: u32,
    /// Search again every N seconds (0: once, at start).
    pub every_secs: u64,
    /// The list keeps at most this many devices.
    pub max_found: usize,
}

impl DeviceSearchSettings {
    /// The defaults: on a LAN every search; in development only the
    /// PJLink search, on loopback (`bind`, `broadcast`: the profile's).
    pub(super) fn profile_default(lan: bool, bind: IpAddr, broadcast: IpAddr) -> Self {
        DeviceSearchSettings {
            enabled: true,
            bind,
            pjlink_to: Some(broadcast),
            // Development: no SSDP or mDNS (their groups are multicast; on a stock
            // host loopback has no MULTICAST flag and the search would
            // leave by another interface).
            ssdp_to: lan.then_some(IpAddr::V4(SSDP_GROUP)),
            mdns_to: lan.then_some(IpAddr::V4(MDNS_GROUP)),
            interface: if lan {
                Ipv4Addr::UNSPECIFIED
            } else {
                Ipv4Addr::LOCALHOST
            },
            ttl: if lan { 2 } else { 0 },
            every_secs: 300,
            max_found: 256,
        }
    }
}
