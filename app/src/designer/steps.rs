//! A sequence's fields and its steps: each step one action (the kinds are
//! controller-core's [`STEP_ACTIONS`]), with the fields that action takes.

use leptos::prelude::*;
use serde_json::{json, Map, Value};

use controller_core::project::vocab::{Vocabulary, STEP_ACTIONS};
use controller_core::project::{Condition, LedMode, Trigger};

use super::button::typed;
use super::fields::{ids_of, input, plain, select, Opts};
use super::path;
use super::state::Designer;

fn step_words(kind: &str) -> &'static str {
    match kind {
        "send" => "Send text",
        "send_hex" => "Send bytes (hex)",
        "http" => "HTTP request",
        "command" => "Run a driver command",
        "wait_ms" => "Wait",
        "led" => "Set an LED",
        "press" => "Press a button",
        "set_variable" => "Set a variable",
        "set_level" => "Move a level",
        _ => "Move a level by",
    }
}

/// The action a step has (the first present; `send` for none).
fn step_kind(step: &Value) -> &'static str {
    STEP_ACTIONS
        .into_iter()
        .find(|k| step.get(*k).is_some_and(|v| !v.is_null()))
        .unwrap_or("send")
}

/// A step of another kind: its fields made anew.
fn set_step_kind(m: &Value, step: &mut Map<String, Value>, kind: &str) {
    for key in STEP_ACTIONS
        .iter()
        .chain(&["device", "body", "button", "value", "params"])
    {
        step.remove(*key);
    }
    let first = |l: &str| Value::String(path::ids(m, l).into_iter().next().unwrap_or_default());
    let value = match kind {
        "http" => json!("GET /"),
        "wait_ms" => json!(500),
        "led" => json!("on"),
        "press" => first("buttons"),
        "set_variable" => first("variables"),
        "set_level" | "adjust_level" => first("levels"),
        _ => json!(""),
    };
    step.insert(kind.to_string(), value);
    if matches!(kind, "send" | "send_hex" | "http" | "command") && path::len(m, "devices") > 0 {
        step.insert("device".into(), first("devices"));
    }
    match kind {
        "set_level" | "adjust_level" => {
            step.insert("value".into(), json!(0));
        }
        "set_variable" => {
            step.insert("value".into(), json!(""));
        }
        _ => {}
    }
}

pub fn sequence_fields(d: Designer, i: usize) -> AnyView {
    let at = move |f: &str| format!("sequences[{i}].{f}");
    let count = Memo::new(move |_| d.model.with(|m| path::len(m, &at("steps"))));
    let seq_id = Memo::new(move |_| d.model.with(|m| path::text(m, &at("id"))));
    let add = move || {
        d.edit(None, |m| {
            let mut step = Map::new();
            set_step_kind(m, &mut step, "send");
            if let Some(list) = path::list(m, &at("steps")) {
                list.push(Value::Object(step));
            }
        })
    };
    view! {
        <div class="fields">
            <div class="row">
                {input(d, "Id", at("id"), Opts::default())}
                {select(d, "Button", at("button"), ids_of(d, "buttons"), Opts::default())}
                {select(d, "On", at("on"), Signal::stored(plain(Trigger::names())), Opts::default().default_is("press"))}
                {select(d, "Only when the button is", at("when"), Signal::stored(plain(Condition::names())), Opts::default().none("(always)"))}
            </div>
            <ol class="steps" aria-label="Steps">
                {move || { let n = count.get(); (0..n).map(|j| step_row(d, i, j, n)).collect_view() }}
            </ol>
            <button type="button" class="small" aria-label=move || format!("Add step to {}", seq_id.get()) on:click=move |_| add()>"Add step"</button>
        </div>
    }
    .into_any()
}

