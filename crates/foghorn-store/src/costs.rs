//! What sending cost: sums of the cost recorded on each notification, by
//! provider, channel and currency, for a span of send times.

use crate::{on_read, Result, Store};
use foghorn_core::TenantId;

/// One provider's spend on one channel in one currency.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CostRow {
    pub provider: String,
    pub channel: String,
    pub currency: String,
    pub micros: i64,
    /// Notifications counted.
    pub count: i64,
}

impl Store {
    /// A tenant's costs of notifications sent in `[from_ms, to_ms)`.
    pub async fn cost_totals(
        &self,
        tenant_id: &TenantId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<CostRow>> {
        Ok(on_read!(self, |pool, DB| {
            // SUM of BIGINT is NUMERIC on PostgreSQL: cast back to BIGINT.
            sqlx::query_as::<DB, CostRow>(
                "SELECT provider, channel, currency, CAST(SUM(cost_micros) AS BIGINT) AS micros, COUNT(*) AS count
                 FROM notifications
                 WHERE tenant_id = $1 AND sent_at >= $2 AND sent_at < $3
                   AND cost_micros IS NOT NULL AND currency IS NOT NULL AND provider IS NOT NULL
                 GROUP BY provider, channel, currency ORDER BY provider, channel, currency",
            )
            .bind(tenant_id)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(pool)
            .await?
        }))
    }
}
