//! The base path the app is served under: empty for the controller's own
//! pages (`/panel/wall`, `/ws`), `/designer/preview/{token}` for the
//! Project Designer's preview, which serves the same panel over a preview
//! controller (server/src/services/http/preview.rs), `/room/{key}/panel`
//! for a room's panel at the central station, whose live channel the
//! station relays to that room (server/src/station/panel.rs). Every address the
//! panel builds (its screen from the page's path, its live channel, its
//! links) goes through here, so a panel served under a base talks only to
//! that base: a preview page can never press a button of the running
//! controller.
//!
//! The server provides a [`Base`] in the render's context and writes it
//! into the page (`<body data-base="...">`, see [`ATTRIBUTE`] and
//! `crate::shell`); the browser reads it back from there.

/// The attribute of `<body>` that carries the base path (absent: none).
pub const ATTRIBUTE: &str = "data-base";

/// The base path of a render, in the server's Leptos context (none in the
/// context: the empty base). No trailing slash: `/designer/preview/ab12`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Base(pub String);

/// The base path of the page being rendered (server) or hydrated (browser):
/// `""` for the controller's own pages.
pub fn path() -> String {
    #[cfg(feature = "ssr")]
    let base = leptos::prelude::use_context::<Base>().map(|b| b.0);
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    let base = leptos::prelude::document()
        .body()
        .and_then(|body| body.get_attribute(ATTRIBUTE));
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    let base: Option<String> = None;
    base.unwrap_or_default()
}

/// `path` (absolute, `/panel/wall`) under this page's base.
pub fn href(path: &str) -> String {
    format!("{}{path}", self::path())
}

/// The part of a request path below `base`, or `None` when the path is not
/// under it (`/designer/preview/ab12/panel/x` under `/designer/preview/ab12`
/// is `/panel/x`; the base itself is `/`).
pub fn strip<'a>(path: &'a str, base: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(base)?;
    match rest {
        "" => Some("/"),
        _ if rest.starts_with('/') => Some(rest),
        // `/designer/preview/ab12x` is not under `/designer/preview/ab12`.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn paths_below_a_base() {
        assert_eq!(strip("/panel/wall", ""), Some("/panel/wall"));
        assert_eq!(strip("/", ""), Some("/"));
        assert_eq!(
            strip("/designer/preview/ab/panel/x", "/designer/preview/ab"),
            Some("/panel/x")
        );
        assert_eq!(
            strip("/designer/preview/ab", "/designer/preview/ab"),
            Some("/")
        );
        assert_eq!(
            strip("/designer/preview/ab/", "/designer/preview/ab"),
            Some("/")
        );
        assert_eq!(
            strip("/designer/preview/abc/panel/x", "/designer/preview/ab"),
            None
        );
        assert_eq!(strip("/panel/x", "/designer/preview/ab"), None);
    }
}
