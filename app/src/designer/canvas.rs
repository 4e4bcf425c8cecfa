//! A page's grid: its cells and the tiles placed on them. A tile moves by
//! drag and drop or the arrow keys, resizes by its corner or Shift+arrows,
//! leaves the page with Delete; a click selects it for the property panel.

use leptos::prelude::*;
use serde_json::{json, Value};

use super::grid::{free_cell, grid_size, num, place_mut};
use super::path;
use super::state::{Designer, Kind};

/// `what` placed on the first free cell of the page, and selected.
pub fn place(d: Designer, pi: usize, gi: usize, kind: Kind, mut what: Value) {
    d.edit(None, |m| {
        let (row, col) = free_cell(m, pi, gi);
        for (k, v) in [("row", row), ("col", col), ("width", 1), ("height", 1)] {
            what[k] = json!(v);
        }
        if let Some(list) = path::list(m, &format!("panels[{pi}].pages[{gi}].{}", kind.key())) {
            list.push(what);
            d.sel.set(Some((kind, list.len() - 1)));
        }
    });
}

/// A new button in the project, placed on the page (one undo step).
pub fn place_new(d: Designer, pi: usize, gi: usize) {
    let id = path::unique_id("button", &d.all_ids());
    d.edit(None, |m| {
        if let Some(list) = path::list(m, "buttons") {
            list.push(new_button(&id));
        }
        let (row, col) = free_cell(m, pi, gi);
        if let Some(list) = path::list(m, &format!("panels[{pi}].pages[{gi}].buttons")) {
            list.push(json!({"button": id, "row": row, "col": col, "width": 1, "height": 1}));
            d.sel.set(Some((Kind::Buttons, list.len() - 1)));
        }
    });
}

/// A new button's fields.
pub(super) fn new_button(id: &str) -> Value {
    json!({"id": id, "label": "New button", "kind": "momentary", "color": "green", "led": "state"})
}

pub fn canvas(d: Designer, pi: usize, gi: usize) -> impl IntoView {
    let size = Memo::new(move |_| d.model.with(|m| grid_size(m, pi)));
    // The places on the page (not their positions: a move keeps the tile
    // and its focus).
    let tiles = Memo::new(move |_| {
        d.model.with(|m| {
            let page = &m["panels"][pi]["pages"][gi];
            Kind::ALL
                .into_iter()
                .flat_map(|k| (0..path::len(page, k.key())).map(move |i| (k, i)))
                .collect::<Vec<_>>()
        })
    });
    let dragging = StoredValue::new(None::<(Kind, usize)>);
    let resizing = StoredValue::new(false);
    let grid = NodeRef::<leptos::html::Div>::new();
    let title = move || {
        d.model
            .with(|m| path::text(m, &format!("panels[{pi}].pages[{gi}].title")))
    };
    view! {
        <div class="canvas" id="canvas" role="group" node_ref=grid
            style=move || { let (c, r) = size.get(); format!("--cols:{c};--rows:{r}") }
            aria-label=move || { let (c, r) = size.get(); format!("Grid of page {}, {c} columns by {r} rows", title()) }>
            {move || { let (cols, rows) = size.get(); (0..rows).flat_map(|r| (0..cols).map(move |c| (r, c)))
                .map(|(r, c)| cell(d, pi, gi, r, c, dragging)).collect_view() }}
            {move || tiles.get().into_iter().map(|(kind, i)| tile(d, pi, gi, kind, i, dragging, resizing, grid)).collect_view()}
        </div>
    }
}

fn cell(
    d: Designer,
    pi: usize,
    gi: usize,
    r: i64,
    c: i64,
    dragging: StoredValue<Option<(Kind, usize)>>,
) -> impl IntoView {
    let over = RwSignal::new(false);
    view! {
        <div class="cell" class:over=move || over.get() data-cell=format!("{r},{c}")
            style=format!("grid-row:{};grid-column:{}", r + 1, c + 1)
            on:dragover=move |ev| { ev.prevent_default(); over.set(true); }
            on:dragleave=move |_| over.set(false)
            on:drop=move |ev| {
                ev.prevent_default();
                over.set(false);
                if let Some((kind, i)) = dragging.get_value() { move_to(d, pi, gi, kind, i, r, c); }
            }></div>
    }
}

fn move_to(d: Designer, pi: usize, gi: usize, kind: Kind, i: usize, r: i64, c: i64) {
    d.edit(None, |m| {
        let Some((it, cols, rows)) = place_mut(m, pi, gi, kind, i) else {
            return;
        };
        let (w, h) = (num(it, "width", 1), num(it, "height", 1));
        it["row"] = json!(r.min(rows - h).max(0));
        it["col"] = json!(c.min(cols - w).max(0));
    });
    d.sel.set(Some((kind, i)));
}

/// A tile's words and icon.
fn tile_label(m: &Value, place: &Value, kind: Kind) -> (String, Option<String>) {
    let find = |list: &str, id: &Value| {
        m[list]
            .as_array()
            .and_then(|l| l.iter().find(|x| &x["id"] == id))
            .cloned()
    };
    match kind {
        Kind::Buttons => match find("buttons", &place["button"]) {
            Some(b) => (
                path::text(&b, "label"),
                b["icon"].as_str().map(str::to_string),
            ),
            None => (format!("(no button {})", path::text(place, "button")), None),
        },
        Kind::Levels => match find("levels", &place["level"]) {
            Some(l) => (
                format!(
                    "{} ({})",
                    path::text(&l, "label"),
                    l["kind"].as_str().unwrap_or("fader")
                ),
                None,
            ),
            None => (format!("(no level {})", path::text(place, "level")), None),
        },
        Kind::Texts => (path::text(place, "text"), None),
    }
}

