//! What the controller says to a panel's link, and what the link does
//! about each message.

use super::{LinkAction, LinkState, PanelLink, Phase, FIRST_BACKOFF_MS, MIN_KEEPALIVE_MS};
use crate::engine::{Snapshot, Step, StepOutcome};
use crate::protocol::panel::{ClientMessage, ErrorCode, ServerMessage};
use crate::view::PanelView;

impl PanelLink {
    /// A message from the controller. Anything heard counts as a sign of
    /// life; ignored unless the connection is open.
    pub fn received(&mut self, now: u64, message: ServerMessage) -> Vec<LinkAction> {
        let Phase::Open { last_heard, .. } = &mut self.phase else {
            return Vec::new();
        };
        *last_heard = now;
        match message {
            ServerMessage::Welcome { keepalive_ms, .. } => {
                self.keepalive_ms = keepalive_ms.max(MIN_KEEPALIVE_MS);
                Vec::new()
            }
            ServerMessage::Snapshot { snapshot } => self.on_snapshot(snapshot),
            ServerMessage::Step { step, after } => self.on_step(&step, after),
            ServerMessage::Layout { view } => self.on_layout(view),
            ServerMessage::Unavailable { message } => self.on_unavailable(message),
            ServerMessage::Ping { seq } => vec![LinkAction::Send(ClientMessage::Pong { seq })],
            ServerMessage::Pong { .. } => Vec::new(),
            ServerMessage::Notice {
                key,
                severity,
                message,
                active,
            } => vec![LinkAction::Notice {
                key,
                severity,
                message,
                active,
            }],
            ServerMessage::Error { code, message } => self.on_error(code, message),
        }
    }

    /// The controller's state whole: held, shown, live again.
    fn on_snapshot(&mut self, snapshot: Snapshot) -> Vec<LinkAction> {
        let project_changed = self.held.project_name != snapshot.project_name
            || self.held.project_revision != snapshot.project_revision;
        self.held = snapshot;
        // A snapshot, not the welcome, ends the backoff: only now
        // does the page show the controller's state again.
        self.backoff_ms = FIRST_BACKOFF_MS;
        let mut actions = vec![LinkAction::ShowSnapshot];
        actions.extend(self.set_state(LinkState::Live));
        // An in-place link was sent a `layout` first if its layout
        // changed; another project with the same layout is fine.
        if project_changed && self.layout.is_none() {
            actions.push(LinkAction::Reload);
        }
        actions
    }

    /// One step: applied to the held state, or a resync on a gap.
    fn on_step(&mut self, step: &Step, after: Option<u64>) -> Vec<LinkAction> {
        let mut actions = Vec::new();
        match self.held.receive_after(step, after) {
            StepOutcome::Applied => actions.push(LinkAction::ShowSnapshot),
            StepOutcome::Stale => {}
            // The controller answers with a snapshot, which replaces
            // the held state whole.
            StepOutcome::Gap => actions.push(LinkAction::Send(ClientMessage::Resync)),
        }
        // To an in-place link the controller sends such a step only
        // when the new project leaves its layout as it was.
        if step.loads_project() && self.layout.is_none() {
            actions.push(LinkAction::Reload);
        }
        actions
    }

    /// A new layout for an in-place link (a reload for any other).
    fn on_layout(&mut self, view: Box<PanelView>) -> Vec<LinkAction> {
        if self.layout.is_none() {
            return vec![LinkAction::Reload];
        }
        self.layout = Some(view.layout.clone());
        self.held = view.snapshot.clone();
        self.backoff_ms = FIRST_BACKOFF_MS;
        let mut actions = vec![LinkAction::ShowLayout(view), LinkAction::ShowSnapshot];
        actions.extend(self.set_state(LinkState::Live));
        actions
    }

    /// The panel is gone from the running project (an in-place link; a
    /// reload for any other).
    fn on_unavailable(&mut self, message: String) -> Vec<LinkAction> {
        if self.layout.is_none() {
            return vec![LinkAction::Reload];
        }
        // Holding no layout: the controller sends the panel's
        // layout whole when it exists again.
        self.layout = Some(String::new());
        self.backoff_ms = FIRST_BACKOFF_MS;
        let mut actions = vec![LinkAction::Unavailable(message)];
        actions.extend(self.set_state(LinkState::Live));
        actions
    }

    /// An error: a refusal ends the session; one about a message of ours
    /// does not.
    fn on_error(&mut self, code: ErrorCode, message: String) -> Vec<LinkAction> {
        match code {
            ErrorCode::PinRequired
            | ErrorCode::WrongPin
            | ErrorCode::Forbidden
            | ErrorCode::UnknownPanel => self.refuse(code, message),
            ErrorCode::TooLarge
            | ErrorCode::Malformed
            | ErrorCode::UnknownButton
            | ErrorCode::UnknownLevel
            | ErrorCode::Unavailable => Vec::new(),
        }
    }
}
