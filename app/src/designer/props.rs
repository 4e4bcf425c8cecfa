//! The property panel beside the grid: the selected tile's place on the
//! page, and the button or level it shows (edited for every page).

use leptos::prelude::*;
use serde_json::Value;

use controller_core::project::vocab::Vocabulary;
use controller_core::project::Orientation;

use super::button::button_fields;
use super::canvas::remove_place;
use super::fields::{input, plain, select, Opts};
use super::lists::level_fields;
use super::path;
use super::state::{Designer, Kind};

pub fn props(d: Designer) -> impl IntoView {
    view! {
        <aside class="props" aria-labelledby="props-title">
            <h2 id="props-title" class="props-title">"Properties"</h2>
            {move || {
                let sel = d.sel.get();
                let (pi, gi) = (d.panel.get(), d.page.get());
                match sel {
                    Some((kind, i)) if d.model.with_untracked(|m| path::get(m, &tile_path(pi, gi, kind, i)).is_some()) =>
                        selected(d, pi, gi, kind, i).into_any(),
                    _ => view! { <p class="hint">"Select a tile to edit it."</p> }.into_any(),
                }
            }}
        </aside>
    }
}

fn tile_path(pi: usize, gi: usize, kind: Kind, i: usize) -> String {
    format!("panels[{pi}].pages[{gi}].{}[{i}]", kind.key())
}

fn selected(d: Designer, pi: usize, gi: usize, kind: Kind, i: usize) -> impl IntoView {
    let base = tile_path(pi, gi, kind, i);
    let at = |f: &str| format!("{base}.{f}");
    let orientations = Signal::stored(plain(Orientation::names()));
    view! {
        <section class="card">
            <h3>"Place on this page"</h3>
            <div class="row">{input(d, "Row", at("row"), Opts::number())}{input(d, "Column", at("col"), Opts::number())}</div>
            <div class="row">{input(d, "Width", at("width"), Opts::number())}{input(d, "Height", at("height"), Opts::number())}</div>
            {(kind == Kind::Levels).then(|| select(d, "Orientation", at("orientation"), orientations, Opts::default().default_is("vertical")))}
            {(kind == Kind::Texts).then(|| input(d, "Text", at("text"), Opts::default().hint("a template: {name} shows a variable or level")))}
            <button type="button" class="small" on:click=move |_| remove_place(d, pi, gi, kind, i)>"Remove from page"</button>
        </section>
        {match kind {
            Kind::Buttons => shown(d, base.clone(), "button", "buttons").into_any(),
            Kind::Levels => shown(d, base.clone(), "level", "levels").into_any(),
            Kind::Texts => ().into_any(),
        }}
    }
}

/// The button or level a place shows (by id), or a pick of one when the
/// id names none.
fn shown(d: Designer, base: String, key: &'static str, list: &'static str) -> impl IntoView {
    let place_at = format!("{base}.{key}");
    let index = {
        let place_at = place_at.clone();
        Memo::new(move |_| {
            d.model.with(|m| {
                let id = path::get(m, &place_at).cloned().unwrap_or(Value::Null);
                m[list]
                    .as_array()
                    .and_then(|l| l.iter().position(|x| x["id"] == id))
            })
        })
    };
    let ids = d.ids(list);
    move || {
        match (index.get(), list) {
        (Some(i), "buttons") => view! {
            <section class="card"><h3>"Button (on every page that places it)"</h3>{button_fields(d, i)}</section>
        }
        .into_any(),
        (Some(i), _) => view! { <section class="card"><h3>"Level"</h3>{level_fields(d, i)}</section> }.into_any(),
        (None, _) => select(d, "Button", place_at.clone(), Signal::derive(move || plain(ids.get())), Opts::default()),
    }
    }
}
