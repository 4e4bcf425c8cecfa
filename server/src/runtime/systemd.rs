//! Telling systemd how we are (`Type=notify` units, packaging/): READY=1
//! once every service listens, STOPPING=1 at shutdown, and WATCHDOG=1 at
//! half the unit's `WatchdogSec` while `alive` answers in time. `alive`
//! proves more than a running process: for the controller it takes the
//! engine's lock, so a stuck engine stops the pings and systemd restarts
//! the service. Outside systemd (no NOTIFY_SOCKET) all of this does nothing.

use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

/// Says READY=1 with a status line, and starts the watchdog pings if the
/// unit asks for them; they stop when `stop` is cancelled.
pub fn ready<F>(status: &str, stop: CancellationToken, alive: F)
where
    F: Fn() -> bool + Clone + Send + Sync + 'static,
{
    if let Err(e) = sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(status)]) {
        tracing::warn!("cannot tell systemd we are ready: {e}");
    }
    let Some(period) = sd_notify::watchdog_enabled() else {
        return;
    };
    let every = period / 2;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            let check = alive.clone();
            // Off the async threads: a check that blocks must not stall them,
            // and one that does not finish in time means no ping.
            let answered = tokio::time::timeout(every, tokio::task::spawn_blocking(check)).await;
            if matches!(answered, Ok(Ok(true))) {
                let _ = sd_notify::notify(&[NotifyState::Watchdog]);
            } else {
                tracing::error!("watchdog: the controller did not answer in {every:?}");
            }
        }
    });
}

/// Says STOPPING=1 (a stop that takes a while is not a hang).
pub fn stopping() {
    let _ = sd_notify::notify(&[NotifyState::Stopping]);
}

/// The watchdog period systemd asked for, if any (for the start message).
pub fn watchdog() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}
