//! The status report, a server function refreshed over HTTP. (The panel's
//! view comes with its page: see `panel::page_data`; live changes use the
//! WebSocket channel, see `panel_channel.rs` and docs/protocols.md.)

use leptos::prelude::*;

/// The status page's report as JSON text, which the page decodes (once,
/// with `serde_json::from_str`): returning the report itself would compile
/// its decoders twice into the panel's wasm, once for the server
/// function's response and once for the resource's hydration data. Needs
/// an admin login when one is configured.
#[server]
pub async fn get_status() -> Result<String, ServerFnError> {
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
        .map(|report| serde_json::to_string(&report).unwrap_or_default())
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
