//! Multicast DNS service discovery (DNS-SD over mDNS, RFC 6762 and RFC
//! 6763), sans-IO: the query asking for the service types the library's
//! drivers declare (`[discovery] mdns = ["_ssc._udp"]`), how an answer is
//! read (its PTR, SRV, TXT and A records), and a simulated device's
//! answer. The packets are written and read by the `simple-dns` crate;
//! this file only says which records mean what.
//!
//! The query goes to 224.0.0.251:5353 from the search socket's own port,
//! which is not 5353: a "legacy unicast" query (RFC 6762, 6.7), which a
//! responder answers by unicast to the sender, repeating the query's ID
//! and question. So one socket sends every search and reads every answer.

use std::net::Ipv4Addr;

use simple_dns::rdata::{RData, A, PTR, SRV, TXT};
use simple_dns::{
    Label, Name, Packet, PacketFlag, Question, ResourceRecord, CLASS, QCLASS, QTYPE, TYPE,
};

/// The mDNS group and port.
pub const MDNS_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
pub const MDNS_PORT: u16 = 5353;
/// The longest mDNS packet read (RFC 6762, 17: at most 9000 bytes).
pub const MAX_PACKET: usize = 9000;
/// Seconds the simulated device's records live (RFC 6762, 10: 120 s for
/// records naming a host, 75 minutes for others; one value keeps it simple).
const TTL: u32 = 120;
/// The records of one response that are looked at: a device's answer has
/// a handful; a packet packed with hundreds costs no more than this.
const MAX_RECORDS: usize = 64;

/// A service instance a device announced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MdnsAnswer {
    /// The service type, without `.local` (`_ssc._udp`).
    pub service: String,
    /// The instance's own name (the first label of its PTR target).
    pub instance: String,
    /// The host its SRV record names (`tcc2-1234.local`), if sent.
    pub host: String,
    /// The port its SRV record names, if sent.
    pub port: Option<u16>,
    /// The host's IPv4 address from an A record, if sent.
    pub address: Option<Ipv4Addr>,
    /// The TXT record's strings (`key=value`), if sent.
    pub txt: Vec<String>,
}

/// A service type as a driver writes it (`_ssc._udp`, or with `.local`),
/// checked against RFC 6763, 7 (and RFC 6335, 5.1 for the name): an
/// underscore, 1 to 15 letters, digits and single hyphens holding a
/// letter, then `._udp` or `._tcp`. Returns it without `.local`.
pub fn service_type(text: &str) -> Result<String, String> {
    let bare = text.trim_end_matches('.');
    let bare = bare
        .strip_suffix(".local")
        .unwrap_or(bare)
        .to_ascii_lowercase();
    let bad = || {
        format!(
            "{text:?} is not a DNS-SD service type: write \"_name._udp\" or \"_name._tcp\" \
             (the name 1 to 15 letters, digits and hyphens, e.g. \"_ssc._udp\")"
        )
    };
    let (name, proto) = bare.split_once('.').ok_or_else(bad)?;
    let name = name.strip_prefix('_').ok_or_else(bad)?;
    let name_ok = (1..=15).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.bytes().any(|b| b.is_ascii_lowercase())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if !name_ok || !matches!(proto, "_udp" | "_tcp") {
        return Err(bad());
    }
    Ok(format!("_{name}.{proto}"))
}

