//! Subscribers: the people notifications go to, by the caller's own id.

use crate::audit::{append, Audit};
use crate::{on_db, on_read, Result, Store, SubscriberRow};

impl Store {
    /// Creates or replaces a subscriber; keeps the original `created_at`.
    /// Returns true when the subscriber is new.
    pub async fn put_subscriber(&self, plain: &SubscriberRow, audit: &Audit) -> Result<bool> {
        let s = &plain.sealed(&self.crypto);
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let existed: Option<i64> = sqlx::query_scalar(
                "SELECT created_at FROM subscribers WHERE tenant_id = $1 AND external_id = $2",
            )
            .bind(&s.tenant_id)
            .bind(&s.external_id)
            .fetch_optional(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO subscribers (tenant_id, external_id, email, phone, whatsapp, locale, timezone, country,
                   opt_out, data, created_at, updated_at, email_hash, phone_hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (tenant_id, external_id) DO UPDATE SET email = excluded.email, phone = excluded.phone,
                   whatsapp = excluded.whatsapp, locale = excluded.locale, timezone = excluded.timezone,
                   country = excluded.country, opt_out = excluded.opt_out, data = excluded.data,
                   email_hash = excluded.email_hash, phone_hash = excluded.phone_hash,
                   updated_at = excluded.updated_at",
            )
            .bind(&s.tenant_id)
            .bind(&s.external_id)
            .bind(&s.email)
            .bind(&s.phone)
            .bind(&s.whatsapp)
            .bind(&s.locale)
            .bind(&s.timezone)
            .bind(&s.country)
            .bind(&s.opt_out)
            .bind(&s.data)
            .bind(s.created_at)
            .bind(s.updated_at)
            .bind(&s.email_hash)
            .bind(&s.phone_hash)
            .execute(&mut *tx)
            .await?;
            append::<DB>(&mut tx, &s.tenant_id, audit, s.updated_at).await?;
            tx.commit().await?;
            Ok(existed.is_none())
        })
    }

    pub async fn subscriber(
        &self,
        tenant_id: &str,
        external_id: &str,
    ) -> Result<Option<SubscriberRow>> {
        let row = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, SubscriberRow>(
                "SELECT * FROM subscribers WHERE tenant_id = $1 AND external_id = $2",
            )
            .bind(tenant_id)
            .bind(external_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|r| r.open(&self.crypto)).transpose()?)
    }

    /// Returns false when there was no such subscriber.
    pub async fn delete_subscriber(
        &self,
        tenant_id: &str,
        external_id: &str,
        audit: &Audit,
        now: i64,
    ) -> Result<bool> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let n =
                sqlx::query("DELETE FROM subscribers WHERE tenant_id = $1 AND external_id = $2")
                    .bind(tenant_id)
                    .bind(external_id)
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
