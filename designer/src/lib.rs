//! The Project Designer's checks (`/designer`, app/src/designer/, compiled
//! into its bundle pkg/designer.wasm): the parts of controller-core the
//! designer runs in the browser, on the project as JSON. The same code the
//! controller runs, so what the designer says about a project is what an
//! upload will say:
//! - [`open`]: a project's text read into the model the page edits;
//! - [`check`]: the edited model written back into the installer's text
//!   ([`edit_toml`]: comments and order kept) and validated as an upload is;
//! - [`validate`]: the errors of a text, for the wasm-vs-native test;
//! - [`regex_test`], [`next_runs`]: the feedback and timer editors' helpers.
//!
//! (The live preview is the real panel over a preview controller on the
//! server: server/src/services/http/preview.rs.)
//!
//! Every function also builds natively, where its tests run.

use chrono::{DateTime, Utc};
use controller_core::logic::feedback::compile_regex;
use controller_core::logic::schedule::Schedule;
use controller_core::project::{edit_toml, ProjectError};
use controller_core::Project;
use serde::Serialize;
use serde_json::json;

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        json!({ "errors": [{ "line": 0, "column": 0, "path": "", "message": e.to_string() }] })
            .to_string()
    })
}

/// Every error `text` has, as an upload reports them (empty when valid).
pub fn errors_of(text: &str) -> Vec<ProjectError> {
    match Project::from_toml(text) {
        Ok(_) => Vec::new(),
        Err(e) => e.0,
    }
}

/// `{"project": model or null, "errors": [...]}`: the model when the text's
/// shape is right (even with meaning errors, so they can be fixed here).
pub fn open(text: &str) -> String {
    let errors = errors_of(text);
    let project = toml_model(text);
    to_json(&json!({ "project": project, "errors": errors }))
}

fn toml_model(text: &str) -> Option<Project> {
    Project::from_toml_shape(text).ok()
}

/// The errors of a project text, as JSON (`[{line, column, path, message}]`).
pub fn validate(text: &str) -> String {
    to_json(&errors_of(text))
}

/// `{"toml": text, "errors": [...]}`: the edited model (JSON) written into
/// `original` keeping its comments and order, and that text's errors.
///
/// A value of the wrong type (letters in a number field) cannot be written
/// into the text, so `toml` is null then; but the rest of the project is
/// still checked, so an installer sees every error at once and not first
/// the typo, then the rest: each wrong value is named by its field path and
/// stood in for by a placeholder of the right type for the check, and
/// errors the placeholder itself causes are left out.
pub fn check(original: &str, project_json: &str) -> String {
    let mut model: serde_json::Value = match serde_json::from_str(project_json) {
        Ok(v) => v,
        Err(e) => {
            return to_json(&json!({ "toml": null, "errors": [error_at("", &e.to_string())] }))
        }
    };
    let before = toml_model(original).and_then(|p| serde_json::to_value(p).ok());
    let mut wrong: Vec<(String, String)> = Vec::new();
    loop {
        match shape(&model) {
            Ok(project) => {
                let text = edit_toml(original, &project);
                if wrong.is_empty() {
                    return to_json(&json!({ "toml": text, "errors": errors_of(&text) }));
                }
                let mut errors: Vec<serde_json::Value> = wrong
                    .iter()
                    .map(|(path, why)| error_at(path, why))
                    .collect();
                errors.extend(
                    errors_of(&text)
                        .into_iter()
                        .filter(|e| {
                            !wrong
                                .iter()
                                .any(|(path, _)| e.path.starts_with(path.as_str()))
                        })
                        .filter_map(|e| serde_json::to_value(e).ok()),
                );
                return to_json(&json!({ "toml": null, "errors": errors }));
            }
            Err((path, message)) => {
                // Bounded: each round fixes one more field, or stops.
                if wrong.len() >= 32
                    || wrong.iter().any(|(p, _)| *p == path)
                    || !stand_in(&mut model, before.as_ref(), &path)
                {
                    wrong.push((path, message));
                    let errors: Vec<_> = wrong.iter().map(|(p, why)| error_at(p, why)).collect();
                    return to_json(&json!({ "toml": null, "errors": errors }));
                }
                wrong.push((path, message));
            }
        }
    }
}

/// The model read as a project, or the path and words of its first value
/// of the wrong type.
fn shape(model: &serde_json::Value) -> Result<Project, (String, String)> {
    serde_path_to_error::deserialize::<_, Project>(model).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        (path, e.into_inner().to_string())
    })
}

