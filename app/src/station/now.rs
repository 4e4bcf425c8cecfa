//! The building's day at a glance: every room the station watches, one
//! row each, with what it is doing now (booked or free, in use or not,
//! the meeting on as the room shows it, until when, the next meeting),
//! the rooms booked and left empty first (`controller_core::fleet::now`:
//! the order and the summary, the same on the server and in the browser).
//! In the browser the rows follow the station's event stream and move to
//! their place as rooms change.

use std::collections::BTreeMap;

use controller_core::fleet::{now, RoomCard};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::grid::{flag, link_word};
use super::TopBar;

/// Everything the now view shows.
#[derive(Serialize, Deserialize)]
pub struct NowView {
    pub user: String,
    pub role: String,
    /// Every room, in any order.
    pub cards: Vec<RoomCard>,
}

#[component]
pub fn NowPage(view: NowView) -> impl IntoView {
    let NowView { user, role, cards } = view;
    let keys = cards
        .iter()
        .map(|c| c.key.clone())
        .collect::<Vec<_>>()
        .join(",");
    let rooms: BTreeMap<String, RwSignal<RoomCard>> = cards
        .into_iter()
        .map(|c| (c.key.clone(), RwSignal::new(c)))
        .collect();
    #[cfg(feature = "station")]
    super::live::follow_cards(&keys, rooms.values().copied().collect(), None);
    let rooms = StoredValue::new(rooms);
    // Every room as it is now: the order and the summary follow each change.
    let all = move || rooms.with_value(|r| r.values().map(|c| c.get()).collect::<Vec<RoomCard>>());
    let order = move || {
        let mut cards = all();
        now::order(&mut cards);
        cards.into_iter().map(|c| c.key).collect::<Vec<String>>()
    };
    let row = move |key: String| {
        let card = rooms.with_value(|r| r.get(&key).copied());
        card.map(|card| view! { <NowRow card/> })
    };
    view! {
        <TopBar user role/>
        <main class="st-now-page">
            <h1>"Now"</h1>
            <p class="st-now-summary" aria-live="polite">{move || now::summary(&all())}</p>
            <div class="st-scroll" role="region" tabindex="0" aria-label="Every room now">
            <table class="st-table st-now" data-keys=keys>
                <thead><tr>
                    <th scope="col">"Room"</th>
                    <th scope="col">"Location"</th>
                    <th scope="col">"Link"</th>
                    <th scope="col">"Now"</th>
                    <th scope="col">"Meeting"</th>
                    <th scope="col">"Next"</th>
                </tr></thead>
                <tbody><For each=order key=|k| k.clone() children=row/></tbody>
            </table>
            </div>
        </main>
    }
}

/// One room's row, following `card`.
#[component]
fn NowRow(card: RwSignal<RoomCard>) -> impl IntoView {
    let key = card.with_untracked(|c| c.key.clone());
    let text = move |f: fn(&RoomCard) -> String| move || card.with(f);
    view! {
        <tr id=format!("now-{key}") data-key=key.clone()
            data-booked=move || flag(card.with(|c| c.day.booked))
            data-in-use=move || flag(card.with(|c| c.day.in_use))
            class=move || link_word(card.with(|c| c.online))>
            <th scope="row"><a href=format!("/room/{key}") class="st-name">{text(|c| c.name.clone())}</a></th>
            <td class="st-location">{text(|c| c.location.clone())}</td>
            <td class="st-state">{move || link_word(card.with(|c| c.online))}</td>
            <td class="st-day">{text(|c| c.day.label.clone())}</td>
            <td class="st-meeting">{text(|c| c.day.meeting.clone())}</td>
            <td class="st-next">{text(|c| c.day.next.clone())}</td>
        </tr>
    }
}
