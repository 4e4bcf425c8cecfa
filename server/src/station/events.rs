//! The station's live stream (`/events`, served by `web.rs`): one server-sent event stream per
//! page, carrying the cards (or the room) the page shows as they change,
//! read by the station's wasm (`app/src/station/live.rs`). A change is sent
//! at once when the stream is idle; changes that come while a batch is
//! being written are coalesced (one entry per room) into the next batch, so
//! a busy fleet costs at most one card per room per batch and a quiet one
//! no waiting at all.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;

use app::station::{OnlineCount, RoomLive};
use axum::response::sse::Event as SseEvent;
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::broadcast::Receiver;

use super::Station;

/// One stream's place: what it follows and what it last sent.
struct Follow {
    st: Arc<Station>,
    rx: Receiver<usize>,
    watched: HashSet<usize>,
    room_page: bool,
    /// The grid's "N of M rooms online" as last sent.
    summary: Option<(usize, usize)>,
}

/// The stream behind `/events` (`web.rs`): first the current state of every watched
/// room (a page is rendered before its stream is open, and a room that
/// came online in between would otherwise stay shown offline until its
/// next change), then, repeatedly, it waits for a change to a watched room,
/// lets the tasks that are ready run once (so a burst that is already
/// under way lands in one batch), takes every change queued by then, and
/// sends them as one event. It is polled again only when the connection
/// has taken the last event, so while a client is slow the changes pile up
/// as a set of rooms, not as a queue of events.
pub fn stream(
    st: Arc<Station>,
    watched: HashSet<usize>,
    room_page: bool,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    // Subscribed before the first state is read: nothing falls between.
    let rx = st.registry.subscribe();
    let follow = Follow {
        st,
        rx,
        watched,
        room_page,
        summary: None,
    };
    let batches = futures::stream::unfold((follow, true), |(mut f, first)| async move {
        let mut changed: HashSet<usize> = HashSet::new();
        if first {
            changed.extend(f.watched.iter().copied());
        } else {
            f.wait(&mut changed).await?;
        }
        tokio::task::yield_now().await;
        f.drain(&mut changed);
        let events = f.batch(&changed)?;
        Some((events, (f, false)))
    });
    batches.flat_map(|events| futures::stream::iter(events.into_iter().map(Ok)))
}

impl Follow {
    /// Waits for a change that matters to this page: to a watched room, or
    /// (on the grid) to the summary. `None` when the station stops.
    async fn wait(&mut self, changed: &mut HashSet<usize>) -> Option<()> {
        loop {
            let next = tokio::select! {
                _ = self.st.shutdown.cancelled() => return None,
                r = self.rx.recv() => r,
            };
            match next {
                Ok(i) if self.watched.contains(&i) => {
                    changed.insert(i);
                    return Some(());
                }
                // Another room: only the grid's summary may need sending.
                Ok(_) if !self.room_page && self.summary != Some(self.st.registry.counts()) => {
                    return Some(())
                }
                Ok(_) => {}
                // Too far behind to know what changed: send everything.
                Err(RecvError::Lagged(_)) => {
                    changed.extend(self.watched.iter().copied());
                    return Some(());
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// Every change queued by now, into the same batch.
    fn drain(&mut self, changed: &mut HashSet<usize>) {
        loop {
            match self.rx.try_recv() {
                Ok(i) if self.watched.contains(&i) => {
                    changed.insert(i);
                }
                Ok(_) => {}
                Err(TryRecvError::Lagged(_)) => changed.extend(self.watched.iter().copied()),
                Err(_) => break,
            }
        }
    }

    /// The events of one batch: the room (a room page), or the changed
    /// cards and the summary when it changed (the grid and the now view).
    fn batch(&mut self, changed: &HashSet<usize>) -> Option<Vec<SseEvent>> {
        let st = &self.st;
        let mut events = Vec::with_capacity(2);
        if self.room_page {
            let i = *changed.iter().next()?;
            let data = st.registry.read(i, |r| RoomLive {
                card: r.card.clone(),
                buttons: r.snapshot.buttons.clone(),
                levels: r.snapshot.levels.clone(),
            });
            let data = data.and_then(|d| serde_json::to_string(&d).ok());
            events.push(
                SseEvent::default()
                    .event("room")
                    .data(data.unwrap_or_default()),
            );
            return Some(events);
        }
        let cards: Vec<_> = changed
            .iter()
            .filter_map(|i| st.registry.card(*i))
            .collect();
        if !cards.is_empty() {
            events.push(
                SseEvent::default()
                    .event("cards")
                    .data(serde_json::to_string(&cards).unwrap_or_default()),
            );
        }
        let counts = st.registry.counts();
        if self.summary != Some(counts) {
            self.summary = Some(counts);
            let count = OnlineCount {
                online: counts.0,
                total: counts.1,
            };
            events.push(
                SseEvent::default()
                    .event("summary")
                    .data(serde_json::to_string(&count).unwrap_or_default()),
            );
        }
        Some(events)
    }
}
