//! The simulated projector: PJLink class 1 with a realistic power cycle.
//! `POWR 1` starts a warm-up (power state 3) that ends in on (1); `POWR 0`
//! starts a cool-down (2) that ends in off (0). During either, the opposite
//! command answers ERR3 (unavailable time), as real projectors do; input
//! changes need the projector on. Pure: the caller says what time it is.

use std::time::Duration;

use controller_core::protocol::pjlink::{Answer, ErrorCode, Request, Response};
use tokio::time::Instant;

/// The inputs this projector has (PJLink codes: 1x RGB, 3x digital, 5x network).
pub const INPUTS: [&str; 5] = ["11", "12", "31", "32", "51"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Off,
    WarmingUp { until: Instant },
    On { since: Instant },
    CoolingDown { until: Instant },
}

#[derive(Debug, Clone)]
pub struct Projector {
    power: Power,
    input: String,
    /// AVMT state: 30 = audio and video on, 31 = both muted.
    mute: String,
    /// Lamp hours before the current on period.
    lamp_hours: u64,
    warmup: Duration,
    cooldown: Duration,
}

impl Projector {
    pub fn new(warmup: Duration, cooldown: Duration) -> Projector {
        Projector {
            power: Power::Off,
            input: "31".into(),
            mute: "30".into(),
            lamp_hours: 1234,
            warmup,
            cooldown,
        }
    }

    /// Moves warm-up and cool-down on to their end when their time is up.
    fn settle(&mut self, now: Instant) {
        match self.power {
            Power::WarmingUp { until } if now >= until => self.power = Power::On { since: until },
            Power::CoolingDown { until } if now >= until => self.power = Power::Off,
            _ => {}
        }
    }

    /// The PJLink power state: 0 off, 1 on, 2 cooling down, 3 warming up.
    pub fn power_code(&mut self, now: Instant) -> &'static str {
        self.settle(now);
        match self.power {
            Power::Off => "0",
            Power::On { .. } => "1",
            Power::CoolingDown { .. } => "2",
            Power::WarmingUp { .. } => "3",
        }
    }

    fn lamp_hours(&self, now: Instant) -> u64 {
        match self.power {
            Power::On { since } => self.lamp_hours + now.duration_since(since).as_secs() / 3600,
            _ => self.lamp_hours,
        }
    }

    pub fn handle(&mut self, request: &Request, now: Instant) -> Response {
        self.settle(now);
        let answer = self.answer(request, now);
        Response {
            command: request.command.clone(),
            data: answer,
        }
    }

    fn answer(&mut self, r: &Request, now: Instant) -> Answer {
        use Answer::{Error, Ok, Value};
        use ErrorCode::*;
        let query = r.param == "?";
        let is_on = matches!(self.power, Power::On { .. });
        match (r.command.as_str(), r.param.as_str()) {
            ("POWR", "?") => Value(self.power_code(now).into()),
            ("POWR", "1") => match self.power {
                Power::Off => {
                    self.power = Power::WarmingUp {
                        until: now + self.warmup,
                    };
                    self.settle(now);
                    Ok
                }
                Power::WarmingUp { .. } | Power::On { .. } => Ok,
                Power::CoolingDown { .. } => Error(UnavailableTime),
            },
            ("POWR", "0") => match self.power {
                Power::On { since } => {
                    self.lamp_hours += now.duration_since(since).as_secs() / 3600;
                    self.power = Power::CoolingDown {
                        until: now + self.cooldown,
                    };
                    self.settle(now);
                    Ok
                }
                Power::Off | Power::CoolingDown { .. } => Ok,
                Power::WarmingUp { .. } => Error(UnavailableTime),
            },
            ("POWR", _) => Error(OutOfParameter),
            ("INPT", _) if !is_on => Error(UnavailableTime),
            ("INPT", "?") => Value(self.input.clone()),
            ("INPT", p) if INPUTS.contains(&p) => {
                self.input = p.into();
                Ok
            }
            ("INPT", _) => Error(OutOfParameter),
            ("AVMT", _) if !is_on => Error(UnavailableTime),
            ("AVMT", "?") => Value(self.mute.clone()),
            ("AVMT", p) if ["10", "11", "20", "21", "30", "31"].contains(&p) => {
                self.mute = match p {
                    "10" | "20" | "30" => "30".into(),
                    _ => "31".into(),
                };
                Ok
            }
            ("AVMT", _) => Error(OutOfParameter),
            ("ERST" | "LAMP" | "INST" | "NAME" | "INF1" | "INF2" | "INFO" | "CLSS", _)
                if !query =>
            {
                Error(OutOfParameter)
            }
            ("ERST", _) => Value("000000".into()),
            ("LAMP", _) => Value(format!(
                "{} {}",
                self.lamp_hours(now),
                if is_on { 1 } else { 0 }
            )),
            ("INST", _) => Value(INPUTS.join(" ")),
            ("NAME", _) => Value("roomctl simulated projector".into()),
            ("INF1", _) => Value("roomctl".into()),
            ("INF2", _) => Value("SIM-PJ1".into()),
            ("INFO", _) => Value("PJLink class 1 simulator".into()),
            ("CLSS", _) => Value("1".into()),
            _ => Error(UndefinedCommand),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(command: &str, param: &str) -> Request {
        Request {
            command: command.into(),
            param: param.into(),
        }
    }

    #[test]
    fn power_cycle_with_warm_up_and_cool_down() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut p = Projector::new(10 * s, 5 * s);
        let ask = |p: &mut Projector, c: &str, a: &str, at: Instant| {
            let data = p.handle(&req(c, a), at).data;
            match data {
                Answer::Ok => "OK".to_string(),
                Answer::Value(v) => v,
                Answer::Error(e) => format!("ERR{}", e as u8),
            }
        };
        assert_eq!(ask(&mut p, "POWR", "?", t0), "0");
        assert_eq!(ask(&mut p, "INPT", "32", t0), "ERR3");
        assert_eq!(ask(&mut p, "POWR", "1", t0), "OK");
        assert_eq!(ask(&mut p, "POWR", "?", t0 + s), "3");
        assert_eq!(ask(&mut p, "POWR", "0", t0 + s), "ERR3");
        assert_eq!(ask(&mut p, "POWR", "?", t0 + 10 * s), "1");
        assert_eq!(ask(&mut p, "INPT", "32", t0 + 10 * s), "OK");
        assert_eq!(ask(&mut p, "INPT", "99", t0 + 10 * s), "ERR2");
        assert_eq!(ask(&mut p, "INPT", "?", t0 + 10 * s), "32");
        assert_eq!(ask(&mut p, "LAMP", "?", t0 + 10 * s), "1234 1");
        assert_eq!(ask(&mut p, "POWR", "0", t0 + 11 * s), "OK");
        assert_eq!(ask(&mut p, "POWR", "?", t0 + 12 * s), "2");
        assert_eq!(ask(&mut p, "POWR", "1", t0 + 12 * s), "ERR3");
        assert_eq!(ask(&mut p, "POWR", "?", t0 + 16 * s), "0");
        assert_eq!(ask(&mut p, "POWR", "7", t0 + 16 * s), "ERR2");
        assert_eq!(ask(&mut p, "XXXX", "?", t0 + 16 * s), "ERR1");
        assert_eq!(ask(&mut p, "CLSS", "?", t0 + 16 * s), "1");
    }
}
