//! Where a project names a button: every field that holds a button's id.
//! The validator checks each of them names a button that exists, and the
//! designer renames a button's references from the same list, so the two
//! never disagree about what refers to a button.

use super::error::{path_string, Seg};
use super::Project;

/// A field that names a button: its path (`sequences[0].steps[2].press`)
/// and the id it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonRef {
    pub path: String,
    pub id: String,
}

/// Every reference to a button in `project`, in the file's order of
/// sections. Feedback fields holding a capture (`input_${1}`) name no
/// button until a line matches, so they are not listed.
pub fn button_references(project: &Project) -> Vec<ButtonRef> {
    button_refs(project)
        .into_iter()
        .map(|(path, id)| ButtonRef {
            path: path_string(&path),
            id: id.to_string(),
        })
        .collect()
}

/// A feedback target that is filled in from the match (`$1`, `${name}`).
pub(crate) fn is_capture(target: &str) -> bool {
    target.contains('$')
}

fn named(b: &Option<String>) -> Option<&str> {
    b.as_deref().filter(|b| !is_capture(b))
}

fn key(s: &str) -> Seg {
    Seg::Key(s.to_string())
}

fn at(list: &str, i: usize, field: &str) -> Vec<Seg> {
    vec![key(list), Seg::Index(i), key(field)]
}

pub(crate) fn button_refs(p: &Project) -> Vec<(Vec<Seg>, &str)> {
    let mut out = Vec::new();
    for (pi, panel) in p.panels.iter().enumerate() {
        for (gi, page) in panel.pages.iter().enumerate() {
            for (bi, place) in page.buttons.iter().enumerate() {
                let path = vec![
                    key("panels"),
                    Seg::Index(pi),
                    key("pages"),
                    Seg::Index(gi),
                    key("buttons"),
                    Seg::Index(bi),
                    key("button"),
                ];
                out.push((path, place.button.as_str()));
            }
        }
    }
    for (i, d) in p.devices.iter().enumerate() {
        out.extend(
            d.status_led
                .as_deref()
                .map(|b| (at("devices", i, "status_led"), b)),
        );
    }
    for (i, s) in p.sequences.iter().enumerate() {
        out.push((at("sequences", i, "button"), s.button.as_str()));
        for (j, step) in s.steps.iter().enumerate() {
            let base = |f: &str| {
                let mut path = at("sequences", i, "steps");
                path.extend([Seg::Index(j), key(f)]);
                path
            };
            out.extend(
                step.led
                    .as_ref()
                    .and(step.button.as_deref())
                    .map(|b| (base("button"), b)),
            );
            out.extend(step.press.as_deref().map(|b| (base("press"), b)));
        }
    }
    for (i, f) in p.feedback.iter().enumerate() {
        out.extend(named(&f.press).map(|b| (at("feedback", i, "press"), b)));
        if f.led.is_some() {
            out.extend(named(&f.button).map(|b| (at("feedback", i, "button"), b)));
        }
    }
    for (i, t) in p.timers.iter().enumerate() {
        out.extend(t.press.as_deref().map(|b| (at("timers", i, "press"), b)));
    }
    for (i, r) in p.schedule.iter().enumerate() {
        out.extend(r.press.as_deref().map(|b| (at("schedule", i, "press"), b)));
    }
    if let Some(o) = &p.occupancy {
        for (i, r) in o.rules.iter().enumerate() {
            let mut path = vec![key("occupancy")];
            path.extend(at("rules", i, "press"));
            out.extend(r.press.as_deref().map(|b| (path, b)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::demo_project;

    #[test]
    fn the_demo_names_its_buttons_where_they_are_placed_and_pressed() {
        let p = demo_project();
        let refs = button_references(p);
        assert!(refs
            .iter()
            .any(|r| r.path == "panels[0].pages[0].buttons[0].button"));
        assert!(refs
            .iter()
            .any(|r| r.path.starts_with("sequences[0].button")));
        for r in &refs {
            assert!(p.button(&r.id).is_some(), "{r:?}");
        }
    }
}
