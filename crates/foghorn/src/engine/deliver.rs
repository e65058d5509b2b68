//! One job, one decision: render, pick a provider, send, and classify what
//! happened into an [`Outcome`] for the batch recorder.

use super::breaker::Admission;
use super::plan::address_for;
use super::retry::next_wait;
use super::short_links;
use super::sms_text;
use super::worker::Shared;
use crate::unsubscribe;
use crate::workflow::RenderContext;
use foghorn_core::{ids, normalise_address, Address, Channel, Outbound, ProviderError};
use foghorn_store::{Attempt, ClaimedJob, NewNotification, Outcome, OutcomeKind};
use serde_json::Value;
use std::time::{Duration, Instant};

pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn outcome(job: &ClaimedJob, attempt: Option<Attempt>, kind: OutcomeKind) -> Outcome {
    Outcome {
        notification_id: job.notification.id.clone(),
        tenant_id: job.notification.tenant_id.clone(),
        attempt,
        kind,
    }
}

/// Delivers one claimed job; never fails (every failure is an outcome).
pub(super) async fn deliver(shared: &Shared, job: &ClaimedJob) -> Outcome {
    let n = &job.notification;
    let dead = |class: &'static str, reason: String| {
        dead_lettered(job, class);
        outcome(job, None, OutcomeKind::Dead { reason })
    };
    let Ok(channel) = n.channel.parse::<Channel>() else {
        return dead("unknown_channel", format!("unknown channel {}", n.channel));
    };
    let recipient: Value = serde_json::from_str(&n.recipient).unwrap_or(Value::Null);
    let planned = recipient[super::plan::WORKFLOW_VERSION].as_i64();
    let workflow = match shared
        .workflows
        .get_planned(&shared.store, &n.tenant_id, &n.workflow, planned)
        .await
    {
        Ok(Some(w)) => w,
        // Never dead-lettered on a race or a passing database error: the
        // workflow may have been written through another node a moment
        // ago. Only one that stays unknown for every attempt is given up.
        other => {
            let why = match other {
                Err(e) => format!("cannot load workflow {}: {e}", n.workflow),
                _ => format!("workflow {} is not known", n.workflow),
            };
            let made = job.attempt.max(0) + 1;
            if made as u32 >= shared.cfg.max_attempts {
                return dead("unknown_workflow", why);
            }
            tracing::warn!(notification_id = %n.id, reason = %why, "trying again shortly");
            let retry = OutcomeKind::Retry {
                run_at: now_ms() + 1_000 * made,
                attempt: made,
                provider_idx: job.provider_idx,
            };
            return outcome(job, None, retry);
        }
    };

    let data: Value = serde_json::from_str(&job.event_data).unwrap_or(Value::Null);
    let step = n.step as usize;
    let to = match recipient
        .get("address")
        .cloned()
        .map(serde_json::from_value::<Address>)
    {
        Some(Ok(a)) => a,
        _ => return dead("no_address", "the notification has no address".into()),
    };
    if let Some(o) = suppressed_since(shared, job, channel, &to).await {
        return o;
    }
    // Every email of a workflow that is not critical can be unsubscribed from.
    let links = match (&to, workflow.doc.critical) {
        (Address::Email(email), false) => shared.outbound.unsubscribe.links(
            &unsubscribe::Recipient {
                tenant: &n.tenant_id,
                subscriber: n.subscriber_id.as_deref(),
                email,
                notification: &n.id,
                category: workflow.doc.category.as_deref(),
            },
            now_ms() / 1000,
        ),
        _ => None,
    };
    let ctx = RenderContext {
        event: crate::workflow::EventFacts {
            id: &n.event_id,
            name: &job.event_name,
        },
        data: &data,
        recipient: &recipient,
        notification_id: &n.id,
        locale: recipient.get("locale").and_then(Value::as_str),
        unsubscribe_url: links.as_ref().map(|l| l.footer_url.as_str()),
    };
    let mut content = match workflow.render_off_runtime(step, channel, &ctx).await {
        Ok(c) => c,
        // A template that cannot render will not render on retry either.
        Err(e) => return dead("render_failed", format!("rendering failed: {e}")),
    };
    // SMS: short links, then the step's segment cap; count what is billed.
    let mut segments = 0;
    if channel == Channel::Sms {
        let step_doc = workflow.doc.steps.get(step);
        if let (Some(true), Some(base)) = (
            step_doc.map(|s| s.short_links),
            shared.outbound.public_url.as_deref(),
        ) {
            let crypto = shared.store.crypto();
            let (text, links) =
                short_links::rewrite(content.text.as_deref().unwrap_or_default(), base, |url| {
                    short_links::code(crypto, &n.id, url)
                });
            if !links.is_empty() {
                if let Err(e) = shared
                    .store
                    .put_short_links(&n.tenant_id, &n.id, &links, now_ms())
                    .await
                {
                    tracing::warn!(error = %e, "storing short links failed; trying again shortly");
                    let retry = OutcomeKind::Retry {
                        run_at: now_ms() + 1_000,
                        attempt: job.attempt,
                        provider_idx: job.provider_idx,
                    };
                    return outcome(job, None, retry);
                }
            }
            content.text = Some(text);
        }
        let cap = step_doc.and_then(|s| s.max_segments);
        let fitted = sms_text::fit(content.text.as_deref().unwrap_or_default(), cap);
        segments = fitted.info.segments;
        content.text = Some(fitted.text);
    }
    let mut msg = Outbound {
        notification_id: n.id.clone(),
        tenant_id: n.tenant_id.clone(),
        event_id: n.event_id.clone(),
        event_name: job.event_name.clone(),
        channel,
        to,
        content,
        tags: [
            workflow.doc.category.clone(),
            Some(workflow.doc.name.clone()),
        ]
        .into_iter()
        .flatten()
        .collect(),
        headers: links.map(|l| l.headers).unwrap_or_default(),
        // Replies go out from the number the person wrote to.
        from: recipient
            .get("sender")
            .and_then(Value::as_str)
            .map(str::to_string),
        tenant_target: workflow.from_tenant()
            || recipient[crate::inbound::keywords::TENANT_TARGET] == Value::Bool(true),
    };

    let routing = shared.routes.for_tenant(&n.tenant_id).await;
    // The recipient's country picks the provider order and the sender.
    let country = match &msg.to {
        Address::Phone(p) => crate::phone::country_of(p),
        _ => None,
    };
    if channel == Channel::Sms && msg.from.is_none() {
        msg.from = routing.sms_sender(country.as_deref()).map(str::to_string);
    }
    let slots = routing.for_recipient(channel, country.as_deref());
    let mut idx = job.provider_idx.max(0) as usize;
    let mut attempt = job.attempt.max(0) as u32;
    let mut reopen: Option<Instant> = None;
    let first_open = idx;
    let now = Instant::now();
    // Skip providers whose circuit is open, without spending attempts.
    let slot = loop {
        let Some(slot) = slots.get(idx) else {
            break None;
        };
        match slot.breaker.admit(now) {
            Admission::Allowed => break Some(slot),
            Admission::Rejected(until) => {
                reopen = Some(reopen.map_or(until, |r| r.min(until)));
                idx += 1;
                attempt = 0;
            }
        }
    };
    let Some(slot) = slot else {
        if let Some(until) = reopen {
            // Every remaining provider is open: wait for the first to reopen.
            let wait = until
                .saturating_duration_since(now)
                .max(Duration::from_millis(100));
            let run_at = now_ms() + wait.as_millis() as i64;
            return outcome(
                job,
                None,
                OutcomeKind::Retry {
                    run_at,
                    attempt: job.attempt,
                    provider_idx: first_open as i64,
                },
            );
        }
        return exhausted(
            job,
            &recipient,
            channel,
            workflow.doc.steps.get(step).and_then(|s| s.fallback),
            "every provider failed".into(),
        );
    };
    if let Some(limiter) = &slot.limiter {
        limiter.until_ready().await;
    }

    let provider = slot.provider.name().to_string();
    let started = Instant::now();
    let result = match tokio::time::timeout(shared.cfg.send_timeout, slot.provider.send(&msg)).await
    {
        Ok(r) => r,
        Err(_) => Err(ProviderError::retryable(format!(
            "no answer within {:?}",
            shared.cfg.send_timeout
        ))),
    };
    let latency = started.elapsed();
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
            slot.breaker.record_success();
            let age = (now_ms() - n.created_at).max(0) as f64 / 1000.0;
            metrics::histogram!("foghorn_event_to_send_seconds", "channel" => channel.as_str())
                .record(age);
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
                    segments,
                    country.as_deref(),
                )
            });
            // A URL step that only the sandbox took was not delivered
            // anywhere: the notification says so (the URL itself may be a
            // secret, as Slack's and Discord's are).
            let note = match (&msg.to, slot.provider.kind()) {
                (Address::Url(url), "sandbox") if !url.is_empty() => Some(format!(
                    "captured by the sandbox: no provider serves {channel}, so the step's URL was not called"
                )),
                _ => None,
            };
            let kind = OutcomeKind::Sent {
                provider_message_id: receipt.provider_message_id.clone(),
                cost_micros: cost.as_ref().map(|c| c.micros),
                currency: cost.map(|c| c.currency),
                captured,
                note,
            };
            outcome(job, Some(record(None, receipt.http_status)), kind)
        }
        Err(err) => {
            let status = err.http_status();
            let attempt_row = Some(record(Some(&err), status));
            let now_i = Instant::now();
            let next_provider = |reason: String| -> OutcomeKind {
                if idx + 1 < slots.len() {
                    OutcomeKind::Retry {
                        run_at: now_ms(),
                        attempt: 0,
                        provider_idx: idx as i64 + 1,
                    }
                } else {
                    exhausted(
                        job,
                        &recipient,
                        channel,
                        workflow.doc.steps.get(step).and_then(|s| s.fallback),
                        reason,
                    )
                    .kind
                }
            };
            let kind = match &err {
                ProviderError::Retryable { .. } | ProviderError::RateLimited { .. } => {
                    if matches!(err, ProviderError::Retryable { .. }) {
                        slot.breaker.record_failure(now_i);
                    }
                    let made = attempt + 1;
                    if made < shared.cfg.max_attempts {
                        let hint = match &err {
                            ProviderError::RateLimited { retry_after, .. } => *retry_after,
                            _ => None,
                        };
                        let wait = next_wait(
                            &shared.cfg.retry_schedule,
                            made,
                            shared.cfg.jitter,
                            hint,
                            &mut rand::thread_rng(),
                        );
                        OutcomeKind::Retry {
                            run_at: now_ms() + wait.as_millis() as i64,
                            attempt: made as i64,
                            provider_idx: idx as i64,
                        }
                    } else {
                        next_provider(format!(
                            "{provider}: {made} attempts failed, last {}",
                            summary(&err)
                        ))
                    }
                }
                ProviderError::Permanent { .. } => {
                    next_provider(format!("{provider}: {}", summary(&err)))
                }
                ProviderError::Misconfigured { .. } => {
                    // Every message would fail alike: stop using the provider
                    // for a while and alert, instead of burning attempts.
                    slot.breaker.trip(now_i);
                    metrics::counter!("foghorn_provider_misconfigured_total", "provider" => provider.clone()).increment(1);
                    tracing::error!(provider = %provider, kind = err.kind(), http_status = ?err.http_status(), "provider is misconfigured; its circuit is open");
                    next_provider(format!("{provider}: {}", summary(&err)))
                }
            };
            outcome(job, attempt_row, kind)
        }
    }
}

