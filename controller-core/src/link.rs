//! The panel's link to its controller, as a sans-IO state machine: when to
//! connect, what to say (`hello`, keep-alive, `resync`), when the link is
//! lost, how long to wait before reconnecting, and when the controller has
//! refused the panel for good. See "Panel live channel" in `docs/protocols.md`.
//!
//! No sockets and no clocks: the browser glue (`app/src/panel_channel.rs`) feeds in
//! what happened ([`PanelLink::opened`], [`PanelLink::received`],
//! [`PanelLink::closed`], [`PanelLink::tick`]) with the time in milliseconds,
//! performs the [`LinkAction`]s that come back, and calls [`PanelLink::tick`]
//! again at [`PanelLink::next_deadline`]. So every rule here runs natively in
//! the unit and property tests below, and the wasm glue has no decisions left
//! to get wrong.

use crate::engine::Snapshot;
use crate::protocol::panel::{ClientMessage, ErrorCode, Severity};
use crate::view::PanelView;

/// The controller's keep-alive interval is never taken to be shorter than
/// this: a misconfigured tiny interval would otherwise declare every link lost.
pub const MIN_KEEPALIVE_MS: u64 = 500;
/// Silence longer than one keep-alive interval plus this grace (for network
/// jitter and a busy browser) means the link is lost.
pub const LOST_GRACE_MS: u64 = 1000;
/// The first reconnect waits this long; each failed one doubles the wait...
pub const FIRST_BACKOFF_MS: u64 = 250;
/// ...up to this, so a panel is back within 5 s of its controller.
pub const MAX_BACKOFF_MS: u64 = 5000;

/// The panel's view of its connection to the controller (what the page shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Loaded from the server, live channel not yet open.
    Connecting,
    Live,
    /// A keep-alive was missed or the connection closed; reconnecting.
    Lost,
    /// The controller refused this panel (not allowed, no such panel): the
    /// controller's message. Final until the page is loaded again.
    Refused(String),
    /// The controller wants this panel's PIN (none given, or a wrong one):
    /// the keypad shows again with the controller's message ("wrong PIN",
    /// or how long its back-off after repeated wrong PINs lasts), and
    /// [`PanelLink::enter_pin`] tries the next one.
    PinNeeded(String),
}

/// What the glue must do, in order, after feeding an input.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkAction {
    /// Open a new connection. Emitted only when none is open or opening.
    Connect,
    /// Send this message on the open connection.
    Send(ClientMessage),
    /// Drop the current connection (close it if still open) and ignore
    /// anything more it reports.
    Close,
    /// The link state changed: show this one.
    State(LinkState),
    /// The held state changed: show [`PanelLink::snapshot`].
    ShowSnapshot,
    /// The controller runs a different project, whose layout may differ:
    /// load the page anew. Only for a link not made [`PanelLink::in_place`].
    Reload,
    /// Show this layout instead of the one shown (an in-place link: a
    /// project was applied). Keep the page shown if it still exists. The
    /// state to show with it follows as [`LinkAction::ShowSnapshot`].
    ShowLayout(Box<PanelView>),
    /// The running project has no such panel (any more): say so instead of
    /// the panel (an in-place link). A [`LinkAction::ShowLayout`] follows
    /// if a project with this panel is applied.
    Unavailable(String),
    /// The controller refused the stored PIN: forget it, so that the next
    /// attempt asks for it again.
    ForgetPin,
    /// Show (`active`) or clear the banner with this key: a device down, a
    /// sequence step failed.
    Notice {
        key: String,
        severity: Severity,
        message: String,
        active: bool,
    },
}

/// Where the connection is. The link state shown to the user is separate:
/// a reconnecting panel stays [`LinkState::Lost`] through `Connecting` and
/// `Open` until a snapshot makes it live again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// [`PanelLink::start`] not called yet.
    Idle,
    /// [`LinkAction::Connect`] emitted, not opened yet. No keep-alive check:
    /// an unanswered connect ends in [`PanelLink::closed`] (the browser's
    /// own timeout), as it always has.
    Connecting,
    Open {
        last_heard: u64,
        last_ping: u64,
    },
    /// Down; reconnect at `at`.
    Waiting {
        at: u64,
    },
    /// Refused: never connects again.
    Stopped,
    /// Refused for its PIN: connects again when one is entered.
    AwaitingPin,
}

