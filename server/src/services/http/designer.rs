//! `/designer`: the Project Designer's page shell. The designer itself is
//! public/designer.js (the page) and pkg/designer.{js,wasm} (controller-core
//! compiled to wasm: validation, comment-keeping TOML edits), its own
//! bundle, loaded by this page only, so a panel never downloads it. It
//! works on the admin API (`/admin/api/*`, admin.rs) with the admin page's
//! session: open a version, upload the edit as the pending project, diff,
//! apply; its preview is the real panel over a preview controller
//! (preview.rs), framed by this page.

use app::text::escape_html as escape;
use axum::http::header;
use axum::response::{Html, IntoResponse};

use super::layers::DESIGNER_CSP;

/// The page for a logged-in admin (the caller checks the session), with
/// the designer's own Content-Security-Policy (its wasm must compile).
pub fn page(user: &str) -> impl IntoResponse {
    let html = Html(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Project Designer · roomctl</title>
<link rel="stylesheet" href="/pkg/roomctl.css"><link rel="stylesheet" href="/designer.css"></head>
<body class="designer-body"><div id="designer" class="designer" data-user="{user}">
<header class="designer-head"><h1>Project Designer</h1>
<nav aria-label="Pages"><a href="/admin">Admin</a> · <a href="/status">Status</a> · <a href="/">Panel</a></nav>
<span class="designer-session">Logged in as <strong>{user}</strong></span>
<form method="post" action="/logout"><button type="submit">Log out</button></form></header>
<main id="designer-main"><p id="designer-loading" role="status">Loading the designer…</p>
<noscript><p>The designer needs JavaScript. Projects can also be uploaded as files on the <a href="/admin">admin page</a>.</p></noscript></main>
</div><script type="module" src="/designer.js"></script></body></html>"#,
        user = escape(user),
    ));
    ([(header::CONTENT_SECURITY_POLICY, DESIGNER_CSP)], html)
}
