//! The sandbox inbox: what the sandbox provider captured instead of sending.

use crate::{on_read, Page, Result, SandboxMessageRow, Store};
use foghorn_core::TenantId;
use sqlx::QueryBuilder;

impl Store {
    /// Newest first, `limit` (1 to 1000) at a time; `before_id` is the
    /// previous page's `next`.
    pub async fn sandbox_messages(
        &self,
        tenant_id: &TenantId,
        before_id: Option<&str>,
        limit: i64,
    ) -> Result<Page<SandboxMessageRow>> {
        let limit = limit.clamp(1, 1000);
        let mut items = on_read!(self, |pool, DB| {
            let mut q =
                QueryBuilder::<DB>::new("SELECT * FROM sandbox_messages WHERE tenant_id = ");
            q.push_bind(tenant_id.to_string());
            if let Some(id) = before_id {
                q.push(" AND id < ").push_bind(id.to_string());
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(limit + 1);
            q.build_query_as::<SandboxMessageRow>()
                .fetch_all(pool)
                .await?
        });
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|m| m.id.clone())
        } else {
            None
        };
        let items = items
            .into_iter()
            .map(|r| r.open(&self.crypto))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }

    /// What the sandbox captured for one notification (its last send).
    pub async fn sandbox_message_of(
        &self,
        tenant_id: &TenantId,
        notification_id: &str,
    ) -> Result<Option<SandboxMessageRow>> {
        let row = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, SandboxMessageRow>(
                "SELECT * FROM sandbox_messages WHERE tenant_id = $1 AND notification_id = $2
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(tenant_id)
            .bind(notification_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|r| r.open(&self.crypto)).transpose()?)
    }
}
