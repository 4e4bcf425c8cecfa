//! One room's page: its panels drawn from the layout the controller sent
//! (pages as sections, buttons on the page grid with their LED state,
//! levels and text tiles), with presses sent through the station to the
//! room over central control.

use controller_core::engine::Snapshot;
use controller_core::fleet::RoomCard;
use controller_core::view::RoomLayout;
use leptos::prelude::*;

use super::TopBar;

pub struct RoomView {
    pub user: String,
    pub role: String,
    pub card: RoomCard,
    pub layout: Option<RoomLayout>,
    pub snapshot: Snapshot,
    pub can_press: bool,
}

#[component]
pub fn RoomPage(view: RoomView) -> impl IntoView {
    let RoomView {
        user,
        role,
        card,
        layout,
        snapshot,
        can_press,
    } = view;
    let body = match layout {
        None => view! { <p class="st-error">"This room has not sent its layout (offline, or a controller too old to send one)."</p> }.into_any(),
        Some(layout) => layout
            .panels
            .iter()
            .map(|panel| {
                // `minmax(0, 1fr)`: a long label wraps in its button rather than
                // widening the grid past a phone's screen.
                let style = format!("grid-template-columns: repeat({}, minmax(0, 1fr)); grid-template-rows: repeat({}, 4.5rem);", panel.columns, panel.rows);
                view! {
                    <section class="st-panel">
                        <h2>{panel.name.clone()}</h2>
                        {panel.pages.iter().map(|page| {
                            let buttons = page.buttons.iter().filter_map(|place| {
                                let b = layout.button(&place.button)?;
                                let led = snapshot.led(&b.id).unwrap_or_default();
                                let style = format!("grid-row: {} / span {}; grid-column: {} / span {};", place.row + 1, place.height, place.col + 1, place.width);
                                Some(view! {
                                    <button type="button" class="st-button" data-button=b.id.clone() data-mode=led.mode.as_str() data-color=led.color.as_str() style=style disabled=!can_press title=format!("{:?}{}", b.kind, b.group.as_ref().map(|g| format!(" ({g})")).unwrap_or_default())>
                                        {b.label.clone()}
                                    </button>
                                })
                            }).collect_view();
                            let levels = page.levels.iter().map(|place| {
                                let value = snapshot.levels.get(&place.level).map(|l| controller_core::project::format_number(l.value)).unwrap_or_default();
                                let label = layout.levels.iter().find(|l| l.id == place.level).map(|l| l.label.clone()).unwrap_or_else(|| place.level.clone());
                                let style = format!("grid-row: {} / span {}; grid-column: {} / span {};", place.row + 1, place.height, place.col + 1, place.width);
                                view! { <div class="st-level" data-level=place.level.clone() style=style>{label}": "<b>{value}</b></div> }
                            }).collect_view();
                            let texts = page.texts.iter().map(|place| {
                                let style = format!("grid-row: {} / span {}; grid-column: {} / span {};", place.row + 1, place.height, place.col + 1, place.width);
                                view! { <div class="st-text" style=style>{place.text.clone()}</div> }
                            }).collect_view();
                            view! {
                                <h3>{page.title.clone()}</h3>
                                <div class="st-page" style=style.clone()>{buttons}{levels}{texts}</div>
                            }
                        }).collect_view()}
                    </section>
                }
            })
            .collect_view()
            .into_any(),
    };
    view! {
        <TopBar user role/>
        <main class="st-room" data-room=card.key.clone()>
            <h1>{card.name.clone()}</h1>
            <p class="st-room-meta">
                <span class="st-state">{if card.online { "online" } else { "offline" }}</span>
                " · "{card.location.clone()}" · "{format!("{} (rev {})", card.project_name, card.project_revision)}
            </p>
            {body}
        </main>
    }
}
