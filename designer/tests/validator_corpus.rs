//! The designer validates in the browser with controller-core compiled to
//! wasm; an upload is validated natively. This test is the native half of
//! "both say the same": it validates a corpus of projects (the demo and
//! broken variants of it, each broken in a way an installer might) and
//! checks the errors against end2end/fixtures/validator-corpus.json. The
//! Playwright half (end2end/tests/designer.spec.ts) validates the same
//! texts with the designer's wasm and compares with the same file.
//!
//! After a deliberate change to validation: `UPDATE_FIXTURES=1 cargo test
//! -p designer --test validator_corpus` rewrites the file.

use controller_core::project::DEMO_PROJECT_TOML;
use serde_json::{json, Value};

/// (name, text): the demo with one or more faults each.
fn corpus() -> Vec<(&'static str, String)> {
    let demo = DEMO_PROJECT_TOML;
    let swap = |from: &str, to: &str| {
        assert!(demo.contains(from), "the demo no longer contains {from:?}");
        demo.replacen(from, to, 1)
    };
    vec![
        ("demo", demo.to_string()),
        (
            "typo and dangling reference together",
            swap("kind = \"toggle\"", "kidn = \"toggle\"").replacen(
                "button = \"src_hdmi2\"",
                "button = \"src_hdmi9\"",
                1,
            ),
        ),
        ("unknown kind", swap("kind = \"toggle\"", "kind = \"toggel\"")),
        ("syntax error", swap("[project]", "[project")),
        ("missing project table", swap("[project]", "[projekt]")),
        ("interlock without group", swap("group = \"sources\"\n", "")),
        ("grid too large", swap("columns = 4", "columns = 13")),
        (
            "unknown driver",
            swap("driver = \"pjlink\"", "driver = \"pjlnk\""),
        ),
        (
            "unknown driver command",
            swap(
                "command = \"power_query\" }",
                "command = \"power_qury\" }",
            ),
        ),
        (
            "driver parameter out of range",
            swap("params = { input = 2 }", "params = { input = 99 }"),
        ),
        (
            "driver state that does not exist",
            swap("{projector.lamp_hours}", "{projector.lamp_hour}"),
        ),
        (
            "bad cron",
            swap("cron = \"0 0 22 * * *\"", "cron = \"0 0 25 * * *\""),
        ),
        (
            "bad time zone",
            swap(
                "time_zone = \"Europe/Copenhagen\"",
                "time_zone = \"Europe/Copenhgen\"",
            ),
        ),
        (
            "duplicate button id",
            swap("id = \"src_hdmi2\"", "id = \"src_hdmi1\""),
        ),
        (
            "bad regex",
            format!(
                "{demo}\n[[feedback]]\ndevice = \"projector\"\nregex = '^(VOL'\npress = \"vol_up\"\n"
            ),
        ),
        ("an empty file", String::new()),
    ]
}

fn native() -> Value {
    Value::Array(
        corpus()
            .into_iter()
            .map(|(name, text)| {
                let errors = designer::errors_of(&text);
                json!({ "name": name, "toml": text, "errors": errors })
            })
            .collect(),
    )
}

#[test]
fn native_validation_matches_the_fixture_the_wasm_is_checked_against() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../end2end/fixtures/validator-corpus.json"
    );
    let now = native();
    // Every broken project is reported broken (the corpus tests something).
    for case in now.as_array().unwrap() {
        let n = case["errors"].as_array().unwrap().len();
        assert_eq!(
            n == 0,
            case["name"] == "demo",
            "{}: {n} errors",
            case["name"]
        );
    }
    let text = serde_json::to_string_pretty(&now).unwrap() + "\n";
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let stored = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (write it with UPDATE_FIXTURES=1)"));
    assert_eq!(
        stored, text,
        "validation changed: rerun with UPDATE_FIXTURES=1 and commit the file"
    );
}

/// Both errors of the example come in one pass.
#[test]
fn a_typo_and_a_dangling_reference_are_reported_together() {
    let (_, text) = corpus()
        .into_iter()
        .find(|(n, _)| n.starts_with("typo"))
        .unwrap();
    let errors = designer::errors_of(&text);
    assert!(
        errors.iter().any(|e| e.message.contains("unknown field")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.message.contains("src_hdmi9")),
        "{errors:?}"
    );
}
