//! Turning one accepted event into its notifications: which steps apply, who
//! receives each (every person once per step), and which are suppressed
//! before they reach the queue — opted out, on the tenant's suppression list
//! (bounced, complained, unsubscribed), or over the daily SMS cap.

use crate::preferences::{quiet_until, Verdict, Wishes, CRITICAL_BYPASS, QUIET_HOURS};
use crate::workflow::noise::{Per, Throttle};
use crate::workflow::series::Reminder;
use crate::workflow::CompiledWorkflow;
use foghorn_core::policy::{QuietHours, TenantPolicy};
use foghorn_core::{ids, normalise_address, Address, Channel, Contact, Recipient, Status};
use foghorn_store::NewDigest;
use foghorn_store::{
    AcceptFacts, EventDraft, NewNotification, OptInRow, OptOutRow, Plan, SubscriberRow,
};
use serde_json::{json, Value};
use std::collections::HashMap;
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
    /// A series' reminders, each with the person steps of its day (the
    /// person steps are then planned only there, never in `steps`).
    pub series: Vec<Reminder>,
    /// A series' time of day, minutes past midnight.
    pub series_at: u16,
    /// Fingerprints by (step, recipient index): of the alert, for
    /// duplicate suppression, and of the digest it may join.
    pub alerts: HashMap<(usize, usize), String>,
    pub digest_scopes: HashMap<(usize, usize), String>,
}

/// Limits that apply to every event a node accepts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// SMS per subscriber per 24 hours; 0 is no cap.
    pub sms_daily_cap: u32,
}

/// Status reason of notifications over the daily SMS cap.
pub const DAILY_CAP: &str = "daily cap";

/// RFC 3339, to the second, for reasons a person reads.
fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

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

/// Until when a notification due at `at` is held by the person's quiet
/// hours in `zone`; never for a critical workflow.
fn held_until(
    critical: bool,
    row: Option<&Stored>,
    policy: &TenantPolicy,
    at: i64,
    zone: Option<&str>,
) -> Option<i64> {
    match (critical, quiet_hours(row, policy)) {
        (false, Some(q)) => quiet_until(at, q, zone),
        _ => None,
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

/// One notification as the planner decides it.
struct Row {
    step: usize,
    channel: Channel,
    escalates: Option<String>,
    subscriber_id: Option<String>,
    facts: Recipient,
    status: Status,
    reason: Option<String>,
    /// Held to this time (quiet hours, an escalation, a reminder, a digest).
    held_until: Option<i64>,
    series_offset: Option<String>,
    dedupe_hash: Option<String>,
}

/// The notifications and answer of one event, as they are decided.
struct Planned<'a> {
    p: &'a EventPlan,
    out: Vec<NewNotification>,
    answer: Vec<Value>,
    live_status: Status,
    run_at: i64,
}

impl Planned<'_> {
    fn push(&mut self, mut r: Row) -> String {
        let p = self.p;
        // The version planned with, so a worker holding an older copy of a
        // tenant's workflow knows to read the newer one.
        if p.workflow.version > 0 {
            r.facts.workflow_version = Some(p.workflow.version);
        }
        r.facts.critical = p.workflow.doc.critical;
        let id = ids::notification_id();
        let mut entry = json!({"id": id, "channel": r.channel, "status": r.status, "recipient": r.subscriber_id});
        if let Some(at) = r.held_until.filter(|_| r.status == Status::Scheduled) {
            entry["send_at"] = json!(rfc3339(at));
        }
        if let Some(o) = &r.series_offset {
            entry["reminder"] = json!(o);
        }
        self.answer.push(entry);
        let team = r.channel.is_team_destination();
        self.out.push(NewNotification {
            id: id.clone(),
            workflow: p.workflow.doc.name.clone(),
            step: r.step as i64,
            channel: r.channel,
            subscriber_id: r.subscriber_id,
            recipient: r.facts.to_json(),
            status: r.status,
            status_reason: r.reason,
            send_at: r.held_until.or(p.send_at),
            run_at: if r.held_until.is_some() {
                r.held_until
            } else {
                (r.status == self.live_status).then_some(self.run_at)
            },
            escalates: r.escalates,
            series_offset: r.series_offset,
            // Throttles count what reaches people.
            category: (!team).then(|| category_of(&p.workflow.doc).to_string()),
            dedupe_hash: r.dedupe_hash,
        });
        id
    }
}

