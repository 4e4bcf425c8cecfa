//! The site's static files (`pkg/`: the panel's wasm, its JS and CSS;
//! `public/`: icons, the web manifest), from the site root.
//!
//! scripts/build-site.sh writes a `.br` and a `.gz` beside each file worth
//! it; a browser that accepts one gets it as it is (no compression work
//! per request, and the best ratio). Every file is sent with
//! `Last-Modified` and `Cache-Control: no-cache`: the names carry no
//! version, so a browser asks again on each load, and an unchanged file
//! costs a 304 with no body. A path that is no file gets the app's
//! not-found page.

use axum::http::{header, HeaderValue};
use axum::routing::MethodRouter;
use leptos::prelude::LeptosOptions;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeader;

/// The static-file service, answering what no route does.
pub fn service(options: &LeptosOptions) -> MethodRouter {
    let not_found = axum::handler::Handler::with_state(
        leptos_axum::file_and_error_handler(app::shell),
        options.clone(),
    );
    let files = ServeDir::new(&*options.site_root)
        .precompressed_br()
        .precompressed_zstd()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .fallback(not_found);
    axum::routing::any_service(SetResponseHeader::if_not_present(
        files,
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    ))
}
