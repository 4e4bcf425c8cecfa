//! The station's static files: its stylesheet, the product's icon, its
//! wasm bundle (`pkg/station.{js,wasm}`, built by scripts/build-site.sh
//! with the precompressed copies served when the browser takes them), and
//! what a room's panel page loads (the panel's own bundle and stylesheet,
//! and its wake lock: see [`super::panel`]).

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
use tower_http::services::ServeFile;
use tower_http::set_header::SetResponseHeader;

use super::Station;

/// The station's stylesheet, and its wasm bundle (`pkg/station.js`,
/// `pkg/station.wasm` from the site scripts/build-site.sh builds, with their
/// compressed copies), and the panel's files for rooms' panels (the status
/// and admin pages' bundles are not served).
pub(super) fn screen() -> Router<Arc<Station>> {
    let site = std::path::PathBuf::from(&*crate::services::http::leptos_options().site_root);
    let file = |name: &str| {
        SetResponseHeader::if_not_present(
            ServeFile::new(site.join(name))
                .precompressed_br()
                .precompressed_gzip(),
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        )
    };
    Router::new()
        .route_service("/pkg/station.js", file("pkg/station.js"))
        .route_service("/pkg/station.wasm", file("pkg/station.wasm"))
        .route_service("/pkg/roomctl.js", file("pkg/roomctl.js"))
        .route_service("/pkg/roomctl.wasm", file("pkg/roomctl.wasm"))
        .route_service("/pkg/roomctl.css", file("pkg/roomctl.css"))
        .route_service("/kiosk.js", file("kiosk.js"))
        .route(
            "/station.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css")],
                    include_str!("../../../public/station.css"),
                )
            }),
        )
        // The product's icon, as the panel's pages have it (a browser
        // asks for one on every page).
        .route(
            "/icon.svg",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/svg+xml")],
                    include_str!("../../../public/icon.svg"),
                )
            }),
        )
}
