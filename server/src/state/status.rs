//! The status board: what the status page, the console and `roomctl serve`
//! show besides the engine's state — services, connected panels, devices,
//! timers and devices found on the LAN — in one model behind one lock.
//!
//! Changes that other front ends care about (a service changing state, a
//! device going online or offline) are published on the [`Bus`] by the same
//! call that records them, so the board and the bus never disagree. The
//! rest of what the status page shows (panels connecting and leaving,
//! devices forgotten, timers, devices found) bumps [`StatusBoard::changes`];
//! keep-alives and details that are not news do neither.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use controller_core::driver::discovery::FoundDevice;
use controller_core::view::{DeviceStatus, PanelSession, ServiceState, ServiceStatus, TimerStatus};

use tokio::sync::watch;

use super::bus::{Bus, BusEvent};
use crate::runtime::sync::lock;

/// A service as registered by the supervisor.
#[derive(Clone)]
struct ServiceEntry {
    status: ServiceStatus,
    /// The address it bound, for services with a port.
    addr: Option<SocketAddr>,
}

#[derive(Default)]
struct Board {
    /// In start order.
    services: Vec<ServiceEntry>,
    panels: BTreeMap<u64, PanelSession>,
    devices: BTreeMap<String, DeviceStatus>,
    timers: Vec<TimerStatus>,
    found: Vec<FoundDevice>,
}

/// Everything shown about the running controller besides the engine state.
pub struct StatusBoard {
    board: Mutex<Board>,
    bus: Bus,
    /// Bumped when the board changes in a way not published on the bus.
    changed: watch::Sender<u64>,
}

/// One consistent reading of the board.
pub struct BoardView {
    pub services: Vec<ServiceStatus>,
    pub panels: Vec<PanelSession>,
    pub devices: Vec<DeviceStatus>,
    pub timers: Vec<TimerStatus>,
    pub found: Vec<FoundDevice>,
}

impl StatusBoard {
    pub fn new(bus: Bus) -> StatusBoard {
        StatusBoard {
            board: Mutex::new(Board::default()),
            bus,
            changed: watch::Sender::new(0),
        }
    }

    /// Wakes when a panel connects or leaves, a device is forgotten, the
    /// timers or the devices found change: what the status page shows that
    /// does not travel on the bus (the status page's channel waits on both).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Everything at once, under one lock.
    pub fn view(&self) -> BoardView {
        let b = lock(&self.board);
        BoardView {
            services: b.services.iter().map(|e| e.status.clone()).collect(),
            panels: b.panels.values().cloned().collect(),
            devices: b.devices.values().cloned().collect(),
            timers: b.timers.clone(),
            found: b.found.clone(),
        }
    }

    // ---- services (written by the supervisor only) ----

    /// Records a service (replacing an earlier entry of the same name) and
    /// publishes its state.
    pub fn set_service(&self, status: ServiceStatus, addr: Option<SocketAddr>) {
        {
            let mut b = lock(&self.board);
            let entry = ServiceEntry {
                status: status.clone(),
                addr,
            };
            match b.services.iter_mut().find(|e| e.status.name == status.name) {
                Some(e) => *e = entry,
                None => b.services.push(entry),
            }
        }
        self.bus.publish(BusEvent::Service(status));
    }

    /// Changes a registered service's state and publishes it.
    pub fn set_service_state(&self, name: &str, state: ServiceState) {
        let changed = {
            let mut b = lock(&self.board);
            b.services
                .iter_mut()
                .find(|e| e.status.name == name)
                .filter(|e| e.status.state != state)
                .map(|e| {
                    e.status.state = state;
                    e.status.clone()
                })
        };
        if let Some(status) = changed {
            self.bus.publish(BusEvent::Service(status));
        }
    }

    pub fn services(&self) -> Vec<ServiceStatus> {
        lock(&self.board)
            .services
            .iter()
            .map(|e| e.status.clone())
            .collect()
    }

    pub fn service(&self, name: &str) -> Option<ServiceStatus> {
        lock(&self.board)
            .services
            .iter()
            .find(|e| e.status.name == name)
            .map(|e| e.status.clone())
    }

    /// The address a running service bound.
    pub fn service_addr(&self, name: &str) -> Option<SocketAddr> {
        lock(&self.board)
            .services
            .iter()
            .find(|e| e.status.name == name)
            .and_then(|e| e.addr)
    }

    // ---- connected panels ----

    pub fn panel_connected(&self, session: PanelSession) {
        lock(&self.board).panels.insert(session.id, session);
        self.bump();
    }

    pub fn panel_update(&self, id: u64, f: impl FnOnce(&mut PanelSession)) {
        if let Some(s) = lock(&self.board).panels.get_mut(&id) {
            f(s);
        }
    }

