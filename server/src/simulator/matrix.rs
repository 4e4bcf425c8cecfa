//! The simulated video matrix switcher: a line protocol (lines end in CR,
//! LF or both; answers end in CR LF), case-insensitive.
//!
//! | command | answer |
//! |---|---|
//! | `ROUTE <in> <out>` | `OUT<out> IN<in>` (input 1-8 to output 1-4) |
//! | `ROUTE? <out>` | `OUT<out> IN<in>` |
//! | `STATUS` | one `OUT<n> IN<m>` line per output |
//! | `PING` | `PONG` |
//! | `RELAY <n> PULSE` | `RELAY<n> PULSED` (relay 1-8 closes for a moment) |
//! | anything else | `ERR <why>` |
//!
//! The relays are the contact closures a switcher of this class offers for
//! the room: in the demo they move the projection screen and call the
//! lighting controller's presets.

pub const INPUTS: u8 = 8;
pub const OUTPUTS: u8 = 4;
pub const RELAYS: u8 = 8;

#[derive(Debug, Clone)]
pub struct Matrix {
    /// The input routed to each output (index 0 = output 1).
    routes: [u8; OUTPUTS as usize],
    /// How often each relay was pulsed (index 0 = relay 1).
    pulses: [u64; RELAYS as usize],
}

impl Default for Matrix {
    fn default() -> Self {
        Matrix {
            routes: [1; OUTPUTS as usize],
            pulses: [0; RELAYS as usize],
        }
    }
}

fn number(text: Option<&str>, max: u8, what: &str) -> Result<u8, String> {
    match text.and_then(|t| t.parse::<u8>().ok()) {
        Some(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("ERR {what} must be 1-{max}")),
    }
}

impl Matrix {
    pub fn route_of(&self, output: u8) -> Option<u8> {
        self.routes
            .get(usize::from(output).checked_sub(1)?)
            .copied()
    }

    /// How often `relay` (1-8) was pulsed.
    pub fn pulses_of(&self, relay: u8) -> Option<u64> {
        self.pulses.get(usize::from(relay).checked_sub(1)?).copied()
    }

    /// The answer lines to one command line (none for an empty line).
    pub fn handle(&mut self, line: &str) -> Vec<String> {
        let upper = line.trim().to_ascii_uppercase();
        let mut words = upper.split_whitespace();
        let Some(command) = words.next() else {
            return Vec::new();
        };
        let answer = match command {
            "ROUTE" => number(words.next(), INPUTS, "input").and_then(|i| {
                let o = number(words.next(), OUTPUTS, "output")?;
                self.routes[usize::from(o - 1)] = i;
                Ok(format!("OUT{o} IN{i}"))
            }),
            "ROUTE?" => number(words.next(), OUTPUTS, "output")
                .map(|o| format!("OUT{o} IN{}", self.routes[usize::from(o - 1)])),
            "STATUS" => {
                return (1..=OUTPUTS)
                    .map(|o| format!("OUT{o} IN{}", self.routes[usize::from(o - 1)]))
                    .collect()
            }
            "PING" => Ok("PONG".into()),
            "RELAY" => number(words.next(), RELAYS, "relay").and_then(|r| {
                if words.next() != Some("PULSE") {
                    return Err(format!("ERR RELAY {r} takes PULSE"));
                }
                self.pulses[usize::from(r - 1)] += 1;
                Ok(format!("RELAY{r} PULSED"))
            }),
            _ => Err("ERR unknown command (ROUTE, ROUTE?, STATUS, PING, RELAY)".into()),
        };
        vec![answer.unwrap_or_else(|e| e)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn routes_and_answers() {
        let mut m = Matrix::default();
        assert_eq!(m.handle("ROUTE 3 1"), ["OUT1 IN3"]);
        assert_eq!(m.handle("route? 1"), ["OUT1 IN3"]);
        assert_eq!(m.route_of(1), Some(3));
        assert_eq!(m.handle("ROUTE 9 1"), ["ERR input must be 1-8"]);
        assert_eq!(m.handle("ROUTE 1 0"), ["ERR output must be 1-4"]);
        assert_eq!(m.handle("STATUS").len(), 4);
        assert_eq!(m.handle("PING"), ["PONG"]);
        assert!(m.handle("  ").is_empty());
        assert!(m.handle("JUMP")[0].starts_with("ERR"));
        assert_eq!(m.handle("relay 2 pulse"), ["RELAY2 PULSED"]);
        assert_eq!(m.pulses_of(2), Some(1));
        assert_eq!(m.handle("RELAY 9 PULSE"), ["ERR relay must be 1-8"]);
        assert_eq!(m.handle("RELAY 1 ON"), ["ERR RELAY 1 takes PULSE"]);
        assert_eq!(m.pulses_of(1), Some(0));
    }

    proptest! {
        #[test]
        fn never_panics(line in "\\PC{0,30}") {
            let _ = Matrix::default().handle(&line);
        }
    }
}
