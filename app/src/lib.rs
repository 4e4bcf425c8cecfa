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

mod admin;
pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
mod icons;
#[cfg(feature = "hydrate")]
mod live;
mod panel;
mod status;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

pub use panel::LinkState;

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta
                    name="viewport"
                    content="width=device-width, initial-scale=1, maximum-scale=1, user-scalable=no, viewport-fit=cover"
                />
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
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
        <Meta name="theme-color" content="#101418"/>
        <Meta name="mobile-web-app-capable" content="yes"/>
        <Meta name="apple-mobile-web-app-capable" content="yes"/>
        <Title text="roomctl"/>
        <Router>
            <Routes fallback=|| view! { <p class="notfound">"Page not found."</p> }>
                <Route path=path!("/") view=panel::PanelPage ssr=SsrMode::Async/>
                <Route path=path!("/panel/:panel") view=panel::PanelPage ssr=SsrMode::Async/>
                <Route path=path!("/status") view=status::StatusPage ssr=SsrMode::Async/>
                <Route path=path!("/admin") view=admin::AdminPage/>
            </Routes>
        </Router>
    }
}

/// The browser entry point: hydrate the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
