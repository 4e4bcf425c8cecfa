//! Usage at a glance: per building and per room, over the last day, week
//! or month, the hours the display was on, booked and occupied, bookings
//! nobody used and uses nobody booked, presses (and per day), source
//! selections and alerts, as charts and as tables (the tables are the
//! charts' text alternative and hold every figure), with a CSV download.
//! The charts are inline SVG drawn here on the server: `role="img"` with a
//! title and a description, no script.

use controller_core::fleet::{UsageReport, UsageRow};
use leptos::prelude::*;

use super::TopBar;
use crate::text::escape_html;

/// Rooms a chart shows (the busiest); the table below lists them all.
const CHART_ROOMS: usize = 20;

#[component]
pub fn UsagePage(user: String, role: String, report: UsageReport) -> impl IntoView {
    let days = report.days();
    let period = report.period.clone();
    let periods = [
        ("day", "Last day"),
        ("week", "Last week"),
        ("month", "Last month"),
    ]
    .into_iter()
    .map(|(p, label)| {
        let current = (p == period).then_some("page");
        view! { <li><a href=format!("/usage?period={p}") aria-current=current>{label}</a></li> }
    })
    .collect_view();
    let csv = format!("/usage.csv?period={period}");
    let charts = [
        bar_chart(
            "chart-display",
            "Display on, hours per room",
            &top(&report.rooms, |r| r.display_hours()),
            1,
            "h",
        ),
        bar_chart(
            "chart-presses",
            "Presses per day, per room",
            &top(&report.rooms, |r| r.presses_per_day(days)),
            1,
            "",
        ),
        bar_chart(
            "chart-alerts",
            "Alerts raised, per room",
            &top(&report.rooms, |r| r.alerts as f64),
            0,
            "",
        ),
    ];
    let timeline_title = if period == "day" {
        "Presses per hour, all rooms"
    } else {
        "Presses per day, all rooms"
    };
    let timeline = column_chart("chart-timeline", timeline_title, &report.timeline);
    let timeline_rows = report
        .timeline
        .iter()
        .map(|(at, n)| view! { <tr><td>{slice_label(*at, &period)}</td><td>{*n}</td></tr> })
        .collect_view();
    view! {
        <TopBar user role/>
        <main class="st-usage-page">
            <h1>"Usage"</h1>
            <nav class="st-periods" aria-label="Period">
                <ul>{periods}</ul>
                <a href=csv.clone() download=format!("usage-{period}.csv")>"Download as CSV"</a>
            </nav>
            <p class="st-summary">{format!(
                "{} in {}; from {} to {} (UTC).",
                plural(report.rooms.len(), "room"),
                plural(report.buildings.len(), "building"),
                date(report.since),
                date(report.until)
            )}</p>
            <section aria-labelledby="buildings-h">
                <h2 id="buildings-h">"Buildings"</h2>
                <UsageTable rows=report.buildings.clone() days label="Building" building=false/>
            </section>
            <section aria-labelledby="rooms-h">
                <h2 id="rooms-h">"Rooms"</h2>
                <div class="st-charts">
                    {charts.into_iter().map(|svg| view! { <div class="st-chart" inner_html=svg></div> }).collect_view()}
                </div>
                <UsageTable rows=report.rooms.clone() days label="Room" building=true/>
            </section>
            <section aria-labelledby="timeline-h">
                <h2 id="timeline-h">{timeline_title}</h2>
                <div class="st-chart wide" inner_html=timeline></div>
                <details>
                    <summary>"The same as a table"</summary>
                    <table class="st-table">
                        <thead><tr><th scope="col">{if period == "day" { "Hour from" } else { "Day" }}</th><th scope="col">"Presses"</th></tr></thead>
                        <tbody>{timeline_rows}</tbody>
                    </table>
                </details>
            </section>
        </main>
    }
}

