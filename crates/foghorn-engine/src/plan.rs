//! Turning one accepted event into its notifications: which steps apply, who
//! receives each (every person once per step), and which are suppressed
//! before they reach the queue — opted out, on the tenant's suppression list
//! (bounced, complained, unsubscribed), or over the daily SMS cap.

use crate::preferences::{quiet_until, Verdict, Wishes, CRITICAL_BYPASS, QUIET_HOURS};
use crate::workflow::CompiledWorkflow;
use foghorn_core::policy::{QuietHours, TenantPolicy};
use foghorn_core::{ids, normalise_address, Address, Channel, Contact, Recipient, Status};
use foghorn_store::{
    AcceptFacts, EventDraft, NewNotification, OptInRow, OptOutRow, Plan, SubscriberRow,
};
use serde_json::{json, Value};
use std::sync::Arc;

/// A recipient as the event named it.
#[derive(Debug, Clone)]
pub enum Addressee {
    /// A stored subscriber, by external id.
    Subscriber(String),
    /// An inline recipient (already validated): email, phone, locale, …
    Inline(Value),
}

impl Addressee {
    /// As the request named it (an id, or the validated inline facts).
    pub fn as_json(&self) -> Value {
        match self {
            Addressee::Subscriber(id) => Value::String(id.clone()),
            Addressee::Inline(v) => v.clone(),
        }
    }
}

/// Everything the planner needs beside the stored subscribers.
#[derive(Debug, Clone)]
pub struct EventPlan {
    pub workflow: Arc<CompiledWorkflow>,
    /// Indexes of the steps whose condition holds.
    pub steps: Vec<usize>,
    pub recipients: Vec<Addressee>,
    pub send_at: Option<i64>,
    /// When an unscheduled notification's job is due (now, or earlier for
    /// priority events).
    pub run_at: i64,
    /// A critical event (or workflow): bypasses the daily SMS cap. Only a
    /// critical workflow (the tenant's admin decides) bypasses preferences
    /// and quiet hours; an event's priority does not, and nothing bypasses
    /// an address's suppression (a STOP, a bounce).
    pub critical: bool,
}

/// Limits that apply to every event a node accepts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// SMS per subscriber per 24 hours; 0 is no cap.
    pub sms_daily_cap: u32,
}

/// Status reason of notifications over the daily SMS cap.
pub const DAILY_CAP: &str = "daily cap";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("unknown subscriber `{id}`")]
    UnknownSubscriber { index: usize, id: String },
}

/// A stored subscriber as its notifications keep it.
fn subscriber_facts(s: &SubscriberRow) -> Recipient {
    let data: Value = serde_json::from_str(&s.data).unwrap_or(Value::Null);
    Recipient {
        id: Some(s.external_id.clone()),
        contact: Contact {
            name: data.get("name").and_then(Value::as_str).map(str::to_string),
            ..s.contact.clone()
        },
        data: Some(data),
        ..Recipient::default()
    }
}

