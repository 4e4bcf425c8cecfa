//! The controller as the Leptos app sees it on one HTTP port.

use app::backend::PanelBackend;
use controller_core::engine::Snapshot;
use controller_core::project::{PanelProfile, Project};
use controller_core::view::{PanelView, StatusReport};

use crate::security::auth::Role;
use crate::security::sessions::allowed;
use crate::state::controller::Controller;

/// How many audit entries the status page shows.
const AUDIT_SHOWN: usize = 50;

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
        view_of(&self.controller, &project, snapshot, panel, self.profile)
    }

    fn status(&self, cookie: Option<&str>) -> Result<StatusReport, String> {
        let user = self.controller.sessions().from_cookie_header(cookie);
        // Every role may see status (docs/configuration.md): a viewer
        // account is what a help desk gets.
        if allowed(user.as_ref(), Role::Viewer) {
            let mut report = self.controller.status_report();
            // The audit trail names users and addresses: admins and
            // operators only.
            if allowed(user.as_ref(), Role::Operator) && self.controller.audit().enabled() {
                report.audit = Some(self.controller.audit().report(AUDIT_SHOWN));
            }
            Ok(report)
        } else if self.controller.users().is_empty() {
            Err("The status page needs a login, and no user exists yet. \
                 On the controller, run: roomctl user add admin --role admin"
                .into())
        } else {
            Err("Log in to see the status page (any user: viewer, operator or admin).".into())
        }
    }
}

/// The view of `panel` (or, when `None`, of the first panel of `profile`)
/// in `project` with `snapshot`, or why there is none: for the page, and
/// for the live channel's `layout` (`panel_channel.rs`).
pub fn view_of(
    controller: &Controller,
    project: &Project,
    snapshot: Snapshot,
    panel: Option<&str>,
    profile: PanelProfile,
) -> Result<PanelView, String> {
    PanelView::build(
        &controller.identity().name,
        project,
        panel,
        profile,
        snapshot,
        controller.settings().panel.keepalive_secs * 1000,
    )
    .ok_or_else(|| match panel {
        Some(id) => format!(
            "The project \"{}\" has no panel \"{id}\".",
            project.project.name
        ),
        None => format!("The project \"{}\" has no panels.", project.project.name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, AuditOutcome};
    use crate::security::auth::User;

    #[test]
    fn the_audit_trail_is_shown_to_operators_and_admins_only() {
        let mut settings = crate::config::Settings::defaults(crate::config::Profile::Development);
        settings.audit.file = Default::default();
        let controller = Controller::new(settings, crate::storage::project_store::demo().project);
        controller.audit().record(
            AuditEvent::Login,
            AuditOutcome::Failed,
            "ftp",
            Some("mallory"),
            Some("192.0.2.66".parse().unwrap()),
            "wrong user name or password",
        );
        let backend = PortBackend {
            controller: controller.clone(),
            profile: PanelProfile::Tablet,
            default_panel: None,
        };
        let audit_for = |role| {
            let token = controller.sessions().open(User {
                name: format!("{role}"),
                role,
            });
            let cookie = format!("{}={token}", crate::security::sessions::COOKIE);
            backend.status(Some(&cookie)).unwrap().audit
        };
        assert_eq!(audit_for(Role::Viewer), None);
        for role in [Role::Operator, Role::Admin] {
            let audit = audit_for(role).expect("shown");
            assert_eq!(audit.entries.len(), 1);
            assert_eq!(audit.entries[0].user.as_deref(), Some("mallory"));
        }
    }
}
