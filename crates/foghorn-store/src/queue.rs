//! The job queue: claim due jobs under a lease, record outcomes in batches.
//!
//! A job's `run_at` is also its lease: a claim moves `run_at` to the lease's
//! end and stamps `lease_owner`, then commits. The provider call happens
//! outside any transaction; if the worker dies, the job simply becomes due
//! again. An outcome is applied only while the same owner still holds the
//! lease, so a worker that outlived its lease cannot overwrite a newer claim.

use crate::audit::{append, Audit};
use crate::batch_sql::{int, text, BatchSql, Rows, PLAIN};
use crate::{on_db, on_read, NotificationRow, Result, Store, INSERT_CHUNK};
use foghorn_core::{Status, TenantId};
use sqlx::QueryBuilder;

/// A claimed job with what the worker needs to render and send it.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub notification: NotificationRow,
    pub event_name: String,
    pub event_data: String,
    /// Attempts already made on the current provider.
    pub attempt: i64,
    /// Index into the channel's provider list.
    pub provider_idx: i64,
    /// How many times this job has been claimed; above 1 means a lease expired.
    pub claims: i64,
}

#[derive(Debug, Clone)]
pub enum OutcomeKind {
    Sent {
        provider_message_id: Option<String>,
        cost_micros: Option<i64>,
        currency: Option<String>,
        /// Sandbox capture: (channel, recipient, content JSON).
        captured: Option<(String, String, String)>,
        /// Said on the notification (`status_reason`) of a send that went
        /// somewhere other than expected, e.g. captured by the sandbox.
        note: Option<String>,
    },
    /// Try again at `run_at`, with the given provider position.
    Retry {
        run_at: i64,
        attempt: i64,
        provider_idx: i64,
    },
    /// Nothing left to try: the notification goes to the dead-letter queue.
    Dead { reason: String },
    /// The channel is exhausted; `fallback` continues on another channel.
    Fallback {
        reason: String,
        fallback: Box<crate::NewNotification>,
    },
    /// The job could not be attempted (e.g. a template failed); no attempt row.
    Suppressed { reason: String },
}

/// Rows per batched statement: 7 values each stays well inside SQLite's
/// 32,766 parameters and PostgreSQL's 65,535.
const UPDATE_CHUNK: usize = 1_000;

/// A sent notification's new facts.
struct SentRow<'a> {
    id: &'a str,
    provider: Option<&'a str>,
    provider_message_id: Option<&'a str>,
    cost_micros: Option<i64>,
    currency: Option<&'a str>,
    tried: i64,
    note: Option<&'a str>,
}

/// A notification's new status: queued again, dead, suppressed or failed
/// over.
struct StatusRow<'a> {
    id: &'a str,
    status: Status,
    reason: Option<String>,
    provider: Option<&'a str>,
    tried: i64,
}

/// A job put back for a later attempt.
struct RetryRow<'a> {
    id: &'a str,
    run_at: i64,
    attempt: i64,
    provider_idx: i64,
}

/// A batch of outcomes sorted into the few statements that record them.
#[derive(Default)]
struct Grouped<'a> {
    sent: Vec<SentRow<'a>>,
    captured: Vec<(&'a Outcome, &'a (String, String, String))>,
    retried: Vec<RetryRow<'a>>,
    status: Vec<StatusRow<'a>>,
    fallbacks: Vec<(&'a Outcome, &'a crate::NewNotification)>,
    finished: Vec<&'a str>,
}

