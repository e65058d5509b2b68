//! Applying what providers report back — delivery statuses, bounces,
//! complaints, keyword opt-outs — and queueing what Foghorn sends in answer,
//! all of one callback in one transaction.
//!
//! The engine decides what each event means ([`Effect`]s); this layer finds
//! the notification the event is about (inside the tenant), refuses repeats
//! (`inbound_seen`, in the same transaction as the change, so a repeat is
//! applied once even when two nodes receive it at the same moment), and
//! writes. A status only ever moves forward: the comparison happens in the
//! `UPDATE` itself, so concurrent callbacks cannot race it backwards.

use crate::audit::{append, Audit};
use crate::{on_db, on_read, NotificationRow, Result, Store};
use foghorn_core::TenantId;
use foghorn_core::{ids, Channel, Status};

/// One event of a verified callback.
#[derive(Debug, Clone, Default)]
pub struct InboundItem {
    /// The provider's id for this event: a repeat of one already seen is
    /// skipped. None: the event is applied without de-duplication.
    pub event_id: Option<String>,
    /// The notification the event is about; None for events about none
    /// (an incoming message).
    pub target: Option<Target>,
}

/// How to find a notification: our id when the provider echoes it, else the
/// provider's message id. Both are looked up inside the tenant only.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub notification_id: Option<String>,
    pub provider_message_id: Option<String>,
}

/// One change an event causes.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Moves the notification to `status` unless it is already as far along
    /// (see [`progress`]). The reason must hold no personal data.
    Status {
        status: Status,
        reason: Option<String>,
    },
    /// An entry on the notification's timeline; `detail` is sealed.
    Timeline {
        kind: String,
        code: Option<String>,
        detail: Option<String>,
    },
    /// The provider's final price replaces the estimate.
    Cost { micros: i64, currency: String },
    /// Puts a normalised address on the tenant's suppression list (kept
    /// unchanged when it is already there).
    Suppress {
        channel: Channel,
        address: String,
        reason: String,
        source: String,
    },
    /// Lifts a suppression of a normalised address.
    Unsuppress {
        channel: Channel,
        address: String,
        source: String,
    },
    /// A consent ledger row.
    Consent {
        channel: Channel,
        address: String,
        action: ConsentAction,
        keyword: Option<String>,
        source: String,
    },
    /// Queues a message through the outbox, as its own event.
    Send(SystemMessage),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentAction {
    OptOut,
    OptIn,
}

impl ConsentAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentAction::OptOut => "opt_out",
            ConsentAction::OptIn => "opt_in",
        }
    }
}

/// A message Foghorn sends on its own account (a keyword reply, an
/// incoming message forwarded to the tenant's webhook).
#[derive(Debug, Clone, PartialEq)]
pub struct SystemMessage {
    pub event_name: String,
    /// The workflow whose step 0 renders it.
    pub workflow: String,
    pub channel: Channel,
    /// The event's data, JSON (sealed like every event's).
    pub data: String,
    /// The recipient facts with the address, JSON (sealed).
    pub recipient: String,
}

/// Who reported: the tenant the callback named and the provider instance
/// that verified it.
#[derive(Debug, Clone, Copy)]
pub struct InboundSource<'a> {
    pub tenant_id: &'a TenantId,
    /// The provider's kind (`twilio`), which scopes its event ids.
    pub kind: &'a str,
    /// The configured instance's name.
    pub provider: &'a str,
}

/// What a callback did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundSummary {
    pub applied: usize,
    /// Events already applied before.
    pub repeats: usize,
    /// Events about a notification the tenant does not have.
    pub unknown: usize,
    /// Notifications queued in answer.
    pub queued: Vec<String>,
}

impl Store {
    /// The tenant of the notification a report names, across tenants: our
    /// id first (unique everywhere), then the provider's message id.
    pub async fn tenant_of_target(&self, t: &Target) -> Result<Option<TenantId>> {
        if let Some(id) = &t.notification_id {
            let found: Option<TenantId> = on_read!(self, |pool, DB| {
                sqlx::query_scalar::<DB, TenantId>(
                    "SELECT tenant_id FROM notifications WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(pool)
                .await?
            });
            if found.is_some() {
                return Ok(found);
            }
        }
        let Some(pmid) = &t.provider_message_id else {
            return Ok(None);
        };
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_scalar::<DB, TenantId>(
                "SELECT tenant_id FROM notifications WHERE provider_message_id = $1 ORDER BY id LIMIT 1",
            )
            .bind(pmid)
            .fetch_optional(pool)
            .await?
        }))
    }
}

