//! The station's rooms: one entry per controller, whichever way it was
//! found (the static list, lookup answers, the broker). Rooms are one room
//! by serial: when a second entry's controller turns out to have a serial
//! another entry already has at the same address, it is the same
//! controller and the entry is retired; at another address, it is another
//! controller with the same serial (a cloned box) and both stay, with a
//! `duplicate_serial` alert. Every change to a room is announced (its
//! index) on a broadcast channel that the web stream listens to.
//!
//! A room's key (in its address on the web, in alerts and webhooks) comes
//! from its identity, not from the order rooms were found in, so it is the
//! same after a restart: a listed room's from its address as listed, a
//! room found by lookup or on the broker from its serial.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use controller_core::engine::Snapshot;
use controller_core::fleet::{CardFilter, RoomCard};
use controller_core::view::{DeviceStatus, RoomLayout};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::history::UsageRecord;
use super::usage::{self, Subject, UsageState};
use crate::config::StationSettings;
use crate::runtime::sync::lock;

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
    /// Logins refused in a row (an alert from the second on).
    pub login_refusals: u32,
    /// Wakes the room's watcher from its reconnect back-off: the room was
    /// heard from again (a lookup answer, its status on the broker).
    pub retry: Arc<tokio::sync::Notify>,
    /// Display and source as last recorded for the usage figures.
    pub usage: UsageState,
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
        // A room device's name on the status board is "Name (driver)".
        self.card.devices = self
            .devices
            .iter()
            .filter(|d| d.kind == controller_core::view::ROOM_DEVICE_KIND)
            .filter_map(|d| {
                let name = d.name.split(" (").next().unwrap_or_default();
                controller_core::fleet::device_line(&d.id, name, &self.snapshot.variables)
            })
            .take(MAX_LIT_ON_CARD)
            .collect();
    }

    /// Brings the room's usage state up to date after a change (`step`,
    /// if the change was one); the records that makes.
    pub fn update_usage(
        &mut self,
        settings: &StationSettings,
        step: Option<&controller_core::engine::Step>,
        at: u64,
    ) -> Vec<UsageRecord> {
        let after = usage::state(
            &settings.display_buttons,
            &settings.source_group,
            self.layout.as_deref(),
            &self.snapshot,
        );
        let who = Subject {
            room: &self.card.name,
            location: &self.card.location,
            at,
        };
        let mut out = step.map(|s| usage::presses(&who, s)).unwrap_or_default();
        if after != self.usage {
            out.extend(usage::changes(&who, &self.usage, &after));
            self.usage = after;
        }
        self.card.day =
            controller_core::fleet::RoomDay::of(&self.snapshot.variables, self.usage.in_use());
        out
    }

    /// The room went out of sight (its connection, or the broker, is
    /// gone): the display's state is not known any more. The records that
    /// makes.
    pub fn out_of_sight(&mut self, at: u64) -> Vec<UsageRecord> {
        let who = Subject {
            room: &self.card.name,
            location: &self.card.location,
            at,
        };
        let records = usage::changes(&who, &self.usage, &Default::default());
        self.usage = Default::default();
        self.card.day = Default::default();
        records
    }
}

pub struct Registry {
    rooms: Mutex<Vec<Room>>,
    /// A 5009 address (`host:port`) or a broker room (`mqtt:<serial>`).
    by_address: Mutex<HashMap<String, usize>>,
    /// Room keys (see [`key_for`]), taken under the `by_address` lock.
    by_key: Mutex<HashMap<String, usize>>,
    changes: broadcast::Sender<usize>,
    /// Rooms online and rooms added, kept as they change so that the
    /// grid's summary costs nothing to check.
    online: AtomicUsize,
    added: AtomicUsize,
}

/// The longest key made from an identity.
const MAX_KEY: usize = 64;

/// The key a room's identity (a serial, or an address as listed) gives:
/// its letters and digits in lower case, anything else as one `-`
/// (`RC-3F2A9C01B7D4` → `rc-3f2a9c01b7d4`, `10.0.0.5:5009` → `10-0-0-5-5009`),
/// so it needs no escaping in an address, a CSV or a webhook.
pub fn key_for(identity: &str) -> String {
    let mut key = String::new();
    for c in identity.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('-') {
            key.push('-');
        }
        if key.len() >= MAX_KEY {
            break;
        }
    }
    let key = key.trim_end_matches('-');
    if key.is_empty() {
        "room".into()
    } else {
        key.to_string()
    }
}

/// What the outcome of [`Registry::claim_serial`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// No other room has this serial: it is this room's.
    Mine,
    /// Another room is this same controller (same address): this entry
    /// is retired.
    Watched,
    /// Another room, at another address, answers with the same serial:
    /// two controllers, one serial (a cloned installation). Both stay.
    Clone { other: usize },
}

/// The host part of a room's address (`10.0.0.5:5009` → `10.0.0.5`).
fn host(address: &str) -> &str {
    address.rsplit_once(':').map_or(address, |(h, _)| h)
}

impl Registry {
    pub fn new() -> Arc<Registry> {
        Arc::new(Registry {
            rooms: Mutex::new(Vec::new()),
            by_address: Mutex::new(HashMap::new()),
            by_key: Mutex::new(HashMap::new()),
            changes: broadcast::channel(4096).0,
            online: AtomicUsize::new(0),
            added: AtomicUsize::new(0),
        })
    }

