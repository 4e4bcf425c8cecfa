//! What the room's user is told on the panel: a room device of the running
//! project going down (and coming back), and a failed sequence step. Bus
//! events in, panel `notice` messages out; a panel that connects later is
//! told which devices are down now.

use controller_core::project::Project;
use controller_core::protocol::panel::{ServerMessage, Severity};
use controller_core::view::DeviceStatus;

use crate::bus::{BusEvent, SequenceFailure};
use crate::controller::Controller;

/// The notice a bus event makes, if any. Extension devices (keypads, I/O
/// boxes) are the installer's business, not the room user's: only the
/// project's room devices make notices.
pub fn of_event(project: &Project, event: &BusEvent) -> Option<ServerMessage> {
    match event {
        BusEvent::Device(d) => device(project, d),
        BusEvent::SequenceFailed(f) => Some(sequence(f)),
        _ => None,
    }
}

/// Notices for the room devices that are down right now.
pub fn current(controller: &Controller) -> Vec<ServerMessage> {
    let project = controller.project();
    controller
        .status()
        .devices()
        .iter()
        .filter(|d| !d.online)
        .filter_map(|d| device(&project, d))
        .collect()
}

fn device(project: &Project, status: &DeviceStatus) -> Option<ServerMessage> {
    let def = project.devices.iter().find(|d| d.id == status.id)?;
    let name = if def.name.is_empty() {
        &def.id
    } else {
        &def.name
    };
    Some(ServerMessage::Notice {
        key: format!("device:{}", def.id),
        severity: Severity::Warning,
        message: if status.online {
            format!("{name} is back")
        } else {
            format!("{name} is not responding")
        },
        active: !status.online,
    })
}

fn sequence(f: &SequenceFailure) -> ServerMessage {
    ServerMessage::Notice {
        key: format!("sequence:{}", f.sequence),
        severity: Severity::Error,
        message: format!(
            "{} did not complete: step {} failed ({})",
            f.sequence,
            f.step + 1,
            f.reason
        ),
        active: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use controller_core::project::demo_project;

    fn status(id: &str, online: bool) -> BusEvent {
        BusEvent::Device(DeviceStatus {
            id: id.into(),
            kind: "x".into(),
            address: "127.0.0.1:1".into(),
            online,
            ..Default::default()
        })
    }

    #[test]
    fn room_devices_make_notices_and_clear_them() {
        let p = demo_project();
        let Some(ServerMessage::Notice {
            key,
            active,
            message,
            ..
        }) = of_event(p, &status("dsp", false))
        else {
            panic!("a notice")
        };
        assert_eq!(key, "device:dsp");
        assert!(active);
        assert!(message.contains("Audio DSP"));
        assert!(matches!(
            of_event(p, &status("dsp", true)),
            Some(ServerMessage::Notice { active: false, .. })
        ));
        assert!(of_event(p, &status("keypad-7", false)).is_none());
        let failed = BusEvent::SequenceFailed(SequenceFailure {
            sequence: "all_off".into(),
            step: 0,
            reason: "device \"projector\" is not connected".into(),
        });
        assert!(matches!(
            of_event(p, &failed),
            Some(ServerMessage::Notice {
                severity: Severity::Error,
                active: true,
                ..
            })
        ));
    }
}
