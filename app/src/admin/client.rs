//! The admin page's talk with the controller, in the browser only (the
//! `admin` bundle): every request asks for JSON (`/admin/api/*` then
//! answers `{"ok", "title", "text"}` or the data asked for), and the
//! server's words are shown as they come: they are written for people.
//! An upload goes through `XMLHttpRequest`, which reports its progress
//! (fetch does not).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{json, Value};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    FormData, HtmlFormElement, ProgressEvent, ScrollIntoViewOptions, ScrollLogicalPosition,
    UrlSearchParams, XmlHttpRequest,
};

use super::{text, Admin};

/// Who is logged in; then, for an admin, the history and the users.
pub fn start(admin: Admin) {
    spawn_local(async move {
        let (status, body) = call(admin, "GET", "/admin/api/whoami", None).await;
        if status == 200 {
            set_user(admin, Some(text(&body, "user")));
            load_history(admin).await;
            load_users(admin).await;
        } else {
            set_user(admin, None);
        }
    });
}

/// The page's `data-admin` (the stylesheet shows the login form or the
/// rest) and the name shown.
fn set_user(admin: Admin, user: Option<String>) {
    if let Some(body) = document().body() {
        let state = if user.is_some() { "in" } else { "out" };
        let _ = body.set_attribute("data-admin", state);
    }
    admin.user.set(user);
}

/// One request; (status, answer) ([`crate::fetch::call`]); a 401 means
/// the session is over.
async fn call(admin: Admin, method: &str, url: &str, body: Option<JsValue>) -> (u16, Value) {
    let (status, body) = crate::fetch::call(method, url, body).await;
    if status == 401 {
        set_user(admin, None);
    }
    (status, body)
}

