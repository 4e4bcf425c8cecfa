//! Projects that name library drivers (issue 22, item 2): devices with a
//! driver, settings and an address; steps that call commands with
//! parameters; levels bound to a command; state read by name in templates,
//! conditions and feedback rules. Every mistake is a located error.

use controller_core::project::{Project, ProjectError, Value, VariableKind};

/// A small room: a projector, a switcher and a DSP, all driver devices,
/// then `extra` (more tables, or tables that break it).
fn room(extra: &str) -> String {
    format!(
        r#"[project]
name = "Driver room"

[[buttons]]
id = "power"
label = "Display"
sublabel = "Lamp {{projector.lamp_hours}} h"
kind = "toggle"
led_when = {{ variable = "projector.power", equals = "on" }}

[[buttons]]
id = "hdmi2"
label = "HDMI 2"
kind = "momentary"
enabled = {{ variable = "projector.power", equals = "on" }}

[[levels]]
id = "volume"
label = "Volume"
min = -60.0
max = 10.0
mute = true
device = "dsp"
command = "level"
mute_command = "mute"

[[panels]]
id = "tablet"
name = "Tablet"
columns = 2
rows = 2
summary = ["Input {{matrix.input}}"]

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ {{ button = "power", row = 0, col = 0 }}, {{ button = "hdmi2", row = 0, col = 1 }} ]

[[devices]]
id = "projector"
driver = "pjlink"
address = "10.0.0.20"

[[devices]]
id = "matrix"
driver = "kramer-p3000"
address = "10.0.0.21:5000"
settings = {{ output = 2 }}

[[devices]]
id = "dsp"
driver = "biamp-tesira"
address = "10.0.0.22:23"

[[sequences]]
id = "on"
button = "power"
steps = [
  {{ device = "projector", command = "power", value = "on" }},
  {{ device = "projector", command = "power_query" }},
]

[[sequences]]
id = "hdmi2"
button = "hdmi2"
steps = [ {{ device = "matrix", command = "route", params = {{ input = 2 }} }} ]

[[feedback]]
device = "dsp"
state = "level"
level = "volume"

[[feedback]]
device = "projector"
state = "power"
equals = "warming"
button = "power"
led = "slow_blink"
{extra}"#
    )
}

fn errors(text: &str) -> Vec<ProjectError> {
    match Project::from_toml(text) {
        Ok(_) => panic!("the project validated:\n{text}"),
        Err(e) => e.0,
    }
}

/// The one error at `path`, located in the text (line and column known).
fn error_at(text: &str, path: &str) -> ProjectError {
    let errors = errors(text);
    let e = errors
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("no error at {path}: {errors:#?}"))
        .clone();
    assert!(e.line > 0 && e.column > 0, "{e:?} is not located");
    e
}

#[test]
fn a_driver_room_validates_and_its_state_is_variables_by_name() {
    let p = Project::from_toml(&room("")).unwrap();
    let power = p.variable("projector.power").expect("projector.power");
    assert_eq!(power.kind, VariableKind::Text);
    assert!(p.variable("projector.lamp_hours").is_some());
    assert!(p.variable("dsp.level").is_some());
    assert!(p.variable("matrix.input").is_some());
    // Only the devices' own state: a raw name is not invented.
    assert!(p.variable("projector.volume").is_none());
    // Not written back into the file.
    assert!(!p.to_toml().contains("id = \"projector.power\""));
    let again = Project::from_toml(&p.to_toml()).unwrap();
    assert_eq!(again, p);
    let step = &p.sequences[0].steps[0];
    assert_eq!(step.command.as_deref(), Some("power"));
    assert_eq!(step.value, Some(Value::Text("on".into())));
    assert_eq!(p.levels[0].command.as_deref(), Some("level"));
    assert_eq!(p.devices[1].settings["output"], Value::Number(2.0));
}

