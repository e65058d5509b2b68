//! Acknowledgements: who confirmed a notification, when and how (a
//! button in Slack or Discord, the link in an email or SMS, a key pressed
//! on a call, a reply), for the person's whole event; and the escalations
//! an acknowledgement cancels.

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
    /// The escalations it cancelled.
    pub cancelled: Vec<String>,
}

/// acknowledged_at, _by (sealed), _via, event_id, workflow.
type AckRow = (Option<i64>, Option<String>, Option<String>, String, String);

impl Store {
    /// Whether the tenant's notification `id` is acknowledged.
    pub async fn is_acknowledged(&self, tenant_id: &TenantId, id: &str) -> Result<bool> {
        let at: Option<(Option<i64>,)> = on_read!(self, |pool, DB| {
            sqlx::query_as(
                "SELECT acknowledged_at FROM notifications WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(at.is_some_and(|(at,)| at.is_some()))
    }

    /// Acknowledges a notification of the tenant's, once, and with it
    /// everything that person was sent about the event (their other
    /// channels, the escalations before it); escalations still waiting are
    /// cancelled in the same transaction, so none is sent after it. The
    /// first person's name and time stay, with a timeline entry on each
    /// notification; a later acknowledgement reads them back. None when
    /// the tenant has no such notification.
    pub async fn acknowledge(
        &self,
        tenant_id: &TenantId,
        notification_id: &str,
        by: &str,
        via: &str,
        now: i64,
    ) -> Result<Option<Acknowledgement>> {
        let sealed_by = self.crypto.seal("notifications.acknowledged_by", by);
        let sealed_detail = self.crypto.seal("timeline.detail", by);
        let row: Option<(AckRow, bool, Vec<String>)> = on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let who: Option<(String, Option<String>, String)> = sqlx::query_as(
                "SELECT event_id, subscriber_id, COALESCE(escalates, parent_id, id)
                 FROM notifications WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(notification_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((event_id, subscriber, root)) = who else {
                return Ok(None);
            };
            // The person's notifications of the event: by subscriber id,
            // and by the chain from the first (for inline recipients).
            const GROUP: &str =
                "tenant_id = $1 AND (id = $2 OR id = $3 OR escalates = $3 OR parent_id = $3
                  OR ($4 IS NOT NULL AND event_id = $5 AND subscriber_id = $4))";
            let acked: Vec<(String,)> = sqlx::query_as(&format!(
                "UPDATE notifications SET acknowledged_at = $6, acknowledged_by = $7, acknowledged_via = $8
                 WHERE {GROUP} AND acknowledged_at IS NULL AND status <> 'scheduled' RETURNING id"
            ))
            .bind(tenant_id)
            .bind(notification_id)
            .bind(&root)
            .bind(&subscriber)
            .bind(&event_id)
            .bind(now)
            .bind(&sealed_by)
            .bind(via)
            .fetch_all(&mut *tx)
            .await?;
            let cancelled: Vec<(String,)> = sqlx::query_as(&format!(
                "UPDATE notifications SET status = 'cancelled', status_reason = 'acknowledged before it was due', updated_at = $6
                 WHERE {GROUP} AND status = 'scheduled' AND escalates IS NOT NULL RETURNING id"
            ))
            .bind(tenant_id)
            .bind(notification_id)
            .bind(&root)
            .bind(&subscriber)
            .bind(&event_id)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            for (id, kind) in acked
                .iter()
                .map(|(id,)| (id, "acknowledged"))
                .chain(cancelled.iter().map(|(id,)| (id, "cancelled")))
            {
                sqlx::query(
                    "INSERT INTO timeline (id, tenant_id, notification_id, at, kind, provider, code, detail)
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
                )
                .bind(foghorn_core::ids::message_id())
                .bind(tenant_id)
                .bind(id)
                .bind(now)
                .bind(kind)
                .bind(via)
                .bind(&sealed_detail)
                .execute(&mut *tx)
                .await?;
            }
            for (id,) in &cancelled {
                sqlx::query("DELETE FROM jobs WHERE tenant_id = $1 AND notification_id = $2")
                    .bind(tenant_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            let first = acked.iter().any(|(id,)| id == notification_id);
            let row = sqlx::query_as::<DB, AckRow>(
                "SELECT acknowledged_at, acknowledged_by, acknowledged_via, event_id, workflow
                     FROM notifications WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(notification_id)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            row.map(|r| (r, first, cancelled.into_iter().map(|(id,)| id).collect()))
        });
        let Some(((at, by, via, event_id, workflow), first, cancelled)) = row else {
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
            cancelled,
        }))
    }

    /// The latest notification sent to `phone` (a stored subscriber's
    /// number) in the last `within_ms` that an escalation hangs on and
    /// nobody has acknowledged: what a reply of 1, OK or YES confirms.
    pub async fn awaiting_acknowledgement(
        &self,
        tenant_id: &TenantId,
        phone: &str,
        now: i64,
        within_ms: i64,
    ) -> Result<Option<String>> {
        let hashes = self.crypto.lookup_hashes(phone);
        if hashes.is_empty() {
            return Ok(None);
        }
        let row: Option<(String,)> = on_read!(self, |pool, DB| {
            let mut q = sqlx::QueryBuilder::<DB>::new(
                "SELECT n.id FROM notifications n JOIN subscribers s
                   ON s.tenant_id = n.tenant_id AND s.external_id = n.subscriber_id
                 WHERE n.tenant_id = ",
            );
            q.push_bind(tenant_id.to_string());
            q.push(" AND s.phone_hash IN ");
            crate::push_list(&mut q, hashes.iter());
            q.push(
                " AND n.channel IN ('sms', 'voice', 'whatsapp') AND n.acknowledged_at IS NULL
                  AND n.status IN ('sent', 'delivered', 'read') AND n.created_at > ",
            );
            q.push_bind(now - within_ms);
            q.push(
                " AND (n.escalates IS NOT NULL OR EXISTS (SELECT 1 FROM notifications e
                     WHERE e.tenant_id = n.tenant_id AND e.escalates = n.id))
                  ORDER BY n.created_at DESC, n.id DESC LIMIT 1",
            );
            q.build_query_as().fetch_optional(pool).await?
        });
        Ok(row.map(|(id,)| id))
    }

    /// The event's team alerts that were posted and nobody acknowledged:
    /// what a person's acknowledgement is added to.
    pub async fn open_team_alerts(
        &self,
        tenant_id: &TenantId,
        event_id: &str,
    ) -> Result<Vec<crate::NotificationRow>> {
        let rows = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, crate::NotificationRow>(
                "SELECT * FROM notifications WHERE tenant_id = $1 AND event_id = $2
                   AND channel IN ('slack', 'discord') AND subscriber_id IS NULL
                   AND provider_message_id IS NOT NULL AND acknowledged_at IS NULL
                   AND status IN ('sent', 'delivered') ORDER BY id",
            )
            .bind(tenant_id)
            .bind(event_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|r| r.open(&self.crypto).map_err(Into::into))
            .collect()
    }
}