/// Shows an answer `{"ok", "title", "text"}` in the page.
fn show(admin: Admin, answer: &Value) {
    let ok = answer["ok"].as_bool().unwrap_or(false);
    admin
        .result
        .set(Some((ok, text(answer, "title"), text(answer, "text"))));
    if let Some(result) = document().get_element_by_id("admin-result") {
        let options = ScrollIntoViewOptions::new();
        options.set_block(ScrollLogicalPosition::Nearest);
        result.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

fn form_of(ev: &SubmitEvent) -> Option<HtmlFormElement> {
    ev.target()?.dyn_into::<HtmlFormElement>().ok()
}

/// Validate, apply or roll back: the form's action, answered in the page.
pub fn post_action(admin: Admin, ev: SubmitEvent) {
    let Some(action) = form_of(&ev).and_then(|f| f.get_attribute("action")) else {
        return;
    };
    spawn_local(async move {
        let (_, body) = call(admin, "POST", &action, None).await;
        show(admin, &body);
        load_history(admin).await;
    });
}

pub fn show_get(admin: Admin, url: &'static str) {
    spawn_local(async move {
        let (_, body) = call(admin, "GET", url, None).await;
        show(admin, &body);
    });
}

pub fn show_post(admin: Admin, url: &str) {
    let url = url.to_string();
    spawn_local(async move {
        let (_, body) = call(admin, "POST", &url, None).await;
        show(admin, &body);
    });
}

/// The project file, with its progress shown while it goes.
pub fn upload(admin: Admin, ev: SubmitEvent) {
    let Some(form) = form_of(&ev) else { return };
    let (Some(action), Ok(data), Ok(xhr)) = (
        form.get_attribute("action"),
        FormData::new_with_form(&form),
        XmlHttpRequest::new(),
    ) else {
        return;
    };
    if xhr.open("POST", &action).is_err() {
        return;
    }
    let _ = xhr.set_request_header("Accept", "application/json");
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
        if e.length_computable() && e.total() > 0.0 {
            admin
                .progress
                .set(Some((100.0 * e.loaded() / e.total()).round()));
        }
    });
    if let Ok(up) = xhr.upload() {
        up.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let done = {
        let xhr = xhr.clone();
        Closure::<dyn FnMut()>::new(move || {
            admin.progress.set(None);
            let status = xhr.status().unwrap_or(0);
            let body = xhr
                .response_text()
                .ok()
                .flatten()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .unwrap_or_else(|| {
                    json!({"ok": false, "title": "Upload refused",
                           "text": format!("The controller answered with status {status} (is the file larger than the upload limit?).")})
                });
            if status == 401 {
                set_user(admin, None);
            }
            show(admin, &body);
            spawn_local(load_history(admin));
        })
    };
    let failed = Closure::<dyn FnMut()>::new(move || {
        admin.progress.set(None);
        show(
            admin,
            &json!({"ok": false, "title": "Upload failed",
                    "text": "The connection broke during the upload; the running project is unchanged."}),
        );
    });
    xhr.set_onload(Some(done.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(failed.as_ref().unchecked_ref()));
    // They live as long as the request, which the page does not track.
    progress.forget();
    done.forget();
    failed.forget();
    admin.progress.set(Some(0.0));
    if xhr.send_with_opt_form_data(Some(&data)).is_err() {
        admin.progress.set(None);
    }
}

/// The history again, with the two newest picked to compare.
async fn load_history(admin: Admin) {
    let (_, body) = call(admin, "GET", "/admin/api/history", None).await;
    let entries = body.as_array().cloned().unwrap_or_default();
    admin.diff_to.set(entries.first().map(|e| text(e, "id")));
    admin.diff_from.set(entries.get(1).map(|e| text(e, "id")));
    admin.history.set(entries);
}

/// The two picked versions, compared by the controller.
pub fn compare(admin: Admin) {
    let (Some(from), Some(to)) = (
        admin.diff_from.get_untracked(),
        admin.diff_to.get_untracked(),
    ) else {
        show(
            admin,
            &json!({"ok": false, "title": "Pick two",
                    "text": "Pick a version to compare from and one to compare to."}),
        );
        return;
    };
    let url = format!(
        "/admin/api/diff?from={}&to={}",
        js_sys::encode_uri_component(&from),
        js_sys::encode_uri_component(&to)
    );
    spawn_local(async move {
        let (_, body) = call(admin, "GET", &url, None).await;
        admin.diff.set(None);
        if body["unified"].is_string() {
            admin.diff.set(Some(body));
        } else {
            show(admin, &body);
        }
    });
}

async fn load_users(admin: Admin) {
    let (_, body) = call(admin, "GET", "/admin/api/users", None).await;
    admin
        .users
        .set(body.as_array().cloned().unwrap_or_default());
}

/// A change of a user (`fields` form-encoded), shown, and the users again;
/// `clear` is emptied when it was done.
pub fn change(admin: Admin, url: &str, fields: &[(&str, String)], clear: Option<RwSignal<String>>) {
    let Ok(params) = UrlSearchParams::new() else {
        return;
    };
    for (name, value) in fields {
        params.append(name, value);
    }
    let url = url.to_string();
    spawn_local(async move {
        let (_, body) = call(admin, "POST", &url, Some(params.into())).await;
        show(admin, &body);
        load_users(admin).await;
        if body["ok"].as_bool() == Some(true) {
            if let Some(clear) = clear {
                clear.set(String::new());
            }
        }
    });
}

/// The add-user form, as the browser would send it.
pub fn add_user(admin: Admin, ev: SubmitEvent) {
    let Some(form) = form_of(&ev) else { return };
    // Form-encoded, as the users' API reads it (`new URLSearchParams(new
    // FormData(form))`).
    let (Some(action), Some(data)) = (
        form.get_attribute("action"),
        FormData::new_with_form(&form)
            .ok()
            .and_then(|d| UrlSearchParams::new_with_str_sequence_sequence(&d).ok()),
    ) else {
        return;
    };
    spawn_local(async move {
        let (_, body) = call(admin, "POST", &action, Some(data.into())).await;
        show(admin, &body);
        load_users(admin).await;
        if body["ok"].as_bool() == Some(true) {
            form.reset();
        }
    });
}

pub fn confirm(question: &str) -> bool {
    window().confirm_with_message(question).unwrap_or(false)
}

/// `secs` since 1970 as the browser writes a local date and time.
pub fn local_time(secs: f64) -> String {
    js_sys::Date::new(&JsValue::from_f64(secs * 1000.0))
        .to_locale_string("default", &JsValue::UNDEFINED)
        .into()
}
