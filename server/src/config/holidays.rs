//! `[holidays]`: a feed of the days the building is closed (public
//! holidays, closures), an iCalendar feed read like the room's own
//! calendar. Timers with `on_closed_days` follow it (docs/calendar.md).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{CalendarSettings, CalendarSource};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidaySettings {
    pub enabled: bool,
    /// The feed: `https://` (or `webcal://`); plain `http://` only to this
    /// machine. Any event on a day closes that day.
    pub url: String,
    /// PEM certificates the server's must chain to; unset: the system's.
    pub ca_file: Option<PathBuf>,
    /// The zone the feed's days are read in (the building's).
    pub time_zone: String,
    /// How often the feed is fetched (conditionally).
    pub poll_secs: u64,
    pub timeout_secs: u64,
    /// The largest feed read; at most 4 MiB.
    pub max_bytes: usize,
    /// Where the last good feed is kept (survives restarts and outages).
    pub cache_file: PathBuf,
    /// After this long without a good fetch the service shows failed (the
    /// last good closed days are still used).
    pub stale_alert_secs: u64,
}

impl Default for HolidaySettings {
    fn default() -> HolidaySettings {
        HolidaySettings {
            enabled: false,
            url: String::new(),
            ca_file: None,
            time_zone: "UTC".into(),
            poll_secs: 6 * 3600,
            timeout_secs: 20,
            max_bytes: controller_core::calendar::MAX_CALENDAR_BYTES,
            cache_file: PathBuf::from("var/holidays.json"),
            stale_alert_secs: 3 * 24 * 3600,
        }
    }
}

impl HolidaySettings {
    /// The feed as a calendar is read: the same client, limits, cache and
    /// checks as `[calendar]`, with no credentials and nothing written.
    pub fn as_feed(&self) -> CalendarSettings {
        CalendarSettings {
            enabled: self.enabled,
            url: self.url.clone(),
            source: CalendarSource::Ics,
            ca_file: self.ca_file.clone(),
            time_zone: self.time_zone.clone(),
            poll_secs: self.poll_secs,
            timeout_secs: self.timeout_secs,
            max_bytes: self.max_bytes,
            cache_file: self.cache_file.clone(),
            stale_alert_secs: self.stale_alert_secs,
            ..super::calendar::calendar_defaults()
        }
    }

    /// The section's checks, in its own name.
    pub fn check(&self) -> anyhow::Result<()> {
        self.as_feed().check_in("holidays")
    }

    /// Relative paths are relative to the settings file's folder.
    pub fn resolve_paths(&mut self, settings_path: &Path) {
        let paths = [Some(&mut self.cache_file), self.ca_file.as_mut()];
        super::resolve_beside(settings_path, paths.into_iter().flatten());
    }
}
