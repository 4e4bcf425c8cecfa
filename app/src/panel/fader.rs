//! A fader: a level the room user drags or moves with the arrow keys.

use controller_core::engine::Snapshot;
use controller_core::link::LinkState;
use controller_core::project::{format_number, Level, LevelPlace, Orientation};
use controller_core::protocol::panel::ClientMessage;
use leptos::ev::{KeyboardEvent, PointerEvent};
use leptos::prelude::*;

use super::{grid_area, send};

/// Where `value` sits between `min` and `max`, 0 to 1.
pub(super) fn fraction(value: f64, min: f64, max: f64) -> f64 {
    if max > min {
        ((value - min) / (max - min)).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// `value` snapped to `min + n * step` and kept within the range.
fn snap(value: f64, def: &Level) -> f64 {
    let v = if def.step > 0.0 {
        def.min + ((value - def.min) / def.step).round() * def.step
    } else {
        value
    };
    v.clamp(def.min, def.max)
}

/// A percentage for a style: integer arithmetic via `format_number` (float
/// `Display` would add core's float formatting to the wasm).
pub(super) fn percent(f: f64) -> String {
    format!("{}%", format_number((f * 1000.0).round() / 10.0))
}

/// The text a level shows: `-20.5 dB`.
pub(super) fn level_text(value: f64, unit: &str) -> String {
    if unit.is_empty() {
        format_number(value)
    } else {
        format!("{} {unit}", format_number(value))
    }
}

/// What a fader knows while the room user moves it. `Copy` (signals and
/// stored values only), so each event handler holds its own copy.
#[derive(Clone, Copy)]
struct Drag {
    level: StoredValue<String>,
    def: StoredValue<Level>,
    /// The controller's value and mute.
    current: Memo<(f64, bool)>,
    /// The finger's value while dragging, and after release until the
    /// controller reports it (or a second passes): so the fader does not
    /// jump back to an older value on its way. None otherwise.
    dragging: RwSignal<Option<f64>>,
    /// The pointer is down on the track.
    held: StoredValue<bool>,
    /// The value waiting for the next animation frame (one is asked for
    /// while this is `Some`).
    pending: StoredValue<Option<f64>>,
    track: NodeRef<leptos::html::Div>,
    vertical: bool,
    link: RwSignal<LinkState>,
}

impl Drag {
    /// The value shown: the finger's while dragging, else the controller's.
    fn shown(self) -> f64 {
        self.dragging.get().unwrap_or_else(|| self.current.get().0)
    }

    fn send(self, value: Option<f64>, muted: Option<bool>) {
        send(ClientMessage::SetLevel {
            level: self.level.get_value(),
            value,
            muted,
        });
    }

    /// Sends the latest dragged value once per animation frame.
    fn schedule(self, value: f64) {
        let first = self.pending.get_value().is_none();
        self.pending.set_value(Some(value));
        if first {
            request_animation_frame(move || {
                if let Some(v) = self.pending.get_value() {
                    self.pending.set_value(None);
                    self.send(Some(v), None);
                }
            });
        }
    }

    /// The level under the pointer, snapped to the level's steps.
    fn value_at(self, ev: &PointerEvent) -> Option<f64> {
        #[cfg(feature = "hydrate")]
        {
            let el = self.track.get_untracked()?;
            let rect = el.get_bounding_client_rect();
            let f = if self.vertical {
                (rect.bottom() - f64::from(ev.client_y())) / rect.height()
            } else {
                (f64::from(ev.client_x()) - rect.left()) / rect.width()
            };
            let f = if f.is_finite() {
                f.clamp(0.0, 1.0)
            } else {
                0.0
            };
            self.def
                .with_value(|d| Some(snap(d.min + f * (d.max - d.min), d)))
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = ev;
            None
        }
    }

    fn down(self, ev: PointerEvent) {
        if ev.button() != 0 || self.link.get_untracked() != LinkState::Live {
            return;
        }
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        if let Some(el) = self.track.get_untracked() {
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
        if let Some(v) = self.value_at(&ev) {
            self.held.set_value(true);
            self.dragging.set(Some(v));
            self.schedule(v);
        }
    }

    fn moved(self, ev: PointerEvent) {
        if !self.held.get_value() {
            return;
        }
        if let Some(v) = self.value_at(&ev) {
            if self.dragging.get_untracked() != Some(v) {
                self.dragging.set(Some(v));
                self.schedule(v);
            }
        }
    }

    /// The pointer is up: the final value goes at once, and the fader
    /// settles to the controller's value at the latest a second later.
    fn finish(self) {
        if !self.held.get_value() {
            return;
        }
        self.held.set_value(false);
        let Some(v) = self.dragging.get_untracked() else {
            return;
        };
        self.pending.set_value(None);
        self.send(Some(v), None);
        if self.current.get_untracked().0 == v {
            self.dragging.set(None);
        } else {
            set_timeout(
                move || {
                    if !self.held.get_value() {
                        self.dragging.set(None);
                    }
                },
                std::time::Duration::from_secs(1),
            );
        }
    }

    /// The arrow keys, Page Up/Down, Home and End (the ARIA slider keys).
    fn key(self, ev: KeyboardEvent) {
        let value = self.current.get_untracked().0;
        let (step, min, max) = self
            .def
            .with_value(|d| (if d.step > 0.0 { d.step } else { 1.0 }, d.min, d.max));
        let target = match ev.key().as_str() {
            "ArrowUp" | "ArrowRight" => value + step,
            "ArrowDown" | "ArrowLeft" => value - step,
            "PageUp" => value + step * 10.0,
            "PageDown" => value - step * 10.0,
            "Home" => min,
            "End" => max,
            _ => return,
        };
        ev.prevent_default();
        let target = self.def.with_value(|d| snap(target, d));
        if target != value {
            self.send(Some(target), None);
        }
    }
}

/// A fader: drag (or arrow keys) to move the level; the value shown is the
/// controller's except while the pointer is down on it, when it is the
/// finger's (the controller's echoes of a drag would make it jump back), and
/// it settles to the controller's on release.
#[component]
pub(super) fn Fader(
    place: LevelPlace,
    def: Level,
    state: RwSignal<Snapshot>,
    link: RwSignal<LinkState>,
) -> impl IntoView {
    let id = def.id.clone();
    let current = level_state(state, &def);
    let (label, unit, min, max, has_mute) = (
        def.label.clone(),
        def.unit.clone(),
        def.min,
        def.max,
        def.mute,
    );
    let drag = Drag {
        level: StoredValue::new(id.clone()),
        def: StoredValue::new(def),
        current,
        dragging: RwSignal::new(None),
        held: StoredValue::new(false),
        pending: StoredValue::new(None),
        track: NodeRef::new(),
        vertical: place.orientation == Orientation::Vertical,
        link,
    };
    // The controller reported the finger's value: the drag is over.
    Effect::new(move |_| {
        let now = current.get().0;
        if !drag.held.get_value() && drag.dragging.get_untracked() == Some(now) {
            drag.dragging.set(None);
        }
    });
    let unit2 = unit.clone();
    let disabled = move || (link.get() != LinkState::Live).to_string();
    view! {
        <div
            class="fader"
            class:horizontal=!drag.vertical
            class:dragging=move || drag.dragging.get().is_some()
            class:muted=move || current.get().1
            style=grid_area(place.row, place.col, place.width, place.height)
            data-level=id.clone()
        >
            <span class="fader-label" id=format!("fader-{id}")>{label.clone()}</span>
            <div
                class="fader-track"
                node_ref=drag.track
                role="slider"
                tabindex="0"
                aria-labelledby=format!("fader-{id}")
                aria-orientation=if drag.vertical { "vertical" } else { "horizontal" }
                aria-valuemin=format_number(min)
                aria-valuemax=format_number(max)
                aria-valuenow=move || format_number(drag.shown())
                aria-valuetext=move || level_text(drag.shown(), &unit)
                aria-disabled=disabled
                style=move || format!("--pos:{}", percent(fraction(drag.shown(), min, max)))
                on:pointerdown=move |ev| drag.down(ev)
                on:pointermove=move |ev| drag.moved(ev)
                on:pointerup=move |_| drag.finish()
                on:pointercancel=move |_| drag.finish()
                on:keydown=move |ev| drag.key(ev)
            >
                <div class="fader-fill" aria-hidden="true"></div>
                <div class="fader-thumb" aria-hidden="true"></div>
            </div>
            <span class="fader-value" aria-hidden="true">{move || level_text(drag.shown(), &unit2)}</span>
            {has_mute.then(|| mute_button(drag, &label))}
        </div>
    }
}

/// A level's value and mute as the controller reports them.
pub(super) fn level_state(state: RwSignal<Snapshot>, def: &Level) -> Memo<(f64, bool)> {
    let id = def.id.clone();
    let min = def.min;
    Memo::new(move |_| {
        state.with(|s| {
            s.levels
                .get(&id)
                .map_or((min, false), |l| (l.value, l.muted == Some(true)))
        })
    })
}

/// The fader's mute key (a level with `mute = true`).
fn mute_button(drag: Drag, label: &str) -> impl IntoView {
    let current = drag.current;
    view! {
        <button
            type="button"
            class="fader-mute"
            aria-pressed=move || current.get().1.to_string()
            aria-disabled=move || (drag.link.get() != LinkState::Live).to_string()
            on:click=move |_| drag.send(None, Some(!current.get_untracked().1))
        >
            {format!("Mute {label}")}
        </button>
    }
}
