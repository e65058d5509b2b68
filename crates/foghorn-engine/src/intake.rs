//! The intake: one event from any edge (the HTTP API, `foghorn send`)
//! checked, matched to its workflow, planned and handed to the accept
//! writer. Everything that can be checked without the database is checked
//! here; what needs it (idempotency, subscribers) is decided by the writer
//! inside the transaction. A refused event writes nothing.

use crate::fields::{self, FieldError};
use crate::plan::{Addressee, EventPlan, PlanError};
use crate::workflow::Registry;
use crate::{AcceptError, Acceptor};
use foghorn_core::TenantId;
use foghorn_core::{ids, normalise_address, Channel, Contact};
use foghorn_store::{AcceptResult, EventDraft, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// An event from the application.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// The event name; a workflow of that name decides what it becomes.
    #[cfg_attr(feature = "openapi", schema(example = "document.uploaded"))]
    pub name: String,
    /// Repeats with the same key return the first answer (also accepted as
    /// the `Idempotency-Key` header). 1 to 255 bytes of UTF-8.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 255,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub idempotency_key: Option<String>,
    /// Groups notifications for cancellation (e.g. one warranty's
    /// reminders). 1 to 255 bytes of UTF-8.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 255,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    pub grouping_key: Option<String>,
    /// Subscriber ids, or inline recipients.
    #[serde(default)]
    pub to: Vec<RecipientInput>,
    /// Free-form data the templates use.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Option<Value>,
    /// RFC 3339 time to send at; absent or past means now.
    pub send_at: Option<chrono::DateTime<chrono::Utc>>,
    pub priority: Option<Priority>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Normal,
    High,
    /// Goes ahead of any backlog.
    Critical,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum RecipientInput {
    /// A subscriber's external id.
    Id(String),
    Inline(InlineRecipient),
}

/// A recipient given in full instead of by subscriber id.
#[derive(Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InlineRecipient {
    pub id: Option<String>,
    #[serde(flatten)]
    pub contact: Contact,
    /// Whatever else the object held, refused by [`recipients`] by name
    /// (serde cannot deny unknown fields beside a flattened one).
    #[serde(flatten, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub unknown: Unknown,
}

/// The fields of a request object that its type does not know.
pub type Unknown = std::collections::BTreeMap<String, Value>;

/// Refuses the first field `object` had that its type does not know.
pub fn refuse_unknown(object: &str, unknown: &Unknown) -> Result<(), FieldError> {
    match unknown.keys().next() {
        Some(k) => Err(FieldError::new(fields::under(object, k), "unknown field")),
        None => Ok(()),
    }
}

/// What the writer answered: the JSON body of the event's notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Written now.
    Created(String),
    /// A repeat of an earlier request under the same key: its first answer.
    Repeat(String),
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("no workflow answers the event `{0}`")]
    UnknownEvent(String),
    #[error("to[{index}]: no subscriber has the id `{id}`")]
    UnknownSubscriber { index: usize, id: String },
    /// Stripe's rule: a key names one request; another body under it is a
    /// client bug, not a repeat.
    #[error("the idempotency key was first used with a different request")]
    KeyReused,
    #[error("cannot read workflows: {0}")]
    Workflows(String),
    #[error("the server is shutting down")]
    Stopped,
    #[error(transparent)]
    Store(Arc<StoreError>),
}

const MAX_KEY_LEN: usize = 255;
const MAX_RECIPIENTS: usize = 1_000;

/// An idempotency or grouping key: 1 to 255 bytes of plain text.
pub fn check_key(field: &str, v: &Option<String>) -> Result<(), FieldError> {
    match v {
        Some(k) if k.is_empty() || k.len() > MAX_KEY_LEN => Err(FieldError::new(
            field,
            format!("must be 1 to {MAX_KEY_LEN} bytes of UTF-8"),
        )),
        Some(k) => fields::plain_text(field, k),
        None => Ok(()),
    }
}

