// The panel's views are deeply nested types (no `into_any`, which would
// add asynchronous hydration code for each; see `panel.rs`).
#![recursion_limit = "256"]
//! The roomctl web UI: touch panels, the status page and the admin page.
//!
//! Compiled twice: with `ssr` into the server (renders every page with the
//! current button and LED state), with `hydrate` into the browser's wasm
//! (takes over the page and opens the live channel). Server state reaches
//! components through [`backend::Backend`] in the Leptos context.
//!
//! Links between screens (panels, status, admin) are full page loads
//! (`rel="external"`): each panel page owns one live channel for its whole
//! life, bound to that page's state.

// The admin page is plain HTML forms upgraded by `public/admin.js`: the
// browser never hydrates it, so its view is in the server only and the
// panel's wasm does not carry it.
#[cfg(feature = "ssr")]
mod admin;
pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod base;
mod icons;
#[cfg(feature = "hydrate")]
mod live;
mod notice;
mod panel;
#[cfg(feature = "ssr")]
pub mod station;
mod status;
#[cfg(feature = "ssr")]
pub mod text;

use leptos::either::EitherOf4;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};

pub use controller_core::link::LinkState;

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // Zoom is allowed everywhere (axe-core's meta-viewport rule): people who
    // need it read panels too; the panel itself uses `touch-action:
    // manipulation`, so a double tap never zooms by accident.
    let viewport = "width=device-width, initial-scale=1, viewport-fit=cover";
    let base = Some(base::path()).filter(|b| !b.is_empty());
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content=viewport/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body data-base=base>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/roomctl.css"/>
        <Link rel="manifest" href="/manifest.webmanifest"/>
        <Link rel="icon" href="/icon.svg"/>
        <Link rel="apple-touch-icon" href="/apple-touch-icon.png"/>
        <Meta name="theme-color" content="#101418"/>
        <Meta name="mobile-web-app-capable" content="yes"/>
        <Meta name="apple-mobile-web-app-capable" content="yes"/>
        <Title text="roomctl"/>
        {match Screen::current() {
            // `EitherOf4`, not `into_any`: a type-erased view carries its
            // asynchronous hydration code whether it is used or not.
            Screen::Panel(panel) => EitherOf4::A(view! { <panel::PanelPage panel/> }),
            Screen::Status => EitherOf4::B(view! { <status::StatusPage/> }),
            Screen::Admin => EitherOf4::C(admin_page()),
            Screen::NotFound => EitherOf4::D(view! { <p class="notfound">"Page not found."</p> }),
        }}
    }
}

/// The admin page (server-rendered only; see `mod admin`).
#[cfg(feature = "ssr")]
fn admin_page() -> impl IntoView {
    view! { <admin::AdminPage/> }
}

/// In the browser's build: never hydrated ([`hydrate`] leaves `/admin`
/// to its script), so nothing to build.
#[cfg(not(feature = "ssr"))]
fn admin_page() -> impl IntoView {}

/// The screens of the app, chosen by the request path.
///
/// Every link between screens is a full page load, so there is no
/// client-side routing: the server renders the screen its path names and
/// the browser hydrates the same screen, read from its own address. One
/// function decides for both, so they cannot disagree. (This keeps a router
/// out of the panel's wasm.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// `/` (the port's default panel) or `/panel/{id}`.
    Panel(Option<String>),
    /// `/status`.
    Status,
    /// `/admin`.
    Admin,
    NotFound,
}

impl Screen {
    /// The paths the server renders the app for (axum's route syntax).
    pub const ROUTES: [&'static str; 4] = ["/", "/panel/{panel}", "/status", "/admin"];

    /// Exactly the paths of [`Screen::ROUTES`] (no trailing slashes, as the
    /// server routes them); anything else is [`Screen::NotFound`], which the
    /// server answers with status 404.
    pub fn from_path(path: &str) -> Screen {
        match path {
            "" | "/" => Screen::Panel(None),
            "/status" => Screen::Status,
            "/admin" => Screen::Admin,
            _ => match path.strip_prefix("/panel/") {
                Some(id) if !id.is_empty() && !id.contains('/') => {
                    Screen::Panel(Some(id.to_string()))
                }
                _ => Screen::NotFound,
            },
        }
    }

    /// The screen of the page being rendered (server) or hydrated (browser).
    fn current() -> Screen {
        #[cfg(feature = "ssr")]
        let path = use_context::<http::request::Parts>().map(|parts| parts.uri.path().to_string());
        #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
        let path = window().location().pathname().ok();
        #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
        let path: Option<String> = None;
        // Below the page's base path (a designer preview's), as the
        // routes are; a path outside it names no screen.
        match path {
            Some(path) => {
                base::strip(&path, &base::path()).map_or(Screen::NotFound, Screen::from_path)
            }
            None => Screen::from_path("/"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Screen;

    #[test]
    fn paths_name_screens() {
        assert_eq!(Screen::from_path("/"), Screen::Panel(None));
        assert_eq!(Screen::from_path(""), Screen::Panel(None));
        assert_eq!(
            Screen::from_path("/panel/wall"),
            Screen::Panel(Some("wall".into()))
        );
        assert_eq!(Screen::from_path("/status"), Screen::Status);
        assert_eq!(Screen::from_path("/admin"), Screen::Admin);
        for other in [
            "/panel/",
            "/panel",
            "/panel/a/b",
            "/panel/wall/",
            "/status/",
            "/statusx",
            "/nope",
        ] {
            assert_eq!(Screen::from_path(other), Screen::NotFound, "{other}");
        }
    }
}

/// The browser entry point: hydrate the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    if Screen::current() == Screen::Admin {
        return;
    }
    leptos::mount::hydrate_body(App);
}
