//! Whether the room is occupied, decided without I/O: a sensor's value (a
//! variable, a device's state, an MQTT payload) read as occupied or vacant
//! ([`reading`]), the room's presence from its sources and panel presses
//! held for `hold_minutes` ([`Presence`]), and when "empty for N minutes"
//! rules fire ([`empty_firings`]). The caller passes the time; nothing here
//! reads a clock.

use chrono::{DateTime, Duration, Utc};

use crate::project::{OccupancyRule, OccupancyWhen, PresenceSource, Value};

/// The longest payload read (a sensor's state is a word or a small JSON
/// object); longer ones are ignored.
pub const MAX_PAYLOAD: usize = 4096;

/// Words read as occupied when the source names none of its own.
const OCCUPIED_WORDS: [&str; 9] = [
    "true", "on", "1", "yes", "occupied", "detected", "present", "motion", "active",
];
/// Words read as vacant when the source names none of its own.
const VACANT_WORDS: [&str; 11] = [
    "false",
    "off",
    "0",
    "no",
    "vacant",
    "unoccupied",
    "empty",
    "clear",
    "none",
    "not_detected",
    "inactive",
];

/// A variable's value as the source reads it: occupied, vacant, or not a
/// value it knows (`None`: ignored).
pub fn reading_of_value(source: &PresenceSource, value: &Value) -> Option<bool> {
    match value {
        Value::Number(n) => scalar_number(source, *n),
        Value::Bool(b) => scalar(source, if *b { "true" } else { "false" }),
        Value::Text(t) => reading(source, t),
    }
}

/// A payload (an MQTT message, a device's text) as the source reads it:
/// its `json_field` when it has one, else the whole payload trimmed.
/// Never panics; `None` for anything it does not recognise.
pub fn reading(source: &PresenceSource, payload: &str) -> Option<bool> {
    if payload.len() > MAX_PAYLOAD {
        return None;
    }
    let Some(field) = &source.json_field else {
        return scalar(source, payload.trim());
    };
    let json: serde_json::Value = serde_json::from_str(payload).ok()?;
    let mut at = &json;
    for part in field.split('.') {
        at = at.get(part)?;
    }
    match at {
        serde_json::Value::Bool(b) => scalar(source, if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => scalar_number(source, n.as_f64()?),
        serde_json::Value::String(s) => scalar(source, s.trim()),
        _ => None,
    }
}

fn scalar_number(source: &PresenceSource, n: f64) -> Option<bool> {
    if !n.is_finite() {
        return None;
    }
    if let Some(above) = source.occupied_above {
        return Some(n > above);
    }
    scalar(source, &crate::project::Value::Number(n).to_string())
}

fn scalar(source: &PresenceSource, text: &str) -> Option<bool> {
    let is = |list: &[String]| list.iter().any(|v| v.trim().eq_ignore_ascii_case(text));
    let (occ, vac) = (&source.occupied_values, &source.vacant_values);
    match (occ.is_empty(), vac.is_empty()) {
        (false, true) => return Some(is(occ)),
        (true, false) => return Some(!is(vac)),
        (false, false) => {
            return if is(occ) {
                Some(true)
            } else if is(vac) {
                Some(false)
            } else {
                None
            }
        }
        (true, true) => {}
    }
    if let Ok(n) = text.parse::<f64>() {
        if n.is_finite() {
            return Some(match source.occupied_above {
                Some(above) => n > above,
                None => n > 0.0,
            });
        }
    }
    let word = |list: &[&str]| list.iter().any(|w| w.eq_ignore_ascii_case(text));
    if word(&OCCUPIED_WORDS) {
        Some(true)
    } else if word(&VACANT_WORDS) {
        Some(false)
    } else {
        None
    }
}

/// The room's presence: each source's last reading and the last sign of
/// someone, held for `hold`.
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    hold: Duration,
    sources: Vec<Option<bool>>,
    /// The last sign of someone: a press, or a source reading occupied or
    /// going vacant.
    last_seen: Option<DateTime<Utc>>,
    /// Since when the room counts as empty when nothing was ever seen: the
    /// moment the controller began to watch.
    watching_since: DateTime<Utc>,
}

impl Presence {
    /// Nobody seen yet, watching `sources` sources from `now`.
    pub fn new(sources: usize, hold_minutes: u32, now: DateTime<Utc>) -> Presence {
        Presence {
            hold: Duration::minutes(i64::from(hold_minutes)),
            sources: vec![None; sources],
            last_seen: None,
            watching_since: now,
        }
    }

    /// Source `index` read `occupied` at `now` (an unknown index is ignored).
    pub fn reading(&mut self, index: usize, occupied: bool, now: DateTime<Utc>) {
        let Some(slot) = self.sources.get_mut(index) else {
            return;
        };
        // Occupied, or just left: the hold counts from here.
        if occupied || *slot == Some(true) {
            self.last_seen = Some(self.last_seen.map_or(now, |t| t.max(now)));
        }
        *slot = Some(occupied);
    }