/// Checks an event's `to` list (count, id lengths, inline addresses) and
/// turns it into recipients; needs neither the database nor a workflow.
pub fn recipients(to: Vec<RecipientInput>) -> Result<Vec<Addressee>, FieldError> {
    if to.len() > MAX_RECIPIENTS {
        return Err(FieldError::new(
            "to",
            format!("at most {MAX_RECIPIENTS} recipients per event"),
        ));
    }
    to.into_iter()
        .enumerate()
        .map(|(i, r)| match r {
            RecipientInput::Id(id) if id.is_empty() || id.len() > MAX_KEY_LEN => {
                Err(FieldError::new(
                    format!("to[{i}]"),
                    "a subscriber id is 1 to 255 bytes of UTF-8",
                ))
            }
            RecipientInput::Id(id) => {
                fields::plain_text(&format!("to[{i}]"), &id)?;
                Ok(Addressee::Subscriber(id))
            }
            RecipientInput::Inline(r) => inline(i, r),
        })
        .collect()
}

fn inline(i: usize, r: InlineRecipient) -> Result<Addressee, FieldError> {
    let at = format!("to[{i}]");
    refuse_unknown(&at, &r.unknown)?;
    if let Some(id) = &r.id {
        fields::plain_text(&fields::under(&at, "id"), id)?;
    }
    let contact = fields::contact(&at, r.contact)?;
    if contact.email.is_none() && contact.phone.is_none() && contact.whatsapp.is_none() {
        return Err(FieldError::new(
            at,
            "an inline recipient needs an email, phone or whatsapp",
        ));
    }
    let checked = InlineRecipient {
        id: r.id,
        contact,
        unknown: Unknown::new(),
    };
    Ok(Addressee::Inline(
        serde_json::to_value(&checked).unwrap_or(Value::Null),
    ))
}

