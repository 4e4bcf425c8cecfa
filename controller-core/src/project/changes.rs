//! "What changed" between two projects, in words an installer reads in a
//! history list: buttons, pages, devices, levels, ... added, removed or
//! changed (with the fields that changed), pages reordered.
//!
//! Items are matched by id, not by position, so moving a button definition
//! within the file is no change; a line diff of the text (the server's
//! history) shows the rest.

use serde::Serialize;
use serde_json::Value;

use super::Project;

/// Every difference from `from` to `to`, one sentence each, in the order of
/// the project's sections. Empty when the two mean the same.
pub fn changes(from: &Project, to: &Project) -> Vec<String> {
    let mut out = Vec::new();
    let (a, b) = (&from.project, &to.project);
    if a.name != b.name {
        out.push(format!("project renamed from {:?} to {:?}", a.name, b.name));
    }
    if a.revision != b.revision {
        out.push(format!("revision {} → {}", a.revision, b.revision));
    }
    if a.description != b.description || a.location != b.location {
        out.push("project description or location changed".to_string());
    }
    by_id(&mut out, "button", &from.buttons, &to.buttons, |b| &b.id);
    panels(&mut out, from, to);
    by_id(&mut out, "level", &from.levels, &to.levels, |l| &l.id);
    by_id(&mut out, "variable", &from.variables, &to.variables, |v| {
        &v.id
    });
    by_id(&mut out, "device", &from.devices, &to.devices, |d| &d.id);
    by_id(&mut out, "sequence", &from.sequences, &to.sequences, |s| {
        &s.id
    });
    by_id(&mut out, "timer", &from.timers, &to.timers, |t| &t.id);
    by_id(
        &mut out,
        "schedule rule",
        &from.schedule,
        &to.schedule,
        |r| &r.id,
    );
    match (&from.occupancy, &to.occupancy) {
        (None, Some(_)) => out.push("occupancy added".to_string()),
        (Some(_), None) => out.push("occupancy removed".to_string()),
        (Some(a), Some(b)) if a != b => out.push("occupancy changed".to_string()),
        _ => {}
    }
    // Feedback rules have no id: they are compared as a list.
    if from.feedback != to.feedback {
        out.push(format!(
            "feedback rules changed ({} → {})",
            from.feedback.len(),
            to.feedback.len()
        ));
    }
    out
}

/// Panels by id (their own fields), then each panel's pages by id, and
/// whether the pages kept their order.
fn panels(out: &mut Vec<String>, from: &Project, to: &Project) {
    let strip = |p: &super::Panel| {
        let mut p = p.clone();
        p.pages.clear();
        p
    };
    let a: Vec<_> = from.panels.iter().map(strip).collect();
    let b: Vec<_> = to.panels.iter().map(strip).collect();
    by_id(out, "panel", &a, &b, |p| &p.id);
    for new in &to.panels {
        let Some(old) = from.panels.iter().find(|p| p.id == new.id) else {
            continue;
        };
        let what = format!("page of panel {:?}", new.id);
        by_id(out, &what, &old.pages, &new.pages, |p| &p.id);
        let kept = |pages: &[super::Page], other: &[super::Page]| -> Vec<String> {
            pages
                .iter()
                .filter(|p| other.iter().any(|o| o.id == p.id))
                .map(|p| p.id.clone())
                .collect()
        };
        if kept(&old.pages, &new.pages) != kept(&new.pages, &old.pages) {
            out.push(format!("pages of panel {:?} reordered", new.id));
        }
    }
}

/// Items matched by id: added, removed, and changed with the names of the
/// fields that differ.
fn by_id<T: Serialize + PartialEq>(
    out: &mut Vec<String>,
    what: &str,
    from: &[T],
    to: &[T],
    id: impl Fn(&T) -> &String,
) {
    for old in from {
        if !to.iter().any(|n| id(n) == id(old)) {
            out.push(format!("{what} {:?} removed", id(old)));
        }
    }
    for new in to {
        match from.iter().find(|o| id(o) == id(new)) {
            None => out.push(format!("{what} {:?} added", id(new))),
            Some(old) if old != new => out.push(format!(
                "{what} {:?} changed: {}",
                id(new),
                changed_fields(old, new).join(", ")
            )),
            Some(_) => {}
        }
    }
}

/// The top-level fields whose values differ (a field present in only one
/// of them counts).
fn changed_fields<T: Serialize>(a: &T, b: &T) -> Vec<String> {
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return vec!["its value".to_string()];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::DEMO_PROJECT_TOML;

    fn project(text: &str) -> Project {
        Project::from_toml(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_same_project_has_no_changes() {
        let p = project(DEMO_PROJECT_TOML);
        assert!(changes(&p, &p).is_empty());
    }

    #[test]
    fn buttons_pages_and_devices_added_removed_and_changed() {
        let a = project(DEMO_PROJECT_TOML);
        let mut b = a.clone();
        b.project.revision += 1;
        let removed = b.buttons.remove(0).id;
        for panel in &mut b.panels {
            for page in &mut panel.pages {
                page.buttons.retain(|p| p.button != removed);
            }
        }
        b.buttons[0].label = "Renamed".into();
        let mut extra = b.buttons[0].clone();
        extra.id = "extra".into();
        b.buttons.push(extra);
        let mut page = b.panels[0].pages[0].clone();
        page.id = "new_page".into();
        b.panels[0].pages.push(page);
        b.panels[0].pages.swap(0, 1);
        let device = b.devices.pop().expect("the demo has devices").id;

        let said = changes(&a, &b);
        let has = |s: &str| said.iter().any(|c| c == s);
        assert!(has(&format!("button {removed:?} removed")), "{said:#?}");
        assert!(has("button \"extra\" added"), "{said:#?}");
        assert!(
            has(&format!("button {:?} changed: label", b.buttons[0].id)),
            "{said:#?}"
        );
        let panel = &b.panels[0].id;
        assert!(
            has(&format!("page of panel {panel:?} \"new_page\" added")),
            "{said:#?}"
        );
        assert!(
            has(&format!("pages of panel {panel:?} reordered")),
            "{said:#?}"
        );
        assert!(has(&format!("device {device:?} removed")), "{said:#?}");
        assert!(said[0].starts_with("revision"), "{said:#?}");
    }
}
