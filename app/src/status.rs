//! The status page: what the controller is doing, for installers and the IT
//! administrator. Every open port and what it is for, connected panels,
//! devices, the engine revision, the audit trail (admins and operators) and
//! recent events. Follows the controller: each change arrives over the
//! status page's live channel (`status_live.rs`), none is polled for.

use controller_core::audit::{AuditOutcome, AuditReport};
use controller_core::printable::printable;
use controller_core::view::StatusReport;
use leptos::either::Either;
use leptos::prelude::*;

use crate::time_ago::ago;

/// A short key for styling a service's state (green, grey, red).
fn state_key(state: &controller_core::view::ServiceState) -> &'static str {
    use controller_core::view::ServiceState::*;
    match state {
        Starting => "starting",
        Listening => "listening",
        Running => "running",
        Disabled => "disabled",
        Failed(_) => "failed",
        Stopped => "stopped",
    }
}

#[component]
pub fn StatusPage() -> impl IntoView {
    // The report the page was rendered with; then each one the live
    // channel brings, or why the controller closed it.
    let report = Resource::new(|| (), |_| crate::api::get_status());
    let pushed = RwSignal::new(None::<String>);
    let refused = RwSignal::new(None::<String>);
    view! {
        <main class="status-page">
            <Transition fallback=|| view! { <p>"Loading status…"</p> }>
                {move || {
                    let (pushed_now, refused_now) = (pushed.get(), refused.get());
                    Suspend::new(async move {
                    let json = match (refused_now, pushed_now) {
                        (Some(why), _) => Err(ServerFnError::new(why)),
                        (None, Some(json)) => Ok(json),
                        (None, None) => report.await,
                    };
                    let report = json.and_then(|json| {
                        serde_json::from_str::<StatusReport>(&json).map_err(|_| {
                            ServerFnError::new("The controller's answer could not be read; reload the page.")
                        })
                    });
                    match report {
                        Ok(r) => {
                            #[cfg(feature = "status")]
                            crate::status_live::follow(pushed, refused);
                            Either::Left(view! { <StatusBody r/> })
                        }
                        Err(e) => Either::Right(view! {
                            <div class="error-page">
                                <h1>"Status"</h1>
                                <p>{crate::api::error_text(&e)}</p>
                                <p>
                                    <a rel="external" href="/login?next=/status">"Log in"</a>
                                    " · "
                                    <a rel="external" href="/">"Back to the panel"</a>
                                </p>
                            </div>
                        }),
                    }
                })}}
            </Transition>
        </main>
    }
}