    /// A person pressed a button at `now`.
    pub fn activity(&mut self, now: DateTime<Utc>) {
        self.last_seen = Some(self.last_seen.map_or(now, |t| t.max(now)));
    }

    fn held_until(&self) -> Option<DateTime<Utc>> {
        self.last_seen.map(|t| t + self.hold)
    }

    /// Whether someone is in the room at `now`.
    pub fn occupied(&self, now: DateTime<Utc>) -> bool {
        self.sources.contains(&Some(true)) || self.held_until().is_some_and(|t| now < t)
    }

    /// Since when the room has been empty, if it is empty at `now`.
    pub fn empty_since(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.occupied(now) {
            return None;
        }
        Some(
            self.held_until()
                .map_or(self.watching_since, |t| t.max(self.watching_since)),
        )
    }

    /// When `occupied` turns false by itself (the hold running out), if it will.
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.sources.contains(&Some(true)) {
            return None;
        }
        self.held_until().filter(|t| *t > now)
    }
}

/// An "empty for N minutes" rule coming due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmptyFiring<'a> {
    pub rule: &'a OccupancyRule,
    /// Since when the room has been empty.
    pub since: DateTime<Utc>,
    /// When the rule fires: `since` plus its minutes.
    pub at: DateTime<Utc>,
}

/// The `empty` rules due with `after < at <= now`, in rule order, for a
/// room empty (at `now`) since `since`. A rule fires once per empty spell:
/// its instant lies in one span only.
pub fn empty_firings<'a>(
    rules: &'a [OccupancyRule],
    since: Option<DateTime<Utc>>,
    after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<EmptyFiring<'a>> {
    let Some(since) = since else {
        return Vec::new();
    };
    rules
        .iter()
        .filter(|r| r.when == OccupancyWhen::Empty)
        .map(|rule| EmptyFiring {
            rule,
            since,
            at: since + Duration::minutes(i64::from(rule.minutes)),
        })
        .filter(|f| after < f.at && f.at <= now)
        .collect()
}