    pub fn panel_disconnected(&self, id: u64) {
        if lock(&self.board).panels.remove(&id).is_some() {
            self.bump();
        }
    }

    /// The connected panels; the names and user agents they sent are
    /// escaped ([`controller_core::printable`]) for the status page and
    /// the console.
    pub fn panels(&self) -> Vec<PanelSession> {
        use controller_core::printable::printable;
        lock(&self.board)
            .panels
            .values()
            .map(|p| PanelSession {
                panel: printable(&p.panel).into_owned(),
                user_agent: printable(&p.user_agent).into_owned(),
                ..p.clone()
            })
            .collect()
    }

    // ---- devices (extension devices and room-logic devices) ----

    /// Records a device's state; publishes it on the bus when the device is
    /// new or went online or offline (detail changes are not news).
    pub fn set_device(&self, status: DeviceStatus) {
        let news = {
            let mut b = lock(&self.board);
            let news = b
                .devices
                .get(&status.id)
                .is_none_or(|old| old.online != status.online);
            b.devices.insert(status.id.clone(), status.clone());
            news
        };
        if news {
            self.bus.publish(BusEvent::Device(status));
        }
    }

    /// Forgets a device (its project was replaced, or the registry evicted it).
    pub fn remove_device(&self, id: &str) {
        if lock(&self.board).devices.remove(id).is_some() {
            self.bump();
        }
    }

    pub fn devices(&self) -> Vec<DeviceStatus> {
        lock(&self.board).devices.values().cloned().collect()
    }

    // ---- timers of the room logic ----

    pub fn set_timers(&self, timers: Vec<TimerStatus>) {
        let changed = {
            let mut b = lock(&self.board);
            let changed = b.timers != timers;
            b.timers = timers;
            changed
        };
        if changed {
            self.bump();
        }
    }

    pub fn timers(&self) -> Vec<TimerStatus> {
        lock(&self.board).timers.clone()
    }

    // ---- devices found on the LAN (the device search) ----

    /// Records a device that answered a search; one already listed is
    /// updated (its suggestions may have changed), not repeated. At most
    /// `max` are kept: a LAN full of answers cannot grow the list without
    /// bound. Returns whether the device is new to the list.
    pub fn found_device(&self, device: FoundDevice, max: usize) -> bool {
        let (changed, new) = {
            let mut b = lock(&self.board);
            if let Some(known) = b.found.iter_mut().find(|f| f.same_device(&device)) {
                let changed = *known != device;
                *known = device;
                (changed, false)
            } else if b.found.len() >= max {
                (false, false)
            } else {
                b.found.push(device);
                b.found.sort_by(|a, c| {
                    (&a.address, a.found_by, &a.identity).cmp(&(
                        &c.address,
                        c.found_by,
                        &c.identity,
                    ))
                });
                (true, true)
            }
        };
        if changed {
            self.bump();
        }
        new
    }

    pub fn found_devices(&self) -> Vec<FoundDevice> {
        lock(&self.board).found.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(online: bool, detail: &str) -> DeviceStatus {
        DeviceStatus {
            id: "projector".into(),
            kind: "pjlink".into(),
            address: "127.0.0.1:4352".into(),
            online,
            detail: detail.into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn devices_going_up_or_down_are_published_detail_changes_are_not() {
        let bus = Bus::default();
        let board = StatusBoard::new(bus.clone());
        let mut rx = bus.subscribe();
        board.set_device(device(false, "connecting"));
        board.set_device(device(false, "retrying"));
        board.set_device(device(true, "connected"));
        board.set_device(device(true, "polled"));
        let mut seen = Vec::new();
        while let Ok(e) = rx.try_recv() {
            if let BusEvent::Device(d) = &*e {
                seen.push((d.online, d.detail.clone()));
            }
        }
        assert_eq!(
            seen,
            vec![(false, "connecting".into()), (true, "connected".into())]
        );
        assert_eq!(board.devices()[0].detail, "polled");
    }

    #[tokio::test]
    async fn service_state_changes_are_published_once() {
        let bus = Bus::default();
        let board = StatusBoard::new(bus.clone());
        let mut rx = bus.subscribe();
        let status = ServiceStatus {
            name: "toy".into(),
            purpose: "p".into(),
            endpoint: "-".into(),
            state: ServiceState::Running,
            setting: "toy".into(),
        };
        board.set_service(status, None);
        board.set_service_state("toy", ServiceState::Stopped);
        board.set_service_state("toy", ServiceState::Stopped);
        let mut states = Vec::new();
        while let Ok(e) = rx.try_recv() {
            if let BusEvent::Service(s) = &*e {
                states.push(s.state.clone());
            }
        }
        assert_eq!(states, vec![ServiceState::Running, ServiceState::Stopped]);
    }
}
