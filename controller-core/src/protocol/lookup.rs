//! LAN lookup (UDP 8000), version 1: a configuration tool asks "who is
//! there?" and every controller answers with its identification.
//!
//! Binary, big-endian. A request is the 6-byte header (`RCLU`, version 1,
//! kind 1) and a 4-byte nonce: 10 bytes. A reply (kind 2) echoes the nonce,
//! then carries tagged fields (tag, length, value) so a version-1 client
//! skips fields added later. Specified in `docs/protocols.md`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::wire::{check_size, truncate, Reader, WireError, Writer};

pub const MAGIC: &[u8; 4] = b"RCLU";
pub const VERSION: u8 = 1;
/// Nothing valid is larger (a reply with every text field at its 255-byte
/// maximum is under 1,900 bytes); anything larger is dropped unread.
pub const MAX_DATAGRAM: usize = 2048;

const KIND_REQUEST: u8 = 1;
const KIND_REPLY: u8 = 2;

const TAG_NAME: u8 = 1;
const TAG_MODEL: u8 = 2;
const TAG_SERIAL: u8 = 3;
const TAG_FIRMWARE: u8 = 4;
const TAG_IPV4: u8 = 5;
const TAG_IPV6: u8 = 6;
const TAG_PROJECT_NAME: u8 = 7;
const TAG_PROJECT_REVISION: u8 = 8;
const TAG_LOCATION: u8 = 9;
const TAG_SERVICES: u8 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupMessage {
    Request { nonce: u32 },
    Reply(Identification),
}

/// What a controller says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identification {
    /// The nonce of the request being answered.
    pub nonce: u32,
    pub name: String,
    pub model: String,
    pub serial: String,
    pub firmware: String,
    /// The controller's address on the asker's network.
    pub address: Option<IpAddr>,
    pub project_name: String,
    pub project_revision: u32,
    pub location: String,
    pub services: Vec<ServicePort>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServicePort {
    pub service: Service,
    pub port: u16,
}

/// Service codes in the `services` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    PanelHttp,
    ApprimoHttp,
    Lookup,
    Live,
    Central,
    Telnet,
    Ftp,
    Extension,
    /// A code this version does not know (sent by a newer controller).
    Other(u8),
}

impl Service {
    pub fn code(self) -> u8 {
        match self {
            Service::PanelHttp => 1,
            Service::ApprimoHttp => 2,
            Service::Lookup => 3,
            Service::Live => 4,
            Service::Central => 5,
            Service::Telnet => 6,
            Service::Ftp => 7,
            Service::Extension => 8,
            Service::Other(c) => c,
        }
    }

    pub fn from_code(code: u8) -> Service {
        match code {
            1 => Service::PanelHttp,
            2 => Service::ApprimoHttp,
            3 => Service::Lookup,
            4 => Service::Live,
            5 => Service::Central,
            6 => Service::Telnet,
            7 => Service::Ftp,
            8 => Service::Extension,
            c => Service::Other(c),
        }
    }

    pub fn name(self) -> String {
        match self {
            Service::PanelHttp => "panel".into(),
            Service::ApprimoHttp => "apprimo".into(),
            Service::Lookup => "lookup".into(),
            Service::Live => "live".into(),
            Service::Central => "central".into(),
            Service::Telnet => "telnet".into(),
            Service::Ftp => "ftp".into(),
            Service::Extension => "extension".into(),
            Service::Other(c) => format!("service{c}"),
        }
    }
}

impl LookupMessage {
    pub fn decode(buf: &[u8]) -> Result<LookupMessage, WireError> {
        check_size(buf, MAX_DATAGRAM)?;
        let mut r = Reader::new(buf);
        match r.header(MAGIC, "lookup", VERSION)? {
            KIND_REQUEST => {
                let nonce = r.u32()?;
                r.finish()?;
                Ok(LookupMessage::Request { nonce })
            }
            KIND_REPLY => decode_reply(&mut r).map(LookupMessage::Reply),
            k => Err(WireError::UnknownKind(k)),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            LookupMessage::Request { nonce } => {
                let mut w = Writer::new(MAGIC, VERSION, KIND_REQUEST);
                w.u32(*nonce);
                w.finish()
            }
            LookupMessage::Reply(id) => encode_reply(id),
        }
    }
}

