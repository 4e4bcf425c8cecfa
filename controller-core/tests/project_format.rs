//! The project format: every error at once, each with line, column and path;
//! and no input makes the parser panic.

use controller_core::project::{demo_project, Project, ProjectError, DEMO_PROJECT_TOML};
use proptest::prelude::*;

const MINIMAL: &str = r#"
[project]
name = "Small room"

[[buttons]]
id = "power"
label = "Power"
kind = "toggle"

[[panels]]
id = "tablet"
name = "Tablet"
columns = 2
rows = 2

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ { button = "power", row = 0, col = 0 } ]
"#;

/// The error reported at `path`; the test fails when there is none.
fn error_at<'a>(errors: &'a [ProjectError], path: &str) -> &'a ProjectError {
    errors
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("no error at {path}: {errors:#?}"))
}

#[test]
fn minimal_project_parses() {
    let p = Project::from_toml(MINIMAL).unwrap();
    assert_eq!(p.project.name, "Small room");
    assert_eq!(p.panels[0].pages[0].buttons[0].width, 1);
}

#[test]
fn demo_round_trips_through_toml() {
    let again = Project::from_toml(&demo_project().to_toml()).unwrap();
    assert_eq!(&again, demo_project());
    assert!(Project::from_toml(DEMO_PROJECT_TOML).is_ok());
}

#[test]
fn reports_every_error_with_line_column_and_path() {
    let text = r#"[project]
name = "Broken room"

[[buttons]]
id = "a"
label = "A"
colour = "red"

[[buttons]]
id = "a"
label = "Again"
kind = "interlock"

[[panels]]
id = "tablet"
name = "Tablet"
columns = 2
rows = 2

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ { button = "missing", row = 0, col = 0 }, { button = "a", row = 5, col = 0 } ]
"#;
    let errors = Project::from_toml(text).unwrap_err().0;
    let find = |path: &str| error_at(&errors, path);
    let unknown = find("buttons[0].colour");
    assert_eq!((unknown.line, unknown.column), (7, 1));
    assert!(unknown.message.contains("unknown field"));
    let dup = find("buttons[1].id");
    assert_eq!(dup.line, 10);
    assert!(dup.message.contains("duplicate"));
    let group = find("buttons[1].kind");
    assert!(group.message.contains("group"));
    let dangling = find("panels[0].pages[0].buttons[0].button");
    assert_eq!(dangling.line, 23);
    assert!(dangling.message.contains("missing"));
    let range = find("panels[0].pages[0].buttons[1].row");
    assert!(range.message.contains("does not fit"));
    assert_eq!(errors.len(), 5, "{errors:#?}");
}

#[test]
fn type_errors_and_syntax_errors_are_located() {
    let bad_type = MINIMAL.replace("columns = 2", "columns = \"two\"");
    let e = Project::from_toml(&bad_type).unwrap_err().0;
    assert_eq!(e[0].path, "panels[0].columns", "{e:#?}");
    assert_eq!(e[0].line, 13);

    let bad_syntax = MINIMAL.replace("name = \"Small room\"", "name = \"Small room");
    let e = Project::from_toml(&bad_syntax).unwrap_err().0;
    assert_eq!(e[0].line, 3, "{e:#?}");

    let out_of_range = MINIMAL.replace("columns = 2", "columns = 300");
    let e = Project::from_toml(&out_of_range).unwrap_err().0;
    assert_eq!(e[0].path, "panels[0].columns", "{e:#?}");
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = "#".repeat(2 * 1024 * 1024);
    let e = Project::from_toml(&big).unwrap_err();
    assert!(e.to_string().contains("limit"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,400}") {
        let _ = Project::from_toml(&s);
    }

    #[test]
    fn mutated_demo_never_panics(cut in 0usize..DEMO_PROJECT_TOML.len(), insert in ".{0,8}") {
        let mut text = DEMO_PROJECT_TOML.to_string();
        let mut cut = cut;
        while !text.is_char_boundary(cut) { cut -= 1; }
        text.insert_str(cut, &insert);
        let _ = Project::from_toml(&text);
    }

    #[test]
    fn every_reported_error_has_a_place(cut in 0usize..DEMO_PROJECT_TOML.len(), len in 0usize..40) {
        let mut text = DEMO_PROJECT_TOML.to_string();
        let mut start = cut;
        while !text.is_char_boundary(start) { start -= 1; }
        let mut end = (start + len).min(text.len());
        while !text.is_char_boundary(end) { end -= 1; }
        text.replace_range(start..end, "");
        if let Err(errors) = Project::from_toml(&text) {
            prop_assert!(!errors.0.is_empty());
            let lines: Vec<&str> = text.split('\n').collect();
            for e in errors.0 {
                prop_assert!(!e.message.is_empty());
                // A reported place is inside the text: an existing line, and a
                // column at most one past that line's end.
                if e.line > 0 {
                    prop_assert!(e.line <= lines.len(), "{e} (text has {} lines)", lines.len());
                    let width = lines[e.line - 1].chars().count();
                    prop_assert!(e.column >= 1 && e.column <= width + 1, "{e} (line {} has {width} chars)", e.line);
                }
            }
        }
    }
}