/// Status reasons of soft bounces start with this, so a later delivery
/// report can still supersede them.
pub const SOFT_BOUNCE: &str = "soft bounce";

/// How far along a notification is. A report moves a notification only to
/// a status further along: a late `sent` never undoes `delivered`, a soft
/// bounce gives way to the delivery that follows it. Notifications Foghorn
/// itself finished (dead, cancelled, suppressed) are never moved.
pub fn progress(status: Status, reason: Option<&str>) -> i64 {
    match status {
        Status::Scheduled | Status::Queued | Status::Sending => 0,
        Status::Sent => 1,
        Status::Bounced if reason.is_some_and(|r| r.starts_with(SOFT_BOUNCE)) => 2,
        Status::Bounced | Status::Delivered | Status::Failed => 3,
        Status::Read => 4,
        Status::Dead | Status::Cancelled | Status::Suppressed => 9,
    }
}

/// [`progress`] of the stored row, in SQL.
const PROGRESS_SQL: &str =
    "(CASE status WHEN 'scheduled' THEN 0 WHEN 'queued' THEN 0 WHEN 'sending' THEN 0
    WHEN 'sent' THEN 1
    WHEN 'bounced' THEN (CASE WHEN status_reason LIKE 'soft bounce%' THEN 2 ELSE 3 END)
    WHEN 'delivered' THEN 3 WHEN 'failed' THEN 3 WHEN 'read' THEN 4 ELSE 9 END)";

/// How long event ids are remembered.
pub const SEEN_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

