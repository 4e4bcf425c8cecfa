//! Timers: unique ids, the button each presses or the variable it sets, and
//! a cron schedule in a time zone that both parse.

use std::collections::HashSet;

use super::{field, item, Checker};
use crate::logic::schedule::{parse_cron, parse_time_zone};

pub(super) fn check(c: &mut Checker<'_, '_>) {
    let project = c.project;
    let mut ids = HashSet::new();
    for (i, t) in project.timers.iter().enumerate() {
        let base = item(&[], "timers", i);
        c.unique_id(field(&base, "id"), &t.id, "timer", &mut ids, "");
        c.exactly_one(
            base.clone(),
            &[t.press.is_some(), t.set_variable.is_some()],
            "a timer has exactly one of `press` and `set_variable`",
        );
        match (&t.set_variable, &t.value) {
            (Some(v), Some(value)) => {
                c.variable_ref(field(&base, "set_variable"), v);
                let kind = c.project.variable(v).map(|v| v.kind);
                if kind.is_some_and(|k| value.coerce(k).is_none()) {
                    c.err(
                        field(&base, "value"),
                        format!("{value} does not fit variable {v:?}"),
                    );
                }
            }
            (Some(_), None) => c.err(base.clone(), "`set_variable` needs a `value`"),
            (None, Some(_)) => c.err(field(&base, "value"), "`value` belongs to `set_variable`"),
            (None, None) => {}
        }
        if let Err(e) = parse_cron(&t.cron) {
            c.err(field(&base, "cron"), e.to_string());
        }
        if let Err(e) = parse_time_zone(&t.time_zone) {
            c.err(field(&base, "time_zone"), e.to_string());
        }
    }
}
