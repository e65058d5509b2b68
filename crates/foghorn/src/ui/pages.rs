//! The dashboard's pages. Each one asks the API's own handler for its data
//! (the same call, the same tenant scoping and the same refusals as
//! `/v1/…`), then renders what it returned: the page and the API cannot
//! disagree, and there is no second query layer to keep in step.

use super::page::{self, failure, render, Html};
use super::session::{self, Session, COOKIE, LOGIN_COOKIE};
use crate::api::auth::Scope;
use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::json::ApiJson;
use crate::api::problem::ApiError;
use crate::api::{
    audit, notifications, overview, preferences, preview, providers, reports, sandbox, subscribers,
    workflows, AppState,
};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use minijinja::{context, Value};
use serde::de::DeserializeOwned;
use std::sync::Arc;

type Shared = State<Arc<AppState>>;

/// What every page's frame needs: who is signed in, which page this is,
/// and the form token.
fn frame(s: &Session, here: &str) -> Value {
    context! {
        tenant => s.auth.tenant_id.to_string(),
        admin => s.admin(),
        operator => s.operator(),
        csrf => s.csrf.clone(),
        here,
    }
}

fn refused(e: ApiError) -> Html {
    failure(e.status, &e.detail)
}

/// A query string into the API's own parameter type; a form's empty
/// fields ("any status") are left out rather than refused.
fn query<T: DeserializeOwned>(raw: &Option<String>) -> Result<T, Html> {
    let pairs: Vec<(String, String)> = form_pairs(raw.as_deref().unwrap_or("").as_bytes())
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let text = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    serde_urlencoded::from_str(&text).map_err(|e| {
        failure(
            StatusCode::BAD_REQUEST,
            &format!("This filter is not valid: {e}."),
        )
    })
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `GET /ui/login`: the sign-in form, with its double-submit token.
pub async fn login_page(State(state): Shared) -> Response {
    let token = session::random_token();
    let mut res = render(
        "login.html",
        context! { login_csrf => token.clone(), title => "Sign in" },
    )
    .into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(&state, LOGIN_COOKIE, &token, "/ui/login", 1800),
    );
    res
}

/// `POST /ui/login`: an API key for a session.
pub async fn login(State(state): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let pairs = form_pairs(&body);
    let sent = field(&pairs, "csrf").unwrap_or("");
    let expected = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !session::same_token(sent, &expected) {
        return failure(
            StatusCode::FORBIDDEN,
            "The sign-in form has expired. Open the sign-in page again.",
        )
        .into_response();
    }
    let key = field(&pairs, "key").unwrap_or("").trim();
    let again = |message: &str| {
        let token = session::random_token();
        let mut res = render(
            "login.html",
            context! { login_csrf => token.clone(), title => "Sign in", error => message },
        );
        res.0 = StatusCode::UNAUTHORIZED;
        let mut res = res.into_response();
        res.headers_mut().insert(
            header::SET_COOKIE,
            session::set_cookie(&state, LOGIN_COOKIE, &token, "/ui/login", 1800),
        );
        res
    };
    let auth = match state.keys.authenticate(&state.store, key).await {
        Ok(a) => a,
        Err(_) => return again("That API key is not valid."),
    };
    if !(auth.has(Scope::Read) || auth.has(Scope::Operator)) {
        return again("This key may only send events; sign in with a read, admin or operator key.");
    }
    let cookie = match session::begin(&state, &auth).await {
        Ok(c) => c,
        Err(page) => return page.into_response(),
    };
    let now = foghorn_core::clock::now_ms();
    if let Err(e) = state
        .store
        .audit(
            &auth.tenant_id,
            &auth.audit("ui.sign_in", &auth.key_id),
            now,
        )
        .await
    {
        tracing::warn!(error = %e, "could not audit a dashboard sign-in");
    }
    signed_in(cookie)
}

fn signed_in(cookie: HeaderValue) -> Response {
    let mut res = Redirect::to("/ui/").into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    res
}

