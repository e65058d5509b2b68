//! `POST /v1/events` and `POST /v1/cancellations`.
//!
//! The checks and the plan are the engine's intake, shared with
//! `foghorn send`; this is the HTTP edge of it: the header key, the status
//! (202 new, 200 repeat) and the problem+json of a refusal.

use super::auth::{Auth, Scope};
use super::json::ApiJson;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use foghorn_engine::intake::{self, check_key, Accepted, IntakeError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

pub use foghorn_engine::intake::{EventRequest, InlineRecipient, Priority, RecipientInput};

#[derive(Debug, Serialize, ToSchema)]
pub struct EventAccepted {
    pub event_id: String,
    pub notifications: Vec<NotificationSummary>,
    /// A series' reminders whose time had passed: not sent late.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Vec<SkippedReminder>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedReminder {
    /// The offset as the workflow wrote it: `-30d`.
    pub reminder: String,
    pub channel: foghorn_core::Channel,
    pub recipient: Option<String>,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationSummary {
    pub id: String,
    pub channel: foghorn_core::Channel,
    pub status: foghorn_core::Status,
    /// The subscriber id, when the notification is for a person.
    pub recipient: Option<String>,
    /// When a scheduled one is due (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_at: Option<String>,
    /// A reminder of a series: its offset (`-30d`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reminder: Option<String>,
    /// The event joined this digest, which another event opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<bool>,
}

/// Accept an event
///
/// Writes the event, its notifications and their jobs in one transaction
/// before answering. A repeat with the same idempotency key answers 200 with
/// the first response and writes nothing; the same key with another request
/// (name, to, data, send_at, priority or grouping_key) answers 409.
#[utoipa::path(post, path = "/v1/events", tag = "events",
    request_body = EventRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Alternative to the body's idempotency_key")),
    responses(
        (status = 202, description = "Accepted and durably queued", body = EventAccepted),
        (status = 200, description = "A repeat: the first answer", body = EventAccepted),
        (status = 409, description = "The idempotency key was first used with another request", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or bad key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown event, unknown subscriber or invalid field", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["events:write"])))]
pub async fn post_event(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<EventRequest>,
) -> ApiResult<Response> {
    auth.require(Scope::EventsWrite)?;
    let acceptor = state
        .acceptor
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("this node does not accept events"))?;
    let header_key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::validation("Idempotency-Key", "must be text"))?
                .to_string(),
        ),
        None => None,
    };
    let (status, body) =
        match intake::accept(&state.workflows, acceptor, &auth.tenant_id, req, header_key).await? {
            Accepted::Created(body) => (StatusCode::ACCEPTED, body),
            Accepted::Repeat(body) => (StatusCode::OK, body),
        };
    Ok((
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> ApiError {
        match e {
            IntakeError::Field(f) => f.into(),
            IntakeError::UnknownEvent(name) => ApiError::unknown_event(&name),
            IntakeError::UnknownSubscriber { index, id } => {
                ApiError::unknown_subscriber(index, &id)
            }
            IntakeError::KeyReused => ApiError::idempotency_key_reused(),
            e @ IntakeError::Workflows(_) => ApiError::unavailable(e.to_string()),
            IntakeError::Stopped => ApiError::unavailable("the server is shutting down"),
            IntakeError::Store(e) => ApiError::internal(&e),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Cancels the pending notifications of the event with this key.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub idempotency_key: Option<String>,
    /// Cancels every pending notification with this grouping key.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub grouping_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cancelled {
    pub cancelled: Vec<String>,
}

/// Cancel pending notifications
///
/// Only notifications still waiting (queued or scheduled) are cancelled;
/// one already with a provider is not recalled.
#[utoipa::path(post, path = "/v1/cancellations", tag = "events", request_body = CancelRequest,
    responses((status = 200, body = Cancelled), (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["events:write"])))]
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(req): ApiJson<CancelRequest>,
) -> ApiResult<axum::Json<Cancelled>> {
    auth.require(Scope::EventsWrite)?;
    if req.idempotency_key.is_none() && req.grouping_key.is_none() {
        return Err(ApiError::validation(
            "idempotency_key",
            "give idempotency_key or grouping_key",
        ));
    }
    check_key("idempotency_key", &req.idempotency_key)?;
    check_key("grouping_key", &req.grouping_key)?;
    let now = foghorn_core::clock::now_ms();
    let ids = state
        .store
        .cancel(
            &auth.tenant_id,
            req.idempotency_key.as_deref(),
            req.grouping_key.as_deref(),
            now,
            &auth.audit(
                "notifications.cancel",
                req.idempotency_key
                    .as_deref()
                    .or(req.grouping_key.as_deref())
                    .unwrap_or_default(),
            ),
        )
        .await?;
    Ok(axum::Json(Cancelled { cancelled: ids }))
}
