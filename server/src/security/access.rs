//! IP allow-lists: which client addresses a service accepts.
//! Written in settings as `allow = ["192.168.10.0/24", "10.0.0.5"]`;
//! an empty list allows every address.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<IpNet>);

impl AllowList {
    pub fn parse(entries: &[&str]) -> Result<AllowList, String> {
        entries
            .iter()
            .map(|e| parse_entry(e))
            .collect::<Result<_, _>>()
            .map(AllowList)
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.0.is_empty() || self.0.iter().any(|n| n.contains(&ip))
    }

    pub fn is_open(&self) -> bool {
        self.0.is_empty()
    }
}

fn parse_entry(s: &str) -> Result<IpNet, String> {
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(net);
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{s:?} is neither an IP address nor a network like 192.168.1.0/24"))
}

impl Serialize for AllowList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|n| n.to_string()))
    }
}

impl<'de> Deserialize<'de> for AllowList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(d)?;
        let refs: Vec<&str> = entries.iter().map(String::as_str).collect();
        AllowList::parse(&refs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_single_addresses() {
        let a = AllowList::parse(&["10.0.0.0/8", "192.168.1.7"]).unwrap();
        assert!(a.allows("10.1.2.3".parse().unwrap()));
        assert!(a.allows("192.168.1.7".parse().unwrap()));
        assert!(!a.allows("192.168.1.8".parse().unwrap()));
        assert!(a.allows("::ffff:10.0.0.1".parse().unwrap()));
        assert!(AllowList::default().allows("1.2.3.4".parse().unwrap()));
        assert!(AllowList::parse(&["nonsense"]).is_err());
    }
}
