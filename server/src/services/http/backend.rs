//! The controller as the Leptos app sees it on one HTTP port.

use app::backend::PanelBackend;
use controller_core::project::PanelProfile;
use controller_core::view::{PanelView, StatusReport};

use crate::auth::Role;
use crate::controller::Controller;
use crate::sessions::allowed;

pub struct PortBackend {
    pub controller: Controller,
    pub profile: PanelProfile,
    /// The panel opened at `/` on this port, if set in the settings.
    pub default_panel: Option<String>,
}

impl PanelBackend for PortBackend {
    fn panel_view(&self, panel: Option<&str>) -> Result<PanelView, String> {
        let (project, snapshot) = self.controller.project_and_snapshot();
        let panel = panel.or(self.default_panel.as_deref());
        PanelView::build(
            &self.controller.identity().name,
            &project,
            panel,
            self.profile,
            snapshot,
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

    fn status(&self, cookie: Option<&str>) -> Result<StatusReport, String> {
        let user = self.controller.sessions().from_cookie_header(cookie);
        // Every role may see status (docs/configuration.md): a viewer
        // account is what a help desk gets.
        if allowed(user.as_ref(), Role::Viewer) {
            Ok(self.controller.status_report())
        } else if self.controller.users().is_empty() {
            Err("The status page needs a login, and no user exists yet. \
                 On the controller, run: roomctl user add admin --role admin"
                .into())
        } else {
            Err("Log in to see the status page (any user: viewer, operator or admin).".into())
        }
    }
}