/// Checks, plans and submits one event for `tenant_id`. `header_key` is the
/// edge's own idempotency key (the HTTP header), which must agree with the
/// body's when both are given.
pub async fn accept(
    workflows: &Registry,
    acceptor: &Acceptor,
    tenant_id: &TenantId,
    req: EventRequest,
    header_key: Option<String>,
) -> Result<Accepted, IntakeError> {
    let idempotency_key = match (header_key, req.idempotency_key) {
        (Some(h), Some(b)) if h != b => {
            return Err(FieldError::new(
                "idempotency_key",
                "differs from the Idempotency-Key header",
            )
            .into())
        }
        (h, b) => h.or(b),
    };
    check_key("idempotency_key", &idempotency_key)?;
    check_key("grouping_key", &req.grouping_key)?;
    // Foghorn's own workflows (keyword replies) answer no application event.
    let workflow = workflows
        .get_or_load(&acceptor.store, tenant_id, &req.name)
        .await
        .map_err(IntakeError::Workflows)?
        .filter(|_| !crate::workflow::is_system(&req.name))
        .ok_or_else(|| IntakeError::UnknownEvent(req.name.clone()))?;
    let workflow_critical = workflow.doc.critical;
    let data = match req.data {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v,
        Some(_) => return Err(FieldError::new("data", "must be a JSON object").into()),
    };
    let recipients = recipients(req.to)?;
    let doc = &workflow.doc;
    if req.grouping_key.is_none() && !doc.cancels.is_empty() {
        return Err(FieldError::new(
            "grouping_key",
            format!(
                "the `{}` workflow cancels by grouping key: give the key of what it cancels (a warranty's id)",
                req.name
            ),
        )
        .into());
    }
    // The series is the grouping key's: without one (nothing could move
    // or cancel it later) the event is a single reminder, sent now.
    let series_offsets = doc.series().filter(|_| req.grouping_key.is_some());
    let applying = |data: &Value, people: bool| -> Result<Vec<usize>, FieldError> {
        let ctx = json!({"data": data, "event": {"name": &req.name}});
        let mut steps = Vec::new();
        for (i, step) in doc.steps.iter().enumerate() {
            if step.is_team() == people {
                continue;
            }
            let applies = workflow.step_applies(i, &ctx).map_err(|e| {
                FieldError::new(
                    "data",
                    format!("workflow condition could not be evaluated: {e}"),
                )
            })?;
            if applies {
                steps.push(i);
            }
        }
        Ok(steps)
    };
    let now = foghorn_core::clock::now_ms();
    // A series plans its person steps per reminder, each judged with the
    // days left on its own day; the team hears of the event once, now.
    let (steps, series) = match series_offsets {
        None => {
            let mut all = applying(&data, false)?;
            all.extend(applying(&data, true)?);
            all.sort_unstable();
            (all, Vec::new())
        }
        Some(offsets) => {
            if req.send_at.is_some() {
                return Err(FieldError::new(
                    "send_at",
                    "a reminder series plans its own times; leave send_at out",
                )
                .into());
            }
            let anchor = doc
                .anchor
                .as_deref()
                .unwrap_or(crate::workflow::series::DEFAULT_ANCHOR);
            let date = crate::workflow::series::anchor_date(&data, anchor).ok_or_else(|| {
                FieldError::new(
                    format!("data.{anchor}"),
                    "the series' date is needed, as YYYY-MM-DD",
                )
            })?;
            let mut reminders = Vec::new();
            for offset in offsets {
                let Some(days) = crate::workflow::series::parse_offset(offset) else {
                    continue;
                };
                let mut day = data.clone();
                day["days_left"] = json!(-days);
                reminders.push(crate::workflow::series::Reminder {
                    offset: offset.clone(),
                    date: date + chrono::Duration::days(days),
                    days_left: -days,
                    steps: applying(&day, true)?,
                });
            }
            (applying(&data, false)?, reminders)
        }
    };
    let person_steps = steps
        .iter()
        .copied()
        .filter(|&i| !doc.steps[i].is_team())
        .chain(series.iter().flat_map(|r| r.steps.iter().copied()))
        .collect::<Vec<_>>();
    if recipients.is_empty() && !person_steps.is_empty() {
        return Err(FieldError::new(
            "to",
            format!(
                "the `{}` workflow notifies people; name at least one recipient",
                req.name
            ),
        )
        .into());
    }
    let send_at = req
        .send_at
        .map(|t| t.timestamp_millis())
        .filter(|t| *t > now);
    // Critical and high events are queued as if they had waited, so they
    // go ahead of a backlog (jobs are claimed oldest run_at first).
    let boost = match req.priority {
        Some(Priority::Critical) => 3_600_000,
        Some(Priority::High) => 60_000,
        _ => 0,
    };
    let fingerprint = idempotency_key.as_ref().map(|_| {
        fingerprint(&json!([
            &req.name,
            recipients
                .iter()
                .map(Addressee::as_json)
                .collect::<Vec<_>>(),
            &data,
            req.send_at.map(|t| t.timestamp_millis()),
            req.priority,
            &req.grouping_key,
        ]))
    });
    let mut draft = EventDraft {
        tenant_id: tenant_id.clone(),
        event_id: ids::event_id(),
        name: req.name,
        idempotency_key,
        grouping_key: req.grouping_key,
        data: data.to_string(),
        subscriber_ids: recipients
            .iter()
            .filter_map(|r| match r {
                Addressee::Subscriber(s) => Some(s.clone()),
                Addressee::Inline(_) => None,
            })
            .collect(),
        addresses: recipients.iter().flat_map(inline_addresses).collect(),
        created_at: now,
        fingerprint,
        catalog: None,
        needs: Default::default(),
    };
    // The fingerprints of each (step, recipient): the alert, to find an
    // identical one, and the digest it belongs to.
    // The data is read once (it may be large, and there may be a
    // thousand recipients); each pair hashes only its digest.
    let data_fp = doc.dedupe.as_ref().map(|_| self::fingerprint(&data));
    let mut alerts = std::collections::HashMap::new();
    let mut digest_scopes = std::collections::HashMap::new();
    for &i in steps.iter().filter(|&&i| !doc.steps[i].is_team()) {
        let digest_value = doc.steps[i]
            .digest
            .as_ref()
            .and_then(|d| d.value(&data))
            .map(|v| self::fingerprint(&Value::String(v)));
        if data_fp.is_none() && digest_value.is_none() {
            continue;
        }
        for (pi, r) in recipients.iter().enumerate() {
            let who = r.as_json();
            if let Some(fp) = &data_fp {
                alerts.insert(
                    (i, pi),
                    self::fingerprint(&json!(["alert", &doc.name, i, &who, fp])),
                );
            }
            if let Some(value) = &digest_value {
                digest_scopes.insert(
                    (i, pi),
                    self::fingerprint(&json!(["digest", &doc.name, i, &who, value])),
                );
            }
        }
    }
    draft.needs = foghorn_store::planning_facts::Needs {
        cancels: doc
            .cancels
            .iter()
            .map(|w| (w.clone(), false))
            .chain(series_offsets.map(|_| (doc.name.clone(), true)))
            .collect(),
        series: series_offsets.map(|_| doc.name.clone()),
        throttles: doc
            .throttle
            .iter()
            .map(|t| {
                (
                    doc.category.clone().unwrap_or_else(|| doc.name.clone()),
                    t.window_ms(),
                    t.per == crate::workflow::noise::Per::Subscriber,
                )
            })
            .collect(),
        dedupe: doc
            .dedupe
            .as_deref()
            .and_then(|w| crate::config::parse_duration(w).ok())
            .map(|w| (w.as_millis() as i64, alerts.values().cloned().collect())),
        digests: digest_scopes.values().cloned().collect(),
    };
    // Parsed here, in the request's task, rather than by the one writer.
    draft.catalog = crate::team::catalog_entry(&draft).map(|doc| {
        acceptor
            .store
            .catalog_row(&draft.tenant_id, &draft.event_id, &doc)
    });
    let series_at = doc
        .at
        .as_deref()
        .unwrap_or(crate::workflow::series::DEFAULT_AT);
    let series_at = crate::workflow::series::parse_at(series_at).unwrap_or(600);
    let plan = EventPlan {
        workflow,
        steps,
        recipients,
        send_at,
        run_at: now - boost,
        critical: workflow_critical || req.priority == Some(Priority::Critical),
        series,
        series_at,
        alerts,
        digest_scopes,
    };
    match acceptor.submit(draft, plan).await {
        Ok(AcceptResult::Created(body)) => Ok(Accepted::Created(body)),
        Ok(AcceptResult::Duplicate(body)) => Ok(Accepted::Repeat(body)),
        Ok(AcceptResult::KeyReused) => Err(IntakeError::KeyReused),
        Ok(AcceptResult::Rejected(PlanError::UnknownSubscriber { index, id })) => {
            Err(IntakeError::UnknownSubscriber { index, id })
        }
        Err(AcceptError::Stopped) => Err(IntakeError::Stopped),
        Err(AcceptError::Store(e)) => Err(IntakeError::Store(e)),
    }
}

