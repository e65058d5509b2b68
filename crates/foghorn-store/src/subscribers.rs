//! Subscribers: the people notifications go to, by the caller's own id,
//! and the opt-outs that are theirs rather than their profile's.

use crate::audit::{append, Audit};
use crate::{on_db, on_read, ConsentRow, OptOutRow, Result, Store, SubscriberRow};
use foghorn_core::TenantId;
use foghorn_core::{ids, normalise_address, Channel};

/// The address a subscriber has for `channel`, as the consent ledger keeps
/// it (normalised), when it has one.
pub(crate) fn channel_address(s: &SubscriberRow, c: Channel) -> Option<String> {
    let raw = match c {
        Channel::Email => s.contact.email.as_deref(),
        Channel::Sms | Channel::Voice => s.contact.phone.as_deref(),
        Channel::Whatsapp => s.contact.whatsapp.as_deref().or(s.contact.phone.as_deref()),
        _ => None,
    }?;
    Some(normalise_address(c, raw))
}

impl Store {
    /// Creates or replaces a subscriber's profile; keeps the original
    /// `created_at` and the subscriber's opt-outs. Returns true when the
    /// subscriber is new.
    pub async fn put_subscriber(&self, plain: &SubscriberRow, audit: &Audit) -> Result<bool> {
        self.put_subscriber_with(plain, None, audit).await
    }

