//! `POST /v1/events` and `POST /v1/cancellations`.
//!
//! Everything that can be checked without the database is checked here;
//! what needs it (idempotency, subscribers) is decided by the writer inside
//! the transaction. A rejected event writes nothing.

use super::auth::{Auth, Scope};
use super::json::ApiJson;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use crate::engine::plan::{EventPlan, PlanError, Recipient};
use crate::engine::{AcceptError, Acceptor};
use crate::workflow::Registry;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use foghorn_core::{ids, normalise_address, Channel};
use foghorn_store::{AcceptResult, EventDraft};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use utoipa::ToSchema;

/// An event from the application.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// The event name; a workflow of that name decides what it becomes.
    #[schema(example = "document.uploaded")]
    pub name: String,
    /// Repeats with the same key return the first answer (also accepted as
    /// the `Idempotency-Key` header). 1 to 255 bytes of UTF-8.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub idempotency_key: Option<String>,
    /// Groups notifications for cancellation (e.g. one warranty's
    /// reminders). 1 to 255 bytes of UTF-8.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub grouping_key: Option<String>,
    /// Subscriber ids, or inline recipients.
    #[serde(default)]
    pub to: Vec<RecipientInput>,
    /// Free-form data the templates use.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Option<Value>,
    /// RFC 3339 time to send at; absent or past means now.
    pub send_at: Option<chrono::DateTime<chrono::Utc>>,
    pub priority: Option<Priority>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Normal,
    High,
    /// Goes ahead of any backlog.
    Critical,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RecipientInput {
    /// A subscriber's external id.
    Id(String),
    Inline(InlineRecipient),
}

/// A recipient given in full instead of by subscriber id.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineRecipient {
    pub id: Option<String>,
    pub email: Option<String>,
    /// E.164, e.g. `+12025550142`; a national number needs `country`.
    /// Stored normalised to E.164.
    pub phone: Option<String>,
    pub whatsapp: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    /// ISO 3166-1 alpha-2; reads national phone numbers.
    pub country: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventAccepted {
    pub event_id: String,
    pub notifications: Vec<NotificationSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationSummary {
    pub id: String,
    pub channel: foghorn_core::Channel,
    pub status: foghorn_core::Status,
    /// The subscriber id, when the notification is for a person.
    pub recipient: Option<String>,
}

const MAX_KEY_LEN: usize = 255;
const MAX_RECIPIENTS: usize = 1_000;

pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && s.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
}

/// A phone field normalised to E.164, or the 422 naming it. `country`
/// reads a national number.
pub fn phone_field(
    field: &str,
    value: Option<String>,
    country: Option<&str>,
) -> ApiResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) => crate::phone::normalize(&v, country)
            .map(|p| Some(p.e164))
            .map_err(|e| {
                ApiError::validation(
                    field,
                    format!("{e}; expected a number such as +12025550142"),
                )
            }),
    }
}

fn check_key(field: &str, v: &Option<String>) -> ApiResult<()> {
    match v {
        Some(k) if k.is_empty() || k.len() > MAX_KEY_LEN => Err(ApiError::validation(
            field,
            format!("must be 1 to {MAX_KEY_LEN} bytes of UTF-8"),
        )),
        Some(k) => super::extract::plain_text(field, k),
        None => Ok(()),
    }
}

