//! One layout of the panel on screen: the room's bar, the summary, the
//! connection banner, the page tabs, the pages with their tiles, and the
//! links to the other panels.

use std::collections::BTreeMap;

use controller_core::engine::Snapshot;
use controller_core::link::LinkState;
use controller_core::project::{Button, Level, LevelKind, Page, PanelProfile};
use controller_core::template::render_state;
use controller_core::view::PanelView;
use leptos::either::Either;
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;

use super::fader::Fader;
use super::key::PanelButton;
use super::pin::PinGate;
use super::tiles::{MeetingTile, Meter, TextTile};
use super::{link_name, PanelUi};
use crate::icons;
use crate::notice::Notices;

#[component]
pub(super) fn PanelScreen(view: PanelView, ui: PanelUi) -> impl IntoView {
    let PanelView {
        controller_name,
        project_name,
        panel,
        buttons,
        levels,
        panels,
        ..
    } = view;
    let link = ui.link;
    let wall = panel.profile == PanelProfile::Wall;
    let profile = match panel.profile {
        PanelProfile::Tablet => "tablet",
        PanelProfile::Wall => "wall",
    };
    let not_live = move || link.get() != LinkState::Live;
    let grid_style = format!("--cols:{};--rows:{}", panel.columns, panel.rows);
    let tabs = page_tabs(&panel.pages, ui.page);
    let sections = panel
        .pages
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, p)| page_section(i, p, &buttons, &levels, &grid_style, ui))
        .collect_view();
    let summary = summary_bar(&panel.summary, ui.state);
    // A wall panel offers no link that leaves it: it hangs in a room with
    // nobody to bring it back.
    let footer = (!wall).then(|| panel_footer(panels, &panel.id));
    view! {
        <div class="panel" data-panel=panel.id.clone() data-profile=profile class:stale=not_live>
            {room_bar(project_name, controller_name, link)}
            {summary}
            <Show when=move || matches!(link.get(), LinkState::Lost | LinkState::Refused(_))>
                <div class="lost-banner" role="alert">
                    {move || match link.get() {
                        LinkState::Refused(why) => why,
                        _ => "Connection to the controller lost. The lights below may be out of date; reconnecting…".to_string(),
                    }}
                </div>
            </Show>
            <Notices notices=ui.notices/>
            <PinGate ui/>
            {tabs}
            <main class="pages">{sections}</main>
            {footer}
        </div>
    }
}

/// The bar at the top: the room, the controller, and the link's state.
fn room_bar(
    project_name: String,
    controller_name: String,
    link: RwSignal<LinkState>,
) -> impl IntoView {
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
    view! {
        <header class="bar">
            <div class="room">
                <h1 class="room-name">{project_name}</h1>
                <span class="controller-name">{controller_name}</span>
            </div>
            <span class=link_class role="status" aria-live="polite" data-link=move || link_name(&link.get())>
                {link_text}
            </span>
        </header>
    }
}

/// The page tabs: the ARIA tabs pattern, one tab in the Tab order (the
/// shown page's); the arrow keys, Home and End move between tabs and show
/// the page.
fn page_tabs(pages: &[Page], page: RwSignal<usize>) -> impl IntoView {
    let count = pages.len();
    let tablist = NodeRef::<leptos::html::Div>::new();
    let tabs = pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let icon = icons::path(p.icon.as_deref().unwrap_or("home"));
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
    view! { <nav aria-label="Pages"><div class="tabs" role="tablist" node_ref=tablist>{tabs}</div></nav> }
}

/// Page `i`: its keys, faders and meters, texts and meeting tiles on the
/// panel's grid, shown while it is the page chosen.
fn page_section(
    i: usize,
    p: Page,
    buttons: &BTreeMap<String, Button>,
    levels: &BTreeMap<String, Level>,
    grid_style: &str,
    ui: PanelUi,
) -> impl IntoView {
    let PanelUi {
        state,
        link,
        page,
        confirming,
        ..
    } = ui;
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
            style=grid_style.to_string()
        >
            {keys}
            {faders}
            {texts}
            {meetings}
        </section>
    }
}

/// The summary bar: the panel's templates side by side above the pages.
fn summary_bar(summary: &[String], state: RwSignal<Snapshot>) -> impl IntoView {
    let items = summary
        .iter()
        .cloned()
        .map(|t| view! { <span class="summary-item">{move || state.with(|s| render_state(&t, s))}</span> })
        .collect_view();
    (!summary.is_empty())
        .then(|| view! { <section class="summary" aria-label="Room summary">{items}</section> })
}

/// A tablet's footer: the other panels and the status page (which has a
/// way back to the panel); under a base (the designer's preview) only the
/// other panels: the status page is the running controller's, not the
/// preview's.
fn panel_footer(panels: Vec<(String, String)>, current: &str) -> impl IntoView {
    let base = crate::base::path();
    let other_panels = panels
        .into_iter()
        .filter(|(id, _)| id != current)
        .map(|(id, name)| view! { <a class="panel-link" rel="external" href=crate::base::href(&format!("/panel/{id}"))>{name}</a> })
        .collect_view();
    view! {
        <footer class="foot">
            {other_panels}
            {base.is_empty().then(|| view! { <a class="panel-link" rel="external" href="/status">"Status"</a> })}
        </footer>
    }
}
