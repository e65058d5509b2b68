//! A person's data, whole: gathered for an export (GDPR art. 15, CCPA
//! right to know), and erased (GDPR art. 17, CCPA deletion) everywhere it
//! is kept, leaving only what the law needs: that an address said no, as a
//! keyed hash, so a later import does not message it again.

use crate::audit::{append, Audit};
use crate::subscribers::channel_address;
use crate::{
    on_db, on_read, AttemptRow, ConsentRow, NotificationRow, OptInRow, OptOutRow, Result,
    SandboxMessageRow, Store, SubscriberRow, SuppressionRow, TimelineRow, INSERT_CHUNK,
};
use foghorn_core::{ids, Channel, TenantId};
use sqlx::QueryBuilder;

/// Everything Foghorn holds about one subscriber, opened.
#[derive(Debug, Clone)]
pub struct PersonalData {
    pub subscriber: SubscriberRow,
    pub opt_outs: Vec<OptOutRow>,
    pub opt_ins: Vec<OptInRow>,
    pub consents: Vec<ConsentRow>,
    /// Addresses of the subscriber on the tenant's suppression list.
    pub suppressions: Vec<SuppressionRow>,
    pub notifications: Vec<NotificationRow>,
    pub attempts: Vec<AttemptRow>,
    pub timeline: Vec<TimelineRow>,
    /// The messages as captured by the sandbox (rendered content).
    pub sandbox: Vec<SandboxMessageRow>,
    /// (notification id, url code, time) of each followed short link.
    pub clicks: Vec<(String, String, i64)>,
}

/// What an erasure changed, for the audit row and the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Erased {
    pub notifications: u64,
    pub cancelled: u64,
    pub sandbox_messages: u64,
    pub consent_addresses: u64,
    /// Opt-outs kept as suppressions of the person's addresses.
    pub kept_suppressions: u64,
    /// Files the person sent (WhatsApp photos and documents), deleted
    /// with their catalog entries.
    pub files: u64,
}

/// The address of each channel a subscriber can be reached on.
fn addresses(s: &SubscriberRow) -> Vec<(Channel, String)> {
    [
        Channel::Email,
        Channel::Sms,
        Channel::Voice,
        Channel::Whatsapp,
    ]
    .into_iter()
    .filter_map(|c| channel_address(s, c).map(|a| (c, a)))
    .collect()
}