#[component]
fn UsageTable(
    rows: Vec<UsageRow>,
    days: f64,
    label: &'static str,
    building: bool,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p>"No rooms yet."</p> }.into_any();
    }
    // Wide on a phone: the table scrolls in its own region, not the page.
    view! {
        <div class="st-scroll" role="region" tabindex="0" aria-label=format!("{label} figures")>
        <table class="st-table">
            <thead><tr>
                <th scope="col">{label}</th>
                {building.then(|| view! { <th scope="col">"Building"</th> })}
                <th scope="col">"Display on (h)"</th>
                <th scope="col">"Presses"</th>
                <th scope="col">"Presses per day"</th>
                <th scope="col">"Source selections"</th>
                <th scope="col">"Alerts"</th>
                <th scope="col">"Booked (h)"</th>
                <th scope="col">"Occupied (h)"</th>
                <th scope="col">"Booked, unused"</th>
                <th scope="col">"Used, not booked"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let sources = if r.sources.is_empty() {
                        "-".to_string()
                    } else {
                        format!("{} ({})", r.source_selections(), r.sources.iter().map(|(s, n)| format!("{s}: {n}")).collect::<Vec<_>>().join(", "))
                    };
                    view! {
                        <tr>
                            <th scope="row">{if r.name.is_empty() { "(no location)".to_string() } else { r.name.clone() }}</th>
                            {building.then(|| view! { <td>{r.building.clone()}</td> })}
                            <td class="num">{format!("{:.1}", r.display_hours())}</td>
                            <td class="num">{r.presses}</td>
                            <td class="num">{format!("{:.1}", r.presses_per_day(days))}</td>
                            <td>{sources}</td>
                            <td class="num">{r.alerts}</td>
                            <td class="num">{format!("{:.1}", r.booked_hours())}</td>
                            <td class="num">{format!("{:.1}", r.occupied_hours())}</td>
                            <td class="num">{r.booked_unused}</td>
                            <td class="num">{r.used_unbooked}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

/// The rooms with the highest `value` (non-zero), highest first.
fn top(rows: &[UsageRow], value: impl Fn(&UsageRow) -> f64) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = rows
        .iter()
        .map(|r| (r.name.clone(), value(r)))
        .filter(|(_, x)| *x > 0.0)
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(CHART_ROOMS);
    v
}

/// A horizontal bar chart as an SVG string: a bar per row, its label on
/// the left and its value on the right.
pub fn bar_chart(
    id: &str,
    title: &str,
    rows: &[(String, f64)],
    decimals: usize,
    unit: &str,
) -> String {
    let space = if unit.is_empty() { "" } else { " " };
    // The smallest value the labels can show (0.1 with one decimal): a
    // value under it is "< 0.1 h", never a "0.0 h" that looks like nothing.
    let step = 10f64.powi(-(decimals as i32));
    let shown = |x: f64| {
        if x > 0.0 && x < step / 2.0 {
            format!("< {step:.decimals$}{space}{unit}")
        } else {
            format!("{x:.decimals$}{space}{unit}")
        }
    };
    let desc = if rows.is_empty() {
        "Nothing recorded in this period.".to_string()
    } else {
        let list: Vec<String> = rows
            .iter()
            .map(|(n, x)| format!("{n}: {}", shown(*x)))
            .collect();
        format!(
            "{} room(s), the highest first: {}. The table below lists every room.",
            rows.len(),
            list.join("; ")
        )
    };
    let (label_w, bar_w, row_h) = (150.0, 190.0, 24.0);
    let height = (rows.len().max(1) as f64) * row_h + 8.0;
    // The scale is never shorter than one whole unit (1 h, 1 press), so a
    // few minutes of use is a sliver, not a full-length bar.
    let max = rows.iter().map(|(_, x)| *x).fold(1.0, f64::max);
    let mut svg = format!(
        "<figure><figcaption id=\"{id}-t\">{t}</figcaption><svg role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" viewBox=\"0 0 {w} {height}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\"><title id=\"{id}-title\">{t}</title><desc id=\"{id}-desc\">{d}</desc>",
        t = escape_html(title),
        d = escape_html(&desc),
        w = label_w + bar_w + 70.0,
    );
    if rows.is_empty() {
        svg.push_str(
            "<text x=\"0\" y=\"20\" class=\"st-svg-label\">Nothing recorded in this period.</text>",
        );
    }
    for (i, (name, x)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let w = if *x > 0.0 {
            (x / max * bar_w).max(2.0)
        } else {
            0.0
        };
        let label: String = name.chars().take(22).collect();
        svg.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" class=\"st-svg-label\">{l}</text><rect x=\"{bx}\" y=\"{y}\" width=\"{w:.1}\" height=\"{h}\" rx=\"3\" class=\"st-svg-bar\"/><text x=\"{vx:.1}\" y=\"{ty}\" class=\"st-svg-value\">{v}</text>",
            lx = label_w - 8.0,
            ty = y + row_h * 0.62,
            l = escape_html(&label),
            bx = label_w,
            h = row_h - 6.0,
            vx = label_w + w + 6.0,
            v = escape_html(&shown(*x)),
        ));
    }
    svg.push_str("</svg></figure>");
    svg
}

