//! `GET /m/{token}`: a file someone sent by WhatsApp, by the signed,
//! expiring link its `document.received` webhook carries. No login: the
//! token names one file of one tenant. Served as a download, never
//! rendered in Foghorn's origin.

use super::extract::ApiPath;
use super::problem::ApiError;
use super::AppState;
use crate::engine::signed_token::{verify_link, LinkError};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Download a file sent by WhatsApp
#[utoipa::path(get, path = "/m/{token}", tag = "links",
    params(("token" = String, Path, description = "The signed token from the document.received webhook")),
    responses((status = 200, description = "The file, as an attachment", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "The link is not valid, or the file is gone", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The link has expired", body = super::problem::Problem, content_type = "application/problem+json")))]
pub async fn download(
    State(state): State<Arc<AppState>>,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, ApiError> {
    let now = foghorn_core::clock::now_ms() / 1000;
    let claims = verify_link(
        state.store.crypto(),
        crate::inbound::whatsapp::MEDIA_PURPOSE,
        &token,
        now,
    )
    .map_err(|e| match e {
        LinkError::Invalid => ApiError::not_found("file"),
        LinkError::Expired => ApiError::expired_link(),
    })?;
    let Some(media) = state.store.media(&claims.tenant, &claims.id).await? else {
        return Err(ApiError::not_found("file"));
    };
    let name: String = media
        .filename
        .as_deref()
        .unwrap_or(&media.id)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(100)
        .collect();
    let mut res = (StatusCode::OK, media.bytes).into_response();
    let h = res.headers_mut();
    let mime = HeaderValue::from_str(&media.mime_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, mime);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(res)
}
