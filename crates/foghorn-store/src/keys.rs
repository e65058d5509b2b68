//! API keys and tenants. Only hashes of keys are stored.

use crate::{on_db, on_read, ApiKeyRow, Result, Store};

impl Store {
    pub async fn insert_api_key(&self, key: &ApiKeyRow) -> Result<()> {
        on_db!(self, |pool, DB| {
            sqlx::query(
                "INSERT INTO api_keys (id, tenant_id, prefix, hash, scopes, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&key.id)
            .bind(&key.tenant_id)
            .bind(&key.prefix)
            .bind(&key.hash)
            .bind(&key.scopes)
            .bind(key.created_at)
            .execute(pool)
            .await?;
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

    pub async fn tenant_exists(&self, tenant_id: &str) -> Result<bool> {
        let n: i64 = on_read!(self, |pool, DB| {
            sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE id = $1")
                .bind(tenant_id)
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }
}
