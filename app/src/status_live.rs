//! The status page's live channel, browser side: one WebSocket to
//! `/status/live`, which sends the whole status report whenever something
//! on it changed (server/src/services/http/status_feed.rs). The page shows
//! the newest report; nothing is asked for on a timer. A lost channel is
//! opened again after a wait that doubles from one second up to thirty; a
//! channel the controller closed because the login no longer allows the
//! status is not, and the page says why.

use std::cell::RefCell;
use std::time::Duration;

use leptos::prelude::*;

use crate::socket::Socket;

/// The controller's close code for a login that does not (or no longer)
/// allow the status page; the reason says why.
const CLOSE_REFUSED: u16 = 4001;
const FIRST_WAIT_MS: u64 = 1_000;
const LONGEST_WAIT_MS: u64 = 30_000;

struct Feed {
    /// The newest report's JSON.
    report: RwSignal<Option<String>>,
    /// Why the controller closed the channel for good.
    refused: RwSignal<Option<String>>,
    socket: Option<Socket>,
    wait_ms: u64,
}

thread_local! {
    static FEED: RefCell<Option<Feed>> = const { RefCell::new(None) };
}

/// Follows the status from now on (once per page): each report into
/// `report`, a refusal into `refused`.
pub fn follow(report: RwSignal<Option<String>>, refused: RwSignal<Option<String>>) {
    let started = FEED.with(|f| {
        let mut f = f.borrow_mut();
        if f.is_some() {
            return false;
        }
        *f = Some(Feed {
            report,
            refused,
            socket: None,
            wait_ms: FIRST_WAIT_MS,
        });
        true
    });
    if started {
        connect();
    }
}

fn connect() {
    let socket = crate::socket::open(
        "/status/live",
        || {
            with_feed(|f| f.wait_ms = FIRST_WAIT_MS);
        },
        |json| {
            with_feed(|f| f.report.set(Some(json)));
        },
        closed,
    );
    match socket {
        Some(socket) => {
            with_feed(|f| f.socket = Some(socket));
        }
        None => closed(0, String::new()),
    }
}

fn closed(code: u16, reason: String) {
    let wait = with_feed(|f| {
        f.socket = None;
        if code == CLOSE_REFUSED {
            f.refused.set(Some(reason));
            return None;
        }
        let wait = f.wait_ms;
        f.wait_ms = (wait * 2).min(LONGEST_WAIT_MS);
        Some(wait)
    });
    if let Some(Some(wait)) = wait {
        let _ = set_timeout_with_handle(connect, Duration::from_millis(wait));
    }
}

fn with_feed<T>(f: impl FnOnce(&mut Feed) -> T) -> Option<T> {
    FEED.with(|feed| feed.borrow_mut().as_mut().map(f))
}
