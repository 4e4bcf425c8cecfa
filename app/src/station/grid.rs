//! The room grid: a card per room (name, location, online, project, lit
//! buttons, faults, last seen, alerts), a search box and filters, one page
//! of cards at a time so a thousand rooms stay as quick as ten.

use controller_core::fleet::{CardFilter, RoomCard};
use leptos::prelude::*;

use super::{ago, TopBar};

/// Everything the grid page shows.
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
    pub now: u64,
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
        now,
    } = view;
    let keys = cards
        .iter()
        .map(|c| c.key.clone())
        .collect::<Vec<_>>()
        .join(",");
    let link = {
        let f = filter.clone();
        move |p: usize| {
            format!(
                "/?search={}&location={}{}{}&page={p}",
                crate::text::urlencode(&f.search),
                crate::text::urlencode(&f.location),
                if f.offline { "&offline=true" } else { "" },
                if f.alerts { "&alerts=true" } else { "" },
            )
        }
    };
    let (prev, next) = (link(page.saturating_sub(1)), link(page + 1));
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
            <p class="st-summary">{format!("{online} of {total} rooms online")}</p>
            <ul class="st-grid" data-keys=keys>
                {cards.into_iter().map(|c| view! { <Card card=c now/> }).collect_view()}
            </ul>
            <nav class="st-pages" aria-label="Pages">
                {(page > 0).then(|| view! { <a href=prev.clone()>"Previous"</a> })}
                <span>{format!("page {} of {}", page + 1, pages.max(1))}</span>
                {(page + 1 < pages).then(|| view! { <a href=next.clone()>"Next"</a> })}
            </nav>
        </main>
    }
}

#[component]
fn Card(card: RoomCard, now: u64) -> impl IntoView {
    let class = if card.online {
        "st-card online"
    } else {
        "st-card offline"
    };
    let href = format!("/room/{}", card.key);
    let project = if card.project_name.is_empty() {
        String::new()
    } else {
        format!("{} (rev {})", card.project_name, card.project_revision)
    };
    view! {
        <li class=class id=format!("card-{}", card.key) data-key=card.key.clone()>
            <a href=href class="st-name">{card.name.clone()}</a>
            <span class="st-location">{card.location.clone()}</span>
            <span class="st-state">{if card.online { "online" } else { "offline" }}</span>
            <span class="st-day" data-booked=card.day.booked.map_or("unknown", |b| if b { "true" } else { "false" })>{card.day.label.clone()}</span>
            <span class="st-project">{project}</span>
            <span class="st-lit">{card.lit.join(", ")}</span>
            <span class="st-devices">{card.devices.join("; ")}</span>
            <span class="st-faults">{if card.faults.is_empty() { String::new() } else { format!("offline: {}", card.faults.join(", ")) }}</span>
            <span class="st-alerts">{if card.alerts > 0 { format!("{} alert(s)", card.alerts) } else { String::new() }}</span>
            <span class="st-seen" data-seen=card.last_seen>{ago(now, card.last_seen)}</span>
            <span class="st-problem">{card.problem.clone()}</span>
        </li>
    }
}
