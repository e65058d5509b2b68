//! The HTTP API: one file per resource, auth and JSON
//! parsing in extractors so handlers read as the happy path, and every error
//! mapped to problem+json in `problem`.

pub mod acknowledge;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod budgets;
pub mod catalog;
pub mod destinations;
pub mod docs;
pub mod events;
pub mod extract;
pub mod health;
pub mod hooks;
pub mod interactions;
pub mod json;
pub mod links;
pub mod media;
pub mod notifications;
pub mod openapi;
pub mod overview;
pub mod preferences;
pub mod preview;
pub mod problem;
pub mod proof;
pub mod providers;
pub mod reports;
pub mod sandbox;
pub mod subscribers;
pub mod suppressions;
pub mod unsubscribe;
pub mod voice;
pub mod workflows;

use crate::engine::outbound::OutboundSettings;
use crate::engine::{Acceptor, Routing};
use crate::workflow::Registry;
use auth::KeyCache;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use foghorn_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use problem::ApiError;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;
use utoipa::OpenApi;

pub struct AppState {
    pub store: Store,
    /// None on `--role worker` nodes, which accept no events.
    pub acceptor: Option<Acceptor>,
    pub workflows: Arc<Registry>,
    pub keys: KeyCache,
    /// Per-key request pacing.
    pub key_limiter: Option<auth::KeyLimiter>,
    pub metrics: PrometheusHandle,
    /// Wakes this node's workers (replays).
    pub wake: Arc<Notify>,
    /// Provider routing, per tenant.
    pub routes: Arc<crate::engine::TenantRoutes>,
    pub config: crate::config::Config,
    /// Verifies and applies provider callbacks.
    pub inbound: Arc<crate::inbound::Inbound>,
    /// Answers what people do in Slack and Discord.
    pub team: Arc<foghorn_engine::team::Team>,
    /// Serves the pages of the calls Foghorn places.
    pub calls: Arc<foghorn_engine::voice::Calls>,
    /// Callback signatures cover this URL (no trailing slash).
    pub public_url: Option<String>,
    /// Largest accepted request body (callbacks read theirs whole).
    pub max_body_bytes: usize,
    /// The providers per channel (previews estimate with the first).
    pub routing: Arc<Routing>,
    /// Price table and unsubscribe links.
    pub outbound: Arc<OutboundSettings>,
}

pub fn router(state: Arc<AppState>, max_body_bytes: usize) -> Router {
    // A rehearsal aid, not part of the API: absent unless `dev.clock`.
    let clock = if state.config.dev.clock {
        Router::new().route("/v1/admin/clock", post(admin::move_clock))
    } else {
        Router::new()
    };
    clock
        .route("/v1/events", post(events::post_event))
        .route("/v1/cancellations", post(events::cancel))
        .route("/v1/events/{id}/proof", get(proof::get))
        .route("/v1/proof/public-key", get(proof::public_key))
        .route("/v1/notifications", get(notifications::list))
        .route("/v1/notifications/{id}", get(notifications::get))
        .route("/v1/dlq", get(notifications::dlq))
        .route("/v1/dlq/{id}/replay", post(notifications::replay))
        .route(
            "/v1/subscribers/{external_id}",
            put(subscribers::put)
                .get(subscribers::get)
                .delete(subscribers::delete),
        )
        .route(
            "/v1/subscribers/{external_id}/consents",
            get(subscribers::consents),
        )
        .route(
            "/v1/subscribers/{external_id}/export",
            get(subscribers::export),
        )
        .route(
            "/v1/subscribers/{external_id}/preferences",
            get(preferences::get).put(preferences::put),
        )
        .route(
            "/v1/preferences/categories",
            get(preferences::get_categories).put(preferences::put_categories),
        )
        .route(
            "/v1/preferences/quiet-hours",
            get(preferences::get_quiet_hours).put(preferences::put_quiet_hours),
        )
        .route("/v1/workflows", get(workflows::list))
        .route(
            "/v1/workflows/{name}",
            get(workflows::get)
                .put(workflows::put)
                .delete(workflows::delete),
        )
        .route("/v1/workflows/{name}/preview", post(preview::preview))
        .route("/v1/reports/costs", get(reports::costs))
        .route("/v1/reports/overview", get(overview::get))
        .route("/v1/audit", get(audit::list))
        .route("/v1/budgets", get(budgets::get).put(budgets::put))
        .route(
            "/v1/destinations",
            get(destinations::get).put(destinations::put),
        )
        .route("/l/{code}", get(links::follow))
        .route(
            "/a/{token}",
            get(acknowledge::page).post(acknowledge::confirm),
        )
        .route("/m/{token}", get(media::download))
        .route(
            "/p/{token}/unsubscribe",
            get(unsubscribe::page).post(unsubscribe::confirm),
        )
        .route("/v1/sandbox/messages", get(sandbox::messages))
        .route("/v1/suppressions", get(suppressions::list))
        .route(
            "/v1/suppressions/{channel}/{address}",
            delete(suppressions::delete),
        )
        .route(
            "/hooks/{provider}",
            post(hooks::receive).get(hooks::receive),
        )
        .route("/interactions/{app}", post(interactions::receive))
        .route(
            "/voice/{provider}/{notification}",
            get(voice::page).post(voice::page),
        )
        .route("/v1/catalog/search", get(catalog::search))
        .route(
            "/v1/admin/tenants/{id}",
            put(admin::put_tenant).get(admin::get_tenant),
        )
        .route("/v1/providers", get(providers::list))
        .route("/v1/providers/{name}/test", post(providers::test))
        .route(
            "/v1/providers/{name}",
            put(providers::put)
                .get(providers::get)
                .delete(providers::delete),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route(
            "/openapi.json",
            get(|| async { Json(openapi::ApiDoc::openapi()) }),
        )
        .route("/docs", get(docs::page))
        .route("/docs/docs.js", get(docs::script))
        .route("/docs/docs.css", get(docs::style))
        .merge(crate::ui::routes())
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn(access_log))
        .with_state(state)
}

/// One line per request: method, route template (never the concrete path,
/// which may hold a subscriber id), status and latency. No bodies, no headers.
async fn access_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let res = next.run(req).await;
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    metrics::histogram!("foghorn_http_request_seconds", "route" => route.clone(), "status" => status.to_string())
        .record(elapsed.as_secs_f64());
    if status >= 500 {
        tracing::warn!(%method, %route, status, ms = elapsed.as_secs_f64() * 1000.0, "request");
    } else {
        tracing::debug!(%method, %route, status, ms = elapsed.as_secs_f64() * 1000.0, "request");
    }
    res.into_response()
}
