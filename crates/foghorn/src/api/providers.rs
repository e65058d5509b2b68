//! `/v1/providers/{name}`: provider accounts a tenant brings. Settings are
//! validated by building the provider before they are stored (sealed), and
//! read back masked: a credential is never returned.

use super::auth::{Auth, Scope};
use super::extract::ApiPath;
use super::json::ApiJson;
use super::notifications::rfc3339;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use crate::engine::tenant_routing::{build_entry, entry_of};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use foghorn_store::TenantProviderRow;
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderAccount {
    pub name: String,
    pub kind: String,
    /// Settings with every credential masked (`••••` and its last 4 characters).
    #[schema(value_type = Object)]
    pub settings: Value,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderList {
    pub items: Vec<ProviderAccount>,
}

/// Setting names that hold credentials.
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "key",
        "token",
        "secret",
        "password",
        "auth",
        "sid",
        "credential",
    ]
    .iter()
    .any(|s| k.contains(s))
}

fn mask(v: &Value) -> Value {
    match v.as_str() {
        // Long enough that four characters tell accounts apart without
        // giving the secret away.
        Some(s) if s.chars().count() > 8 => Value::String(format!(
            "••••{}",
            s.chars().skip(s.chars().count() - 4).collect::<String>()
        )),
        _ => Value::String("••••".into()),
    }
}

fn masked(settings: &Map<String, Value>) -> Value {
    Value::Object(
        settings
            .iter()
            .map(|(k, v)| {
                // URLs can carry credentials (smtp://user:pass@…) or be secret
                // themselves (Slack and Discord webhook URLs).
                let secret = is_secret(k) || k.ends_with("url") && k != "base_url";
                (k.clone(), if secret { mask(v) } else { v.clone() })
            })
            .collect(),
    )
}

fn view(row: &TenantProviderRow) -> ProviderAccount {
    let settings: Map<String, Value> = serde_json::from_str(&row.config).unwrap_or_default();
    ProviderAccount {
        name: row.name.clone(),
        kind: row.kind.clone(),
        settings: masked(&settings),
        updated_at: rfc3339(row.updated_at),
    }
}

/// Anything that arrives through the API is taken literally: an `env:` or
/// `file:` reference would read the server's own environment or files.
pub(super) fn refuse_references(v: &Value, path: &str) -> ApiResult<()> {
    match crate::config::find_reference(v, path) {
        Some(field) => Err(ApiError::validation(
            field,
            "`env:` and `file:` references are for the operator's own configuration; give the value itself",
        )),
        None => Ok(()),
    }
}

/// A URL a tenant supplies: http(s), and not private unless tenants may
/// reach private targets.
pub(super) fn check_tenant_url(url: &str, field: &str, allow_private: bool) -> ApiResult<()> {
    use foghorn_providers::net_guard::{check_target, Family};
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| ApiError::validation(field, format!("not a URL: {e}")))?;
    check_target(&parsed, Family::Http, allow_private)
        .map_err(|e| ApiError::validation(field, e.to_string()))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Add or replace a provider account
///
/// The body is the provider's settings with its `kind`, e.g.
/// `{"kind": "twilio", "account_sid": "AC…", "auth_token": "…", "phone_number": "+1…"}`.
#[utoipa::path(put, path = "/v1/providers/{name}", tag = "providers", params(("name" = String, Path, pattern = "^[a-z0-9_-]{1,64}$")),
    request_body(content = Object, description = "`kind` and the provider's settings"),
    responses((status = 201, body = ProviderAccount), (status = 200, body = ProviderAccount),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn put(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<(StatusCode, Json<ProviderAccount>)> {
    auth.require(Scope::Admin)?;
    if !valid_name(&name) {
        return Err(ApiError::validation(
            "name",
            "1-64 characters of a-z, 0-9, '_' or '-'",
        ));
    }
    let mut settings = body;
    let kind = match settings.remove("kind") {
        Some(Value::String(k)) => k,
        _ => {
            return Err(ApiError::validation(
                "kind",
                "name the provider kind, e.g. twilio or mailgun",
            ))
        }
    };
    refuse_references(&Value::Object(settings.clone()), "settings")?;
    let now = foghorn_core::clock::now_ms();
    let row = TenantProviderRow {
        tenant_id: auth.tenant_id.clone(),
        name: name.clone(),
        kind,
        config: Value::Object(settings).to_string(),
        updated_at: now,
    };
    let entry = entry_of(&row).map_err(|e| ApiError::validation("settings", e.to_string()))?;
    build_entry(&name, &entry, &state.routes)
        .map_err(|e| ApiError::validation("settings", e.to_string()))?;
    let existed = state
        .store
        .tenant_providers(&auth.tenant_id)
        .await?
        .iter()
        .any(|p| p.name == name);
    state
        .store
        .put_tenant_provider(&row, &auth.audit("provider.put", &name))
        .await?;
    state.routes.invalidate(&auth.tenant_id);
    Ok((
        if existed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        Json(view(&row)),
    ))
}

/// This tenant's provider accounts (masked)
#[utoipa::path(get, path = "/v1/providers", tag = "providers", responses((status = 200, body = ProviderList)), security(("bearer" = ["read"])))]
pub async fn list(State(state): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<ProviderList>> {
    auth.require(Scope::Read)?;
    let rows = state.store.tenant_providers(&auth.tenant_id).await?;
    Ok(Json(ProviderList {
        items: rows.iter().map(view).collect(),
    }))
}

/// One provider account (masked)
#[utoipa::path(get, path = "/v1/providers/{name}", tag = "providers", params(("name" = String, Path)),
    responses((status = 200, body = ProviderAccount), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<ProviderAccount>> {
    auth.require(Scope::Read)?;
    let rows = state.store.tenant_providers(&auth.tenant_id).await?;
    let row = rows
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ApiError::not_found(format!("no provider `{name}`")))?;
    Ok(Json(view(row)))
}

/// Remove a provider account
#[utoipa::path(delete, path = "/v1/providers/{name}", tag = "providers", params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    auth.require(Scope::Admin)?;
    let now = foghorn_core::clock::now_ms();
    if !state
        .store
        .delete_tenant_provider(
            &auth.tenant_id,
            &name,
            &auth.audit("provider.delete", &name),
            now,
        )
        .await?
    {
        return Err(ApiError::not_found(format!("no provider `{name}`")));
    }
    state.routes.invalidate(&auth.tenant_id);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_masked_and_plain_settings_are_not() {
        let s: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "account_sid": "AC0123456789abcdef", "auth_token": "supersecrettoken", "phone_number": "+15555550100",
            "base_url": "https://api.twilio.com", "api_key": "k", "url": "https://hooks.slack.com/services/T/B/X"
        }))
        .unwrap();
        let m = masked(&s);
        assert_eq!(m["auth_token"], "••••oken");
        assert_eq!(m["account_sid"], "••••cdef");
        assert_eq!(m["api_key"], "••••");
        assert_eq!(m["url"], "••••/B/X");
        assert_eq!(m["phone_number"], "+15555550100");
        assert_eq!(m["base_url"], "https://api.twilio.com");
    }
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// `email`, `sms` or `whatsapp`: a channel the provider sends.
    pub channel: foghorn_core::Channel,
    /// An email address, or a phone number (E.164).
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    pub provider: String,
    pub channel: foghorn_core::Channel,
    /// True when the provider accepted the message.
    pub accepted: bool,
    pub provider_message_id: Option<String>,
    pub http_status: Option<u16>,
    /// The provider's refusal, when it refused.
    pub error: Option<String>,
}