/// `GET /ui/signin/{token}`: `foghorn demo`'s link, good once.
pub async fn signin_link(State(state): Shared, ApiPath(token): ApiPath<String>) -> Response {
    let hash = session::hash(&token);
    let now = foghorn_core::clock::now_ms();
    let row = match state.store.ui_session(&hash, now).await {
        Ok(Some(r)) if r.csrf == "link" => r,
        _ => {
            return failure(
                StatusCode::NOT_FOUND,
                "This sign-in link has been used or has expired.",
            )
            .into_response()
        }
    };
    if state.store.delete_ui_session(&hash).await.is_err() {
        return failure(StatusCode::SERVICE_UNAVAILABLE, "Try the link again.").into_response();
    }
    let auth = crate::api::auth::Auth::of_session(row.tenant_id, row.key_id, &row.scopes);
    match session::begin(&state, &auth).await {
        Ok(cookie) => signed_in(cookie),
        Err(page) => page.into_response(),
    }
}

/// `POST /ui/logout`.
pub async fn logout(State(state): Shared, s: Session, headers: HeaderMap, body: Bytes) -> Response {
    let pairs = form_pairs(&body);
    if let Err(p) = s.check_form(field(&pairs, "csrf")) {
        return p.into_response();
    }
    if let Some(secret) = session::cookie(&headers, COOKIE) {
        let _ = state.store.delete_ui_session(&session::hash(&secret)).await;
    }
    let mut res = Redirect::to("/ui/login").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(&state, COOKIE, "", "/ui", 0),
    );
    res
}

/// `GET /ui/`: the overview, or for an operator key the tenants.
pub async fn overview(State(state): Shared, s: Session, RawQuery(raw): RawQuery) -> Html {
    if s.operator() && !s.admin() {
        return match state.store.tenants().await {
            Ok(tenants) => {
                let rows: Vec<Value> = tenants
                    .iter()
                    .map(|t| context! { id => t.id.to_string(), name => t.name.clone() })
                    .collect();
                render(
                    "tenants.html",
                    context! { frame => frame(&s, "overview"), title => "Tenants", tenants => rows },
                )
            }
            Err(e) => refused(e.into()),
        };
    }
    let q: overview::OverviewQuery = match query(&raw) {
        Ok(q) => q,
        Err(p) => return p,
    };
    let window = q.window.unwrap_or_else(|| "day".into());
    match overview::overview_of(&state, &s.auth, &window).await {
        Ok(o) => {
            let windows: Vec<&str> = overview::WINDOWS.iter().map(|(n, _)| *n).collect();
            let bars: Vec<Value> = o.groups.iter().map(bar).collect();
            render(
                "overview.html",
                context! { frame => frame(&s, "overview"), title => "Overview",
                o => Value::from_serialize(&o), windows, bars },
            )
        }
        Err(e) => refused(e),
    }
}

/// One row of the overview's table, with its stacked bar: each status's
/// share of the group as an offset and a width out of 100.
fn bar(g: &overview::Group) -> Value {
    let c = &g.counts;
    let parts = [
        ("delivered or sent", c.delivered + c.sent, "#1a7f37"),
        ("failed", c.failed, "#b42318"),
        ("dead", c.dead, "#5b2a86"),
        ("suppressed", c.suppressed, "#9a6700"),
        ("pending or cancelled", c.pending + c.cancelled, "#8c959f"),
    ];
    let total = c.total.max(1) as f64;
    let mut x = 0.0;
    let mut segments = Vec::new();
    for (name, count, color) in parts {
        if count == 0 {
            continue;
        }
        let w = count as f64 * 100.0 / total;
        segments
            .push(context! { name, count, color, x => format!("{x:.2}"), w => format!("{w:.2}") });
        x += w;
    }
    let label = parts
        .iter()
        .map(|(name, count, _)| format!("{count} {name}"))
        .collect::<Vec<_>>()
        .join(", ");
    context! {
        channel => g.channel.clone(), provider => g.provider.clone(), total => c.total, sent => c.sent,
        delivered => c.delivered, failed => c.failed, suppressed => c.suppressed, dead => c.dead,
        rate => g.delivery_rate, segments, label,
    }
}

