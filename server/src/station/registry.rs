//! The station's rooms: one entry per controller, whichever way it was
//! found (the static list, lookup answers). Rooms are one room by serial:
//! when a second entry's controller turns out to have a serial another
//! entry already has, it is retired. Every change to a room is announced
//! (its index) on a broadcast channel that the web stream listens to.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use controller_core::engine::Snapshot;
use controller_core::fleet::{CardFilter, RoomCard};
use controller_core::view::{DeviceStatus, RoomLayout};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::sync::lock;

/// How many lit buttons a card lists.
const MAX_LIT_ON_CARD: usize = 8;

/// What the web asks a room's watcher to do.
pub enum RoomCommand {
    Press {
        button: String,
        release: bool,
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// One room as the station knows it.
pub struct Room {
    pub card: RoomCard,
    pub layout: Option<Arc<RoomLayout>>,
    pub snapshot: Snapshot,
    pub devices: Vec<DeviceStatus>,
    /// Since when the room has been unreachable (from the station's start
    /// for a room never reached).
    pub offline_since: Option<Instant>,
    /// The project last seen, to notice a change.
    pub known_project: Option<(String, u32)>,
    /// Found twice: another entry holds the same controller.
    pub retired: bool,
    commands: mpsc::Sender<RoomCommand>,
}

impl Room {
    /// Recomputes the card's derived fields (lit buttons, faults).
    fn refresh(&mut self) {
        let lit = match &self.layout {
            Some(layout) => layout
                .buttons
                .iter()
                .filter(|b| self.snapshot.led(&b.id).is_some_and(|l| l.mode.is_lit()))
                .take(MAX_LIT_ON_CARD)
                .map(|b| b.label.clone())
                .collect(),
            None => Vec::new(),
        };
        self.card.lit = lit;
        self.card.faults = self
            .devices
            .iter()
            .filter(|d| !d.online)
            .map(|d| d.id.clone())
            .collect();
    }
}

pub struct Registry {
    rooms: Mutex<Vec<Room>>,
    /// A 5009 address (`host:port`) or a broker room (`mqtt:<serial>`).
    by_address: Mutex<HashMap<String, usize>>,
    changes: broadcast::Sender<usize>,
}

/// The key of the room at `index` (in addresses and on cards).
pub fn key(index: usize) -> String {
    format!("r{index}")
}

/// The index a key names.
pub fn index(key: &str) -> Option<usize> {
    key.strip_prefix('r')?.parse().ok()
}

impl Registry {
    pub fn new() -> Arc<Registry> {
        Arc::new(Registry {
            rooms: Mutex::new(Vec::new()),
            by_address: Mutex::new(HashMap::new()),
            changes: broadcast::channel(4096).0,
        })
    }

    /// Adds a room at `address` unless one is there already; returns its
    /// index and the receiving end of its command queue (for its watcher).
    pub fn add(
        &self,
        address: SocketAddr,
        name: &str,
    ) -> Option<(usize, mpsc::Receiver<RoomCommand>)> {
        self.add_at(address.to_string(), name)
    }

    /// [`Registry::add`] for a room that `address` names in words (a broker
    /// room: `mqtt:<serial>`).
    pub fn add_at(
        &self,
        address: String,
        name: &str,
    ) -> Option<(usize, mpsc::Receiver<RoomCommand>)> {
        let mut by_address = lock(&self.by_address);
        if by_address.contains_key(&address) {
            return None;
        }
        let mut rooms = lock(&self.rooms);
        let index = rooms.len();
        let (tx, rx) = mpsc::channel(64);
        rooms.push(Room {
            card: RoomCard {
                key: key(index),
                name: if name.is_empty() {
                    address.clone()
                } else {
                    name.to_string()
                },
                address: address.clone(),
                ..RoomCard::default()
            },
            layout: None,
            snapshot: Snapshot::default(),
            devices: Vec::new(),
            offline_since: Some(Instant::now()),
            known_project: None,
            retired: false,
            commands: tx,
        });
        by_address.insert(address, index);
        drop(rooms);
        let _ = self.changes.send(index);
        Some((index, rx))
    }

    /// Is some room (other than `index`) the controller with `serial`?
    pub fn has_serial(&self, serial: &str, except: Option<usize>) -> bool {
        lock(&self.rooms)
            .iter()
            .enumerate()
            .any(|(i, r)| Some(i) != except && !r.retired && r.card.serial == serial)
    }

    /// Records the serial the controller at `index` announced. `false`
    /// (and the room is retired) when another room is that controller.
    pub fn claim_serial(&self, index: usize, serial: &str) -> bool {
        let duplicate = !serial.is_empty() && self.has_serial(serial, Some(index));
        self.update(index, |room| {
            if duplicate {
                room.retired = true;
            } else {
                room.card.serial = serial.to_string();
            }
        });
        !duplicate
    }

    /// Changes a room and announces it.
    pub fn update<T>(&self, index: usize, change: impl FnOnce(&mut Room) -> T) -> Option<T> {
        let out = {
            let mut rooms = lock(&self.rooms);
            let room = rooms.get_mut(index)?;
            let out = change(room);
            room.refresh();
            out
        };
        let _ = self.changes.send(index);
        Some(out)
    }

    /// Reads a room.
    pub fn read<T>(&self, index: usize, f: impl FnOnce(&Room) -> T) -> Option<T> {
        lock(&self.rooms).get(index).filter(|r| !r.retired).map(f)
    }

    pub fn card(&self, index: usize) -> Option<RoomCard> {
        self.read(index, |r| r.card.clone())
    }

    /// The cards a filter accepts, in the order rooms were added.
    pub fn cards(&self, filter: &CardFilter) -> Vec<RoomCard> {
        lock(&self.rooms)
            .iter()
            .filter(|r| !r.retired && filter.accepts(&r.card))
            .map(|r| r.card.clone())
            .collect()
    }

    /// Every room's index, with how long it has been offline.
    pub fn offline_for(&self) -> Vec<(usize, Option<std::time::Duration>)> {
        lock(&self.rooms)
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.retired)
            .map(|(i, r)| (i, r.offline_since.map(|t| t.elapsed())))
            .collect()
    }

    /// The distinct locations, for the filter's choices.
    pub fn locations(&self) -> Vec<String> {
        let mut all: Vec<String> = lock(&self.rooms)
            .iter()
            .filter(|r| !r.retired && !r.card.location.is_empty())
            .map(|r| r.card.location.clone())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Sends a command to a room's watcher; an error when the room is
    /// unknown or its queue is full.
    pub fn command(&self, index: usize, command: RoomCommand) -> Result<(), String> {
        let tx = self
            .read(index, |r| r.commands.clone())
            .ok_or("no such room")?;
        tx.try_send(command)
            .map_err(|_| "the room is busy; try again".to_string())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<usize> {
        self.changes.subscribe()
    }
}
