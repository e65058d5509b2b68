//! One job, one decision: [`prepare`] the message (render, links, SMS fit),
//! [`choose`] a provider (routing, breaker, pacing), send, and
//! [`classify`] what happened into an [`Outcome`] for the batch recorder.

mod choose;
pub mod classify;
pub(crate) mod lanes;
mod prepare;

use crate::config::DeliveryConfig;
use crate::outbound::OutboundSettings;
use crate::tenant_routing::TenantRoutes;
use crate::workflow::Registry;
use choose::{choose, Chosen};
use classify::{classify, Circuit, Decision, Policy};
use foghorn_core::{ids, Address, Channel, ProviderError, Receipt, Status};
use foghorn_store::{Attempt, ClaimedJob, NewNotification, Outcome, OutcomeKind, Store};
use prepare::{prepare, Prepared};
use std::sync::Arc;
use std::time::Instant;

/// What every send task needs.
pub(crate) struct Shared {
    pub routes: Arc<TenantRoutes>,
    pub store: Store,
    pub workflows: Arc<Registry>,
    pub cfg: DeliveryConfig,
    pub outbound: Arc<OutboundSettings>,
    /// Categories and budgets, read at most once a second per tenant.
    pub policies: crate::policy_cache::PolicyCache,
    /// Budget alerts already claimed, by this node or another.
    pub alerts: crate::budget::Claimed,
    /// Destinations whose provider paces them, one send at a time.
    pub lanes: lanes::Lanes,
}

pub(crate) fn now_ms() -> i64 {
    foghorn_core::clock::now_ms()
}

fn outcome(job: &ClaimedJob, attempt: Option<Attempt>, kind: OutcomeKind) -> Outcome {
    Outcome {
        notification_id: job.notification.id.clone(),
        tenant_id: job.notification.tenant_id.clone(),
        attempt,
        kind,
    }
}

/// Straight to the dead-letter queue, logged by `class`.
fn dead(job: &ClaimedJob, class: &'static str, reason: String) -> Outcome {
    dead_lettered(job, class);
    outcome(job, None, OutcomeKind::Dead { reason })
}

/// Delivers one claimed job; never fails (every failure is an outcome).
pub(crate) async fn deliver(
    shared: &Shared,
    job: &ClaimedJob,
    ticket: Option<lanes::Ticket>,
) -> Outcome {
    // A paced destination's lane is taken first, so its sends keep the
    // order they were dispatched in.
    let turn = match pace(shared, job, ticket.as_ref()).await {
        Ok(turn) => turn,
        Err(o) => return o,
    };
    let mut prepared = match prepare(shared, job).await {
        Ok(p) => p,
        Err(o) => return o,
    };
    let chosen = match choose(shared, job, &mut prepared).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let slot = chosen.slot();
    let channel = prepared.msg.channel;
    if channel == Channel::Voice {
        if let Err(o) = keep_call_script(shared, job, &prepared).await {
            return o;
        }
    }
    let provider = slot.provider.name().to_string();
    let started = Instant::now();
    let result = match tokio::time::timeout(
        shared.cfg.send_timeout,
        slot.provider.send(&prepared.msg),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(ProviderError::retryable(format!(
            "no answer within {:?}",
            shared.cfg.send_timeout
        ))),
    };
    let latency = started.elapsed();
    // The entity's thread is kept before the lane lets the next message
    // about it go.
    if let Ok(receipt) = &result {
        remember_thread(shared, job, &prepared, receipt).await;
    }
    if let Some(turn) = turn {
        turn.finish(match &result {
            Err(ProviderError::RateLimited { retry_after, .. }) => *retry_after,
            _ => None,
        });
    }
    let outcome_label = match &result {
        Ok(_) => "sent",
        Err(e) => e.kind(),
    };
    metrics::counter!("foghorn_deliveries_total", "channel" => channel.as_str(), "provider" => provider.clone(), "outcome" => outcome_label)
        .increment(1);
    metrics::histogram!("foghorn_provider_latency_seconds", "channel" => channel.as_str(), "provider" => provider.clone())
        .record(latency.as_secs_f64());
    let record = |error: Option<&ProviderError>, http_status: Option<u16>| Attempt {
        id: ids::attempt_id(),
        provider: provider.clone(),
        outcome: outcome_label.into(),
        http_status: http_status.map(i64::from),
        error: error.map(|e| e.to_string()),
        latency_ms: latency.as_millis() as i64,
    };
    match result {
        Ok(receipt) => {
            let attempt = record(None, receipt.http_status);
            outcome(
                job,
                Some(attempt),
                sent(shared, job, &prepared, &chosen, receipt),
            )
        }
        Err(err) => {
            let attempt = record(Some(&err), err.http_status());
            outcome(
                job,
                Some(attempt),
                failed(shared, job, &prepared, &chosen, &err),
            )
        }
    }
}