/// One panel page's link to its controller. All inputs are safe in any
/// order and at any time (out-of-place ones are ignored), and times may even
/// go backwards; the property tests below hold it to that.
#[derive(Debug, Clone)]
pub struct PanelLink {
    panel: String,
    pin: Option<String>,
    keepalive_ms: u64,
    held: Snapshot,
    state: LinkState,
    phase: Phase,
    backoff_ms: u64,
    /// Sequence number of the last `ping` sent; kept across reconnects so the
    /// numbers of one page never repeat.
    ping_seq: u64,
    /// For an in-place link, the layout shown (its [`PanelView::layout`];
    /// empty while the panel is unavailable). `None`: the page reloads
    /// when the project changes (and says nothing of layouts in hello).
    layout: Option<String>,
}

impl PanelLink {
    /// A link for `panel` (its id) with the PIN to present, if any, the
    /// keep-alive interval the page was rendered with, and the state the page
    /// was rendered with (its revision goes into `hello`).
    pub fn new(panel: String, pin: Option<String>, keepalive_ms: u64, held: Snapshot) -> Self {
        PanelLink {
            panel,
            pin,
            keepalive_ms: keepalive_ms.max(MIN_KEEPALIVE_MS),
            held,
            state: LinkState::Connecting,
            phase: Phase::Idle,
            backoff_ms: FIRST_BACKOFF_MS,
            ping_seq: 0,
            layout: None,
        }
    }

    /// Makes this an in-place link for a page showing `layout` (its
    /// [`PanelView::layout`]): it says so in hello, and when a project is
    /// applied the controller sends the new layout ([`LinkAction::ShowLayout`])
    /// or [`LinkAction::Unavailable`], never [`LinkAction::Reload`].
    pub fn in_place(mut self, layout: String) -> Self {
        self.layout = Some(layout);
        self
    }

    /// What the page should show about the link.
    pub fn state(&self) -> &LinkState {
        &self.state
    }

    /// The state the panel holds: the last snapshot plus the steps since.
    pub fn snapshot(&self) -> &Snapshot {
        &self.held
    }

    /// The keep-alive interval in force (the controller's, once welcomed).
    pub fn keepalive_ms(&self) -> u64 {
        self.keepalive_ms
    }

    /// First connect. Only the first call does anything.
    pub fn start(&mut self) -> Vec<LinkAction> {
        if self.phase != Phase::Idle {
            return Vec::new();
        }
        self.phase = Phase::Connecting;
        vec![LinkAction::Connect]
    }

    /// The person entered a PIN after [`LinkState::PinNeeded`]: connect
    /// again and present it. Ignored in any other state. (Repeated wrong
    /// PINs are slowed down by the controller, per address; its message
    /// says for how long, and the keypad shows it.)
    pub fn enter_pin(&mut self, pin: String) -> Vec<LinkAction> {
        if self.phase != Phase::AwaitingPin {
            return Vec::new();
        }
        self.pin = Some(pin);
        self.phase = Phase::Connecting;
        let mut actions = vec![LinkAction::Connect];
        actions.extend(self.set_state(LinkState::Connecting));
        actions
    }

    /// The connection opened: say `hello` with the revision held, so the
    /// controller's snapshot replaces whatever the page showed.
    pub fn opened(&mut self, now: u64) -> Vec<LinkAction> {
        if self.phase != Phase::Connecting {
            return Vec::new();
        }
        self.phase = Phase::Open {
            last_heard: now,
            last_ping: now,
        };
        vec![LinkAction::Send(ClientMessage::Hello {
            panel: self.panel.clone(),
            revision: self.held.revision,
            pin: self.pin.clone(),
            sparse: true,
            layout: self.layout.clone(),
        })]
    }

