//! Dashboard sessions: which key signed in, until when, and the form token
//! its pages carry. A session lives only as long as its key: a revoked key
//! finds no session.

use crate::{on_db, on_read, Result, Store};
use foghorn_core::TenantId;

/// A live session, with the scopes of the key behind it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UiSession {
    pub tenant_id: TenantId,
    pub key_id: String,
    /// Space-separated, as on the key.
    pub scopes: String,
    pub csrf: String,
    pub expires_at: i64,
}

impl Store {
    /// Stores a new session under the hash of its cookie secret, and clears
    /// sessions that have expired.
    pub async fn create_ui_session(
        &self,
        id_hash: &str,
        tenant_id: &TenantId,
        key_id: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM ui_sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO ui_sessions (id_hash, tenant_id, key_id, csrf, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id_hash)
            .bind(tenant_id)
            .bind(key_id)
            .bind(csrf)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The session behind a cookie, when it has not expired and its key is
    /// not revoked.
    pub async fn ui_session(&self, id_hash: &str, now: i64) -> Result<Option<UiSession>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, UiSession>(
                "SELECT s.tenant_id, s.key_id, k.scopes, s.csrf, s.expires_at
                 FROM ui_sessions s JOIN api_keys k ON k.id = s.key_id
                 WHERE s.id_hash = $1 AND s.expires_at > $2 AND k.revoked_at IS NULL",
            )
            .bind(id_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Ends a session (sign-out).
    pub async fn delete_ui_session(&self, id_hash: &str) -> Result<()> {
        on_db!(self, |pool, DB| {
            sqlx::query("DELETE FROM ui_sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
