//! The touch panel: a page of buttons with LEDs, tabs for the other pages.
//!
//! The server renders the current state; the browser builds the same panel
//! in its place, opens the live channel (`live.rs`) and from then on shows
//! only what the controller says: a press lights nothing locally except the
//! pressed look of the key; the LED comes back from the engine. When the
//! channel is down the page says so and greys the LEDs rather than show
//! stale state as live. When a project is applied, the controller sends the
//! panel's new layout and the browser builds it in place of the old one
//! (keeping the page shown, the PIN entered, an open question).

use controller_core::engine::Snapshot;
use controller_core::link::LinkState;
use controller_core::project::meeting_tile as booking;
use controller_core::project::{
    format_number, Button, ButtonKind, Level, LevelKind, LevelPlace, MeetingPlace, Orientation,
    PanelProfile, Place, TextPlace, Value,
};
use controller_core::protocol::panel::{ClientMessage, MeetingChange};
use controller_core::template::{is_dynamic, render_state};
use controller_core::view::PanelView;
use leptos::either::Either;
use leptos::ev::{KeyboardEvent, PointerEvent};
use leptos::prelude::*;

use crate::icons;
use crate::notice::{Notice, Notices};

/// Sends a message on the live channel (a no-op while server-rendering).
pub(crate) fn send(message: ClientMessage) {
    #[cfg(feature = "hydrate")]
    crate::live::send(message);
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
    if let Ok(first) = layout.get_untracked() {
        Effect::new(move |_| {
            // Starts once; waits for the PIN pad on panels that have a PIN.
            if ui.pin_entered.get() {
                crate::live::start(
                    &first,
                    crate::live::stored_pin(),
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
                    if let Some(i) = crate::live::saved_page(&view.panel.id)
                        .and_then(|saved| pages.iter().position(|p| p.id == saved))
                    {
                        ui.page.set(i);
                    }
                } else if let Some(p) = pages.get(index) {
                    crate::live::save_page(&view.panel.id, &p.id);
                }
            });
        });
        crate::live::go_home_when_idle(
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

    // The browser does not hydrate the server's panel: it builds it anew in
    // its place, at once (so before anything is painted), and again for
    // each new layout. A new layout has to be built in the browser anyway;
    // hydrating as well, or updating the old layout's elements in place (a
    // reactive view), would put more copies of every view's code into the
    // wasm.
    #[cfg(not(feature = "hydrate"))]
    let root = view! { <div class="panel-root">{screen(layout.get_untracked(), ui)}</div> };
    #[cfg(feature = "hydrate")]
    let root = {
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
    };
    view! {
        <script type="application/json" id=VIEW_SCRIPT inner_html=json></script>
        {root}
        <script src="/kiosk.js" defer=true></script>
    }
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

/// The PIN keypad while no PIN is entered, or after the controller
/// refused one (a project may add or change the panel's PIN).
#[component]
fn PinGate(ui: PanelUi) -> impl IntoView {
    let PanelUi {
        link, pin_entered, ..
    } = ui;
    let pin_message = Signal::derive(move || match link.get() {
        LinkState::PinNeeded(why) => why,
        _ => String::new(),
    });
    view! {
        <Show when=move || !pin_entered.get() || matches!(link.get(), LinkState::PinNeeded(_))>
            <PinPad message=pin_message on_enter=move |pin: String| {
                #[cfg(feature = "hydrate")]
                {
                    crate::live::store_pin(&pin);
                    if pin_entered.get_untracked() {
                        crate::live::enter_pin(pin);
                    }
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = pin;
                pin_entered.set(true);
            }/>
        </Show>
    }
}

#[component]
fn PanelScreen(view: PanelView, ui: PanelUi) -> impl IntoView {
    let PanelView {
        controller_name,
        project_name,
        panel,
        buttons,
        levels,
        panels,
        ..
    } = view;
    let PanelUi {
        state,
        link,
        notices,
        page,
        confirming,
        ..
    } = ui;
    let wall = panel.profile == PanelProfile::Wall;

    let link_text = move || match link.get() {
        LinkState::Connecting => "Connecting…".to_string(),
        LinkState::Live => "Live".to_string(),
        LinkState::Lost => "Connection lost – reconnecting…".to_string(),
        LinkState::Refused(why) => why,
        LinkState::PinNeeded(_) => "PIN needed".to_string(),
    };
    let link_class = move || match link.get() {
        LinkState::Connecting | LinkState::PinNeeded(_) => "link connecting",
        LinkState::Live => "link live",
        LinkState::Lost | LinkState::Refused(_) => "link lost",
    };
    let not_live = move || link.get() != LinkState::Live;
    let profile = match panel.profile {
        PanelProfile::Tablet => "tablet",
        PanelProfile::Wall => "wall",
    };
    let grid_style = format!("--cols:{};--rows:{}", panel.columns, panel.rows);
    let current_panel = panel.id.clone();
    let pages = panel.pages.clone();
    let count = pages.len();
    let tablist = NodeRef::<leptos::html::Div>::new();
    let tabs = pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let icon = icons::path(p.icon.as_deref().unwrap_or("home"));
            // The ARIA tabs pattern: one tab in the Tab order (the shown
            // page's); the arrow keys, Home and End move between tabs and
            // show the page.
            let on_key = move |ev: KeyboardEvent| {
                let next = match ev.key().as_str() {
                    "ArrowRight" => (i + 1) % count,
                    "ArrowLeft" => (i + count - 1) % count,
                    "Home" => 0,
                    "End" => count - 1,
                    _ => return,
                };
                ev.prevent_default();
                page.set(next);
                #[cfg(feature = "hydrate")]
                if let Some(Ok(Some(tab))) = tablist
                    .get_untracked()
                    .map(|l| l.query_selector(&format!("[role=tab]:nth-child({})", next + 1)))
                {
                    if let Ok(tab) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(tab) {
                        let _ = tab.focus();
                    }
                }
            };
            view! {
                <button
                    type="button"
                    role="tab"
                    class="tab"
                    aria-controls=format!("page-{}", p.id)
                    aria-selected=move || (page.get() == i).to_string()
                    tabindex=move || if page.get() == i { "0" } else { "-1" }
                    on:click=move |_| page.set(i)
                    on:keydown=on_key
                >
                    <svg class="tab-icon" viewBox="0 0 24 24" aria-hidden="true"><path d=icon/></svg>
                    {p.title.clone()}
                </button>
            }
        })
        .collect_view();
    let sections = pages
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let keys = p
                .buttons
                .into_iter()
                .filter_map(|place| {
                    let def = buttons.get(&place.button)?.clone();
                    Some(view! { <PanelButton place def state link page=i confirming/> })
                })
                .collect_view();
            let faders = p
                .levels
                .into_iter()
                .filter_map(|place| {
                    let def = levels.get(&place.level)?.clone();
                    Some(match def.kind {
                        LevelKind::Fader => Either::Left(view! { <Fader place def state link/> }),
                        LevelKind::Meter => Either::Right(view! { <Meter place def state/> }),
                    })
                })
                .collect_view();
            let texts = p
                .texts
                .into_iter()
                .map(|place| view! { <TextTile place state/> })
                .collect_view();
            let meetings = p
                .meetings
                .into_iter()
                .map(|place| view! { <MeetingTile place state link page=i confirming/> })
                .collect_view();
            view! {
                <section
                    class="page"
                    role="tabpanel"
                    id=format!("page-{}", p.id)
                    aria-label=p.title.clone()
                    data-page=p.id.clone()
                    hidden=move || page.get() != i
                    style=grid_style.clone()
                >
                    {keys}
                    {faders}
                    {texts}
                    {meetings}
                </section>
            }
        })
        .collect_view();
    let summary = panel
        .summary
        .iter()
        .cloned()
        .map(|t| view! { <span class="summary-item">{move || state.with(|s| render_state(&t, s))}</span> })
        .collect_view();
    let has_summary = !panel.summary.is_empty();
    // A wall panel offers no link that leaves it: it hangs in a room with
    // nobody to bring it back. Tablets list the other panels and the
    // status page (which has a way back to the panel); under a base (the
    // designer's preview) only the other panels: the status page is the
    // running controller's, not the preview's.
    let footer = (!wall).then(|| {
        let base = crate::base::path();
        let other_panels = panels
            .into_iter()
            .filter(|(id, _)| *id != current_panel)
            .map(|(id, name)| view! { <a class="panel-link" rel="external" href=crate::base::href(&format!("/panel/{id}"))>{name}</a> })
            .collect_view();
        view! {
            <footer class="foot">
                {other_panels}
                {base.is_empty().then(|| view! { <a class="panel-link" rel="external" href="/status">"Status"</a> })}
            </footer>
        }
    });
    view! {
        <div class="panel" data-panel=panel.id.clone() data-profile=profile class:stale=not_live>
            <header class="bar">
                <div class="room">
                    <h1 class="room-name">{project_name}</h1>
                    <span class="controller-name">{controller_name}</span>
                </div>
                <span class=link_class role="status" aria-live="polite" data-link=move || link_name(&link.get())>
                    {link_text}
                </span>
            </header>
            {has_summary.then(|| view! { <section class="summary" aria-label="Room summary">{summary}</section> })}
            <Show when=move || matches!(link.get(), LinkState::Lost | LinkState::Refused(_))>
                <div class="lost-banner" role="alert">
                    {move || match link.get() {
                        LinkState::Refused(why) => why,
                        _ => "Connection to the controller lost. The lights below may be out of date; reconnecting…".to_string(),
                    }}
                </div>
            </Show>
            <Notices notices/>
            <PinGate ui/>
            <nav aria-label="Pages"><div class="tabs" role="tablist" node_ref=tablist>{tabs}</div></nav>
            <main class="pages">{sections}</main>
            {footer}
        </div>
    }
}

