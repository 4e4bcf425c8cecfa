//! Drives rumqttc's event loop in a task of its own and tells the bridge
//! what happened on the connection. Its own task because the event loop
//! must be polled without pause (it writes the queued messages, pings,
//! reconnects), while the bridge must never wait on the network.
//!
//! A failed connection is retried after a wait that doubles from one
//! second up to `max_backoff`; a successful connection resets it.
//!
//! rumqttc has one client for MQTT 3.1.1 and another, with its own types,
//! for MQTT 5 (`rumqttc::v5`); [`Client`] and [`Link`] are what the bridge
//! sees of either.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5;
use rumqttc::{Outgoing, QoS};
use tokio::sync::mpsc;

use super::counters::Counters;

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
    Message(Message),
}

/// An incoming message, whichever the protocol.
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
}

/// The sending half of either client. Every call only queues (never waits);
/// `false`: the queue was full.
#[derive(Clone)]
pub enum Client {
    V311(rumqttc::AsyncClient),
    V5(v5::AsyncClient),
}

fn qos5(qos: QoS) -> v5::mqttbytes::QoS {
    match qos {
        QoS::AtMostOnce => v5::mqttbytes::QoS::AtMostOnce,
        QoS::AtLeastOnce => v5::mqttbytes::QoS::AtLeastOnce,
        QoS::ExactlyOnce => v5::mqttbytes::QoS::ExactlyOnce,
    }
}

impl Client {
    pub fn try_publish(&self, topic: String, qos: QoS, retain: bool, payload: Vec<u8>) -> bool {
        match self {
            Client::V311(c) => c.try_publish(topic, qos, retain, payload).is_ok(),
            Client::V5(c) => c.try_publish(topic, qos5(qos), retain, payload).is_ok(),
        }
    }

    pub fn try_subscribe(&self, filter: String, qos: QoS) -> bool {
        match self {
            Client::V311(c) => c.try_subscribe(filter, qos).is_ok(),
            Client::V5(c) => c.try_subscribe(filter, qos5(qos)).is_ok(),
        }
    }

    pub fn try_unsubscribe(&self, filter: String) -> bool {
        match self {
            Client::V311(c) => c.try_unsubscribe(filter).is_ok(),
            Client::V5(c) => c.try_unsubscribe(filter).is_ok(),
        }
    }

    pub fn try_disconnect(&self) -> bool {
        match self {
            Client::V311(c) => c.try_disconnect().is_ok(),
            Client::V5(c) => c.try_disconnect().is_ok(),
        }
    }
}

/// What one poll of either event loop means to the bridge.
enum Polled {
    Up,
    Message(Message),
    Done,
    Failed(String),
    Nothing,
}

/// Either event loop.
pub enum EventLoop {
    V311(Box<rumqttc::EventLoop>),
    V5(Box<v5::EventLoop>),
}

impl EventLoop {
    async fn poll(&mut self) -> Polled {
        match self {
            EventLoop::V311(e) => {
                use rumqttc::{ConnectionError, Event, Packet};
                match e.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => Polled::Up,
                    Ok(Event::Incoming(Packet::Publish(p))) => Polled::Message(Message {
                        topic: p.topic,
                        payload: p.payload,
                    }),
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => Polled::Done,
                    Ok(_) => Polled::Nothing,
                    Err(ConnectionError::RequestsDone) => Polled::Done,
                    Err(e) => Polled::Failed(e.to_string()),
                }
            }
            EventLoop::V5(e) => {
                use v5::mqttbytes::v5::Packet;
                use v5::{ConnectionError, Event};
                match e.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => Polled::Up,
                    Ok(Event::Incoming(Packet::Publish(p))) => Polled::Message(Message {
                        // A topic that is not UTF-8 matches no command topic.
                        topic: String::from_utf8_lossy(&p.topic).into_owned(),
                        payload: p.payload,
                    }),
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => Polled::Done,
                    Ok(_) => Polled::Nothing,
                    Err(ConnectionError::RequestsDone) => Polled::Done,
                    Err(e) => Polled::Failed(e.to_string()),
                }
            }
        }
    }
}

/// What to do with an incoming message the receiver has no room for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// Drop and count it (the bridge: commands must not pile up).
    DropWhenFull,
    /// Wait for room, which stops reading from the broker meanwhile (the
    /// station: retained state must not be lost; the broker buffers).
    Wait,
}

/// Starts polling `eventloop`; the receiver ends when the client is
/// dropped or has sent its DISCONNECT.
pub fn drive(
    mut eventloop: EventLoop,
    counters: Arc<Counters>,
    max_backoff: Duration,
    incoming: Incoming,
) -> mpsc::Receiver<Link> {
    let (tx, rx) = mpsc::channel(INCOMING_QUEUE);
    tokio::spawn(async move {
        let initial = Duration::from_secs(1);
        let mut backoff = initial;
        loop {
            match eventloop.poll().await {
                Polled::Up => {
                    backoff = initial;
                    if tx.send(Link::Up).await.is_err() {
                        return;
                    }
                }
                Polled::Message(m) => match incoming {
                    Incoming::DropWhenFull => {
                        if tx.try_send(Link::Message(m)).is_err() {
                            counters.refused();
                        }
                    }
                    Incoming::Wait => {
                        if tx.send(Link::Message(m)).await.is_err() {
                            return;
                        }
                    }
                },
                Polled::Done => return,
                Polled::Nothing => {}
                Polled::Failed(why) => {
                    if tx.send(Link::Down(why)).await.is_err() {
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