#[test]
fn room_logic_errors_are_located() {
    let text = format!(
        r#"{MINIMAL}
[[devices]]
id = "projector"
transport = "tcp"
address = "projector"
terminator = "\\R"

[[devices]]
id = "dsp"
transport = "http"
address = "http://127.0.0.1:8081"
serial = "9600 8N1"

[[devices]]
id = "display"
transport = "serial"
address = "ttyUSB0"

[[devices]]
id = "matrix"
transport = "serial"
address = "/dev/ttyUSB1"
serial = "9600 8Z1"

[[sequences]]
id = "on"
button = "power"
steps = [
  {{ send = "%1POWR 1\\q", device = "projector" }},
  {{ send = "x", device = "dsp" }},
  {{ send_hex = "0G", device = "projector" }},
  {{ press = "power" }},
]

[[feedback]]
device = "projector"
regex = "(unclosed"
led = "on"
button = "power"

[[timers]]
id = "morning"
cron = "0 7 * * *"
time_zone = "Mars/Olympus"
press = "power"
"#
    );
    let errors = Project::from_toml(&text).unwrap_err().0;
    let found: Vec<(String, usize)> = errors.iter().map(|e| (e.path.clone(), e.line)).collect();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for (path, needle) in [
        ("devices[0].address", "address = \"projector\""),
        ("devices[0].terminator", "terminator = \"\\\\R\""),
        ("sequences[0].steps[0].send", "%1POWR 1"),
        ("sequences[0].steps[1].device", "send = \"x\""),
        ("sequences[0].steps[2].send_hex", "0G"),
        ("devices[1].serial", "serial = \"9600 8N1\""),
        ("devices[2].address", "address = \"ttyUSB0\""),
        ("devices[3].serial", "serial = \"9600 8Z1\""),
        ("sequences[0].steps[3].press", "press = \"power\" }"),
        ("feedback[0].regex", "(unclosed"),
        ("timers[0].cron", "0 7 * * *"),
        ("timers[0].time_zone", "Mars/Olympus"),
    ] {
        assert!(
            found.contains(&(path.to_string(), line_of(needle))),
            "no error at {path} (line {}): {errors:#?}",
            line_of(needle)
        );
    }
}

