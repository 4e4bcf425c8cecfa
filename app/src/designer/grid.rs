//! The arithmetic of a page's grid: the cells places cover, the first free
//! one, a place's fields read as numbers.

use serde_json::Value;

use super::path;
use super::state::Kind;

pub fn num(v: &Value, key: &str, default: i64) -> i64 {
    v[key].as_i64().unwrap_or(default)
}

/// The grid's size: (columns, rows), each 1 to 12 for drawing.
pub fn grid_size(m: &Value, pi: usize) -> (i64, i64) {
    let p = &m["panels"][pi];
    (
        num(p, "columns", 1).clamp(1, 12),
        num(p, "rows", 1).clamp(1, 12),
    )
}

/// The cells the page's places cover, but `except`.
fn occupied(page: &Value, except: Option<(Kind, usize)>) -> Vec<(i64, i64)> {
    let mut taken = Vec::new();
    for kind in Kind::ALL {
        for (i, place) in page[kind.key()]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if except == Some((kind, i)) {
                continue;
            }
            for r in 0..num(place, "height", 1) {
                for c in 0..num(place, "width", 1) {
                    taken.push((num(place, "row", 0) + r, num(place, "col", 0) + c));
                }
            }
        }
    }
    taken
}

pub fn free_cell(m: &Value, pi: usize, gi: usize) -> (i64, i64) {
    let p = &m["panels"][pi];
    let taken = occupied(&p["pages"][gi], None);
    let (cols, rows) = (num(p, "columns", 1), num(p, "rows", 1));
    (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (r, c)))
        .find(|cell| !taken.contains(cell))
        .unwrap_or((0, 0))
}

/// The place `i` of `kind` on a page, and the panel's (columns, rows).
pub fn place_mut(
    m: &mut Value,
    pi: usize,
    gi: usize,
    kind: Kind,
    i: usize,
) -> Option<(&mut Value, i64, i64)> {
    let (cols, rows) = (
        num(&m["panels"][pi], "columns", 1),
        num(&m["panels"][pi], "rows", 1),
    );
    let it = path::get_mut(m, &format!("panels[{pi}].pages[{gi}].{}[{i}]", kind.key()))?;
    it.is_object().then_some((it, cols, rows))
}