/// `GET /ui/notifications`: the filterable list.
pub async fn notifications(State(state): Shared, s: Session, RawQuery(raw): RawQuery) -> Html {
    let q: notifications::ListQuery = match query(&raw) {
        Ok(q) => q,
        Err(p) => return p,
    };
    let filters = context! {
        event_id => q.event_id.clone(), status => q.status.clone(), channel => q.channel.clone(),
        subscriber => q.subscriber.clone(), since => q.since.clone(),
    };
    match notifications::list(State(state), s.auth.clone(), ApiQuery(q)).await {
        Ok(Json(p)) => {
            let statuses: Vec<String> = foghorn_core::Status::ALL
                .iter()
                .map(|s| s.as_str().to_string())
                .collect();
            let channels: Vec<String> = foghorn_core::Channel::ALL
                .iter()
                .map(|c| c.to_string())
                .collect();
            let next = p.next_cursor.as_ref().map(|c| next_link(&raw, c));
            render(
                "notifications.html",
                context! { frame => frame(&s, "notifications"), title => "Notifications",
                page => Value::from_serialize(&p), filters, statuses, channels, next },
            )
        }
        Err(e) => refused(e),
    }
}

/// The same query with the next page's cursor.
fn next_link(raw: &Option<String>, cursor: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_pairs(raw.as_deref().unwrap_or("").as_bytes())
        .into_iter()
        .filter(|(k, v)| k != "cursor" && !v.is_empty())
        .collect();
    pairs.push(("cursor".into(), cursor.into()));
    format!(
        "?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// `GET /ui/notifications/{id}`: the timeline, the message as captured,
/// the cost.
pub async fn notification(State(state): Shared, s: Session, ApiPath(id): ApiPath<String>) -> Html {
    let n =
        match notifications::get(State(state.clone()), s.auth.clone(), ApiPath(id.clone())).await {
            Ok(Json(n)) => n,
            Err(e) => return refused(e),
        };
    let captured = match state.store.sandbox_message_of(&s.auth.tenant_id, &id).await {
        Ok(m) => m.map(|m| Value::from_serialize(sandbox::view(m))),
        Err(e) => return refused(e.into()),
    };
    render(
        "notification.html",
        context! { frame => frame(&s, "notifications"), title => format!("Notification {id}"),
        n => Value::from_serialize(&n), captured },
    )
}

/// `GET /ui/events/{id}/proof`: the event's proof of notice as the API
/// renders it, printable by default (`?format=pdf` or `json` to download).
/// Like every API read it is signed and anchored anew.
pub async fn proof(
    State(state): Shared,
    s: Session,
    path: ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let mut q: crate::api::proof::ProofQuery = match query(&raw) {
        Ok(q) => q,
        Err(page) => return page.into_response(),
    };
    q.format = q.format.or(Some(crate::api::proof::Format::Html));
    match crate::api::proof::get(State(state), s.auth.clone(), path, ApiQuery(q)).await {
        Ok(r) => r,
        Err(e) => refused(e).into_response(),
    }
}

/// A list page: the query read as the API reads it, the API's page, and
/// the link to the next one.
async fn list_page<Q, P, Fut>(
    s: &Session,
    raw: &Option<String>,
    (template, here, title): (&str, &str, &str),
    call: impl FnOnce(Q) -> Fut,
    cursor: fn(&P) -> Option<&String>,
) -> Html
where
    Q: DeserializeOwned,
    P: serde::Serialize,
    Fut: std::future::Future<Output = Result<P, ApiError>>,
{
    let q: Q = match query(raw) {
        Ok(q) => q,
        Err(p) => return p,
    };
    match call(q).await {
        Ok(p) => {
            let next = cursor(&p).map(|c| next_link(raw, c));
            render(
                template,
                context! { frame => frame(s, here), title, page => Value::from_serialize(&p), next },
            )
        }
        Err(e) => refused(e),
    }
}

/// `GET /ui/dlq`.
pub async fn dlq(State(state): Shared, s: Session, RawQuery(raw): RawQuery) -> Html {
    let auth = s.auth.clone();
    list_page(
        &s,
        &raw,
        ("dlq.html", "dlq", "Dead letters"),
        |q| async move {
            notifications::dlq(State(state), auth, ApiQuery(q))
                .await
                .map(|Json(p)| p)
        },
        |p: &notifications::NotificationPage| p.next_cursor.as_ref(),
    )
    .await
}

/// `POST /ui/dlq/replay`: one (`id`) or many (`id` repeated) back to the
/// queue, each through the API's replay.
pub async fn replay(State(state): Shared, s: Session, body: Bytes) -> Response {
    let pairs = form_pairs(&body);
    if let Err(p) = s.check_form(field(&pairs, "csrf")) {
        return p.into_response();
    }
    let ids: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.as_str())
        .take(1000)
        .collect();
    if ids.is_empty() {
        return failure(
            StatusCode::BAD_REQUEST,
            "Choose at least one notification to replay.",
        )
        .into_response();
    }
    for id in &ids {
        let answer = notifications::replay(
            State(state.clone()),
            s.auth.clone(),
            ApiPath(id.to_string()),
        )
        .await;
        if let Err(e) = answer {
            return refused(e).into_response();
        }
    }
    Redirect::to(&format!("/ui/dlq?replayed={}", ids.len())).into_response()
}

/// `GET /ui/providers`: the tenant's accounts, every instance's breaker,
/// and the last hour per provider.
pub async fn providers(State(state): Shared, s: Session) -> Html {
    providers_page(&state, &s, None).await
}

/// `POST /ui/providers/{name}/test`: a test message through that provider
/// (the API's test send); the page again with the provider's answer.
pub async fn provider_test(
    State(state): Shared,
    s: Session,
    ApiPath(name): ApiPath<String>,
    body: Bytes,
) -> Html {
    let pairs = form_pairs(&body);
    if let Err(p) = s.check_form(field(&pairs, "csrf")) {
        return p;
    }
    let channel = match field(&pairs, "channel").unwrap_or("").parse() {
        Ok(c) => c,
        Err(_) => return failure(StatusCode::UNPROCESSABLE_ENTITY, "Choose a channel."),
    };
    let req = providers::TestRequest {
        channel,
        to: field(&pairs, "to").unwrap_or("").to_string(),
    };
    match providers::test_send(&state, &s.auth, &name, req).await {
        Ok(r) => providers_page(&state, &s, Some(Value::from_serialize(&r))).await,
        Err(e) => refused(e),
    }
}

async fn providers_page(state: &Arc<AppState>, s: &Session, tested: Option<Value>) -> Html {
    let accounts = match providers::list(State(state.clone()), s.auth.clone()).await {
        Ok(Json(a)) => a,
        Err(e) => return refused(e),
    };
    let hour = match overview::overview_of(state, &s.auth, "hour").await {
        Ok(o) => o,
        Err(e) => return refused(e),
    };
    // The channels a test can go by, per instance.
    let routing = state.routes.for_tenant(&s.auth.tenant_id).await;
    let testable: Vec<Value> = routing
        .instances()
        .iter()
        .map(|slot| {
            let channels: Vec<&str> = [
                foghorn_core::Channel::Email,
                foghorn_core::Channel::Sms,
                foghorn_core::Channel::Whatsapp,
            ]
            .into_iter()
            .filter(|c| slot.provider.supports(*c))
            .map(|c| c.as_str())
            .collect();
            context! { name => slot.provider.name(), channels }
        })
        .collect();
    render(
        "providers.html",
        context! { frame => frame(s, "providers"), title => "Providers",
        accounts => Value::from_serialize(&accounts), hour => Value::from_serialize(&hour),
        testable, tested },
    )
}

/// `GET /ui/workflows`.
pub async fn workflows(State(state): Shared, s: Session) -> Html {
    match workflows::list(State(state), s.auth.clone()).await {
        Ok(Json(l)) => render(
            "workflows.html",
            context! { frame => frame(&s, "workflows"), title => "Workflows", names => l.names },
        ),
        Err(e) => refused(e),
    }
}

/// `GET /ui/workflows/{name}`: the steps and a preview with the sample data.
pub async fn workflow(State(state): Shared, s: Session, ApiPath(name): ApiPath<String>) -> Html {
    workflow_page(&state, &s, name, preview::PreviewRequest::default(), None).await
}

/// `POST /ui/workflows/{name}`: the preview again with the form's data,
/// recipient and locale.
pub async fn workflow_preview(
    State(state): Shared,
    s: Session,
    ApiPath(name): ApiPath<String>,
    body: Bytes,
) -> Html {
    let pairs = form_pairs(&body);
    if let Err(p) = s.check_form(field(&pairs, "csrf")) {
        return p;
    }
    let json = |key: &str| -> Result<Option<serde_json::Value>, Html> {
        match field(&pairs, key).map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) => serde_json::from_str(t).map(Some).map_err(|e| {
                failure(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("`{key}` is not JSON: {e}"),
                )
            }),
        }
    };
    let req = match (json("data"), json("recipient")) {
        (Ok(data), Ok(recipient)) => preview::PreviewRequest {
            step: None,
            data,
            recipient,
            locale: field(&pairs, "locale")
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        },
        (Err(p), _) | (_, Err(p)) => return p,
    };
    let typed = context! {
        data => field(&pairs, "data"), recipient => field(&pairs, "recipient"), locale => field(&pairs, "locale"),
    };
    workflow_page(&state, &s, name, req, Some(typed)).await
}

