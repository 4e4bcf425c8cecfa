//! Device addresses and HTTP steps as written in a project, checked once at
//! validation and parsed the same way by the runtime.

use crate::project::Transport;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("a {0} device address is host:port (e.g. \"192.168.1.20:4352\")")]
    NotHostPort(&'static str),
    #[error("the port {0:?} is not a number from 1 to 65535")]
    BadPort(String),
    #[error("an http device address is a base URL such as \"http://192.168.1.30\" (https is not supported)")]
    NotHttpUrl,
    #[error("an http step is a method and a path, e.g. \"GET /api/power\"")]
    BadHttpStep,
    #[error("unknown HTTP method {0:?}; use GET, POST, PUT or DELETE")]
    BadMethod(String),
    #[error("a serial device address is the port's path, e.g. \"/dev/ttyUSB0\"")]
    NotSerialPath,
    #[error("a serial device has a port path, not a network address")]
    NotNetwork,
    #[error("serial settings are a speed and a framing, e.g. \"9600 8N1\" (data bits 5-8, parity N, E or O, stop bits 1 or 2)")]
    BadSerialSettings,
    #[error("the serial speed {0} is not between 50 and 4000000 baud")]
    BadBaud(u32),
}

/// Where a device is: a host and a port, and for http a path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAddress {
    pub host: String,
    pub port: u16,
    /// For http: the base path every request path is appended to ("" or "/api").
    pub base_path: String,
}

impl DeviceAddress {
    /// `host:port` (host may be a name or an address; `[v6]:port` for IPv6).
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

fn split_host_port(text: &str, what: &'static str) -> Result<(String, Option<u16>), AddressError> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or(AddressError::NotHostPort(what))?;
        (host, after.strip_prefix(':'))
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(AddressError::NotHostPort(what));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(AddressError::BadPort(p.into())),
        },
    };
    Ok((host.to_string(), port))
}

pub fn parse_device_address(
    transport: Transport,
    address: &str,
) -> Result<DeviceAddress, AddressError> {
    match transport {
        Transport::Serial => Err(AddressError::NotNetwork),
        Transport::Tcp | Transport::Udp => {
            let what = if transport == Transport::Tcp {
                "tcp"
            } else {
                "udp"
            };
            let (host, port) = split_host_port(address.trim(), what)?;
            let port = port.ok_or(AddressError::NotHostPort(what))?;
            Ok(DeviceAddress {
                host,
                port,
                base_path: String::new(),
            })
        }
        Transport::Http => {
            let rest = address
                .trim()
                .strip_prefix("http://")
                .ok_or(AddressError::NotHttpUrl)?;
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let (host, port) =
                split_host_port(authority, "http").map_err(|_| AddressError::NotHttpUrl)?;
            Ok(DeviceAddress {
                host,
                port: port.unwrap_or(80),
                base_path: path.trim_end_matches('/').to_string(),
            })
        }
    }
}

/// An `http` step: `"GET /path"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpStep {
    pub method: &'static str,
    pub path: String,
}

pub fn parse_http_step(text: &str) -> Result<HttpStep, AddressError> {
    let mut parts = text.split_whitespace();
    let (Some(method), Some(path), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(AddressError::BadHttpStep);
    };
    let method = match method.to_ascii_uppercase().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        _ => return Err(AddressError::BadMethod(method.into())),
    };
    if !path.starts_with('/') || !path.chars().all(|c| c.is_ascii_graphic()) {
        return Err(AddressError::BadHttpStep);
    }
    Ok(HttpStep {
        method,
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses() {
        let a = parse_device_address(Transport::Tcp, "127.0.0.1:4352").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 4352));
        assert_eq!(a.host_port(), "127.0.0.1:4352");
        let a = parse_device_address(Transport::Udp, "[::1]:9").unwrap();
        assert_eq!(a.host_port(), "[::1]:9");
        assert!(parse_device_address(Transport::Tcp, "projector").is_err());
        assert!(parse_device_address(Transport::Tcp, "p:0").is_err());
        let h = parse_device_address(Transport::Http, "http://10.0.0.5:8080/api/").unwrap();
        assert_eq!((h.port, h.base_path.as_str()), (8080, "/api"));
        let h = parse_device_address(Transport::Http, "http://dsp.local").unwrap();
        assert_eq!((h.port, h.base_path.as_str()), (80, ""));
        assert_eq!(
            parse_device_address(Transport::Http, "https://x"),
            Err(AddressError::NotHttpUrl)
        );
        assert_eq!(parse_http_step("post /a?b=1").unwrap().method, "POST");
        assert!(parse_http_step("GET").is_err());
        assert!(parse_http_step("FETCH /").is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,40}") {
            for t in [Transport::Tcp, Transport::Udp, Transport::Http] {
                let _ = parse_device_address(t, &text);
            }
            let _ = parse_http_step(&text);
        }
    }
}

