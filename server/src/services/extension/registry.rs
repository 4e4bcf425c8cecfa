//! The extension-device registry: which devices exist, which are online,
//! and a timer per device. Pure logic over `tokio::time::Instant` (no
//! sockets), so the 10-second offline rule is tested with paused time.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use tokio::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub kind: String,
    pub firmware: String,
    /// The engine buttons this device's keys operate.
    pub keys: BTreeSet<String>,
    pub address: SocketAddr,
    pub online: bool,
    pub last_heard: Instant,
    /// The last key `seq` seen, to drop retransmissions.
    pub last_key_seq: Option<u32>,
}

/// What hearing from a device changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// First message, or first since it went offline.
    CameOnline,
    /// Already online: its timer was reset.
    StillOnline,
    /// A new device while the registry is full: ignored.
    RegistryFull,
}

pub struct ExtensionRegistry {
    devices: BTreeMap<String, Device>,
    offline_after: Duration,
    max_devices: usize,
    /// Devices forgotten to make room, not yet reported.
    evicted: Vec<String>,
}

impl ExtensionRegistry {
    pub fn new(offline_after: Duration, max_devices: usize) -> ExtensionRegistry {
        ExtensionRegistry {
            devices: BTreeMap::new(),
            offline_after,
            max_devices,
            evicted: Vec::new(),
        }
    }

    /// Any message from `id` at `now`: it is online and its timer restarts.
    pub fn heard(&mut self, id: &str, address: SocketAddr, now: Instant) -> Heard {
        if let Some(d) = self.devices.get_mut(id) {
            d.last_heard = now;
            d.address = address;
            if d.online {
                return Heard::StillOnline;
            }
            d.online = true;
            return Heard::CameOnline;
        }
        if self.devices.len() >= self.max_devices {
            // Make room by forgetting a device that is offline, if any.
            let Some(gone) = self
                .devices
                .values()
                .find(|d| !d.online)
                .map(|d| d.id.clone())
            else {
                return Heard::RegistryFull;
            };
            self.devices.remove(&gone);
            self.evicted.push(gone);
        }
        self.devices.insert(
            id.to_string(),
            Device {
                id: id.to_string(),
                kind: String::new(),
                firmware: String::new(),
                keys: BTreeSet::new(),
                address,
                online: true,
                last_heard: now,
                last_key_seq: None,
            },
        );
        Heard::CameOnline
    }

    /// The devices forgotten (offline ones, to make room) since the last call.
    pub fn take_evicted(&mut self) -> Vec<String> {
        std::mem::take(&mut self.evicted)
    }

    pub fn get(&self, id: &str) -> Option<&Device> {
        self.devices.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Device> {
        self.devices.get_mut(id)
    }

    pub fn online(&self) -> impl Iterator<Item = &Device> {
        self.devices.values().filter(|d| d.online)
    }

    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// Marks `id` offline now (it said goodbye). True if it was online.
    pub fn gone(&mut self, id: &str) -> bool {
        match self.devices.get_mut(id) {
            Some(d) if d.online => {
                d.online = false;
                true
            }
            _ => false,
        }
    }

    /// The earliest moment an online device will have been silent too long.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.online()
            .map(|d| d.last_heard + self.offline_after)
            .min()
    }

    /// Marks offline every device silent for the offline time at `now`;
    /// returns their ids.
    pub fn expire(&mut self, now: Instant) -> Vec<String> {
        let mut expired = Vec::new();
        for d in self.devices.values_mut() {
            if d.online && now >= d.last_heard + self.offline_after {
                d.online = false;
                expired.push(d.id.clone());
            }
        }
        expired
    }
}

/// Sleeps until the next device falls silent, marks it (and any other due)
/// offline and returns their ids. Pending forever while no device is online.
pub async fn next_expiry(registry: &mut ExtensionRegistry) -> Vec<String> {
    match registry.next_deadline() {
        Some(deadline) => {
            tokio::time::sleep_until(deadline).await;
            registry.expire(Instant::now())
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:7979".parse().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn silent_for_ten_seconds_is_offline_and_traffic_resets_the_timer() {
        let mut r = ExtensionRegistry::new(Duration::from_secs(10), 8);
        assert_eq!(r.heard("kp1", addr(), Instant::now()), Heard::CameOnline);
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(r.heard("kp1", addr(), Instant::now()), Heard::StillOnline);
        // 9 s after the reset it is still online...
        let start = Instant::now();
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(r.expire(Instant::now()).is_empty());
        // ...and the timer fires exactly 10 s after the last message.
        let expired = next_expiry(&mut r).await;
        assert_eq!(expired, vec!["kp1".to_string()]);
        assert_eq!(Instant::now() - start, Duration::from_secs(10));
        assert!(!r.get("kp1").unwrap().online);
        assert_eq!(r.next_deadline(), None);
        // Any later message brings it back.
        assert_eq!(r.heard("kp1", addr(), Instant::now()), Heard::CameOnline);
    }

    #[tokio::test(start_paused = true)]
    async fn each_device_has_its_own_timer() {
        let mut r = ExtensionRegistry::new(Duration::from_secs(10), 8);
        let t0 = Instant::now();
        r.heard("a", addr(), t0);
        tokio::time::advance(Duration::from_secs(4)).await;
        r.heard("b", addr(), Instant::now());
        assert_eq!(next_expiry(&mut r).await, vec!["a".to_string()]);
        assert_eq!(Instant::now() - t0, Duration::from_secs(10));
        assert_eq!(next_expiry(&mut r).await, vec!["b".to_string()]);
        assert_eq!(Instant::now() - t0, Duration::from_secs(14));
    }

    #[tokio::test(start_paused = true)]
    async fn goodbye_is_offline_at_once_and_the_registry_is_bounded() {
        let mut r = ExtensionRegistry::new(Duration::from_secs(10), 2);
        let now = Instant::now();
        r.heard("a", addr(), now);
        r.heard("b", addr(), now);
        assert_eq!(r.heard("c", addr(), now), Heard::RegistryFull);
        assert!(r.gone("a"));
        assert!(!r.gone("a"));
        // An offline device makes room for a new one.
        assert_eq!(r.heard("c", addr(), now), Heard::CameOnline);
        assert_eq!(r.len(), 2);
        assert!(r.get("a").is_none());
        assert_eq!(r.take_evicted(), vec!["a".to_string()]);
    }
}
