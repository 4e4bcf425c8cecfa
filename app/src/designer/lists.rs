//! The list editors: buttons, levels, devices, sequences, feedback rules
//! and timers, one card per item; and the project's identity and variables.

use leptos::prelude::*;
use serde_json::{json, Value};

use controller_core::project::vocab::Vocabulary;
use controller_core::project::{DeviceKind, LevelKind, Transport, WhenBusy};

use super::button::button_fields;
use super::fields::{checkbox, ids_of, input, plain, select, Opts};
use super::path;
use super::state::{Designer, Section};

/// A list's key, title and what "Add" makes.
fn list_of(section: Section) -> (&'static str, &'static str, &'static str) {
    match section {
        Section::Buttons => ("buttons", "Buttons", "Add button"),
        Section::Levels => ("levels", "Levels", "Add level"),
        Section::Devices => ("devices", "Devices", "Add device"),
        Section::Sequences => ("sequences", "Sequences", "Add sequence"),
        Section::Feedback => ("feedback", "Feedback rules", "Add feedback rule"),
        _ => ("timers", "Timers", "Add timer"),
    }
}

fn editor(d: Designer, section: Section, i: usize) -> AnyView {
    match section {
        Section::Buttons => button_fields(d, i),
        Section::Levels => level_fields(d, i),
        Section::Devices => device_fields(d, i),
        Section::Sequences => super::steps::sequence_fields(d, i),
        Section::Feedback => super::rules::feedback_fields(d, i),
        _ => super::rules::timer_fields(d, i),
    }
}

/// A new item of the list.
fn create(m: &Value, section: Section, all_ids: &[String]) -> Value {
    let first = |list: &str| path::ids(m, list).into_iter().next().unwrap_or_default();
    match section {
        Section::Buttons => super::canvas::new_button(&path::unique_id("button", all_ids)),
        Section::Levels => {
            json!({"id": path::unique_id("level", all_ids), "label": "New level", "kind": "fader", "min": 0, "max": 100, "step": 1})
        }
        Section::Devices => {
            json!({"id": path::unique_id("device", &path::ids(m, "devices")), "name": "", "transport": "tcp",
            "address": "192.0.2.10:23", "terminator": "\\r", "poll_secs": 10, "reconnect_secs": 5})
        }
        Section::Sequences => {
            json!({"id": path::unique_id("sequence", &path::ids(m, "sequences")), "button": first("buttons"),
            "on": "press", "steps": [{"wait_ms": 100}]})
        }
        Section::Feedback => {
            json!({"device": first("devices"), "equals": "", "press": first("buttons")})
        }
        _ => {
            json!({"id": path::unique_id("timer", &path::ids(m, "timers")), "cron": "0 0 7 * * MON-FRI", "time_zone": "UTC", "press": first("buttons")})
        }
    }
}

/// An item's heading: its id, or a feedback rule's device and match.
fn item_name(item: &Value, i: usize) -> String {
    if let Some(id) = item["id"].as_str() {
        return id.to_string();
    }
    if let Some(device) = item["device"].as_str() {
        let matched = item["equals"]
            .as_str()
            .or(item["regex"].as_str())
            .unwrap_or("");
        return format!("{device}: {matched}");
    }
    format!("#{}", i + 1)
}

pub fn list(d: Designer, section: Section) -> AnyView {
    let (key, title, add) = list_of(section);
    let count = Memo::new(move |_| d.model.with(|m| path::len(m, key)));
    let add_one = move || {
        let ids = d.all_ids();
        d.edit(None, |m| {
            let item = create(m, section, &ids);
            if let Some(list) = path::list(m, key) {
                list.push(item);
            }
        });
    };
    view! {
        <div class="list">
            <h2>{title}</h2>
            {move || (0..count.get()).map(|i| item_card(d, section, key, i)).collect_view()}
            <button type="button" id=format!("add-{key}") on:click=move |_| add_one()>{add}</button>
        </div>
    }
    .into_any()
}

