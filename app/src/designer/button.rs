//! A button's fields (in the property panel and the Buttons list): its
//! words, icon, kind, LED, repeat, confirmation, the level it mutes, and
//! the conditions on variables that enable it or light its LED.

use leptos::prelude::*;
use serde_json::{json, Value};

use controller_core::project::vocab::{Vocabulary, COMPARISONS};
use controller_core::project::{ButtonKind, LedColor, LedSource, Project};

use super::fields::{checkbox, dom_id, input, plain, select, Opts};
use super::path;
use super::state::Designer;

/// A button renamed: every reference to it follows (the places that name
/// a button are controller-core's, the validator's own list).
fn rename_button(m: &mut Value, from: &str, to: &str) {
    let Ok(project) = serde_json::from_value::<Project>(m.clone()) else {
        return;
    };
    let refs: Vec<String> = controller_core::project::button_references(&project)
        .into_iter()
        .filter(|r| r.id == from)
        .map(|r| r.path)
        .collect();
    for at in refs {
        path::set(m, &at, Some(Value::String(to.into())));
    }
}

fn led_follows(source: LedSource) -> &'static str {
    match source {
        LedSource::State => "the button",
        LedSource::Feedback => "feedback only",
    }
}

pub fn button_fields(d: Designer, i: usize) -> AnyView {
    let base = format!("buttons[{i}]");
    let at = |f: &str| format!("{base}.{f}");
    let id_at = at("id");
    let rename = Opts::default().on_set(move |m, v| {
        let old = path::text(m, &id_at);
        rename_button(m, &old, v);
        path::set(m, &id_at, Some(Value::String(v.into())));
    });
    let kinds = Signal::stored(plain(ButtonKind::names()));
    let colors = Signal::stored(plain(LedColor::names()));
    let sources = Signal::stored(
        LedSource::ALL
            .iter()
            .map(|s| (s.name().to_string(), led_follows(*s).to_string()))
            .collect(),
    );
    let (groups, mute_levels) = suggestions(d);
    let repeat_at = at("repeat");
    let has_repeat = {
        let r = repeat_at.clone();
        Memo::new(move |_| {
            d.model
                .with(|m| path::get(m, &r).is_some_and(|v| !v.is_null()))
        })
    };
    let repeat = Opts::default().on_set({
        let r = repeat_at.clone();
        move |m, on| {
            path::set(
                m,
                &r,
                (on == "true").then(|| json!({"delay_ms": 400, "interval_ms": 200})),
            )
        }
    });
    view! {
        <div class="fields">
            <div class="row">{input(d, "Id", at("id"), rename)}{input(d, "Label", at("label"), Opts::default())}</div>
            {input(d, "Second line", at("sublabel"), Opts::optional())}
            {icon_picker(d, base.clone())}
            <div class="row">
                {select(d, "Kind", at("kind"), kinds, Opts::default().default_is("momentary"))}
                {input(d, "Group", at("group"), Opts { list: Some(format!("groups-{i}")), ..Opts::optional() }.hint("interlock buttons only"))}
            </div>
            {datalist(format!("groups-{i}"), groups)}
            <div class="row">
                {select(d, "LED colour", at("color"), colors, Opts::default().default_is("green"))}
                {select(d, "LED follows", at("led"), sources, Opts::default().default_is("state"))}
            </div>
            {checkbox(d, "Repeat while held", repeat_at.clone(), repeat)}
            {move || has_repeat.get().then(|| view! {
                <div class="row">
                    {input(d, "Delay ms", format!("{}.delay_ms", repeat_at), Opts::number())}
                    {input(d, "Interval ms", format!("{}.interval_ms", repeat_at), Opts::number())}
                </div>
            })}
            {input(d, "Confirm question", at("confirm"), Opts::optional().placeholder("e.g. Switch the whole room off?"))}
            {input(d, "Mutes level", at("mutes"), Opts { list: Some(format!("mute-levels-{i}")), ..Opts::optional() }.hint("a toggle that is this level's mute"))}
            {datalist(format!("mute-levels-{i}"), mute_levels)}
            {condition(d, base.clone(), "enabled", "Enabled only while", "always enabled")}
            {condition(d, base.clone(), "led_when", "LED lit while", "the LED follows the button or feedback")}
        </div>
    }
    .into_any()
}

/// Suggestions for a button's fields: the interlock groups in use, the
/// levels with a mute.
fn suggestions(d: Designer) -> (Memo<Vec<String>>, Memo<Vec<String>>) {
    let of = move |list: &'static str, key: &'static str, keep: fn(&Value) -> bool| {
        Memo::new(move |_| {
            let mut found: Vec<String> = d.model.with(|m| {
                m[list]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|x| keep(x))
                    .filter_map(|x| x[key].as_str().map(str::to_string))
                    .collect()
            });
            found.sort();
            found.dedup();
            found
        })
    };
    (
        of("buttons", "group", |_| true),
        of("levels", "id", |l| l["mute"] == Value::Bool(true)),
    )
}

/// Suggestions for one button's field (ids per button: the Buttons list
/// shows every button's fields at once).
fn datalist(id: String, items: Memo<Vec<String>>) -> impl IntoView {
    view! { <datalist id=id>{move || items.get().into_iter().map(|v| view! { <option value=v></option> }).collect_view()}</datalist> }
}

