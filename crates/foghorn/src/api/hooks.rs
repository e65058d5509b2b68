//! `POST /hooks/{provider}` (and `GET`, for providers that call back with
//! GET): every callback of a provider kind. No API key: the provider's own
//! signature is the authentication, checked against the URL it called —
//! `public_url` + path + the query exactly as received.

use super::extract::ApiPath;
use super::json::{nesting_depth, MAX_DEPTH};
use super::problem::ApiError;
use super::AppState;
use crate::inbound::HookError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use foghorn_core::InboundRequest;
use foghorn_core::TenantId;
use foghorn_providers::kinds::{self, Callbacks};
use std::sync::Arc;

/// The tenant a callback names (`?tenant=ID`); without one, each report
/// finds the tenant of the notification it is about.
pub(super) fn tenant_of(uri: &Uri) -> Option<String> {
    let params = foghorn_providers::signature::query_params(&uri.to_string());
    foghorn_providers::signature::non_empty(&params, "tenant").map(str::to_string)
}

/// The URL the provider called, as it signed it.
pub(super) fn called_url(public_url: Option<&str>, headers: &HeaderMap, uri: &Uri) -> String {
    let base = match public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        // Without a configured public URL, the Host the provider reached.
        None => format!(
            "http://{}",
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost")
        ),
    };
    match uri.query() {
        Some(q) => format!("{base}{}?{q}", uri.path()),
        None => format!("{base}{}", uri.path()),
    }
}

/// The request's headers as the providers' verifiers read them.
/// A signed request from a provider or an app, read whole: what its
/// signature covers (the public URL, the headers, the raw body).
pub(super) struct Called {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: axum::body::Bytes,
}

impl Called {
    /// Reads the body up to the node's limit (413 past it).
    pub async fn read(
        state: &AppState,
        method: Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Called, ApiError> {
        let body = axum::body::to_bytes(body, state.max_body_bytes)
            .await
            .map_err(|_| ApiError::too_large())?;
        Ok(Called {
            method,
            url: called_url(state.public_url.as_deref(), headers, uri),
            headers: lowered_headers(headers),
            body,
        })
    }

    pub fn request(&self) -> InboundRequest<'_> {
        InboundRequest {
            method: self.method.as_str(),
            url: &self.url,
            headers: &self.headers,
            body: &self.body,
            now: chrono::Utc::now().timestamp(),
        }
    }
}

pub(super) fn lowered_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect()
}

impl From<HookError> for ApiError {
    fn from(e: HookError) -> Self {
        match e {
            HookError::NoProvider(kind) => ApiError::not_found(format!(
                "no provider of kind `{kind}` is configured to receive callbacks"
            )),
            HookError::NoTenant(t) => ApiError::not_found(format!("no tenant `{t}`")),
            HookError::Unauthorized(why) => ApiError::bad_signature(why),
            HookError::Malformed(why) => ApiError::bad_request(why),
            HookError::Store(e) => ApiError::internal(&e),
            HookError::Unavailable(why) => ApiError::unavailable(why),
        }
    }
}

/// Receive a provider callback
///
/// Delivery statuses, email events and incoming messages of the provider
/// kind in the path, verified by that provider's own signature scheme.
/// A valid callback about an unknown message, and a repeat, are answered
/// 200 and change nothing.
#[utoipa::path(method(post, get), path = "/hooks/{provider}", tag = "hooks",
    params(
        ("provider" = String, Path, description = "Provider kind: mailgun, sendgrid, postmark, twilio, vonage, messagebird, bandwidth, plivo or whatsapp"),
        ("tenant" = Option<String>, Query, description = "Tenant id; `default` when absent"),
    ),
    request_body(content = String, description = "The provider's callback, as it sends it (form or JSON)"),
    responses(
        (status = 200, description = "Verified; applied, or nothing to apply"),
        (status = 400, description = "Verified but unreadable", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad signature, wrong key or stale timestamp; nothing changed", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No provider of that kind receives callbacks, or no such tenant", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn receive(
    State(state): State<Arc<AppState>>,
    ApiPath(kind): ApiPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let called = Called::read(&state, method.clone(), &uri, &headers, body).await?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    if is_json && nesting_depth(&called.body) > MAX_DEPTH {
        return Err(ApiError::bad_request(format!(
            "JSON nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let req = called.request();
    let tenant = tenant_of(&uri);
    let kind = kind.to_ascii_lowercase();
    let spec = kinds::find(&kind).filter(|k| k.callbacks != Callbacks::None);
    // The path is the caller's to choose: only kinds that call back label
    // metrics.
    let label = spec.map_or("other", |k| k.name);
    let tenant = tenant.map(TenantId::from);
    // Meta checks a webhook subscription with a GET whose challenge is
    // echoed when the token matches.
    if method == Method::GET && uri.query().is_some_and(|q| q.contains("hub.mode=")) {
        let reply = state
            .inbound
            .handshake(&kind, tenant.as_ref(), &req)
            .await?;
        return Ok((
            StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK),
            [(header::CONTENT_TYPE, reply.content_type)],
            reply.body,
        )
            .into_response());
    }
    let result = state.inbound.receive(&kind, tenant.as_ref(), &req).await;
    let outcome = match &result {
        Ok(_) => "applied",
        Err(HookError::Unauthorized(_)) => "unauthorized",
        Err(HookError::Malformed(_)) => "malformed",
        Err(HookError::NoProvider(_) | HookError::NoTenant(_)) => "not_found",
        Err(HookError::Store(_) | HookError::Unavailable(_)) => "error",
    };
    metrics::counter!("foghorn_callbacks_total", "kind" => label, "outcome" => outcome)
        .increment(1);
    let received = result?;
    let s = &received.summary;
    tracing::debug!(
        kind = %kind,
        provider = %received.provider,
        events = received.events,
        applied = s.applied,
        repeats = s.repeats,
        unknown = s.unknown,
        queued = s.queued.len(),
        "callback applied"
    );
    if spec.is_some_and(|k| k.callbacks == Callbacks::EmptyTwiml) {
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml")],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>",
        )
            .into_response());
    }
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        "{}",
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_url_is_the_public_url_and_the_raw_query() {
        let uri: Uri = "/hooks/twilio?tenant=t2&n=ntf_1%2Bx".parse().unwrap();
        let h = HeaderMap::new();
        assert_eq!(
            called_url(Some("https://fh.example/"), &h, &uri),
            "https://fh.example/hooks/twilio?tenant=t2&n=ntf_1%2Bx"
        );
        assert_eq!(tenant_of(&uri).as_deref(), Some("t2"));
        let bare: Uri = "/hooks/mailgun".parse().unwrap();
        assert_eq!(
            called_url(Some("https://fh.example"), &h, &bare),
            "https://fh.example/hooks/mailgun"
        );
        assert_eq!(tenant_of(&bare), None);
    }
}