impl<'a> Grouped<'a> {
    /// One row per notification. The same one twice (this owner claimed
    /// it again after its lease ran out) keeps the later outcome and counts
    /// both attempts: a batched UPDATE applies one joined row per target.
    fn of(applied: &[&'a Outcome]) -> Grouped<'a> {
        let mut last: std::collections::HashMap<&str, (usize, i64)> = Default::default();
        for (i, o) in applied.iter().enumerate() {
            let e = last.entry(o.notification_id.as_str()).or_insert((i, 0));
            e.0 = i;
            e.1 += i64::from(o.attempt.is_some());
        }
        let mut g = Grouped::default();
        for (i, o) in applied.iter().enumerate() {
            let id = o.notification_id.as_str();
            let Some(&(winner, tried)) = last.get(id) else {
                continue;
            };
            if winner != i {
                continue;
            }
            let provider = o.attempt.as_ref().map(|a| a.provider.as_str());
            match &o.kind {
                OutcomeKind::Sent {
                    provider_message_id,
                    cost_micros,
                    currency,
                    captured,
                    note,
                } => {
                    g.sent.push(SentRow {
                        id,
                        provider,
                        provider_message_id: provider_message_id.as_deref(),
                        cost_micros: *cost_micros,
                        currency: currency.as_deref(),
                        tried,
                        note: note.as_deref(),
                    });
                    if let Some(c) = captured {
                        g.captured.push((o, c));
                    }
                    g.finished.push(id);
                }
                OutcomeKind::Retry {
                    run_at,
                    attempt,
                    provider_idx,
                } => {
                    g.retried.push(RetryRow {
                        id,
                        run_at: *run_at,
                        attempt: *attempt,
                        provider_idx: *provider_idx,
                    });
                    // The reason names the outcome only; the provider's
                    // words (which may quote an address) stay sealed in the
                    // attempt row.
                    let reason = o.attempt.as_ref().map(|a| match a.http_status {
                        Some(code) => format!("retrying after {} (HTTP {code})", a.outcome),
                        None => format!("retrying after {}", a.outcome),
                    });
                    g.status.push(StatusRow {
                        id,
                        status: Status::Queued,
                        reason,
                        provider,
                        tried,
                    });
                }
                OutcomeKind::Dead { reason }
                | OutcomeKind::Suppressed { reason }
                | OutcomeKind::Fallback { reason, .. } => {
                    let status = match &o.kind {
                        OutcomeKind::Dead { .. } => Status::Dead,
                        OutcomeKind::Suppressed { .. } => Status::Suppressed,
                        _ => Status::Failed,
                    };
                    g.status.push(StatusRow {
                        id,
                        status,
                        reason: Some(reason.clone()),
                        provider,
                        tried,
                    });
                    if let OutcomeKind::Fallback { fallback, .. } = &o.kind {
                        g.fallbacks.push((o, fallback));
                    }
                    g.finished.push(id);
                }
            }
        }
        g
    }
}

/// The result of one delivery attempt, to be recorded.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub notification_id: String,
    pub tenant_id: TenantId,
    /// None when no provider was called.
    pub attempt: Option<Attempt>,
    pub kind: OutcomeKind,
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: String,
    pub provider: String,
    pub outcome: String,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
}

const CLAIM_SQLITE: &str = "UPDATE jobs SET run_at = $1, lease_owner = $2, claims = claims + 1
     WHERE notification_id IN (SELECT notification_id FROM jobs WHERE run_at <= $3 ORDER BY run_at LIMIT $4)
     RETURNING notification_id, attempt, provider_idx, claims";

const CLAIM_POSTGRES: &str = "UPDATE jobs SET run_at = $1, lease_owner = $2, claims = claims + 1
     WHERE notification_id IN (SELECT notification_id FROM jobs WHERE run_at <= $3 ORDER BY run_at LIMIT $4
                               FOR UPDATE SKIP LOCKED)
     RETURNING notification_id, attempt, provider_idx, claims";

impl Store {
    /// Claims up to `limit` due jobs for `owner` until `now + lease_ms`.
    pub async fn claim_jobs(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>> {
        let claim_sql = if self.is_postgres() {
            CLAIM_POSTGRES
        } else {
            CLAIM_SQLITE
        };
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let claimed: Vec<(String, i64, i64, i64)> = sqlx::query_as(claim_sql)
                .bind(now + lease_ms)
                .bind(owner)
                .bind(now)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            if claimed.is_empty() {
                tx.commit().await?;
                return Ok(Vec::new());
            }
            let mut q = QueryBuilder::<DB>::new(
                "UPDATE notifications SET status = 'sending', updated_at = ",
            );
            q.push_bind(now);
            q.push(" WHERE status IN ('queued', 'scheduled') AND id");
            DB::push_is_one_of(&mut q, claimed.iter().map(|(id, ..)| id.clone()).collect());
            q.build().execute(&mut *tx).await?;

            let mut q = QueryBuilder::<DB>::new(
                "SELECT n.*, e.name AS event_name, e.data AS event_data FROM notifications n
                 JOIN events e ON e.id = n.event_id WHERE n.id",
            );
            DB::push_is_one_of(&mut q, claimed.iter().map(|(id, ..)| id.clone()).collect());
            let rows = q.build().fetch_all(&mut *tx).await?;
            tx.commit().await?;

            let mut by_id: std::collections::HashMap<String, (i64, i64, i64)> = claimed
                .into_iter()
                .map(|(id, a, p, c)| (id, (a, p, c)))
                .collect();
            let mut jobs = Vec::with_capacity(rows.len());
            for row in rows {
                use sqlx::{FromRow, Row};
                let notification = NotificationRow::from_row(&row)?.open(&self.crypto)?;
                let Some((attempt, provider_idx, claims)) = by_id.remove(&notification.id) else {
                    continue;
                };
                jobs.push(ClaimedJob {
                    event_name: row.try_get("event_name")?,
                    event_data: self
                        .crypto
                        .open("events.data", &row.try_get::<String, _>("event_data")?)?,
                    notification,
                    attempt,
                    provider_idx,
                    claims,
                });
            }
            Ok(jobs)
        })
    }

