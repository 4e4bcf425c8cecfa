//! `[audit] syslog`: where the audit trail is forwarded, `udp://host:port`
//! or `tcp://host:port`, checked when the settings are read (the sink that
//! sends to it is `crate::audit::syslog`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogTransport {
    Udp,
    Tcp,
}

/// Where to forward: `udp://host:port` or `tcp://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogTarget {
    pub transport: SyslogTransport,
    /// `host:port` as written (a name is resolved when connecting).
    pub address: String,
}

impl SyslogTarget {
    pub fn parse(url: &str) -> Result<SyslogTarget, String> {
        let (transport, rest) = if let Some(rest) = url.strip_prefix("udp://") {
            (SyslogTransport::Udp, rest)
        } else if let Some(rest) = url.strip_prefix("tcp://") {
            (SyslogTransport::Tcp, rest)
        } else {
            return Err(format!(
                "{url:?} must start with udp:// or tcp:// (e.g. \"udp://192.168.10.5:514\")"
            ));
        };
        let rest = rest.trim_end_matches('/');
        let port_ok = rest.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !port_ok {
            return Err(format!(
                "{url:?} must name a host and a port (e.g. \"udp://192.168.10.5:514\")"
            ));
        }
        Ok(SyslogTarget {
            transport,
            address: rest.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = SyslogTarget::parse("udp://192.0.2.5:514").unwrap();
        assert_eq!(
            (t.transport, t.address.as_str()),
            (SyslogTransport::Udp, "192.0.2.5:514")
        );
        let t = SyslogTarget::parse("tcp://[2001:db8::1]:601").unwrap();
        assert_eq!(t.transport, SyslogTransport::Tcp);
        for bad in [
            "192.0.2.5:514",
            "udp://192.0.2.5",
            "tcp://:514",
            "udp://h:0",
            "http://h:1",
        ] {
            assert!(SyslogTarget::parse(bad).is_err(), "{bad}");
        }
    }
}
