//! Forwarding the audit trail to a syslog collector: RFC 5424 messages
//! (formatted by the `fasyslog` crate: PRI, version 1, timestamp, the
//! machine's host name, app-name `roomctl`, the process id, the event as
//! MSGID, and the entry's JSON line as MSG), over UDP (RFC 5426, one
//! message per datagram) or TCP with octet-counting framing (RFC 6587
//! §3.4.1: `LEN SP MSG`, so a message may hold any byte).
//!
//! The framing is written here because fasyslog's TCP sender only offers
//! the older newline-terminated framing; the rest (formatting, facility,
//! severity) is the crate's. Runs on the audit writer thread with short
//! timeouts: an unreachable collector costs a few entries (counted), never
//! the controller.

use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fasyslog::format::SyslogContext;
use fasyslog::{Facility, Severity};

use super::{AuditEntry, AuditEvent, AuditOutcome};
use crate::config::{SyslogTarget, SyslogTransport};

/// The syslog app-name of every message.
pub const APP_NAME: &str = "roomctl";
/// The longest a connect or a write may take before the entry is counted
/// as not forwarded.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// After a failure, how long to wait before trying the collector again
/// (entries in between are counted as not forwarded).
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// UDP datagrams longer than this are cut (RFC 5426 §3.2: receivers must
/// take 480 bytes, should take 2048; IPv4 carries up to 65507).
const MAX_DATAGRAM: usize = 8192;

impl SyslogTarget {
    fn resolve(&self) -> std::io::Result<SocketAddr> {
        self.address
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::other(format!("{} has no address", self.address)))
    }
}

/// The RFC 5424 message of one entry.
pub fn message(context: &SyslogContext, entry: &AuditEntry, line: &str) -> String {
    let severity = match (entry.event, entry.outcome) {
        (AuditEvent::Login, AuditOutcome::Failed) => Severity::WARNING,
        (_, AuditOutcome::Failed) => Severity::NOTICE,
        (AuditEvent::Press, _) => Severity::INFORMATIONAL,
        _ => Severity::NOTICE,
    };
    context
        .format_rfc5424(severity, Some(entry.event.as_str()), Vec::new(), Some(line))
        .to_string()
}

/// The RFC 6587 octet-counted frame of a message.
pub fn octet_counted(message: &str) -> Vec<u8> {
    let mut frame = format!("{} ", message.len()).into_bytes();
    frame.extend_from_slice(message.as_bytes());
    frame
}

/// The connection to the collector, kept open (TCP) between entries.
pub struct SyslogSink {
    target: SyslogTarget,
    context: SyslogContext,
    udp: Option<(UdpSocket, SocketAddr)>,
    tcp: Option<TcpStream>,
    retry_at: Option<Instant>,
    failed: Arc<AtomicU64>,
    error_logged: bool,
}

impl SyslogSink {
    pub fn new(target: SyslogTarget, failed: Arc<AtomicU64>) -> SyslogSink {
        let mut context = SyslogContext::new();
        context.appname(APP_NAME).facility(Facility::AUTHPRIV);
        SyslogSink {
            target,
            context,
            udp: None,
            tcp: None,
            retry_at: None,
            failed,
            error_logged: false,
        }
    }

    /// Forwards one entry; a failure is counted (and logged once until the
    /// next success).
    pub fn send(&mut self, entry: &AuditEntry, line: &str) {
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            self.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let message = message(&self.context, entry, line);
        match self.try_send(&message) {
            Ok(()) => {
                self.retry_at = None;
                self.error_logged = false;
            }
            Err(e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.udp = None;
                self.tcp = None;
                self.retry_at = Some(Instant::now() + RETRY_AFTER);
                if !self.error_logged {
                    self.error_logged = true;
                    tracing::warn!(
                        "audit: cannot forward to syslog {:?}: {e}; retrying every {} s",
                        self.target.address,
                        RETRY_AFTER.as_secs()
                    );
                }
            }
        }
    }

    fn try_send(&mut self, message: &str) -> std::io::Result<()> {
        match self.target.transport {
            SyslogTransport::Udp => {
                if self.udp.is_none() {
                    let to = self.target.resolve()?;
                    let local: SocketAddr = if to.is_ipv4() {
                        "0.0.0.0:0".parse().expect("an address")
                    } else {
                        "[::]:0".parse().expect("an address")
                    };
                    self.udp = Some((UdpSocket::bind(local)?, to));
                }
                let (socket, to) = self.udp.as_ref().expect("opened above");
                let bytes = message.as_bytes();
                socket.send_to(&bytes[..bytes.len().min(MAX_DATAGRAM)], to)?;
            }
            SyslogTransport::Tcp => {
                if self.tcp.is_none() {
                    let to = self.target.resolve()?;
                    let stream = TcpStream::connect_timeout(&to, IO_TIMEOUT)?;
                    stream.set_write_timeout(Some(IO_TIMEOUT))?;
                    stream.set_nodelay(true)?;
                    self.tcp = Some(stream);
                }
                let stream = self.tcp.as_mut().expect("connected above");
                stream.write_all(&octet_counted(message))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_count_bytes_not_characters() {
        assert_eq!(octet_counted("<1>1 é"), b"7 <1>1 \xc3\xa9".to_vec());
    }
}
