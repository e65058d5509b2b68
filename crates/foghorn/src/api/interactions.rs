//! `POST /interactions/slack` and `POST /interactions/discord`: what people
//! do in the chat apps (a button, a slash command), signed by the app. No
//! API key: the app's signature is the authentication; `?tenant=ID` picks
//! the tenant whose accounts verify it and whose data answers.

use super::extract::ApiPath;
use super::hooks::{tenant_of, Called};
use super::json::{nesting_depth, MAX_DEPTH};
use super::problem::ApiError;
use super::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use foghorn_core::TenantId;
use std::sync::Arc;

/// The apps that call this endpoint.
const APPS: [&str; 2] = ["slack", "discord"];

/// Receive a chat app's interaction
///
/// Slack: `block_actions` (a form with `payload`) and slash commands,
/// signed with `X-Slack-Signature`. Discord: interactions signed with
/// Ed25519 (`X-Signature-Ed25519`); a PING answers `{"type":1}`.
/// Acknowledge buttons record who and when on the notification; `/find`
/// and `/boat-status` answer from the tenant's document catalog.
#[utoipa::path(post, path = "/interactions/{app}", tag = "hooks", operation_id = "interactions_receive",
    params(
        ("app" = String, Path, description = "slack or discord"),
        ("tenant" = Option<String>, Query, description = "Tenant id; `default` when absent"),
    ),
    request_body(content = String, description = "The app's request, as it sends it (form or JSON)"),
    responses(
        (status = 200, description = "The app's answer (JSON, or empty)"),
        (status = 400, description = "Verified but unreadable", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad signature, wrong key or stale timestamp; nothing changed", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such app, no account of it set up for interactions, or no such tenant", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn receive(
    State(state): State<Arc<AppState>>,
    ApiPath(app): ApiPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let app = app.to_ascii_lowercase();
    if !APPS.contains(&app.as_str()) {
        return Err(ApiError::not_found(format!(
            "no app `{app}` (expected slack or discord)"
        )));
    }
    let called = Called::read(&state, method, &uri, &headers, body).await?;
    if nesting_depth(&called.body) > MAX_DEPTH {
        return Err(ApiError::bad_request(format!(
            "JSON nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let req = called.request();
    let tenant = tenant_of(&uri)
        .map(TenantId::from)
        .unwrap_or_else(TenantId::default_tenant);
    let reply = state.team.receive(&app, &tenant, &req).await?;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    Ok((
        status,
        [(header::CONTENT_TYPE, reply.content_type)],
        reply.body,
    )
        .into_response())
}