async fn workflow_page(
    state: &Arc<AppState>,
    s: &Session,
    name: String,
    req: preview::PreviewRequest,
    typed: Option<Value>,
) -> Html {
    let doc =
        match workflows::get(State(state.clone()), s.auth.clone(), ApiPath(name.clone())).await {
            Ok(Json(w)) => w,
            Err(e) => return refused(e),
        };
    let sample =
        preview::sample_data(&name).map(|v| serde_json::to_string_pretty(&v).unwrap_or_default());
    let (result, error) = match preview::preview(
        State(state.clone()),
        s.auth.clone(),
        ApiPath(name.clone()),
        ApiJson(req),
    )
    .await
    {
        Ok(Json(p)) => (Some(Value::from_serialize(&p)), None),
        Err(e) => (None, Some(e.detail)),
    };
    // A preview that fails on the typed data is shown on the page, beside
    // the form, not as an error page.
    render(
        "workflow.html",
        context! { frame => frame(s, "workflows"), title => format!("Workflow {name}"), name,
        doc => Value::from_serialize(&doc), preview => result, error, sample, typed },
    )
}

/// `GET /ui/subscribers?id=…`: one subscriber's contact, preferences and
/// consent ledger.
pub async fn subscribers(State(state): Shared, s: Session, RawQuery(raw): RawQuery) -> Html {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Lookup {
        id: Option<String>,
    }
    let q: Lookup = match query(&raw) {
        Ok(q) => q,
        Err(p) => return p,
    };
    let Some(id) = q.id.map(|i| i.trim().to_string()).filter(|i| !i.is_empty()) else {
        return render(
            "subscribers.html",
            context! { frame => frame(&s, "subscribers"), title => "Subscribers" },
        );
    };
    let path = || ApiPath(id.clone());
    let person = match subscribers::get(State(state.clone()), s.auth.clone(), path()).await {
        Ok(Json(p)) => p,
        Err(e) => return refused(e),
    };
    let prefs = match preferences::get(State(state.clone()), s.auth.clone(), path()).await {
        Ok(Json(p)) => p,
        Err(e) => return refused(e),
    };
    let consents = match subscribers::consents(State(state.clone()), s.auth.clone(), path()).await {
        Ok(Json(c)) => c,
        Err(e) => return refused(e),
    };
    render(
        "subscribers.html",
        context! { frame => frame(&s, "subscribers"), title => format!("Subscriber {id}"), id,
        person => Value::from_serialize(&person), prefs => Value::from_serialize(&prefs),
        consents => Value::from_serialize(&consents) },
    )
}