/// SHA-256 (hex) of a request's canonical JSON: object keys sorted at every
/// depth, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request.
/// Recipients enter validated (phones in E.164), so two spellings of one
/// number are one request too.
fn fingerprint(request: &Value) -> String {
    let text = foghorn_core::canonical::to_string(request);
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// An inline recipient's addresses, normalised, for the suppression look-up.
fn inline_addresses(r: &Addressee) -> Vec<String> {
    let Addressee::Inline(v) = r else {
        return Vec::new();
    };
    [
        ("email", Channel::Email),
        ("phone", Channel::Sms),
        ("whatsapp", Channel::Whatsapp),
    ]
    .into_iter()
    .filter_map(|(k, channel)| {
        v.get(k)
            .and_then(Value::as_str)
            .map(|a| normalise_address(channel, a))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_ignores_key_order_only() {
        let a = fingerprint(&json!(["x", ["s1"], {"a": 1, "b": {"c": 2, "d": 3}}]));
        let b = fingerprint(&json!(["x", ["s1"], {"b": {"d": 3, "c": 2}, "a": 1}]));
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(
            a,
            fingerprint(&json!(["x", ["s1"], {"a": 1, "b": {"c": 2, "d": 4}}]))
        );
        assert_ne!(
            a,
            fingerprint(&json!(["x", ["s2"], {"a": 1, "b": {"c": 2, "d": 3}}]))
        );
    }

    #[test]
    fn keys_and_recipients_are_checked_before_any_database() {
        assert!(check_key("grouping_key", &Some("k".into())).is_ok());
        let e = check_key("grouping_key", &Some(String::new())).unwrap_err();
        assert_eq!(e.field, "grouping_key");
        let e = recipients(vec![RecipientInput::Id("x".repeat(256))]).unwrap_err();
        assert_eq!(e.field, "to[0]");
        let inline: InlineRecipient =
            serde_json::from_value(json!({"phone": "(202) 555-0142", "country": "us"})).unwrap();
        let r = recipients(vec![RecipientInput::Inline(inline)]).unwrap();
        let Addressee::Inline(v) = &r[0] else {
            panic!("an inline recipient stays inline");
        };
        assert_eq!(
            (v["phone"].as_str(), v["country"].as_str()),
            (Some("+12025550142"), Some("US"))
        );
        let odd: InlineRecipient =
            serde_json::from_value(json!({"email": "a@example.com", "emial": "b"})).unwrap();
        let e = recipients(vec![RecipientInput::Inline(odd)]).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("to[0].emial", "unknown field")
        );
    }
}
