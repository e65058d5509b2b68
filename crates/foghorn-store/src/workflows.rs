//! Workflow documents changed through the API (they override files and the
//! built-in pack).

use crate::audit::{append, Audit};
use crate::{on_db, on_read, Result, Store, WorkflowRow};

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

    pub async fn workflows(&self, tenant_id: &str) -> Result<Vec<WorkflowRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, WorkflowRow>(
                "SELECT * FROM workflows WHERE tenant_id = $1 ORDER BY name",
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
            sqlx::query_as::<DB, WorkflowRow>("SELECT * FROM workflows ORDER BY updated_at")
                .fetch_all(pool)
                .await?
        }))
    }
}
