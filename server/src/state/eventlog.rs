//! Recent events, kept in memory for the status page and the console `log`
//! command (the full log goes to tracing's output).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::runtime::sync::lock;

pub struct EventLog {
    lines: Mutex<VecDeque<String>>,
    capacity: usize,
    /// Bumped by every line (the status page's channel waits on it).
    added: watch::Sender<u64>,
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn clock() -> String {
    let s = unix_now() % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

impl EventLog {
    pub fn new(capacity: usize) -> EventLog {
        EventLog {
            lines: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
            added: watch::Sender::new(0),
        }
    }

    /// Records a line (also logged through tracing at info level), its
    /// control characters escaped.
    pub fn record(&self, line: impl Into<String>) {
        // Lines quote names and text from outside: one line stays one line,
        // and no escape sequence reaches a console or a log viewer.
        let line = controller_core::printable::printable(&line.into()).into_owned();
        tracing::info!("{line}");
        let mut lines = lock(&self.lines);
        if lines.len() == self.capacity {
            lines.pop_front();
        }
        lines.push_back(format!("{} UTC  {line}", clock()));
        drop(lines);
        self.added.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Wakes when a line is recorded.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.added.subscribe()
    }

    /// The last `n` lines, oldest first.
    pub fn recent(&self, n: usize) -> Vec<String> {
        let lines = lock(&self.lines);
        lines
            .iter()
            .skip(lines.len().saturating_sub(n))
            .cloned()
            .collect()
    }
}
