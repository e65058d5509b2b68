//! What people in Slack and Discord ask of Foghorn: acknowledging or
//! dismissing an alert with a button, `/find` and `/boat-status` answered
//! from the document catalog, which the tenant's events keep.
//!
//! An interaction is verified against every account of the app's kind the
//! tenant routes through (its own, else the operator's) before anything
//! is read; the answer uses only that tenant's data.

use crate::inbound::HookError;
use crate::TenantRoutes;
use foghorn_core::team::{Answer, ButtonAction, CatalogHit, Command, Interaction, Reply};
use foghorn_core::{InboundRequest, TenantId};
use foghorn_store::{Acknowledgement, EventDraft, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// The apps give 3 s for the first answer; what takes longer is deferred
/// and followed up.
pub const ANSWER_WITHIN: Duration = Duration::from_millis(2_500);

pub struct Team {
    pub store: Store,
    pub routes: Arc<TenantRoutes>,
    /// For drawing a posted alert again.
    pub workflows: Arc<crate::workflow::Registry>,
}

impl Team {
    /// Verifies and answers one interaction of app `kind` for `tenant`.
    pub async fn receive(
        &self,
        kind: &str,
        tenant: &TenantId,
        req: &InboundRequest<'_>,
    ) -> Result<Reply, HookError> {
        let routing = self.routes.for_tenant(tenant).await;
        let (slot, interaction) =
            crate::inbound::first_verified(&routing, kind, |p| p.interaction(req))?;
        if self.store.tenant(tenant).await?.is_none() {
            return Err(HookError::NoTenant(tenant.to_string()));
        }
        metrics::counter!("foghorn_interactions_total", "kind" => slot.provider.kind(), "what" => what(&interaction)).increment(1);
        let answering = answer(
            self.store.clone(),
            tenant.clone(),
            kind.to_string(),
            interaction.clone(),
        );
        let mut answering = Box::pin(answering);
        let answer = match tokio::time::timeout(ANSWER_WITHIN, &mut answering).await {
            Ok(a) => a?,
            Err(_) => {
                // Too slow for the first reply: say it is coming, and send
                // it through the interaction's follow-up when ready.
                let provider = slot.provider.clone();
                let later = interaction.clone();
                tokio::spawn(async move {
                    match answering.await {
                        Ok(a) => {
                            if let Err(e) = provider.follow_up(&later, &a).await {
                                tracing::warn!(error = %e, "the deferred answer could not be sent");
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "a deferred answer failed"),
                    }
                });
                return Ok(slot.provider.reply(&interaction, &Answer::Deferred));
            }
        };
        let reply = slot.provider.reply(&interaction, &answer);
        if matches!(interaction, Interaction::Button { .. }) {
            // The clicked message is redrawn after the reply (Slack's
            // chat.update), which must not wait for it.
            let provider = slot.provider.clone();
            tokio::spawn(async move {
                if let Err(e) = provider.follow_up(&interaction, &answer).await {
                    tracing::warn!(error = %e, "updating the acknowledged message failed");
                }
            });
        }
        Ok(reply)
    }
}

impl Team {
    /// After a person acknowledged (by link, call or reply), the event's
    /// team alerts still open say so, drawn again from their own template
    /// with the note added. Off the request path: the acknowledgement
    /// stands whatever a chat app answers.
    pub fn tell_alerts(self: &Arc<Self>, tenant: &TenantId, ack: &Acknowledgement) {
        if !ack.first {
            return;
        }
        let (team, tenant, ack) = (self.clone(), tenant.clone(), ack.clone());
        tokio::spawn(async move {
            if let Err(e) = team.annotate_alerts(&tenant, &ack).await {
                tracing::warn!(error = %e, "telling the team channels of an acknowledgement failed");
            }
        });
    }

    async fn annotate_alerts(
        &self,
        tenant: &TenantId,
        ack: &Acknowledgement,
    ) -> Result<(), StoreError> {
        let alerts = self.store.open_team_alerts(tenant, &ack.event_id).await?;
        if alerts.is_empty() {
            return Ok(());
        }
        let Some(event) = self.store.event(tenant, &ack.event_id).await? else {
            return Ok(());
        };
        let data: serde_json::Value = serde_json::from_str(&event.data).unwrap_or_default();
        let routing = self.routes.for_tenant(tenant).await;
        let note = format!("Confirmed by the recipient ({})", ack.via);
        for n in alerts {
            let (Some(ts), Some(provider)) = (&n.provider_message_id, &n.provider) else {
                continue;
            };
            let Some(slot) = routing
                .of_kind(n.channel.as_str())
                .into_iter()
                .find(|s| s.provider.name() == provider)
            else {
                continue;
            };
            let Some(workflow) = self.workflows.get(tenant, &n.workflow) else {
                continue;
            };
            let recipient = foghorn_core::Recipient::parse(&n.recipient);
            let Some(to) = recipient.address.clone() else {
                continue;
            };
            let view = recipient.template_view();
            let ctx = crate::workflow::RenderContext {
                event: crate::workflow::EventFacts {
                    id: &event.id,
                    name: &event.name,
                },
                data: &data,
                recipient: &view,
                notification_id: &n.id,
                locale: None,
                unsubscribe_url: None,
                preferences_url: None,
                acknowledge_url: None,
            };
            let content = match workflow
                .render_off_runtime(n.step as usize, n.channel, &ctx)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "an alert could not be drawn again");
                    continue;
                }
            };
            let msg = foghorn_core::Outbound {
                notification_id: n.id.clone(),
                tenant_id: tenant.clone(),
                event_id: event.id.clone(),
                event_name: event.name.clone(),
                channel: n.channel,
                to,
                content,
                tags: Vec::new(),
                headers: Vec::new(),
                from: None,
                tenant_target: recipient.tenant_target,
                thread: None,
            };
            if let Err(e) = slot.provider.annotate(&msg, ts, &note, ack.at).await {
                tracing::warn!(error = %e, notification = %n.id, "updating an alert failed");
            }
        }
        Ok(())
    }
}