impl Store {
    /// Applies one verified callback. `decide` turns event `i` (and the
    /// notification it is about, when found) into effects; it is not called
    /// for repeats, nor for events about a notification the tenant lacks.
    pub async fn apply_inbound(
        &self,
        src: &InboundSource<'_>,
        items: &[InboundItem],
        now: i64,
        mut decide: impl FnMut(usize, Option<&NotificationRow>) -> Vec<Effect>,
    ) -> Result<InboundSummary> {
        let mut summary = InboundSummary::default();
        let actor = format!("provider:{}", src.provider);
        // Timeline ids sort in the order the callback reported its events,
        // even within one millisecond.
        let mut ulids = ulid::Generator::new();
        let mut timeline_id = move || {
            let u = ulids.generate().unwrap_or_else(|_| ulid::Ulid::new());
            format!("tle_{}", u.to_string().to_ascii_lowercase())
        };
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin().await?;
            for (i, item) in items.iter().enumerate() {
                // 1. The notification, inside the tenant.
                let mut row: Option<NotificationRow> = None;
                if let Some(t) = &item.target {
                    if let Some(id) = &t.notification_id {
                        row = sqlx::query_as::<DB, NotificationRow>(
                            "SELECT * FROM notifications WHERE tenant_id = $1 AND id = $2",
                        )
                        .bind(src.tenant_id)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    }
                    if row.is_none() {
                        if let Some(pmid) = &t.provider_message_id {
                            row = sqlx::query_as::<DB, NotificationRow>(
                                "SELECT * FROM notifications WHERE tenant_id = $1 AND provider_message_id = $2
                                 ORDER BY id LIMIT 1",
                            )
                            .bind(src.tenant_id)
                            .bind(pmid)
                            .fetch_optional(&mut *tx)
                            .await?;
                        }
                    }
                    if row.is_none() {
                        // Not remembered as seen: should the report have
                        // overtaken our own record of the send, the
                        // provider's retry still applies.
                        summary.unknown += 1;
                        continue;
                    }
                }
                let row = row.map(|r| r.open(&self.crypto)).transpose()?;

                // 2. Replays.
                if let Some(event_id) = &item.event_id {
                    let fresh = sqlx::query(
                        "INSERT INTO inbound_seen (tenant_id, provider, event_id, seen_at) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (tenant_id, provider, event_id) DO NOTHING",
                    )
                    .bind(src.tenant_id)
                    .bind(src.kind)
                    .bind(event_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if fresh == 0 {
                        summary.repeats += 1;
                        continue;
                    }
                }

                // 3. The changes.
                summary.applied += 1;
                for effect in decide(i, row.as_ref()) {
                    match effect {
                        Effect::Status { status, reason } => {
                            let Some(n) = &row else { continue };
                            let sql = format!(
                                "UPDATE notifications SET status = $1, status_reason = $2, updated_at = $3
                                 WHERE id = $4 AND {PROGRESS_SQL} < $5"
                            );
                            sqlx::query(&sql)
                                .bind(status.as_str())
                                .bind(&reason)
                                .bind(now)
                                .bind(&n.id)
                                .bind(progress(status, reason.as_deref()))
                                .execute(&mut *tx)
                                .await?;
                        }
                        Effect::Timeline { kind, code, detail } => {
                            let Some(n) = &row else { continue };
                            sqlx::query(
                                "INSERT INTO timeline (id, tenant_id, notification_id, at, kind, provider, code, detail)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            )
                            .bind(timeline_id())
                            .bind(src.tenant_id)
                            .bind(&n.id)
                            .bind(now)
                            .bind(kind)
                            .bind(src.provider)
                            .bind(code)
                            .bind(self.crypto.seal_opt("timeline.detail", detail.as_deref()))
                            .execute(&mut *tx)
                            .await?;
                        }
                        Effect::Cost { micros, currency } => {
                            let Some(n) = &row else { continue };
                            // The month's spend moves from the list price to
                            // the reported one; a send not yet recorded is
                            // counted when it is, at the price kept here.
                            let sent: Option<(Option<i64>, Option<i64>, Option<String>)> = sqlx::query_as(
                                "SELECT sent_at, cost_micros, currency FROM notifications WHERE id = $1",
                            )
                            .bind(&n.id)
                            .fetch_optional(&mut *tx)
                            .await?;
                            if let Some((Some(sent_at), old, old_currency)) = sent {
                                let month = foghorn_core::clock::month_of(sent_at);
                                let tenant = n.tenant_id.to_string();
                                let channel = n.channel.as_str().to_string();
                                if let (Some(old), Some(cur)) = (old, old_currency) {
                                    sqlx::query(
                                        "UPDATE spend_monthly SET micros = micros - $1, sends = sends - 1
                                         WHERE tenant_id = $2 AND month = $3 AND channel = $4 AND currency = $5",
                                    )
                                    .bind(old)
                                    .bind(tenant.clone())
                                    .bind(month.clone())
                                    .bind(channel.clone())
                                    .bind(cur)
                                    .execute(&mut *tx)
                                    .await?;
                                }
                                sqlx::query(
                                    "INSERT INTO spend_monthly (tenant_id, month, channel, currency, micros, sends)
                                     VALUES ($1, $2, $3, $4, $5, 1)
                                     ON CONFLICT (tenant_id, month, channel, currency) DO UPDATE SET
                                     micros = spend_monthly.micros + excluded.micros, sends = spend_monthly.sends + 1",
                                )
                                .bind(tenant)
                                .bind(month)
                                .bind(channel)
                                .bind(currency.clone())
                                .bind(micros)
                                .execute(&mut *tx)
                                .await?;
                            }
                            sqlx::query(
                                "UPDATE notifications SET cost_micros = $1, currency = $2, updated_at = $3 WHERE id = $4",
                            )
                            .bind(micros)
                            .bind(currency)
                            .bind(now)
                            .bind(&n.id)
                            .execute(&mut *tx)
                            .await?;
                        }
                        Effect::Suppress {
                            channel,
                            address,
                            reason,
                            source,
                        } => {
                            let hashes = self.crypto.lookup_hashes(&address);
                            let Some(hash) = hashes.first().cloned() else {
                                continue;
                            };
                            let mut q = sqlx::QueryBuilder::<DB>::new(
                                "SELECT COUNT(*) FROM suppressions WHERE tenant_id = ",
                            );
                            q.push_bind(src.tenant_id.to_string());
                            q.push(" AND channel = ").push_bind(channel.as_str());
                            q.push(" AND address_hash IN ");
                            crate::push_list(&mut q, hashes.iter());
                            let (present,): (i64,) = q.build_query_as().fetch_one(&mut *tx).await?;
                            if present > 0 {
                                continue;
                            }
                            let added = sqlx::query(
                                "INSERT INTO suppressions (tenant_id, channel, address_hash, id, address, reason, source, created_at)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                                 ON CONFLICT (tenant_id, channel, address_hash) DO NOTHING",
                            )
                            .bind(src.tenant_id)
                            .bind(channel.as_str())
                            .bind(&hash)
                            .bind(ids::suppression_id())
                            .bind(self.crypto.seal("suppressions.address", &address))
                            .bind(&reason)
                            .bind(&source)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                            if added > 0 {
                                let a = Audit::new(
                                    actor.clone(),
                                    "suppression.add",
                                    audit_target(channel, &hash),
                                )
                                .with_detail(
                                    serde_json::json!({"reason": reason, "source": source}),
                                );
                                append::<DB>(&mut tx, src.tenant_id, &a, now).await?;
                            }
                        }
                        Effect::Unsuppress {
                            channel,
                            address,
                            source,
                        } => {
                            let hashes = self.crypto.lookup_hashes(&address);
                            let removed =
                                delete_suppression::<DB>(&mut tx, src.tenant_id, channel, &hashes)
                                    .await?;
                            if removed > 0 {
                                let target = audit_target(
                                    channel,
                                    hashes.first().map_or("", String::as_str),
                                );
                                let a = Audit::new(actor.clone(), "suppression.remove", target)
                                    .with_detail(serde_json::json!({"source": source}));
                                append::<DB>(&mut tx, src.tenant_id, &a, now).await?;
                            }
                        }
                        Effect::Consent {
                            channel,
                            address,
                            action,
                            keyword,
                            source,
                        } => {
                            sqlx::query(
                                "INSERT INTO consent_ledger (id, tenant_id, channel, address_hash, address, action, keyword,
                                   provider, source, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                            )
                            .bind(ids::consent_id())
                            .bind(src.tenant_id)
                            .bind(channel.as_str())
                            .bind(self.crypto.lookup_hash(&address))
                            .bind(self.crypto.seal("consent_ledger.address", &address))
                            .bind(action.as_str())
                            .bind(keyword)
                            .bind(src.kind)
                            .bind(source)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        }
                        Effect::Send(m) => {
                            let id = insert_system_message::<DB>(
                                &mut tx,
                                &self.crypto,
                                src.tenant_id,
                                &m,
                                now,
                            )
                            .await?;
                            summary.queued.push(id);
                        }
                    }
                }
            }
            tx.commit().await?;
        });
        Ok(summary)
    }

