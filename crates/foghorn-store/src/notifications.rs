//! Reading notifications: one with its attempts, or a filtered page.

use crate::{on_read, AttemptRow, NotificationRow, Result, Store, TimelineRow};
use foghorn_core::TenantId;
use sqlx::QueryBuilder;

#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    pub event_id: Option<String>,
    pub status: Option<String>,
    pub channel: Option<String>,
    /// The stored subscriber's external id.
    pub subscriber_id: Option<String>,
    /// Created at or after, epoch ms.
    pub since: Option<i64>,
    /// Only ids older than this one (the previous page's last id).
    pub before_id: Option<String>,
    pub limit: i64,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The id to pass as the next page's cursor, when there is a next page.
    pub next: Option<String>,
}

impl Store {
    pub async fn notification(
        &self,
        tenant_id: &TenantId,
        id: &str,
    ) -> Result<Option<NotificationRow>> {
        let row = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, NotificationRow>(
                "SELECT * FROM notifications WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|r| r.open(&self.crypto)).transpose()?)
    }

    pub async fn attempts(
        &self,
        tenant_id: &TenantId,
        notification_id: &str,
    ) -> Result<Vec<AttemptRow>> {
        let rows = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, AttemptRow>(
                "SELECT * FROM attempts WHERE tenant_id = $1 AND notification_id = $2 ORDER BY created_at, id",
            )
            .bind(tenant_id)
            .bind(notification_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| r.open(&self.crypto))
            .collect::<Result<_, _>>()?)
    }

    /// What providers reported about a notification, oldest first.
    pub async fn timeline(
        &self,
        tenant_id: &TenantId,
        notification_id: &str,
    ) -> Result<Vec<TimelineRow>> {
        let rows = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, TimelineRow>(
                "SELECT * FROM timeline WHERE tenant_id = $1 AND notification_id = $2 ORDER BY at, id",
            )
            .bind(tenant_id)
            .bind(notification_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| r.open(&self.crypto))
            .collect::<Result<_, _>>()?)
    }

    /// Newest first; ids sort by creation time, so the id is the cursor.
    pub async fn list_notifications(
        &self,
        tenant_id: &TenantId,
        f: &NotificationFilter,
    ) -> Result<Page<NotificationRow>> {
        let limit = f.limit.clamp(1, 1000);
        let mut items = on_read!(self, |pool, DB| {
            let mut q = QueryBuilder::<DB>::new("SELECT * FROM notifications WHERE tenant_id = ");
            q.push_bind(tenant_id.to_string());
            if let Some(v) = &f.event_id {
                q.push(" AND event_id = ").push_bind(v.clone());
            }
            if let Some(v) = &f.status {
                q.push(" AND status = ").push_bind(v.clone());
            }
            if let Some(v) = &f.channel {
                q.push(" AND channel = ").push_bind(v.clone());
            }
            if let Some(v) = &f.subscriber_id {
                q.push(" AND subscriber_id = ").push_bind(v.clone());
            }
            if let Some(v) = f.since {
                q.push(" AND created_at >= ").push_bind(v);
            }
            if let Some(v) = &f.before_id {
                q.push(" AND id < ").push_bind(v.clone());
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(limit + 1);
            q.build_query_as::<NotificationRow>()
                .fetch_all(pool)
                .await?
        });
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|n| n.id.clone())
        } else {
            None
        };
        let items = items
            .into_iter()
            .map(|r| r.open(&self.crypto))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }

    /// Counts a tenant's notifications by status (tests, demo, reports).
    pub async fn count_by_status(&self, tenant_id: &TenantId) -> Result<Vec<(String, i64)>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, (String, i64)>(
                "SELECT status, COUNT(*) FROM notifications WHERE tenant_id = $1 GROUP BY status ORDER BY status",
            )
            .bind(tenant_id)
            .fetch_all(pool)
            .await?
        }))
    }
}

impl Store {
    /// Rows a tenant has in the outbox tables: (events, notifications, jobs).
    /// Used to prove that rejected input wrote nothing.
    pub async fn row_counts(&self, tenant_id: &TenantId) -> Result<(i64, i64, i64)> {
        let mut out = [0i64; 3];
        for (i, table) in ["events", "notifications", "jobs"].into_iter().enumerate() {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1");
            out[i] = on_read!(self, |pool, DB| {
                sqlx::query_scalar::<DB, i64>(&sql)
                    .bind(tenant_id)
                    .fetch_one(pool)
                    .await?
            });
        }
        Ok((out[0], out[1], out[2]))
    }
}