/// A column chart of presses per slice, as an SVG string.
pub fn column_chart(id: &str, title: &str, slices: &[(u64, u64)]) -> String {
    let total: u64 = slices.iter().map(|(_, n)| n).sum();
    let busiest = slices
        .iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0);
    let desc = match busiest {
        None => "No presses in this period.".to_string(),
        Some((at, n)) => format!(
            "{total} presses in {} slices; the busiest began {} with {n}. The table below lists every slice.",
            slices.len(),
            date_time(*at)
        ),
    };
    let (w, h, base) = (640.0, 160.0, 140.0);
    let max = slices.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let col = w / slices.len().max(1) as f64;
    let mut svg = format!(
        "<svg role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" viewBox=\"0 0 {w} {h}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\"><title id=\"{id}-title\">{t}</title><desc id=\"{id}-desc\">{d}</desc><line x1=\"0\" y1=\"{base}\" x2=\"{w}\" y2=\"{base}\" class=\"st-svg-axis\"/>",
        t = escape_html(title),
        d = escape_html(&desc),
    );
    for (i, (_, n)) in slices.iter().enumerate() {
        let ch = *n as f64 / max * (base - 16.0);
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cw:.1}\" height=\"{ch:.1}\" class=\"st-svg-bar\"/>",
            x = i as f64 * col + 1.0,
            y = base - ch,
            cw = (col - 2.0).max(1.0),
        ));
    }
    svg.push_str(&format!(
        "<text x=\"0\" y=\"{ly}\" class=\"st-svg-label\">{first}</text><text x=\"{w}\" y=\"{ly}\" text-anchor=\"end\" class=\"st-svg-label\">now</text><text x=\"{w}\" y=\"12\" text-anchor=\"end\" class=\"st-svg-value\">max {m}</text></svg>",
        ly = h - 4.0,
        first = escape_html(&slices.first().map(|(at, _)| date_time(*at)).unwrap_or_default()),
        m = max as u64,
    ));
    svg
}

/// "1 room", "3 rooms".
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn slice_label(at: u64, period: &str) -> String {
    if period == "day" {
        date_time(at)
    } else {
        date(at)
    }
}

/// `2026-11-27` (UTC) from Unix seconds.
fn date(at: u64) -> String {
    let (y, m, d) = civil((at / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2026-11-27 14:00` (UTC).
fn date_time(at: u64) -> String {
    let s = at % 86_400;
    format!("{} {:02}:{:02}", date(at), s / 3600, s % 3600 / 60)
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's
/// `civil_from_days` (a dozen lines; not worth a date crate here).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date_time(1_795_787_100), "2026-11-27 13:45");
        assert_eq!(date(951_782_400), "2000-02-29");
    }

    #[test]
    fn charts_have_a_title_a_description_and_escape_names() {
        let svg = bar_chart(
            "c",
            "Hours",
            &[("<A&B>".into(), 2.5), ("C".into(), 1.0)],
            1,
            "h",
        );
        assert!(svg.contains("role=\"img\""), "{svg}");
        assert!(svg.contains("<title id=\"c-title\">Hours</title>"), "{svg}");
        assert!(svg.contains("&lt;A&amp;B&gt;: 2.5 h; C: 1.0 h"), "{svg}");
        assert!(!svg.contains("<A&B>"), "{svg}");
        // A few minutes: a sliver against a scale of at least one hour,
        // labelled as under the labels' precision, not "0.0 h".
        let small = bar_chart("s", "Hours", &[("A".into(), 0.02)], 1, "h");
        assert!(!small.contains("0.0 h"), "{small}");
        assert!(small.contains("A: &lt; 0.1 h"), "{small}");
        assert!(small.contains("width=\"3.8\""), "{small}");
        let empty = bar_chart("e", "Hours", &[], 1, "h");
        assert!(empty.contains("Nothing recorded"), "{empty}");
        let cols = column_chart("t", "Presses", &[(0, 0), (3600, 4)]);
        assert!(
            cols.contains("4 presses in 2 slices; the busiest began 1970-01-01 01:00 with 4"),
            "{cols}"
        );
    }
}
