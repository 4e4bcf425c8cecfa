//! Resizing a tile by dragging its corner: the pointer's cell sets the
//! tile's width and height (one undo step for the whole drag).

use leptos::prelude::*;
use serde_json::json;

use super::grid::{num, place_mut};
use super::state::{Designer, Kind};

#[allow(clippy::too_many_arguments)]
pub fn start(
    d: Designer,
    pi: usize,
    gi: usize,
    kind: Kind,
    i: usize,
    resizing: StoredValue<bool>,
    grid: NodeRef<leptos::html::Div>,
    ev: &leptos::ev::PointerEvent,
) {
    ev.prevent_default();
    ev.stop_propagation();
    #[cfg(feature = "designer")]
    {
        let Some(grid) = grid.get_untracked() else {
            return;
        };
        let rect = grid.get_bounding_client_rect();
        let (cols, rows) = d.model.with_untracked(|m| {
            (
                num(&m["panels"][pi], "columns", 1).max(1),
                num(&m["panels"][pi], "rows", 1).max(1),
            )
        });
        let (cw, ch) = (rect.width() / cols as f64, rect.height() / rows as f64);
        let (left, top) = (rect.left(), rect.top());
        let key = format!("resize:{}:{i}", kind.key());
        resizing.set_value(true);
        let moved = window_event_listener(leptos::ev::pointermove, move |e| {
            let x = ((e.client_x() as f64 - left) / cw).ceil() as i64;
            let y = ((e.client_y() as f64 - top) / ch).ceil() as i64;
            let now = d.model.with_untracked(|m| {
                super::path::get(m, &format!("panels[{pi}].pages[{gi}].{}[{i}]", kind.key())).map(
                    |p| {
                        (
                            num(p, "row", 0),
                            num(p, "col", 0),
                            num(p, "width", 1),
                            num(p, "height", 1),
                        )
                    },
                )
            });
            let Some((r, c, w, h)) = now else { return };
            let (nw, nh) = ((x - c).min(cols - c).max(1), (y - r).min(rows - r).max(1));
            if (nw, nh) == (w, h) {
                return;
            }
            d.edit(Some(&key), |m| {
                if let Some((it, _, _)) = place_mut(m, pi, gi, kind, i) {
                    it["width"] = json!(nw);
                    it["height"] = json!(nh);
                }
            });
            d.sel.set(Some((kind, i)));
        });
        let moved = StoredValue::new_local(Some(moved));
        let up = StoredValue::new_local(None::<WindowListenerHandle>);
        up.set_value(Some(window_event_listener(
            leptos::ev::pointerup,
            move |_| {
                resizing.set_value(false);
                d.field_left();
                if let Some(h) = moved.try_update_value(Option::take).flatten() {
                    h.remove();
                }
                if let Some(h) = up.try_update_value(Option::take).flatten() {
                    h.remove();
                }
            },
        )));
    }
    #[cfg(not(feature = "designer"))]
    let _ = (d, pi, gi, kind, i, resizing, grid);
}
