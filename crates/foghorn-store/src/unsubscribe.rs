//! One-click unsubscribes: the opt-out recorded on the subscriber (or, for a
//! recipient who is not a stored subscriber, as a suppression of the address
//! hash) together with its audit row, once.

use crate::audit::{append, Audit};
use crate::{on_db, Result, Store};

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
    /// Records that `target` wants no more `channel` messages; `source` says
    /// how (`one-click`, `page`). Idempotent: a repeat changes nothing and
    /// writes no second audit row.
    pub async fn unsubscribe(
        &self,
        tenant_id: &str,
        target: UnsubscribeTarget<'_>,
        channel: &str,
        source: &str,
        audit: &Audit,
        now: i64,
    ) -> Result<Unsubscribed> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin().await?;
            let outcome = match target {
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
                        Unsubscribed::NoSuchSubscriber
                    } else {
                        let opt_out: String = sqlx::query_scalar(
                            "SELECT opt_out FROM subscribers WHERE tenant_id = $1 AND external_id = $2",
                        )
                        .bind(tenant_id)
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                        let mut list: Vec<String> =
                            serde_json::from_str(&opt_out).unwrap_or_default();
                        if list.iter().any(|c| c == channel || c == "all") {
                            Unsubscribed::Already
                        } else {
                            list.push(channel.to_string());
                            list.sort_unstable();
                            sqlx::query(
                                "UPDATE subscribers SET opt_out = $1, updated_at = $2 WHERE tenant_id = $3 AND external_id = $4",
                            )
                            .bind(serde_json::to_string(&list).unwrap_or_else(|_| "[]".into()))
                            .bind(now)
                            .bind(tenant_id)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                            Unsubscribed::Recorded
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
                        Unsubscribed::Already
                    } else {
                        Unsubscribed::Recorded
                    }
                }
            };
            if outcome == Unsubscribed::Recorded {
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
        tenant_id: &str,
        channel: &str,
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
