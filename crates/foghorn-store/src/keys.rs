//! Tenants and API keys. Only hashes of keys are stored.

use crate::audit::{append, Audit};
use crate::{on_db, on_read, ApiKeyRow, Result, Store};
use foghorn_core::TenantId;
use sqlx::FromRow;

/// A tenant (one per dealer). `settings` is JSON (help text, senders, …).
#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct TenantRow {
    pub id: TenantId,
    pub name: String,
    pub settings: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Keys of no tenant: operators, who manage tenants.
pub const OPERATOR_TENANT: &str = "";
/// The tenant of a single-tenant install, and of callbacks that name none.
pub const DEFAULT_TENANT: &str = "default";

impl Store {
    pub async fn insert_api_key(&self, key: &ApiKeyRow, audit: &Audit) -> Result<()> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            sqlx::query(
                "INSERT INTO api_keys (id, tenant_id, prefix, hash, scopes, created_at, name)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&key.id)
            .bind(&key.tenant_id)
            .bind(&key.prefix)
            .bind(&key.hash)
            .bind(&key.scopes)
            .bind(key.created_at)
            .bind(&key.name)
            .execute(&mut *tx)
            .await?;
            append::<DB>(&mut tx, &key.tenant_id, audit, key.created_at).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// A live (not revoked) key by the hash of its secret.
    pub async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, ApiKeyRow>(
                "SELECT * FROM api_keys WHERE hash = $1 AND revoked_at IS NULL",
            )
            .bind(hash)
            .fetch_optional(pool)
            .await?
        }))
    }

    pub async fn api_keys(&self, tenant_id: &TenantId) -> Result<Vec<ApiKeyRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, ApiKeyRow>(
                "SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id",
            )
            .bind(tenant_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Revokes a key by id; false when there is no such live key.
    pub async fn revoke_api_key(&self, id: &str, now: i64, audit: &Audit) -> Result<bool> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let tenant: Option<(TenantId,)> = sqlx::query_as(
                "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING tenant_id",
            )
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((tenant,)) = tenant else {
                tx.rollback().await?;
                return Ok(false);
            };
            append::<DB>(&mut tx, &tenant, audit, now).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn touch_api_key(&self, id: &str, now: i64) -> Result<()> {
        on_db!(self, |pool, DB| {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn tenant_exists(&self, tenant_id: &TenantId) -> Result<bool> {
        Ok(self.tenant(tenant_id).await?.is_some())
    }

    pub async fn tenant(&self, tenant_id: &TenantId) -> Result<Option<TenantRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, TenantRow>(
                "SELECT id, name, settings, created_at, updated_at FROM tenants WHERE id = $1",
            )
            .bind(tenant_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    pub async fn tenants(&self) -> Result<Vec<TenantRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, TenantRow>(
                "SELECT id, name, settings, created_at, updated_at FROM tenants ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// Creates or updates a tenant; true when created.
    pub async fn put_tenant(&self, t: &TenantRow, audit: &Audit) -> Result<bool> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let existed: Option<(String,)> = sqlx::query_as("SELECT id FROM tenants WHERE id = $1")
                .bind(&t.id)
                .fetch_optional(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO tenants (id, name, settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, settings = excluded.settings,
                   updated_at = excluded.updated_at",
            )
            .bind(&t.id)
            .bind(&t.name)
            .bind(&t.settings)
            .bind(t.updated_at)
            .execute(&mut *tx)
            .await?;
            append::<DB>(&mut tx, &t.id, audit, t.updated_at).await?;
            tx.commit().await?;
            Ok(existed.is_none())
        })
    }
}
