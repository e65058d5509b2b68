//! Turning one accepted event into its notifications: which steps apply, who
//! receives each, and which are suppressed before they reach the queue.

use crate::workflow::CompiledWorkflow;
use foghorn_core::{ids, Address, Channel, Status};
use foghorn_store::{EventDraft, NewNotification, Plan, SubscriberMap, SubscriberRow};
use serde_json::{json, Value};
use std::sync::Arc;

/// A recipient as the event named it.
#[derive(Debug, Clone)]
pub enum Recipient {
    /// A stored subscriber, by external id.
    Subscriber(String),
    /// An inline recipient (already validated): email, phone, locale, …
    Inline(Value),
}

/// Everything the planner needs beside the stored subscribers.
#[derive(Debug, Clone)]
pub struct EventPlan {
    pub workflow: Arc<CompiledWorkflow>,
    /// Indexes of the steps whose condition holds.
    pub steps: Vec<usize>,
    pub recipients: Vec<Recipient>,
    pub send_at: Option<i64>,
    /// When an unscheduled notification's job is due (now, or earlier for
    /// priority events).
    pub run_at: i64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("unknown subscriber `{id}`")]
    UnknownSubscriber { index: usize, id: String },
}

/// The address a channel uses, from a recipient's JSON facts.
pub fn address_for(channel: Channel, recipient: &Value) -> Option<Address> {
    let field = |k: &str| {
        recipient
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    match channel {
        Channel::Email => field("email").map(Address::Email),
        Channel::Sms | Channel::Voice => field("phone").map(Address::Phone),
        Channel::Whatsapp => field("whatsapp")
            .or_else(|| field("phone"))
            .map(Address::Phone),
        Channel::Webhook | Channel::Slack | Channel::Discord => None,
    }
}

fn subscriber_facts(s: &SubscriberRow) -> Value {
    let data: Value = serde_json::from_str(&s.data).unwrap_or(Value::Null);
    json!({
        "id": s.external_id,
        "email": s.email,
        "phone": s.phone,
        "whatsapp": s.whatsapp,
        "locale": s.locale,
        "timezone": s.timezone,
        "country": s.country,
        "name": data.get("name"),
        "data": data,
    })
}

fn opted_out(s: &SubscriberRow, channel: Channel) -> bool {
    serde_json::from_str::<Vec<String>>(&s.opt_out)
        .map(|v| v.iter().any(|c| c == channel.as_str() || c == "all"))
        .unwrap_or(false)
}

/// Builds the notifications and the stored answer for one event.
pub fn plan(
    draft: &EventDraft,
    p: &EventPlan,
    subscribers: &SubscriberMap,
) -> Result<Plan, PlanError> {
    let mut people: Vec<(Option<&SubscriberRow>, Value)> = Vec::with_capacity(p.recipients.len());
    for (index, r) in p.recipients.iter().enumerate() {
        match r {
            Recipient::Subscriber(id) => {
                let row = subscribers
                    .get(&(draft.tenant_id.clone(), id.clone()))
                    .ok_or_else(|| PlanError::UnknownSubscriber {
                        index,
                        id: id.clone(),
                    })?;
                people.push((Some(row), subscriber_facts(row)));
            }
            Recipient::Inline(v) => people.push((None, v.clone())),
        }
    }
    let (live_status, run_at) = match p.send_at {
        Some(t) => (Status::Scheduled, t),
        None => (Status::Queued, p.run_at),
    };
    let mut out = Vec::new();
    let mut answer = Vec::new();
    for &i in &p.steps {
        let step = &p.workflow.doc.steps[i];
        let mut push = |subscriber_id: Option<String>,
                        facts: Value,
                        status: Status,
                        reason: Option<String>| {
            let id = ids::notification_id();
            answer.push(json!({"id": id, "channel": step.channel, "status": status, "recipient": subscriber_id}));
            out.push(NewNotification {
                id,
                workflow: p.workflow.doc.name.clone(),
                step: i as i64,
                channel: step.channel.as_str().into(),
                subscriber_id,
                recipient: facts.to_string(),
                status: status.as_str().into(),
                status_reason: reason,
                send_at: p.send_at,
                run_at: (status == live_status).then_some(run_at),
            });
        };
        if step.is_team() {
            let url = step.url.clone().unwrap_or_default();
            push(
                None,
                json!({"address": Address::Url(url)}),
                live_status,
                None,
            );
            continue;
        }
        for (row, facts) in &people {
            let sid = row
                .map(|r| r.external_id.clone())
                .or_else(|| facts.get("id").and_then(Value::as_str).map(String::from));
            let mut facts = facts.clone();
            match address_for(step.channel, &facts) {
                None => push(
                    sid,
                    facts,
                    Status::Suppressed,
                    Some(format!("no {} address", step.channel)),
                ),
                Some(_) if row.is_some_and(|r| opted_out(r, step.channel)) => {
                    push(sid, facts, Status::Suppressed, Some("unsubscribed".into()))
                }
                Some(addr) => {
                    facts["address"] = json!(addr);
                    push(sid, facts, live_status, None)
                }
            }
        }
    }
    Ok(Plan {
        notifications: out,
        response: json!({"event_id": draft.event_id, "notifications": answer}).to_string(),
    })
}
