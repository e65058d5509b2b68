//! `GET /v1/reports/overview?window=hour|day|30d`: what a tenant's
//! notifications did lately, per channel and provider, with the queue, the
//! dead letters, the breakers and the month's budget — the numbers the
//! dashboard's overview draws, from this same function.

use super::auth::{Auth, Scope};
use super::budgets::{report as budget_report, BudgetReport};
use super::extract::ApiQuery;
use super::notifications::rfc3339;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::Json;
use foghorn_store::{OverviewRow, LATENCY_BOUNDS_MS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// `hour`, `day` (the default) or `30d`, ending now.
    #[param(pattern = "^(hour|day|30d)$")]
    pub window: Option<String>,
}

/// The windows offered, with their length in milliseconds.
pub const WINDOWS: [(&str, i64); 3] = [
    ("hour", 3_600_000),
    ("day", 86_400_000),
    ("30d", 30 * 86_400_000),
];

#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct Counts {
    /// Every notification accepted in the window.
    pub total: i64,
    /// Handed to the provider, no receipt (yet).
    pub sent: i64,
    /// Delivered or read, by the provider's receipt.
    pub delivered: i64,
    /// Failed or bounced, for good.
    pub failed: i64,
    /// Not sent: a preference, opt-out, quiet hours, budget.
    pub suppressed: i64,
    /// Out of retries: in the DLQ.
    pub dead: i64,
    /// Scheduled, queued or being sent.
    pub pending: i64,
    pub cancelled: i64,
}

impl Counts {
    fn add(&mut self, status: &str, n: i64) {
        self.total += n;
        let slot = match status {
            "sent" => &mut self.sent,
            "delivered" | "read" => &mut self.delivered,
            "failed" | "bounced" => &mut self.failed,
            "suppressed" => &mut self.suppressed,
            "dead" => &mut self.dead,
            "cancelled" => &mut self.cancelled,
            _ => &mut self.pending,
        };
        *slot += n;
    }

    /// The share of finished sends the provider took: (sent + delivered) ÷
    /// (sent + delivered + failed + dead). Email by SMTP never reports
    /// delivery, so "delivered" alone would understate it.
    fn delivery_rate(&self) -> Option<f64> {
        let ok = self.sent + self.delivered;
        let done = ok + self.failed + self.dead;
        (done > 0).then(|| ok as f64 / done as f64)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Group {
    pub channel: String,
    /// None for notifications that never reached a provider.
    pub provider: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
    pub delivery_rate: Option<f64>,
}

/// Time from acceptance to the provider's answer, read off a histogram:
/// each figure is the upper bound of the bucket the percentile falls in.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Latency {
    /// Sends measured.
    pub count: i64,
    pub p50_ms: Option<i64>,
    pub p99_ms: Option<i64>,
    /// True when a percentile lies past the last bound (five minutes); the
    /// figure is then that bound.
    pub beyond_last_bound: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BreakerState {
    pub provider: String,
    /// `closed`, `open` or `half-open`, on the node that answers.
    pub state: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    pub window: String,
    pub since: String,
    pub totals: Counts,
    pub delivery_rate: Option<f64>,
    pub groups: Vec<Group>,
    pub time_to_provider: Latency,
    /// Jobs of this tenant waiting or in flight.
    pub queue_depth: i64,
    /// Dead notifications, of any age.
    pub dlq: i64,
    pub breakers: Vec<BreakerState>,
    pub open_breakers: usize,
    pub budget: BudgetReport,
}

fn percentile(hist: &[i64], total: i64, q: f64) -> Option<(i64, bool)> {
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as i64).max(1);
    let mut seen = 0;
    for (i, n) in hist.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(match LATENCY_BOUNDS_MS.get(i) {
                Some(b) => (*b, false),
                None => (LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.len() - 1], true),
            });
        }
    }
    None
}

/// Folds the store's rows into the report's groups and histogram.
pub fn fold(rows: &[OverviewRow]) -> (Counts, Vec<Group>, Latency) {
    let mut totals = Counts::default();
    let mut groups: BTreeMap<(String, Option<String>), Counts> = BTreeMap::new();
    let mut hist = vec![0i64; LATENCY_BOUNDS_MS.len() + 1];
    for r in rows {
        totals.add(&r.status, r.count);
        groups
            .entry((r.channel.clone(), r.provider.clone()))
            .or_default()
            .add(&r.status, r.count);
        if let Some(slot) = r
            .bucket
            .and_then(|b| usize::try_from(b).ok())
            .and_then(|b| hist.get_mut(b))
        {
            *slot += r.count;
        }
    }
    let measured: i64 = hist.iter().sum();
    let p50 = percentile(&hist, measured, 0.50);
    let p99 = percentile(&hist, measured, 0.99);
    let latency = Latency {
        count: measured,
        p50_ms: p50.map(|p| p.0),
        p99_ms: p99.map(|p| p.0),
        beyond_last_bound: p50.is_some_and(|p| p.1) || p99.is_some_and(|p| p.1),
    };
    let groups = groups
        .into_iter()
        .map(|((channel, provider), counts)| Group {
            channel,
            provider,
            delivery_rate: counts.delivery_rate(),
            counts,
        })
        .collect();
    (totals, groups, latency)
}

