//! The transactional outbox: a batch of accepted events, their notifications
//! and their jobs, written in one transaction.
//!
//! The HTTP layer funnels events into a single writer that calls
//! [`Store::accept_events`] with whatever has queued up meanwhile (group
//! commit), so one fsync serves many requests. Everything an event needs —
//! the idempotency check, its subscribers, its rows — is read and written in
//! the same transaction, so a repeat can never make a second set of rows.

use crate::batch_sql::{int, text, BatchSql, Rows, Tail, PLAIN};
use crate::crypto::Crypto;
use crate::{on_db, OptInRow, OptOutRow, Result, Store, SubscriberRow, INSERT_CHUNK};
use foghorn_core::policy::TenantPolicy;
use foghorn_core::TenantId;
use foghorn_core::{normalise_address, Channel, Status};
use sqlx::QueryBuilder;
use std::collections::{BTreeMap, HashMap};

/// An event ready to be written; ids and response are decided by the caller.
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub tenant_id: TenantId,
    pub event_id: String,
    pub name: String,
    pub idempotency_key: Option<String>,
    pub grouping_key: Option<String>,
    /// The event's `data`, as JSON text.
    pub data: String,
    /// Subscriber external ids named in `to`, looked up inside the transaction.
    pub subscriber_ids: Vec<String>,
    /// The addresses of inline recipients (normalised), whose suppressions
    /// are read inside the transaction with the subscribers'.
    pub addresses: Vec<String>,
    pub created_at: i64,
    /// SHA-256 (hex) of the request's canonical form, stored with the
    /// idempotency key: a repeat of the key with another request is refused
    /// instead of answered. None compares with nothing.
    pub fingerprint: Option<String>,
    /// What the event says about a document, kept in the catalog in the
    /// same transaction when the event is created.
    pub catalog: Option<crate::catalog::CatalogRow>,
    /// What its workflow asks the transaction to read or cancel.
    pub needs: crate::planning_facts::Needs,
}

#[derive(Debug, Clone)]
pub struct NewNotification {
    pub id: String,
    pub workflow: String,
    pub step: i64,
    pub channel: Channel,
    pub subscriber_id: Option<String>,
    pub recipient: String,
    pub status: Status,
    pub status_reason: Option<String>,
    pub send_at: Option<i64>,
    /// When set, a job is queued for this time; suppressed notifications get none.
    pub run_at: Option<i64>,
    /// The notification this one escalates: it is sent only if that one
    /// is still unacknowledged when it is due.
    pub escalates: Option<String>,
    /// A reminder of a series: its offset (`-30d`).
    pub series_offset: Option<String>,
    /// The workflow's category, which throttles count (people's
    /// notifications only).
    pub category: Option<String>,
    /// The keyed fingerprint of the alert, for duplicate suppression.
    pub dedupe_hash: Option<String>,
}

/// A digest opened by an event: its notification sends it.
#[derive(Debug, Clone)]
pub struct NewDigest {
    pub notification_id: String,
    /// The keyed hash of (workflow, step, recipient, key value).
    pub scope: String,
    pub closes_at: i64,
}

/// What the planner decided for one event.
#[derive(Debug, Clone)]
pub struct Plan {
    pub notifications: Vec<NewNotification>,
    /// Digests this event opens.
    pub digests: Vec<NewDigest>,
    /// The digests (their notifications) this event is collected into.
    pub digested_into: Vec<String>,
    /// The JSON answer stored with the event, returned again on a repeat.
    pub response: String,
}

#[derive(Debug)]
pub enum AcceptResult<E> {
    Created(String),
    /// The idempotency key was seen before: the first answer.
    Duplicate(String),
    /// The idempotency key was first used with another request.
    KeyReused,
    Rejected(E),
}

