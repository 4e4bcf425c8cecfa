//! The FTP control-channel guard: a line filter between the client and
//! libunftp.
//!
//! Why this exists: libunftp 0.24 connects to whatever address a `PORT`
//! command names (the classic FTP bounce attack) and offers no hook to
//! check it, and it does not know `EPRT`. The guard sees every command
//! line before libunftp does and:
//! - refuses `PORT`/`EPRT` to any address but the client's own, and to
//!   privileged ports (below 1024);
//! - takes an accepted `PORT`/`EPRT` itself: connects to the client and
//!   hands libunftp a loopback `PORT` instead ([`super::data`]);
//! - relays passive data connections (it announces the public port in
//!   libunftp's `227`/`229` reply) and answers `425` when a transfer's data
//!   connection has not come `data_timeout` after its `150`;
//! - refuses lines longer than [`MAX_LINE`] (memory stays bounded).
//!
//! - answers `AUTH TLS` itself and holds the client's TLS session (see
//!   [`ControlTls`]), so it still sees every command; with
//!   `[ftp] require_tls` it refuses a login before `AUTH TLS` and a data
//!   connection before `PROT P`.
//!
//! Everything else passes unchanged, both ways. Only the command verb and
//! the `PORT`/`EPRT`/`AUTH`/`PROT` arguments are parsed; libunftp does the
//! rest.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The longest command line accepted (RFC 959 servers commonly allow 512;
/// paths make some longer).
pub const MAX_LINE: usize = 4096;

/// What to do with one command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Pass these bytes to the server.
    Forward(Vec<u8>),
    /// An active-mode data connection to this address of the client
    /// (`PORT`, or an IPv4 `EPRT`), allowed.
    Active(SocketAddr),
    /// Answer the client with this reply and do not forward.
    Refuse(&'static str),
}

/// Decides about one complete command line (with its line ending).
pub fn check_line(line: &[u8], client: IpAddr) -> Verdict {
    let text = String::from_utf8_lossy(line);
    let trimmed = text.trim_end_matches(['\r', '\n']);
    let (verb, arg) = match trimmed.split_once(' ') {
        Some((v, a)) => (v, a.trim()),
        None => (trimmed, ""),
    };
    if verb.eq_ignore_ascii_case("PORT") {
        match parse_port(arg) {
            Some(addr) => active_target(addr, client),
            None => Verdict::Refuse("501 Syntax: PORT h1,h2,h3,h4,p1,p2\r\n"),
        }
    } else if verb.eq_ignore_ascii_case("EPRT") {
        match parse_eprt(arg) {
            Some(SocketAddr::V4(v4)) => active_target(SocketAddr::V4(v4), client),
            Some(SocketAddr::V6(_)) => {
                Verdict::Refuse("522 Only IPv4 active mode is supported, use (1) or EPSV\r\n")
            }
            None => Verdict::Refuse("501 Syntax: EPRT |1|address|port|\r\n"),
        }
    } else {
        Verdict::Forward(line.to_vec())
    }
}

fn same_host(a: IpAddr, b: IpAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    canon(a) == canon(b)
}

fn active_target(addr: SocketAddr, client: IpAddr) -> Verdict {
    if !same_host(addr.ip(), client) {
        Verdict::Refuse("504 Active mode connects only back to your own address (FTP bounce protection); use PASV\r\n")
    } else if addr.port() < 1024 {
        Verdict::Refuse("504 Active mode to a privileged port (below 1024) is refused\r\n")
    } else {
        Verdict::Active(addr)
    }
}

fn parse_port(arg: &str) -> Option<SocketAddr> {
    let parts: Vec<u8> = arg
        .split(',')
        .map(|p| p.trim().parse::<u8>())
        .collect::<Result<_, _>>()
        .ok()?;
    let [a, b, c, d, p1, p2] = parts.as_slice() else {
        return None;
    };
    Some(SocketAddr::new(
        Ipv4Addr::new(*a, *b, *c, *d).into(),
        u16::from(*p1) << 8 | u16::from(*p2),
    ))
}

