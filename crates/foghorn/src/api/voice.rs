//! `GET/POST /voice/{provider}/{notification}`: the pages of the calls
//! Foghorn places, fetched by the provider (TwiML for Twilio, BXML for
//! Bandwidth). No API key:
//! the provider's signature over the public URL is the authentication,
//! checked with the call's tenant's accounts.

use super::extract::ApiPath;
use super::hooks::Called;
use super::problem::ApiError;
use super::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The providers whose calls fetch their pages here.
const PROVIDERS: [&str; 2] = ["twilio", "bandwidth"];

/// Serve a page of a call
///
/// The call's script in the person's language, then a one-key prompt:
/// 1 acknowledges the notification, 2 repeats, silence repeats once and
/// says goodbye; a machine gets a voicemail.
#[utoipa::path(method(get, post), path = "/voice/{provider}/{notification}", tag = "hooks",
    params(
        ("provider" = String, Path, description = "twilio or bandwidth"),
        ("notification" = String, Path, description = "The notification the call was placed for"),
        ("turn" = Option<u32>, Query, description = "How many times the script has played"),
    ),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "The provider's request (CallSid, Digits, AnsweredBy …)"),
    responses(
        (status = 200, description = "The page, in the provider's markup", content_type = "text/xml", body = String),
        (status = 400, description = "Verified but unreadable", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad signature, or no such call; nothing changed", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider, or none set up for calls", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = super::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn page(
    State(state): State<Arc<AppState>>,
    ApiPath((provider, notification)): ApiPath<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let provider = provider.to_ascii_lowercase();
    if !PROVIDERS.contains(&provider.as_str()) {
        return Err(ApiError::not_found(format!(
            "no voice provider `{provider}` (expected twilio or bandwidth)"
        )));
    }
    let called = Called::read(&state, method, &uri, &headers, body).await?;
    let req = called.request();
    let reply = state.calls.page(&provider, &notification, &req).await?;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    Ok((
        status,
        [(header::CONTENT_TYPE, reply.content_type)],
        reply.body,
    )
        .into_response())
}
