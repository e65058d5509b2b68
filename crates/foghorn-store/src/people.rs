//! A person's choices beyond the profile: yes and no per channel and
//! category, their own quiet hours, and the tenant's policy those choices
//! are read against. Every change is a consent-ledger row and an audit row
//! in the same transaction as the change itself.

use crate::audit::{append, Audit};
use crate::subscribers::channel_address;
use crate::{on_db, on_read, OptInRow, OptOutRow, Result, Store, SubscriberRow};
use foghorn_core::policy::{Budgets, Categories, Destinations, QuietHours, TenantPolicy};
use foghorn_core::{ids, Channel, TenantId};

/// One choice: `channel` messages of `category` are wanted or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub channel: Channel,
    pub category: String,
    pub wanted: bool,
}

/// What a preference update changes, and how it was made.
#[derive(Debug, Clone)]
pub struct PreferenceChange {
    pub choices: Vec<Choice>,
    /// Some(None) returns to the tenant's default; Some(Some(q)) sets the
    /// subscriber's own (an empty window for none).
    pub quiet_hours: Option<Option<QuietHours>>,
    /// `api`, `preference-centre`, …
    pub source: String,
    /// The words shown to the person when they said yes.
    pub consent_text: Option<String>,
}

/// Everything a send needs to know about a subscriber's choices.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub opt_outs: Vec<OptOutRow>,
    pub opt_ins: Vec<OptInRow>,
    /// Whether the subscriber is still stored (not erased).
    pub exists: bool,
}

/// What a send checks just before it goes.
#[derive(Debug, Clone, Default)]
pub struct SendChecks {
    /// Why the address is suppressed on the channel, if it is.
    pub suppression: Option<String>,
    /// The subscriber's choices, when the send is to a subscriber.
    pub choices: Option<Choices>,
}

/// A tenant policy row.
#[derive(sqlx::FromRow)]
pub(crate) struct PolicyRow {
    pub(crate) tenant_id: TenantId,
    categories: String,
    quiet_hours: Option<String>,
    timezone: Option<String>,
    budgets: Option<String>,
    #[sqlx(default)]
    destinations: Option<String>,
}

impl PolicyRow {
    /// A policy that does not read (hand-edited, or written by a newer
    /// version) is an error, not an empty policy: read as empty it would
    /// turn every off-by-default category on. Sends wait and accepts are
    /// refused until it reads.
    pub(crate) fn parse(self) -> Result<TenantPolicy> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            crate::StoreError::Corrupt(format!("tenant {}: policy {what}: {e}", self.tenant_id))
        };
        Ok(TenantPolicy {
            categories: serde_json::from_str(&self.categories)
                .map_err(|e| bad("categories", &e))?,
            quiet_hours: match &self.quiet_hours {
                Some(q) => Some(q.parse().map_err(|e: String| bad("quiet_hours", &e))?),
                None => None,
            },
            budgets: match &self.budgets {
                Some(b) => serde_json::from_str(b).map_err(|e| bad("budgets", &e))?,
                None => Default::default(),
            },
            destinations: match &self.destinations {
                Some(d) => serde_json::from_str(d).map_err(|e| bad("destinations", &e))?,
                None => Default::default(),
            },
            timezone: self.timezone.clone(),
        })
    }
}

