//! Spend per tenant, month, channel and currency, kept as sends are
//! recorded, and the once-a-month budget alerts.

use crate::inbound::{insert_system_message, SystemMessage};
use crate::{on_db, on_read, Result, Store};
use foghorn_core::TenantId;

/// One channel's spend in one currency.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SpendRow {
    pub channel: String,
    pub currency: String,
    pub micros: i64,
    pub sends: i64,
}

impl Store {
    /// What the tenant spent in `month` (`YYYY-MM`), per channel and
    /// currency.
    pub async fn spend_in_month(&self, tenant_id: &TenantId, month: &str) -> Result<Vec<SpendRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, SpendRow>(
                "SELECT channel, currency, micros, sends FROM spend_monthly
                 WHERE tenant_id = $1 AND month = $2 ORDER BY channel, currency",
            )
            .bind(tenant_id)
            .bind(month)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Records that the `scope` budget of `month` reached `level` percent;
    /// true the first time only, when `alert` (if any) is queued in the
    /// same transaction. Many nodes may see the crossing at once: one wins.
    pub async fn claim_budget_alert(
        &self,
        tenant_id: &TenantId,
        month: &str,
        scope: &str,
        level: i64,
        alert: Option<&SystemMessage>,
        now: i64,
    ) -> Result<bool> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let first = sqlx::query(
                "INSERT INTO budget_alerts (tenant_id, month, scope, level, at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
            )
            .bind(tenant_id)
            .bind(month)
            .bind(scope)
            .bind(level)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if first {
                if let Some(m) = alert {
                    insert_system_message::<DB>(&mut tx, &self.crypto, tenant_id, m, now).await?;
                }
            }
            tx.commit().await?;
            Ok(first)
        })
    }
}
