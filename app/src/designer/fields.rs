//! The designer's form fields, each bound to a field path of the model:
//! what it shows is read from the model, what is typed is written back
//! through [`Designer::edit`], and the validator's errors for the path are
//! shown at it (`aria-invalid`, the message after it).

use std::sync::Arc;

use leptos::prelude::*;
use serde_json::Value;

use super::path;
use super::state::Designer;

/// Turns what was typed into the value written (None: the key removed),
/// given the model being edited (never read through its signal then: it
/// is being written).
pub type Convert = Arc<dyn Fn(&Value, &str) -> Option<Value> + Send + Sync>;
/// Writes a picked value into the model itself (a renamed button, a
/// changed comparison): the model and the value.
pub type OnSet = Arc<dyn Fn(&mut Value, &str) + Send + Sync>;

/// What a field shows, read from the model, when not its path's value.
pub type Shows = Arc<dyn Fn(&Value) -> String + Send + Sync>;

/// How a field reads and writes its value.
#[derive(Clone, Default)]
pub struct Opts {
    pub number: bool,
    /// Empty removes the key.
    pub optional: bool,
    pub hint: Option<&'static str>,
    pub placeholder: Option<&'static str>,
    /// A datalist's id for suggestions.
    pub list: Option<String>,
    pub convert: Option<Convert>,
    pub on_set: Option<OnSet>,
    /// A select's first choice when optional ("(none)").
    pub none: Option<String>,
    /// A select's value when the model has none.
    pub default: Option<&'static str>,
    /// What the field shows instead of the model's value at its path.
    pub shows: Option<Shows>,
}

impl Opts {
    pub fn number() -> Opts {
        Opts {
            number: true,
            ..Opts::default()
        }
    }
    pub fn optional() -> Opts {
        Opts {
            optional: true,
            ..Opts::default()
        }
    }
    pub fn hint(mut self, hint: &'static str) -> Opts {
        self.hint = Some(hint);
        self
    }
    pub fn placeholder(mut self, text: &'static str) -> Opts {
        self.placeholder = Some(text);
        self
    }
    pub fn default_is(mut self, value: &'static str) -> Opts {
        self.default = Some(value);
        self
    }
    pub fn none(mut self, text: impl Into<String>) -> Opts {
        self.none = Some(text.into());
        self.optional = true;
        self
    }
    pub fn convert(
        mut self,
        f: impl Fn(&Value, &str) -> Option<Value> + Send + Sync + 'static,
    ) -> Opts {
        self.convert = Some(Arc::new(f));
        self
    }
    pub fn on_set(mut self, f: impl Fn(&mut Value, &str) + Send + Sync + 'static) -> Opts {
        self.on_set = Some(Arc::new(f));
        self
    }
    pub fn shows(mut self, f: impl Fn(&Value) -> String + Send + Sync + 'static) -> Opts {
        self.shows = Some(Arc::new(f));
        self
    }

    fn value(&self, model: &Value, typed: &str) -> Option<Value> {
        if let Some(convert) = &self.convert {
            return convert(model, typed);
        }
        if self.number {
            return path::number(typed);
        }
        if self.optional && typed.is_empty() {
            return None;
        }
        Some(Value::String(typed.to_string()))
    }

    fn write(&self, model: &mut Value, at: &str, typed: &str) {
        match &self.on_set {
            Some(f) => f(model, typed),
            None => {
                let value = self.value(model, typed);
                path::set(model, at, value)
            }
        }
    }

    fn read(&self, model: &Value, at: &str) -> String {
        match &self.shows {
            Some(f) => f(model),
            None => path::text(model, at),
        }
    }
}

/// An element id from a field path.
pub fn dom_id(prefix: &str, at: &str) -> String {
    let safe: String = at
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{prefix}-{safe}")
}

/// The message(s) the validator has for `at`, after its control.
fn error_text(d: Designer, at: String) -> impl IntoView {
    let id = dom_id("err", &at);
    let messages = Memo::new(move |_| d.errors_at(&at).join(" "));
    move || {
        let m = messages.get();
        (!m.is_empty()).then(|| view! { <p class="field-error" id=id.clone()>{m}</p> })
    }
}

fn invalid(d: Designer, at: &str) -> Memo<bool> {
    let at = at.to_string();
    Memo::new(move |_| !d.errors_at(&at).is_empty())
}

fn wrap(
    label: String,
    id: String,
    control: AnyView,
    hint: Option<&'static str>,
    err: AnyView,
) -> AnyView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {control}
            {hint.map(|h| view! { <small>{h}</small> })}
            {err}
        </div>
    }
    .into_any()
}

