//! Controller settings: a TOML file (`roomctl.toml`), every field optional.
//!
//! Defaults depend on the network profile. `development` (the default) binds
//! loopback on unprivileged ports and broadcasts to 127.255.255.255, so a
//! development run never puts a packet on the LAN; `lan` is the real
//! installation: 0.0.0.0, ports 80/8080/23/21, broadcast 255.255.255.255.
//! The user's file is merged over the profile's defaults, then checked
//! (unknown keys are errors). `roomctl config defaults --profile lan` prints
//! the complete defaults; docs/configuration.md describes each field.

mod calendar;
mod defaults;
mod device_search;
mod holidays;
mod sections;
mod station;
mod syslog_target;
mod tls;
pub mod users;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

pub use calendar::{calendar_url, CalendarSettings, CalendarSource};
pub use device_search::DeviceSearchSettings;
pub use holidays::HolidaySettings;
pub use sections::*;
pub use station::{StationRoom, StationSettings, StationTransport, Webhook};
pub use syslog_target::{SyslogTarget, SyslogTransport};
pub use tls::{generated_dir as generated_tls_dir, HttpsSettings, TlsSettings};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Loopback only, unprivileged ports: safe on a developer's machine.
    #[default]
    Development,
    /// A real installation on the room's LAN: the reference port layout.
    Lan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The file's format version (`crate::storage::formats`); a file without it is 1.
    #[serde(default = "crate::storage::formats::unversioned")]
    pub format: u32,
    pub network: NetworkSettings,
    pub identity: Identity,
    pub project: ProjectSettings,
    pub panel: PanelSettings,
    pub apprimo: ApprimoSettings,
    pub https: HttpsSettings,
    pub tls: TlsSettings,
    pub lookup: LookupSettings,
    pub live: LiveSettings,
    pub central: CentralSettings,
    pub extension: ExtensionSettings,
    pub telnet: TelnetSettings,
    pub ftp: FtpSettings,
    pub logic: LogicSettings,
    /// Finding devices on the LAN (PJLink class 2 search, SSDP).
    pub device_search: DeviceSearchSettings,
    pub mqtt: MqttSettings,
    pub audit: AuditSettings,
    pub calendar: CalendarSettings,
    /// The days the building is closed, for timers (`on_closed_days`).
    pub holidays: HolidaySettings,
    /// Only `roomctl station` reads it.
    pub station: StationSettings,
    #[serde(default)]
    pub users: Vec<UserEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSettings {
    pub profile: Profile,
    /// The address services bind to unless their own section says otherwise.
    pub bind: IpAddr,
    /// Where 8000/8001 broadcasts go.
    pub broadcast: IpAddr,
}

impl Settings {
    /// The complete defaults of a profile.
    pub fn defaults(profile: Profile) -> Settings {
        defaults::defaults(profile)
    }

