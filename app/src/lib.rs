// The panel's views are deeply nested types (no `into_any`, which would
// add asynchronous hydration code for each; see `panel.rs`).
#![recursion_limit = "256"]
//! The roomctl web UI: touch panels, the status page, the admin page and
//! the central station's screens.
//!
//! Compiled for the server with `ssr` (renders every page with the current
//! button and LED state) and for the browser into one wasm bundle per kind
//! of screen, so each screen loads only its own code: `hydrate` alone is
//! the panel's (`pkg/roomctl.wasm`, on every wall panel: its size has a
//! budget), `status` the status page's (`pkg/status.wasm`), `admin` the
//! admin page's (`pkg/admin.wasm`), `station` the central station's
//! screens (`pkg/station.wasm`, served by `roomctl station`, see
//! [`station`]). [`Screen::bundle`] says which bundle hydrates a page of
//! the controller; a bundle's `hydrate()` leaves the other screens alone.
//! Server state reaches components through [`backend::Backend`] in the
//! Leptos context.
//!
//! Links between screens (panels, status, admin) are full page loads
//! (`rel="external"`): each panel page owns one live channel for its whole
//! life, bound to that page's state.

// Which screens a build carries: the server all of them; each browser
// bundle its own (the panel's: `hydrate` without `status` or `admin`).
#[cfg(any(feature = "ssr", feature = "admin"))]
mod admin;
pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod base;
#[cfg(any(feature = "ssr", feature = "designer"))]
mod designer;
#[cfg(any(feature = "ssr", feature = "admin", feature = "designer"))]
mod diff;
#[cfg(any(feature = "admin", feature = "designer"))]
mod fetch;
#[cfg(any(
    feature = "ssr",
    not(any(
        feature = "status",
        feature = "admin",
        feature = "station",
        feature = "designer"
    ))
))]
mod icons;
#[cfg(any(
    feature = "ssr",
    not(any(
        feature = "status",
        feature = "admin",
        feature = "station",
        feature = "designer"
    ))
))]
mod notice;
#[cfg(any(
    feature = "ssr",
    not(any(
        feature = "status",
        feature = "admin",
        feature = "station",
        feature = "designer"
    ))
))]
mod panel;
#[cfg(all(
    feature = "hydrate",
    not(any(
        feature = "status",
        feature = "admin",
        feature = "station",
        feature = "designer"
    ))
))]
mod panel_channel;
#[cfg(all(
    feature = "hydrate",
    not(any(feature = "admin", feature = "station", feature = "designer"))
))]
mod socket;
#[cfg(feature = "ssr")]
pub use panel::view_in_page;
#[cfg(any(feature = "ssr", feature = "station"))]
pub mod station;
#[cfg(any(feature = "ssr", feature = "status"))]
mod status;
#[cfg(feature = "status")]
mod status_live;
#[cfg(any(feature = "ssr", feature = "station"))]
pub mod text;
#[cfg(any(feature = "ssr", feature = "status", feature = "station"))]
mod time_ago;

use leptos::either::EitherOf4;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};

pub use controller_core::link::LinkState;

/// The logged-in admin a designer page is rendered for: the server's
/// gate in front of the designer puts it in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser(pub String);

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
                <HydrationScripts options=Screen::current().bundle(options)/>
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
            Screen::Panel(panel) => EitherOf4::A(panel_page(panel)),
            Screen::Status => EitherOf4::B(status_page()),
            // The installer's screens share an arm: the panel's build,
            // which carries neither, keeps its four.
            screen @ (Screen::Admin | Screen::Designer) => {
                EitherOf4::C(installer_page(screen == Screen::Designer))
            }
            Screen::NotFound => EitherOf4::D(view! { <p class="notfound">"Page not found."</p> }),
        }}
    }
}

// A screen's view in the builds that carry it; in the other browser
// bundles, nothing (they never hydrate the screen: see [`hydrate`]).
#[cfg(any(
    feature = "ssr",
    not(any(
        feature = "status",
        feature = "admin",
        feature = "station",
        feature = "designer"
    ))
))]
fn panel_page(panel: Option<String>) -> impl IntoView {
    view! { <panel::PanelPage panel/> }
}
#[cfg(all(
    not(feature = "ssr"),
    any(
        feature = "status",
        feature = "admin",
        feature = "station",
        feature = "designer"
    )
))]
fn panel_page(_: Option<String>) -> impl IntoView {}

