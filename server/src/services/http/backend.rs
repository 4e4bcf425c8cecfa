//! The controller as the Leptos app sees it on one HTTP port.

use app::backend::PanelBackend;
use controller_core::project::PanelProfile;
use controller_core::view::{PanelView, StatusReport};

use crate::controller::Controller;

pub struct PortBackend {
    pub controller: Controller,
    pub profile: PanelProfile,
    /// The panel opened at `/` on this port, if set in the settings.
    pub default_panel: Option<String>,
}

impl PanelBackend for PortBackend {
    fn panel_view(&self, panel: Option<&str>) -> Result<PanelView, String> {
        let project = self.controller.project();
        let panel = panel.or(self.default_panel.as_deref());
        PanelView::build(
            &self.controller.identity().name,
            &project,
            panel,
            self.profile,
            self.controller.snapshot(),
            self.controller.settings().panel.keepalive_secs * 1000,
        )
        .ok_or_else(|| match panel {
            Some(id) => format!(
                "The project \"{}\" has no panel \"{id}\".",
                project.project.name
            ),
            None => format!("The project \"{}\" has no panels.", project.project.name),
        })
    }

    fn status(&self) -> Result<StatusReport, String> {
        Ok(self.controller.status_report())
    }
}