/// What throttles count a workflow's notifications under: its category,
/// else its name.
fn category_of(w: &crate::workflow::Workflow) -> &str {
    w.category.as_deref().unwrap_or(&w.name)
}

/// Whether a person may be sent `channel` at all: an address, their
/// wishes, the tenant's suppression list. Ok carries the address and the
/// reason to record when a critical workflow overrode a wish.
fn screen(
    facts: &AcceptFacts,
    tenant: &foghorn_core::TenantId,
    row: Option<&Stored>,
    person: &Recipient,
    channel: Channel,
    p: &EventPlan,
    policy: &TenantPolicy,
) -> Result<(Address, Option<String>), String> {
    let addr = person
        .contact
        .address(channel)
        .ok_or_else(|| format!("no {channel} address"))?;
    let wishes = Wishes {
        opt_outs: row.map_or(&[], |r| r.opt_outs.as_slice()),
        opt_ins: row.map_or(&[], |r| r.opt_ins.as_slice()),
        categories: &policy.categories,
    };
    let bypass = match wishes.verdict(
        channel,
        p.workflow.doc.category.as_deref(),
        p.workflow.doc.critical,
    ) {
        Verdict::Send => None,
        Verdict::Bypassed => Some(CRITICAL_BYPASS.to_string()),
        Verdict::Refused(why) => return Err(why.into()),
    };
    let key = normalise_address(channel, addr.as_str());
    if let Some(reason) = facts.suppression(tenant, channel, &key) {
        return Err(reason.to_string());
    }
    Ok((addr, bypass))
}

