//! Drives rumqttc's event loop in a task of its own and tells the bridge
//! what happened on the connection. Its own task because the event loop
//! must be polled without pause (it writes the queued messages, pings,
//! reconnects), while the bridge must never wait on the network.
//!
//! A failed connection is retried after a wait that doubles from one
//! second up to `max_backoff`; a successful connection resets it.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{ConnectionError, Event, EventLoop, Outgoing, Packet, Publish};
use tokio::sync::mpsc;

use super::bridge::Counters;

/// Incoming messages that wait for the bridge before more are dropped
/// (and counted): commands never pile up without bound.
const INCOMING_QUEUE: usize = 256;

/// What happened on the connection.
pub enum Link {
    /// Connected (again): the broker holds nothing of this session.
    Up,
    /// The connection failed or was lost: why.
    Down(String),
    /// A message on a subscribed topic.
    Message(Publish),
}

/// Starts polling `eventloop`; the receiver ends when the client is
/// dropped or has sent its DISCONNECT.
pub fn drive(
    mut eventloop: EventLoop,
    counters: Arc<Counters>,
    max_backoff: Duration,
) -> mpsc::Receiver<Link> {
    let (tx, rx) = mpsc::channel(INCOMING_QUEUE);
    tokio::spawn(async move {
        let initial = Duration::from_secs(1);
        let mut backoff = initial;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = initial;
                    if tx.send(Link::Up).await.is_err() {
                        return;
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx.try_send(Link::Message(p)).is_err() {
                        counters.refused();
                    }
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
                Ok(_) => {}
                Err(ConnectionError::RequestsDone) => return,
                Err(e) => {
                    if tx.send(Link::Down(e.to_string())).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(max_backoff);
                }
            }
        }
    });
    rx
}
