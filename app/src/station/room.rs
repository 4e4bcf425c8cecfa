//! One room's page: its panels drawn from the layout the controller sent
//! (pages as sections, buttons on the page grid with their LED state,
//! levels and text tiles), with presses sent through the station to the
//! room over central control: a pointer presses and releases (the button
//! keeps the pointer until it is lifted), a key (Enter, Space) taps. In
//! the browser the LEDs, the levels and the room's link follow the
//! station's event stream.

use std::collections::BTreeMap;

use controller_core::engine::{ButtonState, LevelState, Snapshot};
use controller_core::fleet::RoomCard;
use controller_core::project::format_number;
use controller_core::view::RoomLayout;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::grid::link_word;
use super::TopBar;

/// Everything a room's page shows.
#[derive(Serialize, Deserialize)]
pub struct RoomView {
    pub user: String,
    pub role: String,
    pub card: RoomCard,
    pub layout: Option<RoomLayout>,
    pub snapshot: Snapshot,
    pub can_press: bool,
}

/// A room's page's live event (`room` on the event stream): the room's
/// card, LEDs and levels as they are now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomLive {
    pub card: RoomCard,
    pub buttons: BTreeMap<String, ButtonState>,
    #[serde(default)]
    pub levels: BTreeMap<String, LevelState>,
}

/// What a button does when sent to the room (the press form's `action`).
#[derive(Clone, Copy)]
enum Action {
    Press,
    Release,
    /// A press and its release (a key, not a pointer).
    Tap,
}

impl Action {
    #[cfg_attr(not(feature = "station"), allow(dead_code))]
    fn as_str(self) -> &'static str {
        match self {
            Action::Press => "press",
            Action::Release => "release",
            Action::Tap => "tap",
        }
    }
}

/// Sends `action` on `button` to the room (the browser only; the server
/// never presses for a page it renders).
fn send(room: &str, button: &str, action: Action) {
    #[cfg(feature = "station")]
    super::live::press(room, button, action.as_str());
    #[cfg(not(feature = "station"))]
    let _ = (room, button, action);
}

/// Keeps the pointer on the button until it is lifted, so its release
/// comes to the button it pressed.
fn capture(ev: &leptos::ev::PointerEvent) {
    #[cfg(feature = "station")]
    {
        use wasm_bindgen::JsCast;
        if let Some(el) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
    }
    #[cfg(not(feature = "station"))]
    let _ = ev;
}

/// A tile's place on its page's grid.
fn place_style(row: u8, col: u8, height: u8, width: u8) -> String {
    format!(
        "grid-row: {} / span {height}; grid-column: {} / span {width};",
        u16::from(row) + 1,
        u16::from(col) + 1
    )
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
    let room = card.key.clone();
    let card = RwSignal::new(card);
    let snapshot = RwSignal::new(snapshot);
    #[cfg(feature = "station")]
    super::live::follow_room(&room, card, snapshot);
    // The buttons press only once the page's code runs: until then they
    // are drawn disabled (an effect runs in the browser only, after
    // hydration), so an early tap is not silently lost.
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
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
                                let title = format!("{:?}{}", b.kind, b.group.as_ref().map(|g| format!(" ({g})")).unwrap_or_default());
                                let style = place_style(place.row, place.col, place.height, place.width);
                                Some(view! { <RoomButton room=room.clone() id=b.id.clone() label=b.label.clone() title style snapshot can_press ready/> })
                            }).collect_view();
                            let levels = page.levels.iter().map(|place| {
                                let id = place.level.clone();
                                let label = layout.levels.iter().find(|l| l.id == place.level).map(|l| l.label.clone()).unwrap_or_else(|| place.level.clone());
                                let style = place_style(place.row, place.col, place.height, place.width);
                                let value = {
                                    let id = id.clone();
                                    move || snapshot.with(|s| s.levels.get(&id).map(|l| format_number(l.value)).unwrap_or_default())
                                };
                                view! { <div class="st-level" data-level=id style=style>{label}": "<b>{value}</b></div> }
                            }).collect_view();
                            let texts = page.texts.iter().map(|place| {
                                let style = place_style(place.row, place.col, place.height, place.width);
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
        <main class="st-room" data-room=room.clone()>
            <h1>{move || card.with(|c| c.name.clone())}</h1>
            <p class="st-room-meta">
                <span class="st-state">{move || link_word(card.with(|c| c.online))}</span>
                " · "{move || card.with(|c| c.location.clone())}" · "
                {move || card.with(|c| format!("{} (rev {})", c.project_name, c.project_revision))}
            </p>
            {body}
        </main>
    }
}

/// A button of the room: its LED from `snapshot`; pressed and released by
/// a pointer, tapped by a key.
#[component]
fn RoomButton(
    room: String,
    id: String,
    label: String,
    title: String,
    style: String,
    snapshot: RwSignal<Snapshot>,
    can_press: bool,
    /// The page's code runs (see [`RoomPage`]).
    ready: RwSignal<bool>,
) -> impl IntoView {
    let led = {
        let id = id.clone();
        move || snapshot.with(|s| s.led(&id).unwrap_or_default())
    };
    let led_mode = led.clone();
    let target = StoredValue::new((room, id.clone()));
    // Between this button's press and its release (a pointer held on it).
    let held = StoredValue::new(false);
    let go = move |action| target.with_value(|(room, id)| send(room, id, action));
    let release = move || {
        if held.get_value() {
            held.set_value(false);
            go(Action::Release);
        }
    };
    view! {
        <button type="button" class="st-button" data-button=id
            data-mode=move || led_mode().mode.as_str() data-color=move || led().color.as_str()
            style=style disabled=move || !(can_press && ready.get()) title=title
            on:pointerdown=move |ev| {
                if !can_press || held.get_value() {
                    return;
                }
                capture(&ev);
                held.set_value(true);
                go(Action::Press);
            }
            on:pointerup=move |_| release()
            on:pointercancel=move |_| release()
            // A key (Enter, Space) clicks without a pointer: a tap.
            on:click=move |ev| {
                if can_press && ev.detail() == 0 {
                    go(Action::Tap);
                }
            }>
            {label}
        </button>
    }
}
