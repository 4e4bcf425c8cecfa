//! What a datagram from an extension device does: who may send, which
//! device it is, and its announce, goodbye or key.

use std::net::SocketAddr;

use controller_core::protocol::extension::{ExtensionMessage, KeyAction};
use tokio::time::Instant;

use super::registry::Heard;
use super::{is_stale, Extension};
use crate::state::held::HeldButtons;

/// A key message from a device.
struct KeyMessage {
    seq: u32,
    action: KeyAction,
    button: String,
}

impl Extension {
    pub(super) async fn on_datagram(&mut self, datagram: &[u8], from: SocketAddr) {
        let Some(message) = self.accepted(datagram, from) else {
            return;
        };
        let Some(id) = message.device().map(str::to_string) else {
            return;
        };
        if matches!(message, ExtensionMessage::Goodbye { .. }) && self.registry.get(&id).is_none() {
            return; // never seen: nothing to take offline
        }
        let heard = self.registry.heard(&id, from, Instant::now());
        for gone in self.registry.take_evicted() {
            self.held.remove(&gone);
            self.controller.status().remove_device(&gone);
        }
        if heard == Heard::RegistryFull {
            self.dropped += 1;
            return;
        }
        let came_online = heard == Heard::CameOnline;
        match message {
            ExtensionMessage::Announce {
                kind,
                firmware,
                keys,
                ..
            } => {
                self.on_announce(&id, came_online, kind, firmware, keys)
                    .await
            }
            ExtensionMessage::Goodbye { .. } => {
                if came_online {
                    self.came_online(&id);
                }
                if self.registry.gone(&id) {
                    self.went_offline(&id, "said goodbye");
                }
            }
            ExtensionMessage::Key {
                seq,
                action,
                button,
                ..
            } => {
                if came_online {
                    self.came_online(&id);
                }
                let key = KeyMessage {
                    seq,
                    action,
                    button,
                };
                self.on_key(&id, from, key);
            }
            ExtensionMessage::ControllerHello { .. } | ExtensionMessage::Leds { .. } => {}
        }
    }

    /// The datagram's message, if its sender is allowed, it decodes, and it
    /// comes from a device (counted as dropped when it does not).
    fn accepted(&mut self, datagram: &[u8], from: SocketAddr) -> Option<ExtensionMessage> {
        if !self.allow.allows(from.ip()) {
            self.dropped += 1;
            return None;
        }
        match ExtensionMessage::decode(datagram) {
            Ok(m) if !m.from_controller() => Some(m),
            // Controllers' own messages (ours, looped back, or another's).
            Ok(_) => None,
            Err(_) => {
                self.dropped += 1;
                None
            }
        }
    }

    /// A device says what it is: its record is updated and reported if it
    /// changed, and it is sent the LEDs of its keys.
    async fn on_announce(
        &mut self,
        id: &str,
        came_online: bool,
        kind: String,
        firmware: String,
        keys: Vec<String>,
    ) {
        let changed = self.registry.get_mut(id).is_some_and(|d| {
            let keys = keys.into_iter().collect();
            let changed = d.kind != kind || d.firmware != firmware || d.keys != keys;
            d.kind = kind;
            d.firmware = firmware;
            d.keys = keys;
            changed
        });
        if came_online {
            self.came_online(id);
        } else if changed {
            self.report(id);
        }
        self.send_all_leds(id).await;
    }

    /// A key went down or up: pressed or released for the device, unless it
    /// is stale or a key the device never announced.
    fn on_key(&mut self, id: &str, from: SocketAddr, key: KeyMessage) {
        let Some(device) = self.registry.get_mut(id) else {
            return;
        };
        if device
            .last_key_seq
            .is_some_and(|last| is_stale(key.seq, last))
        {
            return; // a retransmission, or one that arrived late
        }
        let button = key.button;
        if !device.keys.contains(&button) {
            // Only keys the device announced operate buttons: a
            // device cannot reach a button it did not declare.
            tracing::debug!("extension: {id} sent key {button:?}, which it never announced");
            return;
        }
        device.last_key_seq = Some(key.seq);
        let source = format!("keypad:{id}@{}", from.ip());
        let held = self
            .held
            .entry(id.to_string())
            .or_insert_with(|| HeldButtons::new(self.controller.clone(), source.clone()));
        held.set_source(source);
        let result = match key.action {
            KeyAction::Press => held.press(&button),
            KeyAction::Release => held.release(&button),
        };
        if let Err(e) = result {
            tracing::debug!("extension: key from {id}: {e}");
        }
    }
}