fn encode_reply(id: &Identification) -> Vec<u8> {
    let mut w = Writer::new(MAGIC, VERSION, KIND_REPLY);
    w.u32(id.nonce);
    let text = |w: &mut Writer, tag: u8, s: &str| {
        if !s.is_empty() {
            let s = truncate(s, 255);
            w.u8(tag).u8(s.len() as u8).bytes(s.as_bytes());
        }
    };
    text(&mut w, TAG_NAME, &id.name);
    text(&mut w, TAG_MODEL, &id.model);
    text(&mut w, TAG_SERIAL, &id.serial);
    text(&mut w, TAG_FIRMWARE, &id.firmware);
    match id.address {
        Some(IpAddr::V4(a)) => {
            w.u8(TAG_IPV4).u8(4).bytes(&a.octets());
        }
        Some(IpAddr::V6(a)) => {
            w.u8(TAG_IPV6).u8(16).bytes(&a.octets());
        }
        None => {}
    }
    text(&mut w, TAG_PROJECT_NAME, &id.project_name);
    w.u8(TAG_PROJECT_REVISION).u8(4).u32(id.project_revision);
    text(&mut w, TAG_LOCATION, &id.location);
    let services = &id.services[..id.services.len().min(85)];
    if !services.is_empty() {
        w.u8(TAG_SERVICES).u8((services.len() * 3) as u8);
        for s in services {
            w.u8(s.service.code()).u16(s.port);
        }
    }
    w.finish()
}

