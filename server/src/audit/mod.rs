//! The audit trail: every login (ok or failed, which service, from which
//! address, which user), upload, apply, rollback, user change, settings
//! change, and the button presses of the sources `[audit] presses` names.
//!
//! [`Audit::record`] is called from the one place each kind of event
//! happens (the login verifier, the project store, the settings-file
//! follower, the bus for presses). It never blocks: the entry joins the
//! in-memory tail shown on the status page and the console at once, and is
//! handed to a writer thread through a bounded channel; when that is full
//! the entry is dropped from the file and syslog and counted (shown on the
//! status page). The writer appends JSON lines to the file ([`file`],
//! size-capped and rotated) and forwards them to syslog ([`syslog`]).
//! At start the file's tail is read back, so the trail survives restarts.

pub mod file;
pub mod presses;
pub mod syslog;

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

pub use controller_core::audit::{AuditEntry, AuditEvent, AuditOutcome, AuditReport};

use crate::config::AuditSettings;
use crate::runtime::sync::lock;

/// How many entries are kept in memory (and read back at start).
pub const TAIL: usize = 200;
/// How many entries may wait for the writer; more are dropped and counted.
const QUEUE: usize = 1024;

struct Shared {
    enabled: bool,
    writer: Option<SyncSender<AuditEntry>>,
    recent: Mutex<VecDeque<AuditEntry>>,
    dropped: AtomicU64,
    syslog_failed: Arc<AtomicU64>,
    file: String,
    problem: Option<String>,
    syslog: String,
    presses: Vec<String>,
}

/// The audit trail's handle; cheap to clone.
#[derive(Clone)]
pub struct Audit(Arc<Shared>);

/// The current time as the trail writes it: RFC 3339 with the local UTC
/// offset and milliseconds.
pub fn now_rfc3339() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

impl Audit {
    /// Opens the trail as `settings` say (the file's path made absolute):
    /// reads the file's tail back and starts the writer thread when there
    /// is a file or a syslog collector. A file that cannot be opened is
    /// logged as an error, kept as the trail's [`Audit::problem`] (the
    /// audit service shows it failed on the status board), and the trail
    /// goes on in memory and to syslog.
    pub fn start(settings: &AuditSettings) -> Audit {
        let file_path = settings.file.clone();
        let wants_file = settings.enabled && !file_path.as_os_str().is_empty();
        let mut problem = None;
        // `roomctl serve` makes the path absolute (relative to the settings
        // file's folder). A relative path here was never resolved (a
        // library user): it would land wherever the process runs, so the
        // trail stays in memory, and says so.
        if wants_file && !file_path.is_absolute() {
            problem = Some(format!(
                "the audit file {} is not an absolute path; the trail is kept in memory only",
                file_path.display()
            ));
        }
        let target = syslog_target(settings);
        let audit_file = if wants_file && problem.is_none() {
            match file::AuditFile::open(&file_path, settings.max_bytes, settings.keep) {
                Ok(f) => Some(f),
                Err(e) => {
                    problem = Some(format!(
                        "cannot write the audit file {}: {e}; the trail is kept in memory only",
                        file_path.display()
                    ));
                    None
                }
            }
        } else {
            None
        };
        if let Some(why) = &problem {
            tracing::error!("audit: {why}");
        }
        let recent = if audit_file.is_some() {
            file::tail(&file_path, TAIL)
        } else {
            VecDeque::new()
        };
        let file = match &audit_file {
            Some(_) => file_path.display().to_string(),
            None => String::new(),
        };
        let syslog_failed = Arc::new(AtomicU64::new(0));
        let writer = if audit_file.is_some() || target.is_some() {
            let sink = target.map(|t| syslog::SyslogSink::new(t, syslog_failed.clone()));
            start_writer(audit_file, sink)
        } else {
            None
        };
        Audit(Arc::new(Shared {
            enabled: settings.enabled,
            writer,
            recent: Mutex::new(recent),
            dropped: AtomicU64::new(0),
            syslog_failed,
            file,
            problem,
            syslog: if settings.enabled {
                settings.syslog.clone()
            } else {
                String::new()
            },
            presses: settings.presses.clone(),
        }))
    }

    /// Why the trail is not written where the settings say (the file
    /// cannot be opened), if it is not.
    pub fn problem(&self) -> Option<String> {
        self.0.problem.clone()
    }

    /// Records one entry; never blocks.
    pub fn record(
        &self,
        event: AuditEvent,
        outcome: AuditOutcome,
        service: &str,
        user: Option<&str>,
        address: Option<IpAddr>,
        detail: impl Into<String>,
    ) {
        if !self.0.enabled {
            return;
        }
        let entry = AuditEntry {
            time: now_rfc3339(),
            event,
            outcome,
            service: service.to_string(),
            user: user.map(str::to_string),
            address: address.map(|a| a.to_string()),
            detail: detail.into(),
        }
        // Names and details come from outside (a login name may hold a
        // newline and ESC): the file, syslog, console and status page get
        // them escaped.
        .made_printable();
        self.push(entry);
    }

