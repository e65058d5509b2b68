//! What the accept transaction reads for the NaviDocs pack's planning, and
//! only for the events whose workflows ask: the reminders of a series
//! already handled, throttle counts, recent identical alerts and open
//! digests. Read inside the batch's transaction so that what the planner
//! decides holds when it commits.

use crate::crypto::Crypto;
use crate::{Result, INSERT_CHUNK};
use foghorn_core::TenantId;
use std::collections::{HashMap, HashSet};

/// What an event's workflow asks the transaction to read or do.
#[derive(Debug, Clone, Default)]
pub struct Needs {
    /// Workflows whose pending notifications with the event's grouping key
    /// are cancelled when it is written; true cancels only a series'
    /// reminders still to come.
    pub cancels: Vec<(String, bool)>,
    /// The series workflow whose reminders already handled for the
    /// grouping key are read.
    pub series: Option<String>,
    /// Throttle counts to read: (category, window in ms, per subscriber).
    pub throttles: Vec<(String, i64, bool)>,
    /// Identical alerts to look for: the window (ms) and each alert's
    /// fingerprint.
    pub dedupe: Option<(i64, Vec<String>)>,
    /// The fingerprints of the digests the event may join.
    pub digests: Vec<String>,
}

impl Needs {
    pub fn is_empty(&self) -> bool {
        self.cancels.is_empty()
            && self.series.is_none()
            && self.throttles.is_empty()
            && self.dedupe.is_none()
            && self.digests.is_empty()
    }
}

/// A reminder already handled: (tenant, workflow, grouping key,
/// subscriber id, step, offset).
type Handled = (TenantId, String, String, String, i64, String);

/// What was read, as the planner asks it, updated as it plans.
#[derive(Default)]
pub struct PlanningFacts {
    handled: HashSet<Handled>,
    /// (tenant, category, window, subscriber or None for the tenant) → count.
    throttles: HashMap<(TenantId, String, i64, Option<String>), i64>,
    /// (tenant, keyed hash) → the first notification's id.
    duplicates: HashMap<(TenantId, String), String>,
    /// (tenant, keyed hash of the scope) → the open digest's notification.
    digests: HashMap<(TenantId, String), String>,
}

/// A fingerprint's keyed hash: what rows keep, so no table holds a
/// person's address in a form that can be guessed at.
pub fn keyed(crypto: &Crypto, fingerprint: &str) -> String {
    crypto
        .lookup_hash(fingerprint)
        .unwrap_or_else(|| fingerprint.to_string())
}

impl PlanningFacts {
    /// Whether the subscriber's reminder `offset` of `step` was sent (or
    /// is being sent) already.
    pub fn handled(
        &self,
        tenant: &TenantId,
        workflow: &str,
        group: &str,
        subscriber: &str,
        step: i64,
        offset: &str,
    ) -> bool {
        self.handled.contains(&(
            tenant.clone(),
            workflow.to_string(),
            group.to_string(),
            subscriber.to_string(),
            step,
            offset.to_string(),
        ))
    }

    /// Notifications of `category` in the window, the subscriber's or
    /// (None) the tenant's, including those planned earlier in the batch.
    pub fn throttle_count(
        &self,
        tenant: &TenantId,
        category: &str,
        window: i64,
        subscriber: Option<&str>,
    ) -> i64 {
        self.throttles
            .get(&(
                tenant.clone(),
                category.to_string(),
                window,
                subscriber.map(str::to_string),
            ))
            .copied()
            .unwrap_or(0)
    }

    pub fn count_throttle(
        &mut self,
        tenant: &TenantId,
        category: &str,
        window: i64,
        subscriber: Option<&str>,
    ) {
        *self
            .throttles
            .entry((
                tenant.clone(),
                category.to_string(),
                window,
                subscriber.map(str::to_string),
            ))
            .or_default() += 1;
    }

    /// The notification an identical alert went out as, inside the window.
    pub fn duplicate_of(&self, tenant: &TenantId, hash: &str) -> Option<&str> {
        self.duplicates
            .get(&(tenant.clone(), hash.to_string()))
            .map(String::as_str)
    }

    pub fn record_alert(&mut self, tenant: &TenantId, hash: &str, id: &str) {
        self.duplicates
            .entry((tenant.clone(), hash.to_string()))
            .or_insert_with(|| id.to_string());
    }

    /// The open digest of a scope (its keyed hash), if any.
    pub fn open_digest(&self, tenant: &TenantId, scope: &str) -> Option<&str> {
        self.digests
            .get(&(tenant.clone(), scope.to_string()))
            .map(String::as_str)
    }

    pub fn opened_digest(&mut self, tenant: &TenantId, scope: &str, id: &str) {
        self.digests
            .insert((tenant.clone(), scope.to_string()), id.to_string());
    }
}

