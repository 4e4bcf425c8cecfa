//! The admin page (`/admin`): the project for installers without an FTP
//! client. Every action needs an admin login (users from the settings; a
//! session cookie, no default password); the server side is `/admin/api/*`
//! (server/src/services/http/admin.rs and users.rs), backed by the same
//! project store as FTP and the Telnet console.
//!
//! The page is plain HTML forms, so it works before and without its wasm
//! (each form then answers with a styled result page). Hydrated by its own
//! bundle (`pkg/admin.wasm`, the `admin` feature; scripts/build-site.sh),
//! so the panel's wasm does not carry it, it shows results and errors in
//! the page, an upload's progress, who is logged in, the project history
//! with diff and restore, and the users (role, password reset, remove).
//! What talks to the controller is [`client`]; the server renders the
//! same empty page the browser starts from.

// The server renders these screens and never acts: what a handler does
// is in the browser's bundle only, so on the server its inputs go unused.
#![cfg_attr(not(feature = "admin"), allow(unused_variables))]

#[cfg(feature = "admin")]
mod client;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::Value;

/// What the page shows and holds; every part starts empty, on the server
/// and in the browser alike.
#[derive(Clone, Copy)]
pub(crate) struct Admin {
    /// The admin logged in, once the controller said who.
    pub user: RwSignal<Option<String>>,
    /// The last answer: ok, title, text.
    pub result: RwSignal<Option<(bool, String, String)>>,
    /// An upload's progress in percent while it runs.
    pub progress: RwSignal<Option<f64>>,
    /// `/admin/api/history`: newest first.
    pub history: RwSignal<Vec<Value>>,
    /// The versions picked to compare (ids, or `running`).
    pub diff_from: RwSignal<Option<String>>,
    pub diff_to: RwSignal<Option<String>>,
    /// `/admin/api/diff`'s answer.
    pub diff: RwSignal<Option<Value>>,
    /// `/admin/api/users`.
    pub users: RwSignal<Vec<Value>>,
}

/// Statements for the browser's admin bundle only.
macro_rules! browser {
    ($($t:tt)*) => {
        #[cfg(feature = "admin")]
        {
            $($t)*
        }
    };
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let admin = Admin {
        user: RwSignal::new(None),
        result: RwSignal::new(None),
        progress: RwSignal::new(None),
        history: RwSignal::new(Vec::new()),
        diff_from: RwSignal::new(None),
        diff_to: RwSignal::new(None),
        diff: RwSignal::new(None),
        users: RwSignal::new(Vec::new()),
    };
    // After hydration: who is logged in, then the history and the users.
    Effect::new(move |_| {
        browser! { client::start(admin); }
    });
    view! {
        <main class="admin-page">
            <header class="admin-head">
                <h1>"Project administration"</h1>
                <nav><a rel="external" href="/">"Panel"</a> " · " <a rel="external" href="/status">"Status"</a></nav>
                <div class="admin-session">
                    <span>"Logged in as " <strong id="admin-user">{move || admin.user.get()}</strong></span>
                    <form method="post" action="/logout">
                        <button type="submit">"Log out"</button>
                    </form>
                </div>
            </header>

            <Answer admin/>

            <Login/>
            <Projects admin/>
            <Upload admin/>
            <Apply admin/>

            <History admin/>
            <Users admin/>
        </main>
    }
}

/// The login form, shown until an admin is logged in (the stylesheet
/// reads `data-admin`).
#[component]
fn Login() -> impl IntoView {
    view! {
        <section class="admin-login">
            <h2>"Log in"</h2>
            <p>"An admin user of this controller (create one with "
                <code>"roomctl user add NAME --role admin"</code>")."</p>
            <form method="post" action="/login">
                <input type="hidden" name="next" value="/admin"/>
                <label>"User " <input name="user" autocomplete="username" required/></label>
                <label>"Password " <input name="password" type="password" autocomplete="current-password" required/></label>
                <button type="submit">"Log in"</button>
            </form>
        </section>
    }
}

/// What runs and what is stored, and the stored files.
#[component]
fn Projects(admin: Admin) -> impl IntoView {
    view! {
        <section>
            <h2>"Projects"</h2>
            <p><a rel="external" href="/admin/api/info" data-show="info" on:click=move |ev| {
                ev.prevent_default();
                browser! { client::show_get(admin, "/admin/api/info"); }
            }>"What runs, what is stored"</a></p>
            <p>
                "Download: "
                <a rel="external" href="/admin/api/project/active">"active"</a> " · "
                <a rel="external" href="/admin/api/project/previous">"previous"</a> " · "
                <a rel="external" href="/admin/api/project/pending">"uploaded (not applied)"</a>
            </p>
        </section>
    }
}