/// The first instant after `now` at which an `empty` rule fires, if the
/// room stays as it is (empty since `since`).
pub fn next_empty_firing(
    rules: &[OccupancyRule],
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let since = since?;
    rules
        .iter()
        .filter(|r| r.when == OccupancyWhen::Empty)
        .map(|r| since + Duration::minutes(i64::from(r.minutes)))
        .filter(|at| *at > now)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn source() -> PresenceSource {
        PresenceSource {
            variable: None,
            mqtt_topic: Some("room/pir".into()),
            json_field: None,
            occupied_values: Vec::new(),
            vacant_values: Vec::new(),
            occupied_above: None,
        }
    }

    fn t(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn rule(id: &str, minutes: u32) -> OccupancyRule {
        OccupancyRule {
            id: id.into(),
            when: OccupancyWhen::Empty,
            minutes,
            press: Some("off".into()),
            sequence: None,
            release_booking: true,
        }
    }

    #[test]
    fn the_usual_words_numbers_and_json_fields_read() {
        let s = source();
        for (p, want) in [
            ("ON", Some(true)),
            (" occupied\n", Some(true)),
            ("Detected", Some(true)),
            ("off", Some(false)),
            ("CLEAR", Some(false)),
            ("3", Some(true)),
            ("0", Some(false)),
            ("0.0", Some(false)),
            ("maybe", None),
            ("", None),
            ("NaN", None),
        ] {
            assert_eq!(reading(&s, p), want, "{p:?}");
        }
        let z2m = PresenceSource {
            json_field: Some("occupancy".into()),
            ..source()
        };
        assert_eq!(
            reading(&z2m, r#"{"battery":97,"occupancy":true}"#),
            Some(true)
        );
        assert_eq!(reading(&z2m, r#"{"occupancy":false}"#), Some(false));
        assert_eq!(reading(&z2m, r#"{"battery":97}"#), None);
        assert_eq!(reading(&z2m, "true"), None, "not JSON with the field");
        let nested = PresenceSource {
            json_field: Some("state.people".into()),
            occupied_above: Some(1.0),
            ..source()
        };
        assert_eq!(reading(&nested, r#"{"state":{"people":2}}"#), Some(true));
        assert_eq!(reading(&nested, r#"{"state":{"people":1}}"#), Some(false));
        let own = PresenceSource {
            occupied_values: vec!["Motion".into()],
            ..source()
        };
        assert_eq!(reading(&own, "motion"), Some(true));
        assert_eq!(reading(&own, "on"), Some(false), "only its own word");
        let vacant = PresenceSource {
            vacant_values: vec!["idle".into()],
            ..source()
        };
        assert_eq!(reading(&vacant, "IDLE"), Some(false));
        assert_eq!(reading(&vacant, "walking"), Some(true));
        let both = PresenceSource {
            occupied_values: vec!["in".into()],
            vacant_values: vec!["out".into()],
            ..source()
        };
        assert_eq!(
            [
                reading(&both, "in"),
                reading(&both, "out"),
                reading(&both, "x")
            ],
            [Some(true), Some(false), None]
        );
        assert_eq!(reading_of_value(&s, &Value::Bool(true)), Some(true));
        assert_eq!(reading_of_value(&s, &Value::Number(0.0)), Some(false));
        assert_eq!(
            reading_of_value(&s, &Value::Text("vacant".into())),
            Some(false)
        );
    }

    #[test]
    fn presence_holds_after_the_last_sign_and_rules_fire_once_per_empty_spell() {
        let mut p = Presence::new(1, 5, t(0));
        assert!(!p.occupied(t(0)));
        assert_eq!(p.empty_since(t(0)), Some(t(0)));
        p.reading(0, true, t(10));
        assert!(p.occupied(t(100)), "a sensor reading occupied holds");
        assert_eq!(p.next_change(t(100)), None);
        p.reading(0, false, t(120));
        assert!(p.occupied(t(124)));
        assert_eq!(p.next_change(t(121)), Some(t(125)));
        assert!(!p.occupied(t(125)));
        assert_eq!(p.empty_since(t(130)), Some(t(125)));
        let rules = [rule("off", 10), rule("late", 30)];
        let since = p.empty_since(t(134));
        assert!(empty_firings(&rules, since, t(120), t(134)).is_empty());
        let due = empty_firings(&rules, since, t(134), t(135));
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].rule.id.as_str(), due[0].at), ("off", t(135)));
        assert!(empty_firings(&rules, since, t(135), t(150)).is_empty());
        assert_eq!(next_empty_firing(&rules, since, t(135)), Some(t(155)));
        // A press starts a new spell.
        p.activity(t(160));
        assert_eq!(p.empty_since(t(162)), None);
        assert_eq!(p.empty_since(t(165)), Some(t(165)));
        // A vacant reading from a sensor that never said occupied is no sign.
        let mut q = Presence::new(2, 5, t(0));
        q.reading(1, false, t(50));
        assert_eq!(q.empty_since(t(50)), Some(t(0)));
        q.reading(7, true, t(50));
        assert!(!q.occupied(t(50)), "an unknown source is ignored");
    }

    fn any_source() -> impl Strategy<Value = PresenceSource> {
        (
            proptest::option::of("[a-z.]{0,8}"),
            proptest::collection::vec(".{0,6}", 0..3),
            proptest::collection::vec(".{0,6}", 0..3),
            proptest::option::of(any::<f64>()),
        )
            .prop_map(|(json_field, occ, vac, above)| PresenceSource {
                json_field,
                occupied_values: occ,
                vacant_values: vac,
                occupied_above: above,
                ..source()
            })
    }

    proptest! {
        #[test]
        fn no_payload_panics(s in any_source(), payload in ".{0,64}") {
            let _ = reading(&s, &payload);
            let _ = reading_of_value(&s, &Value::Text(payload));
        }

        #[test]
        fn a_json_field_reads_as_its_bare_value(word in "(on|off|ON|Off|true|FALSE|occupied|Vacant|clear|[0-9]{1,3})") {
            let bare = reading(&source(), &word);
            let z = PresenceSource { json_field: Some("v".into()), ..source() };
            let payload = serde_json::json!({ "v": word }).to_string();
            prop_assert_eq!(reading(&z, &payload), bare);
            prop_assert!(bare.is_some());
        }

        #[test]
        fn own_words_match_in_any_case(word in "[a-zA-Z]{1,10}", other in "[0-9]{1,4}") {
            let s = PresenceSource { occupied_values: vec![word.to_lowercase()], ..source() };
            prop_assert_eq!(reading(&s, &word.to_uppercase()), Some(true));
            prop_assert_eq!(reading(&s, &other), Some(false));
        }

        #[test]
        fn a_number_is_occupied_exactly_above_the_threshold(n in -1e6f64..1e6, above in -1e6f64..1e6) {
            let s = PresenceSource { occupied_above: Some(above), ..source() };
            prop_assert_eq!(reading(&s, &n.to_string()), Some(n > above));
            prop_assert_eq!(reading_of_value(&s, &Value::Number(n)), Some(n > above));
        }

        #[test]
        fn presence_is_never_both_occupied_and_empty(
            events in proptest::collection::vec((0usize..3, any::<bool>(), 0i64..600), 0..20),
            hold in 0u32..30,
            at in 0i64..700,
        ) {
            let mut p = Presence::new(2, hold, t(0));
            let mut events = events;
            events.sort_by_key(|e| e.2);
            for (i, occ, m) in events {
                if i == 2 { p.activity(t(m)) } else { p.reading(i, occ, t(m)) }
            }
            let now = t(at);
            prop_assert_eq!(p.occupied(now), p.empty_since(now).is_none());
            if let Some(since) = p.empty_since(now) {
                prop_assert!(since <= now.max(t(0)));
            }
        }
    }
}
