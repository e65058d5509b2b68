//! The JSON a notification is shown as, the same from the API
//! (`GET /v1/notifications…`) and from the CLI (`foghorn dlq list --json`).

use foghorn_core::{Channel, Money, Status};
use foghorn_store::{AttemptRow, NotificationRow, TimelineRow};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Acknowledged {
    pub at: String,
    /// The app's user: `slack:U0123ABC (ana)`.
    pub by: String,
    /// `slack`, `discord`; `… dismiss` for a Dismiss button.
    pub via: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Notification {
    pub id: String,
    pub event_id: String,
    pub workflow: String,
    pub channel: Channel,
    pub status: Status,
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
    /// Who acknowledged it and how (a Slack or Discord button), when
    /// someone did; separate from the status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledged>,
    /// When it was acknowledged (the same facts as `acknowledged`, flat).
    pub acknowledged_at: Option<String>,
    /// Who: `slack:U… (name)`, `recipient (voice)`, …
    pub acknowledged_by: Option<String>,
    /// How: `link`, `voice`, `sms reply`, `slack`, `discord`, …
    pub acknowledged_via: Option<String>,
    /// The notification this one escalates: sent only while that one is
    /// unacknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalates: Option<String>,
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

pub fn timeline_view(t: TimelineRow) -> TimelineEntry {
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
        acknowledged: n.acknowledged_at.map(|at| Acknowledged {
            at: rfc3339(at),
            by: n.acknowledged_by.clone().unwrap_or_default(),
            via: n.acknowledged_via.clone().unwrap_or_default(),
        }),
        acknowledged_at: n.acknowledged_at.map(rfc3339),
        acknowledged_by: n.acknowledged_at.and(n.acknowledged_by),
        acknowledged_via: n.acknowledged_at.and(n.acknowledged_via),
        escalates: n.escalates,
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