/// A project file up, checked before it is kept, its progress shown.
#[component]
fn Upload(admin: Admin) -> impl IntoView {
    view! {
        <section>
            <h2>"Upload a project"</h2>
            <p>"The file is checked first; an invalid project is refused with each error's line and field, and nothing changes."</p>
            <form id="upload-form" method="post" action="/admin/api/upload" enctype="multipart/form-data" on:submit=move |ev| {
                ev.prevent_default();
                browser! { client::upload(admin, ev); }
            }>
                <label>"Project file " <input type="file" name="project" accept=".toml,text/plain" required/></label>
                <progress id="upload-progress" max="100" prop:value=move || admin.progress.get().unwrap_or(0.0)
                    hidden=move || admin.progress.get().is_none() aria-label="Upload progress"></progress>
                <button type="submit">"Upload"</button>
            </form>
        </section>
    }
}

/// Validate, apply, roll back: posted, answered in the page.
#[component]
fn Apply(admin: Admin) -> impl IntoView {
    let post = move |ev: SubmitEvent| {
        ev.prevent_default();
        browser! { client::post_action(admin, ev); }
    };
    view! {
        <section>
            <h2>"Apply"</h2>
            <div class="admin-actions">
                <form method="post" action="/admin/api/validate" on:submit=post>
                    <button type="submit">"Validate the uploaded project"</button>
                </form>
                <form method="post" action="/admin/api/apply" on:submit=post>
                    <button type="submit">"Apply the uploaded project"</button>
                </form>
                <form method="post" action="/admin/api/rollback" on:submit=post>
                    <button type="submit">"Roll back to the previous project"</button>
                </form>
            </div>
            <p>"Applying replaces the running project at once on every panel, central-control client and keypad; the project it replaces is kept for roll-back and in the history."</p>
        </section>
    }
}

/// The last answer, in the controller's words.
#[component]
fn Answer(admin: Admin) -> impl IntoView {
    let class = move || match admin.result.get() {
        Some((true, ..)) => "admin-result ok",
        Some((false, ..)) => "admin-result error",
        None => "admin-result",
    };
    view! {
        <div id="admin-result" class=class role="status" aria-live="polite">
            {move || admin.result.get().map(|(_, title, text)| view! { <h2>{title}</h2><pre>{text}</pre> })}
        </div>
    }
}

/// A string field of an answer (empty when absent).
pub(crate) fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[component]
fn History(admin: Admin) -> impl IntoView {
    let pick = move |name: &'static str, id: String, selected: RwSignal<Option<String>>| {
        let mine = id.clone();
        view! {
            <label>
                <input type="radio" name=format!("diff-{name}") value=id.clone()
                    prop:checked=move || selected.get().as_deref() == Some(mine.as_str())
                    on:change=move |_| selected.set(Some(id.clone()))/>
                {format!(" {name}")}
            </label>
        }
    };
    let rows = move || {
        let history = admin.history.get();
        let entries = history.iter().map(|e| {
            let id = text(e, "id");
            let restore = id.clone();
            view! {
                <tr data-id=id.clone()>
                    <td>{format!("#{id}")}</td>
                    <td>{local_time(e["time"].as_f64().unwrap_or(0.0))}</td>
                    <td>{format!("{} via {}", text(e, "action"), text(e, "via"))}</td>
                    <td>{text(e, "user")}</td>
                    <td>{format!("\"{}\" revision {}", text(e, "name"), text(e, "revision"))}</td>
                    <td><span>{pick("from", id.clone(), admin.diff_from)}" "{pick("to", id.clone(), admin.diff_to)}</span></td>
                    <td><button type="button" on:click=move |_| {
                        browser! { client::show_post(admin, &format!("/admin/api/restore/{restore}")); }
                    }>{format!("Restore #{id}")}</button></td>
                </tr>
            }
        }).collect_view();
        (!history.is_empty()).then(|| view! {
            <tr>
                <td></td><td>"now"</td><td>"running"</td><td></td><td>"the running project"</td>
                <td>{pick("to", "running".into(), admin.diff_to)}</td><td></td>
            </tr>
            {entries}
            <tr><td colspan="7"><button type="button" id="compare" on:click=move |_| { browser! { client::compare(admin); } }>"Compare"</button></td></tr>
        })
    };
    view! {
        <section>
            <h2>"History"</h2>
            <p>"Every applied project, newest first. Pick two to compare (or one against the running project); restoring one makes it the uploaded project, to check and apply."</p>
            // Wider than a phone: scrolls sideways (focusable, so keyboard
            // users can scroll it too).
            <div class="table-scroll" tabindex="0" role="region" aria-label="History of applied projects">
            <table class="history">
                <thead>
                    <tr>
                        <th scope="col">"#"</th>
                        <th scope="col">"When"</th>
                        <th scope="col">"What"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"Project"</th>
                        <th scope="col">"Compare"</th>
                        <th scope="col">"Restore"</th>
                    </tr>
                </thead>
                <tbody id="history-rows">{rows}</tbody>
            </table>
            </div>
            <p><a rel="external" href="/admin/api/history">"The history as text"</a></p>
            <div id="diff" class="diff">{move || admin.diff.get().map(|d| view! { <Diff d/> })}</div>
        </section>
    }
}