/// A call's script is kept before the call is placed: the provider fetches
/// the call's page from Foghorn when it is answered, on whichever node,
/// and the page reads what was rendered for it. Unkept, the call waits.
async fn keep_call_script(shared: &Shared, job: &ClaimedJob, p: &Prepared) -> Result<(), Outcome> {
    let n = &job.notification;
    let script = p.msg.content.text.as_deref().unwrap_or_default();
    let locale = p.recipient.contact.locale.as_deref();
    match shared
        .store
        .put_call_script(&n.tenant_id, &n.id, script, locale, now_ms())
        .await
    {
        Ok(()) => Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, "keeping a call's script failed; the call waits");
            Err(prepare::soon(job))
        }
    }
}

/// The lane a chat job's destination is in, taken when it is dispatched so
/// the lane knows the order (see [`lanes`]).
pub(crate) fn announce(shared: &Shared, job: &ClaimedJob) -> Option<lanes::Ticket> {
    let n = &job.notification;
    if !matches!(n.channel, Channel::Slack | Channel::Discord) {
        return None;
    }
    let to = foghorn_core::Recipient::parse(&n.recipient).address?;
    let key = format!("{}\u{1f}{}", n.tenant_id, to.as_str());
    shared.lanes.announce(&key, &n.id)
}

/// The lane of a team destination whose provider paces it; a job whose
/// turn is far off, or that would overtake an older one, goes back to the
/// queue for then.
async fn pace(
    shared: &Shared,
    job: &ClaimedJob,
    ticket: Option<&lanes::Ticket>,
) -> Result<Option<lanes::Turn>, Outcome> {
    let Some(ticket) = ticket else {
        return Ok(None);
    };
    let n = &job.notification;
    let routing = shared.routes.for_tenant(&n.tenant_id).await;
    let pace = routing
        .for_recipient(n.channel, None)
        .get(job.provider_idx.max(0) as usize)
        .map_or(0, |slot| slot.provider.spec().pace_per_destination_ms);
    if pace == 0 {
        return Ok(None);
    }
    match shared
        .lanes
        .enter(ticket, std::time::Duration::from_millis(u64::from(pace)))
        .await
    {
        Ok(turn) => Ok(Some(turn)),
        Err(wait) => Err(outcome(
            job,
            None,
            OutcomeKind::Retry {
                run_at: now_ms() + wait.as_millis() as i64,
                attempt: job.attempt,
                provider_idx: job.provider_idx,
            },
        )),
    }
}

/// The first message about an entity on a chat channel started a thread:
/// later ones reply in it. Losing it only means the next message starts
/// another, so a failure here is logged, not retried.
async fn remember_thread(
    shared: &Shared,
    job: &ClaimedJob,
    prepared: &Prepared,
    receipt: &Receipt,
) {
    let n = &job.notification;
    let (Some(thread), Some(key), Address::Channel(destination)) =
        (&receipt.thread, n.grouping_key.as_deref(), &prepared.msg.to)
    else {
        return;
    };
    if let Err(e) = shared
        .store
        .put_team_thread(&n.tenant_id, destination, key, thread, now_ms())
        .await
    {
        tracing::warn!(error = %e, notification_id = %n.id, "keeping the entity's thread failed");
    }
}

/// A provider took the message: its price, what the sandbox captured.
fn sent(
    shared: &Shared,
    job: &ClaimedJob,
    prepared: &Prepared,
    chosen: &Chosen,
    receipt: Receipt,
) -> OutcomeKind {
    let slot = chosen.slot();
    let msg = &prepared.msg;
    let channel = msg.channel;
    slot.breaker.record_success();
    let age = (now_ms() - job.notification.created_at).max(0) as f64 / 1000.0;
    metrics::histogram!("foghorn_event_to_send_seconds", "channel" => channel.as_str()).record(age);
    let captured = receipt.captured.as_ref().map(|c| {
        (
            channel.as_str().to_string(),
            msg.to.as_str().to_string(),
            serde_json::to_string(c).unwrap_or_default(),
        )
    });
    // The provider's own price wins; else the price table's.
    let cost = receipt.cost.clone().or_else(|| {
        let country = match (&msg.to, channel) {
            (Address::Phone(p), Channel::Sms) => crate::phone::country_of(p),
            _ => None,
        };
        shared.outbound.pricing.cost(
            slot.provider.name(),
            slot.provider.kind(),
            channel,
            prepared.segments,
            country.as_deref(),
        )
    });
    // A URL step that only the sandbox took was not delivered anywhere: the
    // notification says so (the URL itself may be a secret, as Slack's and
    // Discord's are).
    let note = match (&msg.to, slot.provider.kind()) {
        (Address::Url(url), "sandbox") if !url.is_empty() => Some(format!(
            "captured by the sandbox: no provider serves {channel}, so the step's URL was not called"
        )),
        _ => None,
    };
    OutcomeKind::Sent {
        provider_message_id: receipt.provider_message_id,
        cost_micros: cost.as_ref().map(|c| c.micros),
        currency: cost.map(|c| c.currency),
        captured,
        note,
    }
}