/// The overview of the caller's tenant over `window`.
pub async fn overview_of(state: &AppState, auth: &Auth, window: &str) -> ApiResult<Overview> {
    let span = WINDOWS
        .iter()
        .find(|(name, _)| *name == window)
        .map(|(_, ms)| *ms)
        .ok_or_else(|| ApiError::validation("window", "must be `hour`, `day` or `30d`"))?;
    let now = foghorn_core::clock::now_ms();
    let since = now - span;
    let rows = state
        .store
        .delivery_overview(&auth.tenant_id, since)
        .await?;
    let (totals, groups, time_to_provider) = fold(&rows);
    let routing = state.routes.for_tenant(&auth.tenant_id).await;
    let at = std::time::Instant::now();
    let breakers: Vec<BreakerState> = routing
        .instances()
        .iter()
        .map(|s| BreakerState {
            provider: s.provider.name().to_string(),
            state: s.breaker.state_name(at),
        })
        .collect();
    Ok(Overview {
        window: window.to_string(),
        since: rfc3339(since),
        delivery_rate: totals.delivery_rate(),
        totals,
        groups,
        time_to_provider,
        queue_depth: state.store.tenant_queue_depth(&auth.tenant_id).await?,
        dlq: state.store.dead_count(&auth.tenant_id).await?,
        open_breakers: breakers.iter().filter(|b| b.state != "closed").count(),
        breakers,
        budget: budget_report(state, auth).await?,
    })
}

/// Deliveries, latency, queue, DLQ, breakers and budget at a glance
///
/// Counts are of the notifications accepted in the window, by their status
/// now. Percentiles are bucket bounds (5, 10, 25, 50, 100, 250, 500 ms,
/// 1, 2.5, 5, 10, 30, 60, 300 s).
#[utoipa::path(get, path = "/v1/reports/overview", tag = "reports", params(OverviewQuery),
    responses((status = 200, body = Overview),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    q: ApiQuery<OverviewQuery>,
) -> ApiResult<Json<Overview>> {
    auth.require(Scope::Read)?;
    let window = q.0.window.unwrap_or_else(|| "day".into());
    Ok(Json(overview_of(&state, &auth, &window).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        channel: &str,
        provider: Option<&str>,
        status: &str,
        bucket: Option<i64>,
        count: i64,
    ) -> OverviewRow {
        OverviewRow {
            channel: channel.into(),
            provider: provider.map(str::to_string),
            status: status.into(),
            bucket,
            count,
        }
    }

    #[test]
    fn rows_fold_into_groups_rates_and_percentiles() {
        let rows = [
            row("email", Some("mailgun"), "delivered", Some(2), 90),
            row("email", Some("mailgun"), "failed", Some(2), 5),
            row("email", Some("mailgun"), "dead", Some(9), 4),
            row("email", Some("mailgun"), "read", Some(14), 1),
            row("sms", None, "suppressed", None, 7),
            row("sms", Some("twilio"), "queued", None, 3),
        ];
        let (totals, groups, lat) = fold(&rows);
        assert_eq!(
            (totals.total, totals.delivered, totals.failed, totals.dead),
            (110, 91, 5, 4)
        );
        assert_eq!((totals.suppressed, totals.pending), (7, 3));
        assert_eq!(groups.len(), 3);
        let mail = groups
            .iter()
            .find(|g| g.provider.as_deref() == Some("mailgun"))
            .unwrap();
        assert_eq!(mail.delivery_rate, Some(0.91));
        // 100 measured: the 50th is in bucket 2 (25 ms); the 99th and 100th
        // are the 5 s bucket (4 dead) and the open one (1 read).
        assert_eq!(lat.count, 100);
        assert_eq!(lat.p50_ms, Some(25));
        assert_eq!(lat.p99_ms, Some(5_000));
        assert!(!lat.beyond_last_bound);
        let (_, _, slow) = fold(&[row("email", Some("m"), "sent", Some(14), 1)]);
        assert_eq!((slow.p99_ms, slow.beyond_last_bound), (Some(300_000), true));
        let (none, _, empty) = fold(&[]);
        assert_eq!((none.delivery_rate(), empty.p50_ms), (None, None));
    }
}
