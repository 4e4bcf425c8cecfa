//! `roomctl restore FILE`: puts a `roomctl backup` archive back, checked
//! first and applied all at once (`crate::backup::restore`). Stop the
//! services first (`systemctl stop roomctl roomctl-station`), or restore
//! from the admin page while the controller runs.

use std::path::{Path, PathBuf};

use crate::audit::{AuditEntry, AuditEvent, AuditOutcome};
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The archive `roomctl backup` wrote.
    pub file: PathBuf,
}

pub fn run(config: &Path, args: RestoreArgs) -> anyhow::Result<()> {
    let restored = crate::backup::restore(config, &args.file);
    let (outcome, detail) = match &restored {
        Ok(r) => (
            AuditOutcome::Ok,
            format!(
                "{} (\"{}\", made {}; {} files)",
                args.file.display(),
                r.manifest.controller,
                r.manifest.created,
                r.files
            ),
        ),
        Err(e) => (
            AuditOutcome::Failed,
            format!("{}: {e}", args.file.display()),
        ),
    };
    audit_locally(config, AuditEvent::Restore, outcome, &detail);
    let r = restored?;
    println!(
        "restored \"{}\" from {}: {} files (settings {}, projects {}, station database {})",
        r.manifest.controller,
        args.file.display(),
        r.files,
        r.locations.settings.display(),
        r.locations.project_dir.display(),
        r.locations.station_db.display()
    );
    if r.kept_certificate {
        println!(
            "the archive has no TLS private key, so this controller's own certificate was kept"
        );
    }
    println!("start the services again to use it: systemctl start roomctl (and roomctl-station)");
    Ok(())
}

/// Appends one entry to the audit file the settings name, now (a command
/// line run has no writer thread to wait for). Not fatal: a trail that
/// cannot be written is reported on stderr.
pub(crate) fn audit_locally(config: &Path, event: AuditEvent, outcome: AuditOutcome, detail: &str) {
    let Ok(settings) = Settings::load(config, None) else {
        return;
    };
    let path = settings.audit_file(config);
    if !settings.audit.enabled || path.as_os_str().is_empty() {
        return;
    }
    let entry = AuditEntry {
        time: crate::audit::now_rfc3339(),
        event,
        outcome,
        service: "cli".into(),
        user: std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .ok(),
        address: None,
        detail: detail.to_string(),
    };
    let written =
        crate::audit::file::AuditFile::open(&path, settings.audit.max_bytes, settings.audit.keep)
            .and_then(|mut f| f.append(&serde_json::to_string(&entry).unwrap_or_default()));
    if let Err(e) = written {
        eprintln!(
            "warning: cannot write the audit trail {}: {e}",
            path.display()
        );
    }
}