    /// The connection closed (or could not be made): lost, reconnect after
    /// the backoff. Ignored unless a connection is opening or open.
    pub fn closed(&mut self, now: u64) -> Vec<LinkAction> {
        match self.phase {
            Phase::Connecting | Phase::Open { .. } => self.lose(now),
            Phase::Idle | Phase::Waiting { .. } | Phase::Stopped | Phase::AwaitingPin => Vec::new(),
        }
    }

    /// Time passed: ping when a keep-alive interval has passed since the last
    /// one, declare the link lost after one interval (plus grace) of silence,
    /// reconnect when the backoff is over. Call at [`Self::next_deadline`];
    /// calling earlier or more often is harmless.
    pub fn tick(&mut self, now: u64) -> Vec<LinkAction> {
        match self.phase {
            Phase::Waiting { at } if now >= at => {
                self.phase = Phase::Connecting;
                vec![LinkAction::Connect]
            }
            Phase::Open {
                last_heard,
                last_ping,
            } => {
                if now.saturating_sub(last_heard) > self.lost_after() {
                    self.lose(now)
                } else if now.saturating_sub(last_ping) >= self.keepalive_ms {
                    self.phase = Phase::Open {
                        last_heard,
                        last_ping: now,
                    };
                    self.ping_seq += 1;
                    vec![LinkAction::Send(ClientMessage::Ping { seq: self.ping_seq })]
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        }
    }

    /// When [`Self::tick`] next has something to do, if ever: a ping, the
    /// silence that means "lost", or the end of a backoff. Changes with every
    /// input, so the glue re-reads it after each.
    pub fn next_deadline(&self) -> Option<u64> {
        match self.phase {
            Phase::Waiting { at } => Some(at),
            Phase::Open {
                last_heard,
                last_ping,
            } => {
                let ping = last_ping.saturating_add(self.keepalive_ms);
                let lost = last_heard
                    .saturating_add(self.lost_after())
                    .saturating_add(1);
                Some(ping.min(lost))
            }
            Phase::Idle | Phase::Connecting | Phase::Stopped | Phase::AwaitingPin => None,
        }
    }

    /// A message the user's touch produced (press, release). Sent only while
    /// the connection is open: presses made while it is down are dropped on
    /// purpose, since the page already shows that the link is down and a
    /// press replayed later would surprise whoever is in the room.
    pub fn send(&self, message: ClientMessage) -> Vec<LinkAction> {
        match self.phase {
            Phase::Open { .. } => vec![LinkAction::Send(message)],
            _ => Vec::new(),
        }
    }

    /// Silence longer than this is a lost link.
    fn lost_after(&self) -> u64 {
        self.keepalive_ms.saturating_add(LOST_GRACE_MS)
    }

    fn lose(&mut self, now: u64) -> Vec<LinkAction> {
        self.phase = Phase::Waiting {
            at: now.saturating_add(self.backoff_ms),
        };
        self.backoff_ms = (self.backoff_ms * 2).min(MAX_BACKOFF_MS);
        let mut actions = vec![LinkAction::Close];
        actions.extend(self.set_state(LinkState::Lost));
        actions
    }

    pub(super) fn refuse(&mut self, code: ErrorCode, message: String) -> Vec<LinkAction> {
        let mut actions = Vec::new();
        if matches!(code, ErrorCode::WrongPin | ErrorCode::PinRequired) {
            self.phase = Phase::AwaitingPin;
            self.pin = None;
            actions.push(LinkAction::ForgetPin);
            // Two wrong PINs in a row must still show as a change.
            self.state = LinkState::Connecting;
            actions.extend(self.set_state(LinkState::PinNeeded(message)));
        } else {
            self.phase = Phase::Stopped;
            actions.extend(self.set_state(LinkState::Refused(message)));
        }
        // The controller closes the connection after a refusal too; closing
        // first means nothing it does afterwards can count as "lost".
        actions.push(LinkAction::Close);
        actions
    }

    pub(super) fn set_state(&mut self, state: LinkState) -> Option<LinkAction> {
        if self.state == state {
            return None;
        }
        self.state = state.clone();
        Some(LinkAction::State(state))
    }
}

mod received;
#[cfg(test)]
mod tests;
