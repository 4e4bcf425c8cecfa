//! Finding devices on the LAN, sans-IO: the requests to send, how to read
//! the answers, and which library driver an answer suggests. The server
//! sends and receives (`server/src/device_discovery.rs`); the simulators
//! answer with the same functions.
//!
//! - PJLink class 2 search (PJLink Specifications 2.00, 5.1 SRCH): the
//!   controller broadcasts `%2SRCH` CR on UDP 4352; each class 2 projector
//!   answers `%2ACKN=<MAC address>` CR to the sender (a projector that has
//!   just started may also send `%2LKUP=<MAC address>` on its own).
//! - SSDP (UPnP Device Architecture 1.1, 1.3.2 Search): an `M-SEARCH`
//!   request to 239.255.255.250:1900 (or to one host); devices answer with
//!   an HTTP-style `200 OK` carrying `ST`, `USN`, `SERVER` and `LOCATION`.
//! - mDNS (DNS-SD, RFC 6762/6763; [`mdns`]): a PTR query for each service
//!   type the library declares (`_ssc._udp.local`, Sennheiser Sound
//!   Control) to 224.0.0.251:5353; devices answer with PTR, SRV, TXT and A.
//!
//! A driver says how its devices are found (`[discovery]` in its file):
//! `pjlink_search = true`, `ssdp = ["..."]`, texts that an SSDP answer's
//! ST, SERVER or USN holds, or `mdns = ["_ssc._udp"]`, service types.
//! Answers are small and bounded: anything longer than [`MAX_ANSWER`]
//! (mDNS: [`mdns::MAX_PACKET`]) or malformed is not read.

pub mod mdns;
mod ssdp;

use ssdp::read_ssdp_answer;
pub use ssdp::{
    read_ssdp_search, ssdp_answer, ssdp_search, ssdp_search_matches, ssdp_search_targets,
    SsdpAnswer,
};

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use super::library::Library;
use super::Driver;
use mdns::{MdnsAnswer, MdnsResponder};

/// The PJLink search port (UDP).
pub const PJLINK_PORT: u16 = 4352;
/// The PJLink class 2 search request.
pub const PJLINK_SEARCH: &[u8] = b"%2SRCH\r";
/// The SSDP multicast group and port.
pub const SSDP_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
pub const SSDP_PORT: u16 = 1900;
/// The longest answer read; longer datagrams are dropped.
pub const MAX_ANSWER: usize = 2048;
/// The longest datagram any search answer may be (mDNS's), for buffers.
pub const MAX_DATAGRAM: usize = mdns::MAX_PACKET;

/// What a device said when it was looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A PJLink class 2 device: its MAC address as it wrote it.
    Pjlink {
        mac: String,
    },
    Ssdp(SsdpAnswer),
    /// A DNS-SD service instance announced over mDNS.
    Mdns(MdnsAnswer),
}

impl Answer {
    /// Reads a datagram as a PJLink search answer, an SSDP answer or an
    /// mDNS response (its first service instance: see [`Answer::read_all`]).
    pub fn read(datagram: &[u8]) -> Option<Answer> {
        Answer::read_all(datagram).into_iter().next()
    }

    /// Every answer a datagram holds: one PJLink or SSDP answer, or each
    /// service instance an mDNS response announces.
    pub fn read_all(datagram: &[u8]) -> Vec<Answer> {
        if datagram.len() > MAX_ANSWER {
            return mdns::read_answers(datagram)
                .into_iter()
                .map(Answer::Mdns)
                .collect();
        }
        if let Some(a) = read_pjlink(datagram)
            .map(|mac| Answer::Pjlink { mac })
            .or_else(|| read_ssdp_answer(datagram).map(Answer::Ssdp))
        {
            return vec![a];
        }
        mdns::read_answers(datagram)
            .into_iter()
            .map(Answer::Mdns)
            .collect()
    }

    /// How the device is named in a list: its MAC address or SSDP server.
    pub fn identity(&self) -> String {
        match self {
            Answer::Pjlink { mac } => format!("PJLink class 2, MAC {mac}"),
            Answer::Ssdp(a) if !a.server.is_empty() => a.server.clone(),
            Answer::Ssdp(a) => a.st.clone(),
            Answer::Mdns(a) => format!("{} ({})", a.instance, a.service),
        }
    }

