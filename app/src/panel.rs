//! The touch panel: a page of buttons with LEDs, tabs for the other pages.
//!
//! The server renders the current state; once hydrated, the panel opens the
//! live channel (`live.rs`) and from then on shows only what the controller
//! says: a press lights nothing locally except the pressed look of the key;
//! the LED comes back from the engine. When the channel is down the page says
//! so and greys the LEDs rather than show stale state as live.

use controller_core::engine::Snapshot;
use controller_core::link::LinkState;
use controller_core::project::{Button, ButtonKind, PanelProfile, Place};
use controller_core::protocol::panel::{ClientMessage, Severity};
use controller_core::view::PanelView;
use leptos::ev::{KeyboardEvent, PointerEvent};
use leptos::prelude::*;

use crate::icons;

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
    }
}

/// A banner the controller asked for (a device down, a failed sequence).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub key: String,
    pub severity: Severity,
    pub message: String,
}

/// A panel page: `panel` is the id from `/panel/{id}`, `None` for `/` (the
/// default panel of the port the page came from).
#[component]
pub fn PanelPage(panel: Option<String>) -> impl IntoView {
    let data = Resource::new(move || panel.clone(), crate::api::panel_view);
    view! {
        <Suspense fallback=|| view! { <div class="loading">"Loading panel…"</div> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(v) => view! { <PanelScreen view=v/> }.into_any(),
                    Err(e) => view! {
                        <div class="error-page">
                            <h1>"This panel is not available"</h1>
                            <p>{crate::api::error_text(&e)}</p>
                            <p><a rel="external" href="/">"Open the default panel"</a></p>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PanelScreen(view: PanelView) -> impl IntoView {
    let PanelView {
        controller_name,
        project_name,
        panel,
        buttons,
        levels: _,
        snapshot,
        keepalive_ms,
        panels,
        pin_required,
    } = view;
    let state = RwSignal::new(snapshot);
    let link = RwSignal::new(LinkState::Connecting);
    let page = RwSignal::new(0usize);
    let pin_entered = RwSignal::new(!pin_required);
    let notices = RwSignal::new(Vec::<Notice>::new());

    #[cfg(feature = "hydrate")]
    {
        let panel_id = panel.id.clone();
        Effect::new(move |_| {
            // Starts once; waits for the PIN pad on panels that have a PIN.
            if pin_entered.get() {
                crate::live::start(
                    panel_id.clone(),
                    crate::live::stored_pin(),
                    state,
                    link,
                    notices,
                    keepalive_ms,
                );
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = keepalive_ms;

    let link_text = move || match link.get() {
        LinkState::Connecting => "Connecting…".to_string(),
        LinkState::Live => "Live".to_string(),
        LinkState::Lost => "Connection lost – reconnecting…".to_string(),
        LinkState::Refused(why) => why,
    };
    let link_class = move || match link.get() {
        LinkState::Connecting => "link connecting",
        LinkState::Live => "link live",
        LinkState::Lost => "link lost",
        LinkState::Refused(_) => "link lost",
    };
    let not_live = move || link.get() != LinkState::Live;
    let profile = match panel.profile {
        PanelProfile::Tablet => "tablet",
        PanelProfile::Wall => "wall",
    };
    let grid_style = format!("--cols:{};--rows:{}", panel.columns, panel.rows);
    let current_panel = panel.id.clone();
    let pages = panel.pages.clone();
    let tabs = pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let icon = icons::path(p.icon.as_deref().unwrap_or("home"));
            view! {
                <button
                    type="button"
                    role="tab"
                    class="tab"
                    aria-selected=move || (page.get() == i).to_string()
                    on:click=move |_| page.set(i)
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
                    Some(view! { <PanelButton place def state link/> })
                })
                .collect_view();
            view! {
                <section
                    class="page"
                    role="tabpanel"
                    aria-label=p.title.clone()
                    data-page=p.id.clone()
                    hidden=move || page.get() != i
                    style=grid_style.clone()
                >
                    {keys}
                </section>
            }
        })
        .collect_view();
    let other_panels = panels
        .into_iter()
        .filter(|(id, _)| *id != current_panel)
        .map(|(id, name)| view! { <a class="panel-link" rel="external" href=format!("/panel/{id}")>{name}</a> })
        .collect_view();

    view! {
        <div class="panel" data-panel=panel.id.clone() data-profile=profile class:stale=not_live>
            <header class="bar">
                <div class="room">
                    <span class="room-name">{project_name}</span>
                    <span class="controller-name">{controller_name}</span>
                </div>
                <span class=link_class role="status" aria-live="polite" data-link=move || link_name(&link.get())>
                    {link_text}
                </span>
            </header>
            <Show when=move || matches!(link.get(), LinkState::Lost | LinkState::Refused(_))>
                <div class="lost-banner" role="alert">
                    {move || match link.get() {
                        LinkState::Refused(why) => why,
                        _ => "Connection to the controller lost. The lights below may be out of date; reconnecting…".to_string(),
                    }}
                </div>
            </Show>
            <div class="notices" role="status" aria-live="polite">
                <For each=move || notices.get() key=|n| (n.key.clone(), n.message.clone()) let:n>
                    <div class="notice" data-severity=match n.severity {
                        Severity::Info => "info",
                        Severity::Warning => "warning",
                        Severity::Error => "error",
                    } data-key=n.key.clone()>
                        {n.message.clone()}
                    </div>
                </For>
            </div>
            <Show when=move || !pin_entered.get()>
                <PinPad on_enter=move |pin: String| {
                    #[cfg(feature = "hydrate")]
                    crate::live::store_pin(&pin);
                    let _ = pin;
                    pin_entered.set(true);
                }/>
            </Show>
            <nav class="tabs" role="tablist">{tabs}</nav>
            <main class="pages">{sections}</main>
            <footer class="foot">{other_panels}<a class="panel-link" rel="external" href="/status">"Status"</a></footer>
        </div>
    }
}

#[component]
fn PinPad(on_enter: impl Fn(String) + Send + Sync + 'static) -> impl IntoView {
    let digits = RwSignal::new(String::new());
    let keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"];
    let on_enter = std::sync::Arc::new(on_enter);
    view! {
        <div class="pinpad" role="dialog" aria-label="Enter the panel PIN">
            <p class="pin-title">"Enter PIN"</p>
            <p class="pin-dots">{move || "•".repeat(digits.get().len())}</p>
            <div class="pin-keys">
                {keys
                    .into_iter()
                    .map(|k| {
                        let on_enter = on_enter.clone();
                        view! {
                            <button type="button" class="pin-key" on:click=move |_| match k {
                                "⌫" => digits.update(|d| { d.pop(); }),
                                "OK" => on_enter(digits.get_untracked()),
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
) -> impl IntoView {
    let id = def.id.clone();
    let current = {
        let id = id.clone();
        Memo::new(move |_| state.with(|s| s.buttons.get(&id).copied().unwrap_or_default()))
    };
    let pressing = RwSignal::new(false);
    let style = format!(
        "grid-row:{} / span {};grid-column:{} / span {}",
        place.row as u16 + 1,
        place.height,
        place.col as u16 + 1,
        place.width
    );
    let press = {
        let id = id.clone();
        move || {
            if !pressing.get_untracked() {
                pressing.set(true);
                send(ClientMessage::Press { button: id.clone() });
            }
        }
    };
    let release = {
        let id = id.clone();
        move || {
            if pressing.get_untracked() {
                pressing.set(false);
                send(ClientMessage::Release { button: id.clone() });
            }
        }
    };
    let (p1, p2) = (press.clone(), press);
    let (r1, r2, r3, r4) = (release.clone(), release.clone(), release.clone(), release);
    let icon = icons::path(def.icon.as_deref().unwrap_or(""));
    view! {
        <button
            type="button"
            class="key"
            class:pressing=move || pressing.get()
            style=style
            data-button=id
            data-kind=match def.kind {
                ButtonKind::Momentary => "momentary",
                ButtonKind::Toggle => "toggle",
                ButtonKind::Interlock => "interlock",
            }
            data-led=move || current.get().led.mode.as_str()
            data-color=move || current.get().led.color.as_str()
            aria-pressed=move || (current.get().latched || current.get().led.mode.is_lit()).to_string()
            aria-disabled=move || (link.get() != LinkState::Live).to_string()
            on:pointerdown=move |ev: PointerEvent| {
                if ev.button() == 0 {
                    p1();
                }
            }
            on:pointerup=move |_| r1()
            on:pointercancel=move |_| r2()
            on:pointerleave=move |_| r3()
            on:keydown=move |ev: KeyboardEvent| {
                if !ev.repeat() && (ev.key() == "Enter" || ev.key() == " ") {
                    ev.prevent_default();
                    p2();
                }
            }
            on:keyup=move |ev: KeyboardEvent| {
                if ev.key() == "Enter" || ev.key() == " " {
                    r4();
                }
            }
            on:contextmenu=move |ev| ev.prevent_default()
        >
            <span class="led" aria-hidden="true"></span>
            <svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d=icon/></svg>
            <span class="label">{def.label}</span>
        </button>
    }
}