fn error_at(path: &str, message: &str) -> serde_json::Value {
    json!({ "line": 0, "column": 0, "path": path, "message": message })
}

/// Replaces the value at `path` (`panels[0].pages[1].columns`) with what
/// it was in the text the designer opened (so the rest is checked as if the
/// field had not been touched), or for a new element with the first
/// placeholder the model's type accepts there; false when the path does not
/// lead to a value or nothing fits.
fn stand_in(model: &mut serde_json::Value, before: Option<&serde_json::Value>, path: &str) -> bool {
    let earlier = before
        .cloned()
        .and_then(|mut b| value_at(&mut b, path).map(|v| v.take()));
    let placeholders = [json!(1), json!(""), json!(false), json!([]), json!({})];
    for candidate in earlier.into_iter().chain(placeholders) {
        let Some(slot) = value_at(model, path) else {
            return false;
        };
        *slot = candidate;
        match shape(model) {
            Err((at, _)) if at == path => continue,
            _ => return true,
        }
    }
    false
}

fn value_at<'a>(
    mut value: &'a mut serde_json::Value,
    path: &str,
) -> Option<&'a mut serde_json::Value> {
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            value = value.get_mut(key)?;
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            value = value.get_mut(index.strip_suffix(']')?.parse::<usize>().ok()?)?;
        }
    }
    Some(value)
}

#[derive(Serialize)]
struct Capture {
    /// `$1`, `${name}`: how a rule refers to it.
    name: String,
    text: Option<String>,
}

/// A feedback rule's regex tried on a sample line:
/// `{"error"}` for an expression that does not compile (the validator's
/// words), else `{"matched": bool, "captures": [{name, text}]}` with `$0`
/// the whole match.
pub fn regex_test(pattern: &str, line: &str) -> String {
    let regex = match compile_regex(pattern) {
        Ok(r) => r,
        Err(e) => return to_json(&json!({ "error": e.to_string() })),
    };
    let Some(caps) = regex.captures(line) else {
        return to_json(&json!({ "matched": false, "captures": [] }));
    };
    let captures: Vec<Capture> = regex
        .capture_names()
        .enumerate()
        .map(|(i, name)| Capture {
            name: match name {
                Some(n) => format!("${{{n}}} (${i})"),
                None => format!("${i}"),
            },
            text: caps.get(i).map(|m| m.as_str().to_string()),
        })
        .collect();
    to_json(&json!({ "matched": true, "captures": captures }))
}

