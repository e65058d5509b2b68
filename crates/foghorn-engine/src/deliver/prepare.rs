//! Everything about one job that needs no provider: its workflow, its
//! address (still not suppressed), the rendered content with unsubscribe
//! links, SMS short links and the segment cap. A job that cannot be
//! prepared ends here as an outcome.

use super::{dead, now_ms, outcome, Shared};
use crate::budget::{self, Budgeted};
use crate::preferences::{Verdict, Wishes};
use crate::workflow::{CompiledWorkflow, EventFacts, RenderContext};
use crate::{short_links, sms_text, unsubscribe};
use foghorn_core::{normalise_address, Address, Channel, Outbound, Recipient};
use foghorn_store::{ClaimedJob, Outcome, OutcomeKind};
use serde_json::Value;
use std::sync::Arc;

/// A message ready for a provider.
pub struct Prepared {
    pub msg: Outbound,
    pub workflow: Arc<CompiledWorkflow>,
    /// The recipient's facts as planned (addresses on other channels, for
    /// a fallback).
    pub recipient: Recipient,
    pub step: usize,
    /// SMS segments the text takes, for the price; 0 on other channels.
    pub segments: usize,
}

pub(super) async fn prepare(shared: &Shared, job: &ClaimedJob) -> Result<Prepared, Outcome> {
    let n = &job.notification;
    let channel = n.channel;
    let recipient = Recipient::parse(&n.recipient);
    let workflow = workflow(shared, job, recipient.workflow_version).await?;
    let mut data: Value = serde_json::from_str(&job.event_data).unwrap_or(Value::Null);
    let step = n.step as usize;
    // A reminder of a series reads its own days left.
    if let (Some(r), Value::Object(m)) = (&recipient.reminder, &mut data) {
        m.insert("days_left".into(), r.days_left.into());
        m.insert("reminder".into(), r.offset.clone().into());
    }
    let Some(to) = recipient.address.clone() else {
        return Err(dead(
            job,
            "no_address",
            "the notification has no address".into(),
        ));
    };
    // A digest closes before anything else is judged: whether it is then
    // sent or held back, an event from here on opens the next one rather
    // than joining a message that will never go.
    if recipient.digest {
        collected(shared, job, &mut data).await?;
    }
    let critical = recipient.critical || workflow.doc.critical;
    if let Some(o) = unwanted_since(shared, job, &to, &workflow, &recipient, critical).await {
        return Err(o);
    }
    if let Some(o) = over_budget(shared, job, critical).await {
        return Err(o);
    }
    if let Some(o) = acknowledged_before(shared, job).await {
        return Err(o);
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
    // A step that asks for an acknowledgement, or escalates until one,
    // gives its email and SMS (and its escalations') the signed link.
    let asks = workflow
        .doc
        .steps
        .get(step)
        .is_some_and(|s| s.acknowledge || s.escalate.is_some());
    let ack_url = (!channel.is_team_destination() && (asks || n.escalates.is_some()))
        .then(|| {
            shared
                .outbound
                .acknowledge
                .url(&n.tenant_id, &n.id, now_ms() / 1000)
        })
        .flatten();
    let person = recipient.template_view();
    let ctx = RenderContext {
        event: EventFacts {
            id: &n.event_id,
            name: &job.event_name,
        },
        data: &data,
        recipient: &person,
        notification_id: &n.id,
        locale: recipient.contact.locale.as_deref(),
        unsubscribe_url: links.as_ref().map(|l| l.footer_url.as_str()),
        preferences_url: links.as_ref().and_then(|l| l.preferences_url.as_deref()),
        acknowledge_url: ack_url.as_deref(),
    };
    let mut content = match workflow.render_off_runtime(step, channel, &ctx).await {
        Ok(c) => c,
        // A template that cannot render will not render on retry either.
        Err(e) => return Err(dead(job, "render_failed", format!("rendering failed: {e}"))),
    };
    // WhatsApp: inside the 24 hours after the person last wrote, the text
    // goes as it is; outside them only the approved template may.
    if let (Channel::Whatsapp, Some(_), Some(_), Address::Phone(phone)) =
        (channel, &content.template, &content.text, &to)
    {
        match shared
            .store
            .whatsapp_window_open(&n.tenant_id, phone, now_ms())
            .await
        {
            Ok(true) => content.template = None,
            Ok(false) => {}
            // Unread, the template is the safe choice: it goes either way.
            Err(e) => {
                tracing::warn!(error = %e, "reading a WhatsApp window failed; sending the template")
            }
        }
    }
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
                    return Err(soon(job));
                }
            }
            content.text = Some(text);
        }
        let cap = step_doc.and_then(|s| s.max_segments);
        let fitted = sms_text::fit(content.text.as_deref().unwrap_or_default(), cap);
        segments = fitted.info.segments;
        content.text = Some(fitted.text);
    }
    let thread = match thread(shared, job, &to).await {
        Ok(t) => t,
        Err(o) => return Err(o),
    };
    let msg = Outbound {
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
        from: recipient.sender.clone(),
        tenant_target: workflow.from_tenant() || recipient.tenant_target,
        thread,
    };
    Ok(Prepared {
        msg,
        workflow,
        recipient,
        step,
        segments,
    })
}

