//! RFC 9457 problem details: the one place errors become HTTP answers.
//!
//! Handlers return [`ApiError`]; its `type` is a stable URN clients can
//! match on, `detail` is for humans, `field` names the offending input. A 5xx
//! answer is deliberately opaque; its cause is logged, not sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier, `urn:foghorn:problem:<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request field at fault (JSON path), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub field: Option<String>,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            slug,
            title,
            detail: detail.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            detail,
        )
    }

    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            "Invalid field",
            detail,
        )
        .with_field(field)
    }

    pub fn unknown_event(name: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-event",
            "Unknown event",
            format!("no workflow answers the event `{name}`"),
        )
        .with_field("name")
    }

    pub fn unknown_subscriber(index: usize, id: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-subscriber",
            "Unknown subscriber",
            format!("no subscriber has the id `{id}`; create it with PUT /v1/subscribers/{{id}} or pass an inline recipient"),
        )
        .with_field(format!("to[{index}]"))
    }

    /// Stripe's rule: a key names one request; another body under it is
    /// a client bug, not a repeat.
    pub fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "idempotency-key-reused",
            "Idempotency key reused",
            "this idempotency key was first used with a different request (name, to, data, send_at, priority or grouping_key); repeat that request exactly, or use a new key",
        )
        .with_field("idempotency_key")
    }

    pub fn invalid_link() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-link",
            "Invalid link",
            "the link is not valid (altered, truncated, or from another installation)",
        )
    }

    pub fn expired_link() -> Self {
        Self::new(
            StatusCode::GONE,
            "link-expired",
            "Link expired",
            "the link has expired",
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
    }

    /// A provider callback whose signature, key or timestamp does not verify.
    pub fn bad_signature(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid-signature",
            "Callback not verified",
            detail,
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient-scope",
            "Forbidden",
            detail,
        )
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", what)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "this path does not accept that method",
        )
    }

    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            "the body exceeds the configured limit (security.max_body_bytes)",
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as application/json",
        )
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            "this API key is over its request rate (security.key_rate_per_second)",
        );
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        );
        e.retry_after = Some(1);
        e
    }

    /// Logs the cause; the client sees only that something failed.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the request could not be completed; it was not applied",
        )
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:foghorn:problem:{}", self.slug),
            title: self.title.into(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            field: self.field.clone(),
        }
    }
}

impl From<foghorn_store::StoreError> for ApiError {
    fn from(e: foghorn_store::StoreError) -> Self {
        ApiError::internal(&e)
    }
}

/// Building or signing a proof failed: the store, or a stored key that no
/// longer opens. Nothing the caller sent is at fault.
impl From<foghorn_engine::proof::ProofError> for ApiError {
    fn from(e: foghorn_engine::proof::ProofError) -> Self {
        ApiError::internal(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut res = (self.status, body).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.slug == "unauthorized" {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A field the engine's checks refused: 422 naming it.
impl From<foghorn_engine::fields::FieldError> for ApiError {
    fn from(e: foghorn_engine::fields::FieldError) -> ApiError {
        ApiError::validation(e.field, e.message)
    }
}
