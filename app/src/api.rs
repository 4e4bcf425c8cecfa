//! The page data the UI loads: the panel view (with the page) and the
//! status report (a server function, refreshed over HTTP). Live changes use
//! the WebSocket channel instead (see `live.rs` and docs/protocols.md).

use controller_core::view::{PanelView, StatusReport};
use leptos::prelude::*;

/// The layout and current state of a panel; `None` picks the default panel
/// of the port the page was loaded from (tablet on the panel port, wall
/// panel on the Apprimo port).
///
/// Not a server function: the panel page is rendered on the server with
/// this data, and the browser takes it from the page (the resource's
/// serialised value) when it hydrates. Links between screens are full page
/// loads, so the browser never loads another panel's view by itself; from
/// then on the live channel carries every change. Keeping it off the
/// server-function path keeps its HTTP client and second decoder out of
/// the panel's wasm.
pub async fn panel_view(panel: Option<String>) -> Result<PanelView, ServerFnError> {
    #[cfg(feature = "ssr")]
    {
        let backend = expect_context::<crate::backend::Backend>();
        backend
            .panel_view(panel.as_deref())
            .map_err(ServerFnError::new)
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = panel;
        Err(ServerFnError::new(
            "this panel's layout comes with the page: reload the page",
        ))
    }
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

/// What a person reads when loading page data failed: the controller's own
/// message, never the framework's wrapping ("error running server
/// function: ...") or its transport details.
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(message) => message.clone(),
        ServerFnError::Request(_) | ServerFnError::Response(_) => {
            "The controller did not answer; check the network and reload the page.".into()
        }
        _ => "The controller's answer could not be read; reload the page.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_read_our_words_not_the_frameworks() {
        let e: ServerFnError = ServerFnError::new("log in as an admin to see the status");
        assert!(e.to_string().contains("error running server function"));
        assert_eq!(error_text(&e), "log in as an admin to see the status");
        let e: ServerFnError = ServerFnError::Request("connection refused".into());
        assert!(!error_text(&e).contains("server function"));
    }
}
