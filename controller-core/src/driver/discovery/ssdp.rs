//! SSDP (UPnP Device Architecture 1.1, 1.3.2 Search), sans-IO: the
//! `M-SEARCH` request, how a device answers it, and how an answer is read.

use super::{Library, MAX_ANSWER, SSDP_GROUP, SSDP_PORT};

/// The headers of an SSDP search answer that identify a device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsdpAnswer {
    pub st: String,
    pub usn: String,
    pub server: String,
    pub location: String,
}

/// The SSDP search targets worth asking for: every `urn:` the library's
/// drivers declare (a device answers only searches for what it offers),
/// and `upnp:rootdevice` when a driver matches on something else (its
/// server string), since every UPnP device answers that one.
pub fn ssdp_search_targets(library: &Library) -> Vec<String> {
    let mut targets: Vec<String> = Vec::new();
    let mut root = false;
    for d in library.drivers.values() {
        for m in &d.discovery.ssdp {
            if m.to_ascii_lowercase().starts_with("urn:") {
                if !targets.iter().any(|t| t.eq_ignore_ascii_case(m)) {
                    targets.push(m.clone());
                }
            } else {
                root = true;
            }
        }
    }
    if root {
        targets.push("upnp:rootdevice".to_string());
    }
    targets
}

/// Whether a device offering `own` answers a search for `searched`
/// (UPnP Device Architecture 1.1, 1.3.2: `ssdp:all`, `upnp:rootdevice`
/// or the exact type).
pub fn ssdp_search_matches(searched: &str, own: &str) -> bool {
    searched == "ssdp:all" || searched == "upnp:rootdevice" || searched.eq_ignore_ascii_case(own)
}

/// An SSDP search request for `st` (`ssdp:all`, a device or service type).
/// `mx`: the seconds devices may wait before answering (1-5).
pub fn ssdp_search(st: &str, mx: u8) -> Vec<u8> {
    format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: {SSDP_GROUP}:{SSDP_PORT}\r\nMAN: \"ssdp:discover\"\r\nMX: {}\r\nST: {st}\r\n\r\n",
        mx.clamp(1, 5)
    )
    .into_bytes()
}

/// The search target of an SSDP search request (for the simulators).
pub fn read_ssdp_search(datagram: &[u8]) -> Option<String> {
    if datagram.len() > MAX_ANSWER {
        return None;
    }
    let text = std::str::from_utf8(datagram).ok()?;
    let mut lines = text.split("\r\n");
    if lines.next()? != "M-SEARCH * HTTP/1.1" {
        return None;
    }
    let headers = headers(lines);
    if header(&headers, "MAN")? != "\"ssdp:discover\"" {
        return None;
    }
    header(&headers, "ST").map(str::to_string)
}

/// An SSDP search answer.
pub fn ssdp_answer(a: &SsdpAnswer) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\nLOCATION: {}\r\nSERVER: {}\r\nST: {}\r\nUSN: {}\r\n\r\n",
        a.location, a.server, a.st, a.usn
    )
    .into_bytes()
}

pub(super) fn read_ssdp_answer(datagram: &[u8]) -> Option<SsdpAnswer> {
    let text = std::str::from_utf8(datagram).ok()?;
    let mut lines = text.split("\r\n");
    let status = lines.next()?;
    if !status.starts_with("HTTP/1.1 200") {
        return None;
    }
    let headers = headers(lines);
    let get = |name| header(&headers, name).unwrap_or_default().to_string();
    let a = SsdpAnswer {
        st: get("ST"),
        usn: get("USN"),
        server: get("SERVER"),
        location: get("LOCATION"),
    };
    (!a.st.is_empty() || !a.usn.is_empty()).then_some(a)
}

fn headers<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<(&'a str, &'a str)> {
    lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim(), v.trim()))
        .collect()
}

fn header<'a>(headers: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}
