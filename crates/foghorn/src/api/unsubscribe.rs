//! `GET/POST /p/{token}/unsubscribe`: the end-user side of every email's
//! unsubscribe link. No login: the signed token is the authority.
//!
//! GET only shows a confirmation page (link scanners and previews fetch
//! URLs; they must not unsubscribe anyone). POST acts: RFC 8058 one-click
//! from the mail client (body `List-Unsubscribe=One-Click`) stops the
//! message's category, "this list"; the page offers that and every email,
//! and each button's text is the effect the click has. The opt-out is
//! recorded once, with its consent ledger and audit rows (who: the token's
//! subscriber or address hash; when; how: one-click or page); a repeat
//! answers the same and changes nothing. Browsers get HTML, clients that ask
//! for JSON get JSON and problem+json.

use super::extract::ApiPath;
use super::problem::ApiError;
use super::AppState;
use crate::unsubscribe::token::{self, Claims, TokenError};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use foghorn_core::Channel;
use foghorn_store::{Audit, UnsubscribeTarget, Unsubscribed};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct UnsubscribeResult {
    /// Always `unsubscribed`.
    pub status: String,
    pub channel: Channel,
    /// `category` (only the message's category) or `all` (the whole channel).
    pub scope: UnsubscribeScope,
    /// The category unsubscribed from, when the scope is one category.
    pub category: Option<String>,
    /// True when the opt-out was already recorded before this request.
    pub already: bool,
}

/// What a link is for, as `GET` answers a client that asks for JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkFacts {
    pub channel: Channel,
    pub category: Option<String>,
    /// The choices the page offers.
    pub scopes: Vec<UnsubscribeScope>,
}

/// How much one click stops. RFC 8058 §1: a one-click POST unsubscribes
/// from the list the message came from, here the workflow's category; the
/// page also offers the whole channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnsubscribeScope {
    Category,
    All,
}

fn now_secs() -> i64 {
    foghorn_core::clock::now_ms() / 1000
}

pub(super) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("json") && !a.contains("text/html"))
}

fn token_error(e: TokenError) -> ApiError {
    match e {
        TokenError::Invalid => ApiError::invalid_link(),
        TokenError::Expired => ApiError::expired_link(),
    }
}

/// The scopes a link can offer: its category only when it names one and
/// its recipient is a stored subscriber (the suppression list of plain
/// addresses has no categories).
fn scopes(claims: &Claims) -> Vec<UnsubscribeScope> {
    if claims.category.is_some() && claims.subscriber.is_some() {
        vec![UnsubscribeScope::Category, UnsubscribeScope::All]
    } else {
        vec![UnsubscribeScope::All]
    }
}

/// What a click on `scope` does, in the words the page shows: the same
/// sentence before the click and after it.
fn effect(claims: &Claims, scope: UnsubscribeScope) -> String {
    let channel = channel_noun(claims.channel);
    match (scope, &claims.category) {
        (UnsubscribeScope::Category, Some(c)) => format!(
            "You will no longer receive {} {channel}. Other {channel} from us are not affected.",
            escape(c)
        ),
        _ if claims.subscriber.is_some() && claims.channel == Channel::Email => format!(
            "You will no longer receive any {channel} from us, except critical notices (such as safety recalls), which never carry an unsubscribe link."
        ),
        _ if claims.subscriber.is_some() => format!("You will no longer receive any {channel} from us."),
        _ => format!("You will no longer receive any {channel} from us at this address."),
    }
}

fn button(claims: &Claims, scope: UnsubscribeScope) -> String {
    let channel = channel_noun(claims.channel);
    match (scope, &claims.category) {
        (UnsubscribeScope::Category, Some(c)) => {
            format!("Unsubscribe from {} {channel}", escape(c))
        }
        _ => format!("Unsubscribe from all {channel}"),
    }
}