/// `GET /ui/sandbox`: every captured message as its recipient would see it.
pub async fn sandbox_inbox(State(state): Shared, s: Session, RawQuery(raw): RawQuery) -> Html {
    let auth = s.auth.clone();
    list_page(
        &s,
        &raw,
        ("sandbox.html", "sandbox", "Sandbox inbox"),
        |q| async move {
            sandbox::messages(State(state), auth, ApiQuery(q))
                .await
                .map(|Json(p)| p)
        },
        |p: &sandbox::SandboxInbox| p.next_cursor.as_ref(),
    )
    .await
}

/// `GET /ui/costs?month=YYYY-MM`.
pub async fn costs(State(state): Shared, s: Session, RawQuery(raw): RawQuery) -> Html {
    let q: reports::CostQuery = match query(&raw) {
        Ok(q) => q,
        Err(p) => return p,
    };
    match reports::costs(State(state), s.auth.clone(), ApiQuery(q)).await {
        Ok(Json(r)) => render(
            "costs.html",
            context! { frame => frame(&s, "costs"), title => "Costs", r => Value::from_serialize(&r) },
        ),
        Err(e) => refused(e),
    }
}

/// `GET /ui/costs.csv?month=YYYY-MM`: the report's lines as CSV.
pub async fn costs_csv(State(state): Shared, s: Session, RawQuery(raw): RawQuery) -> Response {
    let q: reports::CostQuery = match query(&raw) {
        Ok(q) => q,
        Err(p) => return p.into_response(),
    };
    let r = match reports::costs(State(state), s.auth.clone(), ApiQuery(q)).await {
        Ok(Json(r)) => r,
        Err(e) => return refused(e).into_response(),
    };
    let mut csv = String::from("month,provider,channel,count,amount,currency\r\n");
    for l in &r.lines {
        csv.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            r.month,
            csv_field(l.provider.as_deref().unwrap_or("")),
            csv_field(l.channel.as_deref().unwrap_or("")),
            l.count,
            l.amount,
            csv_field(&l.currency)
        ));
    }
    let disposition = format!("attachment; filename=\"foghorn-costs-{}.csv\"", r.month);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        csv,
    )
        .into_response()
}

/// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is defused so that a
/// spreadsheet does not read a provider name as a formula.
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// `GET /ui/audit`.
pub async fn audit_log(State(state): Shared, s: Session, RawQuery(raw): RawQuery) -> Html {
    let auth = s.auth.clone();
    list_page(
        &s,
        &raw,
        ("audit.html", "audit", "Audit log"),
        |q| async move { audit::audit_page(&state, &auth, q).await },
        |p: &audit::AuditPage| p.next_cursor.as_ref(),
    )
    .await
}

/// `GET /ui/assets/ui.css`.
pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", page::STYLESHEET)
}

/// `GET /ui/assets/ui.js`.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", page::SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("twilio"), "twilio");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }

    #[test]
    fn the_next_page_keeps_the_filters_and_replaces_the_cursor() {
        let raw = Some("status=dead&channel=&cursor=old".to_string());
        assert_eq!(next_link(&raw, "ntf_9"), "?status=dead&cursor=ntf_9");
    }
}