/// The PIN keypad: shown until a PIN is entered, and again after the
/// controller refused one, with its message (a wrong PIN, or how long to
/// wait after several).
#[component]
fn PinPad(
    message: Signal<String>,
    on_enter: impl Fn(String) + Send + Sync + 'static,
) -> impl IntoView {
    let digits = RwSignal::new(String::new());
    let keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"];
    let on_enter = std::sync::Arc::new(on_enter);
    view! {
        <div class="pinpad" role="dialog" aria-modal="true" aria-labelledby="pin-title">
            <p class="pin-title" id="pin-title">"Enter PIN"</p>
            <p class="pin-message" role="alert">{move || message.get()}</p>
            <p class="pin-dots" aria-hidden="true">
                {move || "•".repeat(digits.get().len())}
            </p>
            <div class="pin-keys">
                {keys
                    .into_iter()
                    .map(|k| {
                        let on_enter = on_enter.clone();
                        let label = match k {
                            "⌫" => "Delete",
                            "OK" => "OK",
                            d => d,
                        };
                        view! {
                            <button type="button" class="pin-key" aria-label=label on:click=move |_| match k {
                                "⌫" => digits.update(|d| { d.pop(); }),
                                "OK" => {
                                    let pin = digits.get_untracked();
                                    if !pin.is_empty() {
                                        digits.set(String::new());
                                        on_enter(pin);
                                    }
                                }
                                d => digits.update(|s| if s.len() < 12 { s.push_str(d) }),
                            }>{k}</button>
                        }
                    })
                    .collect_view()}
            </div>
        </div>
    }
}

