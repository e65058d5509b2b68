//! Provider accounts a tenant brings (its own Twilio, its own Mailgun). The
//! settings hold credentials, so they are sealed at rest.

use crate::audit::{append, Audit};
use crate::{on_db, on_read, Result, Store};
use foghorn_core::TenantId;
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct TenantProviderRow {
    pub tenant_id: TenantId,
    pub name: String,
    pub kind: String,
    /// JSON object of the provider's settings (opened).
    pub config: String,
    pub updated_at: i64,
}

impl Store {
    pub async fn put_tenant_provider(&self, p: &TenantProviderRow, audit: &Audit) -> Result<()> {
        let sealed = self.crypto.seal("tenant_providers.config", &p.config);
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            sqlx::query(
                "INSERT INTO tenant_providers (tenant_id, name, kind, config, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant_id, name) DO UPDATE SET kind = excluded.kind, config = excluded.config,
                   updated_at = excluded.updated_at",
            )
            .bind(&p.tenant_id)
            .bind(&p.name)
            .bind(&p.kind)
            .bind(&sealed)
            .bind(p.updated_at)
            .execute(&mut *tx)
            .await?;
            append::<DB>(&mut tx, &p.tenant_id, audit, p.updated_at).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn tenant_providers(&self, tenant_id: &TenantId) -> Result<Vec<TenantProviderRow>> {
        let rows = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, TenantProviderRow>(
                "SELECT * FROM tenant_providers WHERE tenant_id = $1 ORDER BY name",
            )
            .bind(tenant_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|mut r| {
                r.config = self.crypto.open("tenant_providers.config", &r.config)?;
                Ok(r)
            })
            .collect()
    }

    /// When any tenant's providers last changed (cache invalidation).
    pub async fn tenant_providers_version(&self, tenant_id: &TenantId) -> Result<(i64, i64)> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, (i64, i64)>(
                "SELECT COUNT(*), COALESCE(MAX(updated_at), 0) FROM tenant_providers WHERE tenant_id = $1",
            )
            .bind(tenant_id)
            .fetch_one(pool)
            .await?
        }))
    }

    pub async fn delete_tenant_provider(
        &self,
        tenant_id: &TenantId,
        name: &str,
        audit: &Audit,
        now: i64,
    ) -> Result<bool> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let n = sqlx::query("DELETE FROM tenant_providers WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id)
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            append::<DB>(&mut tx, tenant_id, audit, now).await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}
