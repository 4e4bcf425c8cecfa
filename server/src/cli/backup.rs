//! `roomctl backup FILE`: one archive of this controller (settings and
//! users, projects with their history, the certificate, the station's
//! database); see `crate::backup` and docs/install.md, "Backups".

use std::path::{Path, PathBuf};

use crate::audit::{AuditEvent, AuditOutcome};

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Where to write the archive (a .tar.gz).
    pub file: PathBuf,
    /// Put the TLS certificate's private key in too (keep such an archive
    /// as safe as the controller itself).
    #[arg(long)]
    pub include_private_key: bool,
}

pub fn run(config: &Path, args: BackupArgs) -> anyhow::Result<()> {
    let made = crate::backup::create(config, &args.file, args.include_private_key);
    let detail = match &made {
        Ok(m) => format!("{} ({} files)", args.file.display(), m.files.len()),
        Err(e) => format!("{}: {e:#}", args.file.display()),
    };
    let outcome = if made.is_ok() {
        AuditOutcome::Ok
    } else {
        AuditOutcome::Failed
    };
    super::restore::audit_locally(config, AuditEvent::Backup, outcome, &detail);
    let manifest = made?;
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    println!(
        "backup of \"{}\" written to {}: {} files, {} bytes before compression{}",
        manifest.controller,
        args.file.display(),
        manifest.files.len(),
        bytes,
        if manifest.private_key {
            " (with the TLS private key: keep it safe)"
        } else {
            ""
        }
    );
    Ok(())
}