#[component]
fn PanelButton(
    place: Place,
    def: Button,
    state: RwSignal<Snapshot>,
    link: RwSignal<LinkState>,
    /// Its page's position (a button may be placed on several pages).
    page: usize,
    /// The question open on the panel, if any (see [`PanelUi`]).
    confirming: RwSignal<Option<(usize, String)>>,
) -> impl IntoView {
    let id = def.id.clone();
    let current = {
        let id = id.clone();
        Memo::new(move |_| state.with(|s| s.buttons.get(&id).copied().unwrap_or_default()))
    };
    let pressing = RwSignal::new(false);
    // A `confirm` button asks first: this is the question on screen.
    let asking = {
        let id = id.clone();
        Memo::new(move |_| {
            confirming.with(|c| c.as_ref().is_some_and(|(p, b)| *p == page && *b == id))
        })
    };
    let confirm = def.confirm.clone();
    let needs_confirm = confirm.is_some();
    let style = grid_area(place.row, place.col, place.width, place.height);
    // Usable: the link is up and the button's `enabled` condition holds.
    let usable = {
        let enabled = def.enabled.clone();
        Memo::new(move |_| {
            link.get() == LinkState::Live
                && enabled
                    .as_ref()
                    .is_none_or(|c| state.with(|s| c.holds(s.variables.get(&c.variable))))
        })
    };
    // The id in a StoredValue keeps these closures `Copy`, so every event
    // handler below can hold its own copy.
    let button = StoredValue::new(id.clone());
    let press = move || {
        if !pressing.get_untracked() && usable.get_untracked() {
            pressing.set(true);
            send(ClientMessage::Press {
                button: button.get_value(),
            });
        }
    };
    let release = move || {
        if pressing.get_untracked() {
            pressing.set(false);
            send(ClientMessage::Release {
                button: button.get_value(),
            });
        }
    };
    let icon = icons::path(def.icon.as_deref().unwrap_or(""));
    // aria-pressed only where there is something latched to report.
    let latching = matches!(def.kind, ButtonKind::Toggle | ButtonKind::Interlock);
    let label = def.label.clone();
    let long = label.chars().count() > 18;
    let label_view = if is_dynamic(&label) {
        Either::Left(move || state.with(|s| render_state(&label, s)))
    } else {
        Either::Right(label)
    };
    let sublabel = def.sublabel.clone().map(|t| {
        view! { <span class="sublabel">{move || state.with(|s| render_state(&t, s))}</span> }
    });
    let key_ref = NodeRef::<leptos::html::Button>::new();
    let close = move || {
        confirming.set(None);
        #[cfg(feature = "hydrate")]
        if let Some(k) = key_ref.get_untracked() {
            let _ = k.focus();
        }
    };
    // A new layout may take the button away mid-press (the DOM goes, and
    // with it the release): release it now.
    on_cleanup(move || {
        if let (Some(true), Some(button)) = (pressing.try_get_untracked(), button.try_get_value()) {
            send(ClientMessage::Release { button });
        }
    });
    let dialog = confirm.map(|question| {
        confirm_dialog(
            format!("confirm-{id}"),
            Signal::stored(question),
            asking,
            Callback::new(move |()| close()),
            Callback::new(move |()| {
                press();
                release();
            }),
        )
    });
    view! {
        <button
            type="button"
            class="key"
            class:long=long
            class:pressing=move || pressing.get()
            node_ref=key_ref
            style=style
            data-button=id
            data-kind=match def.kind {
                ButtonKind::Momentary => "momentary",
                ButtonKind::Toggle => "toggle",
                ButtonKind::Interlock => "interlock",
            }
            data-led=move || current.get().led.mode.as_str()
            data-color=move || current.get().led.color.as_str()
            aria-pressed=move || latching.then(|| current.get().latched.to_string())
            aria-haspopup=needs_confirm.then_some("dialog")
            aria-disabled=move || (!usable.get()).to_string()
            on:pointerdown=move |ev: PointerEvent| {
                if ev.button() == 0 && !needs_confirm {
                    press();
                }
            }
            on:pointerup=move |_| release()
            on:pointercancel=move |_| release()
            on:pointerleave=move |_| release()
            on:click=move |_| {
                if needs_confirm && usable.get_untracked() {
                    confirming.set(Some((page, button.get_value())));
                }
            }
            on:keydown=move |ev: KeyboardEvent| {
                if !needs_confirm && !ev.repeat() && (ev.key() == "Enter" || ev.key() == " ") {
                    ev.prevent_default();
                    press();
                }
            }
            on:keyup=move |ev: KeyboardEvent| {
                if ev.key() == "Enter" || ev.key() == " " {
                    release();
                }
            }
            on:contextmenu=move |ev| ev.prevent_default()
        >
            <span class="led" aria-hidden="true"></span>
            <svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d=icon/></svg>
            <span class="label">{label_view}</span>
            {sublabel}
        </button>
        {dialog}
    }
}