/// Checks an event's `to` list (count, id lengths, inline addresses) and
/// turns it into recipients; needs neither the database nor a workflow.
pub fn recipients(to: Vec<RecipientInput>) -> ApiResult<Vec<Recipient>> {
    if to.len() > MAX_RECIPIENTS {
        return Err(ApiError::validation(
            "to",
            format!("at most {MAX_RECIPIENTS} recipients per event"),
        ));
    }
    to.into_iter()
        .enumerate()
        .map(|(i, r)| match r {
            RecipientInput::Id(id) if id.is_empty() || id.len() > MAX_KEY_LEN => {
                Err(ApiError::validation(
                    format!("to[{i}]"),
                    "a subscriber id is 1 to 255 bytes of UTF-8",
                ))
            }
            RecipientInput::Id(id) => {
                super::extract::plain_text(&format!("to[{i}]"), &id)?;
                Ok(Recipient::Subscriber(id))
            }
            RecipientInput::Inline(mut r) => {
                if let Some(id) = &r.id {
                    super::extract::plain_text(&format!("to[{i}].id"), id)?;
                }
                if let Some(l) = &r.locale {
                    super::subscribers::locale(&format!("to[{i}].locale"), l)?;
                }
                if let Some(tz) = &r.timezone {
                    super::subscribers::time_zone(&format!("to[{i}].timezone"), tz)?;
                }
                if r.email.as_deref().is_some_and(|e| !valid_email(e)) {
                    return Err(ApiError::validation(
                        format!("to[{i}].email"),
                        "not a valid email address",
                    ));
                }
                if let Some(c) = &r.country {
                    r.country = Some(super::subscribers::country_code(
                        &format!("to[{i}].country"),
                        c,
                    )?);
                }
                let country = r.country.clone();
                r.phone = phone_field(&format!("to[{i}].phone"), r.phone, country.as_deref())?;
                r.whatsapp =
                    phone_field(&format!("to[{i}].whatsapp"), r.whatsapp, country.as_deref())?;
                if r.email.is_none() && r.phone.is_none() && r.whatsapp.is_none() {
                    return Err(ApiError::validation(
                        format!("to[{i}]"),
                        "an inline recipient needs an email, phone or whatsapp",
                    ));
                }
                Ok(Recipient::Inline(
                    serde_json::to_value(&r).unwrap_or(Value::Null),
                ))
            }
        })
        .collect()
}

/// Accept an event
///
/// Writes the event, its notifications and their jobs in one transaction
/// before answering. A repeat with the same idempotency key answers 200 with
/// the first response and writes nothing; the same key with another request
/// (name, to, data, send_at, priority or grouping_key) answers 409.
#[utoipa::path(post, path = "/v1/events", tag = "events",
    request_body = EventRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Alternative to the body's idempotency_key")),
    responses(
        (status = 202, description = "Accepted and durably queued", body = EventAccepted),
        (status = 200, description = "A repeat: the first answer", body = EventAccepted),
        (status = 409, description = "The idempotency key was first used with another request", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or bad key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown event, unknown subscriber or invalid field", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["events:write"])))]
pub async fn post_event(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(req): ApiJson<EventRequest>,
) -> ApiResult<Response> {
    auth.require(Scope::EventsWrite)?;
    let acceptor = state
        .acceptor
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("this node does not accept events"))?;
    let header_key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::validation("Idempotency-Key", "must be text"))?
                .to_string(),
        ),
        None => None,
    };
    let (status, body) =
        accept_event(&state.workflows, acceptor, &auth.tenant_id, req, header_key).await?;
    Ok((
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// Validates and submits one event; the API and `foghorn send` share it.
/// Returns 202 or, for a repeat, 200, with the JSON answer.
pub async fn accept_event(
    workflows: &Registry,
    acceptor: &Acceptor,
    tenant_id: &str,
    req: EventRequest,
    header_key: Option<String>,
) -> ApiResult<(StatusCode, String)> {
    let idempotency_key = match (header_key, req.idempotency_key) {
        (Some(h), Some(b)) if h != b => {
            return Err(ApiError::validation(
                "idempotency_key",
                "differs from the Idempotency-Key header",
            ))
        }
        (h, b) => h.or(b),
    };
    check_key("idempotency_key", &idempotency_key)?;
    check_key("grouping_key", &req.grouping_key)?;
    // Foghorn's own workflows (keyword replies) answer no application event.
    let workflow = workflows
        .get_or_load(&acceptor.store, tenant_id, &req.name)
        .await
        .map_err(|e| ApiError::unavailable(format!("cannot read workflows: {e}")))?
        .filter(|_| !crate::workflow::is_system(&req.name))
        .ok_or_else(|| ApiError::unknown_event(&req.name))?;
    let workflow_critical = workflow.doc.critical;
    let data = match req.data {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v,
        Some(_) => return Err(ApiError::validation("data", "must be a JSON object")),
    };
    let recipients = recipients(req.to)?;
    let ctx = json!({"data": &data, "event": {"name": &req.name}});
    let mut steps = Vec::new();
    for i in 0..workflow.doc.steps.len() {
        let applies = workflow.step_applies(i, &ctx).map_err(|e| {
            ApiError::validation(
                "data",
                format!("workflow condition could not be evaluated: {e}"),
            )
        })?;
        if applies {
            steps.push(i);
        }
    }
    if recipients.is_empty() && steps.iter().any(|&i| !workflow.doc.steps[i].is_team()) {
        return Err(ApiError::validation(
            "to",
            format!(
                "the `{}` workflow notifies people; name at least one recipient",
                req.name
            ),
        ));
    }
    let now = chrono::Utc::now().timestamp_millis();
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
                .map(Recipient::as_json)
                .collect::<Vec<_>>(),
            &data,
            req.send_at.map(|t| t.timestamp_millis()),
            req.priority,
            &req.grouping_key,
        ]))
    });
    let draft = EventDraft {
        tenant_id: tenant_id.to_string(),
        event_id: ids::event_id(),
        name: req.name,
        idempotency_key,
        grouping_key: req.grouping_key,
        data: data.to_string(),
        subscriber_ids: recipients
            .iter()
            .filter_map(|r| match r {
                Recipient::Subscriber(s) => Some(s.clone()),
                Recipient::Inline(_) => None,
            })
            .collect(),
        addresses: recipients.iter().flat_map(inline_addresses).collect(),
        created_at: now,
        fingerprint,
    };
    let plan = EventPlan {
        workflow,
        steps,
        recipients,
        send_at,
        run_at: now - boost,
        critical: workflow_critical || req.priority == Some(Priority::Critical),
    };
    match acceptor.submit(draft, plan).await {
        Ok(AcceptResult::Created(body)) => Ok((StatusCode::ACCEPTED, body)),
        Ok(AcceptResult::Duplicate(body)) => Ok((StatusCode::OK, body)),
        Ok(AcceptResult::KeyReused) => Err(ApiError::idempotency_key_reused()),
        Ok(AcceptResult::Rejected(PlanError::UnknownSubscriber { index, id })) => {
            Err(ApiError::unknown_subscriber(index, &id))
        }
        Err(AcceptError::Stopped) => Err(ApiError::unavailable("the server is shutting down")),
        Err(AcceptError::Store(e)) => Err(ApiError::internal(&e)),
    }
}

