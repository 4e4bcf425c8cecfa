//! `[calendar]`: the room's bookings (docs/calendar.md), its checks (also
//! run for `[holidays]`, read as a feed: each message names the section it
//! checks) and its defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[calendar]`: the room's bookings (docs/calendar.md), read from a
/// published iCalendar feed or a CalDAV collection, polled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSettings {
    pub enabled: bool,
    /// `https://` (or `webcal://`, read as https). Plain `http://` only to
    /// this machine (a loopback address or `localhost`).
    pub url: String,
    /// `ics`: a published feed (one document). `caldav`: a CalDAV
    /// collection (one document per event; needed for "Extend" and "End").
    pub source: CalendarSource,
    /// Empty: no credentials.
    pub username: String,
    /// A file holding the password (first line), as `[mqtt] password_file`.
    pub password_file: Option<PathBuf>,
    /// PEM certificates the server's certificate must chain to; unset: the
    /// system's bundle.
    pub ca_file: Option<PathBuf>,
    /// The room's IANA time zone: floating times, all-day events and
    /// "the last meeting of the day" are read in it.
    pub time_zone: String,
    /// How often the calendar is fetched (a conditional request: ETag,
    /// If-Modified-Since).
    pub poll_secs: u64,
    /// The longest a fetch may take, connection included.
    pub timeout_secs: u64,
    /// The largest document (or CalDAV answer) read; at most 4 MiB.
    pub max_bytes: usize,
    /// Where the last good calendar is kept (survives restarts and outages).
    pub cache_file: PathBuf,
    /// After this long without a good fetch the service shows failed on the
    /// status page and the station (the last good calendar is still used).
    pub stale_alert_secs: u64,
    /// What panels and variables show of a meeting: "busy" (default),
    /// "title", or "title_and_organizer".
    pub privacy: controller_core::calendar::Privacy,
    /// A project button whose press extends the meeting on now by
    /// `extend_minutes` (CalDAV only); empty: none.
    pub extend_button: String,
    /// A project button whose press ends the meeting on now (CalDAV only).
    pub end_button: String,
    pub extend_minutes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarSource {
    Ics,
    Caldav,
}

impl CalendarSettings {
    /// The settings' own checks (at load, so a mistake stops the start with
    /// a message instead of a silent calendar).
    pub fn check(&self) -> anyhow::Result<()> {
        self.check_in("calendar")
    }

    /// The checks, their messages naming `section` (`[holidays]` is read
    /// as a calendar feed and checked by these).
    pub fn check_in(&self, section: &str) -> anyhow::Result<()> {
        let c = self;
        calendar_url(&c.url, section)?;
        c.zone_in(section)?;
        anyhow::ensure!(
            c.poll_secs >= 10,
            "[{section}] poll_secs = {} is under 10",
            c.poll_secs
        );
        anyhow::ensure!(
            (1..=300).contains(&c.timeout_secs),
            "[{section}] timeout_secs must be 1 to 300"
        );
        anyhow::ensure!(
            (1..=controller_core::calendar::MAX_CALENDAR_BYTES).contains(&c.max_bytes),
            "[{section}] max_bytes must be 1 to {}",
            controller_core::calendar::MAX_CALENDAR_BYTES
        );
        anyhow::ensure!(
            (1..=240).contains(&c.extend_minutes),
            "[{section}] extend_minutes must be 1 to 240"
        );
        if c.source == CalendarSource::Ics
            && !(c.extend_button.is_empty() && c.end_button.is_empty())
        {
            anyhow::bail!("[{section}] extend_button and end_button need source = \"caldav\" (a published feed cannot be written)");
        }
        Ok(())
    }

    /// The room's time zone.
    pub fn zone(&self) -> anyhow::Result<chrono_tz::Tz> {
        self.zone_in("calendar")
    }

    /// The time zone, an error naming `section`.
    pub fn zone_in(&self, section: &str) -> anyhow::Result<chrono_tz::Tz> {
        let c = self;
        c.time_zone.parse::<chrono_tz::Tz>().map_err(|_| {
            anyhow::anyhow!(
                "[{section}] time_zone {:?} is not an IANA time zone (e.g. \"Europe/Copenhagen\")",
                c.time_zone
            )
        })
    }

    /// Relative paths are relative to the settings file's folder.
    pub fn resolve_paths(&mut self, settings_path: &std::path::Path) {
        let paths = [
            Some(&mut self.cache_file),
            self.password_file.as_mut(),
            self.ca_file.as_mut(),
        ];
        super::resolve_beside(settings_path, paths.into_iter().flatten());
    }
}

/// The settings' URL: https (webcal is https), or http to this machine;
/// an error names `section`.
pub fn calendar_url(text: &str, section: &str) -> anyhow::Result<reqwest::Url> {
    let text = text.trim();
    let text = match text.strip_prefix("webcal://") {
        Some(rest) => format!("https://{rest}"),
        None => text.to_string(),
    };
    let url =
        reqwest::Url::parse(&text).map_err(|e| anyhow::anyhow!("[{section}] url {text:?}: {e}"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_local(&url) => Ok(url),
        "http" => {
            anyhow::bail!(
                "[{section}] url {text:?}: plain http is only allowed to this machine; use https"
            )
        }
        other => anyhow::bail!("[{section}] url {text:?}: {other}: is not http(s)"),
    }
}

fn is_local(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("");
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub(super) fn calendar_defaults() -> CalendarSettings {
    CalendarSettings {
        enabled: false,
        url: String::new(),
        source: CalendarSource::Ics,
        username: String::new(),
        password_file: None,
        ca_file: None,
        time_zone: "UTC".into(),
        poll_secs: 300,
        timeout_secs: 20,
        max_bytes: controller_core::calendar::MAX_CALENDAR_BYTES,
        cache_file: PathBuf::from("var/calendar.json"),
        stale_alert_secs: 3600,
        privacy: controller_core::calendar::Privacy::Busy,
        extend_button: String::new(),
        end_button: String::new(),
        extend_minutes: 15,
    }
}
