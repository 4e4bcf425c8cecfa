//! Alerts: raised when something is wrong in a room, acknowledged by an
//! operator (who and when is kept), cleared when it is right again. One
//! open alert per room, kind and subject (a device id, or none), so a
//! flapping condition does not pile up duplicates. Each change goes to the
//! history and to the webhooks; each room's card counts its open alerts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use controller_core::fleet::AlertRecord;
use tokio_util::sync::CancellationToken;

use super::history::History;
use super::registry::Registry;
use super::unix_now;
use super::webhook::{notify, Notice};
use crate::config::Webhook;
use crate::runtime::sync::lock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// The controller has been unreachable for `offline_after_secs`.
    Offline,
    /// The controller reports one of its devices offline.
    DeviceOffline,
    /// A different project (name or revision) runs than before.
    ProjectChanged,
    /// The station's account was refused.
    LoginFailed,
    /// The controller sent what the protocol does not allow (too long,
    /// not JSON): the station dropped the connection.
    ProtocolError,
    /// Another controller, at another address, answers with this room's
    /// serial (a cloned installation).
    DuplicateSerial,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Offline => "offline",
            AlertKind::DeviceOffline => "device_offline",
            AlertKind::ProjectChanged => "project_changed",
            AlertKind::LoginFailed => "login_failed",
            AlertKind::ProtocolError => "protocol_error",
            AlertKind::DuplicateSerial => "duplicate_serial",
        }
    }

    /// Kinds that nothing clears on its own: an acknowledgement does.
    fn cleared_by_ack(kind: &str) -> bool {
        [AlertKind::ProjectChanged, AlertKind::DuplicateSerial]
            .iter()
            .any(|k| k.as_str() == kind)
    }
}

type Open = HashMap<(usize, AlertKind, String), i64>;

pub struct Alerts {
    history: Mutex<History>,
    open: Mutex<Open>,
    registry: Arc<Registry>,
    webhooks: Vec<Webhook>,
}

impl Alerts {
    pub fn new(history: History, registry: Arc<Registry>, webhooks: Vec<Webhook>) -> Alerts {
        Alerts {
            history: Mutex::new(history),
            open: Mutex::new(HashMap::new()),
            registry,
            webhooks,
        }
    }

    /// Raises an alert unless the same one is open.
    pub fn raise(&self, room: usize, kind: AlertKind, subject: &str, detail: String) {
        let mut open = lock(&self.open);
        let id_key = (room, kind, subject.to_string());
        if open.contains_key(&id_key) {
            return;
        }
        let name = self.registry.card(room).map(|c| c.name).unwrap_or_default();
        let mut record = AlertRecord {
            id: 0,
            room_key: self.registry.key(room).unwrap_or_default(),
            room: name,
            kind: kind.as_str().into(),
            detail,
            raised_at: unix_now(),
            acked_by: String::new(),
            acked_at: 0,
            cleared_at: 0,
        };
        match lock(&self.history).insert(&record) {
            Ok(id) => record.id = id,
            Err(e) => tracing::error!("station: cannot record an alert: {e:#}"),
        }
        tracing::warn!(
            "station: alert {} in {}: {}",
            record.kind,
            record.room,
            record.detail
        );
        open.insert(id_key, record.id);
        self.count(&open, room);
        drop(open);
        notify(
            &self.webhooks,
            &Notice {
                event: "raised",
                alert: &record,
            },
        );
    }

    /// Clears the open alert of this kind and subject, if any.
    pub fn clear(&self, room: usize, kind: AlertKind, subject: &str) {
        let mut open = lock(&self.open);
        let Some(id) = open.remove(&(room, kind, subject.to_string())) else {
            return;
        };
        self.count(&open, room);
        drop(open);
        self.close(id);
    }

    /// Clears every open alert of this kind in a room (whatever subject).
    pub fn clear_kind(&self, room: usize, kind: AlertKind) {
        let mut open = lock(&self.open);
        let ids: Vec<i64> = open
            .iter()
            .filter(|((r, k, _), _)| *r == room && *k == kind)
            .map(|(_, id)| *id)
            .collect();
        open.retain(|(r, k, _), _| !(*r == room && *k == kind));
        self.count(&open, room);
        drop(open);
        for id in ids {
            self.close(id);
        }
    }

    /// Records who acknowledged an alert; `false` when there is no such
    /// alert. A kind nothing else clears is cleared by it.
    pub fn acknowledge(&self, id: i64, by: &str) -> bool {
        let now = unix_now();
        let history = lock(&self.history);
        let Ok(Some(mut record)) = history.get(id) else {
            return false;
        };
        if let Err(e) = history.acknowledge(id, by, now) {
            tracing::error!("station: cannot record an acknowledgement: {e:#}");
        }
        drop(history);
        record.acked_by = by.to_string();
        record.acked_at = now;
        notify(
            &self.webhooks,
            &Notice {
                event: "acknowledged",
                alert: &record,
            },
        );
        if AlertKind::cleared_by_ack(&record.kind) {
            let mut open = lock(&self.open);
            let found = open.iter().find(|(_, v)| **v == id).map(|(k, _)| k.clone());
            if let Some(k) = found {
                open.remove(&k);
                self.count(&open, k.0);
                drop(open);
                self.close(id);
            }
        }
        true
    }

    /// The history itself (usage records share its database).
    pub fn history(&self) -> std::sync::MutexGuard<'_, History> {
        lock(&self.history)
    }

    pub fn list(&self, open_only: bool, limit: usize) -> Vec<AlertRecord> {
        lock(&self.history)
            .list(open_only, limit)
            .unwrap_or_else(|e| {
                tracing::error!("station: cannot read the alert history: {e:#}");
                Vec::new()
            })
    }

    /// Deletes history older than `days` (alerts: after clearing).
    pub fn purge(&self, days: u32) {
        let before = unix_now().saturating_sub(u64::from(days) * 86_400);
        if let Err(e) = lock(&self.history).purge(before) {
            tracing::error!("station: cannot purge the alert history: {e:#}");
        }
    }

    fn close(&self, id: i64) {
        let history = lock(&self.history);
        if let Err(e) = history.clear(id, unix_now()) {
            tracing::error!("station: cannot record a cleared alert: {e:#}");
        }
        if let Ok(Some(record)) = history.get(id) {
            drop(history);
            notify(
                &self.webhooks,
                &Notice {
                    event: "cleared",
                    alert: &record,
                },
            );
        }
    }

    fn count(&self, open: &Open, room: usize) {
        let n = open.keys().filter(|(r, _, _)| *r == room).count() as u32;
        self.registry.update(room, |r| r.card.alerts = n);
    }
}

/// Raises `offline` for rooms unreachable longer than `after`, once a
/// second, and purges old history once an hour, until shutdown.
pub async fn watch_offline(
    alerts: Arc<Alerts>,
    after: Duration,
    retention_days: u32,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut last_purge = tokio::time::Instant::now();
    alerts.purge(retention_days);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        for (room, offline) in alerts.registry.offline_for() {
            if let Some(d) = offline.filter(|d| *d >= after) {
                alerts.raise(
                    room,
                    AlertKind::Offline,
                    "",
                    format!(
                        "unreachable for more than {} s",
                        d.as_secs().max(after.as_secs())
                    ),
                );
            }
        }
        if last_purge.elapsed() >= Duration::from_secs(3600) {
            last_purge = tokio::time::Instant::now();
            alerts.purge(retention_days);
        }
    }
}