/// Fresh jobs leased to this node's worker inside the accept transaction,
/// so they are sent without waiting for a claim: the job row is written
/// already leased (`lease_owner`, `run_at` at the lease's end, one claim)
/// and its notification as `sending`. If the node dies the lease ends and
/// any node claims them, as with a claimed job.
pub struct LeaseFresh<'a> {
    pub owner: &'a str,
    pub lease_ms: i64,
    /// Asked once per job due now; true takes it (the caller has room for
    /// it once the transaction commits).
    pub take: &'a mut (dyn FnMut() -> bool + Send),
}

/// What a batch wrote: each event's answer, the jobs leased to the caller,
/// and how many jobs wait for a claim (so a caller that took them all
/// need wake no one).
pub struct Accepted<E> {
    pub results: Vec<AcceptResult<E>>,
    pub fresh: Vec<crate::ClaimedJob>,
    pub queued: usize,
}

/// Subscribers found for a batch, by (tenant, external id).
pub type SubscriberMap = HashMap<(TenantId, String), SubscriberRow>;

/// How far back the daily SMS cap counts.
pub const SMS_CAP_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// What the planner may consult about a batch, read inside the batch's
/// transaction: its subscribers, the suppressions of every address it may
/// use, and each subscriber's SMS count over the last 24 hours.
pub struct AcceptFacts {
    pub subscribers: SubscriberMap,
    /// (tenant, subscriber id) → that subscriber's opt-outs.
    opt_outs: HashMap<(TenantId, String), Vec<OptOutRow>>,
    /// (tenant, subscriber id) → that subscriber's opt-ins.
    opt_ins: HashMap<(TenantId, String), Vec<OptInRow>>,
    /// The policies of the tenants that wrote one.
    policies: HashMap<TenantId, TenantPolicy>,
    /// (tenant, channel, address hash) → reason.
    suppressions: HashMap<(TenantId, String, String), String>,
    /// (tenant, subscriber id) → SMS notifications in the cap window,
    /// including those planned earlier in this batch.
    sms_counts: HashMap<(TenantId, String), i64>,
    /// Series, throttles, duplicates and digests.
    pub planning: crate::planning_facts::PlanningFacts,
    crypto: Crypto,
}

impl AcceptFacts {
    pub fn subscriber(&self, tenant: &TenantId, external_id: &str) -> Option<&SubscriberRow> {
        self.subscribers
            .get(&(tenant.clone(), external_id.to_string()))
    }

