//! The building's day at a glance: every room the station watches, one
//! row each, with what it is doing now (booked or free, in use or not,
//! the meeting on as the room shows it, until when, the next meeting),
//! the rooms booked and left empty first. Kept live by `public/station.js`
//! from the same card events as the grid.

use controller_core::fleet::RoomCard;
use leptos::prelude::*;

use super::TopBar;

/// The order of the "now" view: booked but not in use first (someone may
/// have forgotten, or the room can be released), then in use without a
/// booking, then booked, in use, free, and rooms not seen; by location
/// and name within each.
fn rank(c: &RoomCard) -> u8 {
    match (c.online, c.day.booked, c.day.in_use) {
        (false, _, _) => 6,
        (_, Some(true), Some(false)) => 0,
        (_, Some(false), Some(true)) => 1,
        (_, Some(true), _) => 2,
        (_, _, Some(true)) => 3,
        (_, Some(false), _) => 4,
        _ => 5,
    }
}

#[component]
pub fn NowPage(user: String, role: String, mut cards: Vec<RoomCard>) -> impl IntoView {
    cards.sort_by(|a, b| (rank(a), &a.location, &a.name).cmp(&(rank(b), &b.location, &b.name)));
    let count = |f: &dyn Fn(&RoomCard) -> bool| cards.iter().filter(|c| f(c)).count();
    let summary = format!(
        "{} rooms: {} in use, {} booked, {} booked but not in use, {} free",
        cards.len(),
        count(&|c| c.online && c.day.in_use == Some(true)),
        count(&|c| c.online && c.day.booked == Some(true)),
        count(&|c| c.online && c.day.booked == Some(true) && c.day.in_use == Some(false)),
        count(&|c| c.online && c.day.booked == Some(false)),
    );
    let keys = cards
        .iter()
        .map(|c| c.key.clone())
        .collect::<Vec<_>>()
        .join(",");
    let rows = cards
        .into_iter()
        .map(|c| {
            let flag = |b: Option<bool>| b.map_or("unknown", |b| if b { "true" } else { "false" });
            view! {
                <tr id=format!("now-{}", c.key) data-key=c.key.clone()
                    data-booked=flag(c.day.booked) data-in-use=flag(c.day.in_use)
                    class=if c.online { "online" } else { "offline" }>
                    <th scope="row"><a href=format!("/room/{}", c.key) class="st-name">{c.name.clone()}</a></th>
                    <td class="st-location">{c.location.clone()}</td>
                    <td class="st-state">{if c.online { "online" } else { "offline" }}</td>
                    <td class="st-day">{c.day.label.clone()}</td>
                    <td class="st-meeting">{c.day.meeting.clone()}</td>
                    <td class="st-next">{c.day.next.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TopBar user role/>
        <main class="st-now-page">
            <h1>"Now"</h1>
            <p class="st-now-summary" aria-live="polite">{summary}</p>
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
                <tbody>{rows}</tbody>
            </table>
            </div>
        </main>
    }
}
