//! What a tenant's notifications did in a window: counts by channel,
//! provider and status, with the time from acceptance to the provider's
//! answer kept as a histogram, so that one pass over one index gives the
//! dashboard's overview and `GET /v1/reports/overview` alike.

use crate::{on_read, Result, Store};
use foghorn_core::TenantId;

/// Upper bounds (ms) of the time-to-provider buckets; a last, open bucket
/// holds the rest. Percentiles are read off these bounds, as from a
/// Prometheus histogram: exact enough to tell 20 ms from 2 s, and the
/// query stays one aggregate instead of a sort of the whole window.
pub const LATENCY_BOUNDS_MS: [i64; 14] = [
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000,
];

/// One group of the window.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OverviewRow {
    pub channel: String,
    pub provider: Option<String>,
    pub status: String,
    /// Index into [`LATENCY_BOUNDS_MS`] (its length: slower than the last
    /// bound); None when the notification has not reached a provider.
    pub bucket: Option<i64>,
    pub count: i64,
}

fn bucket_sql() -> String {
    // CAST: PostgreSQL would type the literals int4.
    let mut s = String::from("CAST(CASE WHEN sent_at IS NULL THEN NULL");
    for (i, b) in LATENCY_BOUNDS_MS.iter().enumerate() {
        s.push_str(&format!(" WHEN sent_at - created_at <= {b} THEN {i}"));
    }
    s.push_str(&format!(" ELSE {} END AS BIGINT)", LATENCY_BOUNDS_MS.len()));
    s
}

impl Store {
    /// The groups of notifications `tenant_id` accepted at or after `since`.
    pub async fn delivery_overview(
        &self,
        tenant_id: &TenantId,
        since: i64,
    ) -> Result<Vec<OverviewRow>> {
        let sql = format!(
            "SELECT channel, provider, status, {b} AS bucket, COUNT(*) AS count
             FROM notifications WHERE tenant_id = $1 AND created_at >= $2
             GROUP BY channel, provider, status, {b}",
            b = bucket_sql()
        );
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, OverviewRow>(&sql)
                .bind(tenant_id)
                .bind(since)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Jobs of one tenant waiting or in flight.
    pub async fn tenant_queue_depth(&self, tenant_id: &TenantId) -> Result<i64> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_scalar::<DB, i64>("SELECT COUNT(*) FROM jobs WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_one(pool)
                .await?
        }))
    }

    /// A tenant's dead notifications (the DLQ's size).
    pub async fn dead_count(&self, tenant_id: &TenantId) -> Result<i64> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_scalar::<DB, i64>(
                "SELECT COUNT(*) FROM notifications WHERE tenant_id = $1 AND status = 'dead'",
            )
            .bind(tenant_id)
            .fetch_one(pool)
            .await?
        }))
    }
}
