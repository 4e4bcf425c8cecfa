//! The panel's PIN: the keypad, and the gate that shows it until a PIN is
//! entered or after the controller refused one.

use controller_core::link::LinkState;
use leptos::prelude::*;

use super::PanelUi;

/// The PIN keypad while no PIN is entered, or after the controller
/// refused one (a project may add or change the panel's PIN).
#[component]
pub(super) fn PinGate(ui: PanelUi) -> impl IntoView {
    let PanelUi {
        link, pin_entered, ..
    } = ui;
    let pin_message = Signal::derive(move || match link.get() {
        LinkState::PinNeeded(why) => why,
        _ => String::new(),
    });
    view! {
        <Show when=move || !pin_entered.get() || matches!(link.get(), LinkState::PinNeeded(_))>
            <PinPad message=pin_message on_enter=move |pin: String| {
                #[cfg(feature = "hydrate")]
                {
                    crate::panel_channel::store_pin(&pin);
                    if pin_entered.get_untracked() {
                        crate::panel_channel::enter_pin(pin);
                    }
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = pin;
                pin_entered.set(true);
            }/>
        </Show>
    }
}

/// The PIN keypad: shown until a PIN is entered, and again after the
/// controller refused one, with its message (a wrong PIN, or how long to
/// wait after several).
#[component]
fn PinPad(
    message: Signal<String>,
    on_enter: impl Fn(String) + Send + Sync + 'static,
) -> impl IntoView {
    let digits = RwSignal::new(String::new());
    let keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"];
    let on_enter = std::sync::Arc::new(on_enter);
    view! {
        <div class="pinpad" role="dialog" aria-modal="true" aria-labelledby="pin-title">
            <p class="pin-title" id="pin-title">"Enter PIN"</p>
            <p class="pin-message" role="alert">{move || message.get()}</p>
            <p class="pin-dots" aria-hidden="true">
                {move || "•".repeat(digits.get().len())}
            </p>
            <div class="pin-keys">
                {keys
                    .into_iter()
                    .map(|k| {
                        let on_enter = on_enter.clone();
                        let label = match k {
                            "⌫" => "Delete",
                            "OK" => "OK",
                            d => d,
                        };
                        view! {
                            <button type="button" class="pin-key" aria-label=label on:click=move |_| match k {
                                "⌫" => digits.update(|d| { d.pop(); }),
                                "OK" => {
                                    let pin = digits.get_untracked();
                                    if !pin.is_empty() {
                                        digits.set(String::new());
                                        on_enter(pin);
                                    }
                                }
                                d => digits.update(|s| if s.len() < 12 { s.push_str(d) }),
                            }>{k}</button>
                        }
                    })
                    .collect_view()}
            </div>
        </div>
    }
}