/// Which part of the policy a write replaces.
pub enum PolicyPart<'a> {
    Categories(&'a Categories),
    QuietHours {
        quiet_hours: Option<QuietHours>,
        timezone: Option<&'a str>,
    },
    Budgets(&'a Budgets),
    Destinations(&'a Destinations),
}

impl Store {
    /// A tenant's policy; the empty policy when it never wrote one.
    pub async fn tenant_policy(&self, tenant_id: &TenantId) -> Result<TenantPolicy> {
        let row = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, PolicyRow>("SELECT * FROM tenant_policies WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(PolicyRow::parse)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Replaces one part of a tenant's policy, leaving the other.
    pub async fn put_tenant_policy(
        &self,
        tenant_id: &TenantId,
        part: PolicyPart<'_>,
        audit: &Audit,
        now: i64,
    ) -> Result<()> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            sqlx::query(
                "INSERT INTO tenant_policies (tenant_id, categories, updated_at) VALUES ($1, '{}', $2)
                 ON CONFLICT (tenant_id) DO NOTHING",
            )
            .bind(tenant_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            // The JSON parts are one column each, written alike.
            fn json(v: &impl serde::Serialize) -> String {
                serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
            }
            let column = match &part {
                PolicyPart::Categories(c) => Some(("categories", json(*c))),
                PolicyPart::Budgets(b) => Some(("budgets", json(*b))),
                PolicyPart::Destinations(d) => Some(("destinations", json(*d))),
                PolicyPart::QuietHours { .. } => None,
            };
            if let Some((column, value)) = column {
                // `column` is one of the three literals above, never input.
                sqlx::query(&format!(
                    "UPDATE tenant_policies SET {column} = $1, updated_at = $2 WHERE tenant_id = $3"
                ))
                .bind(value)
                .bind(now)
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
            }
            if let PolicyPart::QuietHours {
                quiet_hours,
                timezone,
            } = part
            {
                sqlx::query(
                    "UPDATE tenant_policies SET quiet_hours = $1, timezone = $2, updated_at = $3 WHERE tenant_id = $4",
                )
                .bind(quiet_hours.map(|q| q.to_string()))
                .bind(timezone)
                .bind(now)
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
            }
            append::<DB>(&mut tx, tenant_id, audit, now).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// A subscriber's opt-ins, by category then channel.
    pub async fn opt_ins(&self, tenant_id: &TenantId, external_id: &str) -> Result<Vec<OptInRow>> {
        Ok(on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, OptInRow>(
                "SELECT * FROM opt_ins WHERE tenant_id = $1 AND subscriber_id = $2 ORDER BY category, channel",
            )
            .bind(tenant_id)
            .bind(external_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The subscriber's choices, and whether the subscriber still exists.
    pub async fn choices(&self, tenant_id: &TenantId, external_id: &str) -> Result<Choices> {
        Ok(self
            .send_checks(tenant_id, None, Some(external_id))
            .await?
            .choices
            .unwrap_or_default())
    }

    /// What a send must know just before it goes, in one statement (it is
    /// paid on every send): whether its address is suppressed on its
    /// channel, and the subscriber's choices.
    pub async fn send_checks(
        &self,
        tenant_id: &TenantId,
        address: Option<(Channel, &str)>,
        subscriber: Option<&str>,
    ) -> Result<SendChecks> {
        let hashes = address
            .map(|(_, a)| self.crypto.lookup_hashes(a))
            .unwrap_or_default();
        let mut out = SendChecks {
            suppression: None,
            choices: subscriber.map(|_| Choices::default()),
        };
        let ask_suppression = !hashes.is_empty();
        if !ask_suppression && subscriber.is_none() {
            return Ok(out);
        }
        type Row = (String, String, String, String, String, Option<String>, i64);
        let rows: Vec<Row> = on_read!(self, |pool, DB| {
            let mut q = sqlx::QueryBuilder::<DB>::new("");
            let mut parts = 0;
            if let (Some((channel, _)), true) = (address, ask_suppression) {
                q.push(
                    "SELECT 'sup', channel, reason, '', '', CAST(NULL AS TEXT), CAST(0 AS BIGINT) FROM suppressions WHERE tenant_id = ",
                );
                q.push_bind(tenant_id.to_string());
                q.push(" AND channel = ")
                    .push_bind(channel.as_str().to_string());
                q.push(" AND address_hash IN ");
                crate::push_list(&mut q, hashes.iter());
                parts += 1;
            }
            if let Some(id) = subscriber {
                for (kind, table, text) in [
                    ("out", "opt_outs", "CAST(NULL AS TEXT)"),
                    ("in", "opt_ins", "consent_text"),
                ] {
                    if parts > 0 {
                        q.push(" UNION ALL ");
                    }
                    q.push(format!(
                        "SELECT '{kind}', channel, category, source, actor, {text}, created_at FROM {table} WHERE tenant_id = "
                    ));
                    q.push_bind(tenant_id.to_string());
                    q.push(" AND subscriber_id = ").push_bind(id.to_string());
                    parts += 1;
                }
                q.push(
                    " UNION ALL SELECT 'who', '', '', '', '', CAST(NULL AS TEXT), CAST(0 AS BIGINT) FROM subscribers WHERE tenant_id = ",
                );
                q.push_bind(tenant_id.to_string());
                q.push(" AND external_id = ").push_bind(id.to_string());
            }
            q.build_query_as::<Row>().fetch_all(pool).await?
        });
        for (kind, channel, category, source, actor, consent_text, created_at) in rows {
            let parsed = || {
                channel
                    .parse::<Channel>()
                    .map_err(|_| crate::StoreError::Corrupt(format!("channel `{channel}`")))
            };
            match (kind.as_str(), out.choices.as_mut()) {
                ("sup", _) => out.suppression = Some(category),
                ("who", Some(c)) => c.exists = true,
                ("in", Some(c)) => c.opt_ins.push(OptInRow {
                    tenant_id: tenant_id.clone(),
                    subscriber_id: subscriber.unwrap_or_default().to_string(),
                    channel: parsed()?,
                    category,
                    source,
                    actor,
                    consent_text,
                    created_at,
                }),
                ("out", Some(c)) => c.opt_outs.push(OptOutRow {
                    tenant_id: tenant_id.clone(),
                    subscriber_id: subscriber.unwrap_or_default().to_string(),
                    channel: parsed()?,
                    category,
                    source,
                    actor,
                    created_at,
                }),
                _ => {}
            }
        }
        Ok(out)
    }

    /// Applies a preference update to an existing subscriber; false when
    /// there is no such subscriber (nothing changes). A choice already in
    /// place records nothing; each one that changes is a ledger row.
    pub async fn put_preferences(
        &self,
        tenant_id: &TenantId,
        external_id: &str,
        change: &PreferenceChange,
        audit: &Audit,
        now: i64,
    ) -> Result<bool> {
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let row: Option<SubscriberRow> = sqlx::query_as(
                "SELECT * FROM subscribers WHERE tenant_id = $1 AND external_id = $2",
            )
            .bind(tenant_id)
            .bind(external_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Ok(false);
            };
            let plain = row.open(&self.crypto)?;
            let mut changed = Vec::new();
            for c in &change.choices {
                // A yes replaces a no of the same scope, and the reverse.
                let drop_from = if c.wanted { "opt_outs" } else { "opt_ins" };
                let dropped = sqlx::query(&format!(
                    "DELETE FROM {drop_from} WHERE tenant_id = $1 AND subscriber_id = $2 AND channel = $3 AND category = $4"
                ))
                .bind(tenant_id)
                .bind(external_id)
                .bind(c.channel)
                .bind(&c.category)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let added = if c.wanted {
                    sqlx::query(
                        "INSERT INTO opt_ins (tenant_id, subscriber_id, channel, category, source, actor, consent_text, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                    )
                    .bind(tenant_id)
                    .bind(external_id)
                    .bind(c.channel)
                    .bind(&c.category)
                    .bind(&change.source)
                    .bind(&audit.actor)
                    .bind(&change.consent_text)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                } else {
                    sqlx::query(
                        "INSERT INTO opt_outs (tenant_id, subscriber_id, channel, category, source, actor, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    )
                    .bind(tenant_id)
                    .bind(external_id)
                    .bind(c.channel)
                    .bind(&c.category)
                    .bind(&change.source)
                    .bind(&audit.actor)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                };
                if dropped + added == 0 {
                    continue;
                }
                let address = channel_address(&plain, c.channel);
                sqlx::query(
                    "INSERT INTO consent_ledger (id, tenant_id, channel, address_hash, address, subscriber_id,
                       category, action, source, actor, consent_text, at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(ids::consent_id())
                .bind(tenant_id)
                .bind(c.channel)
                .bind(address.as_deref().and_then(|a| self.crypto.lookup_hash(a)))
                .bind(self.crypto.seal_opt("consent_ledger.address", address.as_deref()))
                .bind(external_id)
                .bind(Some(c.category.as_str()).filter(|c| !c.is_empty()))
                .bind(if c.wanted { "opt_in" } else { "opt_out" })
                .bind(&change.source)
                .bind(&audit.actor)
                .bind(c.wanted.then_some(change.consent_text.as_deref()).flatten())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                changed.push(serde_json::json!({
                    "channel": c.channel, "category": c.category, "wanted": c.wanted,
                }));
            }
            if let Some(q) = &change.quiet_hours {
                sqlx::query(
                    "UPDATE subscribers SET quiet_hours = $1 WHERE tenant_id = $2 AND external_id = $3",
                )
                .bind(q.map(|q| q.to_string()))
                .bind(tenant_id)
                .bind(external_id)
                .execute(&mut *tx)
                .await?;
            }
            let a = audit.clone().with_detail(serde_json::json!({
                "source": change.source,
                "changed": changed,
                "quiet_hours": change.quiet_hours.map(|q| q.map(|q| q.to_string())),
            }));
            append::<DB>(&mut tx, tenant_id, &a, now).await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}
