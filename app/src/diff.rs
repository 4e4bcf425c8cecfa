//! Two versions of a project compared, as the server's diff answer has
//! them (`changes`: the changes in words; `unified`: the lines): shown by
//! the admin page's history and the designer's save, each under its own
//! heading.

use leptos::prelude::*;
use serde_json::Value;

/// The changes in words, then the lines, marked added, removed or hunk.
pub fn diff_body(d: &Value) -> impl IntoView {
    let mut changes: Vec<String> = d["changes"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if changes.is_empty() {
        changes.push("no changes in meaning".into());
    }
    let lines = d["unified"]
        .as_str()
        .unwrap_or("")
        .split('\n')
        .map(|line| {
            let class = if line.starts_with('+') && !line.starts_with("+++") {
                "add"
            } else if line.starts_with('-') && !line.starts_with("---") {
                "del"
            } else if line.starts_with("@@") {
                "hunk"
            } else {
                ""
            };
            view! { <span class=class>{format!("{line}\n")}</span> }
        })
        .collect_view();
    view! {
        <ul class="changes">{changes.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}</ul>
        <pre class="unified" aria-label="Text differences">{lines}</pre>
    }
}
