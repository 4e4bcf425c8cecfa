//! Echoes of a level's own commands: telling a device's answer to what the
//! controller just sent it from news about the device.
//!
//! A DSP answers every `VOL -20` with `VOL=-20`, and answers late: while a
//! panel drags the fader, the answers to earlier commands arrive after the
//! fader has moved on. Applied as they come, they would pull the level back
//! to old values and forward again on every other panel. So while a level's
//! commands are in flight (its *echo window*: from the first command until
//! [`settle_time`] after the last one), a report of a value the controller
//! itself sent in the window is an echo: it does not move the level. Any
//! other value (the device clamped it, someone turned the knob) moves it at
//! once. When the window closes, the device's last report is applied if it
//! was held back, so the level always settles on the device's real value
//! (a device that clamps to a value it was also sent on the way).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// How many sent values one window remembers (a drag sends one per
/// interval; older ones are forgotten first).
const REMEMBERED: usize = 1024;

/// How long after a level's last command the device's reports may still be
/// echoes of it: five send intervals, at least half a second (a device
/// answers in tens of milliseconds; a drag sends every interval, so the
/// window stays open while the fader moves).
pub fn settle_time(send_interval: Duration) -> Duration {
    (send_interval * 5).max(Duration::from_millis(500))
}

/// One level's echo window.
#[derive(Debug)]
pub struct EchoWindow {
    settle: Duration,
    /// Values sent since the window opened, oldest first.
    sent: VecDeque<f64>,
    /// When the last command went out (None: the window is closed).
    last_sent: Option<Instant>,
    /// The device's latest report while the window was open.
    last_report: Option<f64>,
    /// The device's last report before the window opened (at first, the
    /// level's value when the project started).
    device_value: Option<f64>,
}

impl EchoWindow {
    /// A closed window; `value` is where the level stands.
    pub fn new(settle: Duration, value: Option<f64>) -> EchoWindow {
        EchoWindow {
            settle,
            sent: VecDeque::new(),
            last_sent: None,
            last_report: None,
            device_value: value,
        }
    }

    /// The controller is sending `value` to the device (recorded before the
    /// bytes leave, so an answer cannot overtake it).
    pub fn sent(&mut self, value: f64, now: Instant) {
        if self.last_sent.is_none() {
            // Opening: a late report of where the device was is old news too.
            self.sent.extend(self.device_value);
        }
        if self.sent.len() == REMEMBERED {
            self.sent.pop_front();
        }
        self.sent.push_back(value);
        self.last_sent = Some(now);
    }

    /// When the window closes (None while it is closed).
    pub fn closes_at(&self) -> Option<Instant> {
        self.last_sent.map(|at| at + self.settle)
    }

    fn is_open(&self, now: Instant) -> bool {
        self.closes_at().is_some_and(|at| now < at)
    }

    /// The device reported `value`: true when it is an echo of a value sent
    /// in the open window (held back), false when it moves the level.
    pub fn is_echo(&mut self, value: f64, now: Instant) -> bool {
        if !self.is_open(now) {
            // A window whose time is up but not yet closed closes here:
            // this report is newer than any it held back.
            self.sent.clear();
            self.last_sent = None;
            self.last_report = None;
            self.device_value = Some(value);
            return false;
        }
        self.last_report = Some(value);
        self.sent.iter().any(|v| same(*v, value))
    }

    /// Closes the window if its time is up: the device's last report in it,
    /// which the level must settle on (None if the window is still open or
    /// the device reported nothing).
    pub fn close(&mut self, now: Instant) -> Option<f64> {
        if self.last_sent.is_none() || self.is_open(now) {
            return None;
        }
        self.sent.clear();
        self.last_sent = None;
        let report = self.last_report.take();
        self.device_value = report.or(self.device_value);
        report
    }
}

/// Values as the engine keeps them (quantised to 1e-6) are equal.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-7
}

/// The echo windows of the running project's driven levels, shared by the
/// level drivers (which send) and the feedback task (which hears the
/// answers). The lock also orders the two tasks' engine commands for a
/// level, so a held-back report applied at a window's close cannot land
/// after a newer report.
#[derive(Clone, Default)]
pub struct Echoes(Arc<Mutex<HashMap<String, EchoWindow>>>);

impl Echoes {
    /// Watches `level`'s echoes, with windows of `settle`; `value` is
    /// where the level stands now.
    pub fn watch(&self, level: &str, settle: Duration, value: Option<f64>) {
        self.lock()
            .insert(level.to_string(), EchoWindow::new(settle, value));
    }

    /// The driver sends `value` to `level`'s device.
    pub fn sent(&self, level: &str, value: f64) {
        if let Some(w) = self.lock().get_mut(level) {
            w.sent(value, Instant::now());
        }
    }

    /// Feedback reports `value` for `level`: runs `apply` unless it is an
    /// echo of the driver's own commands. True when applied.
    pub fn report(&self, level: &str, value: f64, apply: impl FnOnce()) -> bool {
        let mut windows = self.lock();
        let echo = windows
            .get_mut(level)
            .is_some_and(|w| w.is_echo(value, Instant::now()));
        if !echo {
            apply();
        }
        !echo
    }

