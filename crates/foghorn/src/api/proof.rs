//! `GET /v1/events/{id}/proof` and `GET /v1/proof/public-key`: the signed
//! proof of notice of an event (JSON, or printable HTML or PDF), and the
//! tenant's key to check it with.
//!
//! Every export is a new audit row, so even a read answers with a fresh
//! anchor; the JSON is sent as the exact bytes that were signed.

use super::auth::{Auth, Scope};
use super::extract::{ApiPath, ApiQuery};
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use foghorn_engine::proof;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// How the proof is rendered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The signed export (canonical JSON): what `foghorn proof verify` checks.
    #[default]
    Json,
    /// A printable page.
    Html,
    /// The printable page as a PDF.
    Pdf,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// `json` (default), `html` or `pdf`.
    #[param(value_type = Option<Format>)]
    pub format: Option<Format>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyView {
    /// Always `Ed25519`.
    pub algorithm: String,
    /// The first 8 bytes of the key's SHA-256, hex; exports name it.
    pub key_id: String,
    /// The raw 32-byte public key, base64; pin it for `foghorn proof verify --public-key`.
    pub public_key: String,
}

/// The proof of notice of an event
///
/// Per affected owner: every attempt (time, channel, provider, provider
/// message id), every provider receipt, the acknowledgement (how, when, by
/// whom) or the reason there is none; then totals (reached, acknowledged,
/// unreachable). The JSON is canonical and signed with the tenant's
/// Ed25519 key, and anchored in the audit chain (a `proof.export` row).
#[utoipa::path(get, path = "/v1/events/{id}/proof", tag = "events",
    params(("id" = String, Path, description = "Event id (evt_…)"), ProofQuery),
    responses(
        (status = 200, description = "The signed export (format=json), a printable page (format=html) or a PDF (format=pdf)",
            content((Object = "application/json"), (String = "text/html"), (Vec<u8> = "application/pdf"))),
        (status = 404, description = "No such event in this tenant", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown format", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["read"])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ProofQuery>,
) -> ApiResult<Response> {
    auth.require(Scope::Read)?;
    let actor = format!("key:{}", auth.key_id);
    let now = foghorn_core::clock::now_ms();
    let export = proof::export(&state.store, &auth.tenant_id, &id, &actor, now)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no event `{id}`")))?;
    let (content_type, body) = match q.format.unwrap_or_default() {
        Format::Json => ("application/json", export.json.into_bytes()),
        Format::Html => (
            "text/html; charset=utf-8",
            proof::html::render(&export.proof).into_bytes(),
        ),
        Format::Pdf => ("application/pdf", proof::pdf::render(&export.proof)),
    };
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Personal data about the event's owners: never kept by a cache.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

/// The tenant's proof-signing public key
///
/// Made on first use. Keep a copy apart from the exports: checking an
/// export against a pinned key proves who signed it.
#[utoipa::path(get, path = "/v1/proof/public-key", tag = "events",
    responses((status = 200, body = PublicKeyView)),
    security(("bearer" = ["read"])))]
pub async fn public_key(
    State(state): State<Arc<AppState>>,
    auth: Auth,
) -> ApiResult<Json<PublicKeyView>> {
    auth.require(Scope::Read)?;
    let now = foghorn_core::clock::now_ms();
    let key = proof::public_key(&state.store, &auth.tenant_id, now).await?;
    Ok(Json(PublicKeyView {
        algorithm: proof::ALGORITHM.into(),
        key_id: key.key_id,
        public_key: key.public_key,
    }))
}
