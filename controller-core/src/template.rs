//! Templates: text with `{name}` placeholders, as button labels, text tiles,
//! summary lines and device strings use them (`"Projector: {projector_state}"`,
//! `"VOL {value}\r"`). `{{` and `}}` stand for literal braces.
//!
//! Rendered here, in controller-core, so the server (SSR pages, device
//! strings) and the panel (wasm) print exactly the same text.

use crate::engine::Snapshot;
use crate::project::format_number;

/// Templates longer than this are not rendered past it (a project field is
/// validated to be shorter; this bounds what a hostile caller can cost).
pub const MAX_TEMPLATE_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("a `{{` is never closed (write `{{{{` for a literal brace)")]
    Unclosed,
    #[error("a `}}` has no `{{` (write `}}}}` for a literal brace)")]
    Unopened,
    #[error("an empty placeholder `{{}}`")]
    Empty,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part<'a> {
    Text(&'a str),
    /// A literal brace from `{{` or `}}`.
    Brace(char),
    Name(&'a str),
}

/// Splits a template into its parts.
pub fn parse(template: &str) -> Result<Vec<Part<'_>>, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        let Some(at) = rest.find(['{', '}']) else {
            parts.push(Part::Text(rest));
            break;
        };
        if at > 0 {
            parts.push(Part::Text(&rest[..at]));
        }
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{") {
            parts.push(Part::Brace('{'));
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            parts.push(Part::Brace('}'));
            rest = after;
        } else if tail.starts_with('}') {
            return Err(TemplateError::Unopened);
        } else {
            let close = tail.find('}').ok_or(TemplateError::Unclosed)?;
            let name = tail[1..close].trim();
            if name.is_empty() {
                return Err(TemplateError::Empty);
            }
            if name.contains('{') {
                return Err(TemplateError::Unclosed);
            }
            parts.push(Part::Name(name));
            rest = &tail[close + 1..];
        }
    }
    Ok(parts)
}

/// The names a template refers to (for validation).
pub fn names(template: &str) -> Result<Vec<&str>, TemplateError> {
    Ok(parse(template)?
        .into_iter()
        .filter_map(|p| match p {
            Part::Name(n) => Some(n),
            _ => None,
        })
        .collect())
}

/// Renders `template`, asking `lookup` for each name. A name it does not
/// know prints as `{name}`, and a template that does not parse prints as
/// written: a label never fails to show.
pub fn render(template: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let template = cut(template, MAX_TEMPLATE_LEN);
    let Ok(parts) = parse(template) else {
        return template.to_string();
    };
    let mut out = String::with_capacity(template.len());
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Brace(c) => out.push(c),
            Part::Name(n) => match lookup(n) {
                Some(v) => out.push_str(&v),
                None => {
                    out.push('{');
                    out.push_str(n);
                    out.push('}');
                }
            },
        }
    }
    out
}

/// Renders against the engine state: a name is a variable, else a level
/// (its value).
pub fn render_state(template: &str, state: &Snapshot) -> String {
    render(template, |name| lookup_state(state, name))
}

/// The text of `name` in `state`: a variable's value, or a level's value.
pub fn lookup_state(state: &Snapshot, name: &str) -> Option<String> {
    if let Some(v) = state.variables.get(name) {
        return Some(v.to_string());
    }
    state.levels.get(name).map(|l| format_number(l.value))
}

/// Whether `template` holds any placeholder: labels without one need no
/// re-rendering when variables change.
pub fn is_dynamic(template: &str) -> bool {
    template.contains('{')
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lookup(name: &str) -> Option<String> {
        (name == "state").then(|| "on".to_string())
    }

    #[test]
    fn renders_names_and_braces() {
        assert_eq!(render("Projector: {state}", lookup), "Projector: on");
        assert_eq!(render("{ state }!", lookup), "on!");
        assert_eq!(render("{{literal}} {state}", lookup), "{literal} on");
        assert_eq!(render("{unknown}", lookup), "{unknown}");
        assert_eq!(render("broken {state", lookup), "broken {state");
        assert_eq!(render("VOL {state}\\r", lookup), "VOL on\\r");
    }

    #[test]
    fn parse_errors() {
        assert_eq!(parse("a {b"), Err(TemplateError::Unclosed));
        assert_eq!(parse("a } b"), Err(TemplateError::Unopened));
        assert_eq!(parse("{}"), Err(TemplateError::Empty));
        assert_eq!(parse("{a{b}"), Err(TemplateError::Unclosed));
        assert_eq!(names("{a} and {b} {{c}}").unwrap(), vec!["a", "b"]);
    }

    proptest! {
        #[test]
        fn never_panics(t in "\\PC{0,60}") {
            let _ = render(&t, lookup);
            let _ = names(&t);
        }

        #[test]
        fn text_without_braces_is_unchanged(t in "[^{}]{0,60}") {
            prop_assert_eq!(render(&t, lookup), t);
        }
    }
}
