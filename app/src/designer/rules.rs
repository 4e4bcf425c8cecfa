//! Feedback rules (what a device's replies do, with a regex tester),
//! timers (with their next runs, computed as the controller computes
//! them), and the project's identity and variables.

use leptos::prelude::*;
use serde_json::{json, Value};

use controller_core::project::vocab::{
    Vocabulary, FEEDBACK_ACTIONS, FEEDBACK_MATCHES, TIMER_ACTIONS,
};
use controller_core::project::VariableKind;

use super::button::typed;
use super::fields::{card, ids_of, input, select, small, Opts};
use super::path;
use super::state::Designer;

fn words(choices: &[&'static str], say: fn(&str) -> &'static str) -> Signal<Vec<(String, String)>> {
    Signal::stored(
        choices
            .iter()
            .map(|c| (c.to_string(), say(c).to_string()))
            .collect(),
    )
}

/// The first of `keys` the item has.
fn which(item: &Value, keys: &[&'static str], default: &'static str) -> &'static str {
    keys.iter()
        .copied()
        .find(|k| item.get(*k).is_some_and(|v| !v.is_null()))
        .unwrap_or(default)
}

fn feedback_action_words(a: &str) -> &'static str {
    match a {
        "press" => "press a button",
        "led" => "set an LED",
        "variable" => "set a variable",
        "level" => "move a level",
        _ => "set a mute",
    }
}

pub fn feedback_fields(d: Designer, i: usize) -> AnyView {
    let base = format!("feedback[{i}]");
    let at = move |f: &str| format!("feedback[{i}].{f}");
    let matching = Memo::new(move |_| {
        d.model
            .with(|m| which(&m["feedback"][i], &["regex"], "equals"))
    });
    let action = Memo::new(move |_| {
        d.model
            .with(|m| which(&m["feedback"][i], &FEEDBACK_ACTIONS, "press"))
    });
    let set_match = {
        let base = base.clone();
        Opts::default()
            .shows(move |_| matching.get_untracked().to_string())
            .on_set(move |m, k| {
                let Some(rule) = path::get_mut(m, &base).and_then(Value::as_object_mut) else {
                    return;
                };
                let v = FEEDBACK_MATCHES
                    .iter()
                    .find_map(|f| rule.remove(*f))
                    .unwrap_or(json!(""));
                rule.insert(k.to_string(), v);
            })
    };
    let set_action = {
        let base = base.clone();
        Opts::default()
            .shows(move |_| action.get_untracked().to_string())
            .on_set(move |m, k| {
                let first =
                    |l: &str| Value::String(path::ids(m, l).into_iter().next().unwrap_or_default());
                let (value, button) = match k {
                    "led" => (json!("on"), Some(first("buttons"))),
                    "press" => (first("buttons"), None),
                    "variable" => (first("variables"), None),
                    _ => (first("levels"), None),
                };
                let Some(rule) = path::get_mut(m, &base).and_then(Value::as_object_mut) else {
                    return;
                };
                for f in FEEDBACK_ACTIONS.iter().chain(&["button", "value"]) {
                    rule.remove(*f);
                }
                rule.insert(k.to_string(), value);
                if let Some(b) = button {
                    rule.insert("button".into(), b);
                }
            })
    };
    let match_words = |k: &str| {
        if k == "regex" {
            "a regular expression"
        } else {
            "the whole line"
        }
    };
    view! {
        <div class="fields">
            <div class="row">
                {select(d, "Device", at("device"), ids_of(d, "devices"), Opts::default())}
                {select(d, "Match", at("match"), words(&FEEDBACK_MATCHES, match_words), set_match)}
                {move || { let k = matching.get(); input(d, if k == "regex" { "Regex" } else { "Line" }, at(k), Opts::default()) }}
            </div>
            <div class="row">
                {select(d, "Then", at("action"), words(&FEEDBACK_ACTIONS, feedback_action_words), set_action)}
                {move || feedback_target(d, i, action.get())}
            </div>
            {move || (matching.get() == "regex").then(|| regex_tester(d, i))}
        </div>
    }
    .into_any()
}