/// An address suppressed after the notification was planned (a STOP, a
/// hard bounce arriving while it waited) is not sent to, nor is a fallback
/// to a suppressed address. Foghorn's own replies (the confirmation of a
/// STOP) are exempt. When the list cannot be read, the send waits: sending
/// to an opted-out number is the worse mistake.
async fn suppressed_since(
    shared: &Shared,
    job: &ClaimedJob,
    channel: Channel,
    to: &Address,
) -> Option<Outcome> {
    let n = &job.notification;
    if channel.is_team_destination() || crate::workflow::is_system(&n.workflow) {
        return None;
    }
    let address = normalise_address(channel, to.as_str());
    match shared
        .store
        .suppression_reason(&n.tenant_id, channel, &address)
        .await
    {
        Ok(None) => None,
        Ok(Some(reason)) => Some(outcome(job, None, OutcomeKind::Suppressed { reason })),
        Err(e) => {
            tracing::warn!(error = %e, "reading the suppression list failed; the send waits");
            Some(outcome(
                job,
                None,
                OutcomeKind::Retry {
                    run_at: now_ms() + 1_000,
                    attempt: job.attempt,
                    provider_idx: job.provider_idx,
                },
            ))
        }
    }
}

/// The channel has nothing left: continue on the step's fallback channel
/// when the recipient has an address there, else dead-letter.
fn exhausted(
    job: &ClaimedJob,
    recipient: &Value,
    channel: Channel,
    fallback: Option<Channel>,
    reason: String,
) -> Outcome {
    let n = &job.notification;
    if let Some(fb) = fallback.filter(|fb| *fb != channel && n.parent_id.is_none()) {
        if let Some(addr) = address_for(fb, recipient) {
            let mut facts = recipient.clone();
            facts["address"] = serde_json::json!(addr);
            let next = NewNotification {
                id: ids::notification_id(),
                workflow: n.workflow.clone(),
                step: n.step,
                channel: fb.as_str().into(),
                subscriber_id: n.subscriber_id.clone(),
                recipient: facts.to_string(),
                status: "queued".into(),
                status_reason: Some(format!("fallback from {channel}")),
                send_at: None,
                run_at: Some(now_ms()),
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

/// A failure as the notification's status reason shows it: the class and
/// HTTP status, not the provider's words (which may quote an address and
/// live sealed in the attempt row).
fn summary(err: &ProviderError) -> String {
    match err.http_status() {
        Some(code) => format!("{} (HTTP {code})", err.kind()),
        None => err.kind().to_string(),
    }
}
