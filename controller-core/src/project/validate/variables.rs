//! Variables, and everything that shows or tests them: unique ids, initial
//! values of the variable's kind, the templates in labels, text tiles and
//! summary lines, and the conditions buttons follow.

use std::collections::HashSet;

use super::{at, field, item, k, Checker, Seg};
use crate::project::vocab::{exactly_one_of, COMPARISONS};
use crate::project::{VarCondition, Variable};

pub(super) fn check(c: &mut Checker<'_, '_>) {
    let project = c.project;
    let mut ids = HashSet::new();
    for (i, v) in project.variables.iter().enumerate() {
        let base = item(&[], "variables", i);
        c.unique_id(field(&base, "id"), &v.id, "variable", &mut ids, "");
        if project.button(&v.id).is_some() {
            c.err(
                field(&base, "id"),
                format!("{:?} is also a button id", v.id),
            );
        }
        initial(c, &base, v);
    }
    for (i, b) in project.buttons.iter().enumerate() {
        let base = item(&[], "buttons", i);
        c.template(field(&base, "label"), &b.label);
        if let Some(s) = &b.sublabel {
            c.template(field(&base, "sublabel"), s);
        }
        if let Some(q) = &b.confirm {
            c.text(field(&base, "confirm"), q, "confirm question", 120);
        }
        if let Some(cond) = &b.enabled {
            condition(c, &field(&base, "enabled"), cond);
        }
        if let Some(cond) = &b.led_when {
            condition(c, &field(&base, "led_when"), cond);
        }
    }
}

fn initial(c: &mut Checker<'_, '_>, base: &[Seg], v: &Variable) {
    if let Some(value) = &v.initial {
        if value.coerce(v.kind).is_none() {
            c.err(
                field(base, "initial"),
                format!("{value} is not a {:?} value", v.kind).to_lowercase(),
            );
        }
    }
}

/// Names a variable, and has exactly one comparison that fits its kind.
fn condition(c: &mut Checker<'_, '_>, base: &[Seg], cond: &VarCondition) {
    let found = c.project.variable(&cond.variable);
    if found.is_none() {
        match c.device_state_error(&cond.variable) {
            Some(None) => {}
            Some(Some(e)) => c.err(field(base, "variable"), e),
            None => {
                c.reference(field(base, "variable"), found, "variable", &cond.variable);
            }
        }
    }
    c.exactly_one(
        base.to_vec(),
        &[
            cond.equals.is_some(),
            cond.not_equals.is_some(),
            cond.above.is_some(),
            cond.below.is_some(),
        ],
        &exactly_one_of("a condition", &COMPARISONS),
    );
    for (name, limit) in [("above", cond.above), ("below", cond.below)] {
        if limit.is_some_and(|l| !l.is_finite()) {
            c.err(at(base, &[k(name)]), format!("{name} must be a number"));
        }
    }
}
