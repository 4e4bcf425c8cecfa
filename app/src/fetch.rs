//! One request to the controller from a screen's bundle (the admin page's
//! and the designer's): JSON asked for, the session cookie sent, and no
//! answer said in words, as the controller's own answers are.

use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
#[cfg(feature = "designer")]
use web_sys::{Blob, BlobPropertyBag};
use web_sys::{Headers, RequestCredentials, RequestInit, Response};

/// `(status, text)` of the answer, or the words for no answer (status 0).
pub async fn request(
    method: &str,
    url: &str,
    body: Option<JsValue>,
) -> Result<(u16, String), Value> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Ok(headers) = Headers::new() {
        let _ = headers.set("Accept", "application/json");
        init.set_headers(&headers);
    }
    if let Some(body) = &body {
        init.set_body(body);
    }
    let answer =
        JsFuture::from(leptos::prelude::window().fetch_with_str_and_init(url, &init)).await;
    let Ok(response) = answer.map(JsCast::unchecked_into::<Response>) else {
        return Err(json!({"ok": false, "title": "No answer",
                   "text": "The controller did not answer; check the network and try again."}));
    };
    let status = response.status();
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string()),
        Err(_) => None,
    };
    Ok((status, text.unwrap_or_default()))
}

/// One request whose answer is JSON: `(status, answer)`; an answer that
/// is not JSON is said in words.
pub async fn call(method: &str, url: &str, body: Option<JsValue>) -> (u16, Value) {
    match request(method, url, body).await {
        Err(words) => (0, words),
        Ok((status, text)) => {
            let body = serde_json::from_str(&text).unwrap_or_else(|_| {
                json!({"ok": false, "title": "Unexpected answer",
                       "text": format!("The controller answered with status {status}.")})
            });
            (status, body)
        }
    }
}

/// A text as a request body of type text/plain.
#[cfg(feature = "designer")]
pub fn text_blob(text: &str) -> Option<Blob> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = BlobPropertyBag::new();
    options.set_type("text/plain");
    Blob::new_with_str_sequence_and_options(&parts, &options).ok()
}