#[test]
fn an_unknown_driver_is_located_and_the_closest_names_suggested() {
    let text = room("").replace("driver = \"pjlink\"", "driver = \"pjlnk\"");
    let e = error_at(&text, "devices[0].driver");
    assert!(e.message.contains("pjlnk"), "{}", e.message);
    assert!(e.message.contains("did you mean"), "{}", e.message);
    assert!(e.message.contains("\"pjlink\""), "{}", e.message);
    // The closest few, not the whole library.
    assert!(!e.message.contains("samsung-mdc"), "{}", e.message);
    assert!(!e.message.contains("wattbox"), "{}", e.message);

    // A maker's or a product's name finds its driver.
    for (typed, meant) in [
        ("samsung", "samsung-mdc"),
        ("tesira", "biamp-tesira"),
        ("kramer-p300", "kramer-p3000"),
    ] {
        let text = room("").replace("driver = \"pjlink\"", &format!("driver = \"{typed}\""));
        let e = error_at(&text, "devices[0].driver");
        assert!(
            e.message.contains(&format!("\"{meant}\"")),
            "{typed}: {}",
            e.message
        );
        let quoted = e.message.matches('"').count() / 2;
        assert!(quoted <= 4, "{typed}: at most 3 suggestions: {}", e.message);
    }

    // Nothing close: no guess, a pointer to the list.
    let text = room("").replace("driver = \"pjlink\"", "driver = \"zzzzqqq\"");
    let e = error_at(&text, "devices[0].driver");
    assert!(!e.message.contains("did you mean"), "{}", e.message);
    assert!(e.message.contains("docs/drivers.md"), "{}", e.message);
}

#[test]
fn a_driver_devices_poll_secs_overrides_its_drivers_polls_and_is_checked() {
    let text = room("").replace(
        "driver = \"pjlink\"\naddress = \"10.0.0.20\"",
        "driver = \"pjlink\"\naddress = \"10.0.0.20\"\npoll_secs = 1",
    );
    let p = Project::from_toml(&text).unwrap();
    assert_eq!(p.devices[0].poll_secs, Some(1));
    assert_eq!(p.devices[1].poll_secs, None, "the driver's own intervals");
    assert_eq!(Project::from_toml(&p.to_toml()).unwrap(), p);

    for bad in ["0", "3601"] {
        let text = room("").replace(
            "driver = \"pjlink\"\naddress = \"10.0.0.20\"",
            &format!("driver = \"pjlink\"\naddress = \"10.0.0.20\"\npoll_secs = {bad}"),
        );
        let e = error_at(&text, "devices[0].poll_secs");
        assert!(e.message.contains("between 1 and 3600"), "{}", e.message);
    }

    // A driver without polls: nothing to set.
    let text = room(
        "\n[[devices]]\nid = \"gateway\"\ndriver = \"globalcache-ir\"\naddress = \"10.0.0.30\"\npoll_secs = 5\n",
    );
    let e = error_at(&text, "devices[3].poll_secs");
    assert!(e.message.contains("polls nothing"), "{}", e.message);
}

#[test]
fn an_unknown_command_is_located_at_the_step() {
    let text = room("").replace("command = \"power_query\"", "command = \"power_qury\"");
    let e = error_at(&text, "sequences[0].steps[1].command");
    assert!(e.message.contains("power_qury"), "{}", e.message);
    assert!(e.message.contains("power_query"), "{}", e.message);
}

#[test]
fn a_parameter_out_of_range_is_located_at_the_parameter() {
    let text = room("").replace("params = { input = 2 }", "params = { input = 99 }");
    let e = error_at(&text, "sequences[1].steps[0].params.input");
    assert!(
        e.message.contains("99") || e.message.contains("64"),
        "{}",
        e.message
    );

    let text = room("").replace("value = \"on\"", "value = \"maybe\"");
    let e = error_at(&text, "sequences[0].steps[0].value");
    assert!(e.message.contains("maybe"), "{}", e.message);
}

#[test]
fn missing_unknown_and_surplus_parameters_are_errors() {
    let text = room("").replace("params = { input = 2 }", "params = { inptu = 2 }");
    let e = error_at(&text, "sequences[1].steps[0].params.inptu");
    assert!(e.message.contains("input"), "{}", e.message);

    let text = room("").replace(
        "{ device = \"matrix\", command = \"route\", params = { input = 2 } }",
        "{ device = \"matrix\", command = \"route\" }",
    );
    let e = error_at(&text, "sequences[1].steps[0]");
    assert!(e.message.contains("input"), "{}", e.message);

    let text = room("").replace(
        "command = \"power_query\" }",
        "command = \"power_query\", value = 1 }",
    );
    let e = error_at(&text, "sequences[0].steps[1].value");
    assert!(e.message.contains("no parameter"), "{}", e.message);
}

