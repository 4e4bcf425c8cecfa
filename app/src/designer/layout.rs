//! The layout editor: panels, their pages as tabs, and the page's grid
//! where buttons, levels and text tiles are placed, moved and resized by
//! mouse or keyboard ([`canvas`]).

use leptos::prelude::*;
use serde_json::{json, Value};

use controller_core::project::vocab::Vocabulary;
use controller_core::project::PanelProfile;

use super::fields::{input, plain, select, small, Opts};
use super::path;
use super::state::{Designer, Kind};

fn index(s: &str) -> Option<(usize, &str)> {
    let (n, rest) = s.split_once(']')?;
    Some((n.parse().ok()?, rest))
}

/// Where in the layout a path is: panel, page, tile.
type Place = (usize, Option<usize>, Option<(Kind, usize)>);

/// `(panel, page, tile)` of a path under `panels[..]`.
pub fn place_of(at: &str) -> Option<Place> {
    let (panel, rest) = index(at.strip_prefix("panels[")?)?;
    let Some(rest) = rest.strip_prefix(".pages[") else {
        return Some((panel, None, None));
    };
    let (page, rest) = index(rest)?;
    let tile = rest.strip_prefix('.').and_then(|r| {
        let (kind, r) = r.split_once('[')?;
        let (n, _) = index(r)?;
        Some((Kind::from_key(kind)?, n))
    });
    Some((panel, Some(page), tile))
}

pub fn layout(d: Designer) -> AnyView {
    let panels = Memo::new(move |_| d.model.with(|m| path::len(m, "panels")));
    view! {
        <div class="layout">
            {move || if panels.get() == 0 {
                view! {
                    <p>"This project has no panel yet."</p>
                    {small("Add a panel", None, move || add_panel(d))}
                }.into_any()
            } else {
                // Another panel picked: its editor anew.
                let _ = d.panel.get();
                panel_editor(d).into_any()
            }}
        </div>
    }
    .into_any()
}

fn add_panel(d: Designer) {
    d.edit(None, |m| {
        let taken = path::ids(m, "panels");
        let id = path::unique_id("panel", &taken);
        if let Some(list) = path::list(m, "panels") {
            list.push(
                json!({"id": id, "name": "New panel", "profile": "tablet", "columns": 4, "rows": 3,
                "pages": [{"id": "main", "title": "Main", "buttons": []}]}),
            );
            d.panel.set(list.len() - 1);
        }
        d.page.set(0);
        d.sel.set(None);
    });
}

