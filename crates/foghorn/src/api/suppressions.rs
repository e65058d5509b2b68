//! `GET /v1/suppressions` and `DELETE /v1/suppressions/{channel}/{address}`:
//! the tenant's suppression list (hard bounces, complaints, unsubscribes and
//! SMS opt-outs). Addresses are shown masked; a clear address is needed only
//! to lift one, and is given by the caller.

use super::auth::{Auth, Scope};
use super::extract::{ApiPath, ApiQuery};
use super::notifications::rfc3339;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use foghorn_core::{normalise_address, Channel};
use foghorn_store::SuppressionRow;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct Suppression {
    pub channel: Channel,
    /// The address, masked (`o***@e***.com`, `+*********42`).
    pub address: String,
    /// `bounced`, `complained` or `unsubscribed`.
    pub reason: String,
    /// What reported it (`mailgun hard bounce`, `sms keyword`, …).
    pub source: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuppressionPage {
    pub items: Vec<Suppression>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(value_type = Option<Channel>)]
    pub channel: Option<String>,
    /// 1 to 1000, default 50.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Enough of an address to recognise it, not enough to use it.
pub fn mask(address: &str) -> String {
    let stars = |s: &str| {
        let mut c = s.chars();
        match c.next() {
            Some(first) => format!("{first}***"),
            None => String::new(),
        }
    };
    if let Some((local, domain)) = address.rsplit_once('@') {
        let masked_domain = match domain.rsplit_once('.') {
            Some((name, tld)) => format!("{}.{tld}", stars(name)),
            None => stars(domain),
        };
        return format!("{}@{masked_domain}", stars(local));
    }
    let chars: Vec<char> = address.chars().collect();
    let keep = if chars.len() > 6 { 2 } else { 0 };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if *c == '+' || i >= chars.len() - keep {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

fn view(s: SuppressionRow) -> Suppression {
    Suppression {
        // Entries from one-click links carry only the address's hash.
        address: s.address.as_deref().map(mask).unwrap_or_else(|| {
            format!("(hash {})", &s.address_hash[..8.min(s.address_hash.len())])
        }),
        channel: s.channel,
        reason: s.reason,
        source: s.source,
        created_at: rfc3339(s.created_at),
    }
}

fn channel(text: &str, field: &str) -> ApiResult<Channel> {
    text.parse::<Channel>()
        .map_err(|e| ApiError::validation(field, e.to_string()))
}

/// List suppressed addresses
///
/// Newest first, paged by cursor. Notifications to these addresses are
/// created `suppressed` with the entry's reason.
#[utoipa::path(get, path = "/v1/suppressions", tag = "suppressions", params(ListQuery),
    responses((status = 200, body = SuppressionPage), (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    q: ApiQuery<ListQuery>,
) -> ApiResult<Json<SuppressionPage>> {
    auth.require(Scope::Read)?;
    let q = q.0;
    let ch = q
        .channel
        .as_deref()
        .map(|c| channel(c, "channel"))
        .transpose()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 1000"));
    }
    let page = state
        .store
        .suppressions(&auth.tenant_id, ch, q.cursor.as_deref(), limit)
        .await?;
    Ok(Json(SuppressionPage {
        items: page.items.into_iter().map(view).collect(),
        next_cursor: page.next,
    }))
}

/// Lift a suppression
///
/// Later notifications to the address are sent again. For an SMS opt-out,
/// lift it only with the person's consent (they can also text START).
#[utoipa::path(delete, path = "/v1/suppressions/{channel}/{address}", tag = "suppressions",
    params(("channel" = Channel, Path), ("address" = String, Path, description = "The clear address, URL-encoded")),
    responses((status = 204, description = "Lifted"), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath((ch, address)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    auth.require(Scope::Admin)?;
    let ch = channel(&ch, "channel")?;
    let address = normalise_address(ch, &address);
    let now = foghorn_core::clock::now_ms();
    let audit = auth.audit("suppression.remove", "");
    if !state
        .store
        .lift_suppression(&auth.tenant_id, ch, &address, &audit, now)
        .await?
    {
        return Err(ApiError::not_found(format!(
            "no {ch} suppression for that address"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_too_little_to_use() {
        assert_eq!(mask("owner@example.com"), "o***@e***.com");
        assert_eq!(mask("+15555550142"), "+*********42");
        assert_eq!(mask("x@y"), "x***@y***");
        assert_eq!(mask("12345"), "*****");
    }
}
