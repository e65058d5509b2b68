//! Digests in the store: opened and joined at accept, closed by the worker
//! when their notification starts sending. Closing is what makes an event
//! belong to exactly one digest: one that arrives before the close is in
//! it, one after finds it closed and opens the next (see
//! `planning_facts::load` for the locks that order the two on PostgreSQL).

use crate::{EventDraft, Plan, Result, Store, INSERT_CHUNK};
use foghorn_core::{Status, TenantId};

/// One event collected by a digest, as its message lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestEntry {
    pub event_id: String,
    pub created_at: i64,
    /// The event's data, as JSON text.
    pub data: String,
}

/// Writes the digests a batch opened and the events it collected.
pub(crate) async fn write<'p, DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    plans: impl Iterator<Item = (&'p EventDraft, &'p Plan)>,
) -> Result<()>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut opened = Vec::new();
    let mut items = Vec::new();
    for (d, p) in plans {
        for g in &p.digests {
            // Cancelled in the same batch: closed at once, so nothing joins it.
            let cancelled = p
                .notifications
                .iter()
                .any(|n| n.id == g.notification_id && n.status == Status::Cancelled);
            opened.push((d, g, cancelled.then_some(d.created_at)));
        }
        for id in &p.digested_into {
            items.push((d, id));
        }
    }
    for chunk in opened.chunks(INSERT_CHUNK) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| crate::numbered(1 + 6 * i, 6))
            .collect();
        let sql = format!(
            "INSERT INTO digests (notification_id, tenant_id, scope, opened_at, closes_at, closed_at) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (d, g, closed) in chunk {
            q = q
                .bind(g.notification_id.clone())
                .bind(d.tenant_id.to_string())
                .bind(g.scope.clone())
                .bind(d.created_at)
                .bind(g.closes_at)
                .bind(*closed);
        }
        q.execute(&mut **tx).await?;
    }
    for chunk in items.chunks(INSERT_CHUNK) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| crate::numbered(1 + 4 * i, 4))
            .collect();
        let sql = format!(
            "INSERT INTO digest_items (notification_id, tenant_id, event_id, created_at) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (d, id) in chunk {
            q = q
                .bind((*id).clone())
                .bind(d.tenant_id.to_string())
                .bind(d.event_id.clone())
                .bind(d.created_at);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// Closes the digest `notification_id` sends (if it is still open) and
    /// returns every event it collected, oldest first, at most `listed` of
    /// them, with how many there are in all. Closing again returns the
    /// same events, so a send retried after a crash lists what the first
    /// try would have.
    pub async fn close_digest(
        &self,
        tenant_id: &TenantId,
        notification_id: &str,
        now: i64,
        listed: usize,
    ) -> Result<(Vec<DigestEntry>, i64)> {
        let (rows, total) = crate::on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            sqlx::query(
                "UPDATE digests SET closed_at = $1 WHERE tenant_id = $2 AND notification_id = $3 AND closed_at IS NULL",
            )
            .bind(now)
            .bind(tenant_id)
            .bind(notification_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            // Read after the commit: an event that joined before the close
            // had committed before the close could take the row.
            let rows: Vec<(String, i64, String)> = sqlx::query_as(
                "SELECT i.event_id, i.created_at, e.data FROM digest_items i
                 JOIN events e ON e.tenant_id = i.tenant_id AND e.id = i.event_id
                 WHERE i.tenant_id = $1 AND i.notification_id = $2
                 ORDER BY i.created_at, i.event_id LIMIT $3",
            )
            .bind(tenant_id)
            .bind(notification_id)
            .bind(listed as i64)
            .fetch_all(pool)
            .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM digest_items WHERE tenant_id = $1 AND notification_id = $2",
            )
            .bind(tenant_id)
            .bind(notification_id)
            .fetch_one(pool)
            .await?;
            (rows, total)
        });
        let entries = rows
            .into_iter()
            .map(|(event_id, created_at, data)| {
                Ok(DigestEntry {
                    event_id,
                    created_at,
                    data: self.crypto.open("events.data", &data)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((entries, total))
    }
}
