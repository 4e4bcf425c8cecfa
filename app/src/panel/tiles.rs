//! The read-only tiles of a page (a meter, a text) and the meeting tile.

use controller_core::engine::Snapshot;
use controller_core::link::LinkState;
use controller_core::project::meeting_tile as booking;
use controller_core::project::{
    format_number, Level, LevelPlace, MeetingPlace, Orientation, TextPlace, Value,
};
use controller_core::protocol::panel::{ClientMessage, MeetingChange};
use controller_core::template::render_state;
use leptos::prelude::*;

use super::confirm::confirm_dialog;
use super::fader::{fraction, level_state, level_text, percent};
use super::{grid_area, send};

/// A meter: a read-only bar.
#[component]
pub(super) fn Meter(place: LevelPlace, def: Level, state: RwSignal<Snapshot>) -> impl IntoView {
    let id = def.id.clone();
    let current = level_state(state, &def);
    let value = move || current.get().0;
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
                aria-valuenow=move || format_number(value())
                aria-valuetext=move || level_text(value(), &unit)
                style=move || format!("--pos:{}", percent(fraction(value(), min, max)))
            >
                <div class="fader-fill" aria-hidden="true"></div>
            </div>
            <span class="fader-value" aria-hidden="true">{move || level_text(value(), &unit2)}</span>
        </div>
    }
}

/// A text tile: a template over the variables and levels.
#[component]
pub(super) fn TextTile(place: TextPlace, state: RwSignal<Snapshot>) -> impl IntoView {
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
pub(super) fn MeetingTile(
    place: MeetingPlace,
    state: RwSignal<Snapshot>,
    link: RwSignal<LinkState>,
    page: usize,
    confirming: RwSignal<Option<(usize, String)>>,
) -> impl IntoView {
    let text = move |name: &'static str| move || variable_text(state, name);
    let busy = move || state.with(|s| s.variables.get(booking::BUSY) == Some(&Value::Bool(true)));
    let tile = MeetingUi {
        state,
        link,
        page,
        confirming,
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
                {meeting_action(tile, MeetingChange::End, booking::CAN_END, "End the meeting now?")}
                {meeting_action(tile, MeetingChange::Extend, booking::CAN_EXTEND, "Extend the meeting by # minutes?")}
            </div>
        </section>
    }
}

/// A booking variable as text ("" while it is not set).
fn variable_text(state: RwSignal<Snapshot>, name: &str) -> String {
    state.with(|s| {
        s.variables
            .get(name)
            .map(|v| v.to_string())
            .unwrap_or_default()
    })
}

/// What the meeting tile's actions share.
#[derive(Clone, Copy)]
struct MeetingUi {
    state: RwSignal<Snapshot>,
    link: RwSignal<LinkState>,
    page: usize,
    confirming: RwSignal<Option<(usize, String)>>,
}

/// One action of the meeting tile: a key, shown while the variable `can`
/// is true, and the question it asks first (`#`: the minutes an
/// extension adds).
fn meeting_action(
    tile: MeetingUi,
    change: MeetingChange,
    can: &'static str,
    question: &'static str,
) -> impl IntoView {
    let MeetingUi {
        state,
        link,
        page,
        confirming,
    } = tile;
    let key = match change {
        MeetingChange::End => "meeting:end",
        MeetingChange::Extend => "meeting:extend",
    };
    let asking = Memo::new(move |_| {
        confirming.with(|c| c.as_ref().is_some_and(|(p, b)| *p == page && b == key))
    });
    let key_ref = NodeRef::<leptos::html::Button>::new();
    let words = move |template: &'static str| {
        Signal::derive(move || {
            template.replace('#', &variable_text(state, booking::EXTEND_MINUTES))
        })
    };
    let allowed = move || state.with(|s| s.variables.get(can) == Some(&Value::Bool(true)));
    view! {
        <button
            type="button"
            class="meeting-action"
            data-change=key
            node_ref=key_ref
            hidden=move || !allowed()
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
}
