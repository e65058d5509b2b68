//! `PUT/GET/DELETE /v1/subscribers/{external_id}`: the people notifications
//! go to, keyed by the application's own id.

use super::auth::{Auth, Scope};
use super::extract::ApiPath;
use super::json::ApiJson;
use super::notifications::rfc3339;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use foghorn_core::{Channel, Contact};
use foghorn_engine::fields;
use foghorn_engine::intake::{refuse_unknown, Unknown};
use foghorn_store::{ConsentRow, OptOutRow, SubscriberRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SubscriberInput {
    #[serde(flatten)]
    pub contact: Contact,
    /// Channels the subscriber is opted out of entirely. Left out, the
    /// subscriber's opt-outs stay as they are (the person's own choices
    /// among them); given, it replaces the whole-channel opt-outs, and each
    /// one added or lifted is recorded in the consent ledger and the audit
    /// log as this key's change.
    #[serde(default)]
    pub opt_out: Option<Vec<Channel>>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: Unknown,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Subscriber {
    pub id: String,
    #[serde(flatten)]
    pub contact: Contact,
    /// Channels the subscriber is opted out of entirely.
    pub opt_out: Vec<Channel>,
    /// Every opt-out with its scope and origin, including those of a single
    /// category (a one-click unsubscribe from one kind of email).
    pub opt_outs: Vec<OptOut>,
    #[schema(value_type = Object)]
    pub data: Value,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OptOut {
    pub channel: Channel,
    /// The one category opted out of; null for the whole channel.
    pub category: Option<String>,
    /// `one-click` or `page` (the person, through an unsubscribe link),
    /// `api` (an API key).
    pub source: String,
    pub created_at: String,
}

pub(crate) fn view(r: SubscriberRow, opt_outs: Vec<OptOutRow>) -> Subscriber {
    let data: Value = serde_json::from_str(&r.data).unwrap_or(Value::Null);
    let opt_outs: Vec<OptOut> = opt_outs
        .into_iter()
        .map(|o| OptOut {
            channel: o.channel,
            category: Some(o.category).filter(|c| !c.is_empty()),
            source: o.source,
            created_at: rfc3339(o.created_at),
        })
        .collect();
    Subscriber {
        contact: Contact {
            name: data.get("name").and_then(Value::as_str).map(String::from),
            ..r.contact
        },
        data: data
            .get("attributes")
            .cloned()
            .unwrap_or(Value::Object(Default::default())),
        opt_out: opt_outs
            .iter()
            .filter(|o| o.category.is_none())
            .map(|o| o.channel)
            .collect(),
        opt_outs,
        id: r.external_id,
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    }
}

fn valid_id(id: &str) -> ApiResult<()> {
    if id.is_empty() || id.len() > 255 {
        return Err(ApiError::validation(
            "external_id",
            "must be 1 to 255 bytes of UTF-8",
        ));
    }
    Ok(())
}

/// Create or replace a subscriber
#[utoipa::path(put, path = "/v1/subscribers/{external_id}", tag = "subscribers", request_body = SubscriberInput,
    params(("external_id" = String, Path, description = "The application's id for this person")),
    responses((status = 201, body = Subscriber), (status = 200, body = Subscriber),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["events:write"]), ("bearer" = ["admin"])))]
pub async fn put(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(external_id): ApiPath<String>,
    ApiJson(input): ApiJson<SubscriberInput>,
) -> ApiResult<(StatusCode, Json<Subscriber>)> {
    auth.require_any(Scope::EventsWrite, Scope::Admin)?;
    valid_id(&external_id)?;
    refuse_unknown("", &input.unknown)?;
    let mut contact = fields::contact("", input.contact)?;
    let name = contact.name.take();
    let attributes = match input.data {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(v @ Value::Object(_)) => v,
        Some(_) => return Err(ApiError::validation("data", "must be a JSON object")),
    };
    let now = foghorn_core::clock::now_ms();
    let opt_out: Option<Vec<Channel>> = input.opt_out.map(|mut l| {
        l.sort_unstable();
        l.dedup();
        l
    });
    let row = SubscriberRow {
        tenant_id: auth.tenant_id.clone(),
        external_id: external_id.clone(),
        contact,
        data: serde_json::json!({"name": name, "attributes": attributes}).to_string(),
        created_at: now,
        updated_at: now,
        email_hash: None,
        phone_hash: None,
        quiet_hours: None,
    };
    let created = state
        .store
        .put_subscriber_with(
            &row,
            opt_out.as_deref(),
            &auth.audit("subscriber.put", &external_id),
        )
        .await?;
    let stored = state
        .store
        .subscriber(&auth.tenant_id, &external_id)
        .await?
        .ok_or_else(|| ApiError::internal(&"subscriber vanished after write"))?;
    let opt_outs = state.store.opt_outs(&auth.tenant_id, &external_id).await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(view(stored, opt_outs)),
    ))
}