fn form(claims: &Claims, scope: UnsubscribeScope) -> String {
    let value = match scope {
        UnsubscribeScope::Category => "category",
        UnsubscribeScope::All => "all",
    };
    format!(
        "<form method=\"post\"><input type=\"hidden\" name=\"scope\" value=\"{value}\">\
         <p>{}</p><button type=\"submit\">{}</button></form>",
        effect(claims, scope),
        button(claims, scope)
    )
}

/// Show the confirmation page
///
/// Offers the message's category and, for subscribers, every email; each
/// button says what it does. Showing the page changes nothing.
#[utoipa::path(get, path = "/p/{token}/unsubscribe", tag = "unsubscribe",
    params(("token" = String, Path, description = "The signed token from the email's link")),
    responses((status = 200, description = "A page with a button per scope, each POSTing; JSON when the client asks for it",
            content((String = "text/html"), (LinkFacts = "application/json"))),
        (status = 400, description = "The link is not valid (a page, or problem+json when the client asks for JSON)",
            content((String = "text/html"), (super::problem::Problem = "application/problem+json"))),
        (status = 410, description = "The link has expired",
            content((String = "text/html"), (super::problem::Problem = "application/problem+json")))))]
pub async fn page(
    State(state): State<Arc<AppState>>,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
) -> Response {
    let json = wants_json(&headers);
    let claims = match token::verify(state.store.crypto(), &token, now_secs()) {
        Ok(c) => c,
        Err(e) => return failure(token_error(e), json),
    };
    let offered = scopes(&claims);
    if json {
        return axum::Json(LinkFacts {
            channel: claims.channel,
            category: claims.category,
            scopes: offered,
        })
        .into_response();
    }
    let forms: Vec<String> = offered.iter().map(|s| form(&claims, *s)).collect();
    // A subscriber may rather choose topic by topic and channel by
    // channel: the preference centre takes the same token.
    let centre = if claims.subscriber.is_some() {
        format!(
            "\n<p><a href=\"/p/{}\">Choose what we send you, topic by topic</a></p>",
            escape(&token)
        )
    } else {
        String::new()
    };
    html(
        StatusCode::OK,
        "Unsubscribe",
        &format!("<h1>Unsubscribe?</h1>\n{}{centre}", forms.join("\n")),
    )
}

/// Unsubscribe (one-click or the page's buttons)
///
/// `List-Unsubscribe=One-Click` (RFC 8058) unsubscribes from the message's
/// category (or, without one, the whole channel); the page's buttons send
/// `scope=category` or `scope=all`. Works without a login and is idempotent.
#[utoipa::path(post, path = "/p/{token}/unsubscribe", tag = "unsubscribe",
    params(("token" = String, Path, description = "The signed token from the email's link")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`List-Unsubscribe=One-Click` (RFC 8058), or the page's `scope=category` / `scope=all`"),
    responses((status = 200, description = "Unsubscribed (a page, or JSON when the client asks for it)",
            content((String = "text/html"), (UnsubscribeResult = "application/json"))),
        (status = 400, description = "The link is not valid (a page, or problem+json when the client asks for JSON)",
            content((String = "text/html"), (super::problem::Problem = "application/problem+json"))),
        (status = 410, description = "The link has expired",
            content((String = "text/html"), (super::problem::Problem = "application/problem+json"))),
        (status = 500, description = "Nothing was changed; try again",
            content((String = "text/html"), (super::problem::Problem = "application/problem+json")))))]
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = wants_json(&headers);
    let claims = match token::verify(state.store.crypto(), &token, now_secs()) {
        Ok(c) => c,
        Err(e) => return failure(token_error(e), json),
    };
    let one_click =
        form_urlencoded::parse(&body).any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click");
    let asked_all = form_urlencoded::parse(&body).any(|(k, v)| k == "scope" && v == "all");
    let offered = scopes(&claims);
    // One-click and a form without a scope take the narrowest on offer.
    let scope = if asked_all {
        UnsubscribeScope::All
    } else {
        offered[0]
    };
    let method = if one_click { "one-click" } else { "page" };
    let already = match record(&state, &claims, scope, method).await {
        Ok(already) => already,
        Err(e) => return failure(e, json),
    };
    if json {
        return axum::Json(UnsubscribeResult {
            status: "unsubscribed".into(),
            channel: claims.channel,
            scope,
            category: claims
                .category
                .clone()
                .filter(|_| scope == UnsubscribeScope::Category),
            already,
        })
        .into_response();
    }
    // After one category, the wider choice stays on offer.
    let wider = if scope == UnsubscribeScope::Category {
        format!("\n{}", form(&claims, UnsubscribeScope::All))
    } else {
        String::new()
    };
    html(
        StatusCode::OK,
        "Unsubscribed",
        &format!(
            "<h1>You are unsubscribed</h1>\n<p>{}</p>{wider}",
            effect(&claims, scope)
        ),
    )
}