/// A text (or number) input for the value at `at`.
pub fn input(d: Designer, label: impl Into<String>, at: String, opts: Opts) -> AnyView {
    d.register(&at);
    let id = dom_id("f", &at);
    let bad = invalid(d, &at);
    let (read_at, write_at, err_at) = (at.clone(), at.clone(), at.clone());
    let read = opts.clone();
    let value = move || d.model.with(|m| read.read(m, &read_at));
    let hint = opts.hint;
    let control = view! {
        <input id=id.clone() type="text" data-path=at.clone()
            inputmode=opts.number.then_some("decimal")
            placeholder=opts.placeholder list=opts.list.clone()
            spellcheck="false" autocomplete="off"
            class:invalid=move || bad.get()
            aria-invalid=move || bad.get().then_some("true")
            aria-describedby=move || bad.get().then(|| dom_id("err", &err_at))
            prop:value=value
            on:input=move |ev| {
                let typed = event_target_value(&ev);
                d.edit(Some(&write_at), |m| opts.write(m, &write_at, &typed));
            }/>
    }
    .into_any();
    wrap(
        label.into(),
        id,
        control,
        hint,
        error_text(d, at).into_any(),
    )
}

/// A checkbox for the boolean at `at`.
pub fn checkbox(d: Designer, label: impl Into<String>, at: String, opts: Opts) -> AnyView {
    d.register(&at);
    let id = dom_id("f", &at);
    let (read_at, write_at) = (at.clone(), at.clone());
    // With `on_set` the field stands for a value's presence (`repeat`).
    let set = opts.on_set.clone();
    let presence = set.is_some();
    let checked = move || {
        d.model.with(|m| match path::get(m, &read_at) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Null) | None => false,
            Some(_) => presence,
        })
    };
    let control = view! {
        <input id=id.clone() type="checkbox" data-path=at.clone() prop:checked=checked
            on:change=move |ev| {
                let on = event_target_checked(&ev);
                d.edit(Some(&write_at), |m| match &set {
                    Some(f) => f(m, if on { "true" } else { "false" }),
                    None => path::set(m, &write_at, Some(Value::Bool(on))),
                });
            }/>
    }
    .into_any();
    wrap(
        label.into(),
        id,
        control,
        None,
        error_text(d, at).into_any(),
    )
}

/// Choices: (value, words).
pub type Choices = Signal<Vec<(String, String)>>;

/// Choices whose words are their values.
pub fn plain(list: impl IntoIterator<Item = impl Into<String>>) -> Vec<(String, String)> {
    list.into_iter()
        .map(|v| {
            let v = v.into();
            (v.clone(), v)
        })
        .collect()
}

/// A select for the value at `at`.
pub fn select(
    d: Designer,
    label: impl Into<String>,
    at: String,
    choices: Choices,
    opts: Opts,
) -> AnyView {
    d.register(&at);
    let id = dom_id("f", &at);
    let bad = invalid(d, &at);
    let (read_at, write_at, err_at) = (at.clone(), at.clone(), at.clone());
    let read = opts.clone();
    let current = Memo::new(move |_| {
        let v = d.model.with(|m| read.read(m, &read_at));
        if v.is_empty() {
            read.default.unwrap_or("").to_string()
        } else {
            v
        }
    });
    let none = opts
        .optional
        .then(|| opts.none.clone().unwrap_or_else(|| "(none)".into()));
    let hint = opts.hint;
    let control = view! {
        <select id=id.clone() data-path=at.clone()
            class:invalid=move || bad.get()
            aria-invalid=move || bad.get().then_some("true")
            aria-describedby=move || bad.get().then(|| dom_id("err", &err_at))
            prop:value=move || current.get()
            on:change=move |ev| {
                let picked = event_target_value(&ev);
                if write_at.starts_with("ui.") {
                    // What is shown (the panel edited), not the project.
                    opts.write(&mut Value::Null, &write_at, &picked);
                } else {
                    d.edit(Some(&write_at), |m| opts.write(m, &write_at, &picked));
                }
            }>
            {none.map(|n| view! { <option value="">{n}</option> })}
            {move || choices.get().into_iter().map(|(v, words)| {
                let selected = v == current.get_untracked();
                view! { <option value=v selected=selected>{words}</option> }
            }).collect_view()}
        </select>
    }
    .into_any();
    wrap(
        label.into(),
        id,
        control,
        hint,
        error_text(d, at).into_any(),
    )
}

/// Choices of a list's ids, tracked.
pub fn ids_of(d: Designer, list: &'static str) -> Signal<Vec<(String, String)>> {
    let ids = d.ids(list);
    Signal::derive(move || plain(ids.get()))
}

/// A small button.
pub fn small(text: &'static str, label: Option<String>, on: impl Fn() + 'static) -> impl IntoView {
    view! { <button type="button" class="small" aria-label=label on:click=move |_| on()>{text}</button> }
}

/// A titled card.
pub fn card(title: impl Into<String>, body: AnyView) -> AnyView {
    view! { <section class="card"><h3>{title.into()}</h3>{body}</section> }.into_any()
}