/// Read a subscriber
#[utoipa::path(get, path = "/v1/subscribers/{external_id}", tag = "subscribers",
    params(("external_id" = String, Path)),
    responses((status = 200, body = Subscriber), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(external_id): ApiPath<String>,
) -> ApiResult<Json<Subscriber>> {
    auth.require(Scope::Read)?;
    let row = state
        .store
        .subscriber(&auth.tenant_id, &external_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no subscriber `{external_id}`")))?;
    let opt_outs = state.store.opt_outs(&auth.tenant_id, &external_id).await?;
    Ok(Json(view(row, opt_outs)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Consents {
    pub items: Vec<Consent>,
}

/// One opt-out or opt-in (TCPA, GDPR): what, how, by whom, when.
#[derive(Debug, Serialize, ToSchema)]
pub struct Consent {
    pub id: String,
    pub channel: Channel,
    /// `opt_out` or `opt_in`.
    pub action: String,
    /// The one category concerned; null for the whole channel.
    pub category: Option<String>,
    /// `api`, `one-click`, `page`, `sms-keyword`, …
    pub source: String,
    /// The SMS keyword, when one was texted.
    pub keyword: Option<String>,
    /// `key:<id>`, `recipient:one-click`, …; null for provider reports.
    pub actor: Option<String>,
    /// The words the person agreed to, for an opt-in that showed some.
    pub consent_text: Option<String>,
    pub at: String,
}

pub(crate) fn consent_view(c: ConsentRow) -> Consent {
    Consent {
        id: c.id,
        channel: c.channel,
        action: c.action,
        category: c.category,
        source: c.source,
        keyword: c.keyword,
        actor: c.actor,
        consent_text: c.consent_text,
        at: rfc3339(c.at),
    }
}

/// A subscriber's consent ledger
///
/// Every opt-out and opt-in of the subscriber and of its current addresses
/// (an SMS STOP names the number), oldest first.
#[utoipa::path(get, path = "/v1/subscribers/{external_id}/consents", tag = "subscribers",
    params(("external_id" = String, Path)),
    responses((status = 200, body = Consents), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])))]
pub async fn consents(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(external_id): ApiPath<String>,
) -> ApiResult<Json<Consents>> {
    auth.require(Scope::Read)?;
    if state
        .store
        .subscriber(&auth.tenant_id, &external_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(format!(
            "no subscriber `{external_id}`"
        )));
    }
    let rows = state
        .store
        .subscriber_consents(&auth.tenant_id, &external_id)
        .await?;
    Ok(Json(Consents {
        items: rows.into_iter().map(consent_view).collect(),
    }))
}

/// Everything Foghorn holds about a subscriber
///
/// The profile, preferences, opt-ins, the consent ledger, suppressions of
/// the person's addresses, and every notification with its attempts,
/// provider reports, clicks and, where the sandbox kept it, the message as
/// rendered (GDPR art. 15, CCPA right to know).
#[utoipa::path(get, path = "/v1/subscribers/{external_id}/export", tag = "subscribers",
    params(("external_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn export(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(external_id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    auth.require(Scope::Admin)?;
    let policy = state.store.tenant_policy(&auth.tenant_id).await?;
    let data = state
        .store
        .personal_data(&auth.tenant_id, &external_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no subscriber `{external_id}`")))?;
    Ok(Json(crate::gdpr::export(&auth.tenant_id, data, &policy)))
}

/// Erase a subscriber
///
/// Removes the person's data everywhere Foghorn keeps it: the profile,
/// the recipients of past notifications, the messages the sandbox
/// captured, the addresses in the consent ledger and on the suppression
/// list. What remains is what the law needs: each opt-out becomes a
/// suppression of the address's keyed hash, so a later import is not
/// messaged, and the notifications keep their status and cost without a
/// recipient. Pending notifications are cancelled. An audit row records
/// the erasure.
#[utoipa::path(delete, path = "/v1/subscribers/{external_id}", tag = "subscribers",
    params(("external_id" = String, Path)),
    responses((status = 204), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["events:write"]), ("bearer" = ["admin"])))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(external_id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    auth.require_any(Scope::EventsWrite, Scope::Admin)?;
    let now = foghorn_core::clock::now_ms();
    let audit = auth.audit("subscriber.erase", &external_id);
    if state
        .store
        .delete_subscriber(&auth.tenant_id, &external_id, &audit, now)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "no subscriber `{external_id}`"
        )))
    }
}