/// SHA-256 (hex) of a request's canonical JSON: object keys sorted at every
/// depth, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request.
/// Recipients enter validated (phones in E.164), so two spellings of one
/// number are one request too.
fn fingerprint(request: &Value) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort_unstable();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    canonical(&m[k], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(x, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    canonical(request, &mut text);
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// An inline recipient's addresses, normalised, for the suppression look-up.
fn inline_addresses(r: &Recipient) -> Vec<String> {
    let Recipient::Inline(v) = r else {
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Cancels the pending notifications of the event with this key.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub idempotency_key: Option<String>,
    /// Cancels every pending notification with this grouping key.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub grouping_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cancelled {
    pub cancelled: Vec<String>,
}

/// Cancel pending notifications
///
/// Only notifications still waiting (queued or scheduled) are cancelled;
/// one already with a provider is not recalled.
#[utoipa::path(post, path = "/v1/cancellations", tag = "events", request_body = CancelRequest,
    responses((status = 200, body = Cancelled), (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["events:write"])))]
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(req): ApiJson<CancelRequest>,
) -> ApiResult<axum::Json<Cancelled>> {
    auth.require(Scope::EventsWrite)?;
    if req.idempotency_key.is_none() && req.grouping_key.is_none() {
        return Err(ApiError::validation(
            "idempotency_key",
            "give idempotency_key or grouping_key",
        ));
    }
    check_key("idempotency_key", &req.idempotency_key)?;
    check_key("grouping_key", &req.grouping_key)?;
    let now = chrono::Utc::now().timestamp_millis();
    let ids = state
        .store
        .cancel(
            &auth.tenant_id,
            req.idempotency_key.as_deref(),
            req.grouping_key.as_deref(),
            now,
            &auth.audit(
                "notifications.cancel",
                req.idempotency_key
                    .as_deref()
                    .or(req.grouping_key.as_deref())
                    .unwrap_or_default(),
            ),
        )
        .await?;
    Ok(axum::Json(Cancelled { cancelled: ids }))
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
    fn addresses_are_checked() {
        assert!(valid_email("owner@example.com"));
        assert!(!valid_email("owner@example"));
        assert!(!valid_email("a b@example.com"));
        assert!(!valid_email("@example.com"));
        assert_eq!(
            phone_field("phone", Some("+1 202 555 0142".into()), None).unwrap(),
            Some("+12025550142".into())
        );
        let e = phone_field("to[0].phone", Some("+15555550142".into()), None).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("to[0].phone"));
        assert_eq!(e.status.as_u16(), 422);
    }
}
