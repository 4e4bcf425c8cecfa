//! Text from outside (a login name, a panel's name, a device's reply) made
//! safe to show: every control character becomes a visible escape, so it
//! can neither drive a terminal (ESC sequences on the Telnet console or in
//! a log viewer) nor forge a line (a newline in a name that starts a fake
//! entry of the audit trail, the log or a CSV export).
//!
//! The one escaping function of the code base: the audit trail, the event
//! log, the status board, the Telnet console and the station's CSV all use
//! it. Written here because std's `escape_debug` also escapes quotes and
//! backslashes (a project name "Demo" would read `\"Demo\"`), and no crate
//! we use offers exactly "controls only"; the escapes themselves are std's.

use std::borrow::Cow;

/// Whether `c` must not reach a screen raw: C0 and C1 controls, DEL, and
/// the Unicode bidirectional overrides and isolates, which reorder what a
/// line appears to say ("Trojan Source").
fn must_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let keep = |c: char| keep_newlines && (c == '\n' || c == '\t');
    if !text.chars().any(|c| must_escape(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !must_escape(c) || keep(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // `\u{1b}`: only printable characters, so escaping twice
            // changes nothing.
            c => out.extend(c.escape_unicode()),
        }
    }
    Cow::Owned(out)
}

/// One field or one line: every control character escaped, newlines
/// included (`ada\n\x1b[2J` becomes `ada\n\u{1b}[2J` written out in
/// visible characters). Idempotent.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// Text of several lines that we put together ourselves (a console
/// answer): newlines and tabs stay, every other control is escaped.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn controls_become_visible() {
        assert_eq!(
            printable("ada\n\u{1b}[2J2026 login ok"),
            "ada\\n\\u{1b}[2J2026 login ok"
        );
        assert_eq!(printable("a\r\tb\u{7f}\u{9b}"), "a\\r\\tb\\u{7f}\\u{9b}");
        assert_eq!(printable("x\u{202E}gpj.exe"), "x\\u{202e}gpj.exe");
        assert_eq!(printable_lines("a\n\tb\u{1b}c\r"), "a\n\tb\\u{1b}c\\r");
        // Ordinary text, quotes and non-ASCII letters are left alone.
        assert!(matches!(
            printable("project \"Démo\" C:\\x"),
            Cow::Borrowed("project \"Démo\" C:\\x")
        ));
    }

    proptest! {
        #[test]
        fn no_control_survives_and_twice_is_once(s in "\\PC*|[\\x00-\\x20\\x7f-\\u{a0}\\u{2066}a\\\\]*") {
            let once = printable(&s).into_owned();
            prop_assert!(!once.chars().any(must_escape), "{once:?}");
            prop_assert_eq!(printable(&once), once.as_str());
            let lines = printable_lines(&s);
            prop_assert!(!lines.chars().any(|c| must_escape(c) && c != '\n' && c != '\t'));
        }
    }
}
