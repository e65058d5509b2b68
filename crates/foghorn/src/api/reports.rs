//! `GET /v1/reports/costs?month=YYYY-MM`: what the caller's tenant spent in
//! a calendar month (UTC), by provider and channel, per provider, and in
//! total — from the cost recorded on each notification sent that month.
//! Amounts are exact decimal text; each currency is summed on its own.

use super::auth::{Auth, Scope};
use super::extract::ApiQuery;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use foghorn_core::Money;
use foghorn_store::CostRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CostQuery {
    /// `YYYY-MM`; the current month (UTC) when absent.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CostReport {
    pub month: String,
    /// Start (inclusive) and end (exclusive) of the month, RFC 3339.
    pub from: String,
    pub to: String,
    /// One line per provider, channel and currency.
    pub lines: Vec<CostLine>,
    /// Per provider (all channels), per currency.
    pub providers: Vec<CostLine>,
    /// The month's total, one entry per currency.
    pub totals: Vec<CostLine>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CostLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Exact decimal text, e.g. `0.425`.
    pub amount: String,
    pub currency: String,
    /// Notifications counted.
    pub count: i64,
}

/// `2026-05` → (first instant, first instant of the next month).
fn month_span(month: &str) -> Option<(i64, i64)> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let start = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?;
    let next = if start.month() == 12 {
        NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)?
    };
    let ms = |d: NaiveDate| {
        Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .timestamp_millis()
    };
    Some((ms(start), ms(next)))
}

fn line(
    provider: Option<&str>,
    channel: Option<&str>,
    currency: &str,
    micros: i64,
    count: i64,
) -> CostLine {
    CostLine {
        provider: provider.map(str::to_string),
        channel: channel.map(str::to_string),
        amount: Money::new(micros, currency).amount_string(),
        currency: currency.to_string(),
        count,
    }
}

/// Sums rows by `key` and currency.
fn group<'a>(rows: &'a [CostRow], key: impl Fn(&'a CostRow) -> Option<&'a str>) -> Vec<CostLine> {
    let mut sums: BTreeMap<(Option<&str>, &str), (i64, i64)> = BTreeMap::new();
    for r in rows {
        let e = sums.entry((key(r), r.currency.as_str())).or_default();
        e.0 = e.0.saturating_add(r.micros);
        e.1 += r.count;
    }
    sums.into_iter()
        .map(|((k, cur), (micros, count))| line(k, None, cur, micros, count))
        .collect()
}

/// Costs of a month
#[utoipa::path(get, path = "/v1/reports/costs", tag = "reports", params(CostQuery),
    responses((status = 200, body = CostReport),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])))]
pub async fn costs(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<CostQuery>,
) -> ApiResult<Json<CostReport>> {
    auth.require(Scope::Read)?;
    let month = q
        .month
        .unwrap_or_else(|| foghorn_core::clock::now().format("%Y-%m").to_string());
    let (from, to) = month_span(&month)
        .ok_or_else(|| ApiError::validation("month", "expected a month such as 2026-05"))?;
    let rows = state.store.cost_totals(&auth.tenant_id, from, to).await?;
    let lines = rows
        .iter()
        .map(|r| {
            line(
                Some(&r.provider),
                Some(&r.channel),
                &r.currency,
                r.micros,
                r.count,
            )
        })
        .collect();
    Ok(Json(CostReport {
        providers: group(&rows, |r| Some(r.provider.as_str())),
        totals: group(&rows, |_| None),
        lines,
        month,
        from: super::notifications::rfc3339(from),
        to: super::notifications::rfc3339(to),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_span_their_days_in_utc() {
        let (a, b) = month_span("2026-12").unwrap();
        assert_eq!(
            super::super::notifications::rfc3339(a),
            "2026-12-01T00:00:00.000Z"
        );
        assert_eq!(
            super::super::notifications::rfc3339(b),
            "2027-01-01T00:00:00.000Z"
        );
        for bad in ["2026-13", "2026-5", "26-05", "2026", "may"] {
            assert!(month_span(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn sums_per_provider_and_in_total() {
        let row = |p: &str, c: &str, cur: &str, micros, count| CostRow {
            provider: p.into(),
            channel: c.into(),
            currency: cur.into(),
            micros,
            count,
        };
        let rows = [
            row("mailgun", "email", "USD", 50_000, 100),
            row("twilio", "sms", "USD", 375_000, 50),
            row("vonage", "sms", "EUR", 1_000, 1),
        ];
        let providers = group(&rows, |r| Some(r.provider.as_str()));
        assert_eq!(providers.len(), 3);
        assert_eq!(providers[0].amount, "0.05");
        let totals = group(&rows, |_| None);
        let usd = totals.iter().find(|t| t.currency == "USD").unwrap();
        assert_eq!((usd.amount.as_str(), usd.count), ("0.425", 150));
        assert_eq!(totals.len(), 2);
    }
}