/// The panel's one confirmation: `question` with Cancel and Confirm, shown
/// while `asking`; Confirm takes the focus, Escape or Cancel runs `close`,
/// Confirm runs `close` then `ok`.
///
/// Not generic: the keys and the meeting tile share one copy of its code
/// in the panel's wasm.
fn confirm_dialog(
    dialog_id: String,
    question: Signal<String>,
    asking: Memo<bool>,
    close: Callback<()>,
    ok: Callback<()>,
) -> impl IntoView {
    let ok_ref = NodeRef::<leptos::html::Button>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if asking.get() {
            request_animation_frame(move || {
                if let Some(b) = ok_ref.get_untracked() {
                    let _ = b.focus();
                }
            });
        }
    });
    view! {
        <Show when=move || asking.get()>
            <div class="confirm-backdrop">
                <div
                    class="confirm"
                    role="alertdialog"
                    aria-modal="true"
                    aria-labelledby=dialog_id.clone()
                    on:keydown=move |ev: KeyboardEvent| {
                        if ev.key() == "Escape" {
                            ev.prevent_default();
                            close.run(());
                        }
                    }
                >
                    <p class="confirm-question" id=dialog_id.clone()>{question}</p>
                    <div class="confirm-actions">
                        <button type="button" class="confirm-cancel" on:click=move |_| close.run(())>"Cancel"</button>
                        <button
                            type="button"
                            class="confirm-ok"
                            node_ref=ok_ref
                            on:click=move |_| {
                                close.run(());
                                ok.run(());
                            }
                        >"Confirm"</button>
                    </div>
                </div>
            </div>
        </Show>
    }
}

