//! The designer's talk with the controller, in the browser only (the
//! `designer` bundle): who is logged in, the versions to open, saving the
//! edit as the pending project (`?via=designer`, so the history says where
//! it came from) with its diff against the running one, applying it; and
//! the keyboard's undo and redo.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{FormData, ScrollIntoViewOptions, ScrollLogicalPosition};

use super::state::{Designer, Output};
use crate::fetch::{call, request, text_blob};

/// After hydration: the session (or the login form), the history and the
/// running project's revision, then the project to edit.
pub fn start(d: Designer) {
    expose_validator();
    keyboard(d);
    super::preview::follow(d);
    spawn_local(async move {
        load_history(d).await;
        load_info(d).await;
        let first = if d.fresh.get_untracked() {
            "new"
        } else {
            "running"
        };
        open(d, first.to_string()).await;
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-ready", "true");
        }
    });
}

/// `window.designerCore.validate(text)`: the bundle's validator, for the
/// test that compares it with the native one.
fn expose_validator() {
    let validate =
        Closure::<dyn Fn(String) -> String>::new(|text: String| designer::validate(&text));
    let core = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&core, &"validate".into(), validate.as_ref());
    let _ = js_sys::Reflect::set(&window(), &"designerCore".into(), &core);
    validate.forget();
}

fn keyboard(d: Designer) {
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if !(ev.ctrl_key() || ev.meta_key()) || d.model.with_untracked(Value::is_null) {
            return;
        }
        match ev.key().to_lowercase().as_str() {
            "z" if !ev.shift_key() => {
                ev.prevent_default();
                d.undo();
            }
            "y" | "z" => {
                ev.prevent_default();
                d.redo();
            }
            _ => {}
        }
    });
    // A field left: the next keystroke there is a new undo step.
    let left = window_event_listener(leptos::ev::focusout, move |_| d.field_left());
    // The page's own listeners live as long as the page.
    std::mem::forget(keys);
    std::mem::forget(left);
}

async fn load_info(d: Designer) {
    let (status, info) = call("GET", "/admin/api/info", None).await;
    if status == 200 && info["running"].is_object() {
        d.fresh.set(info["fresh"].as_bool().unwrap_or(false));
        let revision = &info["running"]["revision"];
        d.running_revision.set(
            revision
                .as_u64()
                .or_else(|| revision.as_str()?.parse().ok())
                .unwrap_or(0),
        );
    }
}

async fn load_history(d: Designer) {
    let (_, body) = call("GET", "/admin/api/history", None).await;
    d.history.set(body.as_array().cloned().unwrap_or_default());
}

pub fn open_version(d: Designer, which: String) {
    spawn_local(open(d, which));
}

fn new_project() -> Value {
    json!({
        "project": {"name": "New room", "revision": 1, "description": "", "location": ""},
        "buttons": [],
        "panels": [{"id": "tablet", "name": "Tablet", "profile": "tablet", "columns": 4, "rows": 3,
            "pages": [{"id": "main", "title": "Main", "buttons": []}]}],
        "devices": [], "sequences": [], "feedback": [], "timers": [],
    })
}

fn failed(d: Designer, title: &str, text: String) {
    d.output.set(Some(Output {
        ok: false,
        title: title.into(),
        text,
        diff: None,
    }));
}

async fn open(d: Designer, which: String) {
    if which == "new" {
        d.which.set(which);
        d.open(String::new(), new_project(), "a new project");
        return;
    }
    let url = format!(
        "/admin/api/version/{}",
        js_sys::encode_uri_component(&which)
    );
    let text = match request("GET", &url, None).await {
        Ok((200, text)) => text,
        Ok((_, text)) => {
            let body: Value = serde_json::from_str(&text).unwrap_or_default();
            let title = body["title"].as_str().unwrap_or("Cannot open");
            return failed(d, title, body["text"].as_str().unwrap_or("").to_string());
        }
        Err(words) => {
            return failed(
                d,
                "No answer",
                words["text"].as_str().unwrap_or("").to_string(),
            )
        }
    };
    let label = match which.as_str() {
        "demo" => "the built-in demo".to_string(),
        "running" | "pending" => format!("the {which} project"),
        id => format!("history #{id}"),
    };
    let opened: Value = serde_json::from_str(&designer::open(&text)).unwrap_or_default();
    if opened["project"].is_null() {
        let lines: Vec<String> = opened["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                format!(
                    "line {}: {}: {}",
                    e["line"],
                    e["path"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                )
            })
            .collect();
        let why = format!("Its shape is wrong, so it cannot be edited here without losing parts of it; fix these in the file:\n{}", lines.join("\n"));
        return failed(d, &format!("Cannot open {label}"), why);
    }
    d.which.set(which);
    d.open(text, opened["project"].clone(), &label);
}

