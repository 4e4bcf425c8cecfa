//! The Project Designer (`/designer`): build and edit a room's project in
//! the browser, validated live by controller-core's own validator compiled
//! into this screen's bundle (`pkg/designer.wasm`, the `designer` feature;
//! the `designer` crate's checks), the edit written back into the
//! installer's TOML with its comments and order, saved as the pending
//! project and applied through the admin API (`/admin/api/*`, the admin
//! page's session), with the real panel as a live preview beside it.
//!
//! The server renders the page's frame; the browser's bundle opens the
//! project and renders the editors ([`client`] talks to the controller).

// The server renders the frame only; the editors' handlers run in the
// browser's bundle.
#![cfg_attr(not(feature = "designer"), allow(dead_code, unused_imports))]

mod button;
mod canvas;
#[cfg(feature = "designer")]
mod client;
mod fields;
mod grid;
mod layout;
mod lists;
mod path;
#[cfg(feature = "designer")]
mod preview;
mod props;
mod resize;
mod rules;
mod state;
mod steps;

use leptos::prelude::*;
use leptos_meta::Title;

use state::{Designer, Section};

#[component]
pub fn DesignerPage() -> impl IntoView {
    let d = Designer::new();
    let user = admin_user();
    let shown = user.clone();
    // Whether a project is open (not every edit: the editors stay).
    let opened = Memo::new(move |_| !d.model.with(serde_json::Value::is_null));
    Effect::new(move |_| {
        #[cfg(feature = "designer")]
        client::start(d);
    });
    view! {
        <Title text="Project Designer · roomctl"/>
        <div id="designer" class="designer" data-user=user>
            <header class="designer-head">
                <h1>"Project Designer"</h1>
                <nav aria-label="Pages">
                    <a rel="external" href="/admin">"Admin"</a>" · "
                    <a rel="external" href="/status">"Status"</a>" · "
                    <a rel="external" href="/">"Panel"</a>
                </nav>
                <span class="designer-session">"Logged in as " <strong>{shown}</strong></span>
                <form method="post" action="/logout"><button type="submit">"Log out"</button></form>
            </header>
            <main id="designer-main">
                {move || if !opened.get() {
                    view! {
                        <p id="designer-loading" role="status">"Loading the designer…"</p>
                        <noscript><p>"The designer needs JavaScript. Projects can also be uploaded as files on the "<a href="/admin">"admin page"</a>"."</p></noscript>
                    }.into_any()
                } else {
                    work(d).into_any()
                }}
                {preview(d)}
            </main>
        </div>
    }
}

/// The admin the page is for: the server's gate names them in the
/// request; the browser reads what the server wrote.
fn admin_user() -> String {
    #[cfg(feature = "ssr")]
    let user = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<crate::AdminUser>().map(|u| u.0.clone()));
    #[cfg(all(feature = "designer", not(feature = "ssr")))]
    let user = document()
        .get_element_by_id("designer")
        .and_then(|e| e.get_attribute("data-user"));
    #[cfg(not(any(feature = "ssr", feature = "designer")))]
    let user: Option<String> = None;
    user.unwrap_or_default()
}

/// Everything but the preview.
fn work(d: Designer) -> impl IntoView {
    view! {
        <div id="designer-work">
            {toolbar(d)}
            {fresh_note(d)}
            <div class="designer-grid" class:no-props=move || d.section.get() != Section::Layout>
                {sections_nav(d)}
                <div class="workspace">{move || editor(d, d.section.get())}</div>
                {move || (d.section.get() == Section::Layout).then(|| props::props(d))}
            </div>
            {errors_panel(d)}
            {output_panel(d)}
        </div>
    }
}

fn editor(d: Designer, section: Section) -> AnyView {
    match section {
        Section::Layout => layout::layout(d),
        Section::Project => rules::project(d),
        other => lists::list(d, other),
    }
}

fn fresh_note(d: Designer) -> impl IntoView {
    move || {
        d.fresh.get().then(|| {
            let demo = d.which.get() == "demo";
            let words = if demo {
                "You are editing a copy of the demo."
            } else {
                "You are editing a new, empty project."
            };
            view! {
                <section id="fresh-note" class="fresh-note" aria-label="A new installation">
                    <p>"This controller has no project of its own yet: it runs the built-in demo until you apply one. " {words}</p>
                    {(!demo).then(|| view! {
                        <button type="button" id="start-from-demo" on:click=move |_| open(d, "demo".into())>"Start from the demo"</button>
                    })}
                </section>
            }
        })
    }
}

fn open(d: Designer, which: String) {
    #[cfg(feature = "designer")]
    client::open_version(d, which);
    #[cfg(not(feature = "designer"))]
    let _ = (d, which);
}

