//! Removing kept detail once it is older than its retention, a bounded
//! batch per statement so no sweep holds a lock for long, on either
//! backend. The notifications and the monthly spend are never touched
//! here: the reports read them.

use crate::{on_db, Result, Store};

/// A kind of data with its own retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// The sandbox's captured messages (rendered content).
    Sandbox,
    /// Provider calls and their error text.
    Attempts,
    /// Provider reports after the send.
    Receipts,
    /// Short-link clicks.
    Clicks,
}

impl Kept {
    pub const ALL: [Kept; 4] = [Kept::Sandbox, Kept::Attempts, Kept::Receipts, Kept::Clicks];

    pub fn name(self) -> &'static str {
        match self {
            Kept::Sandbox => "sandbox",
            Kept::Attempts => "attempts",
            Kept::Receipts => "receipts",
            Kept::Clicks => "clicks",
        }
    }

    /// (table, time column).
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Kept::Sandbox => ("sandbox_messages", "created_at"),
            Kept::Attempts => ("attempts", "created_at"),
            Kept::Receipts => ("timeline", "at"),
            Kept::Clicks => ("link_clicks", "at"),
        }
    }
}

/// The event whose data is an inbound message's text.
const INBOUND_EVENT: &str = "sms.received";

impl Store {
    /// Deletes at most `batch` rows of `kind` older than `before` (epoch
    /// ms); returns how many went. Call again until it returns less than
    /// `batch`.
    pub async fn prune(&self, kind: Kept, before: i64, batch: i64) -> Result<u64> {
        let (table, at) = kind.table();
        let sql = format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {at} < $1 LIMIT $2)"
        );
        Ok(on_db!(self, |pool, DB| {
            sqlx::query(&sql)
                .bind(before)
                .bind(batch)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Empties the data (the message text, the sender) of at most `batch`
    /// forwarded inbound messages older than `before` with ids after
    /// `after`; returns the last id done, to continue from, or None when
    /// there were no more.
    pub async fn prune_inbound(
        &self,
        before: i64,
        after: &str,
        batch: i64,
    ) -> Result<Option<(String, u64)>> {
        let empty = self.crypto.seal("events.data", "{}");
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let ids: Vec<(String,)> = sqlx::query_as(
                "SELECT id FROM events WHERE name = $1 AND created_at < $2 AND id > $3 ORDER BY id LIMIT $4",
            )
            .bind(INBOUND_EVENT)
            .bind(before)
            .bind(after)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
            let Some((last,)) = ids.last().cloned() else {
                tx.rollback().await?;
                return Ok(None);
            };
            let mut q = sqlx::QueryBuilder::<DB>::new("UPDATE events SET data = ");
            q.push_bind(empty);
            q.push(" WHERE id IN ");
            crate::push_list(&mut q, ids.iter().map(|(id,)| id.as_str()));
            q.build().execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some((last, ids.len() as u64)))
        })
    }
}