    /// Like [`Store::put_subscriber`]; `opt_out`, when given, is the whole
    /// set of channels the subscriber is now opted out of entirely. Each
    /// opt-out it adds or lifts is a change made by `audit.actor`: a consent
    /// ledger row per channel and one audit row, in the same transaction.
    /// Opt-outs of a single category (a one-click unsubscribe) are not
    /// channels and stay as they are.
    pub async fn put_subscriber_with(
        &self,
        plain: &SubscriberRow,
        opt_out: Option<&[Channel]>,
        audit: &Audit,
    ) -> Result<bool> {
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
                   data, created_at, updated_at, email_hash, phone_hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (tenant_id, external_id) DO UPDATE SET email = excluded.email, phone = excluded.phone,
                   whatsapp = excluded.whatsapp, locale = excluded.locale, timezone = excluded.timezone,
                   country = excluded.country, data = excluded.data,
                   email_hash = excluded.email_hash, phone_hash = excluded.phone_hash,
                   updated_at = excluded.updated_at",
            )
            .bind(&s.tenant_id)
            .bind(&s.external_id)
            .bind(&s.contact.email)
            .bind(&s.contact.phone)
            .bind(&s.contact.whatsapp)
            .bind(&s.contact.locale)
            .bind(&s.contact.timezone)
            .bind(&s.contact.country)
            .bind(&s.data)
            .bind(s.created_at)
            .bind(s.updated_at)
            .bind(&s.email_hash)
            .bind(&s.phone_hash)
            .execute(&mut *tx)
            .await?;
            append::<DB>(&mut tx, &s.tenant_id, audit, s.updated_at).await?;
            if let Some(wanted) = opt_out {
                let now = s.updated_at;
                let current: Vec<Channel> = sqlx::query_scalar(
                    "SELECT channel FROM opt_outs WHERE tenant_id = $1 AND subscriber_id = $2 AND category = ''",
                )
                .bind(&s.tenant_id)
                .bind(&s.external_id)
                .fetch_all(&mut *tx)
                .await?;
                let added: Vec<Channel> = wanted
                    .iter()
                    .copied()
                    .filter(|c| !current.contains(c))
                    .collect();
                let lifted: Vec<Channel> = current
                    .iter()
                    .copied()
                    .filter(|c| !wanted.contains(c))
                    .collect();
                for c in &added {
                    sqlx::query(
                        "INSERT INTO opt_outs (tenant_id, subscriber_id, channel, category, source, actor, created_at)
                         VALUES ($1, $2, $3, '', 'api', $4, $5)",
                    )
                    .bind(&s.tenant_id)
                    .bind(&s.external_id)
                    .bind(*c)
                    .bind(&audit.actor)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                for c in &lifted {
                    sqlx::query(
                        "DELETE FROM opt_outs WHERE tenant_id = $1 AND subscriber_id = $2 AND channel = $3 AND category = ''",
                    )
                    .bind(&s.tenant_id)
                    .bind(&s.external_id)
                    .bind(*c)
                    .execute(&mut *tx)
                    .await?;
                }
                let changes = added
                    .iter()
                    .map(|c| (*c, "opt_out"))
                    .chain(lifted.iter().map(|c| (*c, "opt_in")));
                for (channel, action) in changes {
                    let address = channel_address(plain, channel);
                    sqlx::query(
                        "INSERT INTO consent_ledger (id, tenant_id, channel, address_hash, address, subscriber_id,
                           action, source, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'api', $8, $9)",
                    )
                    .bind(ids::consent_id())
                    .bind(&s.tenant_id)
                    .bind(channel)
                    .bind(address.as_deref().and_then(|a| self.crypto.lookup_hash(a)))
                    .bind(self.crypto.seal_opt("consent_ledger.address", address.as_deref()))
                    .bind(&s.external_id)
                    .bind(action)
                    .bind(&audit.actor)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                if !added.is_empty() || !lifted.is_empty() {
                    let a = Audit::new(audit.actor.clone(), "subscriber.consent", &s.external_id)
                        .with_detail(serde_json::json!({
                            "source": "api", "opt_out": added, "opt_in": lifted,
                        }));
                    append::<DB>(&mut tx, &s.tenant_id, &a, now).await?;
                }
            }
            tx.commit().await?;
            Ok(existed.is_none())
        })
    }

    pub async fn subscriber(
        &self,
        tenant_id: &TenantId,
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

    /// The tenant's subscriber with this phone number (its SMS or
    /// WhatsApp number), the oldest when several share it.
    pub async fn subscriber_by_phone(
        &self,
        tenant_id: &TenantId,
        phone: &str,
    ) -> Result<Option<SubscriberRow>> {
        let hashes = self.crypto.lookup_hashes(phone);
        if hashes.is_empty() {
            return Ok(None);
        }
        let row = on_read!(self, |pool, DB| {
            let mut q =
                sqlx::QueryBuilder::<DB>::new("SELECT * FROM subscribers WHERE tenant_id = ");
            q.push_bind(tenant_id.to_string());
            q.push(" AND phone_hash IN ");
            crate::push_list(&mut q, hashes.iter());
            q.push(" ORDER BY created_at, external_id LIMIT 1");
            q.build_query_as::<SubscriberRow>()
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|r| r.open(&self.crypto)).transpose()?)
    }

    /// A subscriber's opt-outs, whole channels first.
    pub async fn opt_outs(
        &self,
        tenant_id: &TenantId,
        external_id: &str,
    ) -> Result<Vec<OptOutRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, OptOutRow>(
                "SELECT * FROM opt_outs WHERE tenant_id = $1 AND subscriber_id = $2 ORDER BY category, channel",
            )
            .bind(tenant_id)
            .bind(external_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The consent ledger of a subscriber, oldest first: the changes made
    /// to the subscriber's opt-outs, and those of the addresses it has now
    /// (an SMS STOP names the number, not the subscriber).
    pub async fn subscriber_consents(
        &self,
        tenant_id: &TenantId,
        external_id: &str,
    ) -> Result<Vec<ConsentRow>> {
        let Some(s) = self.subscriber(tenant_id, external_id).await? else {
            return Ok(Vec::new());
        };
        let mut hashes: Vec<String> = Vec::new();
        for channel in [Channel::Email, Channel::Sms, Channel::Whatsapp] {
            if let Some(a) = channel_address(&s, channel) {
                hashes.extend(self.crypto.lookup_hashes(&a));
            }
        }
        let rows = on_read!(self, |pool, DB| {
            let mut q =
                sqlx::QueryBuilder::<DB>::new("SELECT * FROM consent_ledger WHERE tenant_id = ");
            q.push_bind(tenant_id.clone());
            q.push(" AND (subscriber_id = ")
                .push_bind(external_id.to_string());
            if !hashes.is_empty() {
                q.push(" OR address_hash IN ");
                crate::push_list(&mut q, hashes.iter());
            }
            q.push(") ORDER BY at, id");
            q.build_query_as::<ConsentRow>().fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| r.open(&self.crypto))
            .collect::<Result<_, _>>()?)
    }

    /// Erases the subscriber (see [`Store::erase_subscriber`]); false when
    /// there was no such subscriber.
    pub async fn delete_subscriber(
        &self,
        tenant_id: &TenantId,
        external_id: &str,
        audit: &Audit,
        now: i64,
    ) -> Result<bool> {
        Ok(self
            .erase_subscriber(tenant_id, external_id, audit, now)
            .await?
            .is_some())
    }
}
