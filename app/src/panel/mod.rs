//! The touch panel: a page of buttons with LEDs, tabs for the other pages.
//!
//! The server renders the current state; the browser builds the same panel
//! in its place, opens the live channel (`panel_channel.rs`) and from then on shows
//! only what the controller says: a press lights nothing locally except the
//! pressed look of the key; the LED comes back from the engine. When the
//! channel is down the page says so and greys the LEDs rather than show
//! stale state as live. When a project is applied, the controller sends the
//! panel's new layout and the browser builds it in place of the old one
//! (keeping the page shown, the PIN entered, an open question).

mod confirm;
mod fader;
mod key;
mod pin;
mod screen;
mod tiles;

use controller_core::engine::Snapshot;
use controller_core::link::LinkState;
use controller_core::protocol::panel::ClientMessage;
use controller_core::view::PanelView;
use leptos::either::Either;
use leptos::prelude::*;

use crate::notice::Notice;
use pin::PinGate;
use screen::PanelScreen;

/// Sends a message on the live channel (a no-op while server-rendering).
pub(crate) fn send(message: ClientMessage) {
    #[cfg(feature = "hydrate")]
    crate::panel_channel::send(message);
    #[cfg(not(feature = "hydrate"))]
    let _ = message;
}

/// The link state as a `data-link` value (no `Debug` + `to_lowercase`:
/// that links Unicode case tables into the wasm).
fn link_name(state: &LinkState) -> &'static str {
    match state {
        LinkState::Connecting => "connecting",
        LinkState::Live => "live",
        LinkState::Lost => "lost",
        LinkState::Refused(_) => "refused",
        LinkState::PinNeeded(_) => "pin",
    }
}

/// The id of the `<script type="application/json">` that carries the
/// panel's view (layout and state) in the page.
const VIEW_SCRIPT: &str = "panel-view";

/// The page data: the panel's view (or why there is none) and the JSON the
/// page carries it in. The server computes it and writes the JSON into the
/// page; the browser reads that JSON back before it hydrates, so both
/// render the same thing synchronously.
///
/// Not a Leptos resource: a resource needs `<Suspense>`, whose asynchronous
/// hydration doubles the code of every view inside it in the wasm (about
/// 25 KiB gzipped for the panel), and not a server function: links between
/// screens are full page loads, so the browser never loads another panel's
/// view by itself; from then on the live channel carries every change.
fn page_data(panel: Option<String>) -> (Result<PanelView, String>, String) {
    #[cfg(feature = "ssr")]
    {
        let backend = expect_context::<crate::backend::Backend>();
        let data = backend.panel_view(panel.as_deref());
        // `<` only occurs inside JSON strings, where `\u003c` means the
        // same: so no `</script>` can end the element early.
        let json = serde_json::to_string(&data)
            .unwrap_or_default()
            .replace('<', "\\u003c");
        (data, json)
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = panel;
        let json = document()
            .get_element_by_id(VIEW_SCRIPT)
            .and_then(|e| e.text_content())
            .unwrap_or_default();
        let data = serde_json::from_str::<Result<PanelView, String>>(&json).unwrap_or_else(|_| {
            Err("This panel's layout could not be read; reload the page.".to_string())
        });
        (data, json)
    }
}

/// The panel's view as a page of this panel carries it (what
/// [`page_data`] wrote), or `None` when `html` carries none that reads: the
/// central station shows a room's real panel from the view of the room's
/// own page (server/src/station/panel.rs), so the writer and this reader
/// stay in one place.
#[cfg(feature = "ssr")]
pub fn view_in_page(html: &str) -> Option<Result<PanelView, String>> {
    let (_, after) = html.split_once(&format!("id=\"{VIEW_SCRIPT}\""))?;
    let (_, body) = after.split_once('>')?;
    let (json, _) = body.split_once("</script>")?;
    serde_json::from_str(json).ok()
}

