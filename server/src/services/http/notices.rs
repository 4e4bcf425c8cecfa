//! What the room's user is told on the panel: a room device of the running
//! project going down (and coming back), refusing a command while it is
//! busy, and a failed sequence step. Bus events in, panel `notice` messages
//! out, worded by controller-core (`logic::notices`) in the user's terms;
//! the developer's account stays in the log and on the status page. A
//! panel that connects later is told which devices are down now.
//!
//! A notice's key says what clears it: `device:<id>` (a device down, or a
//! step that failed because of it) clears when the device is back,
//! `busy:<id>` when its busy time is over; `sequence:<id>` (a bad step)
//! only when the user dismisses it.

use controller_core::logic::{device_notice, step_notice, Trouble};
use controller_core::project::Project;
use controller_core::protocol::panel::{ServerMessage, Severity};
use controller_core::view::DeviceStatus;

use crate::state::bus::{BusEvent, DeviceBusy, SequenceFailure};
use crate::state::controller::Controller;

/// The notice a bus event makes, if any. Extension devices (keypads, I/O
/// boxes) are the installer's business, not the room user's: only the
/// project's room devices make notices.
pub fn of_event(project: &Project, event: &BusEvent) -> Option<ServerMessage> {
    match event {
        BusEvent::Device(d) => device(project, d),
        BusEvent::SequenceFailed(f) => Some(sequence(project, f)),
        BusEvent::DeviceBusy(b) => busy(project, b),
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
    about(project, &status.id, Trouble::Down, !status.online)
}

fn busy(project: &Project, b: &DeviceBusy) -> Option<ServerMessage> {
    about(project, &b.device, Trouble::Busy, b.busy)
}

/// The notice about room device `id` in `trouble` (or out of it).
fn about(project: &Project, id: &str, trouble: Trouble, active: bool) -> Option<ServerMessage> {
    let def = project.devices.iter().find(|d| d.id == id)?;
    let key = match trouble {
        Trouble::Down => format!("device:{id}"),
        Trouble::Busy => format!("busy:{id}"),
    };
    Some(ServerMessage::Notice {
        key,
        severity: Severity::Warning,
        message: if active {
            device_notice(project, def, trouble)
        } else {
            String::new()
        },
        active,
    })
}

/// A failed step: its device's notice when the device let it down, else
/// one naming the button the user pressed.
fn sequence(project: &Project, f: &SequenceFailure) -> ServerMessage {
    if let Some(notice) = f
        .device
        .as_ref()
        .and_then(|(id, how)| about(project, id, *how, true))
    {
        return notice;
    }
    ServerMessage::Notice {
        key: format!("sequence:{}", f.sequence),
        severity: Severity::Error,
        message: step_notice(project, &f.button),
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

    fn notice(event: &BusEvent) -> (String, Severity, String, bool) {
        match of_event(demo_project(), event) {
            Some(ServerMessage::Notice {
                key,
                severity,
                message,
                active,
            }) => (key, severity, message, active),
            other => panic!("a notice, not {other:?}"),
        }
    }

    #[test]
    fn room_devices_make_notices_in_the_users_words_and_clear_them() {
        let p = demo_project();
        let (key, _, message, active) = notice(&status("dsp", false));
        assert_eq!(key, "device:dsp");
        assert!(active);
        assert_eq!(
            message,
            "The sound system is not responding. Check that it is switched on, or call for help."
        );
        assert!(!notice(&status("dsp", true)).3);
        assert!(of_event(p, &status("keypad-7", false)).is_none());
    }

    #[test]
    fn a_step_a_device_let_down_is_that_devices_notice() {
        let failed = BusEvent::SequenceFailed(SequenceFailure {
            sequence: "all_off".into(),
            button: "all_off".into(),
            step: 0,
            reason: "device \"projector\" is not connected (cannot connect to 127.0.0.1:4352)"
                .into(),
            device: Some(("projector".into(), Trouble::Down)),
        });
        let (key, _, message, active) = notice(&failed);
        assert_eq!(key, "device:projector");
        assert!(active);
        assert!(message.starts_with("The projector is not responding."));
        assert!(!message.contains("127.0.0.1"), "{message}");
    }

    #[test]
    fn a_bad_step_names_the_button_not_the_error() {
        let failed = BusEvent::SequenceFailed(SequenceFailure {
            sequence: "all_off".into(),
            button: "all_off".into(),
            step: 1,
            reason: "unknown button \"light_off\"".into(),
            device: None,
        });
        let (key, severity, message, active) = notice(&failed);
        assert_eq!(key, "sequence:all_off");
        assert_eq!(severity, Severity::Error);
        assert!(active);
        assert_eq!(
            message,
            "\u{201c}All off\u{201d} did not work. Try again, or call for help."
        );
    }

    #[test]
    fn a_busy_device_is_a_notice_until_its_busy_time_is_over() {
        let busy = |busy| {
            BusEvent::DeviceBusy(DeviceBusy {
                device: "projector".into(),
                busy,
            })
        };
        let (key, _, message, active) = notice(&busy(true));
        assert_eq!(key, "busy:projector");
        assert!(active);
        assert_eq!(
            message,
            "The projector is warming up or cooling down. Try again in a moment."
        );
        assert!(!notice(&busy(false)).3);
    }
}