/// The CSS grid placement of a tile (rows and columns count from 0).
fn grid_area(row: u8, col: u8, width: u8, height: u8) -> String {
    format!(
        "grid-row:{} / span {height};grid-column:{} / span {width}",
        u16::from(row) + 1,
        u16::from(col) + 1,
    )
}

/// Where `value` sits between `min` and `max`, 0 to 1.
fn fraction(value: f64, min: f64, max: f64) -> f64 {
    if max > min {
        ((value - min) / (max - min)).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// `value` snapped to `min + n * step` and kept within the range.
fn snap(value: f64, def: &Level) -> f64 {
    let v = if def.step > 0.0 {
        def.min + ((value - def.min) / def.step).round() * def.step
    } else {
        value
    };
    v.clamp(def.min, def.max)
}

/// A percentage for a style: integer arithmetic via `format_number` (float
/// `Display` would add core's float formatting to the wasm).
fn percent(f: f64) -> String {
    format!("{}%", format_number((f * 1000.0).round() / 10.0))
}

/// The text a level shows: `-20.5 dB`.
fn level_text(value: f64, unit: &str) -> String {
    if unit.is_empty() {
        format_number(value)
    } else {
        format!("{} {unit}", format_number(value))
    }
}

/// A fader: drag (or arrow keys) to move the level; the value shown is the
/// controller's except while the pointer is down on it, when it is the
/// finger's (the controller's echoes of a drag would make it jump back), and
/// it settles to the controller's on release.
#[component]
fn Fader(
    place: LevelPlace,
    def: Level,
    state: RwSignal<Snapshot>,
    link: RwSignal<LinkState>,
) -> impl IntoView {
    let id = def.id.clone();
    let current = {
        let id = id.clone();
        let min = def.min;
        Memo::new(move |_| {
            state.with(|s| {
                s.levels
                    .get(&id)
                    .map_or((min, false), |l| (l.value, l.muted == Some(true)))
            })
        })
    };
    // The finger's value while dragging, and after release until the
    // controller reports it (or a second passes): so the fader does not
    // jump back to an older value on its way. None otherwise.
    let dragging = RwSignal::new(None::<f64>);
    // The pointer is down on the track.
    let held = StoredValue::new(false);
    Effect::new(move |_| {
        let now = current.get().0;
        if !held.get_value() && dragging.get_untracked() == Some(now) {
            dragging.set(None);
        }
    });
    // The value waiting for the next animation frame, and whether one is asked for.
    let pending = StoredValue::new(None::<f64>);
    let track = NodeRef::<leptos::html::Div>::new();
    let def = StoredValue::new(def);
    let shown = move || dragging.get().unwrap_or_else(|| current.get().0);
    let vertical = place.orientation == Orientation::Vertical;
    let send_value = {
        let id = id.clone();
        move |value: f64| {
            send(ClientMessage::SetLevel {
                level: id.clone(),
                value: Some(value),
                muted: None,
            })
        }
    };
    // Sends the latest dragged value once per animation frame.
    let schedule = {
        let send_value = send_value.clone();
        move |value: f64| {
            let first = pending.get_value().is_none();
            pending.set_value(Some(value));
            if first {
                let send_value = send_value.clone();
                request_animation_frame(move || {
                    if let Some(v) = pending.get_value() {
                        pending.set_value(None);
                        send_value(v);
                    }
                });
            }
        }
    };
    let value_at = move |ev: &PointerEvent| -> Option<f64> {
        #[cfg(feature = "hydrate")]
        {
            let el = track.get_untracked()?;
            let rect = el.get_bounding_client_rect();
            let f = if vertical {
                (rect.bottom() - f64::from(ev.client_y())) / rect.height()
            } else {
                (f64::from(ev.client_x()) - rect.left()) / rect.width()
            };
            let f = if f.is_finite() {
                f.clamp(0.0, 1.0)
            } else {
                0.0
            };
            def.with_value(|d| Some(snap(d.min + f * (d.max - d.min), d)))
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (ev, vertical, track);
            None
        }
    };
    let (s1, s2) = (schedule.clone(), schedule);
    let on_down = move |ev: PointerEvent| {
        if ev.button() != 0 || link.get_untracked() != LinkState::Live {
            return;
        }
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        if let Some(el) = track.get_untracked() {
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
        if let Some(v) = value_at(&ev) {
            held.set_value(true);
            dragging.set(Some(v));
            s1(v);
        }
    };
    let on_move = move |ev: PointerEvent| {
        if !held.get_value() {
            return;
        }
        if let Some(v) = value_at(&ev) {
            if dragging.get_untracked() != Some(v) {
                dragging.set(Some(v));
                s2(v);
            }
        }
    };
    let finish = {
        let send_value = send_value.clone();
        move || {
            if !held.get_value() {
                return;
            }
            held.set_value(false);
            if let Some(v) = dragging.get_untracked() {
                pending.set_value(None);
                send_value(v);
                if current.get_untracked().0 == v {
                    dragging.set(None);
                } else {
                    // Settles to the controller's value at the latest now.
                    set_timeout(
                        move || {
                            if !held.get_value() {
                                dragging.set(None);
                            }
                        },
                        std::time::Duration::from_secs(1),
                    );
                }
            }
        }
    };
    let (f1, f2) = (finish.clone(), finish);
    let on_key = {
        let send_value = send_value.clone();
        move |ev: KeyboardEvent| {
            let (value, step, min, max) = def.with_value(|d| {
                (
                    current.get_untracked().0,
                    if d.step > 0.0 { d.step } else { 1.0 },
                    d.min,
                    d.max,
                )
            });
            let target = match ev.key().as_str() {
                "ArrowUp" | "ArrowRight" => value + step,
                "ArrowDown" | "ArrowLeft" => value - step,
                "PageUp" => value + step * 10.0,
                "PageDown" => value - step * 10.0,
                "Home" => min,
                "End" => max,
                _ => return,
            };
            ev.prevent_default();
            let target = def.with_value(|d| snap(target, d));
            if target != value {
                send_value(target);
            }
        }
    };
    let toggle_mute = {
        let id = id.clone();
        move |_| {
            send(ClientMessage::SetLevel {
                level: id.clone(),
                value: None,
                muted: Some(!current.get_untracked().1),
            })
        }
    };
    let (label, unit, min, max, has_mute) =
        def.with_value(|d| (d.label.clone(), d.unit.clone(), d.min, d.max, d.mute));
    let unit2 = unit.clone();
    let pos = move || {
        let f = fraction(shown(), min, max);
        format!("--pos:{}", percent(f))
    };
    view! {
        <div
            class="fader"
            class:horizontal=!vertical
            class:dragging=move || dragging.get().is_some()
            class:muted=move || current.get().1
            style=grid_area(place.row, place.col, place.width, place.height)
            data-level=id.clone()
        >
            <span class="fader-label" id=format!("fader-{id}")>{label.clone()}</span>
            <div
                class="fader-track"
                node_ref=track
                role="slider"
                tabindex="0"
                aria-labelledby=format!("fader-{id}")
                aria-orientation=if vertical { "vertical" } else { "horizontal" }
                aria-valuemin=format_number(min)
                aria-valuemax=format_number(max)
                aria-valuenow=move || format_number(shown())
                aria-valuetext=move || level_text(shown(), &unit)
                aria-disabled=move || (link.get() != LinkState::Live).to_string()
                style=pos
                on:pointerdown=on_down
                on:pointermove=on_move
                on:pointerup=move |_| f1()
                on:pointercancel=move |_| f2()
                on:keydown=on_key
            >
                <div class="fader-fill" aria-hidden="true"></div>
                <div class="fader-thumb" aria-hidden="true"></div>
            </div>
            <span class="fader-value" aria-hidden="true">{move || level_text(shown(), &unit2)}</span>
            {has_mute.then(|| view! {
                <button
                    type="button"
                    class="fader-mute"
                    aria-pressed=move || current.get().1.to_string()
                    aria-disabled=move || (link.get() != LinkState::Live).to_string()
                    on:click=toggle_mute
                >
                    {format!("Mute {label}")}
                </button>
            })}
        </div>
    }
}

/// A meter: a read-only bar.
#[component]
fn Meter(place: LevelPlace, def: Level, state: RwSignal<Snapshot>) -> impl IntoView {
    let id = def.id.clone();
    let value = {
        let id = id.clone();
        let min = def.min;
        Memo::new(move |_| state.with(|s| s.levels.get(&id).map_or(min, |l| l.value)))
    };
    let (min, max) = (def.min, def.max);
    let unit = def.unit.clone();
    let unit2 = def.unit.clone();
    let vertical = place.orientation == Orientation::Vertical;
    view! {
        <div
            class="meter"
            class:horizontal=!vertical
            style=grid_area(place.row, place.col, place.width, place.height)
            data-level=id.clone()
        >
            <span class="fader-label" id=format!("meter-{id}")>{def.label}</span>
            <div
                class="meter-track"
                role="meter"
                aria-labelledby=format!("meter-{id}")
                aria-valuemin=format_number(min)
                aria-valuemax=format_number(max)
                aria-valuenow=move || format_number(value.get())
                aria-valuetext=move || level_text(value.get(), &unit)
                style=move || format!("--pos:{}", percent(fraction(value.get(), min, max)))
            >
                <div class="fader-fill" aria-hidden="true"></div>
            </div>
            <span class="fader-value" aria-hidden="true">{move || level_text(value.get(), &unit2)}</span>
        </div>
    }
}

/// A text tile: a template over the variables and levels.
#[component]
fn TextTile(place: TextPlace, state: RwSignal<Snapshot>) -> impl IntoView {
    let text = place.text.clone();
    view! {
        <div class="text-tile" style=grid_area(place.row, place.col, place.width, place.height)>
            {move || state.with(|s| render_state(&text, s))}
        </div>
    }
}

/// The meeting tile: the meeting on now (title and organiser as the
/// room's privacy setting allows, its times and the minutes left) or
/// "Free until 14:00" / "Free all day", the next meeting, and "End
/// meeting" / "Extend" when the room's calendar account may change it,
/// each confirmed first. Everything comes from the booking variables the
/// calendar service sets (`controller_core::project::meeting_tile`); the
/// lines are worded there, so the tile is a few text nodes.
#[component]
fn MeetingTile(
    place: MeetingPlace,
    state: RwSignal<Snapshot>,
    link: RwSignal<LinkState>,
    page: usize,
    confirming: RwSignal<Option<(usize, String)>>,
) -> impl IntoView {
    let text = move |name: &'static str| {
        move || {
            state.with(|s| {
                s.variables
                    .get(name)
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            })
        }
    };
    let flag = move |name: &str| state.with(|s| s.variables.get(name) == Some(&Value::Bool(true)));
    let busy = move || flag(booking::BUSY);
    let minutes = text(booking::EXTEND_MINUTES);
    // One action of the tile: a key, and the question it asks first.
    let action = move |change: MeetingChange, can: &'static str, question: &'static str| {
        let key = match change {
            MeetingChange::End => "meeting:end",
            MeetingChange::Extend => "meeting:extend",
        };
        let asking = Memo::new(move |_| {
            confirming.with(|c| c.as_ref().is_some_and(|(p, b)| *p == page && b == key))
        });
        let key_ref = NodeRef::<leptos::html::Button>::new();
        let words =
            move |template: &'static str| Signal::derive(move || template.replace('#', &minutes()));
        view! {
            <button
                type="button"
                class="meeting-action"
                data-change=key
                node_ref=key_ref
                hidden=move || !flag(can)
                aria-haspopup="dialog"
                aria-disabled=move || (link.get() != LinkState::Live).to_string()
                on:click=move |_| {
                    if link.get_untracked() == LinkState::Live {
                        confirming.set(Some((page, key.to_string())));
                    }
                }
            >{words(match change {
                MeetingChange::End => "End meeting",
                MeetingChange::Extend => "Extend # min",
            })}</button>
            {confirm_dialog(
                format!("confirm-{}", &key[8..]),
                words(question),
                asking,
                Callback::new(move |()| {
                    confirming.set(None);
                    #[cfg(feature = "hydrate")]
                    if let Some(k) = key_ref.get_untracked() {
                        let _ = k.focus();
                    }
                }),
                Callback::new(move |()| send(ClientMessage::Meeting { change })),
            )}
        }
    };
    view! {
        <section
            class="meeting-tile"
            aria-label="Meeting"
            style=grid_area(place.row, place.col, place.width, place.height)
            data-busy=move || busy().to_string()
        >
            <p class="meeting-now">{move || if busy() { "In use" } else { "Free" }}</p>
            <p class="meeting-title">{text(booking::TITLE)}</p>
            <p class="meeting-organizer">{text(booking::ORGANIZER)}</p>
            <p class="meeting-status">{text(booking::STATUS)}</p>
            <p class="meeting-next">{text(booking::NEXT)}</p>
            <div class="meeting-actions">
                {action(MeetingChange::End, booking::CAN_END, "End the meeting now?")}
                {action(MeetingChange::Extend, booking::CAN_EXTEND, "Extend the meeting by # minutes?")}
            </div>
        </section>
    }
}
