//! The export of a person's data as JSON, the same from the API
//! (`GET /v1/subscribers/{id}/export`) and the CLI (`foghorn subscribers
//! export`): every piece the store holds, opened, in the shapes the rest of
//! the API uses.

use crate::api::preferences::summary;
use crate::api::subscribers::{consent_view, view as subscriber_view};
use crate::views::{rfc3339, timeline_view, view as notification_view, ClickView};
use foghorn_core::policy::TenantPolicy;
use foghorn_core::{Recipient, TenantId};
use foghorn_store::{Choices, PersonalData};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The export document.
pub fn export(tenant: &TenantId, data: PersonalData, policy: &TenantPolicy) -> Value {
    let PersonalData {
        subscriber,
        opt_outs,
        opt_ins,
        consents,
        suppressions,
        notifications,
        attempts,
        timeline,
        sandbox,
        clicks,
    } = data;
    let choices = Choices {
        opt_outs: opt_outs.clone(),
        opt_ins: opt_ins.clone(),
        exists: true,
    };
    let preferences = summary(
        &choices,
        subscriber.quiet_hours.as_deref(),
        subscriber.contact.timezone.as_deref(),
        policy,
    );
    let opt_ins: Vec<Value> = opt_ins
        .into_iter()
        .map(|o| {
            json!({
                "channel": o.channel, "category": Some(o.category).filter(|c| !c.is_empty()),
                "source": o.source, "consent_text": o.consent_text, "created_at": rfc3339(o.created_at),
            })
        })
        .collect();
    let suppressions: Vec<Value> = suppressions
        .into_iter()
        .map(|s| {
            json!({
                "channel": s.channel, "address": s.address, "reason": s.reason,
                "source": s.source, "created_at": rfc3339(s.created_at),
            })
        })
        .collect();
    let mut attempts = by_notification(attempts, |a| &a.notification_id);
    let mut timeline = by_notification(timeline, |t| &t.notification_id);
    let mut sandbox = by_notification(sandbox, |m| &m.notification_id);
    let mut clicks = by_notification(clicks, |c| &c.0);
    let notifications: Vec<Value> = notifications
        .into_iter()
        .map(|n| {
            let id = n.id.clone();
            let delivered_to = Recipient::parse(&n.recipient)
                .address
                .map(|a| a.as_str().to_string());
            let mut v = notification_view(n, Some(attempts.remove(&id).unwrap_or_default()));
            v.timeline = Some(
                timeline
                    .remove(&id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(timeline_view)
                    .collect(),
            );
            v.clicks = Some(
                clicks
                    .remove(&id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(_, code, at)| ClickView {
                        time: rfc3339(at),
                        code,
                    })
                    .collect(),
            );
            let content: Vec<Value> = sandbox
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .map(|m| {
                    json!({
                        "channel": m.channel,
                        "recipient": m.recipient,
                        "content": serde_json::from_str::<Value>(&m.content).unwrap_or(Value::String(m.content)),
                        "captured_at": rfc3339(m.created_at),
                    })
                })
                .collect();
            let mut v = serde_json::to_value(v).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("delivered_to".into(), json!(delivered_to));
                o.insert("content".into(), Value::Array(content));
            }
            v
        })
        .collect();
    let profile = subscriber_view(subscriber, opt_outs);
    json!({
        "tenant": tenant.to_string(),
        "exported_at": rfc3339(foghorn_core::clock::now_ms()),
        "subscriber": profile,
        "preferences": preferences,
        "opt_ins": opt_ins,
        "consents": consents.into_iter().map(consent_view).collect::<Vec<_>>(),
        "suppressions": suppressions,
        "notifications": notifications,
    })
}

/// Rows grouped by the notification they belong to, in their order.
fn by_notification<T>(rows: Vec<T>, key: impl Fn(&T) -> &String) -> HashMap<String, Vec<T>> {
    let mut map: HashMap<String, Vec<T>> = HashMap::new();
    for r in rows {
        map.entry(key(&r).clone()).or_default().push(r);
    }
    map
}
