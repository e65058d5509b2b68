//! `GET/PUT /v1/destinations`: the tenant's named team destinations, so a
//! workflow (the NaviDocs pack's among them) says `#alerts` and each dealer
//! says which Slack and Discord channel that is and whom it pings.

use super::auth::{Auth, Scope};
use super::json::ApiJson;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use crate::workflow::{valid_channel_id, valid_destination_name, valid_mention};
use axum::extract::State;
use axum::Json;
use foghorn_core::clock;
use foghorn_core::policy::Destinations;
use foghorn_store::PolicyPart;
use std::sync::Arc;

/// Enough for every team a dealer has, and a bound on what one policy
/// row carries into every accept batch.
const MAX_DESTINATIONS: usize = 50;

/// The tenant's named destinations
#[utoipa::path(get, path = "/v1/destinations", tag = "destinations",
    responses((status = 200, body = Object, description = "Each name's channel and mention on slack and discord",
        example = json!({"alerts": {"slack": {"channel": "C0ALERTS01", "mention": "<!subteam^S0MECHANIC>"}, "discord": {"channel": "1100000000000000001", "mention": "<@&42>"}}}))),
    security(("bearer" = ["read"])))]
pub async fn get(State(state): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Destinations>> {
    auth.require(Scope::Read)?;
    let policy = state.store.tenant_policy(&auth.tenant_id).await?;
    Ok(Json(policy.destinations))
}

/// Name the tenant's team destinations
///
/// A workflow step with `destination = "#alerts"` goes to the channel named
/// here for its channel (`slack`, `discord`), pinging the mention given
/// here; a name without an entry for the step's channel goes to the
/// account's webhook. Replaces the whole set.
#[utoipa::path(put, path = "/v1/destinations", tag = "destinations",
    request_body(content = Object, description = "name → {slack|discord → {channel, mention?}}"),
    responses((status = 200, body = Object),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn put(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(destinations): ApiJson<Destinations>,
) -> ApiResult<Json<Destinations>> {
    auth.require(Scope::Admin)?;
    check(&destinations)?;
    state
        .store
        .put_tenant_policy(
            &auth.tenant_id,
            PolicyPart::Destinations(&destinations),
            &auth.audit("destinations.put", "destinations"),
            clock::now_ms(),
        )
        .await?;
    Ok(Json(destinations))
}

fn check(destinations: &Destinations) -> Result<(), ApiError> {
    if destinations.len() > MAX_DESTINATIONS {
        return Err(ApiError::validation(
            "destinations",
            format!("at most {MAX_DESTINATIONS} names"),
        ));
    }
    for (name, on) in destinations {
        if !valid_destination_name(name) {
            return Err(ApiError::validation(
                name.as_str(),
                "a name is 1 to 40 lower-case letters, digits, - and _ (a step says #name)",
            ));
        }
        for (channel, route) in on {
            let field = format!("{name}.{channel}");
            if !matches!(
                channel,
                foghorn_core::Channel::Slack | foghorn_core::Channel::Discord
            ) {
                return Err(ApiError::validation(
                    field,
                    "a destination is on slack or discord",
                ));
            }
            if !valid_channel_id(&route.channel) {
                return Err(ApiError::validation(
                    format!("{field}.channel"),
                    "a channel id: letters and digits (C0123456789, a Discord channel's digits)",
                ));
            }
            if route.mention.as_deref().is_some_and(|m| !valid_mention(m)) {
                return Err(ApiError::validation(
                    format!("{field}.mention"),
                    "<@&ROLE>, <@USER>, <!subteam^GROUP> or <!here>; never everyone",
                ));
            }
        }
    }
    Ok(())
}