    /// The library drivers whose `[discovery]` fits this answer, by id.
    pub fn suggest(&self, library: &Library) -> Vec<String> {
        library
            .drivers
            .values()
            .filter(|d| match self {
                Answer::Pjlink { .. } => d.discovery.pjlink_search,
                Answer::Ssdp(a) => {
                    let heard = [&a.st, &a.server, &a.usn].map(|h| h.to_ascii_lowercase());
                    d.discovery.ssdp.iter().any(|m| {
                        let m = m.to_ascii_lowercase();
                        heard.iter().any(|h| h.contains(&m))
                    })
                }
                Answer::Mdns(a) => d
                    .discovery
                    .mdns
                    .iter()
                    .any(|s| mdns::service_type(s).is_ok_and(|s| s == a.service)),
            })
            .map(|d| d.id.clone())
            .collect()
    }
}

/// How a device was found, for a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    /// The PJLink class 2 search (UDP 4352).
    Pjlink,
    /// SSDP (UDP 1900).
    Ssdp,
    /// Multicast DNS service discovery (UDP 5353).
    Mdns,
}

impl FoundBy {
    pub fn as_str(self) -> &'static str {
        match self {
            FoundBy::Pjlink => "PJLink search",
            FoundBy::Ssdp => "SSDP",
            FoundBy::Mdns => "mDNS",
        }
    }
}

/// One device that answered a search: a line of the status page's list of
/// found devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundDevice {
    /// The address the answer came from.
    pub address: String,
    pub found_by: FoundBy,
    /// What it said about itself: its MAC address (PJLink) or its SSDP
    /// server string (or search target).
    pub identity: String,
    /// SSDP: where its description is (`LOCATION`); mDNS: the host and
    /// port its SRV record names; empty for PJLink.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// The library drivers that fit it, by id (empty: none known).
    pub suggested: Vec<String>,
}

impl FoundDevice {
    /// The list entry for `answer`, received from `from`.
    pub fn new(answer: &Answer, from: IpAddr, library: &Library) -> FoundDevice {
        let (found_by, location) = match answer {
            Answer::Pjlink { .. } => (FoundBy::Pjlink, String::new()),
            Answer::Ssdp(a) => (FoundBy::Ssdp, a.location.clone()),
            Answer::Mdns(a) => (
                FoundBy::Mdns,
                match a.port {
                    Some(p) if !a.host.is_empty() => format!("{}:{p}", a.host),
                    _ => a.host.clone(),
                },
            ),
        };
        FoundDevice {
            address: from.to_string(),
            found_by,
            identity: answer.identity(),
            location,
            suggested: answer.suggest(library),
        }
    }

    /// Two answers are the same device when they come from the same
    /// address by the same search and say the same about themselves.
    pub fn same_device(&self, other: &FoundDevice) -> bool {
        self.address == other.address
            && self.found_by == other.found_by
            && self.identity == other.identity
    }
}

/// The DNS-SD service types the library's drivers declare, each once.
pub fn mdns_services(library: &Library) -> Vec<String> {
    let mut services: Vec<String> = library
        .drivers
        .values()
        .flat_map(|d| d.discovery.mdns.iter())
        .filter_map(|s| mdns::service_type(s).ok())
        .collect();
    services.sort();
    services.dedup();
    services
}

/// How a simulated device answers searches, from its driver's
/// `[discovery]`: the simulators use it, so what a controller finds in a
/// test is what the driver declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResponder {
    /// The PJLink search answer, when the driver declares `pjlink_search`.
    pub pjlink: Option<Vec<u8>>,
    /// The SSDP answer, when the driver declares an SSDP match.
    pub ssdp: Option<SsdpAnswer>,
    /// The mDNS service instance, when the driver declares a service type.
    pub mdns: Option<MdnsResponder>,
}

impl SearchResponder {
    /// The responder of a simulated `driver` at `address` (its control
    /// port `port`), or `None` when the driver declares no discovery. The
    /// MAC address is made from the IPv4 address (locally administered,
    /// 02:00:a.b.c.d), so each simulated device has its own.
    pub fn for_driver(driver: &Driver, address: Ipv4Addr, port: u16) -> Option<SearchResponder> {
        let o = address.octets();
        let pjlink = driver
            .discovery
            .pjlink_search
            .then(|| pjlink_ackn([0x02, 0x00, o[0], o[1], o[2], o[3]]));
        let ssdp = driver.discovery.ssdp.first().map(|declared| {
            let uuid = format!("uuid:roomctl-sim-{}-{}", driver.id, u32::from(address));
            let st = if declared.to_ascii_lowercase().starts_with("urn:") {
                declared.clone()
            } else {
                "upnp:rootdevice".to_string()
            };
            SsdpAnswer {
                usn: format!("{uuid}::{st}"),
                st,
                server: format!("roomctl-simulator UPnP/1.0 {}", driver.identity.name),
                location: format!("http://{address}:{port}/"),
            }
        });
        let mdns = driver
            .discovery
            .mdns
            .first()
            .and_then(|s| mdns::service_type(s).ok())
            .map(|service| {
                let host = format!("roomctl-sim-{}-{}-{}-{}", o[0], o[1], o[2], o[3]);
                // One DNS label: at most 63 bytes.
                let mut instance = format!("{host} {}", driver.identity.name);
                while instance.len() > 63 {
                    instance.pop();
                }
                MdnsResponder {
                    service,
                    instance: instance.trim().to_string(),
                    host: format!("{host}.local"),
                    port,
                    address,
                    txt: Vec::new(),
                }
            });
        (pjlink.is_some() || ssdp.is_some() || mdns.is_some()).then_some(SearchResponder {
            pjlink,
            ssdp,
            mdns,
        })
    }

