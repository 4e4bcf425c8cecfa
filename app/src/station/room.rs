//! One room's page: its card (kept live by the station's event stream) and
//! the room's real panel in a frame, `/room/{key}/panel/panel/{id}`: the
//! panel app itself, whose live channel the station relays to the room
//! (server/src/station/panel.rs), so templates, confirmations, faders,
//! the PIN and notices are the panel's own. A room with more than one
//! panel lists them; the one shown is chosen by `?panel=`.

use std::collections::BTreeMap;

use controller_core::engine::{ButtonState, LevelState};
use controller_core::fleet::RoomCard;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::grid::link_word;
use super::TopBar;
use crate::text::urlencode;

/// One of a room's panels, as its page lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PanelTab {
    pub id: String,
    pub name: String,
}

/// Everything a room's page shows.
#[derive(Serialize, Deserialize)]
pub struct RoomView {
    pub user: String,
    pub role: String,
    pub card: RoomCard,
    /// The room's panels (from the layout it sent).
    pub panels: Vec<PanelTab>,
    /// The panel shown (one of `panels`).
    pub shown: Option<String>,
    /// Why the room's panel cannot be shown here (offline, watched through
    /// the broker, no panel service), when it cannot.
    pub unavailable: Option<String>,
    /// The user may operate the room (a viewer sees it only).
    pub can_press: bool,
}

/// A room's live event (`room` on the event stream): the room's card, LEDs
/// and levels as they are now (the page follows the card; the stream's
/// other readers the rest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomLive {
    pub card: RoomCard,
    pub buttons: BTreeMap<String, ButtonState>,
    #[serde(default)]
    pub levels: BTreeMap<String, LevelState>,
}

#[component]
pub fn RoomPage(view: RoomView) -> impl IntoView {
    let RoomView {
        user,
        role,
        card,
        panels,
        shown,
        unavailable,
        can_press,
    } = view;
    let room = card.key.clone();
    let name = card.name.clone();
    let card = RwSignal::new(card);
    #[cfg(feature = "station")]
    super::live::follow_room(&room, card);
    let body = match unavailable {
        Some(why) => view! { <p class="st-error">{why}</p> }.into_any(),
        None => {
            let key = urlencode(&room);
            let tabs = (panels.len() > 1).then(|| {
                let links = panels
                    .iter()
                    .map(|p| {
                        let current = (shown.as_deref() == Some(p.id.as_str())).then_some("page");
                        let href = format!("/room/{key}?panel={}", urlencode(&p.id));
                        view! { <a href=href aria-current=current>{p.name.clone()}</a> }
                    })
                    .collect_view();
                view! { <nav class="st-panels" aria-label="Panels">{links}</nav> }
            });
            let frame = shown.map(|id| {
                let panel = panels
                    .iter()
                    .find(|p| p.id == id)
                    .map_or(id.clone(), |p| p.name.clone());
                let src = format!("/room/{key}/panel/panel/{}", urlencode(&id));
                let title = format!("{name}: panel {panel}");
                view! { <iframe class="st-panel-frame" src=src title=title></iframe> }
            });
            view! { {tabs}{frame} }.into_any()
        }
    };
    view! {
        <TopBar user role/>
        <main class="st-room" data-room=room.clone()>
            <h1>{move || card.with(|c| c.name.clone())}</h1>
            <p class="st-room-meta">
                <span class="st-state">{move || link_word(card.with(|c| c.online))}</span>
                " · "{move || card.with(|c| c.location.clone())}" · "
                {move || card.with(|c| format!("{} (rev {})", c.project_name, c.project_revision))}
            </p>
            {(!can_press).then(|| view! {
                <p class="st-note">"You are signed in as a viewer: the panel shows the room as it is; its buttons and faders do nothing."</p>
            })}
            {body}
        </main>
    }
}