fn step_row(d: Designer, i: usize, j: usize, count: usize) -> impl IntoView {
    let base = format!("sequences[{i}].steps[{j}]");
    d.register(&base);
    let kind = {
        let base = base.clone();
        Memo::new(move |_| {
            d.model
                .with(|m| path::get(m, &base).map_or("send", step_kind))
        })
    };
    let steps_at = format!("sequences[{i}].steps");
    let (up_at, down_at, rm_at, kind_at) =
        (steps_at.clone(), steps_at.clone(), steps_at, base.clone());
    let swap = move |at: &str, a: usize, b: usize| {
        d.edit(None, |m| {
            if let Some(list) = path::list(m, at) {
                list.swap(a, b);
            }
        })
    };
    let remove = move || {
        d.edit(None, |m| {
            if let Some(list) = path::list(m, &rm_at) {
                list.remove(j);
            }
        })
    };
    let change_kind = move |new: String| {
        d.edit(None, |m| {
            let snapshot = m.clone();
            if let Some(step) = path::get_mut(m, &kind_at).and_then(Value::as_object_mut) {
                set_step_kind(&snapshot, step, &new);
            }
        })
    };
    let n = j + 1;
    view! {
        <li class="step">
            <select aria-label=format!("Step {n} action") data-path=base.clone() data-focus=format!("{base}.kind")
                prop:value=move || kind.get() on:change=move |ev| change_kind(event_target_value(&ev))>
                {STEP_ACTIONS.into_iter().map(|k| view! { <option value=k selected=move || kind.get() == k>{step_words(k)}</option> }).collect_view()}
            </select>
            {move || step_fields(d, &base, kind.get())}
            <span class="step-actions">
                <button type="button" class="small" disabled=j == 0 aria-label=format!("Move step {n} up")
                    on:click=move |_| swap(&up_at, j - 1, j)>"Up"</button>
                <button type="button" class="small" disabled=n == count aria-label=format!("Move step {n} down")
                    on:click=move |_| swap(&down_at, j, j + 1)>"Down"</button>
                <button type="button" class="small" aria-label=format!("Remove step {n}") on:click=move |_| remove()>"Remove"</button>
            </span>
        </li>
    }
}

fn step_fields(d: Designer, base: &str, kind: &'static str) -> AnyView {
    let at = |f: &str| format!("{base}.{f}");
    let device = || {
        select(
            d,
            "Device",
            at("device"),
            ids_of(d, "devices"),
            Opts::optional(),
        )
    };
    match kind {
        "send" => view! { {input(d, "Text", at("send"), Opts::default().hint("escapes \\r \\n \\xNN; {level} templates"))} {device()} }.into_any(),
        "send_hex" => view! { {input(d, "Bytes", at("send_hex"), Opts::default().placeholder("02 41 03"))} {device()} }.into_any(),
        "http" => view! {
            {input(d, "Request", at("http"), Opts::default().placeholder("POST /api/power"))}
            {input(d, "Body", at("body"), Opts::optional())}
            {device()}
        }.into_any(),
        "command" => view! {
            {device()}
            {input(d, "Command", at("command"), Opts::default().hint("a command of the device's driver"))}
            {input(d, "Value", at("value"), Opts::optional().hint("its one parameter, if it takes one"))}
        }.into_any(),
        "wait_ms" => input(d, "Milliseconds", at("wait_ms"), Opts::number()),
        "led" => view! {
            {select(d, "LED", at("led"), Signal::stored(plain(LedMode::names())), Opts::default())}
            {select(d, "Button", at("button"), ids_of(d, "buttons"), Opts::optional())}
        }.into_any(),
        "press" => select(d, "Button", at("press"), ids_of(d, "buttons"), Opts::default()),
        "set_variable" => {
            let var_at = at("set_variable");
            let value = Opts::default().convert(move |m, t| typed(m, &path::text(m, &var_at), t));
            view! {
                {select(d, "Variable", at("set_variable"), ids_of(d, "variables"), Opts::default())}
                {input(d, "Value", at("value"), value)}
            }.into_any()
        }
        level => view! {
            {select(d, "Level", at(level), ids_of(d, "levels"), Opts::default())}
            {input(d, "Value", at("value"), Opts::number())}
        }.into_any(),
    }
}
