//! Team channels' memory: the thread each entity started on a destination,
//! and who acknowledged a notification (a button in Slack or Discord).

use crate::{on_db, on_read, Result, Store};
use foghorn_core::TenantId;

/// A notification's acknowledgement as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub at: i64,
    pub by: String,
    pub via: String,
    /// False when someone had acknowledged it already: the answer names
    /// them, and nothing changed.
    pub first: bool,
    /// The notification's event, for what else the answer shows.
    pub event_id: String,
    pub workflow: String,
}

/// acknowledged_at, _by (sealed), _via, event_id, workflow.
type AckRow = (Option<i64>, Option<String>, Option<String>, String, String);

impl Store {
    /// The thread `grouping_key`'s first message started on `destination`.
    pub async fn team_thread(
        &self,
        tenant_id: &TenantId,
        destination: &str,
        grouping_key: &str,
    ) -> Result<Option<String>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_scalar::<DB, String>(
                "SELECT thread FROM team_threads WHERE tenant_id = $1 AND destination = $2 AND grouping_key = $3",
            )
            .bind(tenant_id)
            .bind(destination)
            .bind(grouping_key)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Keeps the first thread only: two first messages racing on two
    /// nodes leave the earlier one as the thread.
    pub async fn put_team_thread(
        &self,
        tenant_id: &TenantId,
        destination: &str,
        grouping_key: &str,
        thread: &str,
        now: i64,
    ) -> Result<()> {
        on_db!(self, |pool, DB| {
            sqlx::query(
                "INSERT INTO team_threads (tenant_id, destination, grouping_key, thread, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(tenant_id)
            .bind(destination)
            .bind(grouping_key)
            .bind(thread)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Acknowledges one notification of the tenant's, once: the first
    /// person's name and time stay, with a timeline entry; a later click
    /// reads them back. None when the tenant has no such notification.
    pub async fn acknowledge(
        &self,
        tenant_id: &TenantId,
        notification_id: &str,
        by: &str,
        via: &str,
        now: i64,
    ) -> Result<Option<Acknowledgement>> {
        let row: Option<(AckRow, bool)> = on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let first = sqlx::query(
                    "UPDATE notifications SET acknowledged_at = $1, acknowledged_by = $2, acknowledged_via = $3
                     WHERE tenant_id = $4 AND id = $5 AND acknowledged_at IS NULL",
                )
                .bind(now)
                .bind(self.crypto.seal("notifications.acknowledged_by", by))
                .bind(via)
                .bind(tenant_id)
                .bind(notification_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
            if first {
                sqlx::query(
                        "INSERT INTO timeline (id, tenant_id, notification_id, at, kind, provider, code, detail)
                         VALUES ($1, $2, $3, $4, 'acknowledged', $5, NULL, $6)",
                    )
                    .bind(foghorn_core::ids::message_id())
                    .bind(tenant_id)
                    .bind(notification_id)
                    .bind(now)
                    .bind(via)
                    .bind(self.crypto.seal("timeline.detail", by))
                    .execute(&mut *tx)
                    .await?;
            }
            let row = sqlx::query_as::<
                DB,
                (Option<i64>, Option<String>, Option<String>, String, String),
            >(
                "SELECT acknowledged_at, acknowledged_by, acknowledged_via, event_id, workflow
                     FROM notifications WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(notification_id)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            row.map(|r| (r, first))
        });
        let Some(((at, by, via, event_id, workflow), first)) = row else {
            return Ok(None);
        };
        Ok(Some(Acknowledgement {
            at: at.unwrap_or(now),
            by: self
                .crypto
                .open_opt("notifications.acknowledged_by", by.as_deref())?
                .unwrap_or_default(),
            via: via.unwrap_or_default(),
            first,
            event_id,
            workflow,
        }))
    }
}
