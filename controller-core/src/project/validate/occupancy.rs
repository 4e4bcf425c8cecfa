//! `[occupancy]`: at least one way of seeing someone, each source reading
//! exactly one thing that exists, values that do not contradict, rules
//! with unique ids, actions that exist and waits within a day, and an
//! `occupied` variable (when declared) that is a bool.

use std::collections::HashSet;

use super::{field, item, k, Checker};
use crate::project::error::Seg;
use crate::project::occupancy::{MAX_MINUTES, OCCUPIED};
use crate::project::{OccupancyRule, OccupancyWhen, PresenceSource, VariableKind};

pub(super) fn check(c: &mut Checker<'_, '_>) {
    let project = c.project;
    let Some(o) = &project.occupancy else {
        return;
    };
    let base = vec![k("occupancy")];
    if o.sources.is_empty() && !o.panel_activity {
        c.err(
            base.clone(),
            "[occupancy] has no way to see anyone: add [[occupancy.sources]] (a variable or an MQTT topic) or panel_activity = true",
        );
    }
    if o.panel_activity && o.hold_minutes == 0 {
        c.err(
            field(&base, "hold_minutes"),
            "with panel_activity a press holds the room for hold_minutes: 0 would never show it occupied; use 1 or more",
        );
    }
    if o.hold_minutes > MAX_MINUTES {
        c.err(
            field(&base, "hold_minutes"),
            format!(
                "{} minutes is more than a day; use 0 to {MAX_MINUTES}",
                o.hold_minutes
            ),
        );
    }
    for (i, s) in o.sources.iter().enumerate() {
        let at = item(&base, "sources", i);
        source_reads(c, &at, s);
        source_values(c, &at, s);
    }
    rules(c, &base, &o.rules);
    for (i, v) in project.variables.iter().enumerate() {
        if v.id == OCCUPIED && v.kind != VariableKind::Bool {
            c.err(
                field(&item(&[], "variables", i), "kind"),
                "occupancy sets \"occupied\" as a bool: declare it kind = \"bool\", or leave it out (a project with [occupancy] has it anyway)",
            );
        }
    }
}

/// A source reads exactly one thing that exists: a variable or a device's
/// state (not `occupied` itself), or one MQTT topic.
fn source_reads(c: &mut Checker<'_, '_>, at: &[Seg], s: &PresenceSource) {
    let project = c.project;
    let at = at.to_vec();
    c.exactly_one(
        at.clone(),
        &[s.variable.is_some(), s.mqtt_topic.is_some()],
        "an occupancy source has exactly one of `variable` and `mqtt_topic`",
    );
    if let Some(v) = &s.variable {
        if v == OCCUPIED {
            c.err(
                field(&at, "variable"),
                "\"occupied\" is what occupancy sets; name the sensor's own variable",
            );
        } else if project.variable(v).is_none() {
            match c.device_state_error(v) {
                Some(None) => {}
                Some(Some(e)) => c.err(field(&at, "variable"), e),
                None => {
                    c.reference(field(&at, "variable"), None::<()>, "variable", v);
                }
            }
        }
    }
    if let Some(t) = &s.mqtt_topic {
        if t.trim().is_empty() {
            c.err(field(&at, "mqtt_topic"), "the MQTT topic is empty");
        } else if t.contains(['+', '#']) || t.contains('\0') {
            c.err(
                field(&at, "mqtt_topic"),
                format!("{t:?}: name one topic, without the wildcards + and #"),
            );
        } else if t.len() > 256 {
            c.err(
                field(&at, "mqtt_topic"),
                "the MQTT topic is longer than 256 characters",
            );
        }
    }
}