/// The workflow the job was planned with. Never dead-lettered on a race or
/// a passing database error: the workflow may have been written through
/// another node a moment ago. Only one that stays unknown for every
/// attempt is given up.
async fn workflow(
    shared: &Shared,
    job: &ClaimedJob,
    planned: Option<i64>,
) -> Result<Arc<CompiledWorkflow>, Outcome> {
    let n = &job.notification;
    let why = match shared
        .workflows
        .get_planned(&shared.store, &n.tenant_id, &n.workflow, planned)
        .await
    {
        Ok(Some(w)) => return Ok(w),
        Err(e) => format!("cannot load workflow {}: {e}", n.workflow),
        Ok(None) => format!("workflow {} is not known", n.workflow),
    };
    let made = job.attempt.max(0) + 1;
    if made as u32 >= shared.cfg.max_attempts {
        return Err(dead(job, "unknown_workflow", why));
    }
    tracing::warn!(notification_id = %n.id, reason = %why, "trying again shortly");
    let retry = OutcomeKind::Retry {
        run_at: now_ms() + 1_000 * made,
        attempt: made,
        provider_idx: job.provider_idx,
    };
    Err(outcome(job, None, retry))
}

/// The thread the notification's entity (its grouping key) has on a
/// chat channel already: later messages reply in it. Only a bot posts in
/// threads; a webhook message starts none.
async fn thread(
    shared: &Shared,
    job: &ClaimedJob,
    to: &Address,
) -> Result<Option<String>, Outcome> {
    let n = &job.notification;
    let (Address::Channel(destination), Some(key)) = (to, n.grouping_key.as_deref()) else {
        return Ok(None);
    };
    match shared
        .store
        .team_thread(&n.tenant_id, destination, key)
        .await
    {
        Ok(t) => Ok(t),
        Err(e) => {
            tracing::warn!(error = %e, "reading the entity's thread failed; trying again shortly");
            Err(soon(job))
        }
    }
}

/// The same job again in a second, nothing spent.
pub(super) fn soon(job: &ClaimedJob) -> Outcome {
    outcome(
        job,
        None,
        OutcomeKind::Retry {
            run_at: now_ms() + 1_000,
            attempt: job.attempt,
            provider_idx: job.provider_idx,
        },
    )
}

/// What changed since the notification was planned stops it here: its
/// address suppressed (a STOP, a hard bounce arriving while it waited; a
/// fallback to a suppressed address too), or a preference (a no to its
/// category, a whole channel given up, a category turned off by default,
/// the subscriber erased). Critical workflows go against preferences as
/// they did when planned, never against a suppression. Foghorn's own
/// messages and team destinations are exempt. When these cannot be read,
/// the send waits: sending to someone who said no is the worse mistake.
async fn unwanted_since(
    shared: &Shared,
    job: &ClaimedJob,
    to: &Address,
    workflow: &CompiledWorkflow,
    recipient: &Recipient,
    critical: bool,
) -> Option<Outcome> {
    let n = &job.notification;
    if n.channel.is_team_destination() || crate::workflow::is_system(&n.workflow) {
        return None;
    }
    let suppressed = |reason: String| Some(outcome(job, None, OutcomeKind::Suppressed { reason }));
    let address = normalise_address(n.channel, to.as_str());
    let subscriber = n.subscriber_id.as_deref();
    let read = async {
        let checks = shared
            .store
            .send_checks(&n.tenant_id, Some((n.channel, &address)), subscriber)
            .await?;
        let policy = match checks.choices {
            Some(_) => Some(shared.policies.get(&shared.store, &n.tenant_id).await?),
            None => None,
        };
        Ok::<_, foghorn_store::StoreError>((checks, policy))
    };
    let (checks, policy) = match read.await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "reading the suppressions and preferences failed; the send waits");
            return Some(soon(job));
        }
    };
    if let Some(reason) = checks.suppression {
        return suppressed(reason);
    }
    let (Some(choices), Some(policy)) = (checks.choices, policy) else {
        return None;
    };
    // Planned for a stored subscriber (their data came along) who has been
    // erased since: there is no one to send to.
    if recipient.data.is_some() && !choices.exists {
        return suppressed("subscriber erased".into());
    }
    let wishes = Wishes {
        opt_outs: &choices.opt_outs,
        opt_ins: &choices.opt_ins,
        categories: &policy.categories,
    };
    match wishes.verdict(n.channel, workflow.doc.category.as_deref(), critical) {
        Verdict::Refused(reason) => suppressed(reason.to_string()),
        Verdict::Send | Verdict::Bypassed => None,
    }
}