fn what(i: &Interaction) -> &'static str {
    match i {
        Interaction::Ping => "ping",
        Interaction::Button { .. } => "button",
        Interaction::Command { .. } => "command",
        Interaction::Other(_) => "other",
    }
}

async fn answer(
    store: Store,
    tenant: TenantId,
    kind: String,
    interaction: Interaction,
) -> Result<Answer, StoreError> {
    let now = foghorn_core::clock::now_ms();
    Ok(match interaction {
        Interaction::Ping => Answer::Pong,
        Interaction::Button {
            action,
            notification_id,
            actor,
            ..
        } => {
            let via = match action {
                ButtonAction::Dismiss => format!("{kind} dismiss"),
                _ => kind.clone(),
            };
            match action {
                ButtonAction::Renew => Answer::Notice(
                    "Renewals are arranged in NaviDocs; this alert stays open.".into(),
                ),
                _ => match crate::acknowledge::acknowledge(
                    &store,
                    &tenant,
                    &notification_id,
                    &actor.label(&kind),
                    &via,
                )
                .await?
                {
                    None => Answer::Notice("That alert is not known here.".into()),
                    Some(a) if action == ButtonAction::Dismiss && a.first => Answer::Dismissed {
                        by: a.by,
                        at_ms: a.at,
                    },
                    Some(a) => Answer::Acknowledged {
                        by: a.by,
                        at_ms: a.at,
                        first: a.first,
                    },
                },
            }
        }
        Interaction::Command {
            command: Command::Find(query),
            ..
        } => {
            if query.trim().is_empty() {
                Answer::Notice("Say what to look for, e.g. `/find warranty`.".into())
            } else {
                let hits = store.search_catalog(&tenant, &query).await?;
                Answer::Found { query, hits }
            }
        }
        Interaction::Command {
            command: Command::BoatStatus(boat),
            ..
        } => {
            if boat.trim().is_empty() {
                Answer::Notice("Name the boat, e.g. `/boat-status Sea Breeze`.".into())
            } else {
                let today = chrono::DateTime::from_timestamp_millis(now)
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                let (documents, expiring) = store.boat_documents(&tenant, &boat, &today).await?;
                let open_alerts = store.open_alerts(&tenant, &boat).await?;
                Answer::BoatStatus {
                    boat,
                    documents,
                    expiring,
                    open_alerts,
                }
            }
        }
        Interaction::Other(what) => {
            tracing::debug!(%what, "an interaction Foghorn has nothing to do with");
            Answer::Notice("Nothing to do here.".into())
        }
    })
}

/// Longest catalog text kept per field.
const CATALOG_TEXT_MAX: usize = 500;

/// What an event says about a document, when its data names a boat and a
/// title (`document.uploaded` and friends): the id is `document_id`, else
/// the event's grouping key, else the event itself.
pub fn catalog_entry(draft: &EventDraft) -> Option<CatalogHit> {
    // Most events are not about documents: skip the parse for them.
    if !draft.data.contains("\"boat\"") || !draft.data.contains("\"title\"") {
        return None;
    }
    let data: serde_json::Value = serde_json::from_str(&draft.data).ok()?;
    let text = |key: &str| {
        data.get(key)
            .and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.trim().to_string()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(CATALOG_TEXT_MAX).collect::<String>())
    };
    let boat = text("boat")?;
    let title = text("title")?;
    let document_id = text("document_id")
        .or_else(|| draft.grouping_key.clone())
        .unwrap_or_else(|| draft.event_id.clone());
    let link = text("url")
        .or_else(|| text("link"))
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"));
    let expires_on = text("expires_on")
        .filter(|d| d.len() == 10 && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok());
    let kind = text("kind")
        .or_else(|| text("doc_type"))
        .or_else(|| draft.name.split('.').next().map(str::to_string));
    Some(CatalogHit {
        document_id,
        boat,
        title,
        kind,
        link,
        expires_on,
        updated_at: draft.created_at,
    })
}

/// How often SQLite's full-text catalog index catches up with the documents
/// accepted meanwhile.
const INDEX_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Keeps SQLite's full-text catalog index up to date in batches, off the
/// accept transaction (a search catches up by itself too). Nothing to do
/// on PostgreSQL.
pub fn spawn_catalog_indexer(store: Store) {
    if !store.catalog_indexer_needed() {
        return;
    }
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(INDEX_EVERY).await;
            loop {
                match store.index_catalog().await {
                    Ok(n) if n as i64 == foghorn_store::catalog::INDEX_BATCH => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "indexing the catalog failed; trying again shortly");
                        break;
                    }
                }
            }
        }
    });
}