/// The icon picker: none, or one of the panel's icons.
fn icon_picker(d: Designer, base: String) -> impl IntoView {
    let at = format!("{base}.icon");
    d.register(&at);
    let label_id = dom_id("icon-label", &base);
    let current = {
        let at = at.clone();
        Memo::new(move |_| {
            d.model.with(|m| {
                path::get(m, &at)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
        })
    };
    let pick = move |name: Option<&'static str>| {
        let at = at.clone();
        move |_| {
            d.edit(None, |m| {
                path::set(m, &at, name.map(|n| Value::String(n.into())))
            })
        }
    };
    view! {
        <div class="field">
            <span class="label" id=label_id.clone()>"Icon"</span>
            <div class="icons" role="group" aria-labelledby=label_id data-path=format!("{base}.icon")>
                <button type="button" class="icon-choice" title="No icon" aria-pressed=move || current.get().is_none().to_string()
                    on:click=pick(None)>"none"</button>
                {controller_core::icons::NAMES.into_iter().map(|name| view! {
                    <button type="button" class="icon-choice" aria-label=name title=name
                        aria-pressed=move || (current.get().as_deref() == Some(name)).to_string()
                        on:click=pick(Some(name))>{super::canvas::icon(name, "icon")}</button>
                }).collect_view()}
            </div>
        </div>
    }
}

fn comparison_words(c: &str) -> &'static str {
    match c {
        "equals" => "equals",
        "not_equals" => "is not",
        "above" => "is above",
        _ => "is below",
    }
}

fn variable_kind(m: &Value, variable: &str) -> Option<String> {
    m["variables"]
        .as_array()?
        .iter()
        .find(|v| v["id"] == variable)
        .map(|v| path::text(v, "kind"))
}

/// A value typed for a variable of its kind (a number, true/false).
pub fn typed(m: &Value, variable: &str, text: &str) -> Option<Value> {
    match variable_kind(m, variable).as_deref() {
        Some("number") => path::number(text),
        Some("bool") if text == "true" => Some(Value::Bool(true)),
        Some("bool") if text == "false" => Some(Value::Bool(false)),
        _ => Some(Value::String(text.into())),
    }
}

/// The comparison a condition has (the first present; `equals` for none).
fn comparison_of(cond: &Value) -> &'static str {
    COMPARISONS
        .into_iter()
        .find(|c| cond.get(*c).is_some_and(|v| !v.is_null()))
        .unwrap_or("equals")
}

/// A button's `enabled` or `led_when`: a variable, a comparison and a value.
/// No variable: no condition (the key is removed).
fn condition(
    d: Designer,
    button: String,
    key: &'static str,
    title: &'static str,
    none: &'static str,
) -> impl IntoView {
    let base = format!("{button}.{key}");
    d.register(&base);
    let vars = d.ids("variables");
    let state = {
        let base = base.clone();
        Memo::new(move |_| {
            d.model.with(|m| {
                path::get(m, &base)
                    .filter(|c| c.is_object())
                    .map(comparison_of)
            })
        })
    };
    let pick_var = {
        let base = base.clone();
        Opts::default()
            .none(format!("(no condition: {none})"))
            .shows({
                let b = base.clone();
                move |m| path::text(m, &format!("{b}.variable"))
            })
            .on_set(move |m, v| {
                if v.is_empty() {
                    path::set(m, &base, None);
                } else if path::get(m, &base).is_some_and(Value::is_object) {
                    path::set(
                        m,
                        &format!("{base}.variable"),
                        Some(Value::String(v.into())),
                    );
                } else {
                    let zero = match variable_kind(m, v).as_deref() {
                        Some("bool") => json!(true),
                        Some("number") => json!(0),
                        _ => json!(""),
                    };
                    path::set(m, &base, Some(json!({"variable": v, "equals": zero})));
                }
            })
    };
    let var_at = format!("{base}.variable");
    let body = {
        let base = base.clone();
        move || {
            state
                .get()
                .map(|compare| comparison_fields(d, base.clone(), compare))
        }
    };
    view! {
        <div class="condition" data-path=base.clone()>
            <div class="row">
                {select(d, title, var_at, Signal::derive(move || plain(vars.get())), pick_var)}
                {body}
            </div>
            {move || (vars.get().is_empty() && state.get().is_none()).then(|| view! {
                <small>"Add a variable (Project) to make this depend on it."</small>
            })}
        </div>
    }
}

fn comparison_fields(d: Designer, base: String, compare: &'static str) -> impl IntoView {
    let choices = Signal::stored(
        COMPARISONS
            .iter()
            .map(|c| (c.to_string(), comparison_words(c).to_string()))
            .collect(),
    );
    let pick = {
        let base = base.clone();
        Opts::default()
            .shows(move |_| compare.to_string())
            .on_set(move |m, c| {
                let Some(cond) = path::get_mut(m, &base).and_then(Value::as_object_mut) else {
                    return;
                };
                let old = COMPARISONS
                    .iter()
                    .find_map(|k| cond.remove(*k))
                    .unwrap_or(Value::Null);
                let variable = cond
                    .get("variable")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let old_text = match &old {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    v => v.to_string(),
                };
                if c == "above" || c == "below" {
                    let limit = if old.is_number() {
                        old
                    } else {
                        path::number(&old_text).unwrap_or(json!(0))
                    };
                    cond.insert(c.to_string(), limit);
                } else {
                    let _ = cond;
                    let value = typed(m, &variable, &old_text);
                    if let Some(cond) = path::get_mut(m, &base).and_then(Value::as_object_mut) {
                        cond.insert(c.to_string(), value.unwrap_or(Value::Null));
                    }
                }
            })
    };
    let var_at = format!("{base}.variable");
    let numeric = compare == "above" || compare == "below";
    let value_opts = if numeric {
        // An empty limit: no comparison, which the validator names.
        Opts {
            number: true,
            optional: true,
            ..Opts::default()
        }
    } else {
        Opts::default().convert(move |m, t| typed(m, &path::text(m, &var_at), t))
    };
    view! {
        {select(d, "Comparison", format!("{base}.comparison"), choices, pick)}
        {input(d, "Value", format!("{base}.{compare}"), value_opts)}
    }
}