    /// The answer to a search datagram, if it is one this device answers.
    pub fn answer(&self, datagram: &[u8]) -> Option<Vec<u8>> {
        if is_pjlink_search(datagram) {
            return self.pjlink.clone();
        }
        if let Some(answer) = self.mdns.as_ref().and_then(|m| m.answer(datagram)) {
            return Some(answer);
        }
        let searched = read_ssdp_search(datagram)?;
        let own = self.ssdp.as_ref()?;
        ssdp_search_matches(&searched, &own.st).then(|| {
            let mut answer = own.clone();
            if searched == "upnp:rootdevice" {
                answer.st = searched;
            }
            ssdp_answer(&answer)
        })
    }
}

/// `%2ACKN=<mac>` CR: a projector's answer to the search.
pub fn pjlink_ackn(mac: [u8; 6]) -> Vec<u8> {
    format!("%2ACKN={}\r", mac_text(mac)).into_bytes()
}

/// `xx:xx:xx:xx:xx:xx`, upper-case hex as the PJLink examples write it.
pub fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether a datagram is the PJLink search request.
pub fn is_pjlink_search(datagram: &[u8]) -> bool {
    datagram.strip_suffix(b"\r").unwrap_or(datagram) == &PJLINK_SEARCH[..PJLINK_SEARCH.len() - 1]
}