/// A provider refused or failed: the classifier's decision, applied to the
/// circuit and turned into the job's next state.
fn failed(
    shared: &Shared,
    job: &ClaimedJob,
    prepared: &Prepared,
    chosen: &Chosen,
    err: &ProviderError,
) -> OutcomeKind {
    let slot = chosen.slot();
    let provider = slot.provider.name();
    let policy = Policy {
        max_attempts: shared.cfg.max_attempts,
        schedule: &shared.cfg.retry_schedule,
        jitter: shared.cfg.jitter,
    };
    let c = classify(
        err,
        provider,
        chosen.attempt,
        chosen.more_providers(),
        &policy,
        &mut rand::thread_rng(),
    );
    let now = Instant::now();
    match c.circuit {
        // A refusal of this one message still shows the provider is up.
        Circuit::Unchanged => slot.breaker.record_answer(),
        Circuit::Failure => slot.breaker.record_failure(now),
        Circuit::Trip => {
            // Every message would fail alike: stop using the provider for a
            // while and alert, instead of burning attempts.
            slot.breaker.trip(now);
            metrics::counter!("foghorn_provider_misconfigured_total", "provider" => provider.to_string()).increment(1);
            tracing::error!(provider = %provider, kind = err.kind(), http_status = ?err.http_status(), "provider is misconfigured; its circuit is open");
        }
    }
    match c.decision {
        Decision::Retry { wait, attempt } => OutcomeKind::Retry {
            run_at: now_ms() + wait.as_millis() as i64,
            attempt: i64::from(attempt),
            provider_idx: chosen.idx as i64,
        },
        Decision::NextProvider => OutcomeKind::Retry {
            run_at: now_ms(),
            attempt: 0,
            provider_idx: chosen.idx as i64 + 1,
        },
        Decision::Exhausted { reason } => exhausted(job, prepared, reason).kind,
    }
}

/// The channel has nothing left: continue on the step's fallback channel
/// when the recipient has an address there, else dead-letter.
fn exhausted(job: &ClaimedJob, prepared: &Prepared, reason: String) -> Outcome {
    let n = &job.notification;
    let channel = prepared.msg.channel;
    let fallback = prepared
        .workflow
        .doc
        .steps
        .get(prepared.step)
        .and_then(|s| s.fallback);
    if let Some(fb) = fallback.filter(|fb| *fb != channel && n.parent_id.is_none()) {
        if let Some(addr) = prepared.recipient.contact.address(fb) {
            let mut facts = prepared.recipient.clone();
            facts.address = Some(addr);
            let next = NewNotification {
                id: ids::notification_id(),
                workflow: n.workflow.clone(),
                step: n.step,
                channel: fb,
                subscriber_id: n.subscriber_id.clone(),
                recipient: facts.to_json(),
                status: Status::Queued,
                status_reason: Some(format!("fallback from {channel}")),
                send_at: None,
                run_at: Some(now_ms()),
                // The store copies the parent's.
                escalates: None,
                series_offset: None,
                category: None,
                dedupe_hash: None,
            };
            return outcome(
                job,
                None,
                OutcomeKind::Fallback {
                    reason: format!("{reason}; continuing on {fb}"),
                    fallback: Box::new(next),
                },
            );
        }
    }
    dead_lettered(job, &reason);
    outcome(job, None, OutcomeKind::Dead { reason })
}

/// An operator learns of every dead letter from the log: ids and the
/// reason's class only, never an address, data or a provider's words.
fn dead_lettered(job: &ClaimedJob, class: &str) {
    let n = &job.notification;
    tracing::warn!(
        notification_id = %n.id,
        tenant_id = %n.tenant_id,
        workflow = %n.workflow,
        channel = %n.channel,
        reason = class,
        "notification moved to the dead-letter queue"
    );
}
