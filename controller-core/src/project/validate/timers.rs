//! Timers: unique ids, the button each presses, and a cron schedule in a
//! time zone that both parse.

use std::collections::HashSet;

use super::{field, item, Checker};
use crate::logic::schedule::{parse_cron, parse_time_zone};

pub(super) fn check(c: &mut Checker<'_, '_>) {
    let project = c.project;
    let mut ids = HashSet::new();
    for (i, t) in project.timers.iter().enumerate() {
        let base = item(&[], "timers", i);
        c.unique_id(field(&base, "id"), &t.id, "timer", &mut ids, "");
        c.button_ref(field(&base, "press"), &t.press);
        if let Err(e) = parse_cron(&t.cron) {
            c.err(field(&base, "cron"), e.to_string());
        }
        if let Err(e) = parse_time_zone(&t.time_zone) {
            c.err(field(&base, "time_zone"), e.to_string());
        }
    }
}
