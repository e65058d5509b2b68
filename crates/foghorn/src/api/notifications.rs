//! `GET /v1/notifications` and `GET /v1/notifications/{id}`; the dead-letter
//! queue is the same rows with status `dead`.

use super::auth::{Auth, Scope};
use super::extract::{ApiPath, ApiQuery};
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::Json;
use foghorn_core::{Channel, Status};
use foghorn_store::NotificationFilter;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

pub use crate::views::{
    rfc3339, timeline_view, view, AttemptView, ClickView, Cost, Notification, TimelineEntry,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
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
    /// The subscriber's external id.
    pub subscriber: Option<String>,
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
        subscriber_id: q.subscriber,
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
        subscriber: None,
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
    let now = foghorn_core::clock::now_ms();
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
