//! The suppression list and the consent ledger, read and lifted through the
//! API. Entries are added by provider callbacks (see `inbound`).
//!
//! Addresses are found by keyed hash under every key of the ring, so a
//! master key rotation never hides an entry.

use crate::audit::{append, Audit};
use crate::inbound::{audit_target, delete_suppression};
use crate::{on_db, on_read, ConsentRow, Page, Result, Store, SuppressionRow};
use foghorn_core::Channel;
use foghorn_core::TenantId;
use sqlx::QueryBuilder;

impl Store {
    /// A tenant's suppressions, newest first, optionally of one channel;
    /// `before_id` is the previous page's last id.
    pub async fn suppressions(
        &self,
        tenant_id: &TenantId,
        channel: Option<Channel>,
        before_id: Option<&str>,
        limit: i64,
    ) -> Result<Page<SuppressionRow>> {
        let limit = limit.clamp(1, 1000);
        let mut items = on_read!(self, |pool, DB| {
            let mut q = QueryBuilder::<DB>::new("SELECT * FROM suppressions WHERE tenant_id = ");
            q.push_bind(tenant_id.to_string());
            if let Some(c) = channel {
                q.push(" AND channel = ").push_bind(c.as_str().to_string());
            }
            if let Some(id) = before_id {
                q.push(" AND id < ").push_bind(id.to_string());
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(limit + 1);
            q.build_query_as::<SuppressionRow>().fetch_all(pool).await?
        });
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|s| s.id.clone())
        } else {
            None
        };
        let items = items
            .into_iter()
            .map(|r| r.open(&self.crypto))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }

    /// Why a normalised address is suppressed on `channel`, if it is.
    pub async fn suppression_reason(
        &self,
        tenant_id: &TenantId,
        channel: Channel,
        address: &str,
    ) -> Result<Option<String>> {
        let hashes = self.crypto.lookup_hashes(address);
        if hashes.is_empty() {
            return Ok(None);
        }
        Ok(on_read!(self, |pool, DB| {
            let mut q =
                QueryBuilder::<DB>::new("SELECT reason FROM suppressions WHERE tenant_id = ");
            q.push_bind(tenant_id.to_string());
            q.push(" AND channel = ")
                .push_bind(channel.as_str().to_string());
            q.push(" AND address_hash IN ");
            crate::push_list(&mut q, hashes.iter());
            q.push(" LIMIT 1");
            q.build_query_scalar::<String>()
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Lifts the suppression of a normalised address; false when there was none.
    pub async fn lift_suppression(
        &self,
        tenant_id: &TenantId,
        channel: Channel,
        address: &str,
        audit: &Audit,
        now: i64,
    ) -> Result<bool> {
        let hashes = self.crypto.lookup_hashes(address);
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin().await?;
            let removed = delete_suppression::<DB>(&mut tx, tenant_id, channel, &hashes).await?;
            if removed == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            let a = Audit {
                target: audit_target(channel, hashes.first().map_or("", String::as_str)),
                ..audit.clone()
            };
            append::<DB>(&mut tx, tenant_id, &a, now).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The consent ledger of a normalised address, oldest first.
    pub async fn consent_history(
        &self,
        tenant_id: &TenantId,
        channel: Channel,
        address: &str,
    ) -> Result<Vec<ConsentRow>> {
        let hashes = self.crypto.lookup_hashes(address);
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let rows = on_read!(self, |pool, DB| {
            let mut q = QueryBuilder::<DB>::new("SELECT * FROM consent_ledger WHERE tenant_id = ");
            q.push_bind(tenant_id.to_string());
            q.push(" AND channel = ")
                .push_bind(channel.as_str().to_string());
            q.push(" AND address_hash IN ");
            crate::push_list(&mut q, hashes.iter());
            q.push(" ORDER BY at, id");
            q.build_query_as::<ConsentRow>().fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| r.open(&self.crypto))
            .collect::<Result<_, _>>()?)
    }
}
