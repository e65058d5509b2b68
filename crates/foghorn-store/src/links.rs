//! Short links: the targets of `{public_url}/l/{code}` (sealed, since a link
//! may carry a personal token) and the clicks on them, per notification.

use crate::{on_db, on_read, Result, Store};
use foghorn_core::TenantId;

/// Where a code leads, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortLink {
    pub tenant_id: TenantId,
    pub notification_id: String,
    pub url: String,
}

impl Store {
    /// Stores `(code, url)` pairs of one notification; a code already stored
    /// (a retried send makes the same codes) is left as it is.
    pub async fn put_short_links(
        &self,
        tenant_id: &TenantId,
        notification_id: &str,
        links: &[(String, String)],
        now: i64,
    ) -> Result<()> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin().await?;
            for (code, url) in links {
                sqlx::query(
                    "INSERT INTO short_links (code, tenant_id, notification_id, url, created_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING",
                )
                .bind(code)
                .bind(tenant_id)
                .bind(notification_id)
                .bind(self.crypto.seal("short_links.url", url))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn short_link(&self, code: &str) -> Result<Option<ShortLink>> {
        let row: Option<(TenantId, String, String)> = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, (TenantId, String, String)>(
                "SELECT tenant_id, notification_id, url FROM short_links WHERE code = $1",
            )
            .bind(code)
            .fetch_optional(pool)
            .await?
        });
        row.map(|(tenant_id, notification_id, url)| {
            Ok(ShortLink {
                tenant_id,
                notification_id,
                url: self.crypto.open("short_links.url", &url)?,
            })
        })
        .transpose()
    }

    pub async fn record_click(&self, link: &ShortLink, code: &str, now: i64) -> Result<()> {
        on_db!(self, |pool, DB| {
            sqlx::query(
                "INSERT INTO link_clicks (id, tenant_id, notification_id, code, at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(format!("clk_{}", ulid::Ulid::new().to_string().to_ascii_lowercase()))
            .bind(&link.tenant_id)
            .bind(&link.notification_id)
            .bind(code)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// A notification's clicks as (code, time), oldest first.
    pub async fn clicks(
        &self,
        tenant_id: &TenantId,
        notification_id: &str,
    ) -> Result<Vec<(String, i64)>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, (String, i64)>(
                "SELECT code, at FROM link_clicks WHERE tenant_id = $1 AND notification_id = $2 ORDER BY at, id",
            )
            .bind(tenant_id)
            .bind(notification_id)
            .fetch_all(pool)
            .await?
        }))
    }
}