    /// When `level`'s window closes.
    pub fn closes_at(&self, level: &str) -> Option<Instant> {
        self.lock().get(level).and_then(EchoWindow::closes_at)
    }

    /// Closes `level`'s window if its time is up, running `settle` with the
    /// device's last report in it.
    pub fn close(&self, level: &str, settle: impl FnOnce(f64)) {
        let mut windows = self.lock();
        if let Some(value) = windows.get_mut(level).and_then(|w| w.close(Instant::now())) {
            settle(value);
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, EchoWindow>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_window_follows_the_send_interval() {
        assert_eq!(settle_time(100 * MS), 500 * MS);
        assert_eq!(settle_time(300 * MS), 1500 * MS);
        assert_eq!(settle_time(Duration::ZERO), 500 * MS);
    }

    #[test]
    fn late_echoes_are_held_back_and_news_is_not() {
        let t0 = Instant::now();
        let mut w = EchoWindow::new(500 * MS, None);
        // Closed: every report is news.
        assert!(!w.is_echo(-30.0, t0));
        assert_eq!(w.close(t0), None);
        w.sent(-29.5, t0);
        w.sent(-29.0, t0 + 100 * MS);
        w.sent(-28.5, t0 + 200 * MS);
        // Answers to earlier commands, arriving after later ones went out.
        assert!(w.is_echo(-29.5, t0 + 210 * MS));
        assert!(w.is_echo(-29.0, t0 + 250 * MS));
        // A value never sent: the device clamped it, or a knob moved.
        assert!(!w.is_echo(-12.0, t0 + 260 * MS));
        assert!(w.is_echo(-28.5, t0 + 300 * MS));
        assert_eq!(w.closes_at(), Some(t0 + 700 * MS));
        // Not yet closed; then closed with the last report.
        assert_eq!(w.close(t0 + 699 * MS), None);
        assert_eq!(w.close(t0 + 700 * MS), Some(-28.5));
        assert_eq!(w.closes_at(), None);
        // After the window the device is authoritative, even for old values.
        assert!(!w.is_echo(-29.5, t0 + 800 * MS));
    }

    #[test]
    fn a_late_report_of_where_the_device_was_is_old_news() {
        let t0 = Instant::now();
        // The level stood at -30 when the project started.
        let mut w = EchoWindow::new(500 * MS, Some(-30.0));
        w.sent(-29.5, t0 + 10 * MS);
        // The answer to a poll sent just before the drag.
        assert!(w.is_echo(-30.0, t0 + 50 * MS));
        assert!(w.is_echo(-29.5, t0 + 60 * MS));
        assert_eq!(w.close(t0 + 600 * MS), Some(-29.5));
        // The next window holds back the device's -29.5, not -30.
        w.sent(-20.0, t0 + 700 * MS);
        assert!(w.is_echo(-29.5, t0 + 710 * MS));
        assert!(!w.is_echo(-30.0, t0 + 720 * MS));
    }

    #[test]
    fn a_device_that_clamps_to_a_value_it_was_sent_settles_there() {
        let t0 = Instant::now();
        let mut w = EchoWindow::new(500 * MS, None);
        // Dragged past the device's maximum of 0 dB: it answers 0 each time.
        for (i, v) in [-0.5, 0.0, 0.5, 1.0].into_iter().enumerate() {
            let at = t0 + (100 * i as u32) * MS;
            w.sent(v, at);
            assert!(w.is_echo(v.min(0.0), at + 10 * MS), "{v}");
        }
        assert_eq!(w.close(t0 + 900 * MS), Some(0.0));
    }

    #[test]
    fn a_report_after_the_window_supersedes_what_it_held_back() {
        let t0 = Instant::now();
        let mut w = EchoWindow::new(500 * MS, None);
        w.sent(1.0, t0);
        assert!(w.is_echo(1.0, t0 + 10 * MS));
        // The device's word after the window, before the driver closed it.
        assert!(!w.is_echo(3.0, t0 + 520 * MS));
        assert_eq!(w.close(t0 + 530 * MS), None);
        assert_eq!(w.closes_at(), None);
    }

    #[test]
    fn a_window_without_reports_closes_with_nothing_to_settle() {
        let t0 = Instant::now();
        let mut w = EchoWindow::new(500 * MS, None);
        w.sent(1.0, t0);
        assert_eq!(w.close(t0 + 600 * MS), None);
        assert_eq!(w.closes_at(), None);
    }

    #[test]
    fn remembers_a_bounded_number_of_values() {
        let t0 = Instant::now();
        let mut w = EchoWindow::new(500 * MS, None);
        for i in 0..(REMEMBERED + 10) {
            w.sent(i as f64, t0);
        }
        assert_eq!(w.sent.len(), REMEMBERED);
        assert!(!w.is_echo(0.0, t0));
        assert!(w.is_echo((REMEMBERED + 9) as f64, t0));
    }
}
