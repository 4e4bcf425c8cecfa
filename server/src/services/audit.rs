//! The audit trail as a service (no port of its own): records the presses
//! `[audit] presses` names from the bus, follows the settings file (user
//! and settings changes, see `crate::storage::settings_file`), and shows on the
//! status page where the trail is kept and forwarded. The trail itself
//! (`crate::audit`) records from the first moment, before any service.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{Service, StartEnv, StartError, Started};
use crate::config::Settings;

/// How often the settings file is looked at (one `stat`) between logins.
const SETTINGS_POLL: Duration = Duration::from_secs(2);

pub struct AuditService;

impl Service for AuditService {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.audit.enabled
    }

    fn purpose(&self, s: &Settings) -> String {
        let file = if !s.audit.file.is_absolute() {
            "in memory only".to_string()
        } else {
            format!("to {}", s.audit.file.display())
        };
        let syslog = if s.audit.syslog.is_empty() {
            String::new()
        } else {
            format!(", forwarded to syslog {} (outgoing)", s.audit.syslog)
        };
        format!("audit trail of logins, uploads, applies, rollbacks, user and settings changes, presses from {}: {file}{syslog}; no port",
            if s.audit.presses.is_empty() { "no source".to_string() } else { s.audit.presses.join(", ") })
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        // Subscribed now, so no press after the start is missed.
        let steps = env.controller.bus().subscribe();
        async move {
            let presses = crate::audit::presses::record_presses(
                env.controller.audit().clone(),
                steps,
                env.shutdown.clone(),
            );
            let controller = env.controller.clone();
            let shutdown = env.shutdown.clone();
            let settings_file = async move {
                let mut tick = tokio::time::interval(SETTINGS_POLL);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tick.tick() => controller.refresh_settings_file().await,
                    }
                }
            };
            // A file that cannot be written is said loudly: the service
            // shows failed on the status board, and still records to
            // memory and syslog.
            let problem = env.controller.audit().problem();
            Ok(Started::running(
                async move {
                    tokio::join!(presses, settings_file);
                    Ok(())
                }
                .boxed(),
            )
            .impaired(problem))
        }
        .boxed()
    }
}
