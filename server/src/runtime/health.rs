//! The controller's health as `GET /healthz` tells it: `ok`, or `degraded`
//! with each reason on its own line (a device offline, a service failed,
//! the MQTT broker unreachable). Read from the status board, the one model
//! of what is up, so the health answer, the status page and `/metrics`
//! never disagree.

use controller_core::view::ServiceState;

use crate::state::status::BoardView;

/// The answer: no reasons means healthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub reasons: Vec<String>,
}

impl Health {
    pub fn is_ok(&self) -> bool {
        self.reasons.is_empty()
    }

    /// `ok\n`, or `degraded\n` and one reason a line.
    pub fn text(&self) -> String {
        if self.is_ok() {
            return "ok\n".into();
        }
        let mut out = String::from("degraded\n");
        for r in &self.reasons {
            out.push_str(r);
            out.push('\n');
        }
        out
    }
}

/// Judges the board: every failed service, every offline device, and the
/// broker when a bridge runs without a connection.
pub fn assess(board: &BoardView, broker_unreachable: bool) -> Health {
    let mut reasons = Vec::new();
    for s in &board.services {
        if let ServiceState::Failed(why) = &s.state {
            reasons.push(format!("service {} failed: {why}", s.name));
        }
    }
    for d in &board.devices {
        if !d.online {
            reasons.push(format!("device {} ({}) is offline", d.id, d.kind));
        }
    }
    if broker_unreachable {
        reasons.push("the MQTT broker is unreachable".into());
    }
    Health { reasons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use controller_core::view::{DeviceStatus, ServiceStatus};

    fn board(state: ServiceState, online: bool) -> BoardView {
        BoardView {
            services: vec![ServiceStatus {
                name: "ftp".into(),
                purpose: String::new(),
                endpoint: String::new(),
                state,
                setting: "ftp".into(),
            }],
            panels: Vec::new(),
            devices: vec![DeviceStatus {
                id: "projector".into(),
                kind: "pjlink".into(),
                name: String::new(),
                address: String::new(),
                online,
                detail: String::new(),
            }],
            timers: Vec::new(),
            found: Vec::new(),
        }
    }

    #[test]
    fn all_up_is_ok() {
        let h = assess(&board(ServiceState::Listening, true), false);
        assert_eq!(h.text(), "ok\n");
    }

    #[test]
    fn each_fault_is_a_reason() {
        let h = assess(
            &board(ServiceState::Failed("port 21 is taken".into()), false),
            true,
        );
        assert_eq!(
            h.text(),
            "degraded\nservice ftp failed: port 21 is taken\ndevice projector (pjlink) is offline\nthe MQTT broker is unreachable\n"
        );
    }
}
