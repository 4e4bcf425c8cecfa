//! The event bus: the one stream every front end listens to.
//!
//! The controller owns one [`Bus`]. Engine steps (published under the engine
//! lock, so the bus's order is the engine's order), devices going online or
//! offline (extension devices and room-logic devices alike), service state
//! changes and failed sequence steps all travel on it. Panels, live updates
//! (8001), central control (5009), keypads, the room logic and later the
//! MQTT bridge subscribe here; no front end reads another's state.
//!
//! A subscriber that falls more than [`CAPACITY`] events behind is told so
//! (`Lagged`) and resynchronises from a snapshot instead of drifting. A step
//! is serialised at most once per wire format ([`Published::encoded`]) and
//! the same bytes go to every connection.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use controller_core::engine::Step;
use controller_core::logic::Trouble;
use controller_core::protocol::panel::MeetingChange;
use controller_core::view::{DeviceStatus, ServiceStatus};
use tokio::sync::broadcast;

/// How many events a slow subscriber may fall behind before it must
/// resynchronise from a snapshot.
pub const CAPACITY: usize = 4096;

/// The wire formats a step is published in; each is encoded once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Encoding {
    /// The panel WebSocket's `step` message (JSON text).
    PanelJson = 0,
    /// The central-control (TCP 5009) `step` line.
    CentralLine = 1,
    /// The live-update (UDP 8001) datagram of LED changes (kind 1).
    LiveDatagram = 2,
    /// The live-update datagram of level and variable changes (kind 4).
    LiveValues = 3,
}
const ENCODINGS: usize = 4;

/// An engine step as published on the bus, with its encodings cached.
pub struct Published {
    pub step: Step,
    /// Whether the step changes anything a panel shows
    /// ([`Step::shown_on_panels`]); `sparse` panels are sent only these.
    pub shown: bool,
    /// The revision of the last step before this one that was `shown` (0 if
    /// none): the panel's `after`, which lets a `sparse` panel tell skipped
    /// steps from missed ones.
    pub after: u64,
    encoded: [OnceLock<Bytes>; ENCODINGS],
}

impl Published {
    /// `after`: the revision of the last shown step published before it.
    pub fn new(step: Step, after: u64) -> Published {
        Published {
            shown: step.shown_on_panels(),
            step,
            after,
            encoded: Default::default(),
        }
    }

    /// This step in `format`, encoded by `encode` the first time it is asked for.
    pub fn encoded(&self, format: Encoding, encode: impl FnOnce(&Step) -> Bytes) -> Bytes {
        self.encoded[format as usize]
            .get_or_init(|| encode(&self.step))
            .clone()
    }
}

/// A step of a sequence that could not be carried out (device down,
/// unknown button, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceFailure {
    pub sequence: String,
    /// The button whose press, release or repeat ran the sequence.
    pub button: String,
    /// The step's position in the sequence, from 0.
    pub step: usize,
    /// The developer's account (log, status page), never shown to a room user.
    pub reason: String,
    /// The device that let the step down and how, when it was a device.
    pub device: Option<(String, Trouble)>,
}

/// A device said it cannot take commands now (`busy: true`), or its busy
/// time is over (`busy: false`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceBusy {
    pub device: String,
    pub busy: bool,
}

/// Everything that travels on the bus.
pub enum BusEvent {
    /// The engine applied a command.
    Step(Arc<Published>),
    /// A device (extension device or room-logic device) went online or
    /// offline; `status` is its state after the change.
    Device(DeviceStatus),
    /// A service changed state (started, failed, stopped).
    Service(ServiceStatus),
    /// A sequence step failed.
    SequenceFailed(SequenceFailure),
    /// A room device refused a command it cannot take now, or can again.
    DeviceBusy(DeviceBusy),
    /// A panel's meeting tile asked to end or extend the meeting on now
    /// (the calendar service does it, or says why not).
    Meeting(MeetingRequest),
    /// A message on a topic of the site's broker the project reads (an
    /// occupancy sensor), as the MQTT bridge received it.
    Reading(SensorReading),
}

/// A sensor's message from the site's broker (`[[occupancy.sources]]
/// mqtt_topic`), for the occupancy service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorReading {
    pub topic: String,
    /// The payload as text (invalid UTF-8 replaced), at most
    /// `controller_core::logic::occupancy::MAX_PAYLOAD` bytes.
    pub payload: String,
}

/// "End meeting" or "Extend" from a panel, confirmed there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingRequest {
    pub change: MeetingChange,
    /// Who asked, as a press's source names it (`panel:tablet@127.0.0.1`).
    pub by: String,
    /// The service it came through (`panel`), for the audit trail.
    pub service: &'static str,
    pub address: Option<std::net::IpAddr>,
}

impl BusEvent {
    /// The engine step this event carries, if it is one.
    pub fn step(&self) -> Option<&Published> {
        match self {
            BusEvent::Step(p) => Some(p),
            _ => None,
        }
    }
}

/// A subscription: every event published after it was taken.
pub type Subscription = broadcast::Receiver<Arc<BusEvent>>;

/// The bus. Cheap to clone; all clones publish to the same subscribers.
#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Arc<BusEvent>>,
}

impl Default for Bus {
    fn default() -> Bus {
        Bus {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl Bus {
    /// Publishes an event to every current subscriber (none is fine).
    pub fn publish(&self, event: BusEvent) -> Arc<BusEvent> {
        let event = Arc::new(event);
        let _ = self.tx.send(event.clone());
        event
    }

    /// Every event from now on. Engine-state subscribers take this together
    /// with a snapshot through `Controller::subscribe`, so nothing falls
    /// between the two.
    pub fn subscribe(&self) -> Subscription {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_sees_every_event_in_order() {
        let bus = Bus::default();
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        for i in 0..3 {
            bus.publish(BusEvent::SequenceFailed(SequenceFailure {
                sequence: "s".into(),
                button: "b".into(),
                step: i,
                reason: "r".into(),
                device: None,
            }));
        }
        for rx in [&mut a, &mut b] {
            for i in 0..3 {
                let BusEvent::SequenceFailed(f) = &*rx.recv().await.unwrap() else {
                    panic!("a sequence failure")
                };
                assert_eq!(f.step, i);
            }
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told() {
        let bus = Bus::default();
        let mut slow = bus.subscribe();
        for _ in 0..CAPACITY + 1 {
            bus.publish(BusEvent::SequenceFailed(SequenceFailure {
                sequence: "s".into(),
                button: "b".into(),
                step: 0,
                reason: "r".into(),
                device: None,
            }));
        }
        assert!(matches!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }
}