fn toolbar(d: Designer) -> impl IntoView {
    let which = RwSignal::new(d.which.get_untracked());
    Effect::new(move |_| which.set(d.which.get()));
    let count = move || d.errors.with(Vec::len);
    view! {
        <div class="toolbar" role="toolbar" aria-label="Designer">
            <div class="group">
                <select id="open-which" aria-label="Project to open" prop:value=move || which.get()
                    on:change=move |ev| which.set(event_target_value(&ev))>
                    <option value="running">"The running project"</option>
                    <option value="pending">"The uploaded (pending) project"</option>
                    <option value="new">"A new, empty project"</option>
                    <option value="demo">"The built-in demo"</option>
                    {move || d.history.get().into_iter().map(|e| {
                        let id = e["id"].to_string();
                        let name = e["name"].as_str().unwrap_or("").to_string();
                        let words = format!("History #{id}: \"{name}\" revision {}", e["revision"]);
                        view! { <option value=id.clone() selected=move || which.get() == id>{words}</option> }
                    }).collect_view()}
                </select>
                <button type="button" on:click=move |_| open(d, which.get_untracked())>"Open"</button>
            </div>
            <span class="opened">{move || { let o = d.opened.get(); if o.is_empty() { o } else { format!("Editing {o}") } }}</span>
            <div class="group">
                <button type="button" id="undo" title="Ctrl+Z" disabled=move || d.depth.get().0 == 0 on:click=move |_| d.undo()>"Undo"</button>
                <button type="button" id="redo" title="Ctrl+Y" disabled=move || d.depth.get().1 == 0 on:click=move |_| d.redo()>"Redo"</button>
            </div>
            <span id="error-count" class=move || bad_or_good(count()) role="status" aria-live="polite">
                {move || match count() { 0 => "No errors".to_string(), 1 => "1 error".into(), n => format!("{n} errors") }}
            </span>
            <div class="group">
                <button type="button" on:click=move |_| d.preview.update(|p| *p = if p.is_some() { None } else { Some("tablet") })>
                    {move || if d.preview.get().is_some() { "Close preview" } else { "Preview" }}
                </button>
                <button type="button" id="save" class="primary" disabled={move || count() > 0} on:click=move |_| save(d)>"Save as pending"</button>
                <button type="button" id="apply" disabled=move || !d.saved.get() on:click=move |_| apply(d)>"Apply"</button>
            </div>
        </div>
    }
}

fn bad_or_good(errors: usize) -> &'static str {
    if errors > 0 {
        "bad"
    } else {
        "good"
    }
}

fn save(d: Designer) {
    #[cfg(feature = "designer")]
    client::save(d);
    #[cfg(not(feature = "designer"))]
    let _ = d;
}

fn apply(d: Designer) {
    #[cfg(feature = "designer")]
    client::apply(d);
    #[cfg(not(feature = "designer"))]
    let _ = d;
}

fn sections_nav(d: Designer) -> impl IntoView {
    view! {
        <nav class="sections" aria-label="Project parts">
            {Section::ALL.into_iter().map(|(section, name)| {
                let count = move || d.errors.with(|e| e.iter().filter(|e| Section::of(&e.path) == section).count());
                view! {
                    <button type="button" aria-current=move || (d.section.get() == section).then_some("page")
                        on:click=move |_| d.section.set(section)>
                        {name}
                        {move || { let n = count(); (n > 0).then(|| view! {
                            <span class="badge" aria-label=format!("{n} errors")>{n}</span>
                        }) }}
                    </button>
                }
            }).collect_view()}
        </nav>
    }
}

fn errors_panel(d: Designer) -> impl IntoView {
    view! {
        <section class="errors" aria-label="Errors" hidden=move || d.errors.with(Vec::is_empty)>
            <h2>"Errors"</h2>
            <ul id="error-list">
                {move || d.errors.get().into_iter().map(|e| {
                    let line = if e.line > 0 { format!("line {}: ", e.line) } else { String::new() };
                    let at = if e.path.is_empty() { String::new() } else { format!("{}: ", e.path) };
                    let words = format!("{line}{at}{}", e.message);
                    view! { <li><button type="button" class="link" on:click=move |_| go_to(d, &e.path)>{words}</button></li> }
                }).collect_view()}
            </ul>
        </section>
    }
}

/// Shows the control an error is about: its section, panel, page and tile.
fn go_to(d: Designer, at: &str) {
    d.section.set(Section::of(at));
    if let Some((panel, page, tile)) = layout::place_of(at) {
        d.panel.set(panel);
        if let Some(page) = page {
            d.page.set(page);
        }
        if tile.is_some() {
            d.sel.set(tile);
        }
    }
    #[cfg(feature = "designer")]
    client::focus_control(d, at.to_string());
}

fn output_panel(d: Designer) -> impl IntoView {
    view! {
        <section id="output" role="status" aria-live="polite"
            class=move || d.output.with(|o| match o { Some(o) if o.ok => "output ok", Some(_) => "output error", None => "output" })
            hidden=move || d.output.with(Option::is_none)>
            {move || d.output.get().map(|o| view! {
                <h2>{o.title}</h2>
                <pre>{o.text}</pre>
                {o.diff.map(diff_view)}
            })}
        </section>
    }
}

fn diff_view(diff: serde_json::Value) -> impl IntoView {
    view! {
        <h3>"What changed, against the running project"</h3>
        {crate::diff::diff_body(&diff)}
    }
}

/// The screen sizes the preview shows the panel at: (key, width, height, words).
pub const SIZES: [(&str, u32, u32, &str); 3] = [
    ("tablet", 1024, 768, "Tablet"),
    ("wall", 1280, 800, "Wall panel"),
    ("phone", 390, 844, "Phone"),
];

/// The live preview: the real panel in a frame, over a preview controller
/// (server/src/services/http/preview.rs). Made once: its frame is never
/// re-created (that would reload it); [`client`] points it at the panel.
fn preview(d: Designer) -> impl IntoView {
    view! {
        <section class="preview" id="preview" aria-label="Preview" hidden=move || d.preview.get().is_none()>
            <div class="preview-head">
                <h2>"Preview"</h2>
                <div class="group" role="group" aria-label="Screen size">
                    {SIZES.into_iter().map(|(key, _, _, words)| view! {
                        <button type="button" data-size=key aria-pressed=move || (d.preview.get() == Some(key)).to_string()
                            on:click=move |_| d.preview.set(Some(key))>{words}</button>
                    }).collect_view()}
                </div>
                <p class="hint">"The real panel, running this draft on a preview controller: clicks are a dry run, nothing is sent to any device."</p>
            </div>
            <p id="preview-status" class="hint" role="status" aria-live="polite"></p>
            <div class="preview-device"><iframe id="preview-frame" title="Preview of the panel"></iframe></div>
        </section>
    }
}