/// The zone a person's local times are in: theirs, else the tenant's.
fn zone_of<'a>(person: &'a Recipient, policy: &'a TenantPolicy) -> Option<&'a str> {
    person
        .contact
        .timezone
        .as_deref()
        .or(policy.timezone.as_deref())
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
    let tenant = &draft.tenant_id;
    let policy = facts.policy(tenant).clone();
    let doc = &p.workflow.doc;
    let mut planned = Planned {
        p,
        out: Vec::new(),
        answer: Vec::new(),
        live_status,
        run_at,
    };
    let mut digests: Vec<NewDigest> = Vec::new();
    let mut digested_into: Vec<String> = Vec::new();
    let mut skipped: Vec<Value> = Vec::new();
    let row =
        |step: usize, channel: Channel, subscriber_id: Option<String>, facts: Recipient| Row {
            step,
            channel,
            escalates: None,
            subscriber_id,
            facts,
            status: Status::Suppressed,
            reason: None,
            held_until: None,
            series_offset: None,
            dedupe_hash: None,
        };
    for &i in &p.steps {
        let step = &doc.steps[i];
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
            let r = match (route, &step.url, p.workflow.target(i)) {
                (Some((channel, mention)), ..) => Row {
                    status: live_status,
                    ..row(
                        i,
                        step.channel,
                        None,
                        Recipient {
                            mention,
                            ..Recipient::destination(Address::Channel(channel))
                        },
                    )
                },
                // A step's url whose reference is unset: said on the
                // notification rather than captured as if sent.
                (None, Some(url), None) => Row {
                    reason: Some(format!("no destination: the step's url `{url}` is not set")),
                    ..row(i, step.channel, None, Recipient::default())
                },
                // Without a url of its own the channel's provider has a
                // fixed one (SLACK_WEBHOOK_URL, a relay's `url`).
                (None, _, target) => Row {
                    status: live_status,
                    ..row(
                        i,
                        step.channel,
                        None,
                        Recipient::destination(Address::Url(
                            target.unwrap_or_default().to_string(),
                        )),
                    )
                },
            };
            planned.push(r);
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
            for (pi, ((stored, person), first)) in people.iter().zip(once).enumerate() {
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
                let sid = person_id(stored.as_ref(), person);
                let mut person = person.clone();
                let base = Row {
                    escalates,
                    ..row(i, channel, sid.clone(), person.clone())
                };
                let (addr, bypass) =
                    match screen(facts, tenant, stored.as_ref(), &person, channel, p, &policy) {
                        Ok(ok) => ok,
                        Err(why) => {
                            let id = planned.push(Row {
                                reason: Some(why),
                                ..base
                            });
                            if round == 0 {
                                roots[pi] = Some(id);
                            }
                            continue;
                        }
                    };
                // The cap counts stored subscribers' SMS (inline recipients
                // have no history to count).
                let capped = match (stored, channel) {
                    (Some(r), Channel::Sms) if !p.critical && limits.sms_daily_cap > 0 => {
                        let sent = facts.sms_count(tenant, &r.id);
                        if sent >= i64::from(limits.sms_daily_cap) {
                            true
                        } else {
                            facts.count_sms(tenant, &r.id);
                            false
                        }
                    }
                    _ => false,
                };
                if capped {
                    let id = planned.push(Row {
                        reason: Some(DAILY_CAP.into()),
                        ..base
                    });
                    if round == 0 {
                        roots[pi] = Some(id);
                    }
                    continue;
                }
                person.address = Some(addr);
                // Held to the end of the person's quiet hours, in their zone,
                // judged at when it is due: now, or its send_at (a priority
                // event's earlier run_at only orders the queue).
                let due = p.send_at.unwrap_or(draft.created_at) + delay;
                let zone = zone_of(&person, &policy).map(str::to_string);
                let quiet = |at: i64| {
                    held_until(doc.critical, stored.as_ref(), &policy, at, zone.as_deref())
                };
                let held = quiet(due);
                if round > 0 {
                    planned.push(Row {
                        status: Status::Scheduled,
                        reason: Some(format!(
                            "escalation {round}: sent unless acknowledged by then"
                        )),
                        held_until: Some(held.unwrap_or(due)),
                        facts: person,
                        ..base
                    });
                    continue;
                }
                // A digest: join the one open for this person and key, or
                // open it, to be sent when its window closes.
                if let (Some(digest), Some(fp)) = (&step.digest, p.digest_scopes.get(&(i, pi))) {
                    let scope = facts.keyed(fp);
                    if let Some(open) = facts.planning.open_digest(tenant, &scope) {
                        let open = open.to_string();
                        planned.answer.push(json!({"id": open, "channel": channel, "status": Status::Scheduled, "recipient": sid, "digest": true}));
                        digested_into.push(open);
                        roots[pi] = None;
                        continue;
                    }
                    let closes = digest
                        .closes_at(draft.created_at, zone.as_deref())
                        .unwrap_or(draft.created_at);
                    person.digest = true;
                    let id = planned.push(Row {
                        status: Status::Scheduled,
                        reason: Some(format!("digest: collecting until {}", rfc3339(closes))),
                        held_until: Some(quiet(closes).unwrap_or(closes)),
                        facts: person,
                        ..base
                    });
                    facts.planning.opened_digest(tenant, &scope, &id);
                    digests.push(NewDigest {
                        notification_id: id.clone(),
                        scope,
                        closes_at: closes,
                    });
                    digested_into.push(id.clone());
                    roots[pi] = Some(id);
                    continue;
                }
                if let Some(until) = held {
                    roots[pi] = Some(planned.push(Row {
                        status: Status::Scheduled,
                        reason: Some(QUIET_HOURS.into()),
                        held_until: Some(until),
                        facts: person,
                        ..base
                    }));
                    continue;
                }
                // Going now: an identical alert inside the window, or one
                // over a throttle, is held back with the reason.
                let live = live_status == Status::Queued;
                let dedupe_hash = p
                    .alerts
                    .get(&(i, pi))
                    .filter(|_| live && doc.dedupe.is_some())
                    .map(|fp| facts.keyed(fp));
                if let Some(first) = dedupe_hash
                    .as_deref()
                    .and_then(|h| facts.planning.duplicate_of(tenant, h))
                {
                    let reason = format!(
                        "duplicate of {first}: the same alert inside {}",
                        doc.dedupe.as_deref().unwrap_or_default()
                    );
                    roots[pi] = Some(planned.push(Row {
                        reason: Some(reason),
                        ..base
                    }));
                    continue;
                }
                let category = category_of(doc);
                // Each throttle that applies, with whose count it keeps (a
                // per-subscriber one skips recipients without an id).
                let throttles: Vec<(&Throttle, Option<&str>)> = doc
                    .throttle
                    .iter()
                    .filter(|_| live)
                    .filter_map(|t| match t.per {
                        Per::Subscriber => Some((t, Some(sid.as_deref()?))),
                        Per::Tenant => Some((t, None)),
                    })
                    .collect();
                let over = throttles.iter().find(|(t, whose)| {
                    facts
                        .planning
                        .throttle_count(tenant, category, t.window_ms(), *whose)
                        >= i64::from(t.max)
                });
                if let Some((t, _)) = over {
                    roots[pi] = Some(planned.push(Row {
                        reason: Some(t.reason(category)),
                        ..base
                    }));
                    continue;
                }
                for (t, whose) in &throttles {
                    facts
                        .planning
                        .count_throttle(tenant, category, t.window_ms(), *whose);
                }
                let id = planned.push(Row {
                    status: live_status,
                    reason: bypass,
                    facts: person,
                    dedupe_hash: dedupe_hash.clone(),
                    ..base
                });
                if let Some(h) = &dedupe_hash {
                    facts.planning.record_alert(tenant, h, &id);
                }
                roots[pi] = Some(id);
            }
        }
    }
    // A series: each reminder's person steps, at its local time, unless
    // sent already (a re-plan) or past (never sent late).
    for r in &p.series {
        for &i in &r.steps {
            let step = &doc.steps[i];
            let once = once_each(&people, step.channel);
            for ((stored, person), first) in people.iter().zip(once) {
                if !first {
                    continue;
                }
                let sid = person_id(stored.as_ref(), person);
                if let (Some(s), Some(group)) = (&sid, &draft.grouping_key) {
                    if facts
                        .planning
                        .handled(tenant, &doc.name, group, s, i as i64, &r.offset)
                    {
                        continue;
                    }
                }
                let zone = zone_of(person, &policy);
                let Some(due) = crate::workflow::series::due_ms(r.date, p.series_at, zone) else {
                    continue;
                };
                if due <= draft.created_at {
                    skipped.push(json!({"reminder": r.offset, "channel": step.channel, "recipient": sid, "reason": "its date has passed"}));
                    continue;
                }
                let mut person = person.clone();
                person.reminder = Some(foghorn_core::Reminder {
                    offset: r.offset.clone(),
                    days_left: r.days_left,
                });
                let base = Row {
                    series_offset: Some(r.offset.clone()),
                    ..row(i, step.channel, sid.clone(), person.clone())
                };
                match screen(
                    facts,
                    tenant,
                    stored.as_ref(),
                    &person,
                    step.channel,
                    p,
                    &policy,
                ) {
                    Err(why) => {
                        planned.push(Row {
                            reason: Some(why),
                            ..base
                        });
                    }
                    Ok((addr, _)) => {
                        person.address = Some(addr);
                        let held = held_until(doc.critical, stored.as_ref(), &policy, due, zone);
                        planned.push(Row {
                            status: Status::Scheduled,
                            reason: Some(format!(
                                "reminder {}: {} days before {}",
                                r.offset,
                                r.days_left,
                                r.date + chrono::Duration::days(r.days_left)
                            )),
                            held_until: Some(held.unwrap_or(due)),
                            facts: person,
                            ..base
                        });
                    }
                }
            }
        }
    }
    let mut response = json!({"event_id": draft.event_id, "notifications": planned.answer});
    if !skipped.is_empty() {
        response["skipped"] = Value::Array(skipped);
    }
    Ok(Plan {
        notifications: planned.out,
        digests,
        digested_into,
        response: response.to_string(),
    })
}
