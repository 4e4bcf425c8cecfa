//! One entry of the audit trail: who did what, from where, when, and how it
//! ended. The server appends entries as JSON lines to `audit.log` and
//! forwards them to syslog; the status page and the console show them. This
//! is the one line format and its one parser (read back at start).

use serde::{Deserialize, Serialize};

use crate::printable::printable;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    /// A login (password or panel PIN) on any service.
    Login,
    /// A project uploaded (FTP, admin page) or restored from the history.
    Upload,
    Apply,
    Rollback,
    /// A user added, removed, or given another role or password.
    User,
    /// The settings file changed.
    Settings,
    /// A button pressed from a source the settings audit (`[audit] presses`).
    Press,
    /// A backup archive made (`roomctl backup`, the admin page).
    Backup,
    /// A backup archive restored, or refused.
    Restore,
    /// A meeting extended or ended from the room (a CalDAV write-back).
    Booking,
}

impl AuditEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::Login => "login",
            AuditEvent::Upload => "upload",
            AuditEvent::Apply => "apply",
            AuditEvent::Rollback => "rollback",
            AuditEvent::User => "user",
            AuditEvent::Settings => "settings",
            AuditEvent::Press => "press",
            AuditEvent::Backup => "backup",
            AuditEvent::Restore => "restore",
            AuditEvent::Booking => "booking",
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Ok,
    /// Refused or failed (wrong password, invalid project, ...).
    Failed,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// RFC 3339 with the controller's UTC offset, milliseconds
    /// (`2026-11-27T10:02:03.456+00:00`).
    pub time: String,
    pub event: AuditEvent,
    pub outcome: AuditOutcome,
    /// The service it came through: `web`, `panel`, `central`, `telnet`,
    /// `ftp`, `mqtt`, `keypad`, `admin-page`, `settings-file`, ...
    pub service: String,
    /// The user name given or logged in, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The client's address, when it came over the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// What exactly (the project's name, the reason of a refusal, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// A line of `audit.log` that is not an entry.
#[derive(Debug, thiserror::Error)]
#[error("not an audit entry: {0}")]
pub struct BadAuditLine(String);

/// The version of the line format, the `format` field each line starts
/// with (the newest this build reads). A line without one is format 1:
/// every line written before versions were kept.
pub const AUDIT_FORMAT: u32 = 1;

/// A line as written: its format, then the entry's fields.
#[derive(Serialize)]
struct Line<'a> {
    format: u32,
    #[serde(flatten)]
    entry: &'a AuditEntry,
}

impl AuditEntry {
    /// The entry as one line of JSON (no newline inside: JSON escapes it),
    /// `format` first.
    pub fn to_line(&self) -> String {
        serde_json::to_string(&Line {
            format: AUDIT_FORMAT,
            entry: self,
        })
        .expect("an audit entry always serialises")
    }

    /// Reads one line written by [`AuditEntry::to_line`], of this format
    /// or an older one; a line of a newer format is an error saying so.
    pub fn parse_line(line: &str) -> Result<AuditEntry, BadAuditLine> {
        let mut value: serde_json::Value =
            serde_json::from_str(line.trim_end_matches(['\r', '\n']))
                .map_err(|e| BadAuditLine(e.to_string()))?;
        let format = match value.as_object_mut().and_then(|o| o.remove("format")) {
            None => 1,
            Some(v) => v.as_u64().filter(|f| *f >= 1).ok_or_else(|| {
                BadAuditLine(format!("format must be a positive whole number, not {v}"))
            })?,
        };
        if format > u64::from(AUDIT_FORMAT) {
            return Err(BadAuditLine(format!(
                "audit line format {format}, written by a newer roomctl; this one reads format {AUDIT_FORMAT} at most"
            )));
        }
        serde_json::from_value(value).map_err(|e| BadAuditLine(e.to_string()))
    }

    /// The entry in one line for people (console, log). Every field is
    /// [`printable`]: a name holding a newline or an escape sequence cannot
    /// forge a line or drive the reader's terminal, even in an entry read
    /// back from a file an older version wrote.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} {} {} {}",
            printable(&self.time),
            self.event.as_str(),
            match self.outcome {
                AuditOutcome::Ok => "ok",
                AuditOutcome::Failed => "FAILED",
            },
            printable(&self.service)
        );
        if let Some(u) = &self.user {
            s.push_str(&format!(" user={}", printable(u)));
        }
        if let Some(a) = &self.address {
            s.push_str(&format!(" from={}", printable(a)));
        }
        if !self.detail.is_empty() {
            s.push_str(&format!(" {}", printable(&self.detail)));
        }
        s
    }

    /// The same entry with every text field [`printable`] (what the trail
    /// records: its file, syslog, console and status page then carry no
    /// control character from outside).
    pub fn made_printable(self) -> AuditEntry {
        let p = |s: String| printable(&s).into_owned();
        AuditEntry {
            time: p(self.time),
            event: self.event,
            outcome: self.outcome,
            service: p(self.service),
            user: self.user.map(p),
            address: self.address.map(p),
            detail: p(self.detail),
        }
    }
}