fn decode_reply(r: &mut Reader) -> Result<Identification, WireError> {
    let mut id = Identification {
        nonce: r.u32()?,
        ..Identification::default()
    };
    while r.remaining() > 0 {
        let tag = r.u8()?;
        let len = r.u8()? as usize;
        let value = r.bytes(len)?;
        let mut v = Reader::new(value);
        let text = |b: &[u8]| {
            std::str::from_utf8(b)
                .map(str::to_string)
                .map_err(|_| WireError::BadValue {
                    field: "text field",
                    value: tag.into(),
                })
        };
        match tag {
            TAG_NAME => id.name = text(value)?,
            TAG_MODEL => id.model = text(value)?,
            TAG_SERIAL => id.serial = text(value)?,
            TAG_FIRMWARE => id.firmware = text(value)?,
            TAG_PROJECT_NAME => id.project_name = text(value)?,
            TAG_LOCATION => id.location = text(value)?,
            TAG_IPV4 => {
                let b = v.bytes(4)?;
                v.finish()?;
                id.address = Some(Ipv4Addr::new(b[0], b[1], b[2], b[3]).into());
            }
            TAG_IPV6 => {
                let b = v.bytes(16)?;
                v.finish()?;
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                id.address = Some(Ipv6Addr::from(a).into());
            }
            TAG_PROJECT_REVISION => {
                id.project_revision = v.u32()?;
                v.finish()?;
            }
            TAG_SERVICES => {
                if !len.is_multiple_of(3) {
                    return Err(WireError::BadValue {
                        field: "services length",
                        value: len as u64,
                    });
                }
                while v.remaining() > 0 {
                    id.services.push(ServicePort {
                        service: Service::from_code(v.u8()?),
                        port: v.u16()?,
                    });
                }
            }
            // A field added by a later version: skipped.
            _ => {}
        }
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_example_from_the_docs() {
        let bytes = [b'R', b'C', b'L', b'U', 1, 1, 0x12, 0x34, 0x56, 0x78];
        assert_eq!(
            LookupMessage::decode(&bytes).unwrap(),
            LookupMessage::Request { nonce: 0x1234_5678 }
        );
        assert_eq!(
            LookupMessage::Request { nonce: 0x1234_5678 }.encode(),
            bytes.to_vec()
        );
    }

    #[test]
    fn reply_example_from_the_docs() {
        let id = Identification {
            nonce: 7,
            name: "Room 2.14".into(),
            model: "roomctl".into(),
            serial: "RC-0A1B2C3D4E5F".into(),
            firmware: "0.1.0".into(),
            address: Some("192.168.10.20".parse().unwrap()),
            project_name: "Demo".into(),
            project_revision: 3,
            location: String::new(),
            services: vec![ServicePort {
                service: Service::Central,
                port: 5009,
            }],
        };
        let bytes = LookupMessage::Reply(id.clone()).encode();
        assert_eq!(&bytes[..10], &[b'R', b'C', b'L', b'U', 1, 2, 0, 0, 0, 7]);
        assert_eq!(&bytes[10..13], &[1, 9, b'R']);
        assert_eq!(&bytes[bytes.len() - 5..], &[10, 3, 5, 0x13, 0x91]);
        assert_eq!(
            LookupMessage::decode(&bytes).unwrap(),
            LookupMessage::Reply(id)
        );
    }

    #[test]
    fn unknown_fields_are_skipped_and_bad_ones_rejected() {
        let mut bytes = LookupMessage::Reply(Identification {
            name: "a".into(),
            ..Default::default()
        })
        .encode();
        bytes.extend_from_slice(&[200, 2, 9, 9]);
        let LookupMessage::Reply(id) = LookupMessage::decode(&bytes).unwrap() else {
            panic!("not a reply")
        };
        assert_eq!(id.name, "a");
        bytes.extend_from_slice(&[TAG_SERVICES, 2, 1, 1]);
        assert!(LookupMessage::decode(&bytes).is_err());
        assert!(matches!(
            LookupMessage::decode(b"RCLU\x02\x01\0\0\0\0"),
            Err(WireError::UnsupportedVersion { got: 2, .. })
        ));
        assert!(matches!(
            LookupMessage::decode(&[0u8; 3000]),
            Err(WireError::TooLarge { .. })
        ));
        assert!(LookupMessage::decode(b"RCLU\x01\x01\0\0\0").is_err());
    }

    fn arb_service() -> impl Strategy<Value = Service> {
        any::<u8>().prop_map(Service::from_code)
    }

    fn arb_id() -> impl Strategy<Value = Identification> {
        (
            any::<u32>(),
            ".{0,40}",
            ".{0,20}",
            "[A-Z0-9-]{0,20}",
            "[0-9.]{0,10}",
            proptest::option::of(any::<IpAddr>()),
            ".{0,60}",
            any::<u32>(),
            ".{0,40}",
            proptest::collection::vec((arb_service(), any::<u16>()), 0..12),
        )
            .prop_map(
                |(nonce, name, model, serial, firmware, address, pn, pr, loc, services)| {
                    Identification {
                        nonce,
                        name,
                        model,
                        serial,
                        firmware,
                        address,
                        project_name: pn,
                        project_revision: pr,
                        location: loc,
                        services: services
                            .into_iter()
                            .map(|(service, port)| ServicePort { service, port })
                            .collect(),
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn round_trip(id in arb_id(), nonce in any::<u32>()) {
            let reply = LookupMessage::Reply(id);
            prop_assert_eq!(LookupMessage::decode(&reply.encode()).unwrap(), reply.clone());
            let bytes = reply.encode();
            prop_assert!(bytes.len() <= MAX_DATAGRAM);
            let request = LookupMessage::Request { nonce };
            prop_assert_eq!(LookupMessage::decode(&request.encode()).unwrap(), request);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
            let _ = LookupMessage::decode(&bytes);
        }

        #[test]
        fn never_panics_after_a_valid_header(kind in 0u8..4, rest in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut bytes = b"RCLU\x01".to_vec();
            bytes.push(kind);
            bytes.extend(rest);
            let _ = LookupMessage::decode(&bytes);
        }
    }
}
