//! The panel icon set: small inline SVG paths, so a panel needs no icon font
//! or extra request. Names are listed in docs/project-format.md. Shared by
//! the panel (app) and the Project Designer's icon picker (designer).

/// Every icon name, in the order the designer's picker shows them.
pub const NAMES: [&str; 15] = [
    "power",
    "hdmi",
    "pc",
    "volume_up",
    "volume_down",
    "mute",
    "arrow_up",
    "arrow_down",
    "light",
    "light_off",
    "home",
    "camera",
    "mic",
    "blinds",
    "phone",
];

pub fn path(name: &str) -> &'static str {
    match name {
        "power" => "M12 3v9M6.3 6.3a8 8 0 1 0 11.4 0",
        "hdmi" => "M3 8h18v5l-3 3H6l-3-3zM7 11h10",
        "pc" => "M3 4h18v12H3zM8 20h8M12 16v4",
        "volume_up" => "M4 9h4l5-4v14l-5-4H4zM16 8a5 5 0 0 1 0 8M18.5 5.5a9 9 0 0 1 0 13",
        "volume_down" => "M4 9h4l5-4v14l-5-4H4zM16 9.5a3.5 3.5 0 0 1 0 5",
        "mute" => "M4 9h4l5-4v14l-5-4H4zM16 9l5 6M21 9l-5 6",
        "arrow_up" => "M12 19V5M5 12l7-7 7 7",
        "arrow_down" => "M12 5v14M5 12l7 7 7-7",
        "light" => "M9 18h6M10 21h4M12 3a6 6 0 0 0-4 10.5c.8.8 1 1.5 1 2.5h6c0-1 .2-1.7 1-2.5A6 6 0 0 0 12 3z",
        "light_off" => "M9 18h6M10 21h4M12 3a6 6 0 0 0-4 10.5c.8.8 1 1.5 1 2.5h6c0-1 .2-1.7 1-2.5A6 6 0 0 0 12 3zM3 3l18 18",
        "home" => "M3 11l9-8 9 8M5 10v10h14V10",
        "camera" => "M3 7h4l2-3h6l2 3h4v13H3zM12 17a4 4 0 1 0 0-8 4 4 0 0 0 0 8z",
        "mic" => "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3",
        "blinds" => "M4 3h16M5 3v14h14V3M5 7h14M5 11h14M5 15h14M12 17v4",
        "phone" => "M5 3h4l2 5-3 2a11 11 0 0 0 6 6l2-3 5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z",
        _ => "M5 5h14v14H5z",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_its_own_icon() {
        let fallback = path("no such icon");
        for name in NAMES {
            assert_ne!(path(name), fallback, "{name}");
        }
    }
}
