//! The dashboard (`/ui/`) and the preference centre (`/p/{token}`): HTML
//! served by the binary itself, from templates, a stylesheet and one small
//! script compiled in; every page works without JavaScript.

pub mod i18n;
pub mod page;
pub mod pages;
pub mod preference_centre;
pub mod session;

use crate::api::AppState;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// The dashboard's routes and the preference centre's.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/ui",
            get(|| async { axum::response::Redirect::permanent("/ui/") }),
        )
        .route("/ui/", get(pages::overview))
        .route("/ui/login", get(pages::login_page).post(pages::login))
        .route("/ui/logout", post(pages::logout))
        .route("/ui/signin/{token}", get(pages::signin_link))
        .route("/ui/notifications", get(pages::notifications))
        .route("/ui/notifications/{id}", get(pages::notification))
        .route("/ui/events/{id}/proof", get(pages::proof))
        .route("/ui/dlq", get(pages::dlq))
        .route("/ui/dlq/replay", post(pages::replay))
        .route("/ui/providers", get(pages::providers))
        .route("/ui/providers/{name}/test", post(pages::provider_test))
        .route("/ui/workflows", get(pages::workflows))
        .route(
            "/ui/workflows/{name}",
            get(pages::workflow).post(pages::workflow_preview),
        )
        .route("/ui/subscribers", get(pages::subscribers))
        .route("/ui/sandbox", get(pages::sandbox_inbox))
        .route("/ui/costs", get(pages::costs))
        .route("/ui/costs.csv", get(pages::costs_csv))
        .route("/ui/audit", get(pages::audit_log))
        .route("/ui/assets/ui.css", get(pages::stylesheet))
        .route("/ui/assets/ui.js", get(pages::script))
        .route(
            "/p/{token}",
            get(preference_centre::page).post(preference_centre::save),
        )
}
