//! The room grid: a card per room (name, location, online, project, lit
//! buttons, faults, last seen, alerts), a search box and filters, one page
//! of cards at a time so a thousand rooms stay as quick as ten. In the
//! browser each card and the "N of M rooms online" follow the station's
//! event stream.

use controller_core::fleet::{CardFilter, RoomCard};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::TopBar;
use crate::time_ago::TimeAgo;

/// Everything the grid page shows.
#[derive(Serialize, Deserialize)]
pub struct GridView {
    pub user: String,
    pub role: String,
    pub filter: CardFilter,
    pub cards: Vec<RoomCard>,
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    pub online: usize,
    pub locations: Vec<String>,
}

/// The grid's link to page `p` of the same filter.
fn page_link(f: &CardFilter, p: usize) -> String {
    format!(
        "/?search={}&location={}{}{}&page={p}",
        crate::text::urlencode(&f.search),
        crate::text::urlencode(&f.location),
        if f.offline { "&offline=true" } else { "" },
        if f.alerts { "&alerts=true" } else { "" },
    )
}

#[component]
pub fn GridPage(view: GridView) -> impl IntoView {
    let GridView {
        user,
        role,
        filter,
        cards,
        page,
        pages,
        total,
        online,
        locations,
    } = view;
    let keys = cards
        .iter()
        .map(|c| c.key.clone())
        .collect::<Vec<_>>()
        .join(",");
    let cards: Vec<RwSignal<RoomCard>> = cards.into_iter().map(RwSignal::new).collect();
    let counts = RwSignal::new((online, total));
    #[cfg(feature = "station")]
    super::live::follow_cards(&keys, cards.clone(), Some(counts));
    let (prev, next) = (
        page_link(&filter, page.saturating_sub(1)),
        page_link(&filter, page + 1),
    );
    view! {
        <TopBar user role/>
        <main class="st-grid-page">
            <h1>"Rooms"</h1>
            <form class="st-filters" method="get" action="/">
                <input type="search" name="search" placeholder="Search rooms" aria-label="Search rooms" value=filter.search.clone()/>
                <select name="location" aria-label="Location">
                    <option value="">"All locations"</option>
                    {locations.into_iter().map(|l| {
                        let selected = l == filter.location;
                        view! { <option value=l.clone() selected=selected>{l.clone()}</option> }
                    }).collect_view()}
                </select>
                <label><input type="checkbox" name="offline" value="true" checked=filter.offline/>" Offline"</label>
                <label><input type="checkbox" name="alerts" value="true" checked=filter.alerts/>" With alerts"</label>
                <button type="submit">"Filter"</button>
            </form>
            <p class="st-summary">{move || {
                let (online, total) = counts.get();
                format!("{online} of {total} rooms online")
            }}</p>
            <ul class="st-grid" data-keys=keys>
                {cards.into_iter().map(|card| view! { <Card card/> }).collect_view()}
            </ul>
            <nav class="st-pages" aria-label="Pages">
                {(page > 0).then(|| view! { <a href=prev.clone()>"Previous"</a> })}
                <span>{format!("page {} of {}", page + 1, pages.max(1))}</span>
                {(page + 1 < pages).then(|| view! { <a href=next.clone()>"Next"</a> })}
            </nav>
        </main>
    }
}

/// `true`, `false` or `unknown`, for a `data-` attribute.
pub(super) fn flag(b: Option<bool>) -> &'static str {
    b.map_or("unknown", |b| if b { "true" } else { "false" })
}

/// "online" or "offline".
pub(super) fn link_word(online: bool) -> &'static str {
    if online {
        "online"
    } else {
        "offline"
    }
}

/// One room's card, following `card`.
#[component]
fn Card(card: RwSignal<RoomCard>) -> impl IntoView {
    let key = card.with_untracked(|c| c.key.clone());
    let text = move |f: fn(&RoomCard) -> String| move || card.with(f);
    view! {
        <li class=move || format!("st-card {}", link_word(card.with(|c| c.online)))
            id=format!("card-{key}") data-key=key.clone()>
            <a href=format!("/room/{key}") class="st-name">{text(|c| c.name.clone())}</a>
            <span class="st-location">{text(|c| c.location.clone())}</span>
            <span class="st-state">{move || link_word(card.with(|c| c.online))}</span>
            <span class="st-day" data-booked=move || flag(card.with(|c| c.day.booked))>{text(|c| c.day.label.clone())}</span>
            <span class="st-project">{text(|c| if c.project_name.is_empty() {
                String::new()
            } else {
                format!("{} (rev {})", c.project_name, c.project_revision)
            })}</span>
            <span class="st-lit">{text(|c| c.lit.join(", "))}</span>
            <span class="st-devices">{text(|c| c.devices.join("; "))}</span>
            <span class="st-faults">{text(|c| if c.faults.is_empty() { String::new() } else { format!("offline: {}", c.faults.join(", ")) })}</span>
            <span class="st-alerts">{text(|c| if c.alerts > 0 { format!("{} alert(s)", c.alerts) } else { String::new() })}</span>
            <span class="st-seen" data-seen=move || card.with(|c| c.last_seen)><TimeAgo then=Signal::derive(move || card.with(|c| c.last_seen))/></span>
            <span class="st-problem">{text(|c| c.problem.clone())}</span>
        </li>
    }
}
