//! The controller's TLS identity, shared by HTTPS and FTPS: the
//! installer's certificate and key (`[tls] cert_file`, `key_file`), or one
//! generated at first start for the controller's names and addresses
//! (rcgen) and kept in `tls/` beside the project directory, the key file
//! readable by the controller's user only (mode 0600). A generated
//! certificate is reused on every start while it covers the controller's
//! current names and addresses; when one is missing (a new address, a
//! renamed controller) a new certificate is made and the log says so.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{generated_tls_dir, Settings};

/// The certificate and key files every TLS service uses, and the rustls
/// configuration built from them.
#[derive(Clone)]
pub struct TlsIdentity {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// Whether it was generated here (else the installer provided it).
    pub generated: bool,
    /// For HTTP/1.1 servers (ALPN `http/1.1`).
    pub http_config: Arc<rustls::ServerConfig>,
    /// For FTPS control connections (no ALPN).
    pub ftp_config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_file", &self.cert_file)
            .field("generated", &self.generated)
            .finish()
    }
}

/// Names of the files in the generated directory.
const CERT: &str = "cert.pem";
const KEY: &str = "key.pem";
/// The names and addresses the generated certificate was made for, one a line.
const NAMES: &str = "names.txt";

/// How long a generated certificate is valid (browsers do not limit
/// certificates of a private root the user trusted by hand).
const VALID_YEARS: i32 = 20;

impl TlsIdentity {
    /// The identity `settings` describe: the installer's files, or the
    /// generated certificate (made now if missing or out of date).
    pub fn load_or_create(settings: &Settings) -> anyhow::Result<TlsIdentity> {
        let tls = &settings.tls;
        let (cert_file, key_file, generated) = match (&tls.cert_file, &tls.key_file) {
            (Some(c), Some(k)) => (c.clone(), k.clone(), false),
            (None, None) => {
                let dir = generated_tls_dir(&settings.project.dir);
                ensure_generated(&dir, &names_for(settings))?;
                (dir.join(CERT), dir.join(KEY), true)
            }
            _ => bail!("[tls] needs both cert_file and key_file (or neither, to use a generated certificate)"),
        };
        let (certs, key) = read_pem(&cert_file, &key_file)?;
        let http_config = server_config(certs.clone(), key.clone_key(), &[b"http/1.1"])?;
        let ftp_config = server_config(certs, key, &[])?;
        Ok(TlsIdentity {
            cert_file,
            key_file,
            generated,
            http_config,
            ftp_config,
        })
    }
}

fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: &[&[u8]],
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("the TLS certificate and key do not match or are not usable")?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

fn read_pem(
    cert_file: &Path,
    key_file: &Path,
) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read the TLS certificate {}", cert_file.display()))?;
    if certs.is_empty() {
        bail!("{} holds no PEM certificate", cert_file.display());
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .with_context(|| format!("cannot read the TLS private key {}", key_file.display()))?;
    Ok((certs, key))
}

/// What the generated certificate must be valid for: the controller's
/// name (as a DNS name), the host name, `localhost`, the loopback
/// addresses, the address services bind (or every address of the machine
/// when they bind all), and `[tls] names`.
pub fn names_for(settings: &Settings) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    names.insert("localhost".to_string());
    names.insert("127.0.0.1".to_string());
    names.insert("::1".to_string());
    if let Some(label) = dns_label(&settings.identity.name) {
        names.insert(label.clone());
        names.insert(format!("{label}.local"));
    }
    if let Some(host) = host_name().and_then(|h| dns_name(&h)) {
        names.insert(host);
    }
    let mut binds: Vec<IpAddr> = vec![settings.https.bind, settings.ftp.bind, settings.panel.bind];
    binds.dedup();
    for bind in binds {
        if bind.is_unspecified() {
            for ip in machine_addresses() {
                names.insert(ip.to_string());
            }
        } else {
            names.insert(bind.to_string());
        }
    }
    for extra in &settings.tls.names {
        let extra = extra.trim();
        if !extra.is_empty() {
            names.insert(extra.to_ascii_lowercase());
        }
    }
    names
}

/// Makes sure `dir` holds a certificate valid for every one of `names`.
fn ensure_generated(dir: &Path, names: &BTreeSet<String>) -> anyhow::Result<()> {
    let (cert, key) = (dir.join(CERT), dir.join(KEY));
    if cert.exists() && key.exists() {
        let covered: BTreeSet<String> = std::fs::read_to_string(dir.join(NAMES))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        let missing: Vec<&String> = names.difference(&covered).collect();
        if missing.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            "the generated TLS certificate in {} does not cover {missing:?}: making a new one (clients that trusted the old one must trust the new one)",
            dir.display()
        );
    }
    generate(dir, names)
}