/// What outlives one layout: the signals the live channel writes and the
/// person's place on the panel. A new layout (a project was applied)
/// renders [`PanelScreen`] anew with these, so the page shown, the PIN
/// entered and an open question carry over.
#[derive(Clone, Copy)]
struct PanelUi {
    state: RwSignal<Snapshot>,
    link: RwSignal<LinkState>,
    notices: RwSignal<Vec<Notice>>,
    /// The page shown, by position.
    page: RwSignal<usize>,
    pin_entered: RwSignal<bool>,
    /// The `confirm` question open: the page and the button it is for.
    confirming: RwSignal<Option<(usize, String)>>,
}

/// A panel page: `panel` is the id from `/panel/{id}`, `None` for `/` (the
/// default panel of the port the page came from).
#[component]
pub fn PanelPage(panel: Option<String>) -> impl IntoView {
    // Opened at `/`: the port's default panel, whichever it is.
    #[cfg(feature = "hydrate")]
    let at_default = panel.is_none();
    let (data, json) = page_data(panel);
    let ui = PanelUi {
        state: RwSignal::new(
            data.as_ref()
                .map(|v| v.snapshot.clone())
                .unwrap_or_default(),
        ),
        link: RwSignal::new(LinkState::Connecting),
        notices: RwSignal::new(Vec::new()),
        page: RwSignal::new(0),
        pin_entered: RwSignal::new(data.as_ref().map_or(true, |v| !v.pin_required)),
        confirming: RwSignal::new(None),
    };
    let layout = RwSignal::new(data);

    #[cfg(feature = "hydrate")]
    follow_live(layout, ui, at_default);
    let root = layout_root(layout, ui);
    view! {
        <script type="application/json" id=VIEW_SCRIPT inner_html=json></script>
        {root}
        <script src="/kiosk.js" defer=true></script>
    }
}

/// In the browser: the live channel (started once the PIN is entered, on
/// panels with one), the page shown remembered per panel for this tab, and
/// the way home when the panel is left alone.
#[cfg(feature = "hydrate")]
fn follow_live(layout: RwSignal<Result<PanelView, String>>, ui: PanelUi, at_default: bool) {
    let Ok(first) = layout.get_untracked() else {
        return;
    };
    Effect::new(move |_| {
        // Starts once; waits for the PIN pad on panels that have a PIN.
        if ui.pin_entered.get() {
            crate::panel_channel::start(
                &first,
                crate::panel_channel::stored_pin(),
                ui.state,
                ui.link,
                ui.notices,
                move |new| {
                    // A page at `/` whose panel is gone follows the
                    // port's default panel: the page is loaded anew.
                    if at_default && new.is_err() {
                        let _ = window().location().reload();
                    } else {
                        show_layout(layout, ui, new);
                    }
                },
            );
        }
    });
    // The page shown is remembered per panel for this tab: a reload
    // opens on it (and the designer's preview picks its page so).
    Effect::new(move |done: Option<()>| {
        let index = ui.page.get();
        layout.with_untracked(|l| {
            let Ok(view) = l else { return };
            let pages = &view.panel.pages;
            if done.is_none() {
                if let Some(i) = crate::panel_channel::saved_page(&view.panel.id)
                    .and_then(|saved| pages.iter().position(|p| p.id == saved))
                {
                    ui.page.set(i);
                }
            } else if let Some(p) = pages.get(index) {
                crate::panel_channel::save_page(&view.panel.id, &p.id);
            }
        });
    });
    crate::panel_channel::go_home_when_idle(
        move || {
            layout.with_untracked(|l| {
                let secs = l.as_ref().ok()?.panel.idle_secs?;
                Some(u64::from(secs) * 1000)
            })
        },
        move || {
            if ui.page.get_untracked() != 0 {
                ui.page.set(0);
            }
            ui.confirming.set(None);
        },
    );
}