/// Each save gets a revision after the running project's (unless the
/// installer already gave it a higher one), so the history tells versions
/// apart. A fresh installation's first project is revision 1: the demo it
/// replaces is not its predecessor.
async fn bump_revision(d: Designer) {
    load_info(d).await;
    let after = if d.fresh.get_untracked() {
        0
    } else {
        d.running_revision.get_untracked()
    };
    let now = d
        .model
        .with_untracked(|m| m["project"]["revision"].as_u64().unwrap_or(0));
    if now <= after {
        d.model
            .update(|m| m["project"]["revision"] = json!(after + 1));
        d.validate();
    }
}

fn scroll_to_output() {
    if let Some(out) = document().get_element_by_id("output") {
        let options = ScrollIntoViewOptions::new();
        options.set_block(ScrollLogicalPosition::Start);
        out.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

pub fn save(d: Designer) {
    spawn_local(async move {
        d.validate();
        if !d.errors.with_untracked(Vec::is_empty) {
            return;
        }
        bump_revision(d).await;
        let Some(toml) = d.toml.get_untracked() else {
            return;
        };
        let (Some(blob), Ok(form)) = (text_blob(&toml), FormData::new()) else {
            return;
        };
        let _ = form.append_with_blob_and_filename("project", &blob, "project.toml");
        let (status, body) =
            call("POST", "/admin/api/upload?via=designer", Some(form.into())).await;
        let text = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_string();
        if status != 200 {
            let title = body["title"].as_str().unwrap_or("Not saved");
            return failed(d, title, text(&body, "text"));
        }
        d.saved.set(true);
        let title = "Saved as the pending project".to_string();
        let output = if d.fresh.get_untracked() && d.which.get_untracked() != "demo" {
            // Against the demo every item would read "removed": it is not
            // this room's project, so there is nothing to compare with.
            let words = format!("{}\nThis is the controller's first project of its own: apply it to replace the built-in demo.", text(&body, "text"));
            Output {
                ok: true,
                title,
                text: words,
                diff: None,
            }
        } else {
            let (s, diff) = call("GET", "/admin/api/diff?from=running&to=pending", None).await;
            Output {
                ok: true,
                title,
                text: text(&body, "text"),
                diff: (s == 200).then_some(diff),
            }
        };
        d.output.set(Some(output));
        request_animation_frame(scroll_to_output);
    });
}

pub fn apply(d: Designer) {
    spawn_local(async move {
        let (status, body) = call("POST", "/admin/api/apply?via=designer", None).await;
        let title = body["title"].as_str().unwrap_or("Apply").to_string();
        let text = body["text"].as_str().unwrap_or("").to_string();
        d.output.set(Some(Output {
            ok: status == 200,
            title,
            text,
            diff: None,
        }));
        if status == 200 {
            // What runs now is what we edit from here on.
            if let Some(toml) = d.toml.get_untracked() {
                d.original.set(toml);
            }
            d.saved.set(false);
            d.opened.set("the running project".into());
            d.which.set("running".into());
            load_history(d).await;
            load_info(d).await;
        }
        request_animation_frame(scroll_to_output);
    });
}

/// The control for an error's path (or the nearest enclosing one),
/// scrolled to and focused once its editor is on the screen.
pub fn focus_control(d: Designer, at: String) {
    request_animation_frame(move || {
        let target = super::path::nearest(&at, |p| d.has_control(p)).map(str::to_string);
        let Some(target) = target else { return };
        let selector = format!(
            "[data-path=\"{}\"]",
            target.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let Ok(Some(el)) = document().query_selector(&selector) else {
            return;
        };
        let options = ScrollIntoViewOptions::new();
        options.set_block(ScrollLogicalPosition::Center);
        el.scroll_into_view_with_scroll_into_view_options(&options);
        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
            let _ = el.focus();
        }
    });
}
