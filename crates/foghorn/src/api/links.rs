//! `GET /l/{code}`: a short link from an SMS. Redirects (302) to the
//! target and records the click on the notification it was sent in. No
//! login: the code is unguessable and only leads where the message did.

use super::extract::ApiPath;
use super::problem::ApiError;
use super::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Follow a short link
#[utoipa::path(get, path = "/l/{code}", tag = "links",
    params(("code" = String, Path, description = "The code from the SMS")),
    responses((status = 302, description = "To the link's target; the click is recorded"),
        (status = 404, body = super::problem::Problem, content_type = "application/problem+json")))]
pub async fn follow(
    State(state): State<Arc<AppState>>,
    ApiPath(code): ApiPath<String>,
) -> Response {
    let valid = code.len() == crate::engine::short_links::CODE_LEN
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let link = match valid {
        true => match state.store.short_link(&code).await {
            Ok(l) => l,
            Err(e) => return ApiError::from(e).into_response(),
        },
        false => None,
    };
    let Some(link) = link else {
        return ApiError::not_found("no such link").into_response();
    };
    let Ok(location) = HeaderValue::from_str(&link.url) else {
        return ApiError::not_found("no such link").into_response();
    };
    // A lost click must not cost the person their page.
    let now = foghorn_core::clock::now_ms();
    if let Err(e) = state.store.record_click(&link, &code, now).await {
        tracing::warn!(error = %e, "recording a link click failed");
    }
    let mut res = StatusCode::FOUND.into_response();
    let h = res.headers_mut();
    h.insert(header::LOCATION, location);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}
