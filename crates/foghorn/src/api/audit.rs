//! `GET /v1/audit`: the tenant's audit rows, newest first, and whether the
//! hash chain they belong to verifies (what `foghorn audit verify` checks).

use super::auth::{Auth, Scope};
use super::extract::ApiQuery;
use super::notifications::rfc3339;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainStatus {
    pub ok: bool,
    /// Rows verified (every tenant's: the chain is one), at most a minute ago.
    pub rows: i64,
    pub first_bad_row: Option<i64>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
    pub chain: ChainStatus,
}

pub async fn audit_page(state: &AppState, auth: &Auth, q: AuditQuery) -> ApiResult<AuditPage> {
    auth.require(Scope::Admin)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 500"));
    }
    let before = match q.cursor.as_deref() {
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| ApiError::validation("cursor", "not a cursor this API gave"))?,
        ),
        None => None,
    };
    let rows = state
        .store
        .audit_recent(&auth.tenant_id, before, limit + 1)
        .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<AuditEntry> = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| AuditEntry {
            seq: r.seq,
            at: rfc3339(r.at),
            actor: r.actor,
            action: r.action,
            target: r.target,
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    let next_cursor = more
        .then(|| items.last().map(|i| i.seq.to_string()))
        .flatten();
    let chain = chain_status(state).await?;
    Ok(AuditPage {
        items,
        next_cursor,
        chain,
    })
}

/// The chain walk reads every row of every tenant: its answer is kept for
/// a minute, so reloading the page cannot make the server walk it again
/// and again.
const VERIFIED_FOR: std::time::Duration = std::time::Duration::from_secs(60);

async fn chain_status(state: &AppState) -> ApiResult<ChainStatus> {
    static LAST: std::sync::Mutex<Option<(std::time::Instant, ChainStatus)>> =
        std::sync::Mutex::new(None);
    if let Ok(last) = LAST.lock() {
        if let Some((at, status)) = last.as_ref() {
            if at.elapsed() < VERIFIED_FOR {
                return Ok(status.clone());
            }
        }
    }
    let status = match state.store.verify_audit().await? {
        Ok(rows) => ChainStatus {
            ok: true,
            rows,
            first_bad_row: None,
            reason: None,
        },
        Err(b) => ChainStatus {
            ok: false,
            rows: 0,
            first_bad_row: Some(b.seq),
            reason: Some(b.reason),
        },
    };
    if let Ok(mut last) = LAST.lock() {
        *last = Some((std::time::Instant::now(), status.clone()));
    }
    Ok(status)
}

/// The tenant's audit log, newest first, with the chain's verification
#[utoipa::path(get, path = "/v1/audit", tag = "reports", params(AuditQuery),
    responses((status = 200, body = AuditPage),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    q: ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    Ok(Json(audit_page(&state, &auth, q.0).await?))
}
