//! One-click unsubscribes: the subscriber's opt-out (or, for a recipient who
//! is not a stored subscriber, a suppression of the address hash) together
//! with its consent ledger and audit rows, once.

use crate::audit::{append, Audit};
use crate::subscribers::channel_address;
use crate::{on_db, OptOutRow, Result, Store, SubscriberRow};
use foghorn_core::{Channel, TenantId};

/// Who is unsubscribing.
#[derive(Debug, Clone, Copy)]
pub enum UnsubscribeTarget<'a> {
    /// A stored subscriber, by external id.
    Subscriber(&'a str),
    /// An inline recipient, by the keyed hash of the address.
    Address(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribed {
    /// The opt-out is new and was recorded with its audit row.
    Recorded,
    /// It was already in place: nothing changed.
    Already,
    /// The subscriber no longer exists: there is nobody left to email.
    NoSuchSubscriber,
}

impl Store {
    /// Records that `target` wants no more `channel` messages of `category`
    /// (None: of any category); `source` says how (`one-click`, `page`).
    /// A subscriber's opt-out is a row of its own, which profile updates
    /// leave alone; an address's is a suppression of the whole channel (the
    /// list has no categories). Either way a consent ledger row and the
    /// audit row go with it. Idempotent: when an opt-out as wide is in place,
    /// nothing changes and no second row is written.
    #[allow(clippy::too_many_arguments)]
    pub async fn unsubscribe(
        &self,
        tenant_id: &TenantId,
        target: UnsubscribeTarget<'_>,
        channel: Channel,
        category: Option<&str>,
        source: &str,
        audit: &Audit,
        now: i64,
    ) -> Result<Unsubscribed> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let (outcome, subscriber, address_hash, address) = match target {
                UnsubscribeTarget::Subscriber(id) => {
                    // Touch the row first: on PostgreSQL this takes its lock,
                    // so a concurrent PUT cannot slip between read and write.
                    let found = sqlx::query(
                        "UPDATE subscribers SET updated_at = updated_at WHERE tenant_id = $1 AND external_id = $2",
                    )
                    .bind(tenant_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if found == 0 {
                        (Unsubscribed::NoSuchSubscriber, None, None, None)
                    } else {
                        let existing: Vec<OptOutRow> = sqlx::query_as(
                            "SELECT * FROM opt_outs WHERE tenant_id = $1 AND subscriber_id = $2 AND channel = $3",
                        )
                        .bind(tenant_id)
                        .bind(id)
                        .bind(channel)
                        .fetch_all(&mut *tx)
                        .await?;
                        let covered = existing.iter().any(|o| match category {
                            Some(c) => o.covers(channel, Some(c)),
                            None => o.category.is_empty(),
                        });
                        if covered {
                            (Unsubscribed::Already, None, None, None)
                        } else {
                            sqlx::query(
                                "INSERT INTO opt_outs (tenant_id, subscriber_id, channel, category, source, actor, created_at)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            )
                            .bind(tenant_id)
                            .bind(id)
                            .bind(channel)
                            .bind(category.unwrap_or(""))
                            .bind(source)
                            .bind(&audit.actor)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            // The ledger names the address it had then.
                            let row: Option<SubscriberRow> = sqlx::query_as(
                                "SELECT * FROM subscribers WHERE tenant_id = $1 AND external_id = $2",
                            )
                            .bind(tenant_id)
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await?;
                            let address = row
                                .map(|r| r.open(&self.crypto))
                                .transpose()?
                                .and_then(|r| channel_address(&r, channel));
                            let hash = address.as_deref().and_then(|a| self.crypto.lookup_hash(a));
                            (Unsubscribed::Recorded, Some(id), hash, address)
                        }
                    }
                }
                UnsubscribeTarget::Address(hash) => {
                    let inserted = sqlx::query(
                        "INSERT INTO suppressions (tenant_id, channel, address_hash, id, reason, source, created_at)
                         VALUES ($1, $2, $3, $4, 'unsubscribed', $5, $6)
                         ON CONFLICT (tenant_id, channel, address_hash) DO NOTHING",
                    )
                    .bind(tenant_id)
                    .bind(channel)
                    .bind(hash)
                    .bind(foghorn_core::ids::suppression_id())
                    .bind(source)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if inserted == 0 {
                        (Unsubscribed::Already, None, None, None)
                    } else {
                        (Unsubscribed::Recorded, None, Some(hash.to_string()), None)
                    }
                }
            };
            if outcome == Unsubscribed::Recorded {
                // An address's suppression covers every category.
                let category = subscriber.and(category);
                sqlx::query(
                    "INSERT INTO consent_ledger (id, tenant_id, channel, address_hash, address, subscriber_id,
                       category, action, source, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'opt_out', $8, $9, $10)",
                )
                .bind(foghorn_core::ids::consent_id())
                .bind(tenant_id)
                .bind(channel)
                .bind(address_hash)
                .bind(self.crypto.seal_opt("consent_ledger.address", address.as_deref()))
                .bind(subscriber)
                .bind(category)
                .bind(source)
                .bind(&audit.actor)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                append::<DB>(&mut tx, tenant_id, audit, now).await?;
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            Ok(outcome)
        })
    }

    /// Why the address (by any of its hashes) may not receive `channel`
    /// messages, when it is suppressed for the tenant.
    pub async fn suppression(
        &self,
        tenant_id: &TenantId,
        channel: Channel,
        address_hashes: &[String],
    ) -> Result<Option<String>> {
        for hash in address_hashes {
            let reason: Option<String> = crate::on_read!(self, |pool, DB| {
                sqlx::query_scalar::<DB, String>(
                    "SELECT reason FROM suppressions WHERE tenant_id = $1 AND channel = $2 AND address_hash = $3",
                )
                .bind(tenant_id)
                .bind(channel)
                .bind(hash)
                .fetch_optional(pool)
                .await?
            });
            if reason.is_some() {
                return Ok(reason);
            }
        }
        Ok(None)
    }
}