/// Send a test message through one provider
///
/// Goes straight to that provider (no routing, retries or fallback), to
/// check its account and reach: the answer is the provider's. The send is
/// recorded in the audit log, not as a notification; the provider may
/// charge for it.
#[utoipa::path(post, path = "/v1/providers/{name}/test", tag = "providers", params(("name" = String, Path)),
    request_body = TestRequest,
    responses((status = 200, body = TestResult),
        (status = 404, body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn test(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<TestRequest>,
) -> ApiResult<Json<TestResult>> {
    Ok(Json(test_send(&state, &auth, &name, req).await?))
}

pub async fn test_send(
    state: &AppState,
    auth: &Auth,
    name: &str,
    req: TestRequest,
) -> ApiResult<TestResult> {
    use foghorn_core::{Address, Channel, Outbound, Rendered};
    auth.require(Scope::Admin)?;
    let routing = state.routes.for_tenant(&auth.tenant_id).await;
    let slot = routing
        .instances()
        .iter()
        .find(|s| s.provider.name() == name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no provider `{name}`")))?;
    if !slot.provider.supports(req.channel) {
        return Err(ApiError::validation(
            "channel",
            format!("`{name}` does not send {}", req.channel),
        ));
    }
    let to = req.to.trim();
    let address = match req.channel {
        Channel::Email => foghorn_core::mailbox::Mailbox::parse(to)
            .map(|_| Address::Email(to.to_string()))
            .map_err(|e| ApiError::validation("to", e.to_string()))?,
        Channel::Sms | Channel::Whatsapp => crate::engine::phone::normalize(to, None)
            .map(|p| Address::Phone(p.e164))
            .map_err(|e| ApiError::validation("to", e.to_string()))?,
        other => {
            return Err(ApiError::validation(
                "channel",
                format!("a test goes by email, sms or whatsapp, not {other}"),
            ))
        }
    };
    let own_account = state
        .store
        .tenant_providers(&auth.tenant_id)
        .await?
        .iter()
        .any(|p| p.name == name);
    let id = format!(
        "test_{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let text = format!("Foghorn test message through {name}: if you read this, the account works.");
    let msg = Outbound {
        notification_id: id.clone(),
        tenant_id: auth.tenant_id.clone(),
        event_id: id.clone(),
        event_name: "foghorn.test".into(),
        channel: req.channel,
        to: address,
        content: Rendered {
            subject: (req.channel == Channel::Email).then(|| "Foghorn test message".to_string()),
            text: Some(text),
            ..Rendered::default()
        },
        tags: vec!["foghorn.test".into()],
        headers: Vec::new(),
        from: None,
        tenant_target: own_account,
        thread: None,
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(30), slot.provider.send(&msg))
        .await
        .unwrap_or_else(|_| {
            Err(foghorn_core::ProviderError::retryable(
                "no answer within 30 s",
            ))
        });
    let result = TestResult {
        provider: name.to_string(),
        channel: req.channel,
        accepted: answer.is_ok(),
        provider_message_id: answer
            .as_ref()
            .ok()
            .and_then(|r| r.provider_message_id.clone()),
        http_status: match &answer {
            Ok(r) => r.http_status,
            Err(e) => e.http_status(),
        },
        error: answer.as_ref().err().map(|e| e.to_string()),
    };
    let audit = auth
        .audit("provider.test", name)
        .with_detail(serde_json::json!({
            "channel": req.channel,
            "accepted": result.accepted,
            "provider_message_id": result.provider_message_id,
            "http_status": result.http_status,
        }));
    state
        .store
        .audit(&auth.tenant_id, &audit, foghorn_core::clock::now_ms())
        .await?;
    Ok(result)
}