#[test]
fn level_and_variable_errors_are_located() {
    let text = format!(
        r#"{MINIMAL}
[[levels]]
id = "volume"
label = "Volume"
min = 10.0
max = -10.0

[[levels]]
id = "gain"
label = "Gain"
min = 0.0
max = 10.0
step = 20.0
initial = 11.0
send = "GAIN {{other}}"

[[levels]]
id = "meter"
label = "Meter"
kind = "meter"
min = 0.0
max = 1.0
device = "nowhere"

[[variables]]
id = "state"
kind = "number"
initial = "warm"

[[buttons]]
id = "show"
label = "Show {{ghost}}"
sublabel = "unclosed {{state"
enabled = {{ variable = "nothing", equals = 1 }}
led_when = {{ variable = "state", above = 1, below = 2 }}

[[panels]]
id = "wall"
name = "Wall"
columns = 2
rows = 2

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ {{ button = "show", row = 0, col = 0 }} ]
levels = [ {{ level = "gain", row = 0, col = 0 }}, {{ level = "missing", row = 1, col = 0 }} ]
texts = [ {{ text = "T {{nope}}", row = 1, col = 1 }} ]

[[feedback]]
device = "none"
equals = "X"
level = "gain"
"#
    );
    let errors = Project::from_toml(&text).unwrap_err().0;
    let found: Vec<(String, usize)> = errors.iter().map(|e| (e.path.clone(), e.line)).collect();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for (path, needle) in [
        ("levels[0].max", "max = -10.0"),
        ("levels[1].step", "step = 20.0"),
        ("levels[1].initial", "initial = 11.0"),
        ("levels[1].send", "GAIN {other}"),
        ("levels[2].kind", "kind = \"meter\""),
        ("variables[0].initial", "initial = \"warm\""),
        ("buttons[1].label", "Show {ghost}"),
        ("buttons[1].sublabel", "unclosed {state"),
        ("buttons[1].enabled.variable", "variable = \"nothing\""),
        ("buttons[1].led_when", "led_when"),
        ("panels[1].pages[0].levels[0].row", "level = \"gain\""),
        ("panels[1].pages[0].levels[1].level", "level = \"missing\""),
        ("panels[1].pages[0].texts[0].text", "T {nope}"),
    ] {
        assert!(
            found.contains(&(path.to_string(), line_of(needle))),
            "no error at {path} (line {}): {errors:#?}",
            line_of(needle)
        );
    }
    // A fader's `send` without a `device` is reported at the level itself.
    assert!(errors
        .iter()
        .any(|e| e.path == "levels[1]" && e.message.contains("device")));
    // An `equals` rule has no capture for the default `$1`.
    assert!(errors
        .iter()
        .any(|e| e.path == "feedback[0].value" && e.line > 60));
}

