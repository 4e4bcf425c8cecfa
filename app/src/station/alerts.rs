//! The alert list: open alerts first, then the history; operators
//! acknowledge; the list downloads as CSV.

use controller_core::fleet::AlertRecord;
use leptos::prelude::*;

use super::{ago, TopBar};

#[component]
pub fn AlertsPage(
    user: String,
    role: String,
    alerts: Vec<AlertRecord>,
    can_ack: bool,
    now: u64,
) -> impl IntoView {
    view! {
        <TopBar user role/>
        <main class="st-alerts-page">
            <h1>"Alerts"</h1>
            <p><a href="/alerts.csv" download="alerts.csv">"Download as CSV"</a></p>
            <table class="st-alert-list">
                <thead><tr><th>"Room"</th><th>"Kind"</th><th>"Detail"</th><th>"Raised"</th><th>"Acknowledged"</th><th>"Cleared"</th></tr></thead>
                <tbody>
                    {alerts.into_iter().map(|a| {
                        let open = a.cleared_at == 0;
                        let ack = if a.acked_by.is_empty() {
                            if can_ack {
                                view! { <form method="post" action=format!("/alerts/{}/ack", a.id)><button type="submit">"Acknowledge"</button></form> }.into_any()
                            } else {
                                view! { <span>"-"</span> }.into_any()
                            }
                        } else {
                            view! { <span>{format!("{} ({})", a.acked_by, ago(now, a.acked_at))}</span> }.into_any()
                        };
                        view! {
                            <tr class=if open { "st-alert open" } else { "st-alert" } data-id=a.id>
                                <td><a href=format!("/room/{}", a.room_key)>{a.room.clone()}</a></td>
                                <td>{a.kind.clone()}</td>
                                <td>{a.detail.clone()}</td>
                                <td>{ago(now, a.raised_at)}</td>
                                <td>{ack}</td>
                                <td>{if open { "open".to_string() } else { ago(now, a.cleared_at) }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </main>
    }
}
