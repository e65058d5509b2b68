//! The sandbox inbox: what the sandbox provider captured instead of sending.

use crate::{on_read, Result, SandboxMessageRow, Store};

impl Store {
    /// Newest first.
    pub async fn sandbox_messages(
        &self,
        tenant_id: &str,
        limit: i64,
    ) -> Result<Vec<SandboxMessageRow>> {
        let rows = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, SandboxMessageRow>(
                "SELECT * FROM sandbox_messages WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(tenant_id)
            .bind(limit.clamp(1, 1000))
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| r.open(&self.crypto))
            .collect::<Result<_, _>>()?)
    }
}
