//! The built-in demo project, so a controller runs out of the box.

use std::sync::OnceLock;

use super::Project;

/// The demo project's source, as shipped in `projects/demo.toml`.
pub const DEMO_PROJECT_TOML: &str = include_str!("../../projects/demo.toml");

/// The demo project, parsed once. It is validated by a unit test, so this
/// never fails in a released build.
pub fn demo_project() -> &'static Project {
    static DEMO: OnceLock<Project> = OnceLock::new();
    DEMO.get_or_init(|| match Project::from_toml(DEMO_PROJECT_TOML) {
        Ok(p) => p,
        Err(e) => panic!("the built-in demo project is invalid (a build defect):\n{e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{ButtonKind, PanelProfile};

    #[test]
    fn demo_is_valid_and_complete() {
        let p = demo_project();
        assert!(p.panels.iter().any(|x| x.profile == PanelProfile::Tablet));
        assert!(p.panels.iter().any(|x| x.profile == PanelProfile::Wall));
        assert!(p.panels.iter().all(|x| x.pages.len() >= 2));
        let sources: Vec<_> = p
            .buttons
            .iter()
            .filter(|b| b.group.as_deref() == Some("sources"))
            .map(|b| b.label.as_str())
            .collect();
        assert_eq!(sources, ["HDMI 1", "HDMI 2", "Room PC"]);
        assert!(p
            .buttons
            .iter()
            .all(|b| b.kind != ButtonKind::Interlock || b.group.is_some()));
        for id in [
            "display_power",
            "vol_up",
            "vol_down",
            "mute",
            "screen_up",
            "screen_down",
            "all_off",
        ] {
            assert!(p.button(id).is_some(), "demo lacks {id}");
        }
    }
}
