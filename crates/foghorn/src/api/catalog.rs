//! `GET /v1/catalog/search?q=`: the tenant's document catalog, kept from
//! the events it sends (boat, title, kind, link, expiry), searched by
//! words — the same search that answers `/find` in Slack and Discord.

use super::auth::{Auth, Scope};
use super::extract::ApiQuery;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::Json;
use foghorn_core::team::CatalogHit;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// Longest query read.
const MAX_QUERY: usize = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words, all of which must appear (as word prefixes) in the title,
    /// boat or kind; 1 to 200 characters.
    #[param(min_length = 1, max_length = 200)]
    pub q: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    /// Newest first, at most 25.
    pub items: Vec<CatalogHit>,
}

/// Search the document catalog
///
/// Documents the tenant's events described (`document.uploaded` and any
/// event whose data has `boat` and `title`), matching every word of `q`.
#[utoipa::path(get, path = "/v1/catalog/search", tag = "catalog", params(SearchQuery),
    responses((status = 200, body = SearchResult), (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])))]
pub async fn search(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    q: ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchResult>> {
    auth.require(Scope::Read)?;
    let q = q.0.q;
    let len = q.chars().count();
    if q.trim().is_empty() || len > MAX_QUERY {
        return Err(ApiError::validation(
            "q",
            format!("must be 1 to {MAX_QUERY} characters of words"),
        ));
    }
    let items = state.store.search_catalog(&auth.tenant_id, &q).await?;
    Ok(Json(SearchResult { items }))
}