fn generate(dir: &Path, names: &BTreeSet<String>) -> anyhow::Result<()> {
    use chrono::Datelike;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the TLS directory {}", dir.display()))?;
    let sans: Vec<String> = names.iter().cloned().collect();
    let mut params = rcgen::CertificateParams::new(sans)
        .context("a name in [tls] names is not a valid DNS name or address")?;
    let common_name = names
        .iter()
        .find(|n| n.parse::<IpAddr>().is_err() && *n != "localhost")
        .cloned()
        .unwrap_or_else(|| "roomctl".into());
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "roomctl controller");
    let year = chrono::Utc::now().year();
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + VALID_YEARS, 1, 1);
    let key = rcgen::KeyPair::generate().context("cannot generate a TLS key")?;
    let cert = params
        .self_signed(&key)
        .context("cannot make the TLS certificate")?;
    write_file(&dir.join(KEY), key.serialize_pem().as_bytes(), 0o600)?;
    write_file(&dir.join(CERT), cert.pem().as_bytes(), 0o644)?;
    let mut listed = names.iter().cloned().collect::<Vec<_>>().join("\n");
    listed.push('\n');
    write_file(&dir.join(NAMES), listed.as_bytes(), 0o644)?;
    tracing::info!(
        "generated a TLS certificate for {} in {}",
        names.iter().cloned().collect::<Vec<_>>().join(", "),
        dir.display()
    );
    Ok(())
}

/// Writes a file whole (a temporary file renamed over it), with `mode`
/// from its creation on: the key is never readable by others, not even
/// for a moment.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The controller's name as a DNS label: "Room A 1.04" → "room-a-1-04".
fn dns_label(name: &str) -> Option<String> {
    let mut label = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            label.push(c.to_ascii_lowercase());
        } else if !label.ends_with('-') {
            label.push('-');
        }
    }
    let label = label.trim_matches('-');
    (!label.is_empty()).then(|| label.chars().take(63).collect())
}

/// A host name usable as a DNS name (letters, digits, '-' and '.').
fn dns_name(host: &str) -> Option<String> {
    let host = host.trim().to_ascii_lowercase();
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    ok.then_some(host)
}

fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname").ok()
}

/// Every address of the machine's interfaces (loopback included).
fn machine_addresses() -> Vec<IpAddr> {
    match if_addrs::get_if_addrs() {
        Ok(list) => list.into_iter().map(|i| i.ip()).collect(),
        Err(e) => {
            tracing::warn!("cannot list the machine's addresses for the TLS certificate: {e}");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_names_become_dns_labels() {
        assert_eq!(dns_label("Room A 1.04").as_deref(), Some("room-a-1-04"));
        assert_eq!(dns_label("  ---  "), None);
        assert_eq!(
            dns_name("ctl-1.example.org\n").as_deref(),
            Some("ctl-1.example.org")
        );
        assert_eq!(dns_name("bad_name"), None);
    }

    #[test]
    fn generated_once_reused_and_remade_for_a_new_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Settings::defaults(crate::config::Profile::Development);
        s.project.dir = dir.path().join("project");
        let first = TlsIdentity::load_or_create(&s).unwrap();
        assert!(first.generated);
        assert_eq!(first.cert_file, dir.path().join("tls").join(CERT));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&first.key_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key is readable by its owner only");
        let pem = std::fs::read(&first.cert_file).unwrap();
        // Restart: the same certificate.
        TlsIdentity::load_or_create(&s).unwrap();
        assert_eq!(std::fs::read(&first.cert_file).unwrap(), pem);
        // A name it does not cover: a new one.
        s.tls.names = vec!["room-a.example.org".into()];
        TlsIdentity::load_or_create(&s).unwrap();
        assert_ne!(std::fs::read(&first.cert_file).unwrap(), pem);
        let names = std::fs::read_to_string(dir.path().join("tls").join(NAMES)).unwrap();
        assert!(names.contains("room-a.example.org"), "{names}");
    }

    #[test]
    fn half_a_configuration_is_an_error() {
        let mut s = Settings::defaults(crate::config::Profile::Development);
        s.tls.cert_file = Some("/nonexistent/cert.pem".into());
        let e = TlsIdentity::load_or_create(&s).unwrap_err();
        assert!(format!("{e:#}").contains("key_file"), "{e:#}");
        s.tls.key_file = Some("/nonexistent/key.pem".into());
        let e = TlsIdentity::load_or_create(&s).unwrap_err();
        assert!(format!("{e:#}").contains("/nonexistent/cert.pem"), "{e:#}");
    }
}
