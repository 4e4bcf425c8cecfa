//! What the room's user reads on a panel when a device fails: notices in
//! their words ("The video switcher is not responding"), with what to do,
//! instead of the error chain the log keeps. The wording lives here, once,
//! so every front end says the same and the tests are fast; and so does
//! which state a device that went quiet can no longer confirm.

use crate::logic::feedback::{compile_regex, FeedbackError};
use crate::project::{Device, DeviceKind, Project, VariableKind};

/// What a text variable fed by a device shows while that device cannot
/// confirm it (the device is down).
pub const UNKNOWN: &str = "unknown";

/// Why a device let the room user down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// Not connected, not answering, or a write to it failed.
    Down,
    /// It refused a command it cannot take now (warming up, too many waiting).
    Busy,
}

/// A device's busy reply (its `busy` expression), ready to match lines.
#[derive(Debug, Clone)]
pub struct BusyReply(regex::Regex);

impl BusyReply {
    pub fn new(expr: &str) -> Result<BusyReply, FeedbackError> {
        compile_regex(expr).map(BusyReply)
    }

    pub fn matches(&self, line: &str) -> bool {
        self.0.is_match(line)
    }
}

/// The device as the room user calls it, at the start of a sentence: its
/// kind ("The projector"), else the name the installer gave it, else its id.
pub fn device_name(device: &Device) -> String {
    let noun = match device.kind {
        Some(DeviceKind::Projector) => "projector",
        Some(DeviceKind::Display) => "display",
        Some(DeviceKind::VideoSwitcher) => "video switcher",
        Some(DeviceKind::Audio) => "sound system",
        Some(DeviceKind::Camera) => "camera",
        Some(DeviceKind::Lighting) => "lighting control",
        Some(DeviceKind::Blinds) => "blinds control",
        None if !device.name.trim().is_empty() => return device.name.trim().to_string(),
        None => return format!("The device \u{201c}{}\u{201d}", device.id),
    };
    format!("The {noun}")
}

/// The notice for a device in trouble: what happened and what to do.
pub fn device_notice(project: &Project, device: &Device, trouble: Trouble) -> String {
    let name = device_name(device);
    match trouble {
        Trouble::Down => {
            let help = project.project.help.trim();
            let help = if help.is_empty() {
                "call for help"
            } else {
                help
            };
            format!("{name} is not responding. Check that it is switched on, or {help}.")
        }
        Trouble::Busy if device.kind == Some(DeviceKind::Projector) => {
            format!("{name} is warming up or cooling down. Try again in a moment.")
        }
        Trouble::Busy => format!("{name} is busy. Try again in a moment."),
    }
}

/// The notice for a sequence step that failed for another reason than its
/// device (a bad step): names the button the user pressed.
pub fn step_notice(project: &Project, button: &str) -> String {
    let label = project
        .button(button)
        .map(|b| b.label.trim())
        .filter(|l| !l.is_empty() && !l.contains('{'))
        .unwrap_or(button);
    format!("\u{201c}{label}\u{201d} did not work. Try again, or call for help.")
}

/// The state that a device's feedback rules drive and that it can no
/// longer confirm once it is down.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedState {
    /// Buttons whose LED a rule of the device sets.
    pub leds: Vec<String>,
    /// Text variables a rule of the device sets: they show [`UNKNOWN`].
    pub texts: Vec<String>,
}

/// What the feedback rules of `device` drive (targets named by a regex
/// capture, `$1`, are known only when a reply comes, so they are left out;
/// so are levels and numeric variables, which have no "unknown" value).
pub fn owned_state(project: &Project, device: &str) -> OwnedState {
    let mut owned = OwnedState::default();
    let fixed = |s: &String| !s.contains('$');
    for rule in project.feedback.iter().filter(|r| r.device == device) {
        if let (Some(button), Some(_)) = (&rule.button, &rule.led) {
            if fixed(button) && !owned.leds.contains(button) {
                owned.leds.push(button.clone());
            }
        }
        if let Some(v) = rule.variable.as_ref().filter(|v| fixed(v)) {
            let text = project
                .variables
                .iter()
                .any(|d| &d.id == v && d.kind == VariableKind::Text);
            if text && !owned.texts.contains(v) {
                owned.texts.push(v.clone());
            }
        }
    }
    owned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::demo_project;

    fn device(project: &Project, id: &str) -> Device {
        project.devices.iter().find(|d| d.id == id).unwrap().clone()
    }

    #[test]
    fn a_device_down_is_named_by_its_kind_and_says_what_to_do() {
        let p = demo_project();
        let text = device_notice(p, &device(p, "matrix"), Trouble::Down);
        assert_eq!(
            text,
            "The video switcher is not responding. Check that it is switched on, or call for help."
        );
        for word in ["127.0.0.1", "os error", "matrix", "step", "sequence"] {
            assert!(!text.contains(word), "{text:?} holds {word:?}");
        }
    }

    #[test]
    fn without_a_kind_the_name_then_the_id_is_used() {
        let p = demo_project();
        let mut d = device(p, "matrix");
        d.kind = None;
        assert!(
            device_notice(p, &d, Trouble::Down).starts_with("Video switcher is not responding.")
        );
        d.name.clear();
        assert!(device_notice(p, &d, Trouble::Down)
            .starts_with("The device \u{201c}matrix\u{201d} is not responding."));
    }

    #[test]
    fn the_project_says_whom_to_call() {
        let mut p = demo_project().clone();
        p.project.help = "call IT on 4711".into();
        let d = device(&p, "dsp");
        assert_eq!(
            device_notice(&p, &d, Trouble::Down),
            "The sound system is not responding. Check that it is switched on, or call IT on 4711."
        );
    }

    #[test]
    fn a_busy_projector_is_warming_up() {
        let p = demo_project();
        assert_eq!(
            device_notice(p, &device(p, "projector"), Trouble::Busy),
            "The projector is warming up or cooling down. Try again in a moment."
        );
        assert_eq!(
            device_notice(p, &device(p, "matrix"), Trouble::Busy),
            "The video switcher is busy. Try again in a moment."
        );
    }

    #[test]
    fn a_pjlink_busy_reply_is_err3() {
        // As a raw PJLink device gives it (the demo's projector is a driver
        // device, whose driver reads ERR3 into its state).
        let busy = BusyReply::new("ERR3$").unwrap();
        assert!(busy.matches("%1POWR=ERR3"));
        assert!(!busy.matches("%1POWR=3"));
        assert!(!busy.matches("%1POWR=OK"));
    }

    #[test]
    fn a_failed_step_names_the_button() {
        let p = demo_project();
        assert_eq!(
            step_notice(p, "src_hdmi2"),
            "\u{201c}HDMI 2\u{201d} did not work. Try again, or call for help."
        );
        assert!(step_notice(p, "gone").contains("gone"));
    }

    #[test]
    fn the_projector_owns_the_display_led_and_its_state_text() {
        let p = demo_project();
        let owned = owned_state(p, "projector");
        assert_eq!(owned.leds, ["display_power"]);
        assert_eq!(owned.texts, ["projector_state"]);
        assert_eq!(owned_state(p, "matrix"), OwnedState::default());
        // The DSP drives levels only: nothing with an "unknown" to show.
        assert_eq!(owned_state(p, "dsp"), OwnedState::default());
    }
}
