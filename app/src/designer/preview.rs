//! The live preview, in the browser: the server runs the draft on a preview
//! controller of its own (no devices, nothing shared with the running one:
//! server/src/services/http/preview.rs) and serves the panel for it under
//! `/designer/preview/{token}`; the frame shows that panel at the chosen
//! screen size, on the page being edited. Each valid change is posted
//! (debounced, one post at a time); the panel shows its new layout in
//! place, as a real panel does when its project changes.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlIFrameElement};

use super::state::Designer;
use super::SIZES;
use crate::fetch::{call, text_blob};

const DELAY: Duration = Duration::from_millis(600);

#[derive(Default)]
struct Preview {
    /// `/designer/preview/{token}` of this page's preview.
    base: Option<String>,
    /// The draft text the preview runs.
    posted: Option<String>,
    /// The panel page the frame shows, and with the designer's page.
    src: Option<String>,
    shown: Option<String>,
    timer: Option<TimeoutHandle>,
    busy: bool,
    again: bool,
}

type Shared = Rc<RefCell<Preview>>;

/// Follows the designer: opens, closes, resizes and feeds the preview.
pub fn follow(d: Designer) {
    let p: Shared = Rc::default();
    let q = p.clone();
    Effect::new(move |_| {
        // What the preview depends on.
        let _ = (
            d.preview.get(),
            d.toml.get(),
            d.panel.get(),
            d.page.get(),
            d.errors.with(Vec::len),
        );
        sync(d, &q);
    });
    let listener = window_event_listener(leptos::ev::resize, move |_| fit(d));
    std::mem::forget(listener);
}

fn frame() -> Option<HtmlIFrameElement> {
    document()
        .get_element_by_id("preview-frame")?
        .dyn_into()
        .ok()
}

fn status(text: &str, bad: bool) {
    if let Some(el) = document().get_element_by_id("preview-status") {
        el.set_text_content(Some(text));
        el.set_class_name(if bad { "bad" } else { "hint" });
    }
}

fn sync(d: Designer, p: &Shared) {
    if d.preview.get_untracked().is_none() {
        // Closed: the panel in it goes (and its live channel, so the
        // preview can expire); opening again posts the draft anew.
        let mut s = p.borrow_mut();
        if let Some(t) = s.timer.take() {
            t.clear();
        }
        if s.src.take().is_some() {
            if let Some(f) = frame() {
                f.set_src("about:blank");
            }
        }
        s.posted = None;
        return;
    }
    fit(d);
    if !d.errors.with_untracked(Vec::is_empty) {
        status("Fix the errors to update the preview.", true);
        return;
    }
    let toml = d.toml.get_untracked();
    let mut s = p.borrow_mut();
    if let Some(t) = s.timer.take() {
        t.clear();
    }
    if toml != s.posted || s.base.is_none() {
        let delay = if s.base.is_some() {
            DELAY
        } else {
            Duration::ZERO
        };
        let q = p.clone();
        s.timer = set_timeout_with_handle(move || post(d, q), delay).ok();
    } else {
        drop(s);
        status("", false);
        show_panel(d, p);
    }
}