fn panel_editor(d: Designer) -> impl IntoView {
    let pi = d.panel.get_untracked();
    let choices = Memo::new(move |_| {
        d.model.with(|m| {
            m["panels"].as_array().map_or(Vec::new(), |ps| {
                ps.iter()
                    .enumerate()
                    .map(|(i, p)| {
                        (
                            i.to_string(),
                            format!("{} ({})", text(&p["name"]), text(&p["id"])),
                        )
                    })
                    .collect()
            })
        })
    });
    let pick = Opts::default()
        .shows(move |_| d.panel.get().to_string())
        .on_set(move |_, v| {
            d.panel.set(v.parse().unwrap_or(0));
            d.page.set(0);
            d.sel.set(None);
        });
    view! {
        <div class="row panel-pick">
            {select(d, "Panel", "ui.panel".into(), choices.into(), pick)}
            {small("Add panel", None, move || add_panel(d))}
        </div>
        {panel_settings(d, pi)}
        {page_tabs(d, pi)}
        {move || { let _ = d.page.get(); page_editor(d, pi) }}
    }
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn panel_settings(d: Designer, pi: usize) -> impl IntoView {
    let base = format!("panels[{pi}]");
    let at = move |f: &str| format!("{base}.{f}");
    let profiles = Signal::stored(plain(PanelProfile::names()));
    view! {
        // Stays open across edits (its state is the designer's, not the element's).
        <details class="panel-settings" open=move || d.settings_open.get()>
            <summary on:click=move |ev| { ev.prevent_default(); d.settings_open.update(|o| *o = !*o); }>"Panel settings"</summary>
            <div class="row">
                {input(d, "Id", at("id"), Opts::default())}
                {input(d, "Name", at("name"), Opts::default())}
                {select(d, "Profile", at("profile"), profiles, Opts::default().default_is("tablet"))}
            </div>
            <div class="row">
                {input(d, "Columns", at("columns"), Opts::number())}
                {input(d, "Rows", at("rows"), Opts::number())}
                {input(d, "PIN", at("pin"), Opts::optional().hint("4–12 digits; none: no PIN"))}
                {input(d, "Idle seconds", at("idle_secs"), Opts { number: true, optional: true, ..Opts::default() }.hint("back to the first page"))}
            </div>
            {summary_editor(d, pi)}
            {small("Remove this panel", None, move || d.edit(None, |m| {
                if let Some(list) = path::list(m, "panels") { list.remove(pi); }
                d.panel.set(0);
                d.page.set(0);
                d.sel.set(None);
            }))}
        </details>
    }
}

/// A panel's summary bar: templates shown side by side above the pages.
fn summary_editor(d: Designer, pi: usize) -> impl IntoView {
    let base = format!("panels[{pi}].summary");
    d.register(&base);
    let count = {
        let base = base.clone();
        Memo::new(move |_| d.model.with(|m| path::len(m, &base)))
    };
    let lines = {
        let base = base.clone();
        move || {
            (0..count.get())
                .map(|j| summary_line(d, &base, j))
                .collect_view()
        }
    };
    let add = {
        let base = base.clone();
        move || {
            d.edit(None, |m| {
                let first = path::ids(m, "variables").into_iter().next();
                if let Some(list) = path::list(m, &base) {
                    list.push(Value::String(
                        first.map_or("Text".into(), |v| format!("{{{v}}}")),
                    ));
                }
            })
        }
    };
    view! {
        <fieldset class="summary-editor" data-path=base>
            <legend>"Summary bar"</legend>
            <p class="hint">"Shown above the pages on this panel, side by side: templates such as \"Display {projector_state}\" or \"Volume {volume} dB\"."</p>
            {lines}
            <button type="button" class="small" id="add-summary" on:click=move |_| add()>"Add summary entry"</button>
        </fieldset>
    }
}

fn summary_line(d: Designer, base: &str, j: usize) -> impl IntoView {
    let (up_base, rm_base) = (base.to_string(), base.to_string());
    let up = move || {
        d.edit(None, |m| {
            if let Some(list) = path::list(m, &up_base) {
                list.swap(j - 1, j);
            }
        })
    };
    let remove = move || {
        d.edit(None, |m| {
            let empty = path::list(m, &rm_base).map(|l| {
                l.remove(j);
                l.is_empty()
            });
            if empty == Some(true) {
                path::set(m, &rm_base, None);
            }
        })
    };
    view! {
        <div class="row">
            {input(d, format!("Summary {}", j + 1), format!("{base}[{j}]"), Opts::default().convert(|_, t| Some(Value::String(t.into()))))}
            <div class="field actions">
                <button type="button" class="small" disabled=j == 0 aria-label=format!("Move summary {} up", j + 1) on:click=move |_| up()>"Up"</button>
                {small("Remove", Some(format!("Remove summary {}", j + 1)), remove)}
            </div>
        </div>
    }
    .into_any()
}

fn page_tabs(d: Designer, pi: usize) -> impl IntoView {
    let titles = Memo::new(move |_| {
        d.model.with(|m| {
            m["panels"][pi]["pages"]
                .as_array()
                .map_or(Vec::new(), |pages| {
                    pages
                        .iter()
                        .map(|p| {
                            let title = p["title"].as_str().unwrap_or("");
                            if title.is_empty() {
                                text(&p["id"])
                            } else {
                                title.to_string()
                            }
                        })
                        .collect::<Vec<_>>()
                })
        })
    });
    let add_page = move || {
        d.edit(None, |m| {
            let at = format!("panels[{pi}].pages");
            let id = path::unique_id("page", &path::ids(m, &at));
            if let Some(list) = path::list(m, &at) {
                list.push(json!({"id": id, "title": "New page", "buttons": []}));
                d.page.set(list.len() - 1);
            }
            d.sel.set(None);
        })
    };
    view! {
        <div class="row page-row">
            <div class="page-tabs" role="tablist" aria-label="Pages">
                {move || titles.get().into_iter().enumerate().map(|(i, title)| {
                    let at = format!("panels[{pi}].pages[{i}]");
                    d.register(&at);
                    view! {
                        <button type="button" role="tab" data-path=at
                            aria-selected=move || (d.page.get() == i).to_string()
                            on:click=move |_| { d.page.set(i); d.sel.set(None); }>{title}</button>
                    }
                }).collect_view()}
            </div>
            <button type="button" class="small" id="add-page" on:click=move |_| add_page()>"Add page"</button>
        </div>
    }
}

fn page_editor(d: Designer, pi: usize) -> AnyView {
    let gi = d.page.get_untracked();
    let exists = d
        .model
        .with_untracked(|m| path::get(m, &format!("panels[{pi}].pages[{gi}]")).is_some());
    if !exists {
        return ().into_any();
    }
    let base = format!("panels[{pi}].pages[{gi}]");
    let pages = Memo::new(move |_| {
        d.model
            .with(|m| path::len(m, &format!("panels[{pi}].pages")))
    });
    let icons = Signal::stored(plain(controller_core::icons::NAMES));
    let move_page = move |by: isize| {
        d.edit(None, |m| {
            if let Some(list) = path::list(m, &format!("panels[{pi}].pages")) {
                let to = gi.saturating_add_signed(by);
                let page = list.remove(gi);
                list.insert(to, page);
                d.page.set(to);
            }
        })
    };
    let remove = move || {
        d.edit(None, |m| {
            if let Some(list) = path::list(m, &format!("panels[{pi}].pages")) {
                list.remove(gi);
            }
            d.page.set(gi.saturating_sub(1));
            d.sel.set(None);
        })
    };
    view! {
        <div class="row">
            {input(d, "Page title", format!("{base}.title"), Opts::default())}
            {input(d, "Page id", format!("{base}.id"), Opts::default())}
            {select(d, "Page icon", format!("{base}.icon"), icons, Opts::optional())}
            <div class="field actions">
                <button type="button" class="small" disabled=gi == 0 on:click=move |_| move_page(-1)>"Move left"</button>
                <button type="button" class="small" disabled={move || gi + 1 >= pages.get()} on:click=move |_| move_page(1)>"Move right"</button>
                <button type="button" class="small" disabled={move || pages.get() <= 1} on:click=move |_| remove()>"Remove page"</button>
            </div>
        </div>
        {palette(d, pi, gi)}
        {super::canvas::canvas(d, pi, gi)}
        <p class="hint">"Drag a tile to move it, or select it and use the arrow keys (Shift+arrows resize, Delete removes it from the page). Drag the corner to resize."</p>
    }
    .into_any()
}

/// Choices of a list's items: (id, "Label (id)").
fn labelled(d: Designer, list: &'static str) -> Memo<Vec<(String, String)>> {
    Memo::new(move |_| {
        d.model.with(|m| {
            m[list].as_array().map_or(Vec::new(), |items| {
                items
                    .iter()
                    .map(|i| {
                        (
                            text(&i["id"]),
                            format!("{} ({})", text(&i["label"]), text(&i["id"])),
                        )
                    })
                    .collect()
            })
        })
    })
}

/// What can be added to the page: a new button, a button or level of the
/// project, a text tile.
fn palette(d: Designer, pi: usize, gi: usize) -> impl IntoView {
    let (buttons, levels) = (labelled(d, "buttons"), labelled(d, "levels"));
    let button = RwSignal::new(String::new());
    let level = RwSignal::new(String::new());
    let picked = |s: RwSignal<String>, choices: Memo<Vec<(String, String)>>| {
        let now = s.get_untracked();
        if now.is_empty() {
            choices.get_untracked().first().map(|c| c.0.clone())
        } else {
            Some(now)
        }
    };
    view! {
        <div class="palette" aria-label="Add to this page">
            <button type="button" id="new-button" on:click=move |_| super::canvas::place_new(d, pi, gi)>"New button"</button>
            <select id="place-existing" aria-label="Button to place" on:change=move |ev| button.set(event_target_value(&ev))>
                {move || buttons.get().into_iter().map(|(v, t)| view! { <option value=v>{t}</option> }).collect_view()}
            </select>
            {small("Place button", None, move || if let Some(b) = picked(button, buttons) {
                super::canvas::place(d, pi, gi, Kind::Buttons, json!({"button": b}));
            })}
            {move || (!levels.get().is_empty()).then(|| view! {
                <select id="place-level" aria-label="Level to place" on:change=move |ev| level.set(event_target_value(&ev))>
                    {move || levels.get().into_iter().map(|(v, t)| view! { <option value=v>{t}</option> }).collect_view()}
                </select>
                {small("Place level", None, move || if let Some(l) = picked(level, levels) {
                    super::canvas::place(d, pi, gi, Kind::Levels, json!({"level": l}));
                })}
            })}
            {small("Add text tile", None, move || super::canvas::place(d, pi, gi, Kind::Texts, json!({"text": "Text"})))}
        </div>
    }
}
