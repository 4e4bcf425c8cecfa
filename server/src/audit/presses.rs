//! Button presses into the audit trail: one bus subscriber reads every
//! engine step and records the presses whose source `[audit] presses`
//! names. The source is the engine command's (`central:ada@192.0.2.7`,
//! `panel:lobby@192.0.2.9`, `keypad:K1@192.0.2.20`, `mqtt`,
//! `telnet:ada@192.0.2.7:50312`, `timer:morning`, ...).

use std::net::{IpAddr, SocketAddr};

use controller_core::Change;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::{Audit, AuditEvent, AuditOutcome};
use crate::state::bus::Subscription;

/// A press's source, split for the trail.
#[derive(Debug, PartialEq, Eq)]
pub struct PressSource<'a> {
    /// `central`, `panel`, `keypad`, `mqtt`, `telnet`, or `logic` (timers,
    /// sequences, feedback rules, device drivers).
    pub kind: &'static str,
    /// The user (central, telnet) or the panel / keypad named.
    pub who: Option<&'a str>,
    pub address: Option<IpAddr>,
}

/// Splits `kind[:who][@address]`.
pub fn split(source: &str) -> Option<PressSource<'_>> {
    let (head, address) = match source.split_once('@') {
        Some((head, addr)) => (
            head,
            addr.parse::<IpAddr>()
                .ok()
                .or_else(|| addr.parse::<SocketAddr>().ok().map(|a| a.ip())),
        ),
        None => (source, None),
    };
    let (kind, who) = match head.split_once(':') {
        Some((kind, who)) => (kind, Some(who)),
        None => (head, None),
    };
    let kind = match kind {
        "central" => "central",
        "panel" => "panel",
        "keypad" => "keypad",
        "mqtt" => "mqtt",
        "telnet" => "telnet",
        "timer" | "sequence" | "feedback" | "device" => "logic",
        _ => return None,
    };
    Some(PressSource { kind, who, address })
}

/// Records audited presses until `shutdown`. Missed steps (the subscriber
/// fell behind) are counted as dropped entries.
pub async fn record_presses(audit: Audit, mut bus: Subscription, shutdown: CancellationToken) {
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = bus.recv() => event,
        };
        let event = match event {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => {
                audit.count_dropped(n);
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let Some(published) = event.step() else {
            continue;
        };
        for change in &published.step.changes {
            let Change::Pressed { button, source } = change else {
                continue;
            };
            let Some(from) = split(source) else { continue };
            if !audit.records_presses_from(from.kind) {
                continue;
            }
            let (user, detail) = match from.kind {
                "central" | "telnet" => (from.who, format!("button {button}")),
                _ => (
                    None,
                    match from.who {
                        Some(who) => format!("button {button} ({who})"),
                        None => format!("button {button}"),
                    },
                ),
            };
            audit.record(
                AuditEvent::Press,
                AuditOutcome::Ok,
                from.kind,
                user,
                from.address,
                detail,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_split() {
        let s = split("central:ada@192.0.2.7").unwrap();
        assert_eq!((s.kind, s.who), ("central", Some("ada")));
        assert_eq!(s.address, Some("192.0.2.7".parse().unwrap()));
        let s = split("telnet:ada@192.0.2.7:50312").unwrap();
        assert_eq!(s.address, Some("192.0.2.7".parse().unwrap()));
        assert_eq!(split("central@192.0.2.7").unwrap().who, None);
        assert_eq!(split("mqtt").unwrap().kind, "mqtt");
        assert_eq!(split("timer:morning").unwrap().kind, "logic");
        assert_eq!(split("keypad:K1@192.0.2.20").unwrap().kind, "keypad");
        assert!(split("something-else").is_none());
    }
}