/// One post at a time (the first one makes the preview); a change made
/// meanwhile is posted when it is answered.
fn post(d: Designer, p: Shared) {
    {
        let mut s = p.borrow_mut();
        if s.busy {
            s.again = true;
            return;
        }
        s.busy = true;
    }
    spawn_local(async move {
        let text = d.toml.get_untracked().unwrap_or_default();
        let token = p
            .borrow()
            .base
            .as_ref()
            .and_then(|b| b.rsplit('/').next().map(str::to_string));
        let url = match token {
            Some(t) => format!(
                "/designer/preview?token={}",
                js_sys::encode_uri_component(&t)
            ),
            None => "/designer/preview".to_string(),
        };
        let (code, body) = call("POST", &url, text_blob(&text).map(Into::into)).await;
        let text_of = |k: &str| body[k].as_str().unwrap_or("").to_string();
        if code != 200 {
            let title = body["title"].as_str().unwrap_or("No preview");
            status(&format!("{title}: {}", text_of("text")), true);
        } else {
            let base = body["base"].as_str().map(str::to_string);
            {
                let mut s = p.borrow_mut();
                s.posted = Some(text);
                if base != s.base {
                    s.src = None; // a new preview: load it
                }
                s.base = base;
            }
            status("", false);
            if d.preview.get_untracked().is_some() {
                show_panel(d, &p);
            }
        }
        let again = {
            let mut s = p.borrow_mut();
            s.busy = false;
            std::mem::take(&mut s.again)
        };
        if again {
            sync(d, &p);
        }
    });
}

/// Points the frame at the panel being edited, on the page being edited
/// (the panel remembers its page per tab, as on a tablet).
fn show_panel(d: Designer, p: &Shared) {
    let (pi, gi) = (d.panel.get_untracked(), d.page.get_untracked());
    let (panel, name, page): (Option<String>, String, Option<String>) =
        d.model.with_untracked(|m| {
            let pl = &m["panels"][pi];
            let id = pl["id"].as_str().map(str::to_string);
            let name = pl["name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .map(str::to_string);
            (
                id.clone(),
                name.or(id).unwrap_or_default(),
                pl["pages"][gi]["id"].as_str().map(str::to_string),
            )
        });
    let Some(panel) = panel else { return };
    let mut s = p.borrow_mut();
    let Some(base) = s.base.clone() else { return };
    let src = format!("{base}/panel/{}", js_sys::encode_uri_component(&panel));
    let shown = format!("{src}#{}", page.clone().unwrap_or_default());
    if s.shown.as_deref() == Some(shown.as_str()) && s.src.as_deref() == Some(src.as_str()) {
        return;
    }
    if let (Some(page), Ok(Some(store))) = (&page, window().session_storage()) {
        let _ = store.set_item(&format!("roomctl.page.{panel}"), page);
    }
    s.shown = Some(shown);
    s.src = Some(src.clone());
    let Some(f) = frame() else { return };
    f.set_title(&format!("Preview of the panel \"{name}\""));
    if f.get_attribute("src").as_deref() == Some(src.as_str()) {
        if let Some(w) = f.content_window() {
            let _ = w.location().reload();
        }
    } else {
        f.set_src(&src);
    }
}

/// The frame has the screen's own size (the panel lays itself out for it)
/// and is scaled down to fit the designer's width.
fn fit(d: Designer) {
    let Some(size) = d.preview.get_untracked() else {
        return;
    };
    let Some((_, w, h, _)) = SIZES.iter().find(|s| s.0 == size) else {
        return;
    };
    let (w, h) = (f64::from(*w), f64::from(*h));
    let (Some(section), Some(f)) = (document().get_element_by_id("preview"), frame()) else {
        return;
    };
    let Some(device) = section.query_selector(".preview-device").ok().flatten() else {
        return;
    };
    let inner = window()
        .inner_height()
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(800.0);
    let scale = 1f64
        .min((f64::from(section.client_width()) - 16.0) / w)
        .min(inner * 0.8 / h);
    let style = |el: &HtmlElement, k: &str, v: String| {
        let _ = el.style().set_property(k, &v);
    };
    if let Ok(f) = f.dyn_into::<HtmlElement>() {
        style(&f, "width", format!("{w}px"));
        style(&f, "height", format!("{h}px"));
        style(&f, "transform", format!("scale({scale})"));
    }
    if let Ok(device) = device.dyn_into::<HtmlElement>() {
        style(
            &device,
            "width",
            format!("{}px", (w * scale).round() + 16.0),
        );
        style(
            &device,
            "height",
            format!("{}px", (h * scale).round() + 16.0),
        );
    }
}