    /// Reads settings from `path`; a missing file means the defaults of the
    /// development profile (or of `profile` when given).
    pub fn load(path: &Path, profile: Option<Profile>) -> anyhow::Result<Settings> {
        // It holds password hashes: refused when every user may change it.
        crate::storage::secret_file::check_permissions(path, "settings file")?;
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read settings file {}", path.display()))
            }
        };
        Self::from_toml(&text, profile)
            .with_context(|| format!("in settings file {}", path.display()))
    }

    /// Parses settings text over the defaults of its profile.
    pub fn from_toml(text: &str, profile_override: Option<Profile>) -> anyhow::Result<Settings> {
        let user: toml::Table = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::storage::formats::check_settings(&user)?;
        let profile = match profile_override {
            Some(p) => p,
            None => match user.get("network").and_then(|n| n.get("profile")) {
                None => Profile::Development,
                Some(v) => v.clone().try_into().map_err(|_| {
                    anyhow::anyhow!("network.profile must be \"development\" or \"lan\"")
                })?,
            },
        };
        // `[network] bind` is the default of every service's `bind`: the
        // defaults are built with it, and a section's own `bind` (merged
        // next) still wins. A value that is not an address is left for
        // deserialisation to report.
        let bind = user
            .get("network")
            .and_then(|n| n.get("bind"))
            .and_then(|b| b.as_str())
            .and_then(|b| b.parse::<IpAddr>().ok());
        let mut merged = toml::Table::try_from(defaults::defaults_bound(profile, bind))
            .context("serialising defaults")?;
        merge(&mut merged, user);
        if let Some(toml::Value::Table(n)) = merged.get_mut("network") {
            n.insert("profile".into(), toml::Value::try_from(profile)?);
        }
        let settings: Settings = toml::Value::Table(merged)
            .try_into()
            .map_err(|e: toml::de::Error| anyhow::anyhow!("{}", e.message()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> anyhow::Result<()> {
        let mut tcp_ports = std::collections::HashMap::new();
        for (name, enabled, port) in [
            ("panel", self.panel.enabled, self.panel.port),
            ("apprimo", self.apprimo.enabled, self.apprimo.port),
            ("https", self.https.enabled, self.https.port),
            ("central", self.central.enabled, self.central.port),
            ("telnet", self.telnet.enabled, self.telnet.port),
            ("ftp", self.ftp.enabled, self.ftp.port),
        ] {
            if enabled && port != 0 {
                if let Some(other) = tcp_ports.insert(port, name) {
                    bail!("[{name}] and [{other}] are both set to TCP port {port}");
                }
            }
        }
        for origin in &self.panel.allowed_origins {
            let rest = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .unwrap_or("");
            if rest.is_empty() || rest.trim_end_matches('/').contains(['/', '?', '#', '*']) {
                bail!(
                    "[panel] allowed_origins: {origin:?} is not an origin; write it as the \
                     browser's address bar starts, e.g. \"http://10.0.0.9:8000\""
                );
            }
        }
        for source in &self.audit.presses {
            if !PRESS_SOURCES.contains(&source.as_str()) {
                bail!(
                    "[audit] presses: unknown source {source:?}; known: {}",
                    PRESS_SOURCES.join(", ")
                );
            }
        }
        if !self.audit.syslog.is_empty() {
            SyslogTarget::parse(&self.audit.syslog)
                .map_err(|e| anyhow::anyhow!("[audit] syslog: {e}"))?;
        }
        if self.audit.max_bytes < 4096 {
            bail!("[audit] max_bytes must be at least 4096");
        }
        for u in &self.users {
            if u.name.is_empty()
                || !u
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            {
                bail!(
                    "user name {:?} may only hold letters, digits, '_', '-' and '.'",
                    u.name
                );
            }
            if !u.password_hash.starts_with("$argon2") {
                bail!(
                    "user {:?}: password_hash must be an argon2 hash (set it with `roomctl user add {} --role {}`)",
                    u.name,
                    u.name,
                    u.role
                );
            }
        }
        if self.calendar.enabled {
            self.calendar.check()?;
        }
        if self.holidays.enabled {
            self.holidays.check()?;
        }
        // rumqttc's MQTT 5 client refuses (panics on) a shorter keep-alive.
        if self.mqtt.protocol == MqttProtocol::V5 && self.mqtt.keepalive_secs < 5 {
            bail!(
                "[mqtt] keepalive_secs = {} is under 5, the least MQTT 5 is spoken with here (3.1.1 allows 1)",
                self.mqtt.keepalive_secs
            );
        }
        Ok(())
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The audit trail's file (relative paths are relative to the settings
    /// file's folder, made absolute); empty stays empty (not on disk).
    pub fn audit_file(&self, settings_path: &Path) -> PathBuf {
        let file = &self.audit.file;
        if file.as_os_str().is_empty() || file.is_absolute() {
            file.clone()
        } else {
            settings_dir(settings_path).join(file)
        }
    }

    /// Where the site's drivers are (relative paths are relative to the
    /// settings file's folder, made absolute).
    pub fn drivers_dir(&self, settings_path: &Path) -> PathBuf {
        let dir = &self.project.drivers_dir;
        if dir.is_absolute() {
            dir.clone()
        } else {
            settings_dir(settings_path).join(dir)
        }
    }

    /// The project directory (relative paths are relative to the settings
    /// file's folder, made absolute).
    pub fn project_dir(&self, settings_path: &Path) -> PathBuf {
        let dir = &self.project.dir;
        if dir.is_absolute() {
            dir.clone()
        } else {
            settings_dir(settings_path).join(dir)
        }
    }
}

/// The folder of the settings file, absolute: the base of every relative
/// path the settings name. `roomctl.toml` (the default, relative to where
/// roomctl was started) has the empty parent `""`; joined to it, a
/// relative path would stay relative, and the audit trail, which keeps
/// only absolute paths, would stay in memory.
pub fn settings_dir(settings_path: &Path) -> PathBuf {
    let absolute = std::path::absolute(settings_path).unwrap_or_else(|_| settings_path.into());
    match absolute.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes each of `paths` that is relative (and not empty) relative to the
/// settings file's folder.
pub fn resolve_beside<'a>(settings_path: &Path, paths: impl IntoIterator<Item = &'a mut PathBuf>) {
    let dir = settings_dir(settings_path);
    for p in paths {
        if !p.as_os_str().is_empty() && p.is_relative() {
            *p = dir.join(&*p);
        }
    }
}

/// Deep-merges `over` into `base`: tables merge key by key, anything else
/// replaces. Unknown keys are kept, so deserialisation reports them.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_development_defaults_on_loopback() {
        let s = Settings::from_toml("", None).unwrap();
        assert_eq!(s.network.profile, Profile::Development);
        assert!(s.panel.bind.is_loopback());
        assert_eq!(s.network.broadcast.to_string(), "127.255.255.255");
        assert!(s.users.is_empty());
    }

    #[test]
    fn lan_profile_is_one_setting_away() {
        let s = Settings::from_toml("[network]\nprofile = \"lan\"\n", None).unwrap();
        assert_eq!(
            (s.panel.port, s.apprimo.port, s.telnet.port, s.ftp.port),
            (80, 8080, 23, 21)
        );
        assert_eq!(s.network.broadcast.to_string(), "255.255.255.255");
    }

    /// `[network] bind` is every service's default; a section's own
    /// `bind` wins.
    #[test]
    fn network_bind_is_the_default_of_every_service() {
        let s = Settings::from_toml(
            "[network]\nbind = \"127.0.0.2\"\n[telnet]\nbind = \"127.0.0.1\"\n",
            None,
        )
        .unwrap();
        let two: IpAddr = "127.0.0.2".parse().unwrap();
        for (name, bind) in [
            ("panel", s.panel.bind),
            ("apprimo", s.apprimo.bind),
            ("https", s.https.bind),
            ("lookup", s.lookup.bind),
            ("live", s.live.bind),
            ("central", s.central.bind),
            ("ftp", s.ftp.bind),
            ("station", s.station.bind),
        ] {
            assert_eq!(bind, two, "[{name}] bind");
        }
        assert_eq!(s.extension.interface.to_string(), "127.0.0.2");
        assert_eq!(s.telnet.bind.to_string(), "127.0.0.1");
        assert!(Settings::from_toml("[network]\nbind = \"here\"\n", None).is_err());
    }

    #[test]
    fn user_values_override_and_unknown_keys_are_errors() {
        let s = Settings::from_toml("[panel]\nport = 4000\n", None).unwrap();
        assert_eq!(s.panel.port, 4000);
        let e = Settings::from_toml("[panel]\nprot = 4000\n", None).unwrap_err();
        assert!(format!("{e:#}").contains("prot"), "{e:#}");
        let e = Settings::from_toml("[panel]\nport = 5009\n", None).unwrap_err();
        assert!(format!("{e:#}").contains("5009"), "{e:#}");
    }

    #[test]
    fn mqtt_protocol_and_station_transport() {
        let s = Settings::from_toml("", None).unwrap();
        assert_eq!(s.mqtt.protocol, MqttProtocol::V311);
        assert_eq!(s.station.transport, StationTransport::Central);
        for five in ["\"5\"", "5"] {
            let s = Settings::from_toml(&format!("[mqtt]\nprotocol = {five}\n"), None).unwrap();
            assert_eq!(s.mqtt.protocol, MqttProtocol::V5, "{five}");
        }
        let s = Settings::from_toml("[mqtt]\nprotocol = \"3.1.1\"\n", None).unwrap();
        assert_eq!(s.mqtt.protocol, MqttProtocol::V311);
        for bad in ["\"3\"", "4", "\"v5\""] {
            let e = Settings::from_toml(&format!("[mqtt]\nprotocol = {bad}\n"), None).unwrap_err();
            assert!(format!("{e:#}").contains("\"3.1.1\" or \"5\""), "{e:#}");
        }
        let e = Settings::from_toml("[mqtt]\nprotocol = \"5\"\nkeepalive_secs = 2\n", None)
            .unwrap_err();
        assert!(format!("{e:#}").contains("under 5"), "{e:#}");
        let s = Settings::from_toml("[station]\ntransport = \"mqtt\"\n", None).unwrap();
        assert_eq!(s.station.transport, StationTransport::Mqtt);
        assert!(Settings::from_toml("[station]\ntransport = \"udp\"\n", None).is_err());
    }

    /// The default `roomctl serve` names `roomctl.toml`, relative: the
    /// audit file and the project folder are still absolute, in the
    /// folder roomctl was started in.
    #[test]
    fn paths_of_a_relative_settings_file_are_absolute() {
        let s = Settings::defaults(Profile::Development);
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            s.audit_file(Path::new("roomctl.toml")),
            cwd.join("var/audit.log")
        );
        assert_eq!(
            s.project_dir(Path::new("etc/roomctl.toml")),
            cwd.join("etc").join(&s.project.dir)
        );
        assert_eq!(
            s.audit_file(Path::new("/etc/roomctl/roomctl.toml")),
            Path::new("/etc/roomctl/var/audit.log")
        );
    }

    #[test]
    fn calendar_settings_are_checked_when_on() {
        let on = |extra: &str| {
            Settings::from_toml(&format!("[calendar]\nenabled = true\n{extra}"), None)
                .map_err(|e| format!("{e:#}"))
        };
        assert!(on("url = \"https://example.org/room.ics\"\n").is_ok());
        assert!(on(
            "url = \"http://127.0.0.1:5232/room/\"\nsource = \"caldav\"\nend_button = \"end\"\n"
        )
        .is_ok());
        for (extra, says) in [
            ("url = \"http://example.org/room.ics\"\n", "use https"),
            (
                "url = \"https://example.org/a.ics\"\ntime_zone = \"Mars/Olympus\"\n",
                "IANA",
            ),
            (
                "url = \"https://example.org/a.ics\"\nmax_bytes = 99999999\n",
                "max_bytes",
            ),
            (
                "url = \"https://example.org/a.ics\"\nextend_button = \"x\"\n",
                "caldav",
            ),
            (
                "url = \"https://example.org/a.ics\"\nprivacy = \"everything\"\n",
                "title_and_organizer",
            ),
        ] {
            let e = on(extra).unwrap_err();
            assert!(e.contains(says), "{says} in {e}");
        }
        // Off, nothing is checked (the defaults have no URL).
        assert!(Settings::from_toml("", None).is_ok());
    }

    #[test]
    fn defaults_round_trip() {
        for p in [Profile::Development, Profile::Lan] {
            let text = Settings::defaults(p).to_toml();
            assert_eq!(
                Settings::from_toml(&text, None).unwrap(),
                Settings::defaults(p)
            );
        }
    }
}
