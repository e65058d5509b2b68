//! `GET /v1/sandbox/messages`: what the sandbox provider captured.

use super::auth::{Auth, Scope};
use super::notifications::rfc3339;
use super::problem::ApiResult;
use super::AppState;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct SandboxMessage {
    pub id: String,
    pub notification_id: String,
    pub channel: String,
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
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// 1 to 1000, default 100.
    pub limit: Option<i64>,
}

/// Messages the sandbox captured
///
/// Newest first. The sandbox is the default provider of every channel that
/// has no real provider configured.
#[utoipa::path(get, path = "/v1/sandbox/messages", tag = "sandbox", params(InboxQuery),
    responses((status = 200, body = SandboxInbox)), security(("bearer" = [])))]
pub async fn messages(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    q: Query<InboxQuery>,
) -> ApiResult<Json<SandboxInbox>> {
    auth.require(Scope::Read)?;
    let rows = state
        .store
        .sandbox_messages(&auth.tenant_id, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(SandboxInbox {
        items: rows
            .into_iter()
            .map(|r| SandboxMessage {
                content: serde_json::from_str(&r.content).unwrap_or(Value::Null),
                id: r.id,
                notification_id: r.notification_id,
                channel: r.channel,
                to: r.recipient,
                created_at: rfc3339(r.created_at),
            })
            .collect(),
    }))
}