/// `EPRT <d><af><d><addr><d><port><d>` (RFC 2428).
fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let delim = arg.chars().next()?;
    if !(33..=126).contains(&(delim as u32)) {
        return None;
    }
    let fields: Vec<&str> = arg.split(delim).collect();
    let ["", af, addr, port, ""] = fields.as_slice() else {
        return None;
    };
    let ip: IpAddr = match *af {
        "1" => IpAddr::V4(addr.parse().ok()?),
        "2" => IpAddr::V6(addr.parse().ok()?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port.parse().ok()?))
}

/// FTPS on the control connection: the guard itself answers `AUTH TLS`
/// and holds the TLS session with the client (so it keeps reading the
/// commands it checks), while libunftp, configured with the same
/// certificate, protects the data connections (`PBSZ 0`, `PROT P`).
#[derive(Clone)]
pub struct ControlTls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// `[ftp] require_tls`: no login before `AUTH TLS`, no data
    /// connection before `PROT P`.
    pub required: bool,
}

/// Where a session stands, as far as the guard's TLS rules go.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TlsState {
    /// `AUTH TLS` succeeded: the control connection is encrypted.
    pub secured: bool,
    /// `PROT P` was sent (and not undone by `PROT C`).
    pub data_protected: bool,
}

/// What to do about a command line under the TLS rules.
#[derive(Debug, PartialEq, Eq)]
pub enum TlsVerdict {
    /// Not a TLS matter (or allowed): on to [`check_line`].
    Pass,
    /// Answer `234` and start the TLS handshake.
    StartTls,
    /// Answer this and do not forward.
    Refuse(&'static str),
}

/// The TLS rules for one command line: `offered` when FTPS is available,
/// `required` with `[ftp] require_tls`. Updates `state` for `PROT`.
pub fn check_tls(line: &[u8], offered: bool, required: bool, state: &mut TlsState) -> TlsVerdict {
    let text = String::from_utf8_lossy(line);
    let trimmed = text.trim_end_matches(['\r', '\n']);
    let (verb, arg) = match trimmed.split_once(' ') {
        Some((v, a)) => (v.to_ascii_uppercase(), a.trim().to_ascii_uppercase()),
        None => (trimmed.to_ascii_uppercase(), String::new()),
    };
    match verb.as_str() {
        "AUTH" if !offered => TlsVerdict::Refuse("502 FTPS is not available on this controller\r\n"),
        "AUTH" if state.secured => TlsVerdict::Refuse("503 The connection is already secured\r\n"),
        // RFC 4217 lets a server take AUTH SSL as AUTH TLS (curl tries it first).
        "AUTH" if matches!(arg.as_str(), "TLS" | "TLS-C" | "SSL") => TlsVerdict::StartTls,
        "AUTH" => TlsVerdict::Refuse("504 Unknown security mechanism; use AUTH TLS\r\n"),
        "CCC" => TlsVerdict::Refuse("534 The control connection stays encrypted (CCC refused)\r\n"),
        "USER" | "PASS" if required && !state.secured => TlsVerdict::Refuse(
            "534 This controller requires FTPS: send AUTH TLS before logging in (ftps:// with explicit TLS in your client)\r\n",
        ),
        "PROT" => {
            if arg == "P" {
                state.data_protected = true;
            } else if arg == "C" {
                state.data_protected = false;
            }
            TlsVerdict::Pass
        }
        "PASV" | "EPSV" | "PORT" | "EPRT" if required && !state.data_protected => TlsVerdict::Refuse(
            "534 This controller requires FTPS data connections: send PBSZ 0 and PROT P first\r\n",
        ),
        _ => TlsVerdict::Pass,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));

    #[test]
    fn port_back_to_the_client_passes() {
        assert_eq!(
            check_line(b"PORT 10,0,0,5,200,10\r\n", CLIENT),
            Verdict::Active("10.0.0.5:51210".parse().unwrap())
        );
    }

    #[test]
    fn port_to_another_host_is_refused() {
        assert!(matches!(
            check_line(b"PORT 10,0,0,6,200,10\r\n", CLIENT),
            Verdict::Refuse(r) if r.starts_with("504")
        ));
        assert!(matches!(
            check_line(b"port 127,0,0,1,200,10\r\n", CLIENT),
            Verdict::Refuse(_)
        ));
    }

