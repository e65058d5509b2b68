//! Provider callbacks (`POST /hooks/{provider}`): verified by
//! the provider's own scheme, then applied — delivery statuses, bounces and
//! complaints (`status`), SMS keywords and incoming messages (`keywords`).
//!
//! Verification tries every configured instance of the provider's kind (two
//! Twilio accounts, say) until one accepts the signature; nothing is read
//! from the database before that. Application is one store transaction per
//! callback, replay-protected by the events' ids.

pub mod keywords;
pub mod status;
pub mod whatsapp;

use crate::TenantRoutes;
use foghorn_core::TenantId;
use foghorn_core::{InboundError, InboundEvent, InboundRequest};
use foghorn_store::{
    Effect, InboundItem, InboundSource, InboundSummary, Store, StoreError, Target,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Applies verified callbacks.
pub struct Inbound {
    pub store: Store,
    /// A tenant's callbacks verify against the tenant's own accounts
    /// when it has them.
    pub routes: Arc<TenantRoutes>,
    /// Wakes this node's workers when an answer was queued.
    pub wake: Arc<Notify>,
    /// Tells the event's team alerts of an acknowledgement by reply.
    pub team: Arc<crate::team::Team>,
    /// The download links of files people sent.
    pub media_links: crate::signed_token::Links,
    /// Signs the preference-centre links HELP replies carry.
    pub preferences: crate::unsubscribe::Unsubscribe,
}

/// How far back a reply of 1, OK or YES looks for what it confirms.
const CONFIRMATION_WINDOW_MS: i64 = 7 * 86_400_000;

/// Why a callback was refused.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// No configured provider of that kind receives callbacks.
    #[error("no provider of kind `{0}` is set up to receive callbacks")]
    NoProvider(String),
    #[error("no tenant `{0}`")]
    NoTenant(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Malformed(String),
    /// The provider could not hand something over yet: answered 503, so
    /// it sends the callback again.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where what people send is forwarded: the tenant's
/// `inbound_webhook_url`, reached under the tenants' private-target rule
/// (the tenant wrote it); unset, the system send has no address and is
/// suppressed.
pub(crate) fn tenant_inbound_webhook(settings: &serde_json::Value) -> String {
    let url = settings
        .get("inbound_webhook_url")
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    foghorn_core::Recipient {
        tenant_target: !url.is_empty(),
        ..foghorn_core::Recipient::destination(foghorn_core::Address::Url(url.to_string()))
    }
    .to_json()
}

/// `received_at` as forwarded messages write it: RFC 3339, milliseconds.
pub(crate) fn received_at(now_ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(now_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Of the accounts' refusals, keeps the most telling: a body one account
/// verified but could not read, then a bad signature, then "not set up".
pub(crate) fn keep_worse(kept: &mut Option<InboundError>, e: InboundError) {
    let rank = |e: &InboundError| match e {
        InboundError::Malformed(_) => 3,
        InboundError::Unauthorized(_) => 2,
        InboundError::NotConfigured(_) => 1,
    };
    if kept.as_ref().is_none_or(|k| rank(&e) > rank(k)) {
        *kept = Some(e);
    }
}

/// What the caller hears when no account of `kind` took the request.
pub(crate) fn refused(kind: &str, refusal: Option<InboundError>) -> HookError {
    match refusal {
        Some(InboundError::Malformed(m)) => HookError::Malformed(m),
        Some(InboundError::Unauthorized(m)) => HookError::Unauthorized(m),
        Some(InboundError::NotConfigured(_)) | None => HookError::NoProvider(kind.to_string()),
    }
}

/// The first of the tenant's accounts of `kind` whose scheme verifies a
/// request, with what it read (`read` is the account's own check and
/// parse: an interaction, a call's input); the most telling refusal when
/// none does. Nothing is read from the database before this.
pub(crate) fn first_verified<T>(
    routing: &crate::Routing,
    kind: &str,
    read: impl Fn(&dyn foghorn_core::Transport) -> Result<T, InboundError>,
) -> Result<(Arc<crate::routing::Slot>, T), HookError> {
    let mut refusal: Option<InboundError> = None;
    for slot in routing.of_kind(kind) {
        match read(slot.provider.as_ref()) {
            Ok(v) => return Ok((slot, v)),
            Err(e) => keep_worse(&mut refusal, e),
        }
    }
    Err(refused(kind, refusal))
}

/// A verified callback's result.
#[derive(Debug)]
pub struct Received {
    /// The instance that verified it.
    pub provider: String,
    pub events: usize,
    pub summary: InboundSummary,
}

impl Inbound {
    /// The preference centre of the subscriber whose number texted HELP;
    /// None for a number no subscriber has (or without a public URL).
    async fn help_link(
        &self,
        tenant: &TenantId,
        from: &str,
        now: i64,
    ) -> Result<Option<String>, HookError> {
        let number = foghorn_core::normalise_address(foghorn_core::Channel::Sms, from);
        let Some(person) = self.store.subscriber_by_phone(tenant, &number).await? else {
            return Ok(None);
        };
        Ok(self.preferences.preferences_link(
            tenant,
            &person.external_id,
            foghorn_core::Channel::Sms,
            now / 1000,
        ))
    }

    /// Verifies `req` as a callback of provider kind `kind` and applies it.
    /// `tenant` is the one the callback URL names; without one (providers
    /// with a single webhook URL per account call every tenant's receipts
    /// to the same place) it is verified against the shared accounts, and
    /// each delivery report is applied in the tenant of the notification
    /// it names (by our id, else the provider's message id).
    pub async fn receive(
        &self,
        kind: &str,
        tenant: Option<&TenantId>,
        req: &InboundRequest<'_>,
    ) -> Result<Received, HookError> {
        let named = tenant.cloned().unwrap_or_else(TenantId::default_tenant);
        let (slot, events) = self.verify(&named, kind, req).await?;
        let mut groups: Vec<(TenantId, Vec<InboundEvent>)> = Vec::new();
        for event in events {
            let owner = match (tenant, item(&event).target) {
                (None, Some(target)) => self
                    .store
                    .tenant_of_target(&target)
                    .await?
                    .unwrap_or_else(|| named.clone()),
                _ => named.clone(),
            };
            match groups.iter_mut().find(|(t, _)| *t == owner) {
                Some((_, list)) => list.push(event),
                None => groups.push((owner, vec![event])),
            }
        }
        let mut total = Received {
            provider: slot.provider.name().to_string(),
            events: 0,
            summary: InboundSummary::default(),
        };
        for (owner, events) in groups {
            let r = self.apply(kind, &owner, &slot, &events).await?;
            total.events += r.events;
            total.summary.applied += r.summary.applied;
            total.summary.repeats += r.summary.repeats;
            total.summary.unknown += r.summary.unknown;
            total.summary.queued.extend(r.summary.queued);
        }
        Ok(total)
    }

    /// A webhook subscription's handshake (Meta's `hub.challenge`): the
    /// tenant's accounts of `kind` answer it when their token matches.
    pub async fn handshake(
        &self,
        kind: &str,
        tenant: Option<&TenantId>,
        req: &InboundRequest<'_>,
    ) -> Result<foghorn_core::Reply, HookError> {
        let tenant = tenant.cloned().unwrap_or_else(TenantId::default_tenant);
        let routing = self.routes.for_tenant(&tenant).await;
        let (_, reply) = first_verified(&routing, kind, |p| p.handshake(req))?;
        Ok(reply)
    }

    /// Acknowledges what each reply of 1, OK or YES confirms: the latest
    /// notification to that number an escalation hangs on (a replay finds
    /// it acknowledged already and changes nothing). True per event that
    /// confirmed something; other messages go on as keywords or text.
    async fn confirmations(
        &self,
        tenant: &TenantId,
        events: &[InboundEvent],
        now: i64,
    ) -> Result<Vec<bool>, HookError> {
        let mut out = vec![false; events.len()];
        for (i, e) in events.iter().enumerate() {
            let InboundEvent::Message { from, text, .. } = e else {
                continue;
            };
            if !keywords::is_confirmation(text) {
                continue;
            }
            let phone = foghorn_core::normalise_address(foghorn_core::Channel::Sms, from);
            let Some(id) = self
                .store
                .awaiting_acknowledgement(tenant, &phone, now, CONFIRMATION_WINDOW_MS)
                .await?
            else {
                continue;
            };
            let ack = crate::acknowledge::acknowledge(
                &self.store,
                tenant,
                &id,
                "recipient (sms reply)",
                "sms reply",
            )
            .await?;
            if let Some(ack) = ack {
                self.team.tell_alerts(tenant, &ack);
            }
            out[i] = true;
        }
        Ok(out)
    }

    /// Applies verified events in one tenant.
    async fn apply(
        &self,
        kind: &str,
        tenant: &TenantId,
        slot: &crate::routing::Slot,
        events: &[InboundEvent],
    ) -> Result<Received, HookError> {
        let tenant_row = self
            .store
            .tenant(tenant)
            .await?
            .ok_or_else(|| HookError::NoTenant(tenant.to_string()))?;
        let settings: serde_json::Value =
            serde_json::from_str(&tenant_row.settings).unwrap_or_default();
        let items: Vec<InboundItem> = events.iter().map(item).collect();
        let now = foghorn_core::clock::now_ms();
        let provider = slot.provider.name().to_string();
        let ctx = keywords::Context {
            kind,
            provider_replies: slot.provider.spec().answers_keywords,
            settings: &settings,
            now,
        };
        let src = InboundSource {
            tenant_id: tenant,
            kind,
            provider: &provider,
        };
        let confirmed = self.confirmations(tenant, events, now).await?;
        let mut documents: Vec<Option<foghorn_store::SystemMessage>> = vec![None; events.len()];
        if kind == whatsapp::KIND {
            for (i, e) in events.iter().enumerate() {
                let InboundEvent::Message {
                    provider_message_id,
                    from,
                    media,
                    ..
                } = e
                else {
                    continue;
                };
                let arrived = whatsapp::Arrived {
                    message_id: provider_message_id.as_deref().unwrap_or_default(),
                    from,
                    media: media.as_ref(),
                };
                documents[i] = whatsapp::arrived(
                    &self.store,
                    &self.media_links,
                    slot,
                    tenant,
                    &settings,
                    &arrived,
                    now,
                )
                .await?;
            }
        }
        let mut help_links: Vec<Option<String>> = vec![None; events.len()];
        if kind != whatsapp::KIND {
            for (i, e) in events.iter().enumerate() {
                if let InboundEvent::Message { from, text, .. } = e {
                    if matches!(keywords::keyword(text), Some((keywords::Keyword::Help, _))) {
                        help_links[i] = self.help_link(tenant, from, now).await?;
                    }
                }
            }
        }
        let summary = self
            .store
            .apply_inbound(&src, &items, now, |i, row| match (&events[i], row) {
                (
                    InboundEvent::Status {
                        state,
                        error_code,
                        detail,
                        recipient,
                        price,
                        ..
                    },
                    Some(n),
                ) => {
                    let r = status::Report {
                        state: *state,
                        error_code: error_code.as_deref(),
                        detail: detail.as_deref(),
                        recipient: recipient.as_deref(),
                        price: price.as_ref(),
                    };
                    status::effects(&r, n, kind)
                }
                (InboundEvent::Status { .. }, None) => Vec::new(),
                // WhatsApp's answers go by WhatsApp, not SMS: its messages
                // confirm, open the window and bring files; the SMS
                // keywords are not theirs.
                (InboundEvent::Message { .. }, _) if kind == whatsapp::KIND => {
                    documents[i].take().map(Effect::Send).into_iter().collect()
                }
                (
                    InboundEvent::Message {
                        provider_message_id,
                        from,
                        to,
                        text,
                        ..
                    },
                    _,
                ) => {
                    let m = keywords::Incoming {
                        from,
                        to,
                        text,
                        provider_message_id: provider_message_id.as_deref(),
                        preferences_url: help_links[i].as_deref(),
                    };
                    if confirmed[i] {
                        keywords::confirmed(&m, &ctx)
                    } else {
                        keywords::effects(&m, &ctx)
                    }
                }
            })
            .await?;
        if !summary.queued.is_empty() {
            self.wake.notify_one();
            if let Err(e) = self.store.notify_workers().await {
                tracing::warn!(error = %e, "could not notify other nodes of new jobs");
            }
        }
        Ok(Received {
            provider,
            events: events.len(),
            summary,
        })
    }

    /// The first instance of `kind` whose verification accepts `req`, with
    /// the events it read. When none does, the most telling refusal wins: a
    /// payload that verified but could not be read (400), then a bad
    /// signature (401), then "not set up for callbacks" (404).
    async fn verify(
        &self,
        tenant: &TenantId,
        kind: &str,
        req: &InboundRequest<'_>,
    ) -> Result<(Arc<crate::routing::Slot>, Vec<InboundEvent>), HookError> {
        let mut refusal: Option<InboundError> = None;
        let routing = self.routes.for_tenant(tenant).await;
        for slot in routing.of_kind(kind) {
            match slot.provider.inbound(req).await {
                Ok(events) => return Ok((slot, events)),
                Err(e) => keep_worse(&mut refusal, e),
            }
        }
        Err(refused(kind, refusal))
    }

    /// Forgets event ids older than the retention, hourly, for as long as
    /// the process runs.
    pub fn spawn_pruner(store: Store) {
        tokio::spawn(async move {
            loop {
                let before = foghorn_core::clock::now_ms() - foghorn_store::SEEN_RETENTION_MS;
                match store.prune_inbound_seen(before).await {
                    Ok(n) if n > 0 => tracing::debug!(pruned = n, "forgot old callback ids"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pruning callback ids failed"),
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        });
    }
}

/// How an event is de-duplicated and what it is about.
fn item(e: &InboundEvent) -> InboundItem {
    match e {
        InboundEvent::Status {
            provider_message_id,
            notification_id,
            event_id,
            ..
        } => InboundItem {
            event_id: event_id.clone(),
            target: Some(Target {
                notification_id: notification_id.clone(),
                provider_message_id: provider_message_id.clone(),
            }),
        },
        // A message's id is unique per message; a replay repeats it.
        InboundEvent::Message {
            provider_message_id,
            ..
        } => InboundItem {
            event_id: provider_message_id
                .as_ref()
                .map(|id| format!("message:{id}")),
            target: None,
        },
    }
}