    /// Records an entry for `by` as the project store and the services
    /// name who did something: `ftp:ada@192.0.2.7`, `admin-page:ada`,
    /// `telnet:ada@192.0.2.7:50312` (service, user, address).
    pub fn record_by(
        &self,
        event: AuditEvent,
        outcome: AuditOutcome,
        by: &str,
        detail: impl Into<String>,
    ) {
        let (head, address) = match by.rsplit_once('@') {
            Some((head, addr)) => (
                head,
                addr.parse::<IpAddr>()
                    .ok()
                    .or_else(|| addr.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())),
            ),
            None => (by, None),
        };
        let (service, user) = match head.split_once(':') {
            Some((service, user)) => (service, Some(user)),
            None => (head, None),
        };
        self.record(event, outcome, service, user, address, detail);
    }

    fn push(&self, entry: AuditEntry) {
        tracing::info!(target: "audit", "{}", entry.describe());
        if let Some(tx) = &self.0.writer {
            match tx.try_send(entry.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    self.0.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let mut recent = lock(&self.0.recent);
        if recent.len() >= TAIL {
            recent.pop_front();
        }
        recent.push_back(entry);
    }

    /// Counts an entry lost before it reached [`Audit::record`] (a press the
    /// bus subscriber missed while it lagged).
    pub fn count_dropped(&self, n: u64) {
        self.0.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Whether presses from `source` (`central`, `mqtt`, ...) are recorded.
    pub fn records_presses_from(&self, source: &str) -> bool {
        self.0.enabled && self.0.presses.iter().any(|s| s == source)
    }

    pub fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// The latest `n` entries, oldest first.
    pub fn recent(&self, n: usize) -> Vec<AuditEntry> {
        let recent = lock(&self.0.recent);
        recent
            .iter()
            .skip(recent.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }

    /// The status page's view: the latest `n` entries and the counters.
    pub fn report(&self, n: usize) -> AuditReport {
        AuditReport {
            entries: self.recent(n),
            dropped: self.dropped(),
            file: self.0.file.clone(),
            problem: self.0.problem.clone().unwrap_or_default(),
            syslog: self.0.syslog.clone(),
            syslog_failed: self.0.syslog_failed.load(Ordering::Relaxed),
        }
    }
}

/// The writer thread: file first, then syslog, one entry at a time; ends
/// when every [`Audit`] handle is gone.
fn write_entries(
    rx: std::sync::mpsc::Receiver<AuditEntry>,
    mut file: Option<file::AuditFile>,
    mut sink: Option<syslog::SyslogSink>,
) {
    let mut file_error_logged = false;
    while let Ok(entry) = rx.recv() {
        let line = entry.to_line();
        if let Some(f) = file.as_mut() {
            match f.append(&line) {
                Ok(()) => file_error_logged = false,
                Err(e) if !file_error_logged => {
                    file_error_logged = true;
                    tracing::error!("audit: cannot write {}: {e}", f.path().display());
                }
                Err(_) => {}
            }
        }
        if let Some(s) = sink.as_mut() {
            s.send(&entry, &line);
        }
    }
}

/// Where the trail is forwarded by syslog, if the settings say so and the
/// target reads.
fn syslog_target(settings: &AuditSettings) -> Option<crate::config::SyslogTarget> {
    if !settings.enabled || settings.syslog.is_empty() {
        return None;
    }
    match crate::config::SyslogTarget::parse(&settings.syslog) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!("audit: [audit] syslog: {e}; not forwarding");
            None
        }
    }
}

/// Starts the thread that writes entries to the file and the syslog sink;
/// the queue to it, or None when the thread cannot start.
fn start_writer(
    audit_file: Option<file::AuditFile>,
    sink: Option<syslog::SyslogSink>,
) -> Option<SyncSender<AuditEntry>> {
    let (tx, rx) = sync_channel::<AuditEntry>(QUEUE);
    let spawned = std::thread::Builder::new()
        .name("audit-writer".into())
        .spawn(move || write_entries(rx, audit_file, sink));
    match spawned {
        Ok(_) => Some(tx),
        Err(e) => {
            tracing::warn!("audit: cannot start the writer: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A burst larger than the queue: nothing waits, and every entry is
    /// either in the file or counted as dropped.
    #[test]
    fn a_burst_is_written_or_counted_never_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let audit = Audit::start(&AuditSettings {
            enabled: true,
            file: path.clone(),
            max_bytes: 64 << 20,
            keep: 1,
            syslog: String::new(),
            presses: Vec::new(),
        });
        const BURST: usize = 3 * QUEUE;
        for i in 0..BURST {
            audit.record(
                AuditEvent::Press,
                AuditOutcome::Ok,
                "central",
                Some("op"),
                None,
                format!("press {i}"),
            );
        }
        let written = || {
            std::fs::read_to_string(&path)
                .map(|t| t.lines().count())
                .unwrap_or(0)
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while written() + audit.dropped() as usize != BURST {
            assert!(
                std::time::Instant::now() < deadline,
                "written {} + dropped {} != {BURST}",
                written(),
                audit.dropped()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(audit.recent(TAIL).len(), TAIL);
        assert_eq!(
            audit.report(5).entries.last().unwrap().detail,
            format!("press {}", BURST - 1)
        );
    }
}