fn feedback_target(d: Designer, i: usize, action: &'static str) -> AnyView {
    let at = move |f: &str| format!("feedback[{i}].{f}");
    let value = || input(d, "Value", at("value"), Opts::optional().placeholder("$1"));
    match action {
        "press" => input(d, "Button", at("press"), Opts::default().hint("an id, or captures: input_${1}")),
        "led" => view! {
            {input(d, "LED", at("led"), Opts::default().hint("off, on, slow_blink, fast_blink or $2"))}
            {input(d, "Button", at("button"), Opts::default())}
        }
        .into_any(),
        "variable" => view! { {select(d, "Variable", at("variable"), ids_of(d, "variables"), Opts::default())} {value()} }.into_any(),
        level_or_mute => view! { {select(d, "Level", at(level_or_mute), ids_of(d, "levels"), Opts::default())} {value()} }.into_any(),
    }
}

/// A sample line tried on the rule's regex: the captures, or why not.
fn regex_tester(d: Designer, i: usize) -> impl IntoView {
    let id = format!("sample-{i}");
    let sample = RwSignal::new(String::new());
    let answer = Memo::new(move |_| {
        let pattern = d
            .model
            .with(|m| path::text(m, &format!("feedback[{i}].regex")));
        test_regex(&pattern, &sample.get())
    });
    view! {
        <div class="regex-tester">
            <div class="field">
                <label for=id.clone()>"Test with a sample line"</label>
                <input id=id.clone() data-focus=id placeholder="a line the device sends" spellcheck="false" autocomplete="off"
                    prop:value=move || sample.get() on:input=move |ev| sample.set(event_target_value(&ev))/>
            </div>
            <div class="regex-result" role="status" aria-live="polite">
                {move || regex_answer(answer.get(), sample.with(String::is_empty))}
            </div>
        </div>
    }
}

fn test_regex(pattern: &str, line: &str) -> Value {
    #[cfg(feature = "designer")]
    return serde_json::from_str(&designer::regex_test(pattern, line)).unwrap_or_default();
    #[cfg(not(feature = "designer"))]
    {
        let _ = (pattern, line);
        Value::Null
    }
}

fn regex_answer(r: Value, empty: bool) -> AnyView {
    if let Some(e) = r["error"].as_str() {
        return view! { <p class="bad">{e.to_string()}</p> }.into_any();
    }
    if r["matched"] != Value::Bool(true) {
        return view! { <p>{if empty { "" } else { "No match." }}</p> }.into_any();
    }
    let rows = r["captures"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let text = match c["text"].as_str() {
                Some(t) => serde_json::to_string(t).unwrap_or_default(),
                None => "(not matched)".into(),
            };
            view! { <tr><td><code>{path::text(&c, "name")}</code></td><td>{text}</td></tr> }
        });
    view! {
        <table class="captures">
            <caption>"Match: captures"</caption>
            <tr><th scope="col">"capture"</th><th scope="col">"text"</th></tr>
            {rows.collect_view()}
        </table>
    }
    .into_any()
}

fn timer_action_words(a: &str) -> &'static str {
    if a == "press" {
        "press a button"
    } else {
        "set a variable"
    }
}

