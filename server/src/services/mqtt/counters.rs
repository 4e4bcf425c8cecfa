//! What the status page shows of the MQTT bridge: messages dropped and
//! commands refused, counted by the bridge and by the connection task (and
//! the station's broker link) without a lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// What the status page shows of the bridge.
#[derive(Default)]
pub struct Counters {
    /// Messages that did not fit the outgoing queue, or events while the
    /// broker was away.
    dropped: AtomicU64,
    /// Command messages refused: malformed or naming nothing known, or
    /// more than the bridge could take in at once.
    refused: AtomicU64,
}

impl Counters {
    pub fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn read(&self) -> (u64, u64) {
        (
            self.dropped.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
        )
    }
}
