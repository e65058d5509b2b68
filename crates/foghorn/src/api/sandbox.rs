//! `GET /v1/sandbox/messages`: what the sandbox provider captured.

use super::auth::{Auth, Scope};
use super::extract::ApiQuery;
use super::notifications::rfc3339;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct SandboxMessage {
    pub id: String,
    pub notification_id: String,
    pub channel: foghorn_core::Channel,
    /// Where it would have gone.
    pub to: String,
    /// The rendered message (subject, html, text or json).
    #[schema(value_type = Object)]
    pub content: Value,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SandboxInbox {
    pub items: Vec<SandboxMessage>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Messages the sandbox captured
///
/// Newest first, paged by cursor. The sandbox is the default provider of
/// every channel that has no real provider configured.
/// A stored capture as the API shows it.
pub fn view(r: foghorn_store::SandboxMessageRow) -> SandboxMessage {
    SandboxMessage {
        content: serde_json::from_str(&r.content).unwrap_or(Value::Null),
        id: r.id,
        notification_id: r.notification_id,
        channel: r.channel,
        to: r.recipient,
        created_at: rfc3339(r.created_at),
    }
}

#[utoipa::path(get, path = "/v1/sandbox/messages", tag = "sandbox", params(InboxQuery),
    responses((status = 200, body = SandboxInbox)), security(("bearer" = ["read"])))]
pub async fn messages(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult<Json<SandboxInbox>> {
    auth.require(Scope::Read)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 1000"));
    }
    let page = state
        .store
        .sandbox_messages(&auth.tenant_id, q.cursor.as_deref(), limit)
        .await?;
    Ok(Json(SandboxInbox {
        items: page.items.into_iter().map(view).collect(),
        next_cursor: page.next,
    }))
}
