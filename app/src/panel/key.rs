//! A key of the panel: press and release to the controller, its LED and
//! latched state from the controller, its `enabled` condition, and the
//! question a `confirm` key asks first.

use controller_core::engine::Snapshot;
use controller_core::link::LinkState;
use controller_core::project::{Button, ButtonKind, Place};
use controller_core::protocol::panel::ClientMessage;
use controller_core::template::{is_dynamic, render_state};
use leptos::either::Either;
use leptos::ev::{KeyboardEvent, PointerEvent};
use leptos::prelude::*;

use super::confirm::confirm_dialog;
use super::{grid_area, send};
use crate::icons;

/// A key's press and release. `Copy`, so every event handler holds its
/// own copy.
#[derive(Clone, Copy)]
struct Press {
    button: StoredValue<String>,
    pressing: RwSignal<bool>,
    /// The link is up and the button's `enabled` condition holds.
    usable: Memo<bool>,
    /// A `confirm` key: a tap asks its question; it presses only when
    /// confirmed.
    asks: bool,
    /// Its page's position, and the question open on the panel.
    page: usize,
    confirming: RwSignal<Option<(usize, String)>>,
}

impl Press {
    fn press(self) {
        if !self.pressing.get_untracked() && self.usable.get_untracked() {
            self.pressing.set(true);
            send(ClientMessage::Press {
                button: self.button.get_value(),
            });
        }
    }

    fn release(self) {
        if self.pressing.get_untracked() {
            self.pressing.set(false);
            send(ClientMessage::Release {
                button: self.button.get_value(),
            });
        }
    }

    fn pointer_down(self, ev: PointerEvent) {
        if ev.button() == 0 && !self.asks {
            self.press();
        }
    }

    /// A click on a `confirm` key opens its question.
    fn click(self) {
        if self.asks && self.usable.get_untracked() {
            self.confirming
                .set(Some((self.page, self.button.get_value())));
        }
    }

    /// Enter and Space press the key while held (a `confirm` key's click
    /// asks instead).
    fn key_down(self, ev: KeyboardEvent) {
        if !self.asks && !ev.repeat() && (ev.key() == "Enter" || ev.key() == " ") {
            ev.prevent_default();
            self.press();
        }
    }

    fn key_up(self, ev: KeyboardEvent) {
        if ev.key() == "Enter" || ev.key() == " " {
            self.release();
        }
    }
}

/// Whether a button can be pressed now: the link is up and its `enabled`
/// condition holds.
fn usable(def: &Button, state: RwSignal<Snapshot>, link: RwSignal<LinkState>) -> Memo<bool> {
    let enabled = def.enabled.clone();
    Memo::new(move |_| {
        link.get() == LinkState::Live
            && enabled
                .as_ref()
                .is_none_or(|c| state.with(|s| c.holds(s.variables.get(&c.variable))))
    })
}

/// A `confirm` key's question, shown while `confirming` names this key on
/// this page; Confirm presses and releases the key, Cancel gives it the
/// focus back.
fn key_question(
    keys: Press,
    question: String,
    page: usize,
    confirming: RwSignal<Option<(usize, String)>>,
    key_ref: NodeRef<leptos::html::Button>,
) -> impl IntoView {
    let button = keys.button;
    let asking = Memo::new(move |_| {
        confirming.with(|c| {
            c.as_ref()
                .is_some_and(|(p, b)| *p == page && button.with_value(|id| b == id))
        })
    });
    let close = move |()| {
        confirming.set(None);
        #[cfg(feature = "hydrate")]
        if let Some(k) = key_ref.get_untracked() {
            let _ = k.focus();
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = key_ref;
    };
    let ok = move |()| {
        keys.press();
        keys.release();
    };
    confirm_dialog(
        format!("confirm-{}", button.get_value()),
        Signal::stored(question),
        asking,
        Callback::new(close),
        Callback::new(ok),
    )
}

/// The key's label and sublabel, live where they are templates.
fn key_label(def: &Button, state: RwSignal<Snapshot>) -> impl IntoView {
    let label = def.label.clone();
    let label_view = if is_dynamic(&label) {
        Either::Left(move || state.with(|s| render_state(&label, s)))
    } else {
        Either::Right(label)
    };
    let sublabel = def.sublabel.clone().map(|t| {
        view! { <span class="sublabel">{move || state.with(|s| render_state(&t, s))}</span> }
    });
    view! {
        <span class="label">{label_view}</span>
        {sublabel}
    }
}

#[component]
pub(super) fn PanelButton(
    place: Place,
    def: Button,
    state: RwSignal<Snapshot>,
    link: RwSignal<LinkState>,
    /// Its page's position (a button may be placed on several pages).
    page: usize,
    /// The question open on the panel, if any (see [`PanelUi`]).
    confirming: RwSignal<Option<(usize, String)>>,
) -> impl IntoView {
    let id = def.id.clone();
    let current = {
        let id = id.clone();
        Memo::new(move |_| state.with(|s| s.buttons.get(&id).copied().unwrap_or_default()))
    };
    let keys = Press {
        button: StoredValue::new(id.clone()),
        pressing: RwSignal::new(false),
        usable: usable(&def, state, link),
        asks: def.confirm.is_some(),
        page,
        confirming,
    };
    let Press {
        button,
        pressing,
        usable,
        ..
    } = keys;
    let needs_confirm = def.confirm.is_some();
    // aria-pressed only where there is something latched to report.
    let latching = matches!(def.kind, ButtonKind::Toggle | ButtonKind::Interlock);
    let long = def.label.chars().count() > 18;
    let key_ref = NodeRef::<leptos::html::Button>::new();
    // A new layout may take the button away mid-press (the DOM goes, and
    // with it the release): release it now.
    on_cleanup(move || {
        if let (Some(true), Some(button)) = (pressing.try_get_untracked(), button.try_get_value()) {
            send(ClientMessage::Release { button });
        }
    });
    let dialog = def
        .confirm
        .clone()
        .map(|question| key_question(keys, question, page, confirming, key_ref));
    view! {
        <button
            type="button"
            class="key"
            class:long=long
            class:pressing=move || pressing.get()
            node_ref=key_ref
            style=grid_area(place.row, place.col, place.width, place.height)
            data-button=id
            data-kind=match def.kind {
                ButtonKind::Momentary => "momentary",
                ButtonKind::Toggle => "toggle",
                ButtonKind::Interlock => "interlock",
            }
            data-led=move || current.get().led.mode.as_str()
            data-color=move || current.get().led.color.as_str()
            aria-pressed=move || latching.then(|| current.get().latched.to_string())
            aria-haspopup=needs_confirm.then_some("dialog")
            aria-disabled=move || (!usable.get()).to_string()
            on:pointerdown=move |ev| keys.pointer_down(ev)
            on:pointerup=move |_| keys.release()
            on:pointercancel=move |_| keys.release()
            on:pointerleave=move |_| keys.release()
            on:click=move |_| keys.click()
            on:keydown=move |ev| keys.key_down(ev)
            on:keyup=move |ev| keys.key_up(ev)
            on:contextmenu=move |ev| ev.prevent_default()
        >
            <span class="led" aria-hidden="true"></span>
            <svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d=icons::path(def.icon.as_deref().unwrap_or(""))/></svg>
            {key_label(&def, state)}
        </button>
        {dialog}
    }
}