#[component]
fn StatusBody(r: StatusReport) -> impl IntoView {
    let now = r
        .panels
        .iter()
        .map(|p| p.last_keepalive_at)
        .max()
        .unwrap_or(0);
    view! {
        <header class="status-head">
            <h1>{r.controller_name.clone()}</h1>
            <p>
                {format!("{} {} · project “{}” rev {} · engine revision ", r.model, r.firmware, r.project_name, r.project_revision)}
                <span data-testid="engine-revision">{r.engine_revision}</span>
                {format!(" · up {} s", r.uptime_secs)}
            </p>
            <nav><a rel="external" href="/">"Panel"</a> " · " <a rel="external" href="/admin">"Admin"</a></nav>
        </header>
        <section>
            <h2>"Network services"</h2>
            <table class="services">
                <thead><tr><th>"Service"</th><th>"Endpoint"</th><th>"State"</th><th>"Purpose"</th><th>"Switch off with"</th></tr></thead>
                <tbody>
                    {r.services.into_iter().map(|s| view! {
                        <tr data-service=s.name.clone()>
                            <td>{s.name.clone()}</td><td><code>{s.endpoint}</code></td>
                            <td class="state" data-state=state_key(&s.state)>{s.state.to_string()}</td><td>{s.purpose}</td><td><code>{s.setting}</code></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section>
            <h2>{format!("Connected panels ({})", r.panels.len())}</h2>
            <table class="panels">
                <thead><tr><th>"Address"</th><th>"Panel"</th><th>"Port"</th><th>"Browser"</th><th>"Since"</th><th>"Last keep-alive"</th></tr></thead>
                <tbody>
                    {r.panels.into_iter().map(|p| view! {
                        <tr>
                            <td>{p.address}</td><td>{p.panel}</td><td>{p.port}</td><td class="ua">{p.user_agent}</td>
                            <td>{ago(now, p.connected_at)}</td><td>{ago(now, p.last_keepalive_at)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section>
            <h2>"Devices"</h2>
            <table class="devices">
                <thead><tr><th>"Device"</th><th>"Kind"</th><th>"Address"</th><th>"State"</th><th>"Detail"</th></tr></thead>
                <tbody>
                    {r.devices.into_iter().map(|d| view! {
                        <tr data-device=d.id.clone()>
                            <td>{d.id.clone()}</td><td>{d.description().to_string()}</td><td>{d.address}</td>
                            <td class=if d.online { "online" } else { "offline" }>{if d.online { "online" } else { "offline" }}</td>
                            <td>{d.detail}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section>
            <h2>{format!("Found on the LAN ({})", r.found_devices.len())}</h2>
            <p class="hint">"Devices that answered the controller's search (PJLink class 2, SSDP; "<code>"[device_search]"</code>"), with the library driver that fits each."</p>
            <table class="found-devices">
                <thead><tr><th>"Address"</th><th>"Found by"</th><th>"Device"</th><th>"Suggested driver"</th></tr></thead>
                <tbody>
                    {r.found_devices.into_iter().map(|f| {
                        let suggested = if f.suggested.is_empty() { "none in the library".to_string() } else { f.suggested.join(", ") };
                        let ids = f.suggested.join(" ");
                        let identity = printable(&f.identity).into_owned();
                        let location = (!f.location.is_empty()).then(|| printable(&f.location).into_owned());
                        view! {
                            <tr data-found=f.address.clone() data-suggested=ids>
                                <td>{f.address.clone()}</td><td>{f.found_by.as_str()}</td>
                                <td>{identity}{location.map(|l| view! { " " <code>{l}</code> })}</td>
                                <td>{suggested}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section>
            <h2>"Timers"</h2>
            <table class="timers">
                <thead><tr><th>"Timer"</th><th>"Schedule"</th><th>"Presses"</th><th>"Next run"</th></tr></thead>
                <tbody>
                    {r.timers.into_iter().map(|t| view! {
                        <tr data-timer=t.id.clone()>
                            <td>{t.id.clone()}</td><td><code>{t.cron}</code>" "{t.time_zone}</td>
                            <td>{t.press}</td><td class="next-run">{t.next_run}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        {r.audit.map(|a| view! { <AuditSection a/> })}
        <section>
            <h2 id="recent-events">"Recent events"</h2>
            // Scrolls: focusable, so keyboard users can scroll it too.
            <pre class="events" tabindex="0" role="region" aria-labelledby="recent-events">{r.recent_events.join("\n")}</pre>
        </section>
    }
}

/// The audit trail's latest entries, newest first (admins and operators).
#[component]
fn AuditSection(a: AuditReport) -> impl IntoView {
    let kept = if !a.problem.is_empty() {
        format!("NOT WRITTEN TO DISK: {}", a.problem)
    } else if a.file.is_empty() {
        "kept in memory only".to_string()
    } else {
        format!("kept in {}", a.file)
    };
    let forwarded = if a.syslog.is_empty() {
        "not forwarded to syslog".to_string()
    } else {
        format!(
            "forwarded to syslog {} ({} not delivered)",
            a.syslog, a.syslog_failed
        )
    };
    view! {
        <section class="audit">
            <h2>"Audit trail"</h2>
            <p>
                {format!("{kept}; {forwarded}; ")}
                <span data-testid="audit-dropped">{a.dropped}</span>
                " dropped (the writer could not keep up)."
            </p>
            <table class="audit-entries">
                <thead><tr><th>"Time"</th><th>"Event"</th><th>"Outcome"</th><th>"Service"</th><th>"User"</th><th>"Address"</th><th>"Detail"</th></tr></thead>
                <tbody>
                    {a.entries.into_iter().rev().map(|e| {
                        let outcome = match e.outcome {
                            AuditOutcome::Ok => "ok",
                            AuditOutcome::Failed => "failed",
                        };
                        view! {
                            <tr data-event=e.event.as_str() data-outcome=outcome>
                                <td>{printable(&e.time).into_owned()}</td><td>{e.event.as_str()}</td><td>{outcome}</td>
                                <td>{printable(&e.service).into_owned()}</td><td>{printable(&e.user.unwrap_or_default()).into_owned()}</td>
                                <td>{printable(&e.address.unwrap_or_default()).into_owned()}</td><td>{printable(&e.detail).into_owned()}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
