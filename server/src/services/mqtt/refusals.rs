//! The log of refused MQTT commands, rate-limited: whoever the broker lets
//! publish can send any number of bad commands, and each must not become a
//! line of its own. The first refusal is logged at once; the ones after it
//! within [`REFUSALS_EVERY`] are counted, and said in one line when that
//! time is over (with the last one's topic and reason). Pure: the bridge
//! passes the time in.

use std::time::{Duration, Instant};

/// At most one line about refused commands per this much time.
pub const REFUSALS_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct Refusals {
    /// When the last line was written.
    last_line: Option<Instant>,
    /// Refused since then, not yet said.
    unsaid: u64,
    /// The newest of those: what and why.
    newest: String,
}

impl Refusals {
    /// A command was refused (`what`: the topic and the reason); the line
    /// to log now, if any.
    pub fn refused(&mut self, now: Instant, what: String) -> Option<String> {
        if self
            .last_line
            .is_some_and(|t| now.duration_since(t) < REFUSALS_EVERY)
        {
            self.unsaid += 1;
            self.newest = what;
            return None;
        }
        self.last_line = Some(now);
        Some(format!("mqtt: refused a command: {what}"))
    }

    /// Called now and then: the line saying the refusals counted since the
    /// last line, once [`REFUSALS_EVERY`] has passed.
    pub fn tick(&mut self, now: Instant) -> Option<String> {
        let due = self
            .last_line
            .is_some_and(|t| now.duration_since(t) >= REFUSALS_EVERY);
        if self.unsaid == 0 || !due {
            return None;
        }
        let line = format!(
            "mqtt: {} more command{} refused in the last {} s (the last: {})",
            self.unsaid,
            if self.unsaid == 1 { "" } else { "s" },
            REFUSALS_EVERY.as_secs(),
            std::mem::take(&mut self.newest)
        );
        self.unsaid = 0;
        self.last_line = Some(now);
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_then_a_count_per_interval() {
        let t0 = Instant::now();
        let mut r = Refusals::default();
        assert_eq!(r.tick(t0), None);
        let first = r.refused(t0, "a".into()).unwrap();
        assert!(first.ends_with("refused a command: a"), "{first}");
        for i in 0..5 {
            assert_eq!(
                r.refused(t0 + Duration::from_millis(i), format!("b{i}")),
                None
            );
        }
        assert_eq!(r.tick(t0 + Duration::from_secs(1)), None);
        let summary = r.tick(t0 + REFUSALS_EVERY).unwrap();
        assert!(summary.contains("5 more commands refused"), "{summary}");
        assert!(summary.ends_with("(the last: b4)"), "{summary}");
        // Said once; a refusal right after waits for the next interval.
        assert_eq!(r.tick(t0 + REFUSALS_EVERY * 2), None);
        assert_eq!(r.refused(t0 + REFUSALS_EVERY, "c".into()), None);
        let one = r.tick(t0 + REFUSALS_EVERY * 2).unwrap();
        assert!(one.contains("1 more command refused"), "{one}");
        // A quiet interval later, a refusal is logged at once again.
        assert!(r.refused(t0 + REFUSALS_EVERY * 4, "d".into()).is_some());
    }
}
