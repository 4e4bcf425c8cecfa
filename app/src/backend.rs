//! What the UI needs from the controller, on the server side. The server
//! implements [`PanelBackend`] and provides a [`Backend`] in the Leptos
//! context of each HTTP port (so the same code knows which port it serves).

use std::sync::Arc;

use controller_core::view::{PanelView, StatusReport};

pub trait PanelBackend: Send + Sync + 'static {
    /// The view of a panel, or of the port's default panel.
    fn panel_view(&self, panel: Option<&str>) -> Result<PanelView, String>;
    /// The status report, or why the caller may not see it. `cookie` is the
    /// request's Cookie header (the admin session).
    fn status(&self, cookie: Option<&str>) -> Result<StatusReport, String>;
}

#[derive(Clone)]
pub struct Backend(pub Arc<dyn PanelBackend>);

impl std::ops::Deref for Backend {
    type Target = dyn PanelBackend;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}
