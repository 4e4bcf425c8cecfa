//! Panels and their pages: the layouts that place the project's buttons,
//! levels, text and meeting tiles, each place inside its panel's grid and over no
//! other; the summary bar and the idle timeout.

use std::collections::{HashMap, HashSet};

use super::{field, item, k, Checker, Seg, MAX_GRID, MAX_LABEL_LEN};
use crate::project::meeting_tile::BOOKING_VARIABLES;
use crate::project::{Page, Panel, VariableKind};

/// Which place on a page covers each (row, col) cell, as `buttons[2]`.
type Cells = HashMap<(u8, u8), String>;

/// At most this many entries in a panel's summary bar.
const MAX_SUMMARY: usize = 8;

/// Where a place sits: row, col, width, height.
#[derive(Clone, Copy)]
struct Area {
    row: u8,
    col: u8,
    width: u8,
    height: u8,
}

pub(super) fn check(c: &mut Checker<'_, '_>) {
    let project = c.project;
    if project.panels.is_empty() && !c.broken.lost_items("panels") {
        c.err(
            vec![k("panels")],
            "the project has no panel; add a [[panels]] table",
        );
    }
    let mut panel_ids = HashSet::new();
    for (pi, panel) in project.panels.iter().enumerate() {
        let base = item(&[], "panels", pi);
        c.unique_id(field(&base, "id"), &panel.id, "panel", &mut panel_ids, "");
        c.text(field(&base, "name"), &panel.name, "panel name", 64);
        for (name, v) in [("columns", panel.columns), ("rows", panel.rows)] {
            c.in_range(field(&base, name), v, 1..=MAX_GRID, name);
        }
        if let Some(pin) = &panel.pin {
            if !(4..=12).contains(&pin.len()) || !pin.chars().all(|ch| ch.is_ascii_digit()) {
                c.err(field(&base, "pin"), "a panel PIN is 4 to 12 digits");
            }
        }
        if let Some(secs) = panel.idle_secs {
            c.in_range(field(&base, "idle_secs"), secs, 10..=86_400, "idle_secs");
        }
        if panel.summary.len() > MAX_SUMMARY {
            c.err(
                field(&base, "summary"),
                format!("a summary bar has at most {MAX_SUMMARY} entries"),
            );
        }
        for (i, line) in panel.summary.iter().enumerate() {
            c.template(item(&base, "summary", i), line);
        }
        if panel.pages.is_empty() {
            c.err(field(&base, "pages"), "a panel needs at least one page");
        }
        let mut page_ids = HashSet::new();
        for (gi, page) in panel.pages.iter().enumerate() {
            check_page(c, panel, &item(&base, "pages", gi), page, &mut page_ids);
        }
    }
}

fn check_page<'p>(
    c: &mut Checker<'_, '_>,
    panel: &Panel,
    base: &[Seg],
    page: &'p Page,
    page_ids: &mut HashSet<&'p str>,
) {
    c.unique_id(
        field(base, "id"),
        &page.id,
        "page",
        page_ids,
        " in this panel",
    );
    c.text(
        field(base, "title"),
        &page.title,
        "page title",
        MAX_LABEL_LEN,
    );
    let mut cells = Cells::new();
    for (bi, place) in page.buttons.iter().enumerate() {
        let pbase = item(base, "buttons", bi);
        let area = Area {
            row: place.row,
            col: place.col,
            width: place.width,
            height: place.height,
        };
        place_area(c, panel, &pbase, format!("buttons[{bi}]"), area, &mut cells);
    }
    for (li, place) in page.levels.iter().enumerate() {
        let pbase = item(base, "levels", li);
        c.level_ref(field(&pbase, "level"), &place.level);
        let area = Area {
            row: place.row,
            col: place.col,
            width: place.width,
            height: place.height,
        };
        place_area(c, panel, &pbase, format!("levels[{li}]"), area, &mut cells);
    }
    for (ti, place) in page.texts.iter().enumerate() {
        let pbase = item(base, "texts", ti);
        c.text(field(&pbase, "text"), &place.text, "text", 200);
        c.template(field(&pbase, "text"), &place.text);
        let area = Area {
            row: place.row,
            col: place.col,
            width: place.width,
            height: place.height,
        };
        place_area(c, panel, &pbase, format!("texts[{ti}]"), area, &mut cells);
    }
    for (mi, place) in page.meetings.iter().enumerate() {
        let pbase = item(base, "meetings", mi);
        let area = Area {
            row: place.row,
            col: place.col,
            width: place.width,
            height: place.height,
        };
        place_area(
            c,
            panel,
            &pbase,
            format!("meetings[{mi}]"),
            area,
            &mut cells,
        );
    }
}

/// A project with a meeting tile that declares a booking variable itself
/// must declare it of the kind the tile and the calendar service use.
pub(super) fn check_booking_kinds(c: &mut Checker<'_, '_>) {
    let project = c.project;
    if !project.has_meeting_tile() {
        return;
    }
    for (i, v) in project.variables.iter().enumerate() {
        let Some((_, kind)) = BOOKING_VARIABLES.iter().find(|(id, _)| *id == v.id) else {
            continue;
        };
        if v.kind != *kind {
            let kind = match kind {
                VariableKind::Text => "text",
                VariableKind::Number => "number",
                VariableKind::Bool => "bool",
            };
            c.err(
                field(&item(&[], "variables", i), "kind"),
                format!(
                    "the meeting tile shows {:?} as a {kind}: declare it kind = \"{kind}\", or leave it out (a project with a meeting tile has it anyway)",
                    v.id
                ),
            );
        }
    }
}

fn place_area(
    c: &mut Checker<'_, '_>,
    panel: &Panel,
    base: &[Seg],
    name: String,
    area: Area,
    cells: &mut Cells,
) {
    if fits(c, panel, base, area) {
        claim_cells(c, base, name, area, cells);
    }
}

/// Whether a place has a size and lies inside the grid, reporting why not.
fn fits(c: &mut Checker<'_, '_>, panel: &Panel, base: &[Seg], place: Area) -> bool {
    if place.width == 0 || place.height == 0 {
        c.err(field(base, "width"), "width and height must be at least 1");
        return false;
    }
    // In u16: a u8 start plus a u8 size may pass 255.
    let mut axis = |name: &str, start: u8, size_name: &str, size: u8, unit: &str, limit: u8| {
        let inside = start as u16 + size as u16 <= limit as u16;
        if !inside {
            c.err(
                field(base, name),
                format!("{name} {start} with {size_name} {size} does not fit in {limit} {unit}"),
            );
        }
        inside
    };
    let fits_cols = axis(
        "col",
        place.col,
        "width",
        place.width,
        "columns",
        panel.columns,
    );
    let fits_rows = axis("row", place.row, "height", place.height, "rows", panel.rows);
    fits_cols && fits_rows
}

/// Marks the cells a place covers as `name`'s, reporting only its
/// first overlap (one is enough to fix it).
fn claim_cells(
    c: &mut Checker<'_, '_>,
    base: &[Seg],
    name: String,
    place: Area,
    cells: &mut Cells,
) {
    for r in place.row..place.row + place.height {
        for col in place.col..place.col + place.width {
            if let Some(other) = cells.insert((r, col), name.clone()) {
                c.err(
                    field(base, "row"),
                    format!("overlaps {other} on this page at row {r}, col {col}"),
                );
                return;
            }
        }
    }
}
