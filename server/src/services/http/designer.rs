//! `/designer`: the Project Designer's route. The designer is a screen of
//! the app (app/src/designer/), rendered by the server like the other
//! screens and hydrated by its own bundle (pkg/designer.{js,wasm}, loaded
//! by this page only, so a panel never downloads it), for a logged-in admin
//! only. It works on the admin API (`/admin/api/*`, admin.rs) with the admin
//! page's session: open a version, upload the edit as the pending project,
//! diff, apply; its preview is the real panel over a preview controller
//! (preview.rs), framed by this page.

use app::AdminUser;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::MethodRouter;
use axum::Router;

use crate::state::controller::Controller;

/// In front of the designer's screen: an admin's session (whose name the
/// page shows), or the login form, back here after.
async fn admin_only(
    State(controller): State<Controller>,
    mut request: Request,
    next: Next,
) -> Response {
    match super::admin::admin_session(&controller, request.headers()) {
        Some((_, user)) => {
            request.extensions_mut().insert(AdminUser(user));
            next.run(request).await
        }
        None => Redirect::to(&format!("/login?next={}", app::Screen::DESIGNER)).into_response(),
    }
}

/// The designer's route on `router`: `page` (the app's renderer) behind
/// [`admin_only`].
pub(super) fn route<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    page: MethodRouter<S>,
    controller: Controller,
) -> Router<S> {
    let gate = axum::middleware::from_fn_with_state(controller, admin_only);
    router.route(app::Screen::DESIGNER, page.layer(gate))
}