/// What a draft needs, read in `tx`. On PostgreSQL each digest scope is
/// locked for the transaction first (in a fixed order), so two writers
/// never both open a digest for it, and a digest that starts sending
/// (its row updated) waits for an event joining it, or is seen closed.
pub(crate) async fn load<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    drafts: &[crate::EventDraft],
    crypto: &Crypto,
    postgres: bool,
    now: i64,
) -> Result<PlanningFacts>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> Option<String>: sqlx::Decode<'q, DB>,
    for<'r> (String, i64, String): sqlx::FromRow<'r, DB::Row>,
    for<'r> (Option<String>, i64): sqlx::FromRow<'r, DB::Row>,
    for<'r> (String, String): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
{
    let mut facts = PlanningFacts::default();
    if drafts.iter().all(|d| d.needs.is_empty()) {
        return Ok(facts);
    }
    // Digests first: the advisory locks come before any row is read.
    let mut scopes: Vec<(&TenantId, String)> = drafts
        .iter()
        .flat_map(|d| {
            d.needs
                .digests
                .iter()
                .map(move |f| (&d.tenant_id, keyed(crypto, f)))
        })
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    if postgres {
        for (tenant, scope) in &scopes {
            sqlx::query_as::<DB, (i64,)>("SELECT 1::BIGINT FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS l")
                .bind(format!("digest:{tenant}:{scope}"))
                .fetch_one(&mut **tx)
                .await?;
        }
    }
    let mut by_tenant: HashMap<&TenantId, Vec<&str>> = HashMap::new();
    for (t, s) in &scopes {
        by_tenant.entry(t).or_default().push(s);
    }
    for (tenant, scopes) in by_tenant {
        for chunk in scopes.chunks(INSERT_CHUNK) {
            let sql = format!(
                "SELECT scope, notification_id FROM digests WHERE closed_at IS NULL AND tenant_id = $1 AND scope IN {}{}",
                crate::numbered(2, chunk.len()),
                if postgres { " FOR UPDATE" } else { "" }
            );
            let mut q = sqlx::query_as::<DB, (String, String)>(&sql).bind(tenant.to_string());
            for s in chunk {
                q = q.bind(s.to_string());
            }
            for (scope, id) in q.fetch_all(&mut **tx).await? {
                facts.digests.insert((tenant.clone(), scope), id);
            }
        }
    }
    for d in drafts.iter().filter(|d| !d.needs.is_empty()) {
        let t = &d.tenant_id;
        if let (Some(workflow), Some(group)) = (&d.needs.series, &d.grouping_key) {
            let rows: Vec<(String, i64, String)> = sqlx::query_as(
                "SELECT subscriber_id, step, series_offset FROM notifications
                 WHERE tenant_id = $1 AND grouping_key = $2 AND workflow = $3
                   AND series_offset IS NOT NULL AND subscriber_id IS NOT NULL
                   AND status NOT IN ('scheduled', 'cancelled', 'suppressed')",
            )
            .bind(t.to_string())
            .bind(group.clone())
            .bind(workflow.clone())
            .fetch_all(&mut **tx)
            .await?;
            for (sid, step, offset) in rows {
                facts.handled.insert((
                    t.clone(),
                    workflow.clone(),
                    group.clone(),
                    sid,
                    step,
                    offset,
                ));
            }
        }
        for (category, window, per_subscriber) in &d.needs.throttles {
            let key = (t.clone(), category.clone(), *window, None);
            if facts.throttles.contains_key(&key) {
                continue;
            }
            // Counted: what went or is going out; not a reminder still to
            // come, nor what was held back.
            let rows: Vec<(Option<String>, i64)> = if *per_subscriber {
                sqlx::query_as(
                    "SELECT subscriber_id, COUNT(*) FROM notifications
                     WHERE tenant_id = $1 AND category = $2 AND created_at >= $3
                       AND status NOT IN ('scheduled', 'cancelled', 'suppressed')
                     GROUP BY subscriber_id",
                )
            } else {
                sqlx::query_as(
                    "SELECT NULL, COUNT(*) FROM notifications
                     WHERE tenant_id = $1 AND category = $2 AND created_at >= $3
                       AND status NOT IN ('scheduled', 'cancelled', 'suppressed')",
                )
            }
            .bind(t.to_string())
            .bind(category.clone())
            .bind(now - window)
            .fetch_all(&mut **tx)
            .await?;
            let mut total = 0;
            for (sid, n) in rows {
                total += n;
                if let Some(sid) = sid {
                    facts
                        .throttles
                        .insert((t.clone(), category.clone(), *window, Some(sid)), n);
                }
            }
            facts.throttles.insert(key, total);
        }
        if let Some((window, fingerprints)) = &d.needs.dedupe {
            // Every hash a row may hold (under each key of the ring, or
            // the fingerprint itself without one) → the current one,
            // which is what the planner asks with.
            let mut current: HashMap<String, String> = HashMap::new();
            for f in fingerprints {
                let now_hash = keyed(crypto, f);
                for h in crypto.lookup_hashes(f).into_iter().chain([f.clone()]) {
                    current.insert(h, now_hash.clone());
                }
            }
            let hashes: Vec<String> = current.keys().cloned().collect();
            for chunk in hashes.chunks(INSERT_CHUNK) {
                let sql = format!(
                    "SELECT dedupe_hash, id FROM notifications WHERE tenant_id = $1 AND created_at >= $2
                     AND status NOT IN ('cancelled', 'suppressed') AND dedupe_hash IN {}",
                    crate::numbered(3, chunk.len())
                );
                let mut q = sqlx::query_as::<DB, (String, String)>(&sql)
                    .bind(t.to_string())
                    .bind(now - window);
                for h in chunk {
                    q = q.bind(h.clone());
                }
                let rows = q.fetch_all(&mut **tx).await?;
                for (hash, id) in rows {
                    let key = current.get(&hash).cloned().unwrap_or(hash);
                    facts.duplicates.entry((t.clone(), key)).or_insert(id);
                }
            }
        }
    }
    Ok(facts)
}