pub fn timer_fields(d: Designer, i: usize) -> AnyView {
    let base = format!("timers[{i}]");
    let at = move |f: &str| format!("timers[{i}].{f}");
    let action = Memo::new(move |_| {
        d.model
            .with(|m| which(&m["timers"][i], &["set_variable"], "press"))
    });
    let set_action = Opts::default()
        .shows(move |_| action.get_untracked().to_string())
        .on_set(move |m, k| {
            let first =
                |l: &str| Value::String(path::ids(m, l).into_iter().next().unwrap_or_default());
            let (target, value) = if k == "press" {
                (first("buttons"), None)
            } else {
                (first("variables"), Some(json!("")))
            };
            let Some(t) = path::get_mut(m, &base).and_then(Value::as_object_mut) else {
                return;
            };
            for f in TIMER_ACTIONS.iter().chain(&["value"]) {
                t.remove(*f);
            }
            t.insert(k.to_string(), target);
            if let Some(v) = value {
                t.insert("value".into(), v);
            }
        });
    let runs = Memo::new(move |_| {
        d.model.with(|m| {
            next_runs(
                &path::text(m, &at("cron")),
                &path::text(m, &at("time_zone")),
            )
        })
    });
    let typed_value = Opts::default()
        .convert(move |m, t| typed(m, &path::text(m, &format!("timers[{i}].set_variable")), t));
    view! {
        <div class="fields">
            <div class="row">
                {input(d, "Id", at("id"), Opts::default())}
                {input(d, "Cron", at("cron"), Opts::default().hint("sec min hour day month weekday, e.g. 0 0 7 * * MON-FRI"))}
                {input(d, "Time zone", at("time_zone"), Opts::default().hint("IANA name, e.g. Europe/Copenhagen"))}
            </div>
            <div class="row">
                {select(d, "Then", at("action"), words(&TIMER_ACTIONS, timer_action_words), set_action)}
                {move || if action.get() == "press" {
                    select(d, "Button", at("press"), ids_of(d, "buttons"), Opts::default())
                } else {
                    view! {
                        {select(d, "Variable", at("set_variable"), ids_of(d, "variables"), Opts::default())}
                        {input(d, "Value", at("value"), typed_value.clone())}
                    }.into_any()
                }}
            </div>
            <div class="next-runs" role="status">
                {move || match runs.get() {
                    Err(e) => view! { <p class="bad">{e}</p> }.into_any(),
                    Ok(runs) => view! {
                        <p>"Next five runs:"</p>
                        <ol>{runs.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ol>
                    }.into_any(),
                }}
            </div>
        </div>
    }
    .into_any()
}

/// A timer's next five runs from now, in its zone, as the controller
/// computes them; or why it has none.
fn next_runs(cron: &str, zone: &str) -> Result<Vec<String>, String> {
    #[cfg(feature = "designer")]
    {
        let zone = if zone.is_empty() { "UTC" } else { zone };
        let answer: Value =
            serde_json::from_str(&designer::next_runs(cron, zone, js_sys::Date::now(), 5))
                .unwrap_or_default();
        match answer["error"].as_str() {
            Some(e) => Err(e.to_string()),
            None => Ok(serde_json::from_value(answer["runs"].clone()).unwrap_or_default()),
        }
    }
    #[cfg(not(feature = "designer"))]
    {
        let _ = (cron, zone);
        Ok(Vec::new())
    }
}

pub fn project(d: Designer) -> AnyView {
    let count = Memo::new(move |_| d.model.with(|m| path::len(m, "variables")));
    let add = move || {
        let id = path::unique_id("variable", &d.all_ids());
        d.edit(None, |m| {
            if let Some(list) = path::list(m, "variables") {
                list.push(json!({"id": id, "kind": "text"}));
            }
        });
    };
    let identity = view! {
        <div class="row">{input(d, "Name", "project.name".into(), Opts::default())}{input(d, "Revision", "project.revision".into(), Opts::number())}</div>
        <div class="row">{input(d, "Description", "project.description".into(), Opts::default())}{input(d, "Location", "project.location".into(), Opts::default())}</div>
    }
    .into_any();
    let variables = view! {
        {move || (0..count.get()).map(|i| variable_row(d, i)).collect_view()}
        {small("Add variable", None, add)}
    }
    .into_any();
    view! {
        <div class="list">
            <h2>"Project"</h2>
            {card("Identity", identity)}
            {card("Variables", variables)}
        </div>
    }
    .into_any()
}

fn variable_row(d: Designer, i: usize) -> impl IntoView {
    let at = move |f: &str| format!("variables[{i}].{f}");
    let kinds = Signal::stored(super::fields::plain(VariableKind::names()));
    let initial = Opts::optional().convert(move |m, t| {
        if t.is_empty() {
            return None;
        }
        typed(m, &path::text(m, &format!("variables[{i}].id")), t)
    });
    let id = Memo::new(move |_| d.model.with(|m| path::text(m, &at("id"))));
    let remove = move || {
        d.edit(None, |m| {
            if let Some(list) = path::list(m, "variables") {
                list.remove(i);
            }
        })
    };
    view! {
        <div class="row">
            {input(d, "Id", at("id"), Opts::default())}
            {select(d, "Kind", at("kind"), kinds, Opts::default().default_is("text"))}
            {input(d, "Initial", at("initial"), initial)}
            <button type="button" class="small" aria-label=move || format!("Remove variable {}", id.get()) on:click=move |_| remove()>"Remove"</button>
        </div>
    }
}