/// The settings used when a serial device gives none.
pub const DEFAULT_SERIAL: &str = "9600 8N1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parity {
    None,
    Even,
    Odd,
}

/// A serial port and its line settings, as written in a project:
/// `address = "/dev/ttyUSB0"`, `serial = "9600 8N1"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialLine {
    pub path: String,
    pub baud: u32,
    pub data_bits: u8,
    pub parity: Parity,
    pub stop_bits: u8,
}

/// Parses a serial device's path and its settings (`None`: 9600 8N1).
pub fn parse_serial(address: &str, settings: Option<&str>) -> Result<SerialLine, AddressError> {
    let path = address.trim();
    if !path.starts_with('/') || path.len() < 2 || path.chars().any(char::is_whitespace) {
        return Err(AddressError::NotSerialPath);
    }
    let settings = settings.unwrap_or(DEFAULT_SERIAL);
    let mut parts = settings.split_whitespace();
    let (Some(baud), Some(framing), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(AddressError::BadSerialSettings);
    };
    let baud: u32 = baud.parse().map_err(|_| AddressError::BadSerialSettings)?;
    if !(50..=4_000_000).contains(&baud) {
        return Err(AddressError::BadBaud(baud));
    }
    let &[data, parity, stop] = framing.as_bytes() else {
        return Err(AddressError::BadSerialSettings);
    };
    let data_bits = match data {
        b'5'..=b'8' => data - b'0',
        _ => return Err(AddressError::BadSerialSettings),
    };
    let parity = match parity.to_ascii_uppercase() {
        b'N' => Parity::None,
        b'E' => Parity::Even,
        b'O' => Parity::Odd,
        _ => return Err(AddressError::BadSerialSettings),
    };
    let stop_bits = match stop {
        b'1' => 1,
        b'2' => 2,
        _ => return Err(AddressError::BadSerialSettings),
    };
    Ok(SerialLine {
        path: path.to_string(),
        baud,
        data_bits,
        parity,
        stop_bits,
    })
}

#[cfg(test)]
mod serial_tests {
    use super::*;

    #[test]
    fn serial_settings_parse_and_refuse_clearly() {
        let line = parse_serial("/dev/ttyUSB0", None).unwrap();
        assert_eq!(
            line,
            SerialLine {
                path: "/dev/ttyUSB0".into(),
                baud: 9600,
                data_bits: 8,
                parity: Parity::None,
                stop_bits: 1
            }
        );
        let line = parse_serial("/dev/ttyS1", Some("19200 7e2")).unwrap();
        assert_eq!(
            (line.baud, line.data_bits, line.parity, line.stop_bits),
            (19200, 7, Parity::Even, 2)
        );
        assert_eq!(
            parse_serial("ttyUSB0", None),
            Err(AddressError::NotSerialPath)
        );
        assert_eq!(
            parse_serial("/dev/x", Some("9600")),
            Err(AddressError::BadSerialSettings)
        );
        assert_eq!(
            parse_serial("/dev/x", Some("9600 9N1")),
            Err(AddressError::BadSerialSettings)
        );
        assert_eq!(
            parse_serial("/dev/x", Some("9600 8X1")),
            Err(AddressError::BadSerialSettings)
        );
        assert_eq!(
            parse_serial("/dev/x", Some("9600 8N3")),
            Err(AddressError::BadSerialSettings)
        );
        assert_eq!(
            parse_serial("/dev/x", Some("12 8N1")),
            Err(AddressError::BadBaud(12))
        );
        assert_eq!(
            parse_serial("/dev/x", Some("fast 8N1")),
            Err(AddressError::BadSerialSettings)
        );
    }
}
