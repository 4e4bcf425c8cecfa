//! Server functions: the page data the UI loads over HTTP. Live changes use
//! the WebSocket channel instead (see `live.rs` and docs/protocols.md).

use controller_core::view::{PanelView, StatusReport};
use leptos::prelude::*;

/// The layout and current state of a panel; `None` picks the default panel
/// of the port the page was loaded from (tablet on the panel port, wall
/// panel on the Apprimo port).
#[server]
pub async fn get_panel_view(panel: Option<String>) -> Result<PanelView, ServerFnError> {
    let backend = expect_context::<crate::backend::Backend>();
    backend
        .panel_view(panel.as_deref())
        .map_err(ServerFnError::new)
}

/// The status page's report. Needs an admin login when one is configured.
#[server]
pub async fn get_status() -> Result<StatusReport, ServerFnError> {
    let backend = expect_context::<crate::backend::Backend>();
    let cookie = use_context::<http::request::Parts>().and_then(|parts| {
        parts
            .headers
            .get(http::header::COOKIE)?
            .to_str()
            .ok()
            .map(str::to_owned)
    });
    backend
        .status(cookie.as_deref())
        .map_err(ServerFnError::new)
}
