//! `GET /v1/notifications` and `GET /v1/notifications/{id}`; the dead-letter
//! queue is the same rows with status `dead`.

use super::auth::{Auth, Scope};
use super::extract::{ApiPath, ApiQuery};
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::Json;
use foghorn_core::{Channel, Money, Status};
use foghorn_store::{AttemptRow, NotificationFilter, NotificationRow, TimelineRow};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct Notification {
    pub id: String,
    pub event_id: String,
    pub workflow: String,
    #[schema(value_type = Channel)]
    pub channel: String,
    #[schema(value_type = Status)]
    pub status: String,
    pub status_reason: Option<String>,
    /// Subscriber id, for notifications to a person.
    pub recipient: Option<String>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub cost: Option<Cost>,
    pub attempt_count: i64,
    /// The notification this one continues on a fallback channel.
    pub parent_id: Option<String>,
    pub send_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Present on single reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<AttemptView>>,
    /// What providers reported after the send (delivered, bounced, opened,
    /// …), oldest first; present on single reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineEntry>>,
    /// Clicks on the message's short links; on single reads that have any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clicks: Option<Vec<ClickView>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub time: String,
    /// `sent`, `delivered`, `read`, `failed`, `undelivered`, `hard_bounce`,
    /// `soft_bounce`, `complained`, `opened`, `clicked` or `unsubscribed`.
    pub kind: String,
    pub provider: Option<String>,
    /// The provider's or carrier's error code.
    pub code: Option<String>,
    pub detail: Option<String>,
}

fn timeline_view(t: TimelineRow) -> TimelineEntry {
    TimelineEntry {
        time: rfc3339(t.at),
        kind: t.kind,
        provider: t.provider,
        code: t.code,
        detail: t.detail,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClickView {
    pub time: String,
    /// The short link's code.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cost {
    /// Decimal text, exact (`0.0075`).
    pub amount: String,
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub time: String,
    pub provider: String,
    /// `sent`, `retryable`, `permanent`, `rate_limited` or `misconfigured`.
    pub outcome: String,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

pub fn view(n: NotificationRow, attempts: Option<Vec<AttemptRow>>) -> Notification {
    Notification {
        cost: match (n.cost_micros, n.currency) {
            (Some(m), Some(c)) => Some(Cost {
                amount: Money::new(m, c.clone()).amount_string(),
                currency: c,
            }),
            _ => None,
        },
        id: n.id,
        event_id: n.event_id,
        workflow: n.workflow,
        channel: n.channel,
        status: n.status,
        status_reason: n.status_reason,
        recipient: n.subscriber_id,
        provider: n.provider,
        provider_message_id: n.provider_message_id,
        attempt_count: n.attempts,
        parent_id: n.parent_id,
        send_at: n.send_at.map(rfc3339),
        created_at: rfc3339(n.created_at),
        updated_at: rfc3339(n.updated_at),
        attempts: attempts.map(|v| {
            v.into_iter()
                .map(|a| AttemptView {
                    time: rfc3339(a.created_at),
                    provider: a.provider,
                    outcome: a.outcome,
                    http_status: a.http_status,
                    error: a.error,
                    latency_ms: a.latency_ms,
                })
                .collect()
        }),
        timeline: None,
        clicks: None,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this event's notifications.
    pub event_id: Option<String>,
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    #[param(value_type = Option<Channel>)]
    pub channel: Option<String>,
    /// RFC 3339; notifications created at or after.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// 1 to 1000, default 50.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn filter(q: ListQuery) -> ApiResult<NotificationFilter> {
    if let Some(s) = &q.status {
        s.parse::<Status>()
            .map_err(|e| ApiError::validation("status", e.to_string()))?;
    }
    if let Some(c) = &q.channel {
        c.parse::<Channel>()
            .map_err(|e| ApiError::validation("channel", e.to_string()))?;
    }
    let since = match &q.since {
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    ApiError::validation(
                        "since",
                        "expected an RFC 3339 time such as 2026-11-25T10:00:00Z",
                    )
                })?
                .timestamp_millis(),
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 1000"));
    }
    Ok(NotificationFilter {
        event_id: q.event_id,
        status: q.status,
        channel: q.channel,
        since,
        before_id: q.cursor,
        limit,
    })
}

/// List notifications
///
/// Newest first, filtered, paged by cursor.
#[utoipa::path(get, path = "/v1/notifications", tag = "notifications", params(ListQuery),
    responses((status = 200, body = NotificationPage), (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    q: ApiQuery<ListQuery>,
) -> ApiResult<Json<NotificationPage>> {
    auth.require(Scope::Read)?;
    let f = filter(q.0)?;
    let page = state.store.list_notifications(&auth.tenant_id, &f).await?;
    Ok(Json(NotificationPage {
        items: page.items.into_iter().map(|n| view(n, None)).collect(),
        next_cursor: page.next,
    }))
}

/// One notification with its attempts and timeline
#[utoipa::path(get, path = "/v1/notifications/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Notification id (ntf_…)")),
    responses((status = 200, body = Notification), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Notification>> {
    auth.require(Scope::Read)?;
    let n = state
        .store
        .notification(&auth.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no notification `{id}`")))?;
    let attempts = state.store.attempts(&auth.tenant_id, &id).await?;
    let timeline = state.store.timeline(&auth.tenant_id, &id).await?;
    let mut v = view(n, Some(attempts));
    v.timeline = Some(timeline.into_iter().map(timeline_view).collect());
    let clicks = state.store.clicks(&auth.tenant_id, &id).await?;
    if !clicks.is_empty() {
        v.clicks = Some(
            clicks
                .into_iter()
                .map(|(code, at)| ClickView {
                    time: rfc3339(at),
                    code,
                })
                .collect(),
        );
    }
    Ok(Json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DlqQuery {
    /// 1 to 1000, default 50.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The dead-letter queue
///
/// Notifications every provider and fallback failed; replay puts one back.
#[utoipa::path(get, path = "/v1/dlq", tag = "dlq", params(DlqQuery),
    responses((status = 200, body = NotificationPage)), security(("bearer" = ["read"])))]
pub async fn dlq(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    q: ApiQuery<DlqQuery>,
) -> ApiResult<Json<NotificationPage>> {
    auth.require(Scope::Read)?;
    let f = filter(ListQuery {
        status: Some("dead".into()),
        limit: q.0.limit,
        cursor: q.0.cursor,
        event_id: None,
        channel: None,
        since: None,
    })?;
    let page = state.store.list_notifications(&auth.tenant_id, &f).await?;
    Ok(Json(NotificationPage {
        items: page.items.into_iter().map(|n| view(n, None)).collect(),
        next_cursor: page.next,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Replayed {
    pub id: String,
    pub status: String,
}

/// Replay a dead notification
///
/// Queues it again from its channel's first provider.
#[utoipa::path(post, path = "/v1/dlq/{id}/replay", tag = "dlq",
    params(("id" = String, Path, description = "Notification id")),
    responses((status = 202, body = Replayed), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn replay(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(axum::http::StatusCode, Json<Replayed>)> {
    auth.require(Scope::Admin)?;
    let now = chrono::Utc::now().timestamp_millis();
    if !state
        .store
        .replay_dead(&auth.tenant_id, &id, now, &auth.audit("dlq.replay", &id))
        .await?
    {
        return Err(ApiError::not_found(format!("no dead notification `{id}`")));
    }
    state.wake.notify_one();
    let _ = state.store.notify_workers().await;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(Replayed {
            id,
            status: "queued".into(),
        }),
    ))
}