/// The MAC address of a `%2ACKN=` or `%2LKUP=` datagram.
fn read_pjlink(datagram: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(datagram).ok()?;
    let text = text.strip_suffix('\r').unwrap_or(text);
    let mac = text
        .strip_prefix("%2ACKN=")
        .or_else(|| text.strip_prefix("%2LKUP="))?;
    let parts: Vec<&str> = mac.split(':').collect();
    let well_formed = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    well_formed.then(|| mac.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pjlink_answer_reads_its_mac_and_suggests_the_class_2_driver() {
        let answer = Answer::read(&pjlink_ackn([0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc])).unwrap();
        assert_eq!(
            answer,
            Answer::Pjlink {
                mac: "00:11:22:AA:BB:CC".to_string()
            }
        );
        // PJLink 2.00, 5.1: the example answer.
        assert!(Answer::read(b"%2ACKN=01:23:45:67:89:ab\r").is_some());
        assert_eq!(
            answer.suggest(&Library::builtin()),
            vec!["pjlink-class2".to_string()]
        );
    }

    #[test]
    fn malformed_answers_are_not_read() {
        for bad in [
            &b"%2ACKN=01:23:45:67:89\r"[..],
            b"%2ACKN=01:23:45:67:89:zz\r",
            b"%1ACKN=01:23:45:67:89:ab\r",
            b"HTTP/1.1 404 Not Found\r\nST: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n",
            b"\xff\xfe",
        ] {
            assert_eq!(Answer::read(bad), None, "{bad:?}");
        }
        let mut long = b"HTTP/1.1 200 OK\r\nST: a\r\nSERVER: ".to_vec();
        long.resize(MAX_ANSWER + 1, b'x');
        assert_eq!(Answer::read(&long), None);
    }

    #[test]
    fn the_search_request_is_recognised() {
        assert!(is_pjlink_search(PJLINK_SEARCH));
        assert!(!is_pjlink_search(b"%2SRCH ?\r"));
        let st = "urn:schemas-sony-com:service:ScalarWebAPI:1";
        assert_eq!(read_ssdp_search(&ssdp_search(st, 2)).as_deref(), Some(st));
        assert_eq!(read_ssdp_search(b"NOTIFY * HTTP/1.1\r\n\r\n"), None);
    }

    #[test]
    fn an_ssdp_answer_suggests_the_driver_that_declares_it() {
        let sent = SsdpAnswer {
            st: "urn:schemas-sony-com:service:ScalarWebAPI:1".to_string(),
            usn: "uuid:1234::urn:schemas-sony-com:service:ScalarWebAPI:1".to_string(),
            server: "Linux/4.9 UPnP/1.0 Sony-BRAVIA/1.0".to_string(),
            location: "http://10.0.0.5:52323/dmr.xml".to_string(),
        };
        let answer = Answer::read(&ssdp_answer(&sent)).unwrap();
        assert_eq!(answer, Answer::Ssdp(sent));
        assert_eq!(
            answer.suggest(&Library::builtin()),
            vec!["sony-bravia".to_string()]
        );
        let other = Answer::Ssdp(SsdpAnswer {
            st: "upnp:rootdevice".to_string(),
            server: "a printer".to_string(),
            ..SsdpAnswer::default()
        });
        assert!(other.suggest(&Library::builtin()).is_empty());
    }
}

#[cfg(test)]
mod mdns_tests {
    use super::*;

    #[test]
    fn an_ssc_announcement_suggests_the_ssc_driver() {
        let library = Library::builtin();
        assert_eq!(mdns_services(&library), vec!["_ssc._udp".to_string()]);
        let device = MdnsResponder {
            service: "_ssc._udp".into(),
            instance: "SL MCR 4 DW".into(),
            host: "slmcr.local".into(),
            port: 45,
            address: Ipv4Addr::new(10, 0, 0, 7),
            txt: Vec::new(),
        };
        let reply = device
            .answer(&mdns::query(&mdns_services(&library)))
            .unwrap();
        let answers = Answer::read_all(&reply);
        assert_eq!(answers.len(), 1);
        assert_eq!(
            answers[0].suggest(&library),
            vec!["sennheiser-ssc-slmcr".to_string()]
        );
        let found = FoundDevice::new(&answers[0], Ipv4Addr::new(10, 0, 0, 7).into(), &library);
        assert_eq!(found.found_by, FoundBy::Mdns);
        assert_eq!(found.identity, "SL MCR 4 DW (_ssc._udp)");
        assert_eq!(found.location, "slmcr.local:45");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Header text as devices write it: printable, no line breaks.
    fn header_text() -> impl Strategy<Value = String> {
        "[!-~][ -~]{0,40}[!-~]"
    }

    proptest! {
        #[test]
        fn any_mac_reads_back(mac in any::<[u8; 6]>()) {
            let answer = Answer::read(&pjlink_ackn(mac));
            prop_assert_eq!(answer, Some(Answer::Pjlink { mac: mac_text(mac) }));
        }

        #[test]
        fn any_ssdp_answer_reads_back(
            st in header_text(), usn in header_text(), server in header_text(), location in header_text(),
        ) {
            let sent = SsdpAnswer { st, usn, server, location };
            prop_assert_eq!(Answer::read(&ssdp_answer(&sent)), Some(Answer::Ssdp(sent)));
        }

        #[test]
        fn any_search_target_reads_back(st in header_text(), mx in any::<u8>()) {
            prop_assert_eq!(read_ssdp_search(&ssdp_search(&st, mx)), Some(st));
        }

        /// A simulated device answers exactly the searches its driver
        /// declares, and the answer suggests its own driver.
        #[test]
        fn a_simulated_device_is_found_as_its_driver(pick in any::<usize>(), ip in any::<[u8; 4]>()) {
            static LIBRARY: std::sync::OnceLock<Library> = std::sync::OnceLock::new();
            let library = LIBRARY.get_or_init(Library::builtin);
            let declared: Vec<&Arc<Driver>> = library
                .drivers
                .values()
                .filter(|d| d.discovery.pjlink_search || !d.discovery.ssdp.is_empty() || !d.discovery.mdns.is_empty())
                .collect();
            let driver = declared[pick % declared.len()];
            let responder = SearchResponder::for_driver(driver, ip.into(), 80).unwrap();
            let mut found = Vec::new();
            let pjlink = responder.answer(PJLINK_SEARCH);
            prop_assert_eq!(pjlink.is_some(), driver.discovery.pjlink_search);
            found.extend(pjlink);
            for st in ssdp_search_targets(library) {
                found.extend(responder.answer(&ssdp_search(&st, 1)));
            }
            found.extend(responder.answer(&mdns::query(&mdns_services(library))));
            prop_assert!(!found.is_empty());
            for reply in found {
                let answer = Answer::read(&reply).unwrap();
                let suggested = answer.suggest(library);
                prop_assert!(suggested.contains(&driver.id), "{:?} suggests {:?}", answer, suggested);
            }
        }
    }

    use std::sync::Arc;
}