/// The issue's case: a typo'd field (so a required one is missing) and a
/// dangling reference further down are reported by the same upload.
#[test]
fn shape_and_meaning_errors_come_in_one_pass() {
    let text = r#"[project]
name = "Typo room"

[[buttons]]
id = "power"
lable = "Power"

[[buttons]]
id = "mic"
label = "Mic"
kind = "interlock"

[[panels]]
id = "tablet"
name = "Tablet"
columns = 2
rows = 2

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ { button = "power", row = 0, col = 0 }, { button = "nowhere", row = 0, col = 1 } ]
"#;
    let errors = Project::from_toml(text).unwrap_err().0;
    let at = |path: &str| error_at(&errors, path);
    let typo = at("buttons[0].lable");
    assert_eq!((typo.line, typo.column), (6, 1));
    assert!(typo.message.contains("unknown field"));
    let missing = at("buttons[0]");
    assert_eq!(missing.message, "missing field `label`");
    // The second button is the first that parsed, yet is reported at its
    // own index and line.
    let group = at("buttons[1].kind");
    assert_eq!(group.line, 11);
    let dangling = at("panels[0].pages[0].buttons[1].button");
    assert_eq!(dangling.line, 22);
    assert!(dangling.message.contains("nowhere"));
    // "power" is broken, not missing: no second error for its placement.
    assert!(
        !errors.iter().any(|e| e.message.contains("\"power\"")),
        "{errors:#?}"
    );
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn a_section_of_the_wrong_type_and_a_missing_project_table() {
    let text = "buttons = \"none\"\nbogus = 1\n";
    let errors = Project::from_toml(text).unwrap_err().0;
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert!(messages.contains(&"missing field `project`"), "{errors:#?}");
    assert!(
        errors.iter().any(|e| e.path == "buttons"
            && e.line == 1
            && e.message.contains("expected a sequence")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.path == "bogus" && e.line == 2 && e.message.contains("unknown field")),
        "{errors:#?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Regression: reading item by item keeps serde's words. Whatever error
    /// a whole-document read stops at is among the errors reported, with
    /// the same text.
    #[test]
    fn whole_document_errors_keep_their_text(cut in 0usize..DEMO_PROJECT_TOML.len(), insert in "[a-z0-9 =\"\\[\\]\n]{0,6}") {
        let mut text = DEMO_PROJECT_TOML.to_string();
        let mut cut = cut;
        while !text.is_char_boundary(cut) { cut -= 1; }
        text.insert_str(cut, &insert);
        if let Err(whole) = toml::from_str::<Project>(&text) {
            let errors = Project::from_toml(&text).unwrap_err().0;
            let wanted = whole.message().trim();
            prop_assert!(
                errors.iter().any(|e| e.message == wanted),
                "{wanted:?} not in {errors:#?}"
            );
        }
    }
}

#[test]
fn a_devices_kind_and_busy_options_are_validated() {
    let text = format!(
        r#"{MINIMAL}
[[devices]]
id = "projector"
transport = "tcp"
address = "127.0.0.1:4352"
busy = "(ERR3"
busy_secs = 60

[[devices]]
id = "matrix"
transport = "tcp"
address = "127.0.0.1:4353"
when_busy = "later"

[[devices]]
id = "screen"
transport = "tcp"
address = "127.0.0.1:4354"
kind = "toaster"
"#
    );
    let errors = Project::from_toml(&text).unwrap_err().0;
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for (path, needle) in [
        ("devices[0].busy", "(ERR3"),
        ("devices[0].busy_secs", "busy_secs = 60"),
        ("devices[1].when_busy", "later"),
        ("devices[2].kind", "toaster"),
    ] {
        let e = error_at(&errors, path);
        assert_eq!(e.line, line_of(needle), "{e:#?}");
    }
    // Valid: a kind, a busy reply, queued while busy.
    let ok = text
        .replace("(ERR3", "ERR3$")
        .replace("busy_secs = 60", "busy_secs = 10")
        .replace("\"later\"", "\"queue\"")
        .replace("\"toaster\"", "\"video_switcher\"");
    let p = Project::from_toml(&ok).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p.devices[1].when_busy,
        controller_core::project::WhenBusy::Queue
    );
}

#[test]
fn a_mute_button_names_a_level_with_a_mute_and_is_a_plain_toggle() {
    let text = format!(
        r#"{MINIMAL}
[[buttons]]
id = "mute_a"
label = "Mute"
kind = "toggle"
mutes = "volume"

[[buttons]]
id = "mute_b"
label = "Mute"
mutes = "nothing"

[[buttons]]
id = "mute_c"
label = "Mute"
kind = "toggle"
led = "feedback"
mutes = "gain"

[[levels]]
id = "volume"
label = "Volume"
min = 0.0
max = 10.0
mute = true

[[levels]]
id = "gain"
label = "Gain"
min = 0.0
max = 10.0
"#
    );
    let errors = Project::from_toml(&text).unwrap_err().0;
    assert!(!errors.iter().any(|e| e.path.starts_with("buttons[1]")));
    let missing = errors
        .iter()
        .filter(|e| e.path == "buttons[2].mutes")
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>();
    assert!(
        missing.iter().any(|m| m.contains("no level \"nothing\"")),
        "{missing:?}"
    );
    assert!(
        missing.iter().any(|m| m.contains("only a toggle")),
        "{missing:?}"
    );
    let c = errors
        .iter()
        .filter(|e| e.path == "buttons[3].mutes")
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>();
    assert!(c.iter().any(|m| m.contains("has no mute")), "{c:?}");
    assert!(c.iter().any(|m| m.contains("leave out `led`")), "{c:?}");
}