    /// Forgets event ids seen before `before` (epoch ms); returns how many.
    pub async fn prune_inbound_seen(&self, before: i64) -> Result<u64> {
        Ok(on_db!(self, |pool, DB| {
            sqlx::query("DELETE FROM inbound_seen WHERE seen_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}

/// Names a suppression in the audit trail without its address: the channel
/// and the start of the keyed hash.
pub(crate) fn audit_target(channel: Channel, hash: &str) -> String {
    format!("{channel}:{}", &hash[..hash.len().min(16)])
}

/// Deletes a tenant's suppression of an address given by its hashes.
pub(crate) async fn delete_suppression<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    tenant_id: &TenantId,
    channel: Channel,
    hashes: &[String],
) -> Result<u64>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (String,): sqlx::FromRow<'r, DB::Row>,
{
    if hashes.is_empty() {
        return Ok(0);
    }
    let marks: Vec<String> = (0..hashes.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "DELETE FROM suppressions WHERE tenant_id = $1 AND channel = $2 AND address_hash IN ({}) RETURNING id",
        marks.join(", ")
    );
    let mut q = sqlx::query_as::<DB, (String,)>(&sql)
        .bind(tenant_id.to_string())
        .bind(channel.as_str().to_string());
    for h in hashes {
        q = q.bind(h.clone());
    }
    let removed = q.fetch_all(&mut **tx).await?;
    Ok(removed.len() as u64)
}

/// Queues one of Foghorn's own messages: an event, its one notification
/// and the job, in the caller's transaction.
pub(crate) async fn insert_system_message<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    crypto: &crate::crypto::Crypto,
    tenant_id: &TenantId,
    m: &SystemMessage,
    now: i64,
) -> Result<String>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let tenant = tenant_id.to_string();
    let event_id = ids::event_id();
    let id = ids::notification_id();
    let response = serde_json::json!({
        "event_id": event_id,
        "notifications": [{"id": id, "channel": m.channel, "status": "queued"}],
    })
    .to_string();
    sqlx::query(
        "INSERT INTO events (id, tenant_id, name, data, response, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(event_id.clone())
    .bind(tenant.clone())
    .bind(m.event_name.clone())
    .bind(crypto.seal("events.data", &m.data))
    .bind(response)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO notifications (id, tenant_id, event_id, workflow, step, channel, recipient,
           status, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $6, 'queued', $7, $7)",
    )
    .bind(id.clone())
    .bind(tenant.clone())
    .bind(event_id)
    .bind(m.workflow.clone())
    .bind(m.channel.as_str().to_string())
    .bind(crypto.seal("notifications.recipient", &m.recipient))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO jobs (notification_id, tenant_id, run_at, created_at) VALUES ($1, $2, $3, $3)",
    )
    .bind(id.clone())
    .bind(tenant)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}