    #[test]
    fn port_to_a_privileged_port_is_refused() {
        assert!(matches!(
            check_line(b"PORT 10,0,0,5,0,25\r\n", CLIENT),
            Verdict::Refuse(_)
        ));
    }

    #[test]
    fn eprt_is_active_mode_too() {
        assert_eq!(
            check_line(b"EPRT |1|10.0.0.5|51210|\r\n", CLIENT),
            Verdict::Active("10.0.0.5:51210".parse().unwrap())
        );
        assert!(matches!(
            check_line(b"EPRT |1|10.9.9.9|51210|\r\n", CLIENT),
            Verdict::Refuse(_)
        ));
        assert!(matches!(
            check_line(b"EPRT |2|::1|51210|\r\n", CLIENT),
            Verdict::Refuse(r) if r.starts_with("522")
        ));
    }

    #[test]
    fn malformed_arguments_get_a_syntax_error() {
        for bad in [
            &b"PORT 1,2,3\r\n"[..],
            b"PORT 300,1,1,1,1,1\r\n",
            b"EPRT garbage\r\n",
            b"EPRT |1|x|1|\r\n",
        ] {
            assert!(matches!(check_line(bad, CLIENT), Verdict::Refuse(r) if r.starts_with("501")));
        }
    }

    #[test]
    fn other_commands_pass_unchanged() {
        let line = b"RETR active.toml\r\n";
        assert_eq!(check_line(line, CLIENT), Verdict::Forward(line.to_vec()));
    }

    #[test]
    fn auth_tls_starts_tls_once() {
        let mut st = TlsState::default();
        assert_eq!(
            check_tls(b"AUTH TLS\r\n", true, false, &mut st),
            TlsVerdict::StartTls
        );
        assert_eq!(
            check_tls(b"auth ssl\r\n", true, false, &mut st),
            TlsVerdict::StartTls
        );
        assert!(
            matches!(check_tls(b"AUTH GSSAPI\r\n", true, false, &mut st), TlsVerdict::Refuse(r) if r.starts_with("504"))
        );
        assert!(
            matches!(check_tls(b"AUTH TLS\r\n", false, false, &mut st), TlsVerdict::Refuse(r) if r.starts_with("502"))
        );
        st.secured = true;
        assert!(
            matches!(check_tls(b"AUTH TLS\r\n", true, false, &mut st), TlsVerdict::Refuse(r) if r.starts_with("503"))
        );
        assert!(matches!(
            check_tls(b"CCC\r\n", true, false, &mut st),
            TlsVerdict::Refuse(_)
        ));
    }

    #[test]
    fn require_tls_refuses_plain_logins_and_data() {
        let mut st = TlsState::default();
        assert!(
            matches!(check_tls(b"USER installer\r\n", true, true, &mut st), TlsVerdict::Refuse(r) if r.starts_with("534"))
        );
        assert!(
            matches!(check_tls(b"PASS x\r\n", true, true, &mut st), TlsVerdict::Refuse(r) if r.starts_with("534"))
        );
        assert_eq!(
            check_tls(b"USER installer\r\n", true, false, &mut st),
            TlsVerdict::Pass
        );
        st.secured = true;
        assert_eq!(
            check_tls(b"USER installer\r\n", true, true, &mut st),
            TlsVerdict::Pass
        );
        assert!(matches!(
            check_tls(b"EPSV\r\n", true, true, &mut st),
            TlsVerdict::Refuse(_)
        ));
        assert_eq!(
            check_tls(b"PROT P\r\n", true, true, &mut st),
            TlsVerdict::Pass
        );
        assert_eq!(
            check_tls(b"EPSV\r\n", true, true, &mut st),
            TlsVerdict::Pass
        );
        assert_eq!(
            check_tls(b"PROT C\r\n", true, true, &mut st),
            TlsVerdict::Pass
        );
        assert!(matches!(
            check_tls(b"PASV\r\n", true, true, &mut st),
            TlsVerdict::Refuse(_)
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(line in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = check_line(&line, CLIENT);
            let mut st = TlsState::default();
            let _ = check_tls(&line, true, true, &mut st);
        }
    }
}