/// Where the layout is shown.
///
/// The browser does not hydrate the server's panel: it builds it anew in
/// its place, at once (so before anything is painted), and again for
/// each new layout. A new layout has to be built in the browser anyway;
/// hydrating as well, or updating the old layout's elements in place (a
/// reactive view), would put more copies of every view's code into the
/// wasm.
#[cfg(not(feature = "hydrate"))]
fn layout_root(layout: RwSignal<Result<PanelView, String>>, ui: PanelUi) -> impl IntoView {
    view! { <div class="panel-root">{screen(layout.get_untracked(), ui)}</div> }
}

/// Where the layout is shown: built anew in the browser for each layout
/// (see the server's version above).
#[cfg(feature = "hydrate")]
fn layout_root(layout: RwSignal<Result<PanelView, String>>, ui: PanelUi) -> impl IntoView {
    let root = NodeRef::<leptos::html::Div>::new();
    let mut mounted: Option<Box<dyn std::any::Any>> = None;
    Effect::new(move |_| {
        let shown = layout.get();
        let Some(el) = root.get() else { return };
        // The key with the keyboard focus gets it back in the new layout.
        let focused = document()
            .active_element()
            .and_then(|e| e.get_attribute("data-button"));
        // Unmounting the old layout disposes of it (and releases a
        // button held down on it).
        drop(mounted.take());
        el.set_inner_html("");
        let handle = leptos::mount::mount_to(el.clone().into(), move || screen(shown, ui));
        mounted = Some(Box::new(handle));
        if let Some(Ok(Some(key))) = focused
            .map(|id| el.query_selector(&format!(".page:not([hidden]) [data-button=\"{id}\"]")))
        {
            if let Ok(key) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(key) {
                let _ = key.focus();
            }
        }
    });
    view! { <div class="panel-root" node_ref=root></div> }
}

/// The panel of `layout`, or why there is none.
fn screen(layout: Result<PanelView, String>, ui: PanelUi) -> impl IntoView {
    match layout {
        Ok(view) => Either::Left(view! { <PanelScreen view ui/> }),
        Err(why) => Either::Right(view! {
            <main class="error-page">
                <h1>"This panel is not available"</h1>
                <p>{why}</p>
                {(ui.link.get_untracked() == LinkState::Live).then(|| view! {
                    <p>"It comes back here by itself when the controller runs a project with it."</p>
                })}
                <p><a rel="external" href=crate::base::href("/")>"Open the default panel"</a></p>
            </main>
            <PinGate ui/>
        }),
    }
}

/// Shows `new` in place of the layout shown: the same page if the new
/// layout still has it (by id), else its first; an open question only if
/// its button is still on that page and still asks.
#[cfg(feature = "hydrate")]
fn show_layout(
    layout: RwSignal<Result<PanelView, String>>,
    ui: PanelUi,
    new: Result<PanelView, String>,
) {
    if let Ok(view) = &new {
        let shown = layout.with_untracked(|old| {
            let old = old.as_ref().ok()?;
            Some(old.panel.pages.get(ui.page.get_untracked())?.id.clone())
        });
        let page = shown
            .and_then(|id| view.panel.pages.iter().position(|p| p.id == id))
            .unwrap_or(0);
        let still_asks = ui.confirming.with_untracked(|c| {
            c.as_ref().is_some_and(|(_, button)| {
                view.buttons
                    .get(button)
                    .is_some_and(|b| b.confirm.is_some())
                    && view.panel.pages[page]
                        .buttons
                        .iter()
                        .any(|place| place.button == *button)
            })
        });
        if still_asks {
            ui.confirming.update(|c| {
                if let Some((p, _)) = c {
                    *p = page;
                }
            });
        } else {
            ui.confirming.set(None);
        }
        ui.page.set(page);
    } else {
        ui.confirming.set(None);
    }
    layout.set(new);
}

/// The CSS grid placement of a tile (rows and columns count from 0).
fn grid_area(row: u8, col: u8, width: u8, height: u8) -> String {
    format!(
        "grid-row:{} / span {height};grid-column:{} / span {width}",
        u16::from(row) + 1,
        u16::from(col) + 1,
    )
}