/// An inline recipient's validated request fields as a notification's
/// facts.
fn inline_facts(v: &Value) -> Recipient {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// What planning needs of a stored subscriber beyond its facts.
struct Stored {
    id: String,
    /// Whole channels and single categories the subscriber opted out of.
    opt_outs: Vec<OptOutRow>,
    opt_ins: Vec<OptInRow>,
    /// The subscriber's own quiet hours: None follows the tenant's.
    quiet_hours: Option<QuietHours>,
    has_own_quiet_hours: bool,
}

impl Stored {
    fn of(s: &SubscriberRow, opt_outs: &[OptOutRow], opt_ins: &[OptInRow]) -> Stored {
        Stored {
            id: s.external_id.clone(),
            opt_outs: opt_outs.to_vec(),
            opt_ins: opt_ins.to_vec(),
            quiet_hours: s.quiet_hours.as_deref().and_then(|q| q.parse().ok()),
            has_own_quiet_hours: s.quiet_hours.is_some(),
        }
    }
}

/// The quiet hours a person keeps: their own, else the tenant's.
fn quiet_hours(row: Option<&Stored>, policy: &TenantPolicy) -> Option<QuietHours> {
    match row {
        Some(r) if r.has_own_quiet_hours => r.quiet_hours,
        _ => policy.quiet_hours,
    }
}

/// The subscriber id a person goes by: a stored subscriber's, or an inline
/// recipient's own `id`.
fn person_id(row: Option<&Stored>, person: &Recipient) -> Option<String> {
    row.map(|r| r.id.clone()).or_else(|| person.id.clone())
}

/// Which of `people` a `channel` step sends to: one per subscriber id and
/// one per address (normalised as suppressions are), so `["s1", "s1",
/// {"email": <s1's email>}]` is one email. Stored subscribers claim their
/// keys before inline recipients, so an inline copy of a subscriber's
/// address never escapes that subscriber's opt-outs; otherwise the first
/// mention wins. Duplicates get no notification at all.
fn once_each(people: &[(Option<Stored>, Recipient)], channel: Channel) -> Vec<bool> {
    let keys = |(row, person): &(Option<Stored>, Recipient)| {
        let id = person_id(row.as_ref(), person).map(|id| format!("id:{id}"));
        let address = person
            .contact
            .address(channel)
            .map(|a| format!("to:{}", normalise_address(channel, a.as_str())));
        [id, address].into_iter().flatten().collect::<Vec<_>>()
    };
    let mut claimed = std::collections::HashSet::new();
    let mut keep = vec![false; people.len()];
    for stored_first in [true, false] {
        for (i, p) in people.iter().enumerate() {
            if p.0.is_some() != stored_first {
                continue;
            }
            let ks = keys(p);
            if ks.iter().all(|k| !claimed.contains(k)) {
                keep[i] = true;
            }
            // A duplicate's keys are claimed too: `[a@x, {id: s1, a@x}]`
            // keeps s1 from returning under its id alone.
            claimed.extend(ks);
        }
    }
    keep
}

/// Builds the notifications and the stored answer for one event.
pub fn plan(
    draft: &EventDraft,
    p: &EventPlan,
    facts: &mut AcceptFacts,
    limits: &Limits,
) -> Result<Plan, PlanError> {
    let mut people: Vec<(Option<Stored>, Recipient)> = Vec::with_capacity(p.recipients.len());
    for (index, r) in p.recipients.iter().enumerate() {
        match r {
            Addressee::Subscriber(id) => {
                let row = facts.subscriber(&draft.tenant_id, id).ok_or_else(|| {
                    PlanError::UnknownSubscriber {
                        index,
                        id: id.clone(),
                    }
                })?;
                let opt_outs = facts.opt_outs(&draft.tenant_id, id);
                let opt_ins = facts.opt_ins(&draft.tenant_id, id);
                people.push((
                    Some(Stored::of(row, opt_outs, opt_ins)),
                    subscriber_facts(row),
                ));
            }
            Addressee::Inline(v) => people.push((None, inline_facts(v))),
        }
    }
    let (live_status, run_at) = match p.send_at {
        Some(t) => (Status::Scheduled, t),
        None => (Status::Queued, p.run_at),
    };
    let policy = facts.policy(&draft.tenant_id).clone();
    let category = p.workflow.doc.category.as_deref();
    let mut out = Vec::new();
    let mut answer = Vec::new();
    for &i in &p.steps {
        let step = &p.workflow.doc.steps[i];
        let mut push = |channel: Channel,
                        escalates: Option<String>,
                        subscriber_id: Option<String>,
                        mut facts: Recipient,
                        status: Status,
                        reason: Option<String>,
                        held_until: Option<i64>|
         -> String {
            // The version planned with, so a worker holding an older copy
            // of a tenant's workflow knows to read the newer one.
            if p.workflow.version > 0 {
                facts.workflow_version = Some(p.workflow.version);
            }
            facts.critical = p.workflow.doc.critical;
            let id = ids::notification_id();
            answer.push(
                json!({"id": id, "channel": channel, "status": status, "recipient": subscriber_id}),
            );
            out.push(NewNotification {
                id: id.clone(),
                workflow: p.workflow.doc.name.clone(),
                step: i as i64,
                channel,
                subscriber_id,
                recipient: facts.to_json(),
                status,
                status_reason: reason,
                send_at: held_until.or(p.send_at),
                run_at: if held_until.is_some() {
                    held_until
                } else {
                    (status == live_status).then_some(run_at)
                },
                escalates,
            });
            id
        };
        if step.is_team() {
            // `#alerts` is where the tenant says; while it says nothing
            // the step goes to the account's webhook, as a step without a
            // destination does.
            let route = match step.named_destination() {
                Some(name) => policy
                    .destinations
                    .get(name)
                    .and_then(|on| on.get(&step.channel))
                    .map(|r| (r.channel.clone(), r.mention.clone())),
                None => step.destination.clone().map(|d| (d, None)),
            };
            if let Some((channel, mention)) = route {
                push(
                    step.channel,
                    None,
                    None,
                    Recipient {
                        mention,
                        ..Recipient::destination(Address::Channel(channel))
                    },
                    live_status,
                    None,
                    None,
                );
                continue;
            }
            match (&step.url, p.workflow.target(i)) {
                // A step's url whose reference is unset: said on the
                // notification rather than captured as if sent.
                (Some(url), None) => push(
                    step.channel,
                    None,
                    None,
                    Recipient::default(),
                    Status::Suppressed,
                    Some(format!("no destination: the step's url `{url}` is not set")),
                    None,
                ),
                // Without a url of its own the channel's provider has a
                // fixed one (SLACK_WEBHOOK_URL, a relay's `url`).
                (_, target) => push(
                    step.channel,
                    None,
                    None,
                    Recipient::destination(Address::Url(target.unwrap_or_default().to_string())),
                    live_status,
                    None,
                    None,
                ),
            };
            continue;
        }
        // The step's own channel, then its escalations: each one a
        // notification of its own held until its time, sent only if the
        // first is still unacknowledged then.
        let mut rounds = vec![(0, step.channel, 0)];
        if let Some(e) = &step.escalate {
            rounds.extend(e.rounds());
        }
        let mut roots: Vec<Option<String>> = vec![None; people.len()];
        for (round, channel, delay) in rounds {
            let once = once_each(&people, channel);
            for (pi, ((row, person), first)) in people.iter().zip(once).enumerate() {
                if !first {
                    continue;
                }
                let escalates = if round == 0 {
                    None
                } else {
                    match &roots[pi] {
                        Some(root) => Some(root.clone()),
                        None => continue,
                    }
                };
                let mut push = |sid: Option<String>,
                                person: Recipient,
                                status: Status,
                                reason: Option<String>,
                                held: Option<i64>| {
                    let id = push(
                        channel,
                        escalates.clone(),
                        sid,
                        person,
                        status,
                        reason,
                        held,
                    );
                    if round == 0 {
                        roots[pi] = Some(id);
                    }
                };
                let sid = person_id(row.as_ref(), person);
                let mut person = person.clone();
                let Some(addr) = person.contact.address(channel) else {
                    push(
                        sid,
                        person,
                        Status::Suppressed,
                        Some(format!("no {} address", channel)),
                        None,
                    );
                    continue;
                };
                let wishes = Wishes {
                    opt_outs: row.as_ref().map_or(&[], |r| r.opt_outs.as_slice()),
                    opt_ins: row.as_ref().map_or(&[], |r| r.opt_ins.as_slice()),
                    categories: &policy.categories,
                };
                let mut reason = None;
                match wishes.verdict(channel, category, p.workflow.doc.critical) {
                    Verdict::Send => {}
                    Verdict::Bypassed => reason = Some(CRITICAL_BYPASS.to_string()),
                    Verdict::Refused(why) => {
                        push(sid, person, Status::Suppressed, Some(why.into()), None);
                        continue;
                    }
                }
                let key = normalise_address(channel, addr.as_str());
                if let Some(reason) = facts.suppression(&draft.tenant_id, channel, &key) {
                    let reason = reason.to_string();
                    push(sid, person, Status::Suppressed, Some(reason), None);
                    continue;
                }
                // The cap counts stored subscribers' SMS (inline recipients
                // have no history to count).
                let capped = match (row, channel) {
                    (Some(r), Channel::Sms) if !p.critical && limits.sms_daily_cap > 0 => {
                        let sent = facts.sms_count(&draft.tenant_id, &r.id);
                        if sent >= i64::from(limits.sms_daily_cap) {
                            true
                        } else {
                            facts.count_sms(&draft.tenant_id, &r.id);
                            false
                        }
                    }
                    _ => false,
                };
                if capped {
                    push(
                        sid,
                        person,
                        Status::Suppressed,
                        Some(DAILY_CAP.into()),
                        None,
                    );
                    continue;
                }
                person.address = Some(addr);
                // Held to the end of the person's quiet hours, in their zone,
                // judged at when it is due: now, or its send_at (a priority
                // event's earlier run_at only orders the queue).
                let due = p.send_at.unwrap_or(draft.created_at) + delay;
                let held = match (p.workflow.doc.critical, quiet_hours(row.as_ref(), &policy)) {
                    (false, Some(q)) => {
                        let zone = person
                            .contact
                            .timezone
                            .as_deref()
                            .or(policy.timezone.as_deref());
                        quiet_until(due, q, zone)
                    }
                    _ => None,
                };
                if round > 0 {
                    let reason = format!("escalation {round}: sent unless acknowledged by then");
                    push(
                        sid,
                        person,
                        Status::Scheduled,
                        Some(reason),
                        Some(held.unwrap_or(due)),
                    );
                    continue;
                }
                match held {
                    Some(until) => push(
                        sid,
                        person,
                        Status::Scheduled,
                        Some(QUIET_HOURS.into()),
                        Some(until),
                    ),
                    None => push(sid, person, live_status, reason, None),
                }
            }
        }
    }
    Ok(Plan {
        notifications: out,
        response: json!({"event_id": draft.event_id, "notifications": answer}).to_string(),
    })
}