impl Store {
    /// The notifications of a subscriber, oldest first. A scan of the
    /// tenant's notifications: exports and erasures are rare, and an index
    /// for them would be paid on every accepted event.
    pub async fn subscriber_notifications(
        &self,
        tenant_id: &TenantId,
        external_id: &str,
    ) -> Result<Vec<NotificationRow>> {
        let rows = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, NotificationRow>(
                "SELECT * FROM notifications WHERE tenant_id = $1 AND subscriber_id = $2 ORDER BY created_at, id",
            )
            .bind(tenant_id)
            .bind(external_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| r.open(&self.crypto))
            .collect::<Result<_, _>>()?)
    }

    /// Of `hashes`, those another subscriber of the tenant still has.
    async fn addresses_held_by_others(
        &self,
        tenant_id: &TenantId,
        external_id: &str,
        hashes: &[String],
    ) -> Result<Vec<String>> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(Option<String>, Option<String>)> = on_read!(self, |pool, DB| {
            let mut q = QueryBuilder::<DB>::new(
                "SELECT email_hash, phone_hash FROM subscribers WHERE tenant_id = ",
            );
            q.push_bind(tenant_id.clone());
            q.push(" AND external_id <> ")
                .push_bind(external_id.to_string());
            q.push(" AND (email_hash IN ");
            crate::push_list(&mut q, hashes.iter());
            q.push(" OR phone_hash IN ");
            crate::push_list(&mut q, hashes.iter());
            q.push(")");
            q.build_query_as().fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .flat_map(|(e, p)| [e, p])
            .flatten()
            .filter(|h| hashes.contains(h))
            .collect())
    }

    /// Everything about a subscriber; None when there is no such subscriber.
    pub async fn personal_data(
        &self,
        tenant_id: &TenantId,
        external_id: &str,
    ) -> Result<Option<PersonalData>> {
        let Some(subscriber) = self.subscriber(tenant_id, external_id).await? else {
            return Ok(None);
        };
        let notifications = self
            .subscriber_notifications(tenant_id, external_id)
            .await?;
        let ids: Vec<&str> = notifications.iter().map(|n| n.id.as_str()).collect();
        let mut hashes = Vec::new();
        for (_, a) in addresses(&subscriber) {
            hashes.extend(self.crypto.lookup_hashes(&a));
        }
        let (mut attempts, mut timeline, mut sandbox, mut clicks, mut suppressions) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        on_read!(self, |pool, DB| {
            for chunk in ids.chunks(INSERT_CHUNK) {
                let by_ids = |table: &str, order: &str| {
                    let mut q = QueryBuilder::<DB>::new(format!(
                        "SELECT * FROM {table} WHERE tenant_id = "
                    ));
                    q.push_bind(tenant_id.clone());
                    q.push(" AND notification_id IN ");
                    crate::push_list(&mut q, chunk.iter().copied());
                    q.push(format!(" ORDER BY {order}"));
                    q
                };
                let rows: Vec<AttemptRow> = by_ids("attempts", "created_at, id")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?;
                attempts.extend(rows);
                let rows: Vec<TimelineRow> = by_ids("timeline", "at, id")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?;
                timeline.extend(rows);
                let rows: Vec<SandboxMessageRow> = by_ids("sandbox_messages", "created_at, id")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?;
                sandbox.extend(rows);
                let mut q = QueryBuilder::<DB>::new(
                    "SELECT notification_id, code, at FROM link_clicks WHERE tenant_id = ",
                );
                q.push_bind(tenant_id.clone());
                q.push(" AND notification_id IN ");
                crate::push_list(&mut q, chunk.iter().copied());
                q.push(" ORDER BY at, id");
                let rows: Vec<(String, String, i64)> = q.build_query_as().fetch_all(pool).await?;
                clicks.extend(rows);
            }
            if !hashes.is_empty() {
                let mut q =
                    QueryBuilder::<DB>::new("SELECT * FROM suppressions WHERE tenant_id = ");
                q.push_bind(tenant_id.clone());
                q.push(" AND address_hash IN ");
                crate::push_list(&mut q, hashes.iter());
                q.push(" ORDER BY created_at, id");
                let rows: Vec<SuppressionRow> = q.build_query_as().fetch_all(pool).await?;
                suppressions.extend(rows);
            }
        });
        let open_all = |rows: Vec<AttemptRow>| {
            rows.into_iter()
                .map(|r| r.open(&self.crypto))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Some(PersonalData {
            opt_outs: self.opt_outs(tenant_id, external_id).await?,
            opt_ins: self.opt_ins(tenant_id, external_id).await?,
            consents: self.subscriber_consents(tenant_id, external_id).await?,
            suppressions: suppressions
                .into_iter()
                .map(|r| r.open(&self.crypto))
                .collect::<Result<_, _>>()?,
            attempts: open_all(attempts)?,
            timeline: timeline
                .into_iter()
                .map(|r| r.open(&self.crypto))
                .collect::<Result<_, _>>()?,
            sandbox: sandbox
                .into_iter()
                .map(|r| r.open(&self.crypto))
                .collect::<Result<_, _>>()?,
            clicks,
            notifications,
            subscriber,
        }))
    }

    /// Erases a subscriber's personal data in one transaction; None when
    /// there is no such subscriber. What it keeps: the notifications'
    /// facts without their recipients (status, cost, times: the reports
    /// stay right), the consent ledger without addresses, and each opt-out
    /// as a suppression of the address's keyed hash. Pending notifications
    /// are cancelled: there is no one left to send them to.
    pub async fn erase_subscriber(
        &self,
        tenant_id: &TenantId,
        external_id: &str,
        audit: &Audit,
        now: i64,
    ) -> Result<Option<Erased>> {
        let Some(person) = self.subscriber(tenant_id, external_id).await? else {
            return Ok(None);
        };
        let reachable = addresses(&person);
        let mut hashes = Vec::new();
        for (_, a) in &reachable {
            hashes.extend(self.crypto.lookup_hashes(a));
        }
        hashes.sort_unstable();
        hashes.dedup();
        // An address another subscriber still has (a household's phone)
        // keeps its place in the ledger and the suppression list.
        let shared = self
            .addresses_held_by_others(tenant_id, external_id, &hashes)
            .await?;
        hashes.retain(|h| !shared.contains(h));
        let bare = self.crypto.seal(
            "notifications.recipient",
            &serde_json::json!({ "id": external_id }).to_string(),
        );
        let mut erased = Erased::default();
        let result = on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let gone =
                sqlx::query("DELETE FROM subscribers WHERE tenant_id = $1 AND external_id = $2")
                    .bind(tenant_id)
                    .bind(external_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if gone == 0 {
                tx.rollback().await?;
                return Ok(None);
            }
            // Each no outlives the person, under the address's hash.
            let opt_outs: Vec<OptOutRow> = sqlx::query_as(
                "SELECT * FROM opt_outs WHERE tenant_id = $1 AND subscriber_id = $2",
            )
            .bind(tenant_id)
            .bind(external_id)
            .fetch_all(&mut *tx)
            .await?;
            // A no to one category stays with the person alone: as a
            // suppression it would silence the whole channel, for anyone
            // sharing the address too.
            for o in opt_outs.iter().filter(|o| o.category.is_empty()) {
                for (channel, address) in reachable.iter().filter(|(c, _)| *c == o.channel) {
                    let Some(hash) = self.crypto.lookup_hash(address) else {
                        continue;
                    };
                    erased.kept_suppressions += sqlx::query(
                        "INSERT INTO suppressions (tenant_id, channel, address_hash, id, address, reason, source, created_at)
                         VALUES ($1, $2, $3, $4, NULL, 'unsubscribed', 'erasure', $5) ON CONFLICT DO NOTHING",
                    )
                    .bind(tenant_id)
                    .bind(*channel)
                    .bind(hash)
                    .bind(ids::suppression_id())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
            }
            for table in ["opt_outs", "opt_ins"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE tenant_id = $1 AND subscriber_id = $2"
                ))
                .bind(tenant_id)
                .bind(external_id)
                .execute(&mut *tx)
                .await?;
            }
            // What was still to be sent is not.
            let pending: Vec<(String,)> = sqlx::query_as(
                "UPDATE notifications SET status = 'cancelled', status_reason = 'subscriber erased', updated_at = $1
                 WHERE tenant_id = $2 AND subscriber_id = $3 AND status IN ('queued', 'scheduled')
                 RETURNING id",
            )
            .bind(now)
            .bind(tenant_id)
            .bind(external_id)
            .fetch_all(&mut *tx)
            .await?;
            erased.cancelled = pending.len() as u64;
            for chunk in pending.chunks(INSERT_CHUNK) {
                let mut q = QueryBuilder::<DB>::new("DELETE FROM jobs WHERE notification_id IN ");
                crate::push_list(&mut q, chunk.iter().map(|(id,)| id.as_str()));
                q.build().execute(&mut *tx).await?;
            }
            // Recipients, provider errors (they may echo the address), the
            // captured messages, and provider reports' details.
            erased.notifications = sqlx::query(
                "UPDATE notifications SET recipient = $1 WHERE tenant_id = $2 AND subscriber_id = $3",
            )
            .bind(&bare)
            .bind(tenant_id)
            .bind(external_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // Events of the person with no other person among their
            // recipients (team destinations are no person).
            const ALONE: &str = "(SELECT e.event_id FROM notifications e WHERE e.tenant_id = $1 AND e.subscriber_id = $2
                AND NOT EXISTS (SELECT 1 FROM notifications o WHERE o.tenant_id = $1 AND o.event_id = e.event_id
                  AND o.channel NOT IN ('slack', 'discord', 'webhook')
                  AND (o.subscriber_id IS NULL OR o.subscriber_id <> $2)))";
            const OF_PERSON: &str =
                "(SELECT id FROM notifications WHERE tenant_id = $1 AND subscriber_id = $2)";
            sqlx::query(&format!(
                "UPDATE attempts SET error = NULL WHERE tenant_id = $1 AND notification_id IN {OF_PERSON}"
            ))
            .bind(tenant_id)
            .bind(external_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "UPDATE timeline SET detail = NULL WHERE tenant_id = $1 AND notification_id IN {OF_PERSON}"
            ))
            .bind(tenant_id)
            .bind(external_id)
            .execute(&mut *tx)
            .await?;
            erased.sandbox_messages = sqlx::query(&format!(
                "DELETE FROM sandbox_messages WHERE tenant_id = $1 AND notification_id IN {OF_PERSON}"
            ))
            .bind(tenant_id)
            .bind(external_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // The short links of the person's messages (their URLs may
            // carry the person's own tokens).
            sqlx::query(&format!(
                "DELETE FROM short_links WHERE tenant_id = $1 AND notification_id IN {OF_PERSON}"
            ))
            .bind(tenant_id)
            .bind(external_id)
            .execute(&mut *tx)
            .await?;
            // What the person's calls said (it may name them).
            sqlx::query(&format!(
                "DELETE FROM call_scripts WHERE tenant_id = $1 AND notification_id IN {OF_PERSON}"
            ))
            .bind(tenant_id)
            .bind(external_id)
            .execute(&mut *tx)
            .await?;
            // The person's digests: what they collected, and their scope
            // (a keyed hash of who they were for).
            for table in ["digest_items", "digests"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE tenant_id = $1 AND notification_id IN {OF_PERSON}"
                ))
                .bind(tenant_id)
                .bind(external_id)
                .execute(&mut *tx)
                .await?;
            }
            // Events about this person alone (team copies aside): what the
            // team copies captured of them, and their data.
            sqlx::query(&format!(
                "DELETE FROM sandbox_messages WHERE tenant_id = $1 AND notification_id IN
                   (SELECT t.id FROM notifications t WHERE t.tenant_id = $1 AND t.subscriber_id IS NULL
                      AND t.event_id IN {ALONE})"
            ))
            .bind(tenant_id)
            .bind(external_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "UPDATE events SET data = $3 WHERE tenant_id = $1 AND id IN {ALONE}"
            ))
            .bind(tenant_id)
            .bind(external_id)
            .bind(self.crypto.seal("events.data", "{}"))
            .execute(&mut *tx)
            .await?;
            // The ledger keeps what was decided, not where.
            let mut q = QueryBuilder::<DB>::new(
                "UPDATE consent_ledger SET address = NULL WHERE address IS NOT NULL AND tenant_id = ",
            );
            q.push_bind(tenant_id.clone());
            q.push(" AND (subscriber_id = ")
                .push_bind(external_id.to_string());
            if !hashes.is_empty() {
                q.push(" OR (subscriber_id IS NULL AND address_hash IN ");
                crate::push_list(&mut q, hashes.iter());
                q.push(")");
            }
            q.push(")");
            erased.consent_addresses = q.build().execute(&mut *tx).await?.rows_affected();
            if !hashes.is_empty() {
                let mut q = QueryBuilder::<DB>::new(
                    "UPDATE suppressions SET address = NULL WHERE tenant_id = ",
                );
                q.push_bind(tenant_id.clone());
                q.push(" AND address_hash IN ");
                crate::push_list(&mut q, hashes.iter());
                q.build().execute(&mut *tx).await?;
                // The files the person sent, what the catalog says of
                // them, and when they last wrote.
                let mut q =
                    QueryBuilder::<DB>::new("DELETE FROM catalog_documents WHERE tenant_id = ");
                q.push_bind(tenant_id.clone());
                q.push(" AND document_id IN (SELECT id FROM inbound_media WHERE tenant_id = ");
                q.push_bind(tenant_id.clone());
                q.push(" AND address_hash IN ");
                crate::push_list(&mut q, hashes.iter());
                q.push(")");
                q.build().execute(&mut *tx).await?;
                for table in ["inbound_media", "whatsapp_windows"] {
                    let mut q =
                        QueryBuilder::<DB>::new(format!("DELETE FROM {table} WHERE tenant_id = "));
                    q.push_bind(tenant_id.clone());
                    q.push(" AND address_hash IN ");
                    crate::push_list(&mut q, hashes.iter());
                    let gone = q.build().execute(&mut *tx).await?.rows_affected();
                    if table == "inbound_media" {
                        erased.files = gone;
                    }
                }
            }
            let a = audit
                .clone()
                .with_detail(serde_json::to_value(&erased).unwrap_or_default());
            append::<DB>(&mut tx, tenant_id, &a, now).await?;
            tx.commit().await?;
            Ok::<_, crate::StoreError>(Some(erased.clone()))
        })?;
        if result.is_some() {
            self.compact_after_erasure().await;
        }
        Ok(result)
    }

    /// SQLite keeps old page images in the WAL until a checkpoint; fold
    /// them back now so the erased ciphertexts do not linger there. A busy
    /// database finishes the checkpoint later on its own.
    async fn compact_after_erasure(&self) {
        if let crate::Backend::Sqlite { write, .. } = &self.backend {
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(write)
                .await
            {
                tracing::warn!(error = %e, "checkpoint after an erasure failed");
            }
        }
    }
}