#[test]
fn settings_are_the_drivers_and_in_range() {
    let text = room("").replace("settings = { output = 2 }", "settings = { output = 900 }");
    let e = error_at(&text, "devices[1].settings.output");
    assert!(
        e.message.contains("900") || e.message.contains("64"),
        "{}",
        e.message
    );

    let text = room("").replace("settings = { output = 2 }", "settings = { outptu = 2 }");
    let e = error_at(&text, "devices[1].settings.outptu");
    assert!(e.message.contains("output"), "{}", e.message);
}

#[test]
fn state_named_in_templates_conditions_and_rules_must_be_the_drivers() {
    let text = room("").replace("{projector.lamp_hours}", "{projector.lamp_hour}");
    let e = error_at(&text, "buttons[0].sublabel");
    assert!(e.message.contains("lamp_hours"), "{}", e.message);

    let text = room("").replacen(
        "led_when = { variable = \"projector.power\"",
        "led_when = { variable = \"projector.powr\"",
        1,
    );
    let e = error_at(&text, "buttons[0].led_when.variable");
    assert!(e.message.contains("power"), "{}", e.message);

    let text = room("").replace("state = \"level\"", "state = \"gain\"");
    let e = error_at(&text, "feedback[0].state");
    assert!(e.message.contains("level"), "{}", e.message);

    // A rule on a driver device reads a state, not lines.
    let text = room("").replace("state = \"level\"\n", "regex = '(.*)'\n");
    errors(&text)
        .iter()
        .find(|e| e.path == "feedback[0]" && e.message.contains("state"))
        .expect("a rule without its state");
}

#[test]
fn a_level_calls_a_command_that_takes_a_number_and_a_mute_that_takes_on_off() {
    let text = room("").replace("command = \"level\"", "command = \"subscribe_level\"");
    let e = error_at(&text, "levels[0].command");
    assert!(e.message.contains("subscribe_level"), "{}", e.message);

    let text = room("").replace("mute_command = \"mute\"", "mute_command = \"level\"");
    let e = error_at(&text, "levels[0].mute_command");
    assert!(e.message.contains("on/off"), "{}", e.message);

    let text = room("").replace(
        "command = \"level\"",
        "command = \"level\"\nsend = \"VOL {value}\"",
    );
    assert!(!errors(&text).is_empty());
}

#[test]
fn strings_and_raw_fields_do_not_go_to_a_driver_device() {
    let text = room("").replace(
        "{ device = \"projector\", command = \"power_query\" }",
        "{ device = \"projector\", send = \"%1POWR ?\" }",
    );
    let e = error_at(&text, "sequences[0].steps[1].device");
    assert!(e.message.contains("pjlink"), "{}", e.message);

    let text = room("").replace(
        "address = \"10.0.0.20\"",
        "address = \"10.0.0.20\"\npoll = \"%1POWR ?\"",
    );
    let e = error_at(&text, "devices[0].poll");
    assert!(e.message.contains("pjlink"), "{}", e.message);
}

#[test]
fn raw_devices_keep_their_own_rules() {
    let raw = r#"
[[devices]]
id = "old"
transport = "tcp"
address = "10.0.0.30:23"

[[sequences]]
id = "old"
button = "hdmi2"
steps = [ { device = "old", send = "PING" } ]

[[feedback]]
device = "old"
equals = "PONG"
button = "hdmi2"
led = "on"
"#;
    let p = Project::from_toml(&room(raw)).unwrap();
    assert!(p.variable("old.power").is_none());

    // A raw device has no command, no state and no settings.
    let text = room(raw).replace("send = \"PING\"", "command = \"ping\"");
    let e = error_at(&text, "sequences[2].steps[0].device");
    assert!(e.message.contains("no driver"), "{}", e.message);
    let text = room(raw).replace("equals = \"PONG\"", "state = \"power\"");
    error_at(&text, "feedback[2].state");
    let text = room(raw).replace("transport = \"tcp\"\n", "");
    let e = error_at(&text, "devices[3]");
    assert!(e.message.contains("driver"), "{}", e.message);
}
