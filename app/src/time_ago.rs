//! "12 s ago": how long ago something happened, in the one wording every
//! screen uses ([`ago`]), and [`TimeAgo`], the component that keeps it
//! true as time passes: every [`TimeAgo`] of a page reads one [`Clock`],
//! which the browser advances every few seconds (the server renders the
//! page with its own time, which the browser starts from, so the first
//! hydrated text is the one the server sent).

#[cfg(any(feature = "ssr", feature = "station"))]
use leptos::prelude::*;

/// "12 s ago" from two Unix times; `then` 0 is "never".
pub fn ago(now: u64, then: u64) -> String {
    if then == 0 {
        return "never".into();
    }
    let s = now.saturating_sub(then);
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        _ => format!("{} h ago", s / 3600),
    }
}

/// The page's idea of now (Unix seconds), shared by every [`TimeAgo`]
/// through the context (the station's screens; the status page, whose
/// report is pushed anew, only uses [`ago`]).
#[cfg(any(feature = "ssr", feature = "station"))]
#[derive(Clone, Copy)]
pub struct Clock(RwSignal<u64>);

/// How often the browser advances the [`Clock`].
#[cfg(feature = "station")]
const TICK: std::time::Duration = std::time::Duration::from_secs(5);

#[cfg(any(feature = "ssr", feature = "station"))]
impl Clock {
    /// Provides a clock reading `now` to the components below; in the
    /// browser it then follows the browser's time.
    pub fn provide(now: u64) -> Clock {
        let clock = Clock(RwSignal::new(now));
        provide_context(clock);
        #[cfg(feature = "station")]
        set_interval(
            move || clock.0.set((js_sys::Date::now() / 1000.0) as u64),
            TICK,
        );
        clock
    }
}

/// How long ago `then` was, by the page's [`Clock`], kept up to date.
#[cfg(any(feature = "ssr", feature = "station"))]
#[component]
pub fn TimeAgo(#[prop(into)] then: Signal<u64>) -> impl IntoView {
    let Clock(now) = expect_context::<Clock>();
    move || ago(now.get(), then.get())
}

#[cfg(test)]
mod tests {
    use super::ago;

    #[test]
    fn ago_reads_as_seconds_minutes_hours_or_never() {
        assert_eq!(ago(100, 0), "never");
        assert_eq!(ago(100, 100), "0 s ago");
        assert_eq!(ago(100, 41), "59 s ago");
        assert_eq!(ago(200, 100), "1 min ago");
        assert_eq!(ago(100 + 3599, 100), "59 min ago");
        assert_eq!(ago(100 + 7200, 100), "2 h ago");
        // A clock behind the room's: not "in the future".
        assert_eq!(ago(90, 100), "0 s ago");
    }
}
