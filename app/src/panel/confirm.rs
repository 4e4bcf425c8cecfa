//! The panel's one confirmation dialog, shared by the keys and the meeting
//! tile.

use leptos::ev::KeyboardEvent;
use leptos::prelude::*;

/// The panel's one confirmation: `question` with Cancel and Confirm, shown
/// while `asking`; Confirm takes the focus, Escape or Cancel runs `close`,
/// Confirm runs `close` then `ok`.
///
/// Not generic: the keys and the meeting tile share one copy of its code
/// in the panel's wasm.
pub(super) fn confirm_dialog(
    dialog_id: String,
    question: Signal<String>,
    asking: Memo<bool>,
    close: Callback<()>,
    ok: Callback<()>,
) -> impl IntoView {
    let ok_ref = NodeRef::<leptos::html::Button>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if asking.get() {
            request_animation_frame(move || {
                if let Some(b) = ok_ref.get_untracked() {
                    let _ = b.focus();
                }
            });
        }
    });
    view! {
        <Show when=move || asking.get()>
            <div class="confirm-backdrop">
                <div
                    class="confirm"
                    role="alertdialog"
                    aria-modal="true"
                    aria-labelledby=dialog_id.clone()
                    on:keydown=move |ev: KeyboardEvent| {
                        if ev.key() == "Escape" {
                            ev.prevent_default();
                            close.run(());
                        }
                    }
                >
                    <p class="confirm-question" id=dialog_id.clone()>{question}</p>
                    <div class="confirm-actions">
                        <button type="button" class="confirm-cancel" on:click=move |_| close.run(())>"Cancel"</button>
                        <button
                            type="button"
                            class="confirm-ok"
                            node_ref=ok_ref
                            on:click=move |_| {
                                close.run(());
                                ok.run(());
                            }
                        >"Confirm"</button>
                    </div>
                </div>
            </div>
        </Show>
    }
}