/// An escalation goes only while the notification it escalates is not
/// acknowledged; an acknowledgement cancels the waiting ones, and this
/// catches one already claimed when it came. Unreadable, the send waits.
async fn acknowledged_before(shared: &Shared, job: &ClaimedJob) -> Option<Outcome> {
    let n = &job.notification;
    let root = n.escalates.as_deref()?;
    match shared.store.is_acknowledged(&n.tenant_id, root).await {
        Ok(false) => None,
        Ok(true) => Some(outcome(
            job,
            None,
            OutcomeKind::Suppressed {
                reason: "acknowledged before it was due".into(),
            },
        )),
        Err(e) => {
            tracing::warn!(error = %e, "reading an acknowledgement failed; the escalation waits");
            Some(soon(job))
        }
    }
}

/// A tenant whose monthly budget is spent sends only what is critical;
/// crossing 80% or 100% alerts its team once. Team channels cost nothing
/// and Foghorn's own messages must go. When the spend cannot be read, the
/// send waits: a budget is a promise about money.
async fn over_budget(shared: &Shared, job: &ClaimedJob, critical: bool) -> Option<Outcome> {
    let n = &job.notification;
    if n.channel.is_team_destination() || crate::workflow::is_system(&n.workflow) {
        return None;
    }
    let checked = async {
        let policy = shared.policies.get(&shared.store, &n.tenant_id).await?;
        if policy.budgets.monthly.is_empty() {
            return Ok(Budgeted::Within);
        }
        budget::check(
            &shared.store,
            &shared.alerts,
            &n.tenant_id,
            &policy.budgets,
            n.channel,
        )
        .await
    };
    match checked.await {
        Ok(Budgeted::Within) => None,
        Ok(Budgeted::Exhausted(_)) if critical => None,
        Ok(Budgeted::Exhausted(_)) => Some(outcome(
            job,
            None,
            OutcomeKind::Suppressed {
                reason: budget::BUDGET.to_string(),
            },
        )),
        Err(e) => {
            tracing::warn!(error = %e, "reading the budget failed; the send waits");
            Some(soon(job))
        }
    }
}

/// A digest's events, closed now: templates read `data.digest.count` and
/// `data.digest.events` (each `{id, at, data}`), oldest first; `data` is the
/// first event's. An event that arrives from here on opens the next one.
async fn collected(shared: &Shared, job: &ClaimedJob, data: &mut Value) -> Result<(), Outcome> {
    let n = &job.notification;
    let root = n.parent_id.as_deref().unwrap_or(&n.id);
    let (entries, total) = shared
        .store
        .close_digest(
            &n.tenant_id,
            root,
            now_ms(),
            crate::workflow::noise::DIGEST_LISTED,
        )
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "closing a digest failed; trying again shortly");
            soon(job)
        })?;
    let events: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "id": e.event_id,
                "at": chrono::DateTime::from_timestamp_millis(e.created_at)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                "data": serde_json::from_str::<Value>(&e.data).unwrap_or(Value::Null),
            })
        })
        .collect();
    if let Value::Object(m) = data {
        m.insert(
            "digest".into(),
            serde_json::json!({"count": total, "events": events}),
        );
    }
    Ok(())
}
