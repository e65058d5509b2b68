//! Monthly budgets at send time: at 80% of a budget the tenant's team
//! destination hears of it once; at 100% sends that are not critical stop
//! as `suppressed (budget)`. Spend counts sends already recorded, so the
//! sends in flight when a budget runs out may pass it by that much.

use crate::workflow::system::BUDGET_ALERT;
use foghorn_core::policy::{Budgets, BUDGET_WARNING_PERCENT};
use foghorn_core::{clock, Address, Channel, Money, Recipient, TenantId};
use foghorn_store::{SpendRow, Store, StoreError, SystemMessage};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Mutex;

/// Status reason of a send stopped by a budget.
pub const BUDGET: &str = "budget";

/// What the budgets say of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Budgeted {
    Within,
    /// Spent: the scope (`total` or the channel) that ran out.
    Exhausted(String),
}

/// A scope's budget against its spend, in the budget's currency; other
/// currencies are not converted and do not count.
fn spent(rows: &[SpendRow], scope: &str, currency: &str) -> i64 {
    rows.iter()
        .filter(|r| r.currency.eq_ignore_ascii_case(currency))
        .filter(|r| scope == "total" || r.channel == scope)
        .map(|r| r.micros)
        .sum()
}

/// The alert to the tenant's team destination, when it has one.
fn alert(
    budgets: &Budgets,
    scope: &str,
    level: i64,
    month: &str,
    spent: i64,
    budget: i64,
    currency: &str,
) -> Option<SystemMessage> {
    let url = budgets.alert_url.as_deref()?;
    Some(SystemMessage {
        event_name: "budget.threshold".into(),
        workflow: BUDGET_ALERT.into(),
        channel: Channel::Webhook,
        data: json!({
            "scope": scope,
            "percent": level,
            "month": month,
            "spent": Money::new(spent, currency).amount_string(),
            "budget": Money::new(budget, currency).amount_string(),
            "currency": currency,
        })
        .to_string(),
        // The tenant wrote the URL: reached under the tenants' rule.
        recipient: Recipient {
            tenant_target: true,
            ..Recipient::destination(Address::Url(url.to_string()))
        }
        .to_json(),
    })
}

/// The alerts this node knows are claimed, so a spent budget costs each
/// later send a read, not a write.
#[derive(Default)]
pub struct Claimed(Mutex<HashSet<(TenantId, String, String, i64)>>);

impl Claimed {
    fn knows(&self, key: &(TenantId, String, String, i64)) -> bool {
        self.0.lock().is_ok_and(|s| s.contains(key))
    }

    fn learn(&self, key: (TenantId, String, String, i64)) {
        if let Ok(mut s) = self.0.lock() {
            s.insert(key);
        }
    }
}

/// Checks a `channel` send of `tenant` against its budgets, sending each
/// alert that became due. Without an `alert_url` there is no one to tell:
/// nothing is claimed, so a URL set later in the month still hears of it.
pub async fn check(
    store: &Store,
    claimed: &Claimed,
    tenant: &TenantId,
    budgets: &Budgets,
    channel: Channel,
) -> Result<Budgeted, StoreError> {
    let scopes: Vec<(&str, i64, &str)> = budgets
        .monthly
        .iter()
        .filter(|(scope, _)| scope.as_str() == "total" || scope.as_str() == channel.as_str())
        .filter_map(|(scope, a)| Some((scope.as_str(), a.micros()?, a.currency.as_str())))
        .collect();
    if scopes.is_empty() {
        return Ok(Budgeted::Within);
    }
    let now = clock::now_ms();
    let month = clock::month_of(now);
    let rows = store.spend_in_month(tenant, &month).await?;
    let mut verdict = Budgeted::Within;
    for (scope, budget, currency) in scopes {
        let used = spent(&rows, scope, currency);
        for level in [BUDGET_WARNING_PERCENT, 100] {
            if used.saturating_mul(100) < budget.saturating_mul(level) {
                continue;
            }
            let key = (tenant.clone(), month.clone(), scope.to_string(), level);
            let Some(message) = alert(budgets, scope, level, &month, used, budget, currency) else {
                continue;
            };
            if claimed.knows(&key) {
                continue;
            }
            if store
                .claim_budget_alert(tenant, &month, scope, level, Some(&message), now)
                .await?
            {
                tracing::warn!(tenant = %tenant, scope, percent = level, "budget threshold reached");
            }
            claimed.learn(key);
        }
        if used >= budget && verdict == Budgeted::Within {
            verdict = Budgeted::Exhausted(scope.to_string());
        }
    }
    Ok(verdict)
}
