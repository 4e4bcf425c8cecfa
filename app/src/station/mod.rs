//! The central station's screens: the room grid, the "now" view of every
//! room, one room's page (its card and its real panel in a frame), the alert list, the usage figures and the login
//! form. The server renders every one (feature `ssr`); the grid, the now
//! view and a room's page are then hydrated by the station's own wasm
//! (`pkg/station.wasm`, the app's `station` feature; nothing of it is in
//! the panel's), which follows the station's event stream ([`live`]). A
//! room's panel is the panel's own page and wasm (server/src/station/panel.rs). The page's state travels with the page as JSON
//! ([`StationPage`]) so the browser hydrates exactly what the server drew,
//! with the same components: a card, a row and the now view's order exist
//! once.

#[cfg(feature = "ssr")]
mod alerts;
mod grid;
#[cfg(feature = "station")]
mod live;
mod now;
mod room;
#[cfg(feature = "ssr")]
mod usage;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub use alerts::AlertsPage;
pub use grid::{GridPage, GridView};
pub use now::{NowPage, NowView};
pub use room::{PanelTab, RoomLive, RoomPage, RoomView};
#[cfg(feature = "ssr")]
pub use usage::UsagePage;

pub use crate::time_ago::ago;

/// The grid's "N of M rooms online" (`summary` on the event stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineCount {
    pub online: usize,
    pub total: usize,
}

use crate::time_ago::Clock;

/// A live screen and everything it shows: rendered by the server, sent
/// beside the HTML (`<script type="application/json" id="st-page">`, data
/// the browser does not run) and hydrated from it in the browser.
#[derive(Serialize, Deserialize)]
pub enum StationPage {
    Grid(GridView),
    Now(NowView),
    /// Boxed: the largest of the three.
    Room(Box<RoomView>),
}

/// The element that carries a live screen's [`StationPage`].
pub const PAGE_DATA_ID: &str = "st-page";

/// A live screen's components: the same on the server and in the browser.
#[component]
fn StationScreen(page: StationPage, now: u64) -> impl IntoView {
    Clock::provide(now);
    match page {
        StationPage::Grid(view) => view! { <GridPage view/> }.into_any(),
        StationPage::Now(view) => view! { <NowPage view/> }.into_any(),
        StationPage::Room(view) => view! { <RoomPage view=*view/> }.into_any(),
    }
}

/// What the browser reads to hydrate a live screen.
#[derive(Serialize, Deserialize)]
struct PageData {
    page: StationPage,
    /// The server's time of the render (Unix seconds).
    now: u64,
}

/// The head every station page shares.
#[cfg(feature = "ssr")]
fn head(title: &str) -> String {
    format!(
        "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · roomctl station</title><link rel=\"stylesheet\" href=\"/station.css\"><link rel=\"icon\" href=\"/icon.svg\">",
        crate::text::escape_html(title)
    )
}

/// Renders a station screen without a script (the alerts, the usage
/// figures, the login form) as a complete HTML document.
#[cfg(feature = "ssr")]
pub fn document<V: IntoView + 'static>(title: &str, body: impl FnOnce() -> V) -> String {
    let owner = Owner::new();
    let html = owner.with(|| body().into_view().to_html());
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head>{}</head><body>{html}</body></html>",
        head(title)
    )
}

/// A live screen rendered: the HTML document and the nonce its hydration
/// script carries (for the answer's Content-Security-Policy).
#[cfg(feature = "ssr")]
pub struct LiveDocument {
    pub html: String,
    pub nonce: String,
}

/// Renders a live screen as a complete HTML document that loads the
/// station's wasm (`/pkg/station.js`, `/pkg/station.wasm`) with Leptos's
/// hydration script, as the panel's pages do; `now` is the server's time.
#[cfg(feature = "ssr")]
pub fn live_document(title: &str, page: StationPage, now: u64) -> LiveDocument {
    let owner = Owner::new();
    // `</` cannot end the data block early: JSON allows `\u003c` for `<`.
    let data = serde_json::to_string(&PageData { page, now })
        .unwrap_or_default()
        .replace('<', "\\u003c");
    // The server renders what the browser will read back, so the two
    // cannot differ by a value that does not survive the trip.
    let PageData { page, now } = serde_json::from_str(&data).expect("a page's own JSON reads back");
    let (scripts, html, nonce) = owner.with(|| {
        leptos::nonce::provide_nonce();
        let nonce = leptos::nonce::use_nonce()
            .map(|n| n.to_string())
            .unwrap_or_default();
        let options = LeptosOptions::builder()
            .output_name("station")
            .site_pkg_dir("pkg")
            .build();
        let scripts = view! { <HydrationScripts options/> }.to_html();
        let html = view! { <StationScreen page now/> }.to_html();
        (scripts, html, nonce)
    });
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head>{}{scripts}<script type=\"application/json\" id=\"{PAGE_DATA_ID}\">{data}</script></head><body>{html}</body></html>",
        head(title)
    );
    LiveDocument { html, nonce }
}

/// The browser's side of [`live_document`]: hydrates the screen the page
/// carries.
#[cfg(feature = "station")]
pub fn hydrate() {
    let json = leptos::prelude::document()
        .get_element_by_id(PAGE_DATA_ID)
        .and_then(|e| e.text_content());
    let Some(json) = json else {
        leptos::logging::error!("station: this page carries no screen to follow");
        return;
    };
    let PageData { page, now } = match serde_json::from_str(&json) {
        Ok(data) => data,
        Err(e) => {
            leptos::logging::error!("station: the page's state does not read: {e}");
            return;
        }
    };
    leptos::mount::hydrate_body(move || view! { <StationScreen page now/> });
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

/// The login form.
#[cfg(feature = "ssr")]
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

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use controller_core::fleet::RoomCard;

    #[test]
    fn a_live_screen_carries_its_state_its_nonce_and_the_stations_wasm_only() {
        let card = RoomCard {
            key: "rc-1".into(),
            name: "</script><script>alert(1)</script>".into(),
            online: true,
            ..RoomCard::default()
        };
        let view = NowView {
            user: "ops".into(),
            role: "admin".into(),
            cards: vec![card.clone()],
        };
        let LiveDocument { html, nonce } = live_document("Now", StationPage::Now(view), 1_000);
        assert!(!nonce.is_empty());
        assert!(
            html.contains(&format!("<script type=\"module\" nonce=\"{nonce}\">")),
            "{html}"
        );
        assert!(html.contains("/pkg/station.js") && html.contains("/pkg/station.wasm"));
        assert!(!html.contains("roomctl.wasm"), "{html}");
        // The room's name cannot end the data block; the block reads back.
        assert_eq!(html.matches("</script>").count(), 2, "{html}");
        let start = format!("<script type=\"application/json\" id=\"{PAGE_DATA_ID}\">");
        let json = html
            .split(&start)
            .nth(1)
            .and_then(|s| s.split("</script>").next());
        let data: PageData = serde_json::from_str(json.expect("a data block")).unwrap();
        assert_eq!(data.now, 1_000);
        match data.page {
            StationPage::Now(v) => assert_eq!(v.cards, vec![card]),
            _ => panic!("not the now view"),
        }
        // The row as the browser will hydrate it, with the summary.
        assert!(html.contains("id=\"now-rc-1\""), "{html}");
        assert!(
            html.contains("1 rooms: 0 in use, 0 booked, 0 booked but not in use, 0 free"),
            "{html}"
        );
    }
}
