//! Schedule rules: unique ids, exactly one of `press` and `sequence`, each
//! naming something that exists, and an offset within a day.

use std::collections::HashSet;

use super::{field, item, Checker};
use crate::project::MAX_OFFSET_MINUTES;

pub(super) fn check(c: &mut Checker<'_, '_>) {
    let project = c.project;
    let mut ids = HashSet::new();
    for (i, r) in project.schedule.iter().enumerate() {
        let base = item(&[], "schedule", i);
        c.unique_id(field(&base, "id"), &r.id, "schedule rule", &mut ids, "");
        c.exactly_one(
            base.clone(),
            &[r.press.is_some(), r.sequence.is_some()],
            "a schedule rule has exactly one of `press` and `sequence`",
        );
        if let Some(s) = &r.sequence {
            let found = project.sequences.iter().find(|q| &q.id == s);
            c.reference(field(&base, "sequence"), found, "sequence", s);
        }
        if r.offset_minutes.abs() > MAX_OFFSET_MINUTES {
            c.err(
                field(&base, "offset_minutes"),
                format!(
                    "{} minutes is more than a day; use -{MAX_OFFSET_MINUTES} to {MAX_OFFSET_MINUTES}",
                    r.offset_minutes
                ),
            );
        }
    }
}
