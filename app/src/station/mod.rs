//! The central station's screens: the room grid, the "now" view of every
//! room, one room's panel, the alert list, the usage figures and the login form. Rendered on the station server only
//! (feature `ssr`) and kept live by the small script `public/station.js`
//! (a server-sent event stream patches cards and LEDs in place). None of it
//! is in the panel's wasm: a station adds nothing to what a panel loads.

mod alerts;
mod grid;
mod now;
mod room;
mod usage;

use leptos::prelude::*;

pub use alerts::AlertsPage;
pub use grid::{GridPage, GridView};
pub use now::NowPage;
pub use room::{RoomPage, RoomView};
pub use usage::UsagePage;

/// Renders a station screen as a complete HTML document.
pub fn document<V: IntoView + 'static>(title: &str, body: impl FnOnce() -> V) -> String {
    let owner = Owner::new();
    let html = owner.with(|| body().into_view().to_html());
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · roomctl station</title><link rel=\"stylesheet\" href=\"/station.css\"><script src=\"/station.js\" defer></script></head><body>{html}</body></html>",
        crate::text::escape_html(title)
    )
}

/// The bar at the top of every station screen.
#[component]
fn TopBar(user: String, role: String) -> impl IntoView {
    view! {
        <header class="st-top">
            <a href="/" class="st-brand">"roomctl station"</a>
            <nav aria-label="Station">
                <a href="/">"Rooms"</a>
                <a href="/now">"Now"</a>
                <a href="/alerts">"Alerts"</a>
                <a href="/usage">"Usage"</a>
            </nav>
            <form method="post" action="/logout" class="st-user">
                <span>{user}" ("{role}")"</span>
                <button type="submit">"Log out"</button>
            </form>
        </header>
    }
}

/// "12 s ago" from two Unix times.
pub fn ago(now: u64, then: u64) -> String {
    if then == 0 {
        return "never".into();
    }
    let s = now.saturating_sub(then);
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        _ => format!("{} h ago", s / 3600),
    }
}

/// The login form.
pub fn login_page(error: bool) -> String {
    document("Log in", move || {
        view! {
            <main class="st-login">
                <h1>"roomctl station"</h1>
                {error.then(|| view! { <p class="st-error" role="alert">"Wrong user name or password."</p> })}
                <form method="post" action="/login">
                    <label>"User "<input name="user" autocomplete="username" required/></label>
                    <label>"Password "<input name="password" type="password" autocomplete="current-password" required/></label>
                    <button type="submit">"Log in"</button>
                </form>
            </main>
        }
    })
}