/// How a source's values are read: a JSON field that names something,
/// value lists that do not contradict, a finite threshold.
fn source_values(c: &mut Checker<'_, '_>, at: &[Seg], s: &PresenceSource) {
    let at = at.to_vec();
    if s.json_field
        .as_deref()
        .is_some_and(|f| f.is_empty() || f.split('.').any(str::is_empty))
    {
        c.err(
            field(&at, "json_field"),
            "the JSON field is empty; name it (`occupancy`, or `a.b` for a nested one)",
        );
    }
    for (j, value) in s.occupied_values.iter().enumerate() {
        if value.trim().is_empty() {
            c.err(
                item(&at, "occupied_values", j),
                "an empty value; name what the sensor sends",
            );
        }
        if s.vacant_values
            .iter()
            .any(|v| v.trim().eq_ignore_ascii_case(value.trim()))
        {
            c.err(
                item(&at, "occupied_values", j),
                format!("{value:?} is in both occupied_values and vacant_values"),
            );
        }
    }
    for (j, value) in s.vacant_values.iter().enumerate() {
        if value.trim().is_empty() {
            c.err(
                item(&at, "vacant_values", j),
                "an empty value; name what the sensor sends",
            );
        }
    }
    if s.occupied_above.is_some_and(|a| !a.is_finite()) {
        c.err(
            field(&at, "occupied_above"),
            "occupied_above must be a number",
        );
    }
}

