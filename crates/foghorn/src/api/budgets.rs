//! `GET/PUT /v1/budgets`: what a tenant may spend per month, in total and
//! per channel, where the 80% and 100% alerts go, and how far this month
//! has gone.

use super::auth::{Auth, Scope};
use super::json::ApiJson;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::Json;
use foghorn_core::policy::{Budgets, BUDGET_WARNING_PERCENT};
use foghorn_core::{clock, Money};
use foghorn_store::PolicyPart;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// The scopes a budget may have: the whole bill, or a channel that costs.
const SCOPES: [&str; 5] = ["total", "email", "sms", "voice", "whatsapp"];

#[derive(Debug, Serialize, ToSchema)]
pub struct BudgetReport {
    pub budgets: Budgets,
    /// The month reported, `YYYY-MM` (UTC).
    pub month: String,
    /// One line per budget: spent so far against it.
    pub usage: Vec<Usage>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    /// `total` or a channel.
    pub scope: String,
    pub spent: String,
    pub budget: String,
    pub currency: String,
    /// Whole percent spent.
    pub percent: i64,
    /// `ok`, `warning` (80% or more) or `exhausted` (non-critical sends
    /// are suppressed).
    pub state: &'static str,
}

pub(super) async fn report(state: &AppState, auth: &Auth) -> ApiResult<BudgetReport> {
    let policy = state.store.tenant_policy(&auth.tenant_id).await?;
    let month = clock::month_of(clock::now_ms());
    let rows = state.store.spend_in_month(&auth.tenant_id, &month).await?;
    let usage = policy
        .budgets
        .monthly
        .iter()
        .filter_map(|(scope, a)| {
            let budget = a.micros()?;
            let spent: i64 = rows
                .iter()
                .filter(|r| r.currency.eq_ignore_ascii_case(&a.currency))
                .filter(|r| scope == "total" || &r.channel == scope)
                .map(|r| r.micros)
                .sum();
            let percent = if budget > 0 {
                spent.saturating_mul(100) / budget
            } else {
                100
            };
            Some(Usage {
                scope: scope.clone(),
                spent: Money::new(spent, a.currency.clone()).amount_string(),
                budget: Money::new(budget, a.currency.clone()).amount_string(),
                currency: a.currency.clone(),
                percent,
                state: if spent >= budget {
                    "exhausted"
                } else if percent >= BUDGET_WARNING_PERCENT {
                    "warning"
                } else {
                    "ok"
                },
            })
        })
        .collect();
    Ok(BudgetReport {
        budgets: policy.budgets,
        month,
        usage,
    })
}

/// The tenant's budgets and this month's spend against them
#[utoipa::path(get, path = "/v1/budgets", tag = "reports",
    responses((status = 200, body = BudgetReport)),
    security(("bearer" = ["read"])))]
pub async fn get(State(state): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<BudgetReport>> {
    auth.require(Scope::Read)?;
    Ok(Json(report(&state, &auth).await?))
}

/// Set the tenant's monthly budgets
///
/// At 80% of a budget its alert goes to `alert_url` once a month; at 100%
/// sends that are not critical are suppressed with the reason `budget`,
/// while critical ones (safety recalls) still go.
#[utoipa::path(put, path = "/v1/budgets", tag = "reports", request_body = Budgets,
    responses((status = 200, body = BudgetReport),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn put(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(budgets): ApiJson<Budgets>,
) -> ApiResult<Json<BudgetReport>> {
    auth.require(Scope::Admin)?;
    for (scope, a) in &budgets.monthly {
        let field = format!("monthly.{scope}");
        if !SCOPES.contains(&scope.as_str()) {
            return Err(ApiError::validation(
                field,
                "a budget is for `total` or one of email, sms, voice, whatsapp",
            ));
        }
        if a.micros().is_none() {
            return Err(ApiError::validation(
                format!("{field}.amount"),
                "a non-negative decimal amount with at most 6 decimals, such as 250.00",
            ));
        }
        if a.currency.len() != 3 || !a.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ApiError::validation(
                format!("{field}.currency"),
                "an ISO 4217 code in capitals, such as USD",
            ));
        }
    }
    if let Some(url) = &budgets.alert_url {
        super::providers::check_tenant_url(
            url,
            "alert_url",
            state.config.security.allow_private_targets_for_tenants,
        )?;
    }
    state
        .store
        .put_tenant_policy(
            &auth.tenant_id,
            PolicyPart::Budgets(&budgets),
            &auth.audit("budgets.put", "budgets"),
            clock::now_ms(),
        )
        .await?;
    Ok(Json(report(&state, &auth).await?))
}
