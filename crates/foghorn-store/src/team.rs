//! Team channels' memory: the thread each entity started on a destination.

use crate::{on_db, on_read, Result, Store};
use foghorn_core::TenantId;

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
}