/// The rules: unique ids, actions that exist, waits within a day.
fn rules(c: &mut Checker<'_, '_>, base: &[Seg], rules: &[OccupancyRule]) {
    let project = c.project;
    let mut ids = HashSet::new();
    for (i, r) in rules.iter().enumerate() {
        let at = item(base, "rules", i);
        c.unique_id(field(&at, "id"), &r.id, "occupancy rule", &mut ids, "");
        let actions = usize::from(r.press.is_some()) + usize::from(r.sequence.is_some());
        match r.when {
            OccupancyWhen::Empty => c.exactly_one(
                at.clone(),
                &[r.press.is_some(), r.sequence.is_some()],
                "an `empty` rule has exactly one of `press` and `sequence`",
            ),
            OccupancyWhen::NoShow if actions > 1 => c.err(
                at.clone(),
                "a `no_show` rule has at most one of `press` and `sequence`",
            ),
            OccupancyWhen::NoShow if actions == 0 && !r.release_booking => c.err(
                field(&at, "release_booking"),
                "this rule does nothing: keep release_booking, or add `press` or `sequence`",
            ),
            OccupancyWhen::NoShow => {}
        }
        if let Some(s) = &r.sequence {
            let found = project.sequences.iter().find(|q| &q.id == s);
            c.reference(field(&at, "sequence"), found, "sequence", s);
        }
        if r.minutes == 0 || r.minutes > MAX_MINUTES {
            c.err(
                field(&at, "minutes"),
                format!("{} minutes: use 1 to {MAX_MINUTES}", r.minutes),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::project::Project;

    const BASE: &str = r#"
[project]
name = "Occupancy"

[[buttons]]
id = "off"
label = "Off"

[[variables]]
id = "pir"
kind = "bool"

[[sequences]]
id = "shutdown"
button = "off"
steps = [ { wait_ms = 1 } ]

[[panels]]
id = "p"
name = "P"
columns = 1
rows = 1

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ { button = "off", row = 0, col = 0 } ]
"#;

    #[test]
    fn a_good_occupancy_brings_the_occupied_variable() {
        let p = Project::from_toml(&format!(
            "{BASE}\n[occupancy]\nhold_minutes = 3\npanel_activity = true\n\n[[occupancy.sources]]\nvariable = \"pir\"\n\n[[occupancy.sources]]\nmqtt_topic = \"site/room/pir\"\njson_field = \"occupancy\"\n\n[[occupancy.rules]]\nid = \"off\"\nwhen = \"empty\"\nminutes = 10\nsequence = \"shutdown\"\n\n[[occupancy.rules]]\nid = \"release\"\nwhen = \"no_show\"\nminutes = 10\n"
        ))
        .unwrap();
        let o = p.occupancy.as_ref().unwrap();
        assert_eq!((o.hold_minutes, o.sources.len(), o.rules.len()), (3, 2, 2));
        assert!(o.rules[1].release_booking);
        assert_eq!(o.rules[1].action(), "release the booking");
        let v = p.variable("occupied").unwrap();
        assert_eq!(v.kind, crate::project::VariableKind::Bool);
        assert!(Project::from_toml(BASE)
            .unwrap()
            .variable("occupied")
            .is_none());
    }

    #[test]
    fn bad_occupancy_is_refused_with_located_errors() {
        let bad = format!(
            "{BASE}\n[occupancy]\nhold_minutes = 5000\n\n[[occupancy.sources]]\nvariable = \"nope\"\n\n[[occupancy.sources]]\nvariable = \"pir\"\nmqtt_topic = \"a/b\"\n\n[[occupancy.sources]]\nmqtt_topic = \"site/+/pir\"\noccupied_values = [\"on\"]\nvacant_values = [\"ON\"]\njson_field = \"\"\n\n[[occupancy.rules]]\nid = \"r\"\nwhen = \"empty\"\nminutes = 0\n\n[[occupancy.rules]]\nid = \"r\"\nwhen = \"no_show\"\nminutes = 10\npress = \"ghost\"\nsequence = \"shutdown\"\n"
        );
        let e = Project::from_toml(&bad).unwrap_err();
        let text = e.to_string();
        for part in [
            "occupancy.hold_minutes: 5000 minutes is more than a day",
            "occupancy.sources[0].variable: there is no variable \"nope\"",
            "occupancy.sources[1]: an occupancy source has exactly one of `variable` and `mqtt_topic`",
            "occupancy.sources[2].mqtt_topic: \"site/+/pir\": name one topic",
            "occupancy.sources[2].json_field: the JSON field is empty",
            "occupancy.sources[2].occupied_values[0]: \"on\" is in both",
            "occupancy.rules[0]: an `empty` rule has exactly one of `press` and `sequence`",
            "occupancy.rules[0].minutes: 0 minutes",
            "occupancy.rules[1].id: duplicate occupancy rule id \"r\"",
            "occupancy.rules[1]: a `no_show` rule has at most one",
            "occupancy.rules[1].press: there is no button \"ghost\"",
        ] {
            assert!(text.contains(part), "{part}\nin\n{text}");
        }
        // Each error has its line.
        assert!(e.0.iter().all(|e| e.line > 0), "{text}");
        let none = Project::from_toml(&format!("{BASE}\n[occupancy]\nhold_minutes = 5\n"))
            .unwrap_err()
            .to_string();
        assert!(
            none.contains("[occupancy] has no way to see anyone"),
            "{none}"
        );
        let kind = Project::from_toml(&format!(
            "{BASE}\n[[variables]]\nid = \"occupied\"\n\n[occupancy]\npanel_activity = true\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(kind.contains("\"occupied\" as a bool"), "{kind}");
        let zero = Project::from_toml(&format!(
            "{BASE}\n[occupancy]\npanel_activity = true\nhold_minutes = 0\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            zero.contains("occupancy.hold_minutes: with panel_activity"),
            "{zero}"
        );
        let shape = Project::from_toml(&format!(
            "{BASE}\n[occupancy]\npanel_activity = true\nholdminutes = 5\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(shape.contains("holdminutes"), "{shape}");
        let when = Project::from_toml(&format!(
            "{BASE}\n[occupancy]\npanel_activity = true\n[[occupancy.rules]]\nid = \"x\"\nwhen = \"vacant\"\nminutes = 3\npress = \"off\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(when.contains("occupancy.rules[0].when"), "{when}");
    }

    #[test]
    fn a_driver_devices_state_is_a_source() {
        let device = "\n[[devices]]\nid = \"projector\"\ndriver = \"pjlink\"\naddress = \"127.0.0.1:4352\"\n";
        let good = format!(
            "{BASE}{device}\n[occupancy]\n[[occupancy.sources]]\nvariable = \"projector.power\"\noccupied_values = [\"on\"]\n"
        );
        let p = Project::from_toml(&good).unwrap();
        assert_eq!(
            p.occupancy.unwrap().sources[0].name(),
            "variable projector.power"
        );
        let e = Project::from_toml(&good.replace("projector.power", "projector.motion"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("occupancy.sources[0].variable: the pjlink driver has no state \"motion\""),
            "{e}"
        );
    }
}