pub fn icon(name: &str, class: &'static str) -> impl IntoView {
    let d = controller_core::icons::path(name);
    view! { <svg viewBox="0 0 24 24" aria-hidden="true" class=class><path d=d/></svg> }
}

#[allow(clippy::too_many_arguments)]
fn tile(
    d: Designer,
    pi: usize,
    gi: usize,
    kind: Kind,
    i: usize,
    dragging: StoredValue<Option<(Kind, usize)>>,
    resizing: StoredValue<bool>,
    grid: NodeRef<leptos::html::Div>,
) -> impl IntoView {
    let at = format!("panels[{pi}].pages[{gi}].{}[{i}]", kind.key());
    d.register(&at);
    let place = {
        let at = at.clone();
        Memo::new(move |_| {
            d.model
                .with(|m| path::get(m, &at).cloned().unwrap_or_default())
        })
    };
    let label = Memo::new(move |_| d.model.with(|m| tile_label(m, &place.get(), kind)));
    let errors = {
        let at = at.clone();
        Memo::new(move |_| d.errors_at(&at))
    };
    let selected = move || d.sel.get() == Some((kind, i));
    let noun = match kind {
        Kind::Buttons => "Button",
        Kind::Levels => "Level",
        Kind::Texts => "Text",
    };
    let style = move || {
        place.with(|p| {
            format!(
                "grid-row:{} / span {};grid-column:{} / span {}",
                num(p, "row", 0) + 1,
                num(p, "height", 1),
                num(p, "col", 0) + 1,
                num(p, "width", 1)
            )
        })
    };
    let aria = move || {
        place.with(|p| {
            format!(
                "{noun} {} at row {}, column {}",
                label.get().0,
                num(p, "row", 0),
                num(p, "col", 0)
            )
        })
    };
    view! {
        <div class=move || format!("tile tile-{}{}", kind.key(), if selected() { " selected" } else { "" })
            class:invalid=move || !errors.get().is_empty()
            aria-invalid=move || (!errors.get().is_empty()).then_some("true")
            title=move || errors.get().first().cloned()
            tabindex="0" role="button" draggable="true" aria-pressed=move || selected().to_string()
            aria-label=aria data-path=at data-tile=format!("{}:{i}", kind.key()) style=style
            on:click=move |_| d.sel.set(Some((kind, i)))
            on:dragstart=move |ev| if resizing.get_value() { ev.prevent_default() } else { dragging.set_value(Some((kind, i))) }
            on:dragend=move |_| dragging.set_value(None)
            on:keydown=move |ev| tile_key(d, pi, gi, kind, i, &ev)>
            {move || label.get().1.map(|name| icon(&name, "tile-icon"))}
            <span class="tile-label">{move || label.get().0}</span>
            {move || (!errors.get().is_empty()).then(|| view! { <span class="tile-error" aria-hidden="true">"!"</span> })}
            <span class="resize" aria-hidden="true" title="Drag to resize"
                on:mousedown=move |ev| { ev.prevent_default(); ev.stop_propagation(); }
                on:pointerdown=move |ev| super::resize::start(d, pi, gi, kind, i, resizing, grid, &ev)></span>
        </div>
    }
}

fn tile_key(
    d: Designer,
    pi: usize,
    gi: usize,
    kind: Kind,
    i: usize,
    ev: &leptos::ev::KeyboardEvent,
) {
    let step = match ev.key().as_str() {
        "ArrowUp" => Some((-1, 0)),
        "ArrowDown" => Some((1, 0)),
        "ArrowLeft" => Some((0, -1)),
        "ArrowRight" => Some((0, 1)),
        "Delete" | "Backspace" => {
            ev.prevent_default();
            remove_place(d, pi, gi, kind, i);
            return;
        }
        "Enter" | " " => {
            ev.prevent_default();
            d.sel.set(Some((kind, i)));
            return;
        }
        _ => None,
    };
    let Some((dr, dc)) = step else { return };
    ev.prevent_default();
    let resize = ev.shift_key();
    let key = format!(
        "{}:{i}:{}",
        kind.key(),
        if resize { "size" } else { "move" }
    );
    d.edit(Some(&key), |m| {
        let Some((it, cols, rows)) = place_mut(m, pi, gi, kind, i) else {
            return;
        };
        let (r, c, w, h) = (
            num(it, "row", 0),
            num(it, "col", 0),
            num(it, "width", 1),
            num(it, "height", 1),
        );
        if resize {
            it["height"] = json!((h + dr).min(rows - r).max(1));
            it["width"] = json!((w + dc).min(cols - c).max(1));
        } else {
            it["row"] = json!((r + dr).min(rows - h).max(0));
            it["col"] = json!((c + dc).min(cols - w).max(0));
        }
    });
    d.sel.set(Some((kind, i)));
}

pub fn remove_place(d: Designer, pi: usize, gi: usize, kind: Kind, i: usize) {
    d.sel.set(None);
    d.edit(None, |m| {
        if let Some(list) = path::list(m, &format!("panels[{pi}].pages[{gi}].{}", kind.key())) {
            list.remove(i);
        }
    });
}