/// The next `count` runs of a timer after `now_ms` (milliseconds since
/// 1970, the browser's clock), in the timer's time zone as the controller
/// computes them: `{"runs": ["2026-11-27 07:00:00 CET", ...]}` or
/// `{"error"}`.
pub fn next_runs(cron: &str, time_zone: &str, now_ms: f64, count: u32) -> String {
    let zone = if time_zone.is_empty() {
        "UTC"
    } else {
        time_zone
    };
    let schedule = match Schedule::parse(cron, zone) {
        Ok(s) => s,
        Err(e) => return to_json(&json!({ "error": e.to_string() })),
    };
    let mut now = DateTime::<Utc>::from_timestamp_millis(now_ms as i64).unwrap_or_default();
    let mut runs = Vec::new();
    for _ in 0..count.min(20) {
        match schedule.next_after(now) {
            Some(t) => {
                runs.push(schedule.local_text(t));
                now = t;
            }
            None => break,
        }
    }
    to_json(&json!({ "runs": runs }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use controller_core::project::{demo_project, DEMO_PROJECT_TOML};

    fn parse(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn open_then_check_unedited_gives_the_same_text_and_no_errors() {
        let opened = parse(&open(DEMO_PROJECT_TOML));
        let checked = parse(&check(DEMO_PROJECT_TOML, &opened["project"].to_string()));
        assert_eq!(checked["toml"], DEMO_PROJECT_TOML);
        assert_eq!(checked["errors"], json!([]));
    }

    #[test]
    fn an_edit_that_breaks_the_project_is_reported_at_its_field() {
        let mut project = serde_json::to_value(demo_project()).unwrap();
        project["buttons"][1]["kind"] = json!("interlock");
        project["buttons"][1]["group"] = serde_json::Value::Null;
        let checked = parse(&check(DEMO_PROJECT_TOML, &project.to_string()));
        let errors = checked["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["path"].as_str().unwrap().starts_with("buttons[1]")),
            "{errors:?}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_path() {
        let mut project = serde_json::to_value(demo_project()).unwrap();
        project["panels"][0]["columns"] = json!("four");
        let checked = parse(&check(DEMO_PROJECT_TOML, &project.to_string()));
        assert_eq!(checked["errors"][0]["path"], "panels[0].columns");
        assert_eq!(checked["toml"], serde_json::Value::Null);
    }

    /// Letters in a number field do not hide the project's other errors:
    /// both come in one answer, and the stand-in value adds none of its own.
    #[test]
    fn a_wrong_type_and_a_dangling_reference_are_reported_together() {
        let mut project = serde_json::to_value(demo_project()).unwrap();
        project["panels"][0]["pages"][0]["buttons"][0]["row"] = json!("two");
        project["panels"][0]["pages"][0]["buttons"][1]["button"] = json!("no_such_button");
        project["levels"][0]["step"] = json!("x");
        let checked = parse(&check(DEMO_PROJECT_TOML, &project.to_string()));
        let paths: Vec<&str> = checked["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert!(
            paths.contains(&"panels[0].pages[0].buttons[0].row"),
            "{checked}"
        );
        assert!(paths.contains(&"levels[0].step"), "{checked}");
        assert!(
            paths
                .iter()
                .any(|p| p.starts_with("panels[0].pages[0].buttons[1]")),
            "{checked}"
        );
        assert_eq!(paths.len(), 3, "{checked}");
        assert_eq!(checked["toml"], serde_json::Value::Null);
    }

    /// A project built from nothing (the designer's "new project"): the
    /// text is written from scratch, with only the fields that are needed.
    #[test]
    fn a_new_project_is_written_from_an_empty_text() {
        let model = json!({
            "project": { "name": "New room", "revision": 1, "description": "", "location": "" },
            "buttons": [{ "id": "power", "label": "Power", "kind": "toggle", "color": "green", "led": "state" }],
            "panels": [{ "id": "tablet", "name": "Tablet", "profile": "tablet", "columns": 4, "rows": 3,
                "pages": [{ "id": "main", "title": "Main", "buttons": [{ "button": "power", "row": 0, "col": 0, "width": 1, "height": 1 }] }] }],
            "devices": [], "sequences": [], "feedback": [], "timers": [],
        });
        let checked = parse(&check("", &model.to_string()));
        assert_eq!(checked["errors"], json!([]), "{checked}");
        let text = checked["toml"].as_str().unwrap();
        assert!(
            text.contains("[[buttons]]\nid = \"power\"\nlabel = \"Power\"\nkind = \"toggle\"\n"),
            "{text}"
        );
        assert!(!text.contains("color"), "{text}");
        assert!(
            text.contains("buttons = [\n  { button = \"power\", row = 0, col = 0 },\n]"),
            "{text}"
        );
        let back = Project::from_toml(text).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap()["buttons"][0]["id"],
            "power"
        );
    }

    #[test]
    fn regex_tester_shows_captures_and_errors() {
        let r = parse(&regex_test(r"^VOL=(?P<db>-?\d+) (on|off)$", "VOL=-20 on"));
        assert_eq!(r["matched"], true);
        let caps = r["captures"].as_array().unwrap();
        assert_eq!(caps[1]["name"], "${db} ($1)");
        assert_eq!(caps[1]["text"], "-20");
        assert_eq!(caps[2]["text"], "on");
        assert_eq!(parse(&regex_test("^VOL", "MUTE"))["matched"], false);
        assert!(parse(&regex_test("(", "x"))["error"].is_string());
    }

    #[test]
    fn next_runs_are_local_times_in_the_timers_zone() {
        // 2026-01-01 00:00:00 UTC.
        let r = parse(&next_runs(
            "0 0 7 * * MON-FRI",
            "Europe/Copenhagen",
            1_767_225_600_000.0,
            5,
        ));
        let runs: Vec<&str> = r["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            runs,
            [
                "2026-01-01 07:00:00 CET",
                "2026-01-02 07:00:00 CET",
                "2026-01-05 07:00:00 CET",
                "2026-01-06 07:00:00 CET",
                "2026-01-07 07:00:00 CET"
            ]
        );
        assert!(parse(&next_runs("0 0 25 * * *", "UTC", 0.0, 5))["error"].is_string());
    }
}