    /// The subscriber's opt-outs (whole channels and single categories).
    pub fn opt_outs(&self, tenant: &TenantId, external_id: &str) -> &[OptOutRow] {
        self.opt_outs
            .get(&(tenant.clone(), external_id.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// The subscriber's opt-ins (categories off by default, SMS marketing).
    pub fn opt_ins(&self, tenant: &TenantId, external_id: &str) -> &[OptInRow] {
        self.opt_ins
            .get(&(tenant.clone(), external_id.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// The tenant's policy (empty when it never wrote one).
    pub fn policy(&self, tenant: &TenantId) -> &TenantPolicy {
        static EMPTY: std::sync::OnceLock<TenantPolicy> = std::sync::OnceLock::new();
        self.policies
            .get(tenant)
            .unwrap_or_else(|| EMPTY.get_or_init(TenantPolicy::default))
    }

    /// Why `address` (normalised for `channel`) is suppressed, if it is.
    /// Hashes under every key of the ring match, so a rotation in progress
    /// does not lift anything.
    pub fn suppression(&self, tenant: &TenantId, channel: Channel, address: &str) -> Option<&str> {
        if self.suppressions.is_empty() {
            return None;
        }
        self.crypto
            .lookup_hashes(address)
            .into_iter()
            .find_map(|h| {
                self.suppressions
                    .get(&(tenant.clone(), channel.as_str().to_string(), h))
                    .map(String::as_str)
            })
    }

    /// SMS notifications the subscriber has had in the last 24 hours.
    pub fn sms_count(&self, tenant: &TenantId, subscriber: &str) -> i64 {
        self.sms_counts
            .get(&(tenant.clone(), subscriber.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// A fingerprint's keyed hash, as rows keep it.
    pub fn keyed(&self, fingerprint: &str) -> String {
        crate::planning_facts::keyed(&self.crypto, fingerprint)
    }

    /// Counts one more SMS planned for the subscriber.
    pub fn count_sms(&mut self, tenant: &TenantId, subscriber: &str) {
        *self
            .sms_counts
            .entry((tenant.clone(), subscriber.to_string()))
            .or_default() += 1;
    }
}

/// Whether a repeat of an idempotency key carries the first request. A side
/// without a fingerprint (an event stored before they were kept) matches.
fn same_request(first: &Option<String>, repeat: &Option<String>) -> bool {
    match (first, repeat) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// Every address a subscriber may be sent to, normalised.
fn subscriber_addresses(s: &SubscriberRow) -> impl Iterator<Item = String> + '_ {
    let k = &s.contact;
    [
        k.email
            .as_deref()
            .map(|e| normalise_address(Channel::Email, e)),
        k.phone
            .as_deref()
            .map(|p| normalise_address(Channel::Sms, p)),
        k.whatsapp
            .as_deref()
            .map(|w| normalise_address(Channel::Whatsapp, w)),
    ]
    .into_iter()
    .flatten()
}

/// A job leased at accept, as a claim would have returned it.
fn fresh_job(d: &EventDraft, n: &NewNotification, now: i64) -> crate::ClaimedJob {
    crate::ClaimedJob {
        notification: crate::NotificationRow {
            id: n.id.clone(),
            tenant_id: d.tenant_id.clone(),
            event_id: d.event_id.clone(),
            workflow: n.workflow.clone(),
            step: n.step,
            channel: n.channel,
            subscriber_id: n.subscriber_id.clone(),
            recipient: n.recipient.clone(),
            status: Status::Sending,
            status_reason: n.status_reason.clone(),
            grouping_key: d.grouping_key.clone(),
            idempotency_key: d.idempotency_key.clone(),
            provider: None,
            provider_message_id: None,
            cost_micros: None,
            currency: None,
            attempts: 0,
            parent_id: None,
            send_at: n.send_at,
            created_at: d.created_at,
            updated_at: now,
            acknowledged_at: None,
            acknowledged_by: None,
            acknowledged_via: None,
            escalates: n.escalates.clone(),
        },
        event_name: d.name.clone(),
        event_data: d.data.clone(),
        attempt: 0,
        provider_idx: 0,
        claims: 1,
    }
}

impl Store {
    /// Writes a batch of events in one transaction. `plan` turns each event
    /// (and the subscribers it names) into notifications, or rejects it; a
    /// rejected event writes nothing and does not disturb the others.
    pub async fn accept_events<E>(
        &self,
        drafts: &[EventDraft],
        plan: impl FnMut(&EventDraft, &mut AcceptFacts) -> Result<Plan, E>,
    ) -> Result<Vec<AcceptResult<E>>> {
        Ok(self
            .accept_events_leasing(drafts, plan, None)
            .await?
            .results)
    }

    /// [`Store::accept_events`], leasing the jobs `lease` takes to its
    /// owner in the same transaction; returns them ready to send, in the
    /// order they were taken.
    pub async fn accept_events_leasing<E>(
        &self,
        drafts: &[EventDraft],
        mut plan: impl FnMut(&EventDraft, &mut AcceptFacts) -> Result<Plan, E>,
        mut lease: Option<LeaseFresh<'_>>,
    ) -> Result<Accepted<E>> {
        let leased: Vec<crate::ClaimedJob>;
        let queued: usize;
        let mut results: Vec<Option<AcceptResult<E>>> = (0..drafts.len()).map(|_| None).collect();
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;

            // 1. Idempotency keys already stored, with their request's
            // fingerprint (None for events stored before fingerprints).
            let mut seen: HashMap<(TenantId, String), (String, Option<String>)> = HashMap::new();
            let keyed: Vec<&EventDraft> = drafts
                .iter()
                .filter(|d| d.idempotency_key.is_some())
                .collect();
            for chunk in keyed.chunks(INSERT_CHUNK) {
                let mut q = QueryBuilder::<DB>::new(
                    "SELECT tenant_id, idempotency_key, response, request_hash FROM events WHERE ",
                );
                let mut sep = q.separated(" OR ");
                for d in chunk {
                    sep.push("(tenant_id = ");
                    sep.push_bind_unseparated(d.tenant_id.clone());
                    sep.push_unseparated(" AND idempotency_key = ");
                    sep.push_bind_unseparated(d.idempotency_key.clone());
                    sep.push_unseparated(")");
                }
                let rows: Vec<(TenantId, String, String, Option<String>)> =
                    q.build_query_as().fetch_all(&mut *tx).await?;
                for (t, k, r, h) in rows {
                    seen.insert((t, k), (r, h));
                }
            }

            // 2. Subscribers named by the batch.
            let mut wanted: Vec<(&str, &str)> = drafts
                .iter()
                .flat_map(|d| {
                    d.subscriber_ids
                        .iter()
                        .map(move |s| (d.tenant_id.as_str(), s.as_str()))
                })
                .collect();
            wanted.sort_unstable();
            wanted.dedup();
            let mut subscribers: SubscriberMap = HashMap::new();
            let mut opt_outs: HashMap<(TenantId, String), Vec<OptOutRow>> = HashMap::new();
            let mut opt_ins: HashMap<(TenantId, String), Vec<OptInRow>> = HashMap::new();
            for chunk in wanted.chunks(INSERT_CHUNK) {
                let mut q = QueryBuilder::<DB>::new("SELECT * FROM subscribers WHERE ");
                let mut sep = q.separated(" OR ");
                for (t, s) in chunk {
                    sep.push("(tenant_id = ");
                    sep.push_bind_unseparated(t.to_string());
                    sep.push_unseparated(" AND external_id = ");
                    sep.push_bind_unseparated(s.to_string());
                    sep.push_unseparated(")");
                }
                // An erasure waits for this batch to commit, then finds
                // its notifications (SQLite's one writer orders them anyway).
                if matches!(self.backend, crate::Backend::Postgres(_)) {
                    q.push(" FOR SHARE");
                }
                let rows: Vec<SubscriberRow> = q.build_query_as().fetch_all(&mut *tx).await?;
                for r in rows {
                    let r = r.open(&self.crypto)?;
                    subscribers.insert((r.tenant_id.clone(), r.external_id.clone()), r);
                }
                let mut q = QueryBuilder::<DB>::new("SELECT * FROM opt_outs WHERE ");
                let mut sep = q.separated(" OR ");
                for (t, s) in chunk {
                    sep.push("(tenant_id = ");
                    sep.push_bind_unseparated(t.to_string());
                    sep.push_unseparated(" AND subscriber_id = ");
                    sep.push_bind_unseparated(s.to_string());
                    sep.push_unseparated(")");
                }
                let rows: Vec<OptOutRow> = q.build_query_as().fetch_all(&mut *tx).await?;
                for r in rows {
                    opt_outs
                        .entry((r.tenant_id.clone(), r.subscriber_id.clone()))
                        .or_default()
                        .push(r);
                }
                let mut q = QueryBuilder::<DB>::new("SELECT * FROM opt_ins WHERE ");
                let mut sep = q.separated(" OR ");
                for (t, s) in chunk {
                    sep.push("(tenant_id = ");
                    sep.push_bind_unseparated(t.to_string());
                    sep.push_unseparated(" AND subscriber_id = ");
                    sep.push_bind_unseparated(s.to_string());
                    sep.push_unseparated(")");
                }
                let rows: Vec<OptInRow> = q.build_query_as().fetch_all(&mut *tx).await?;
                for r in rows {
                    opt_ins
                        .entry((r.tenant_id.clone(), r.subscriber_id.clone()))
                        .or_default()
                        .push(r);
                }
            }

            // The policies of the batch's tenants (a handful at most).
            let mut tenants: Vec<&TenantId> = drafts.iter().map(|d| &d.tenant_id).collect();
            tenants.sort_unstable();
            tenants.dedup();
            let mut policies = HashMap::new();
            for chunk in tenants.chunks(INSERT_CHUNK) {
                let mut q =
                    QueryBuilder::<DB>::new("SELECT * FROM tenant_policies WHERE tenant_id IN ");
                crate::push_list(&mut q, chunk.iter().map(|t| t.to_string()));
                let rows: Vec<crate::people::PolicyRow> =
                    q.build_query_as().fetch_all(&mut *tx).await?;
                for r in rows {
                    policies.insert(r.tenant_id.clone(), r.parse()?);
                }
            }

            // 3. Suppressions of every address the batch may use, and the
            // SMS counts of its subscribers, by tenant.
            let mut by_tenant: BTreeMap<&TenantId, (Vec<String>, Vec<&str>)> = BTreeMap::new();
            for d in drafts {
                let (hashes, ids) = by_tenant.entry(&d.tenant_id).or_default();
                for a in &d.addresses {
                    hashes.extend(self.crypto.lookup_hashes(a));
                }
                for id in &d.subscriber_ids {
                    ids.push(id.as_str());
                    if let Some(s) = subscribers.get(&(d.tenant_id.clone(), id.clone())) {
                        for a in subscriber_addresses(s) {
                            hashes.extend(self.crypto.lookup_hashes(&a));
                        }
                    }
                }
            }
            let mut suppressions = HashMap::new();
            let mut sms_counts = HashMap::new();
            let since = foghorn_core::clock::now_ms() - SMS_CAP_WINDOW_MS;
            for (tenant, (mut hashes, mut ids)) in by_tenant {
                hashes.sort_unstable();
                hashes.dedup();
                for chunk in hashes.chunks(INSERT_CHUNK) {
                    let mut q = QueryBuilder::<DB>::new(
                        "SELECT channel, address_hash, reason FROM suppressions WHERE tenant_id = ",
                    );
                    q.push_bind(tenant.clone());
                    q.push(" AND address_hash IN ");
                    crate::push_list(&mut q, chunk.iter());
                    let rows: Vec<(String, String, String)> =
                        q.build_query_as().fetch_all(&mut *tx).await?;
                    for (channel, hash, reason) in rows {
                        suppressions.insert((tenant.clone(), channel, hash), reason);
                    }
                }
                ids.sort_unstable();
                ids.dedup();
                for chunk in ids.chunks(INSERT_CHUNK) {
                    let mut q = QueryBuilder::<DB>::new(
                        "SELECT subscriber_id, COUNT(*) FROM notifications WHERE tenant_id = ",
                    );
                    q.push_bind(tenant.clone());
                    q.push(" AND channel = 'sms' AND status NOT IN ('suppressed', 'cancelled') AND created_at >= ");
                    q.push_bind(since);
                    q.push(" AND subscriber_id IN ");
                    crate::push_list(&mut q, chunk.iter().copied());
                    q.push(" GROUP BY subscriber_id");
                    let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
                    for (id, n) in rows {
                        sms_counts.insert((tenant.clone(), id), n);
                    }
                }
            }
            let planning = crate::planning_facts::load::<DB>(
                &mut tx,
                drafts,
                &self.crypto,
                self.is_postgres(),
                foghorn_core::clock::now_ms(),
            )
            .await?;
            let mut facts = AcceptFacts {
                subscribers,
                opt_outs,
                opt_ins,
                policies,
                suppressions,
                sms_counts,
                planning,
                crypto: self.crypto.clone(),
            };

            // 4. Plan each event. A repeat inside the batch follows its
            // leader (the first with that key), answered once the leader's
            // fate is known: it may still lose a race with another node.
            let mut planned: Vec<(usize, Plan)> = Vec::with_capacity(drafts.len());
            let mut leaders: HashMap<(TenantId, String), usize> = HashMap::new();
            let mut followers: Vec<(usize, usize)> = Vec::new();
            for (i, d) in drafts.iter().enumerate() {
                if let Some(k) = &d.idempotency_key {
                    let key = (d.tenant_id.clone(), k.clone());
                    if let Some((r, h)) = seen.get(&key) {
                        results[i] = Some(if same_request(h, &d.fingerprint) {
                            AcceptResult::Duplicate(r.clone())
                        } else {
                            AcceptResult::KeyReused
                        });
                        continue;
                    }
                    if let Some(&leader) = leaders.get(&key) {
                        followers.push((i, leader));
                        continue;
                    }
                }
                match plan(d, &mut facts) {
                    Ok(p) => {
                        if let Some(k) = &d.idempotency_key {
                            leaders.insert((d.tenant_id.clone(), k.clone()), i);
                        }
                        planned.push((i, p));
                    }
                    Err(e) => results[i] = Some(AcceptResult::Rejected(e)),
                }
            }

            // 5. Events. ON CONFLICT catches a key committed meanwhile by
            // another node; those events are answered after the commit.
            let events = Rows {
                table: "events",
                names: &[
                    "id",
                    "tenant_id",
                    "name",
                    "idempotency_key",
                    "grouping_key",
                    "data",
                    "response",
                    "created_at",
                    "request_hash",
                ],
                columns: vec![
                    text(
                        planned
                            .iter()
                            .map(|(i, _)| Some(drafts[*i].event_id.clone())),
                    ),
                    text(
                        planned
                            .iter()
                            .map(|(i, _)| Some(drafts[*i].tenant_id.to_string())),
                    ),
                    text(planned.iter().map(|(i, _)| Some(drafts[*i].name.clone()))),
                    text(
                        planned
                            .iter()
                            .map(|(i, _)| drafts[*i].idempotency_key.clone()),
                    ),
                    text(planned.iter().map(|(i, _)| drafts[*i].grouping_key.clone())),
                    text(
                        planned
                            .iter()
                            .map(|(i, _)| Some(self.crypto.seal("events.data", &drafts[*i].data))),
                    ),
                    text(planned.iter().map(|(_, p)| Some(p.response.clone()))),
                    int(planned.iter().map(|(i, _)| Some(drafts[*i].created_at))),
                    text(planned.iter().map(|(i, _)| drafts[*i].fingerprint.clone())),
                ],
            };
            let inserted: std::collections::HashSet<String> = DB::insert_rows(
                &mut tx,
                events,
                &Tail {
                    sql: " ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id",
                    returns_ids: true,
                },
            )
            .await?
            .into_iter()
            .collect();

            // The documents the new events describe: in this commit, so the
            // catalog never waits for a second transaction (and fsync). On
            // SQLite the full-text index follows in batches.
            let documents = crate::catalog::newest(
                planned
                    .iter()
                    .map(|(i, _)| &drafts[*i])
                    .filter(|d| inserted.contains(&d.event_id))
                    .filter_map(|d| d.catalog.as_ref()),
            );
            let for_indexer = self.catalog_indexer_needed();
            for chunk in documents.chunks(INSERT_CHUNK) {
                let mut q = QueryBuilder::<DB>::new("");
                crate::catalog::push_catalog_upsert(&mut q, chunk, for_indexer);
                q.build().execute(&mut *tx).await?;
            }

            // 6. What the new events cancel: earlier events' pending
            // notifications with their grouping key, in the database and
            // earlier in this batch.
            let now = foghorn_core::clock::now_ms();
            crate::cancel_by_group::in_batch(drafts, &mut planned, &inserted);
            for (i, _) in planned
                .iter()
                .filter(|(i, _)| inserted.contains(&drafts[*i].event_id))
            {
                let d = &drafts[*i];
                if let (false, Some(group)) = (d.needs.cancels.is_empty(), &d.grouping_key) {
                    crate::cancel_by_group::stored::<DB>(&mut tx, d, group, now).await?;
                }
            }

            // 7. Notifications and their jobs.
            let rows: Vec<(&EventDraft, &NewNotification)> = planned
                .iter()
                .filter(|(i, _)| inserted.contains(&drafts[*i].event_id))
                .flat_map(|(i, p)| p.notifications.iter().map(move |n| (&drafts[*i], n)))
                .collect();
            // Which of the jobs due now go straight to this node's worker.
            let taken: Vec<bool> = rows
                .iter()
                .map(|(_, n)| match (&mut lease, n.run_at) {
                    (Some(l), Some(run_at)) if run_at <= now && n.status == Status::Queued => {
                        (l.take)()
                    }
                    _ => false,
                })
                .collect();
            let rows: Vec<(&EventDraft, &NewNotification, bool)> = rows
                .into_iter()
                .zip(taken)
                .map(|((d, n), t)| (d, n, t))
                .collect();
            let status = |n: &NewNotification, taken: bool| {
                if taken {
                    Status::Sending
                } else {
                    n.status
                }
            };
            let notifications = Rows {
                table: "notifications",
                names: &[
                    "id",
                    "tenant_id",
                    "event_id",
                    "workflow",
                    "step",
                    "channel",
                    "subscriber_id",
                    "recipient",
                    "status",
                    "status_reason",
                    "grouping_key",
                    "idempotency_key",
                    "send_at",
                    "created_at",
                    "updated_at",
                    "escalates",
                    "series_offset",
                    "category",
                    "dedupe_hash",
                ],
                columns: vec![
                    text(rows.iter().map(|(_, n, _)| Some(n.id.clone()))),
                    text(rows.iter().map(|(d, ..)| Some(d.tenant_id.to_string()))),
                    text(rows.iter().map(|(d, ..)| Some(d.event_id.clone()))),
                    text(rows.iter().map(|(_, n, _)| Some(n.workflow.clone()))),
                    int(rows.iter().map(|(_, n, _)| Some(n.step))),
                    text(
                        rows.iter()
                            .map(|(_, n, _)| Some(n.channel.as_str().to_string())),
                    ),
                    text(rows.iter().map(|(_, n, _)| n.subscriber_id.clone())),
                    text(rows.iter().map(|(_, n, _)| {
                        Some(self.crypto.seal("notifications.recipient", &n.recipient))
                    })),
                    text(
                        rows.iter()
                            .map(|(_, n, t)| Some(status(n, *t).as_str().to_string())),
                    ),
                    text(rows.iter().map(|(_, n, _)| n.status_reason.clone())),
                    text(rows.iter().map(|(d, ..)| d.grouping_key.clone())),
                    text(rows.iter().map(|(d, ..)| d.idempotency_key.clone())),
                    int(rows.iter().map(|(_, n, _)| n.send_at)),
                    int(rows.iter().map(|(d, ..)| Some(d.created_at))),
                    int(rows.iter().map(|(d, ..)| Some(d.created_at))),
                    text(rows.iter().map(|(_, n, _)| n.escalates.clone())),
                    text(rows.iter().map(|(_, n, _)| n.series_offset.clone())),
                    text(rows.iter().map(|(_, n, _)| n.category.clone())),
                    text(rows.iter().map(|(_, n, _)| n.dedupe_hash.clone())),
                ],
            };
            DB::insert_rows(&mut tx, notifications, &PLAIN).await?;
            crate::digests::write::<DB>(
                &mut tx,
                planned
                    .iter()
                    .filter(|(i, _)| inserted.contains(&drafts[*i].event_id))
                    .map(|(i, p)| (&drafts[*i], p)),
            )
            .await?;
            let jobs: Vec<(&EventDraft, &NewNotification, i64, bool)> = rows
                .iter()
                .filter_map(|(d, n, taken)| n.run_at.map(|t| (*d, *n, t, *taken)))
                .collect();
            let owner = lease.as_ref().map(|l| l.owner);
            let lease_end = now + lease.as_ref().map_or(0, |l| l.lease_ms);
            let job_rows = Rows {
                table: "jobs",
                names: &[
                    "notification_id",
                    "tenant_id",
                    "run_at",
                    "created_at",
                    "lease_owner",
                    "claims",
                ],
                columns: vec![
                    text(jobs.iter().map(|(_, n, ..)| Some(n.id.clone()))),
                    text(jobs.iter().map(|(d, ..)| Some(d.tenant_id.to_string()))),
                    int(jobs.iter().map(|(_, _, run_at, taken)| {
                        Some(if *taken { lease_end } else { *run_at })
                    })),
                    int(jobs.iter().map(|(d, ..)| Some(d.created_at))),
                    text(
                        jobs.iter()
                            .map(|(.., taken)| owner.filter(|_| *taken).map(String::from)),
                    ),
                    int(jobs.iter().map(|(.., taken)| Some(i64::from(*taken)))),
                ],
            };
            DB::insert_rows(&mut tx, job_rows, &PLAIN).await?;
            tx.commit().await?;
            queued = jobs.iter().filter(|(.., taken)| !taken).count();
            leased = rows
                .iter()
                .filter(|(_, _, taken)| *taken)
                .map(|(d, n, _)| fresh_job(d, n, now))
                .collect();

            // Whose request holds each leader's key now, with its answer:
            // the leader's own, or the one that beat it from another node.
            let mut owners: HashMap<usize, (String, Option<String>)> = HashMap::new();
            for (i, p) in planned {
                let d = &drafts[i];
                if inserted.contains(&d.event_id) {
                    owners.insert(i, (p.response.clone(), d.fingerprint.clone()));
                    results[i] = Some(AcceptResult::Created(p.response));
                    continue;
                }
                // Lost a race with another node: answer with its response,
                // if it was the same request.
                let first: Option<(String, Option<String>)> = sqlx::query_as(
                    "SELECT response, request_hash FROM events WHERE tenant_id = $1 AND idempotency_key = $2",
                )
                .bind(&d.tenant_id)
                .bind(&d.idempotency_key)
                .fetch_optional(pool)
                .await?;
                let (response, hash) = first.unwrap_or((p.response, d.fingerprint.clone()));
                results[i] = Some(if same_request(&hash, &d.fingerprint) {
                    AcceptResult::Duplicate(response.clone())
                } else {
                    AcceptResult::KeyReused
                });
                owners.insert(i, (response, hash));
            }
            // Repeats inside the batch compare with the key's final owner,
            // which need not be their leader.
            for (i, leader) in followers {
                let Some((response, hash)) = owners.get(&leader) else {
                    return Err(crate::StoreError::Corrupt(
                        "an idempotent repeat lost its leader".into(),
                    ));
                };
                results[i] = Some(if same_request(hash, &drafts[i].fingerprint) {
                    AcceptResult::Duplicate(response.clone())
                } else {
                    AcceptResult::KeyReused
                });
            }
        });
        let results = results
            .into_iter()
            .map(|r| {
                r.ok_or_else(|| crate::StoreError::Corrupt("an event was left unanswered".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Accepted {
            results,
            fresh: leased,
            queued,
        })
    }

    pub async fn event(&self, tenant_id: &TenantId, id: &str) -> Result<Option<crate::EventRow>> {
        let row = crate::on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, crate::EventRow>(
                "SELECT * FROM events WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|r| r.open(&self.crypto)).transpose()?)
    }
}
