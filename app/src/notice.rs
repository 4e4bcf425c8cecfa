//! The controller's notices on a screen (a device down, a failed
//! sequence): what one is, and the banner that shows them. The live
//! channel (`panel_channel.rs`) fills the list; the panel shows it.

use controller_core::protocol::panel::Severity;
use leptos::prelude::*;

/// A banner the controller asked for (a device down, a failed sequence).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub key: String,
    pub severity: Severity,
    pub message: String,
}

/// The controller's notices, laid over the page so they never move the
/// keys or squash a fader: each can be dismissed; several collapse to the
/// newest, on one line, with a count that opens them all.
#[component]
pub fn Notices(notices: RwSignal<Vec<Notice>>) -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <section class="notices" aria-label="Notices" aria-live="polite" data-open=move || open.get().to_string()>
            <For each=move || notices.get() key=|n| (n.key.clone(), n.message.clone()) let:n>
                <div class="notice" data-severity=match n.severity {
                    Severity::Info => "info",
                    Severity::Warning => "warning",
                    Severity::Error => "error",
                } data-key=n.key.clone()>
                    <span class="notice-text">{n.message.clone()}</span>
                    <button type="button" class="notice-close" aria-label="Dismiss" on:click={
                        let key = n.key.clone();
                        move |_| notices.update(|all| all.retain(|x| x.key != key))
                    }>"\u{d7}"</button>
                </div>
            </For>
            <Show when=move || notices.with(|n| n.len() > 1)>
                <button type="button" class="notice-count" aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
                    {move || if open.get() { "Fewer".to_string() } else { format!("{} notices", notices.with(Vec::len)) }}
                </button>
            </Show>
        </section>
    }
}
