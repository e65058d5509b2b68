//! Workflow documents changed through the API (they override files and the
//! built-in pack).

use crate::audit::{append, Audit};
use crate::{on_db, on_read, Result, Store, WorkflowRow};
use foghorn_core::TenantId;

impl Store {
    pub async fn put_workflow(&self, w: &WorkflowRow, audit: &Audit) -> Result<()> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            sqlx::query(
                "INSERT INTO workflows (tenant_id, name, document, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant_id, name) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
            )
            .bind(&w.tenant_id)
            .bind(&w.name)
            .bind(&w.document)
            .bind(w.updated_at)
            .execute(&mut *tx)
            .await?;
            append::<DB>(&mut tx, &w.tenant_id, audit, w.updated_at).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deletes a tenant's workflow. The row stays as a tombstone (an empty
    /// document with the time of deletion), so other nodes, which follow
    /// changes by time, learn of the deletion too. False when there was
    /// nothing to delete.
    pub async fn delete_workflow(
        &self,
        tenant_id: &TenantId,
        name: &str,
        at: i64,
        audit: &Audit,
    ) -> Result<bool> {
        let deleted = on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let n = sqlx::query(
                "UPDATE workflows SET document = '', updated_at = $3
                 WHERE tenant_id = $1 AND name = $2 AND document <> ''",
            )
            .bind(tenant_id)
            .bind(name)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                append::<DB>(&mut tx, tenant_id, audit, at).await?;
            }
            tx.commit().await?;
            n > 0
        });
        Ok(deleted)
    }

    /// One stored workflow (a tombstone has an empty document).
    pub async fn workflow(&self, tenant_id: &TenantId, name: &str) -> Result<Option<WorkflowRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, WorkflowRow>(
                "SELECT * FROM workflows WHERE tenant_id = $1 AND name = $2",
            )
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Stored workflows changed at or after `since` (ms), oldest first: what
    /// a node re-reads to follow changes made through other nodes.
    pub async fn workflows_changed_since(&self, since: i64) -> Result<Vec<WorkflowRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, WorkflowRow>(
                "SELECT * FROM workflows WHERE updated_at >= $1 ORDER BY updated_at",
            )
            .bind(since)
            .fetch_all(pool)
            .await?
        }))
    }

    pub async fn workflows(&self, tenant_id: &TenantId) -> Result<Vec<WorkflowRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, WorkflowRow>(
                "SELECT * FROM workflows WHERE tenant_id = $1 AND document <> '' ORDER BY name",
            )
            .bind(tenant_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Every stored workflow of every tenant, newest change last, for the
    /// in-memory registry each node keeps.
    pub async fn all_workflows(&self) -> Result<Vec<WorkflowRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, WorkflowRow>(
                "SELECT * FROM workflows WHERE document <> '' ORDER BY updated_at",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}