/// The audit trail as the status page shows it (admins and operators only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// The latest entries, oldest first.
    pub entries: Vec<AuditEntry>,
    /// Entries lost because the writer could not keep up (never blocks).
    pub dropped: u64,
    /// Where the trail is kept (empty: not on disk).
    pub file: String,
    /// Why it is not on disk although the settings name a file (empty:
    /// no problem).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub problem: String,
    /// Where it is forwarded (empty: nowhere).
    pub syslog: String,
    /// Entries the syslog collector did not get (unreachable, ...).
    pub syslog_failed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = AuditEvent> {
        prop_oneof![
            Just(AuditEvent::Login),
            Just(AuditEvent::Upload),
            Just(AuditEvent::Apply),
            Just(AuditEvent::Rollback),
            Just(AuditEvent::User),
            Just(AuditEvent::Settings),
            Just(AuditEvent::Press),
        ]
    }

    fn entry() -> impl Strategy<Value = AuditEntry> {
        (
            ".*",
            event(),
            any::<bool>(),
            ".*",
            proptest::option::of(".*"),
            proptest::option::of(".*"),
            ".*",
        )
            .prop_map(
                |(time, event, ok, service, user, address, detail)| AuditEntry {
                    time,
                    event,
                    outcome: if ok {
                        AuditOutcome::Ok
                    } else {
                        AuditOutcome::Failed
                    },
                    service,
                    user,
                    address,
                    detail,
                },
            )
    }

    proptest! {
        #[test]
        fn a_line_is_one_line_and_reads_back(e in entry()) {
            let line = e.to_line();
            prop_assert!(!line.contains('\n') && !line.contains('\r'));
            prop_assert_eq!(AuditEntry::parse_line(&format!("{line}\n")).unwrap(), e);
        }

        #[test]
        fn any_text_is_an_error_or_an_entry(s in ".*") {
            let _ = AuditEntry::parse_line(&s);
        }
    }

    /// A login name with a newline and ESC cannot forge a second line nor
    /// reach a terminal raw.
    #[test]
    fn an_entry_is_described_on_one_printable_line() {
        let e = AuditEntry {
            time: "2026-11-27T10:00:00.000+00:00".into(),
            event: AuditEvent::Login,
            outcome: AuditOutcome::Failed,
            service: "telnet".into(),
            user: Some(
                "x\n2026-11-27T10:00:01.000+00:00 login ok telnet user=admin\u{1b}[2J".into(),
            ),
            address: Some("127.0.0.2".into()),
            detail: "wrong\ruser".into(),
        };
        let line = e.describe();
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(line.contains("user=x\\n2026"), "{line}");
        let clean = e.clone().made_printable();
        assert!(!clean.to_line().contains("\\u001b"), "{}", clean.to_line());
        assert_eq!(clean.clone().made_printable(), clean);
    }

    #[test]
    fn a_cut_line_is_an_error() {
        let e = AuditEntry {
            time: "2026-11-27T10:00:00.000+00:00".into(),
            event: AuditEvent::Login,
            outcome: AuditOutcome::Failed,
            service: "ftp".into(),
            user: Some("ada".into()),
            address: Some("127.0.0.1".into()),
            detail: "wrong user name or password".into(),
        };
        let line = e.to_line();
        assert!(
            line.starts_with(
                r#"{"format":1,"time":"2026-11-27T10:00:00.000+00:00","event":"login","outcome":"failed""#
            ),
            "{line}"
        );
        assert!(AuditEntry::parse_line(&line[..line.len() - 3]).is_err());
    }

    #[test]
    fn a_line_without_a_format_is_format_1_and_a_newer_one_is_refused() {
        let before = r#"{"time":"2026-11-27T10:00:00.000+00:00","event":"login","outcome":"ok","service":"ftp","user":"ada"}"#;
        let entry = AuditEntry::parse_line(before).unwrap();
        assert_eq!(entry.user.as_deref(), Some("ada"));
        assert!(entry.to_line().starts_with(r#"{"format":1,"#));
        assert_eq!(AuditEntry::parse_line(&entry.to_line()).unwrap(), entry);
        let newer = before.replacen('{', r#"{"format":2,"#, 1);
        let e = AuditEntry::parse_line(&newer).unwrap_err().to_string();
        assert!(e.contains("format 2, written by a newer roomctl"), "{e}");
        let bad = before.replacen('{', r#"{"format":"one","#, 1);
        let e = AuditEntry::parse_line(&bad).unwrap_err().to_string();
        assert!(e.contains("positive whole number"), "{e}");
    }
}
