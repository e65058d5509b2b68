//! The audit trail: append-only, hash-chained.
//!
//! Each row's hash is SHA-256 over the previous row's hash and the row's own
//! fields (length-prefixed, so no two field lists hash alike). Appends happen
//! inside the transaction of the change they record, so a change and its
//! audit row commit together or not at all.

use crate::{on_db, on_read, Result, Store};
use foghorn_core::TenantId;
use sha2::{Digest, Sha256};
use sqlx::FromRow;

/// What to record; the tenant comes from the operation itself.
#[derive(Debug, Clone)]
pub struct Audit {
    /// `key:<id>`, `cli`, `operator:<id>`, `system`.
    pub actor: String,
    /// `subscriber.put`, `workflow.put`, `dlq.replay`, …
    pub action: String,
    pub target: String,
    /// JSON with no personal data.
    pub detail: String,
}

impl Audit {
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        target: impl Into<String>,
    ) -> Audit {
        Audit {
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            detail: "{}".into(),
        }
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Audit {
        self.detail = detail.to_string();
        self
    }
}

#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct AuditRow {
    pub seq: i64,
    pub tenant_id: TenantId,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Where a row sits in the chain.
struct Position<'a> {
    prev: &'a str,
    seq: i64,
    tenant: &'a TenantId,
    at: i64,
}

fn row_hash(p: &Position<'_>, a: &Audit) -> String {
    let mut h = Sha256::new();
    let parts: [&[u8]; 8] = [
        p.prev.as_bytes(),
        &p.seq.to_be_bytes(),
        p.tenant.as_str().as_bytes(),
        &p.at.to_be_bytes(),
        a.actor.as_bytes(),
        a.action.as_bytes(),
        a.target.as_bytes(),
        a.detail.as_bytes(),
    ];
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    format!("{:x}", h.finalize())
}

/// Where an appended row landed: what a document anchored in the chain
/// cites, so a reader can find the row and check it belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chained {
    pub seq: i64,
    pub hash: String,
}

/// Appends inside `tx`. The head row update takes a row lock (PostgreSQL),
/// so concurrent appenders queue instead of forking the chain.
pub(crate) async fn append<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    tenant_id: &TenantId,
    a: &Audit,
    now: i64,
) -> Result<Chained>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'r> (i64, String): sqlx::FromRow<'r, DB::Row>,
{
    let (seq, prev): (i64, String) = sqlx::query_as::<DB, (i64, String)>(
        "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash",
    )
    .fetch_one(&mut **tx)
    .await?;
    let hash = row_hash(
        &Position {
            prev: &prev,
            seq,
            tenant: tenant_id,
            at: now,
        },
        a,
    );
    sqlx::query::<DB>("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(hash.clone())
        .execute(&mut **tx)
        .await?;
    sqlx::query::<DB>(
        "INSERT INTO audit_log (seq, tenant_id, at, actor, action, target, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(seq)
    .bind(tenant_id.to_string())
    .bind(now)
    .bind(a.actor.clone())
    .bind(a.action.clone())
    .bind(a.target.clone())
    .bind(a.detail.clone())
    .bind(prev)
    .bind(hash.clone())
    .execute(&mut **tx)
    .await?;
    Ok(Chained { seq, hash })
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The first row that does not verify (or the head, for rows cut off the end).
    pub seq: i64,
    pub reason: String,
}

impl Store {
    /// Records an action on its own (for actions with no other write).
    pub async fn audit(&self, tenant_id: &TenantId, a: &Audit, now: i64) -> Result<()> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            append::<DB>(&mut tx, tenant_id, a, now).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// A tenant's audit rows, oldest first, after `after_seq`.
    pub async fn audit_rows(
        &self,
        tenant_id: Option<&TenantId>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, AuditRow>(
                "SELECT * FROM audit_log WHERE seq > $1 AND ($2 IS NULL OR tenant_id = $2) ORDER BY seq LIMIT $3",
            )
            .bind(after_seq)
            .bind(tenant_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// A tenant's audit rows, newest first, before `before_seq` when given.
    pub async fn audit_recent(
        &self,
        tenant_id: &TenantId,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, AuditRow>(
                "SELECT * FROM audit_log WHERE tenant_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
            )
            .bind(tenant_id)
            .bind(before_seq.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Walks the whole chain; returns the number of rows verified, or the
    /// first row that fails.
    pub async fn verify_audit(&self) -> Result<Result<i64, ChainBreak>> {
        let mut prev = "genesis".to_string();
        let mut expected = 1i64;
        loop {
            let rows = self.audit_rows(None, expected - 1, 5_000).await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                if r.seq != expected {
                    return Ok(Err(ChainBreak {
                        seq: expected,
                        reason: format!("row {expected} is missing (next is {})", r.seq),
                    }));
                }
                if r.prev_hash != prev {
                    return Ok(Err(ChainBreak {
                        seq: r.seq,
                        reason: "does not follow the previous row (deleted or reordered rows)"
                            .into(),
                    }));
                }
                let h = row_hash(
                    &Position {
                        prev: &r.prev_hash,
                        seq: r.seq,
                        tenant: &r.tenant_id,
                        at: r.at,
                    },
                    &Audit {
                        actor: r.actor.clone(),
                        action: r.action.clone(),
                        target: r.target.clone(),
                        detail: r.detail.clone(),
                    },
                );
                if h != r.hash {
                    return Ok(Err(ChainBreak {
                        seq: r.seq,
                        reason: "its contents do not match its hash (edited)".into(),
                    }));
                }
                prev = r.hash;
                expected += 1;
            }
        }
        let (head_seq, head_hash): (i64, String) = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, (i64, String)>("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(pool)
                .await?
        });
        if head_seq != expected - 1 || head_hash != prev {
            return Ok(Err(ChainBreak {
                seq: expected,
                reason: format!("the chain ends at row {} but {head_seq} rows were written (rows cut from the end)", expected - 1),
            }));
        }
        Ok(Ok(expected - 1))
    }
}
