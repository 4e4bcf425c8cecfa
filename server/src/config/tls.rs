//! The settings of encryption: `[tls]` (the controller's certificate,
//! shared by HTTPS and FTPS) and `[https]` (the HTTPS service).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Profile;
use crate::security::access::AllowList;

/// The controller's TLS certificate. Unset files mean: generate one at
/// first start (for the controller's name and addresses) in `tls/` next
/// to the project directory, and reuse it after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificate chain (the controller's certificate first), given
    /// by the installer; relative paths are relative to the settings file.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// More DNS names or addresses the generated certificate is valid for
    /// (besides the controller's name, the host name, `localhost` and the
    /// machine's addresses), e.g. `["room-a.example.org"]`.
    pub names: Vec<String>,
}

impl TlsSettings {
    /// Relative certificate paths made relative to the settings file.
    pub fn resolve_paths(&mut self, settings_path: &Path) {
        let base = super::settings_dir(settings_path);
        for file in [&mut self.cert_file, &mut self.key_file]
            .into_iter()
            .flatten()
        {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
    }
}

/// The HTTPS service: the same pages as the panel port (admin, status,
/// panels), encrypted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpsSettings {
    pub enabled: bool,
    pub bind: IpAddr,
    pub port: u16,
    pub allow: AllowList,
    /// Admin logins only over HTTPS: on the plain HTTP ports the login form
    /// points to the HTTPS address and an admin's login is refused (an
    /// admin's password would cross the LAN readable by anyone on it).
    pub admin_requires_https: bool,
}

pub(super) fn tls_defaults() -> TlsSettings {
    TlsSettings {
        cert_file: None,
        key_file: None,
        names: Vec::new(),
    }
}

pub(super) fn https_defaults(profile: Profile, bind: IpAddr) -> HttpsSettings {
    let lan = profile == Profile::Lan;
    HttpsSettings {
        enabled: true,
        bind,
        port: if lan { 443 } else { 3443 },
        allow: AllowList::default(),
        admin_requires_https: lan,
    }
}

/// Where a generated certificate and key are kept: `tls/` beside the
/// project directory (`var/project` → `var/tls`), never inside it (the
/// project directory is what FTP serves).
pub fn generated_dir(project_dir: &Path) -> PathBuf {
    match project_dir.parent() {
        Some(parent) => parent.join("tls"),
        None => PathBuf::from("tls"),
    }
}