#[test]
fn a_project_names_its_format_and_a_newer_one_is_refused_at_that_line() {
    // No `format`: format 1, as every project written before versions
    // were kept; saved again, it stays without one.
    let p = Project::from_toml(MINIMAL).unwrap();
    assert_eq!(p.project.format, 1);
    assert_eq!(controller_core::project::PROJECT_FORMAT, 1);
    let saved = toml::to_string(&p).unwrap();
    assert!(!saved.contains("format"), "{saved}");
    let named = MINIMAL.replacen("[project]\n", "[project]\nformat = 1\n", 1);
    assert_eq!(Project::from_toml(&named).unwrap(), p);

    // A newer format: that one error, at its line, even with fields this
    // build does not know.
    let newer = MINIMAL
        .replacen("[project]\n", "[project]\nformat = 2\n", 1)
        .replacen("kind = \"toggle\"", "kind = \"toggle\"\nhaptics = true", 1);
    for errors in [
        Project::from_toml(&newer).unwrap_err().0,
        Project::from_toml_shape(&newer).unwrap_err().0,
    ] {
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let e = error_at(&errors, "project.format");
        assert_eq!(e.line, 3, "{e:?}");
        assert!(
            e.message.contains("format 2, written for a newer roomctl"),
            "{}",
            e.message
        );
    }
    let zero = MINIMAL.replacen("[project]\n", "[project]\nformat = 0\n", 1);
    let errors = Project::from_toml(&zero).unwrap_err().0;
    assert!(error_at(&errors, "project.format")
        .message
        .contains("first project format is 1"));
}

/// A page places a meeting tile like its other tiles: inside the grid,
/// over no other place; the booking variables it shows come with it
/// (templates may use them undeclared), and one the project declares
/// itself must be of the tile's kind.
#[test]
fn a_meeting_tile_brings_the_booking_variables_and_is_placed_like_a_tile() {
    let project = |extra: &str, meetings: &str| {
        format!(
            r#"[project]
name = "Tile room"
{extra}
[[buttons]]
id = "lights"
label = "Free until {{free_until}}"

[[panels]]
id = "p"
name = "P"
columns = 4
rows = 3

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ {{ button = "lights", row = 0, col = 0 }} ]
meetings = [ {meetings} ]
"#
        )
    };
    let ok = Project::from_toml(&project("", "{ row = 1, col = 0, width = 4 }")).unwrap();
    assert!(ok.has_meeting_tile());
    let place = &ok.panels[0].pages[0].meetings[0];
    assert_eq!((place.width, place.height), (4, 2), "2 high when not given");
    for (id, _) in controller_core::project::meeting_tile::BOOKING_VARIABLES {
        assert!(ok.variable(id).is_some(), "{id} comes with the tile");
    }
    // Without a tile, a template naming a booking variable is an error.
    let text = project("", "").replace("meetings = [  ]\n", "");
    let errors = Project::from_toml(&text).unwrap_err().0;
    assert!(error_at(&errors, "buttons[0].label")
        .message
        .contains("free_until"));
    // Outside the grid, over a button, an unknown field.
    let text = project(
        "",
        "{ row = 2, col = 3, width = 2 }, { row = 0, col = 0 }, { row = 1, col = 0, colour = 1 }",
    );
    let errors = Project::from_toml(&text).unwrap_err().0;
    assert!(error_at(&errors, "panels[0].pages[0].meetings[0].col")
        .message
        .contains("does not fit"));
    assert!(error_at(&errors, "panels[0].pages[0].meetings[1].row")
        .message
        .contains("overlaps buttons[0]"));
    assert!(
        errors
            .iter()
            .any(|e| e.path.starts_with("panels[0].pages[0].meetings[2]")),
        "{errors:#?}"
    );
    // Declared with another kind: refused at its line, saying which.
    let text = project(
        "\n[[variables]]\nid = \"calendar_busy\"\nkind = \"text\"\n",
        "{ row = 1, col = 0 }",
    );
    let errors = Project::from_toml(&text).unwrap_err().0;
    let e = error_at(&errors, "variables[0].kind");
    assert!(e.message.contains("as a bool"), "{}", e.message);
    assert_eq!(e.line, 6);
    // Declared with the right kind: used as declared.
    let text = project(
        "\n[[variables]]\nid = \"calendar_busy\"\nkind = \"bool\"\n",
        "{ row = 1, col = 0 }",
    );
    let p = Project::from_toml(&text).unwrap();
    assert_eq!(
        p.all_variables()
            .filter(|v| v.id == "calendar_busy")
            .count(),
        1
    );
}
