//! `/v1/admin/tenants/{id}`: tenants, managed with an operator key (a key of
//! no tenant). Operator keys see no tenant's data; tenant keys cannot reach
//! these endpoints.

use super::auth::{Auth, Scope};
use super::extract::ApiPath;
use super::json::ApiJson;
use super::notifications::rfc3339;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use crate::commands::valid_tenant_id;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use foghorn_core::TenantId;
use foghorn_store::TenantRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantInput {
    pub name: String,
    /// Tenant settings (help text, senders, …).
    #[schema(value_type = Object)]
    pub settings: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub settings: Value,
    pub created_at: String,
    pub updated_at: String,
}

fn view(t: TenantRow) -> Tenant {
    Tenant {
        settings: serde_json::from_str(&t.settings).unwrap_or(Value::Null),
        id: t.id.to_string(),
        name: t.name,
        created_at: rfc3339(t.created_at),
        updated_at: rfc3339(t.updated_at),
    }
}

/// Create or update a tenant (operator keys only)
#[utoipa::path(put, path = "/v1/admin/tenants/{id}", tag = "admin", request_body = TenantInput,
    params(("id" = String, Path, description = "Tenant id: a-z, 0-9, '-' or '_'", pattern = "^[a-z0-9_-]{1,63}$")),
    responses((status = 201, body = Tenant), (status = 200, body = Tenant),
        (status = 403, body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["operator"])))]
pub async fn put_tenant(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<TenantInput>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    auth.require(Scope::Operator)?;
    if !valid_tenant_id(&id) {
        return Err(ApiError::validation(
            "id",
            "1-63 characters of a-z, 0-9, '-' or '_'",
        ));
    }
    if input.name.trim().is_empty() || input.name.len() > 200 {
        return Err(ApiError::validation("name", "must be 1 to 200 characters"));
    }
    let settings = match input.settings {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(v @ Value::Object(_)) => v,
        Some(_) => return Err(ApiError::validation("settings", "must be a JSON object")),
    };
    super::providers::refuse_references(&settings, "settings")?;
    if let Some(url) = settings.get("inbound_webhook_url").and_then(Value::as_str) {
        super::providers::check_tenant_url(
            url,
            "settings.inbound_webhook_url",
            state.config.security.allow_private_targets_for_tenants,
        )?;
    }
    let now = foghorn_core::clock::now_ms();
    let created_at = state
        .store
        .tenant(&TenantId::from(id.as_str()))
        .await?
        .map(|t| t.created_at)
        .unwrap_or(now);
    let row = TenantRow {
        id: TenantId::from(id.clone()),
        name: input.name,
        settings: settings.to_string(),
        created_at,
        updated_at: now,
    };
    let created = state
        .store
        .put_tenant(&row, &auth.audit("tenant.put", &id))
        .await?;
    let stored = state
        .store
        .tenant(&TenantId::from(id.as_str()))
        .await?
        .ok_or_else(|| ApiError::internal(&"tenant vanished after write"))?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(view(stored)),
    ))
}

/// Read a tenant (operator keys only)
#[utoipa::path(get, path = "/v1/admin/tenants/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = Tenant), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["operator"])))]
pub async fn get_tenant(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Tenant>> {
    auth.require(Scope::Operator)?;
    let t = state
        .store
        .tenant(&TenantId::from(id.as_str()))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no tenant `{id}`")))?;
    Ok(Json(view(t)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockMove {
    /// Forward by this many milliseconds.
    pub advance_ms: Option<i64>,
    /// Or to this instant (RFC 3339).
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// Moves this node's clock forward (operator keys, `dev.clock` only), then
/// wakes the workers so jobs that became due go at once.
pub async fn move_clock(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(input): ApiJson<ClockMove>,
) -> ApiResult<Json<Value>> {
    auth.require(Scope::Operator)?;
    let moved = match (input.advance_ms, input.to) {
        (Some(ms), None) => foghorn_core::clock::advance_ms(ms),
        (None, Some(at)) => foghorn_core::clock::set_ms(at.timestamp_millis()),
        _ => {
            return Err(ApiError::validation(
                "advance_ms",
                "give either advance_ms or to",
            ))
        }
    };
    let now = moved.map_err(|e| ApiError::validation("to", e.to_string()))?;
    tracing::warn!(now = %rfc3339(now), "the clock was moved");
    state.wake.notify_one();
    Ok(Json(serde_json::json!({ "now": rfc3339(now) })))
}