/// `secs` since 1970 in the browser's local time and manner; nothing on
/// the server, which never renders a history row (the page loads them).
fn local_time(secs: f64) -> String {
    #[cfg(feature = "admin")]
    return client::local_time(secs);
    #[cfg(not(feature = "admin"))]
    String::new()
}

/// A user's API address, the name percent-encoded as
/// `encodeURIComponent` would.
fn user_url(name: &str) -> String {
    let mut url = String::from("/admin/api/users/");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// Two versions compared: the changes in words, then the lines.
#[component]
fn Diff(d: Value) -> impl IntoView {
    view! {
        <h3>{format!("From {} to {}", text(&d, "from"), text(&d, "to"))}</h3>
        {crate::diff::diff_body(&d)}
    }
}

#[component]
fn Users(admin: Admin) -> impl IntoView {
    let rows = move || {
        admin
            .users
            .get()
            .into_iter()
            .map(|u| view! { <UserRow admin u/> })
            .collect_view()
    };
    view! {
        <section class="admin-users">
            <h2>"Users"</h2>
            <p>"Who may log in, on every service (panels that need a login, this page, central control, Telnet, FTP). A change holds at once, is written to the audit trail, and logs the user out; the last admin cannot be removed or demoted."</p>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Users">
            <table class="users">
                <thead>
                    <tr>
                        <th scope="col">"User"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Password"</th>
                        <th scope="col">"Remove"</th>
                    </tr>
                </thead>
                <tbody id="user-rows">{rows}</tbody>
            </table>
            </div>
            <p><a rel="external" href="/admin/api/users">"The users as text"</a></p>
            <h3>"Add a user"</h3>
            <form id="user-add" method="post" action="/admin/api/users" on:submit=move |ev| {
                ev.prevent_default();
                browser! { client::add_user(admin, ev); }
            }>
                <label>"Name " <input name="name" autocomplete="off" required=true maxlength="64" pattern="[A-Za-z0-9_.\\-]+" title="Letters, digits, '_', '-' or '.'"/></label>
                <label>"Role "
                    <select name="role">
                        <option value="viewer">"viewer: sees the status"</option>
                        <option value="operator" selected=true>"operator: presses buttons"</option>
                        <option value="admin">"admin: project, settings and users"</option>
                    </select>
                </label>
                <label>"Their password " <input name="password" type="password" autocomplete="new-password" minlength="8" required=true/></label>
                <button type="submit">"Add user"</button>
            </form>
        </section>
    }
}

/// One user: role, password reset, remove.
#[component]
fn UserRow(admin: Admin, u: Value) -> impl IntoView {
    let name = text(&u, "name");
    let you = u["you"].as_bool().unwrap_or(false);
    let role = RwSignal::new(text(&u, "role"));
    let password = RwSignal::new(String::new());
    let base = user_url(&name);
    let (save, reset, remove) = (base.clone(), base.clone(), base);
    let who = name.clone();
    let options = ["viewer", "operator", "admin"].map(|r| {
        view! { <option value=r selected=move || role.get() == r>{r}</option> }
    });
    view! {
        <tr data-user=name.clone()>
            <th scope="row">{if you { format!("{name} (you)") } else { name.clone() }}</th>
            <td>
                <select aria-label=format!("Role of {name}") on:change=move |ev| role.set(event_target_value(&ev))>{options}</select>
                " "
                <button type="button" aria-label=format!("Save role of {name}") on:click=move |_| {
                    browser! {
                        let fields = [("role", role.get_untracked())];
                        client::change(admin, &format!("{save}/role"), &fields, None);
                    }
                }>"Save role"</button>
            </td>
            <td>
                <input type="password" autocomplete="new-password" minlength="8" aria-label=format!("New password for {name}")
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                " "
                <button type="button" aria-label=format!("Reset password of {name}") on:click=move |_| {
                    browser! {
                        let fields = [("password", password.get_untracked())];
                        client::change(admin, &format!("{reset}/password"), &fields, Some(password));
                    }
                }>"Reset password"</button>
            </td>
            <td>
                <button type="button" aria-label=format!("Remove {name}") on:click=move |_| {
                    browser! {
                        if client::confirm(&format!("Remove {who}? They can no longer log in.")) {
                            client::change(admin, &format!("{remove}/remove"), &[], None);
                        }
                    }
                }>"Remove"</button>
            </td>
        </tr>
    }
}
