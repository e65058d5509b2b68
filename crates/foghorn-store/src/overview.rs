//! What a tenant's notifications did in a window: counts by channel,
//! provider and status, with the time from acceptance to the provider's
//! answer kept as a histogram, so that one pass over one index gives the
//! dashboard's overview and `GET /v1/reports/overview` alike.

use crate::{on_db, on_read, Result, Store};
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

const HOUR_MS: i64 = 3_600_000;
/// An hour is rolled up once it ended this long ago: by then its
/// notifications have been sent, retried and mostly receipted. Later
/// changes (a replay of an old dead letter, a receipt days late) show on the
/// notification and in the list, not in the rolled-up counts.
pub const SETTLED_AFTER_MS: i64 = 24 * HOUR_MS;
/// Hours rolled up per statement, so one pass never holds the writer long.
const ROLL_CHUNK_MS: i64 = 7 * 24 * HOUR_MS;

/// Adds each row to the one of the same group.
fn merge(rows: Vec<OverviewRow>) -> Vec<OverviewRow> {
    let mut out: Vec<OverviewRow> = Vec::new();
    for r in rows {
        match out.iter_mut().find(|o| {
            o.channel == r.channel
                && o.provider == r.provider
                && o.status == r.status
                && o.bucket == r.bucket
        }) {
            Some(o) => o.count += r.count,
            None => out.push(r),
        }
    }
    out
}

impl Store {
    /// The groups of notifications `tenant_id` accepted at or after `since`:
    /// the rolled-up hours from `overview_hourly`, the rest (the partial
    /// hour at the start, the last day) counted from the notifications.
    pub async fn delivery_overview(
        &self,
        tenant_id: &TenantId,
        since: i64,
    ) -> Result<Vec<OverviewRow>> {
        let until = self.overview_rolled_until(tenant_id).await?;
        let first_hour = since.div_euclid(HOUR_MS) * HOUR_MS
            + if since.rem_euclid(HOUR_MS) == 0 {
                0
            } else {
                HOUR_MS
            };
        match until {
            Some(until) if first_hour < until => {
                let mut rows = self.overview_live(tenant_id, since, first_hour).await?;
                rows.extend(self.overview_rolled(tenant_id, first_hour, until).await?);
                rows.extend(self.overview_live(tenant_id, until, i64::MAX).await?);
                Ok(merge(rows))
            }
            _ => self.overview_live(tenant_id, since, i64::MAX).await,
        }
    }

    /// Counted from the notifications accepted in `[from, to)`.
    pub async fn overview_live(
        &self,
        tenant_id: &TenantId,
        from: i64,
        to: i64,
    ) -> Result<Vec<OverviewRow>> {
        let sql = format!(
            "SELECT channel, provider, status, {b} AS bucket, COUNT(*) AS count
             FROM notifications WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3
             GROUP BY channel, provider, status, {b}",
            b = bucket_sql()
        );
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, OverviewRow>(&sql)
                .bind(tenant_id)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?
        }))
    }

    async fn overview_rolled(
        &self,
        tenant_id: &TenantId,
        from: i64,
        to: i64,
    ) -> Result<Vec<OverviewRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, OverviewRow>(
                "SELECT channel, NULLIF(provider, '') AS provider, status,
                        CASE WHEN bucket < 0 THEN NULL ELSE bucket END AS bucket,
                        CAST(SUM(count) AS BIGINT) AS count
                 FROM overview_hourly WHERE tenant_id = $1 AND hour >= $2 AND hour < $3
                 GROUP BY channel, provider, status, bucket",
            )
            .bind(tenant_id)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        }))
    }

    async fn overview_rolled_until(&self, tenant_id: &TenantId) -> Result<Option<i64>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_scalar::<DB, i64>(
                "SELECT until_ms FROM overview_progress WHERE tenant_id = $1",
            )
            .bind(tenant_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Rolls up settled hours of every tenant, a week at most per tenant
    /// and call; returns the hours rolled up. Safe on several nodes at
    /// once: a group already stored is kept (the same count), and progress
    /// only moves forward.
    pub async fn roll_up_overview(&self, now: i64) -> Result<i64> {
        let settled = (now - SETTLED_AFTER_MS).div_euclid(HOUR_MS) * HOUR_MS;
        let tenants: Vec<TenantId> = on_read!(self, |pool, DB| {
            sqlx::query_scalar::<DB, TenantId>("SELECT id FROM tenants")
                .fetch_all(pool)
                .await?
        });
        let insert = format!(
            "INSERT INTO overview_hourly (tenant_id, hour, channel, provider, status, bucket, count)
             SELECT tenant_id, (created_at / {HOUR_MS}) * {HOUR_MS}, channel, COALESCE(provider, ''), status,
                    COALESCE({b}, -1), COUNT(*)
             FROM notifications WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3
             GROUP BY tenant_id, (created_at / {HOUR_MS}) * {HOUR_MS}, channel, COALESCE(provider, ''), status, COALESCE({b}, -1)
             ON CONFLICT DO NOTHING",
            b = bucket_sql()
        );
        let mut hours = 0;
        for tenant in tenants {
            let start = match self.overview_rolled_until(&tenant).await? {
                Some(u) => u,
                None => {
                    let first: Option<i64> = on_read!(self, |pool, DB| {
                        sqlx::query_scalar::<DB, Option<i64>>(
                            "SELECT MIN(created_at) FROM notifications WHERE tenant_id = $1",
                        )
                        .bind(&tenant)
                        .fetch_one(pool)
                        .await?
                    });
                    match first {
                        Some(f) => f.div_euclid(HOUR_MS) * HOUR_MS,
                        None => continue,
                    }
                }
            };
            if start >= settled {
                continue;
            }
            let end = settled.min(start + ROLL_CHUNK_MS);
            on_db!(self, |pool, DB| {
                let mut tx = pool.begin().await?;
                sqlx::query(&insert)
                    .bind(&tenant)
                    .bind(start)
                    .bind(end)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO overview_progress (tenant_id, until_ms) VALUES ($1, $2)
                     ON CONFLICT (tenant_id) DO UPDATE SET until_ms = excluded.until_ms
                     WHERE overview_progress.until_ms < excluded.until_ms",
                )
                .bind(&tenant)
                .bind(end)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            });
            hours += (end - start) / HOUR_MS;
        }
        Ok(hours)
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