/// The one-shot query (RFC 6762, 5.1) for the PTR records of each service
/// type, `_ssc._udp` asked as `_ssc._udp.local`. Types that are not valid
/// are left out (validation has refused them already).
pub fn query(services: &[String]) -> Vec<u8> {
    let names: Vec<String> = services
        .iter()
        .filter_map(|s| service_type(s).ok())
        .map(|s| format!("{s}.local"))
        .collect();
    // Multicast queries carry ID 0 (RFC 6762, 18.1).
    let mut packet = Packet::new_query(0);
    for name in &names {
        packet.questions.push(Question::new(
            Name::new_unchecked(name),
            QTYPE::TYPE(TYPE::PTR),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
    }
    packet
        .build_bytes_vec()
        .expect("service type names are valid DNS names")
}

/// A DNS packet's section counts, checked against its length before it
/// is parsed: each question takes at least 5 bytes and each record 11,
/// so a small packet cannot claim thousands of entries.
fn plausible(datagram: &[u8]) -> bool {
    if datagram.len() < 12 || datagram.len() > MAX_PACKET {
        return false;
    }
    let count = |i: usize| usize::from(u16::from_be_bytes([datagram[i], datagram[i + 1]]));
    let least = 12 + count(4) * 5 + (count(6) + count(8) + count(10)) * 11;
    least <= datagram.len()
}

/// The service type a name stands for (`_ssc._udp.local` is `_ssc._udp`).
fn service_of(name: &Name) -> Option<String> {
    let labels = name.get_labels();
    let [svc, proto, local] = labels else {
        return None;
    };
    if !local.to_string().eq_ignore_ascii_case("local") {
        return None;
    }
    service_type(&format!("{svc}.{proto}")).ok()
}

fn same(a: &Name, b: &Name) -> bool {
    a.to_string().eq_ignore_ascii_case(&b.to_string())
}

/// The service instances an mDNS response announces: each PTR record of a
/// service type, with the SRV, TXT and A records of the same packet that
/// belong to it. Anything else (a query, a malformed or oversized packet,
/// a response with no PTR) reads as nothing.
pub fn read_answers(datagram: &[u8]) -> Vec<MdnsAnswer> {
    if !plausible(datagram) {
        return Vec::new();
    }
    let Ok(packet) = Packet::parse(datagram) else {
        return Vec::new();
    };
    if !packet.has_flags(PacketFlag::RESPONSE) {
        return Vec::new();
    }
    let records: Vec<&ResourceRecord> = packet
        .answers
        .iter()
        .chain(&packet.additional_records)
        .take(MAX_RECORDS)
        .collect();
    let mut found = Vec::new();
    for r in &records {
        let RData::PTR(PTR(target)) = &r.rdata else {
            continue;
        };
        let Some(service) = service_of(&r.name) else {
            continue;
        };
        let Some(first) = target.get_labels().first() else {
            continue;
        };
        let mut answer = MdnsAnswer {
            service,
            // The label's bytes as sent (its Display form escapes dots).
            instance: String::from_utf8_lossy(first.as_ref()).into_owned(),
            ..MdnsAnswer::default()
        };
        if answer.instance.is_empty() || found.iter().any(|a: &MdnsAnswer| a == &answer) {
            continue;
        }
        for s in records.iter().filter(|s| same(&s.name, target)) {
            match &s.rdata {
                RData::SRV(srv) => {
                    answer.host = srv.target.to_string();
                    answer.port = Some(srv.port);
                }
                RData::TXT(txt) => {
                    answer.txt = txt
                        .iter_raw()
                        .map(|(k, v)| match v {
                            Some(v) => format!(
                                "{}={}",
                                String::from_utf8_lossy(k),
                                String::from_utf8_lossy(v)
                            ),
                            None => String::from_utf8_lossy(k).into_owned(),
                        })
                        .collect();
                }
                _ => {}
            }
        }
        if !answer.host.is_empty() {
            answer.address = records.iter().find_map(|a| match &a.rdata {
                RData::A(ip) if a.name.to_string().eq_ignore_ascii_case(&answer.host) => {
                    Some(Ipv4Addr::from(ip.address))
                }
                _ => None,
            });
        }
        found.push(answer);
    }
    found
}

/// The service types a query asks for (PTR or ANY questions), for the
/// simulators; None when the datagram is not an mDNS query.
pub fn read_query(datagram: &[u8]) -> Option<(u16, Vec<String>)> {
    if !plausible(datagram) {
        return None;
    }
    let packet = Packet::parse(datagram).ok()?;
    if packet.has_flags(PacketFlag::RESPONSE) || packet.questions.is_empty() {
        return None;
    }
    let asked = packet
        .questions
        .iter()
        .filter(|q| matches!(q.qtype, QTYPE::TYPE(TYPE::PTR) | QTYPE::ANY))
        .filter_map(|q| service_of(&q.qname))
        .collect();
    Some((packet.id(), asked))
}

/// How a simulated device answers an mDNS query for its service type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdnsResponder {
    pub service: String,
    /// The instance name (one DNS label: at most 63 bytes).
    pub instance: String,
    /// The host name, ending in `.local`.
    pub host: String,
    pub port: u16,
    pub address: Ipv4Addr,
    pub txt: Vec<String>,
}

impl MdnsResponder {
    /// The answer to `datagram` when it is a query for this service: the
    /// PTR record, then SRV, TXT and A as additional records, with the
    /// query's ID and question (RFC 6762, 6.7, legacy unicast).
    pub fn answer(&self, datagram: &[u8]) -> Option<Vec<u8>> {
        let (id, asked) = read_query(datagram)?;
        if !asked.iter().any(|s| s == &self.service) {
            return None;
        }
        self.response(id).ok()
    }

    fn response(&self, id: u16) -> Result<Vec<u8>, simple_dns::SimpleDnsError> {
        let service = format!("{}.local", self.service);
        let service_name = Name::new(&service)?;
        // The instance is one label as it is, dots and backslashes
        // included (RFC 6763, 4.3), of 1 to 63 bytes.
        if self.instance.is_empty() || self.instance.len() > 63 {
            return Err(simple_dns::SimpleDnsError::InvalidServiceLabel);
        }
        let mut instance_labels = vec![Label::new_unchecked(self.instance.as_bytes())];
        instance_labels.extend(service_name.get_labels().iter().cloned());
        let instance = Name::new_with_labels(&instance_labels);
        let host = Name::new(&self.host)?;
        let mut packet = Packet::new_reply(id);
        packet.set_flags(PacketFlag::AUTHORITATIVE_ANSWER);
        packet.questions.push(Question::new(
            service_name.clone(),
            QTYPE::TYPE(TYPE::PTR),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        packet.answers.push(ResourceRecord::new(
            service_name,
            CLASS::IN,
            TTL,
            RData::PTR(PTR(instance.clone())),
        ));
        packet.additional_records.push(ResourceRecord::new(
            instance.clone(),
            CLASS::IN,
            TTL,
            RData::SRV(SRV {
                priority: 0,
                weight: 0,
                port: self.port,
                target: host.clone(),
            }),
        ));
        let mut txt = TXT::new();
        for s in &self.txt {
            txt.add_string(s)?;
        }
        if self.txt.is_empty() {
            // An empty TXT record is one empty string (RFC 6763, 6.1).
            txt.add_string("")?;
        }
        packet.additional_records.push(ResourceRecord::new(
            instance,
            CLASS::IN,
            TTL,
            RData::TXT(txt),
        ));
        packet.additional_records.push(ResourceRecord::new(
            host,
            CLASS::IN,
            TTL,
            RData::A(A::from(self.address)),
        ));
        packet.build_bytes_vec_compressed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn responder() -> MdnsResponder {
        MdnsResponder {
            service: "_ssc._udp".into(),
            instance: "SL MCR 4 DW 1050000515".into(),
            host: "slmcr-1050000515.local".into(),
            port: 45,
            address: Ipv4Addr::new(10, 0, 0, 7),
            txt: vec!["txtvers=1".into()],
        }
    }

    #[test]
    fn service_types_are_checked_and_written_one_way() {
        assert_eq!(service_type("_ssc._udp").unwrap(), "_ssc._udp");
        assert_eq!(service_type("_SSC._udp.local.").unwrap(), "_ssc._udp");
        for bad in [
            "ssc._udp",
            "_ssc",
            "_ssc._sctp",
            "_._udp",
            "_a-very-long-name-x._udp",
            "_-x._tcp",
            "_12._tcp",
            "_a b._udp",
        ] {
            assert!(service_type(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_query_is_answered_with_ptr_srv_txt_and_a() {
        let q = query(&["_ssc._udp".to_string()]);
        assert_eq!(read_query(&q), Some((0, vec!["_ssc._udp".to_string()])));
        let reply = responder().answer(&q).expect("answers its own service");
        assert_eq!(
            read_answers(&reply),
            vec![MdnsAnswer {
                service: "_ssc._udp".into(),
                instance: "SL MCR 4 DW 1050000515".into(),
                host: "slmcr-1050000515.local".into(),
                port: Some(45),
                address: Some(Ipv4Addr::new(10, 0, 0, 7)),
                txt: vec!["txtvers=1".into()],
            }]
        );
        // Another service's query, an answer, or garbage: no answer.
        assert_eq!(
            responder().answer(&query(&["_http._tcp".to_string()])),
            None
        );
        assert_eq!(responder().answer(&reply), None);
        assert!(read_answers(&q).is_empty(), "a query is not an answer");
        assert!(read_answers(b"\x00\x00\x84\x00\xff\xff\xff\xff\xff\xff\xff\xff").is_empty());
    }

    proptest! {
        /// Whatever a device calls itself, its answer reads back as sent.
        #[test]
        fn any_announced_instance_reads_back(
            instance in "[ -~]{1,63}",
            host in "[a-z][a-z0-9-]{0,20}",
            port in any::<u16>(),
            ip in any::<[u8; 4]>(),
            txt in proptest::collection::vec("[a-z]{1,8}=[ -~]{0,20}", 0..4),
        ) {
            let r = MdnsResponder {
                service: "_ssc._udp".into(),
                instance: instance.clone(),
                host: format!("{host}.local"),
                port,
                address: ip.into(),
                txt: txt.clone(),
            };
            let reply = r.answer(&query(&["_ssc._udp".into(), "_http._tcp".into()])).unwrap();
            let got = read_answers(&reply);
            prop_assert_eq!(got.len(), 1);
            prop_assert_eq!(&got[0].instance, &instance);
            prop_assert_eq!(&got[0].host, &format!("{host}.local"));
            prop_assert_eq!(got[0].port, Some(port));
            prop_assert_eq!(got[0].address, Some(ip.into()));
            prop_assert_eq!(&got[0].txt, &txt);
        }

        /// No datagram panics the readers; what is read is well-formed.
        #[test]
        fn any_datagram_is_read_safely(data in proptest::collection::vec(any::<u8>(), 0..600), flip in any::<usize>()) {
            for a in read_answers(&data) {
                prop_assert!(service_type(&a.service).is_ok());
                prop_assert!(!a.instance.is_empty());
            }
            let _ = read_query(&data);
            // A real answer with one byte changed.
            let mut reply = responder().answer(&query(&["_ssc._udp".into()])).unwrap();
            let i = flip % reply.len();
            reply[i] ^= data.first().copied().unwrap_or(0x5a) | 1;
            for a in read_answers(&reply) {
                prop_assert!(service_type(&a.service).is_ok());
            }
        }
    }
}