    /// Gives claimed jobs that were never started back to the queue, due
    /// at `now`, and their notifications back to `queued`. Only jobs this
    /// `owner` still holds are touched; their claim is not counted, as no
    /// attempt was made.
    pub async fn release_jobs(&self, owner: &str, ids: &[String], now: i64) -> Result<usize> {
        let mut released = 0;
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            for chunk in ids.chunks(INSERT_CHUNK) {
                let mut q = QueryBuilder::<DB>::new("UPDATE jobs SET run_at = ");
                q.push_bind(now);
                q.push(", lease_owner = NULL, claims = claims - 1 WHERE lease_owner = ");
                q.push_bind(owner);
                q.push(" AND notification_id");
                DB::push_is_one_of(&mut q, chunk.to_vec());
                q.push(" RETURNING notification_id");
                let back: Vec<(String,)> = q.build_query_as().fetch_all(&mut *tx).await?;
                if back.is_empty() {
                    continue;
                }
                released += back.len();
                let mut q = QueryBuilder::<DB>::new(
                    "UPDATE notifications SET status = 'queued', updated_at = ",
                );
                q.push_bind(now);
                q.push(" WHERE status = 'sending' AND id");
                DB::push_is_one_of(&mut q, back.into_iter().map(|(id,)| id).collect());
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(released)
    }

    /// Records a batch of outcomes in one transaction. Outcomes whose lease
    /// `owner` no longer holds are skipped (another worker owns the job now);
    /// returns how many were applied.
    pub async fn record_outcomes(
        &self,
        owner: &str,
        now: i64,
        outcomes: &[Outcome],
    ) -> Result<usize> {
        if outcomes.is_empty() {
            return Ok(0);
        }
        // One row per notification (the later outcome wins), so each job
        // row is changed once and says whether this owner still holds it.
        let all: Vec<&Outcome> = outcomes.iter().collect();
        let mut batch = Grouped::of(&all);
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            // The job rows first: deleting a finished job and moving a
            // retried one both happen only under this owner's lease, and
            // what they touch is what this owner still held. The rows stay
            // locked until the commit, so no claim can take them between
            // the check and the write.
            let mut held: std::collections::HashSet<String> = Default::default();
            for chunk in batch.finished.chunks(INSERT_CHUNK) {
                let mut q = QueryBuilder::<DB>::new("DELETE FROM jobs WHERE lease_owner = ");
                q.push_bind(owner);
                q.push(" AND notification_id");
                DB::push_is_one_of(&mut q, chunk.iter().map(|id| id.to_string()).collect());
                q.push(" RETURNING notification_id");
                let ids: Vec<(String,)> = q.build_query_as().fetch_all(&mut *tx).await?;
                held.extend(ids.into_iter().map(|(id,)| id));
            }
            for chunk in batch.retried.chunks(UPDATE_CHUNK) {
                let mut q = QueryBuilder::<DB>::new("WITH v (nid, run_at, attempt, pidx) AS (");
                DB::push_table(
                    &mut q,
                    vec![
                        text(chunk.iter().map(|r| Some(r.id.to_string()))),
                        int(chunk.iter().map(|r| Some(r.run_at))),
                        int(chunk.iter().map(|r| Some(r.attempt))),
                        int(chunk.iter().map(|r| Some(r.provider_idx))),
                    ],
                );
                q.push(
                    ") UPDATE jobs AS j SET run_at = v.run_at, attempt = v.attempt, provider_idx = v.pidx,
                     lease_owner = NULL FROM v WHERE j.notification_id = v.nid AND j.lease_owner = ",
                );
                q.push_bind(owner);
                // Unqualified: SQLite's RETURNING does not take the alias.
                q.push(" RETURNING notification_id");
                let ids: Vec<(String,)> = q.build_query_as().fetch_all(&mut *tx).await?;
                held.extend(ids.into_iter().map(|(id,)| id));
            }
            if held.is_empty() {
                tx.commit().await?;
                return Ok(0);
            }
            let applied: Vec<&Outcome> = outcomes
                .iter()
                .filter(|o| held.contains(&o.notification_id))
                .collect();
            // The notifications' changes, for the jobs this owner held.
            let has = |id: &str| held.contains(id);
            batch.sent.retain(|r| has(r.id));
            batch.captured.retain(|(o, _)| has(&o.notification_id));
            batch.status.retain(|r| has(r.id));
            batch.fallbacks.retain(|(o, _)| has(&o.notification_id));

            let attempts: Vec<(&Outcome, &Attempt)> = applied
                .iter()
                .filter_map(|o| o.attempt.as_ref().map(|a| (*o, a)))
                .collect();
            let attempt_rows =
                Rows {
                    table: "attempts",
                    names: &[
                        "id",
                        "tenant_id",
                        "notification_id",
                        "provider",
                        "outcome",
                        "http_status",
                        "error",
                        "latency_ms",
                        "created_at",
                    ],
                    columns: vec![
                        text(attempts.iter().map(|(_, a)| Some(a.id.clone()))),
                        text(attempts.iter().map(|(o, _)| Some(o.tenant_id.to_string()))),
                        text(
                            attempts
                                .iter()
                                .map(|(o, _)| Some(o.notification_id.clone())),
                        ),
                        text(attempts.iter().map(|(_, a)| Some(a.provider.clone()))),
                        text(attempts.iter().map(|(_, a)| Some(a.outcome.clone()))),
                        int(attempts.iter().map(|(_, a)| a.http_status)),
                        text(attempts.iter().map(|(_, a)| {
                            self.crypto.seal_opt("attempts.error", a.error.as_deref())
                        })),
                        int(attempts.iter().map(|(_, a)| Some(a.latency_ms))),
                        int(attempts.iter().map(|_| Some(now))),
                    ],
                };
            DB::insert_rows(&mut tx, attempt_rows, &PLAIN).await?;

            // One statement per kind of change, however many outcomes: a
            // per-row UPDATE was a round trip each on PostgreSQL and a hop
            // to the only writer each on SQLite.
            for chunk in batch.sent.chunks(UPDATE_CHUNK) {
                let mut q = QueryBuilder::<DB>::new(
                    "WITH v (nid, prov, pmid, cost, cur, tried, note) AS (",
                );
                DB::push_table(
                    &mut q,
                    vec![
                        text(chunk.iter().map(|r| Some(r.id.to_string()))),
                        text(chunk.iter().map(|r| r.provider.map(String::from))),
                        text(
                            chunk
                                .iter()
                                .map(|r| r.provider_message_id.map(String::from)),
                        ),
                        int(chunk.iter().map(|r| r.cost_micros)),
                        text(chunk.iter().map(|r| r.currency.map(String::from))),
                        int(chunk.iter().map(|r| Some(r.tried))),
                        text(chunk.iter().map(|r| r.note.map(String::from))),
                    ],
                );
                // A provider's report may have overtaken this record (a
                // fast delivery receipt): keep it.
                q.push(
                    ") UPDATE notifications AS n SET
                     status = CASE WHEN n.status IN ('delivered', 'read', 'failed', 'bounced') THEN n.status ELSE 'sent' END,
                     status_reason = CASE WHEN n.status IN ('delivered', 'read', 'failed', 'bounced') THEN n.status_reason
                       WHEN v.note IS NULL AND n.status_reason = 'critical: preferences bypassed' THEN n.status_reason ELSE v.note END,
                     provider = v.prov,
                     provider_message_id = v.pmid,
                     cost_micros = CASE WHEN n.status IN ('delivered', 'read', 'failed', 'bounced') AND n.cost_micros IS NOT NULL THEN n.cost_micros ELSE v.cost END,
                     currency = CASE WHEN n.status IN ('delivered', 'read', 'failed', 'bounced') AND n.cost_micros IS NOT NULL THEN n.currency ELSE v.cur END,
                     attempts = n.attempts + v.tried, updated_at = ",
                );
                q.push_bind(now).push(", sent_at = ").push_bind(now);
                q.push(" FROM v WHERE n.id = v.nid");
                q.build().execute(&mut *tx).await?;
                // The month's spend, from the costs just kept: one upsert
                // per tenant, channel and currency of the batch.
                // A cost a provider reported before this record counts too.
                if !chunk.is_empty() {
                    let mut q = QueryBuilder::<DB>::new(
                        "INSERT INTO spend_monthly (tenant_id, month, channel, currency, micros, sends) SELECT tenant_id, ",
                    );
                    q.push_bind(foghorn_core::clock::month_of(now));
                    q.push(
                        ", channel, currency, CAST(SUM(cost_micros) AS BIGINT), COUNT(*) FROM notifications
                         WHERE cost_micros IS NOT NULL AND currency IS NOT NULL AND id",
                    );
                    DB::push_is_one_of(&mut q, chunk.iter().map(|r| r.id.to_string()).collect());
                    q.push(
                        " GROUP BY tenant_id, channel, currency
                         ON CONFLICT (tenant_id, month, channel, currency) DO UPDATE SET
                         micros = spend_monthly.micros + excluded.micros, sends = spend_monthly.sends + excluded.sends",
                    );
                    q.build().execute(&mut *tx).await?;
                }
            }
            for chunk in batch.captured.chunks(UPDATE_CHUNK) {
                let mut q = QueryBuilder::<DB>::new(
                    "INSERT INTO sandbox_messages (id, tenant_id, notification_id, channel, recipient, content, created_at) ",
                );
                q.push_values(chunk, |mut b, (o, (channel, recipient, content))| {
                    b.push_bind(foghorn_core::ids::message_id())
                        .push_bind(&o.tenant_id)
                        .push_bind(o.notification_id.as_str())
                        .push_bind(channel.as_str())
                        .push_bind(self.crypto.seal("sandbox_messages.recipient", recipient))
                        .push_bind(self.crypto.seal("sandbox_messages.content", content))
                        .push_bind(now);
                });
                q.build().execute(&mut *tx).await?;
            }
            for chunk in batch.status.chunks(UPDATE_CHUNK) {
                let mut q = QueryBuilder::<DB>::new("WITH v (nid, st, why, prov, tried) AS (");
                DB::push_table(
                    &mut q,
                    vec![
                        text(chunk.iter().map(|r| Some(r.id.to_string()))),
                        text(chunk.iter().map(|r| Some(r.status.as_str().to_string()))),
                        text(chunk.iter().map(|r| r.reason.clone())),
                        text(chunk.iter().map(|r| r.provider.map(String::from))),
                        int(chunk.iter().map(|r| Some(r.tried))),
                    ],
                );
                q.push(
                    ") UPDATE notifications AS n SET status = v.st, status_reason = v.why,
                     provider = COALESCE(v.prov, n.provider), attempts = n.attempts + v.tried, updated_at = ",
                );
                q.push_bind(now).push(" FROM v WHERE n.id = v.nid");
                q.build().execute(&mut *tx).await?;
            }
            for (o, fallback) in &batch.fallbacks {
                let sealed = crate::NewNotification {
                    recipient: self
                        .crypto
                        .seal("notifications.recipient", &fallback.recipient),
                    ..(**fallback).clone()
                };
                insert_fallback::<DB>(&mut tx, &o.notification_id, &sealed, now).await?;
            }
            tx.commit().await?;
            Ok(applied.len())
        })
    }

    /// Jobs waiting (due or not), for the queue-depth gauge.
    pub async fn queue_depth(&self) -> Result<i64> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_scalar::<DB, i64>("SELECT COUNT(*) FROM jobs")
                .fetch_one(pool)
                .await?
        }))
    }

    /// The earliest `run_at` among waiting jobs, so an idle worker knows when to look again.
    pub async fn next_run_at(&self) -> Result<Option<i64>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_scalar::<DB, Option<i64>>("SELECT MIN(run_at) FROM jobs")
                .fetch_one(pool)
                .await?
        }))
    }

    /// Cancels a tenant's pending notifications by the event's idempotency key
    /// or by grouping key; returns the ids cancelled.
    pub async fn cancel(
        &self,
        tenant_id: &TenantId,
        idempotency_key: Option<&str>,
        grouping_key: Option<&str>,
        now: i64,
        audit: &Audit,
    ) -> Result<Vec<String>> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let ids: Vec<(String,)> = sqlx::query_as(
                "UPDATE notifications SET status = 'cancelled', status_reason = 'cancelled by request', updated_at = $1
                 WHERE tenant_id = $2 AND status IN ('queued', 'scheduled')
                   AND (($3 IS NOT NULL AND idempotency_key = $3) OR ($4 IS NOT NULL AND grouping_key = $4))
                 RETURNING id",
            )
            .bind(now)
            .bind(tenant_id)
            .bind(idempotency_key)
            .bind(grouping_key)
            .fetch_all(&mut *tx)
            .await?;
            let cancelled: Vec<String> = ids.iter().map(|(id,)| id.clone()).collect();
            crate::cancel_by_group::release::<DB>(&mut tx, tenant_id, &cancelled, now).await?;
            if !ids.is_empty() {
                let a = Audit {
                    detail: serde_json::json!({"cancelled": ids.len()}).to_string(),
                    ..audit.clone()
                };
                append::<DB>(&mut tx, tenant_id, &a, now).await?;
            }
            tx.commit().await?;
            Ok(ids.into_iter().map(|(id,)| id).collect())
        })
    }

    /// Puts a dead notification back in the queue, from its channel's first provider.
    /// Returns false when the tenant has no such dead notification.
    pub async fn replay_dead(
        &self,
        tenant_id: &TenantId,
        id: &str,
        now: i64,
        audit: &Audit,
    ) -> Result<bool> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let n = sqlx::query(
                "UPDATE notifications SET status = 'queued', status_reason = 'replayed from the dead-letter queue', updated_at = $1
                 WHERE tenant_id = $2 AND id = $3 AND status = 'dead'",
            )
            .bind(now)
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO jobs (notification_id, tenant_id, run_at, created_at) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (notification_id) DO NOTHING",
            )
            .bind(id)
            .bind(tenant_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            append::<DB>(&mut tx, tenant_id, audit, now).await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}