#[cfg(any(feature = "ssr", feature = "status"))]
fn status_page() -> impl IntoView {
    view! { <status::StatusPage/> }
}
#[cfg(not(any(feature = "ssr", feature = "status")))]
fn status_page() -> impl IntoView {}

#[cfg(feature = "ssr")]
fn installer_page(designer: bool) -> impl IntoView {
    use leptos::either::Either;
    if designer {
        Either::Left(view! { <designer::DesignerPage/> })
    } else {
        Either::Right(view! { <admin::AdminPage/> })
    }
}
#[cfg(all(not(feature = "ssr"), feature = "admin"))]
fn installer_page(_: bool) -> impl IntoView {
    view! { <admin::AdminPage/> }
}
#[cfg(all(not(feature = "ssr"), feature = "designer"))]
fn installer_page(_: bool) -> impl IntoView {
    view! { <designer::DesignerPage/> }
}
#[cfg(not(any(feature = "ssr", feature = "admin", feature = "designer")))]
fn installer_page(_: bool) -> impl IntoView {}

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
    /// The Project Designer ([`Screen::DESIGNER`]); the server renders it
    /// for a logged-in admin only.
    Designer,
    NotFound,
}

impl Screen {
    /// The paths the server renders the app for (axum's route syntax).
    pub const ROUTES: [&'static str; 4] = ["/", "/panel/{panel}", "/status", "/admin"];

    /// The Project Designer's path: routed by the server apart from
    /// [`Screen::ROUTES`], behind the admin login.
    pub const DESIGNER: &'static str = "/designer";

    /// Exactly the paths of [`Screen::ROUTES`] (no trailing slashes, as the
    /// server routes them); anything else is [`Screen::NotFound`], which the
    /// server answers with status 404.
    pub fn from_path(path: &str) -> Screen {
        match path {
            "" | "/" => Screen::Panel(None),
            "/status" => Screen::Status,
            "/admin" => Screen::Admin,
            // Not in the panel's build, which never shows the designer.
            #[cfg(any(feature = "ssr", feature = "designer"))]
            Screen::DESIGNER => Screen::Designer,
            _ => match path.strip_prefix("/panel/") {
                Some(id) if !id.is_empty() && !id.contains('/') => {
                    Screen::Panel(Some(id.to_string()))
                }
                _ => Screen::NotFound,
            },
        }
    }

    /// The name of the wasm bundle that hydrates this screen
    /// (`pkg/{name}.wasm`): the status and admin pages their own, the
    /// panels the panel's (the project's output name).
    pub fn bundle_name(&self) -> Option<&'static str> {
        match self {
            Screen::Status => Some("status"),
            Screen::Admin => Some("admin"),
            Screen::Designer => Some("designer"),
            Screen::Panel(_) | Screen::NotFound => None,
        }
    }

    /// `options` naming this screen's bundle, for `HydrationScripts`.
    #[cfg_attr(not(feature = "ssr"), allow(dead_code))]
    fn bundle(&self, mut options: LeptosOptions) -> LeptosOptions {
        if let Some(name) = self.bundle_name() {
            options.output_name = name.into();
        }
        options
    }

    /// Whether this browser build hydrates the screen (the panel's build,
    /// `hydrate` alone, every screen without a bundle of its own).
    #[cfg_attr(any(not(feature = "hydrate"), feature = "station"), allow(dead_code))]
    fn hydrated_here(&self) -> bool {
        match self.bundle_name() {
            Some("status") => cfg!(feature = "status"),
            Some("admin") => cfg!(feature = "admin"),
            Some("designer") => cfg!(feature = "designer"),
            _ => !cfg!(any(
                feature = "status",
                feature = "admin",
                feature = "station",
                feature = "designer"
            )),
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
        assert_eq!(Screen::from_path(Screen::DESIGNER), Screen::Designer);
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

/// The browser entry point: hydrate the server-rendered page, if it is a
/// screen of this bundle ([`Screen::bundle_name`]).
#[cfg(all(feature = "hydrate", not(feature = "station")))]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    if !Screen::current().hydrated_here() {
        return;
    }
    leptos::mount::hydrate_body(App);
}

/// The station bundle's entry point: the station's own screens (served by
/// `roomctl station`, not the controller: [`station::hydrate`]).
#[cfg(feature = "station")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    station::hydrate();
}