    /// Adds a room at `address` unless one is there already; returns its
    /// index and the receiving end of its command queue (for its watcher).
    /// `identity` (a serial, or the address as listed) makes its key.
    pub fn add(
        &self,
        address: SocketAddr,
        identity: &str,
        name: &str,
    ) -> Option<(usize, mpsc::Receiver<RoomCommand>)> {
        self.add_at(address.to_string(), identity, name)
    }

    /// [`Registry::add`] for a room that `address` names in words (a broker
    /// room: `mqtt:<serial>`).
    pub fn add_at(
        &self,
        address: String,
        identity: &str,
        name: &str,
    ) -> Option<(usize, mpsc::Receiver<RoomCommand>)> {
        let mut by_address = lock(&self.by_address);
        if by_address.contains_key(&address) {
            return None;
        }
        let mut by_key = lock(&self.by_key);
        let mut rooms = lock(&self.rooms);
        let index = rooms.len();
        // Two identities that read the same as a key (`a.b`, `a-b`): the
        // later one gets a suffix.
        let base = key_for(identity);
        let mut key = base.clone();
        let mut n = 2;
        while by_key.contains_key(&key) {
            key = format!("{base}-{n}");
            n += 1;
        }
        by_key.insert(key.clone(), index);
        let (tx, rx) = mpsc::channel(64);
        rooms.push(Room {
            card: RoomCard {
                key,
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
            login_refusals: 0,
            retry: Arc::new(tokio::sync::Notify::new()),
            usage: Default::default(),
            commands: tx,
        });
        by_address.insert(address, index);
        self.added.fetch_add(1, Ordering::Relaxed);
        drop(rooms);
        drop(by_key);
        let _ = self.changes.send(index);
        Some((index, rx))
    }

    /// The index of the room a key names.
    pub fn find(&self, key: &str) -> Option<usize> {
        lock(&self.by_key).get(key).copied()
    }

    /// The key of the room at `index`.
    pub fn key(&self, index: usize) -> Option<String> {
        lock(&self.rooms).get(index).map(|r| r.card.key.clone())
    }

    /// Is some room (other than `index`) the controller with `serial`?
    pub fn has_serial(&self, serial: &str, except: Option<usize>) -> bool {
        self.with_serial(serial, except).is_some()
    }

    /// The rooms (other than `except`) whose controller has `serial`, with
    /// their addresses.
    pub fn with_serial(&self, serial: &str, except: Option<usize>) -> Option<(usize, String)> {
        lock(&self.rooms)
            .iter()
            .enumerate()
            .find(|(i, r)| Some(*i) != except && !r.retired && r.card.serial == serial)
            .map(|(i, r)| (i, r.card.address.clone()))
    }

    /// Records the serial the controller at `index` announced: see
    /// [`Claim`]. A room found again at the same address is retired.
    pub fn claim_serial(&self, index: usize, serial: &str) -> Claim {
        let other = if serial.is_empty() {
            None
        } else {
            self.with_serial(serial, Some(index))
        };
        let address = self.read(index, |r| r.card.address.clone());
        let claim = match (other, address) {
            (None, _) => Claim::Mine,
            // A broker room and a 5009 room with one serial: one
            // controller seen two ways (the broker says nothing of where).
            (Some((other, there)), Some(here))
                if host(&there) != host(&here)
                    && !there.starts_with("mqtt:")
                    && !here.starts_with("mqtt:") =>
            {
                Claim::Clone { other }
            }
            (Some(_), _) => Claim::Watched,
        };
        if claim == Claim::Watched {
            self.added.fetch_sub(1, Ordering::Relaxed);
        }
        self.update(index, |room| {
            if claim == Claim::Watched {
                room.retired = true;
            } else {
                room.card.serial = serial.to_string();
            }
        });
        claim
    }

    /// Wakes the watcher of every offline room whose controller has
    /// `serial` or is at `address` (`host:port`) from its back-off: it was
    /// heard from again, so it is tried at once.
    pub fn heard_from(&self, serial: &str, address: Option<&str>) {
        for r in lock(&self.rooms).iter() {
            let it = (!serial.is_empty() && r.card.serial == serial)
                || address.is_some_and(|a| r.card.address == a);
            if it && !r.retired && !r.card.online {
                r.retry.notify_one();
            }
        }
    }

    /// Changes a room and announces it.
    pub fn update<T>(&self, index: usize, change: impl FnOnce(&mut Room) -> T) -> Option<T> {
        let out = {
            let mut rooms = lock(&self.rooms);
            let room = rooms.get_mut(index)?;
            let was = room.card.online;
            let out = change(room);
            match (was, room.card.online) {
                (false, true) => self.online.fetch_add(1, Ordering::Relaxed),
                (true, false) => self.online.fetch_sub(1, Ordering::Relaxed),
                _ => 0,
            };
            room.refresh();
            out
        };
        let _ = self.changes.send(index);
        Some(out)
    }

    /// Notes that a room was heard from at `now` (Unix seconds); announced
    /// only when the second changes, so a busy room costs no extra updates.
    pub fn touch(&self, index: usize, now: u64) {
        let changed = {
            let mut rooms = lock(&self.rooms);
            match rooms.get_mut(index) {
                Some(room) if room.card.last_seen != now => {
                    room.card.last_seen = now;
                    true
                }
                _ => false,
            }
        };
        if changed {
            let _ = self.changes.send(index);
        }
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

    /// (rooms online, rooms added), for the grid's summary line: two
    /// counters, no lock.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.online.load(Ordering::Relaxed),
            self.added.load(Ordering::Relaxed),
        )
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