async fn insert_fallback<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    parent_id: &str,
    n: &crate::NewNotification,
    now: i64,
) -> Result<()>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    // Copies the parent's event, tenant and keys so the fallback is found,
    // cancelled and reported with it.
    sqlx::query::<DB>(
        "INSERT INTO notifications (id, tenant_id, event_id, workflow, step, channel, subscriber_id, recipient,
           status, status_reason, grouping_key, idempotency_key, parent_id, send_at, created_at, updated_at, escalates)
         SELECT $1, tenant_id, event_id, workflow, $2, $3, subscriber_id, $4, $5, $6, grouping_key, idempotency_key,
                id, NULL, $7, $7, escalates FROM notifications WHERE id = $8",
    )
    .bind(n.id.clone())
    .bind(n.step)
    .bind(n.channel.as_str().to_string())
    .bind(n.recipient.clone())
    .bind(n.status.as_str().to_string())
    .bind(n.status_reason.clone())
    .bind(now)
    .bind(parent_id.to_string())
    .execute(&mut **tx)
    .await?;
    if let Some(run_at) = n.run_at {
        sqlx::query::<DB>(
            "INSERT INTO jobs (notification_id, tenant_id, run_at, created_at)
             SELECT $1, tenant_id, $2, $3 FROM notifications WHERE id = $4",
        )
        .bind(n.id.clone())
        .bind(run_at)
        .bind(now)
        .bind(parent_id.to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
