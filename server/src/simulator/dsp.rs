//! The simulated audio DSP: one program volume in dB with a mute, and a
//! microphone meter. A line protocol (lines end in CR, LF or both; answers
//! end in CR), case-insensitive.
//!
//! | command | answer |
//! |---|---|
//! | `VOL <dB>` | `VOL=<dB>` (clamped to -60..10, 0.5 dB steps) |
//! | `VOL UP` / `VOL DOWN` | `VOL=<dB>`, one [`STEP_DB`] louder or softer |
//! | `MUTE 1` / `MUTE 0` | `MUTE=1` / `MUTE=0` |
//! | `STATUS ?` | `VOL=<dB>`, `MUTE=<0/1>`, `MIC=<dB>` |
//! | anything else | `ERR <why>` |
//!
//! It remembers the volumes it was sent (the last [`HISTORY`]), so a test
//! can check what a fader drag actually reached the device.

use std::collections::VecDeque;

use controller_core::project::format_number;

pub const MIN_DB: f64 = -60.0;
pub const MAX_DB: f64 = 10.0;
/// What `VOL UP` and `VOL DOWN` add or take away.
pub const STEP_DB: f64 = 1.0;
/// How many received volume commands are remembered.
pub const HISTORY: usize = 1000;

#[derive(Debug, Clone)]
pub struct Dsp {
    volume: f64,
    muted: bool,
    /// Moves on each status request, so the meter on the panel lives.
    mic: f64,
    received: VecDeque<f64>,
}

impl Default for Dsp {
    fn default() -> Self {
        Dsp {
            volume: -30.0,
            muted: false,
            mic: -40.0,
            received: VecDeque::new(),
        }
    }
}

impl Dsp {
    pub fn volume(&self) -> f64 {
        self.volume
    }

    pub fn muted(&self) -> bool {
        self.muted
    }

    /// The volumes received by `VOL` commands, oldest first.
    pub fn received(&self) -> Vec<f64> {
        self.received.iter().copied().collect()
    }

    /// The answer lines to one command line (none for an empty line).
    pub fn handle(&mut self, line: &str) -> Vec<String> {
        let upper = line.trim().to_ascii_uppercase();
        let mut words = upper.split_whitespace();
        let Some(command) = words.next() else {
            return Vec::new();
        };
        let arg = words.next();
        match (command, arg) {
            ("VOL", Some("UP")) => self.set_volume(self.volume + STEP_DB),
            ("VOL", Some("DOWN")) => self.set_volume(self.volume - STEP_DB),
            ("VOL", Some(v)) => match v.parse::<f64>() {
                Ok(db) if db.is_finite() => self.set_volume(db),
                _ => vec!["ERR VOL takes a number of dB, UP or DOWN".into()],
            },
            ("MUTE", Some("1" | "ON")) => {
                self.muted = true;
                vec![self.mute_line()]
            }
            ("MUTE", Some("0" | "OFF")) => {
                self.muted = false;
                vec![self.mute_line()]
            }
            ("MUTE", _) => vec!["ERR MUTE takes 1 or 0".into()],
            ("STATUS", _) => {
                // A slow wander between -50 and -20 dB.
                self.mic = if self.mic >= -20.0 {
                    -50.0
                } else {
                    self.mic + 3.0
                };
                vec![
                    self.vol_line(),
                    self.mute_line(),
                    format!("MIC={}", format_number(self.mic)),
                ]
            }
            _ => vec![format!("ERR unknown command {command}")],
        }
    }

    /// Clamped and stepped, remembered, answered.
    fn set_volume(&mut self, db: f64) -> Vec<String> {
        let stepped = (db.clamp(MIN_DB, MAX_DB) * 2.0).round() / 2.0;
        self.volume = stepped;
        if self.received.len() == HISTORY {
            self.received.pop_front();
        }
        self.received.push_back(stepped);
        vec![self.vol_line()]
    }

    fn vol_line(&self) -> String {
        format!("VOL={}", format_number(self.volume))
    }

    fn mute_line(&self) -> String {
        format!("MUTE={}", u8::from(self.muted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_answers() {
        let mut d = Dsp::default();
        assert_eq!(d.handle("vol -20.3"), vec!["VOL=-20.5"]);
        assert_eq!(d.handle("VOL 99"), vec!["VOL=10"]);
        assert_eq!(
            d.handle("VOL loud"),
            vec!["ERR VOL takes a number of dB, UP or DOWN"]
        );
        assert_eq!(d.handle("MUTE 1"), vec!["MUTE=1"]);
        assert!(d.muted());
        let status = d.handle("STATUS ?");
        assert_eq!(&status[..2], ["VOL=10", "MUTE=1"]);
        assert!(status[2].starts_with("MIC="));
        assert_eq!(d.received(), vec![-20.5, 10.0]);
        assert!(d.handle("").is_empty());
        assert_eq!(d.handle("vol down"), vec!["VOL=9"]);
        assert_eq!(d.handle("VOL UP"), vec!["VOL=10"]);
        assert_eq!(d.handle("VOL UP"), vec!["VOL=10"], "clamped at the top");
        assert!(d.handle("BOOM")[0].starts_with("ERR"));
    }
}