/// Records the opt-out; true when it was already in place.
async fn record(
    state: &AppState,
    claims: &Claims,
    scope: UnsubscribeScope,
    method: &str,
) -> Result<bool, ApiError> {
    let now = foghorn_core::clock::now_ms();
    let category = match scope {
        UnsubscribeScope::Category => claims.category.as_deref(),
        UnsubscribeScope::All => None,
    };
    let detail = serde_json::json!({
        "channel": claims.channel,
        "category": category,
        "scope": scope,
        "method": method,
        "notification_id": claims.notification,
    });
    let actor = format!("recipient:{method}");
    if let Some(id) = &claims.subscriber {
        let audit =
            Audit::new(&actor, "subscriber.unsubscribe", id.as_str()).with_detail(detail.clone());
        let target = UnsubscribeTarget::Subscriber(id);
        match state
            .store
            .unsubscribe(
                &claims.tenant,
                target,
                claims.channel,
                category,
                method,
                &audit,
                now,
            )
            .await?
        {
            Unsubscribed::Recorded => return Ok(false),
            Unsubscribed::Already => return Ok(true),
            // Deleted since: fall through to the address, if the token has it.
            Unsubscribed::NoSuchSubscriber => {}
        }
    }
    let Some(hash) = &claims.address_hash else {
        return Ok(true);
    };
    // The audit names the address by a prefix of its keyed hash only.
    let target = format!("address:{}", &hash[..hash.len().min(16)]);
    let audit = Audit::new(&actor, "address.unsubscribe", target).with_detail(detail);
    let outcome = state
        .store
        .unsubscribe(
            &claims.tenant,
            UnsubscribeTarget::Address(hash),
            claims.channel,
            None,
            method,
            &audit,
            now,
        )
        .await?;
    Ok(outcome != Unsubscribed::Recorded)
}

fn channel_noun(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "emails",
        Channel::Sms => "text messages",
        other => other.as_str(),
    }
}

fn failure(e: ApiError, json: bool) -> Response {
    if json {
        return e.into_response();
    }
    let text = match e.status {
        StatusCode::GONE => "This unsubscribe link has expired. Use the link in a more recent email, or contact the sender.",
        StatusCode::BAD_REQUEST => "This unsubscribe link is not valid. Check that it was copied whole.",
        _ => "Something went wrong; nothing was changed. Please try again later.",
    };
    html(
        e.status,
        e.title,
        &format!("<h1>{}</h1>\n<p>{text}</p>", escape(e.title)),
    )
}

/// A plain page; the token is in the URL, so no referrer leaves it and no
/// cache or search engine keeps it.
pub(super) fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>body{{font-family:Arial,Helvetica,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2a37}}\
         button{{font-size:1rem;padding:.6rem 1.4rem;background:#1b5fa8;color:#fff;border:0;border-radius:6px;cursor:pointer}}</style>\
         </head><body>\n{body}\n</body></html>\n",
        escape(title)
    );
    let mut res = (status, page).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ),
    );
    res
}

/// HTML text and attribute values: the markup characters escaped, as
/// the call markups need them too.
pub(super) fn escape(s: &str) -> String {
    foghorn_providers::xml::escape(s)
}