fn item_card(d: Designer, section: Section, key: &'static str, i: usize) -> impl IntoView {
    let name = Memo::new(move |_| d.model.with(|m| item_name(&m[key][i], i)));
    let remove = move || {
        d.edit(None, |m| {
            if let Some(list) = path::list(m, key) {
                list.remove(i);
            }
        })
    };
    view! {
        <section class="card" data-item=format!("{key}[{i}]")>
            <div class="card-head">
                <h3>{move || name.get()}</h3>
                <button type="button" class="small" aria-label=move || format!("Remove {}", name.get()) on:click=move |_| remove()>"Remove"</button>
            </div>
            {editor(d, section, i)}
        </section>
    }
}

pub fn level_fields(d: Designer, i: usize) -> AnyView {
    let at = move |f: &str| format!("levels[{i}].{f}");
    let kinds = Signal::stored(plain(LevelKind::names()));
    view! {
        <div class="fields">
            <div class="row">
                {input(d, "Id", at("id"), Opts::default())}
                {input(d, "Label", at("label"), Opts::default())}
                {select(d, "Kind", at("kind"), kinds, Opts::default().default_is("fader"))}
            </div>
            <div class="row">
                {input(d, "Min", at("min"), Opts::number())}
                {input(d, "Max", at("max"), Opts::number())}
                {input(d, "Step", at("step"), Opts::number())}
                {input(d, "Unit", at("unit"), Opts::optional())}
            </div>
            <div class="row">
                {input(d, "Initial", at("initial"), Opts { number: true, optional: true, ..Opts::default() })}
                {checkbox(d, "Has a mute", at("mute"), Opts::default())}
            </div>
            <div class="row">
                {select(d, "Device", at("device"), ids_of(d, "devices"), Opts::optional())}
                {input(d, "Send", at("send"), Opts::optional().placeholder("VOL {value}"))}
                {input(d, "Send mute", at("send_mute"), Opts::optional())}
                {input(d, "Send at most every (ms)", at("send_interval_ms"), Opts::number().hint("while the level moves; the final value is always sent"))}
            </div>
        </div>
    }
    .into_any()
}

fn address_hint(transport: &str) -> &'static str {
    match transport {
        "serial" => "the port, e.g. /dev/ttyUSB0",
        "http" => "a base URL, e.g. http://10.0.0.30",
        _ => "host:port",
    }
}

fn device_fields(d: Designer, i: usize) -> AnyView {
    let at = move |f: &str| format!("devices[{i}].{f}");
    let transport = Memo::new(move |_| d.model.with(|m| path::text(m, &at("transport"))));
    let transports = Signal::stored(plain(Transport::names()));
    let kinds = Signal::stored(plain(DeviceKind::names()));
    let busy = Signal::stored(plain(WhenBusy::names()));
    view! {
        <div class="fields">
            <div class="row">{input(d, "Id", at("id"), Opts::default())}{input(d, "Name", at("name"), Opts::default())}</div>
            {move || { let t = transport.get(); view! {
                <div class="row">
                    {select(d, "Transport", at("transport"), transports, Opts::default())}
                    {input(d, "Address", at("address"), Opts::default().hint(address_hint(&t)))}
                    {(t == "serial").then(|| input(d, "Serial", at("serial"), Opts::optional().placeholder("9600 8N1")))}
                </div>
            } }}
            <div class="row">
                {input(d, "Terminator", at("terminator"), Opts::default().hint("escapes: \\r \\n \\xNN"))}
                {input(d, "Poll", at("poll"), Opts::optional().hint("sent every poll seconds"))}
                {input(d, "Poll seconds", at("poll_secs"), Opts::number())}
                {input(d, "Reconnect seconds", at("reconnect_secs"), Opts::number())}
            </div>
            <div class="row">
                {select(d, "Kind", at("kind"), kinds, Opts::optional().hint("the word notices use"))}
                {input(d, "Busy reply", at("busy"), Opts::optional().hint("a regex, e.g. ERR3$"))}
                {select(d, "When busy", at("when_busy"), busy, Opts::optional())}
            </div>
            {select(d, "Status LED", at("status_led"), ids_of(d, "buttons"), Opts::optional())}
        </div>
    }
    .into_any()
}
