//! Preferences: a subscriber's yes and no per channel and category with
//! their quiet hours (`/v1/subscribers/{id}/preferences`), and the tenant's
//! side of them — its categories and default quiet hours
//! (`/v1/preferences/…`).

use super::auth::{Auth, Scope};
use super::extract::ApiPath;
use super::json::ApiJson;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use axum::extract::State;
use axum::Json;
use foghorn_core::policy::{Categories, Category, QuietHours, TenantPolicy};
use foghorn_core::{clock, Channel, TenantId};
use foghorn_engine::fields;
use foghorn_engine::preferences::{Verdict, Wishes};
use foghorn_store::{Choice, Choices, PolicyPart, PreferenceChange};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// The channels a person (not a team) is reached on.
pub(crate) const PERSON_CHANNELS: [Channel; 4] = [
    Channel::Email,
    Channel::Sms,
    Channel::Voice,
    Channel::Whatsapp,
];

/// Most categories a tenant may declare.
const MAX_CATEGORIES: usize = 100;
/// Longest consent text kept with an opt-in.
const MAX_CONSENT_TEXT: usize = 2_000;

/// Present (even as `null`) is `Some`; absent is `None` by `default`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesInput {
    /// Per category, per channel: true to receive, false not to. A channel
    /// or category left out keeps its current choice.
    #[serde(default)]
    pub categories: BTreeMap<String, BTreeMap<Channel, bool>>,
    /// Whole channels: false gives the channel up for every category;
    /// true takes back such a no.
    #[serde(default)]
    pub channels: BTreeMap<Channel, bool>,
    /// The person's own quiet hours; `null` follows the tenant's default;
    /// a window whose start equals its end is none at all. Left out, they
    /// stay as they are.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<QuietHours>)]
    pub quiet_hours: Option<Option<QuietHours>>,
    /// The words the person agreed to, kept with each yes in the consent
    /// ledger. Required for a yes to SMS of a marketing category (TCPA).
    #[serde(default)]
    pub consent_text: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preferences {
    /// Every category the tenant declares or the person has chosen about,
    /// with what each person channel does now.
    pub categories: BTreeMap<String, BTreeMap<Channel, bool>>,
    /// Whole channels: false where the person gave the channel up.
    pub channels: BTreeMap<Channel, bool>,
    /// The quiet hours that apply (the person's own, or the tenant's).
    pub quiet_hours: Option<QuietHours>,
    /// `subscriber`, `tenant`, or `none`.
    pub quiet_hours_from: &'static str,
    /// The zone quiet hours are read in.
    pub timezone: String,
}

fn valid_category(field: &str, name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(
            field,
            "a category is 1 to 64 characters of a-z, 0-9, '.', '_' or '-'",
        ))
    }
}

fn person_channel(field: &str, c: Channel) -> ApiResult<()> {
    if PERSON_CHANNELS.contains(&c) {
        Ok(())
    } else {
        Err(ApiError::validation(
            field,
            format!("`{c}` reaches a team, not a person: preferences cover email, sms, voice and whatsapp"),
        ))
    }
}

/// What the person's choices amount to, as the planner reads them.
pub(crate) fn summary(
    choices: &Choices,
    own_quiet: Option<&str>,
    zone: Option<&str>,
    policy: &TenantPolicy,
) -> Preferences {
    let wishes = Wishes {
        opt_outs: &choices.opt_outs,
        opt_ins: &choices.opt_ins,
        categories: &policy.categories,
    };
    let mut names: Vec<&str> = policy.categories.keys().map(String::as_str).collect();
    names.extend(
        choices
            .opt_outs
            .iter()
            .map(|o| o.category.as_str())
            .chain(choices.opt_ins.iter().map(|o| o.category.as_str()))
            .filter(|c| !c.is_empty()),
    );
    names.sort_unstable();
    names.dedup();
    let categories = names
        .into_iter()
        .map(|cat| {
            let per_channel = PERSON_CHANNELS
                .iter()
                .map(|&c| (c, wishes.verdict(c, Some(cat), false) == Verdict::Send))
                .collect();
            (cat.to_string(), per_channel)
        })
        .collect();
    let channels = PERSON_CHANNELS
        .iter()
        .map(|&c| {
            let given_up = choices
                .opt_outs
                .iter()
                .any(|o| o.channel == c && o.category.is_empty());
            (c, !given_up)
        })
        .collect();
    let (quiet_hours, quiet_hours_from) = match own_quiet {
        Some(q) => (q.parse().ok(), "subscriber"),
        None if policy.quiet_hours.is_some() => (policy.quiet_hours, "tenant"),
        None => (None, "none"),
    };
    Preferences {
        categories,
        channels,
        quiet_hours: quiet_hours.filter(|q: &QuietHours| !q.is_empty()),
        quiet_hours_from,
        timezone: zone
            .or(policy.timezone.as_deref())
            .unwrap_or("UTC")
            .to_string(),
    }
}

async fn current(state: &AppState, tenant: &TenantId, id: &str) -> ApiResult<Preferences> {
    let row = state
        .store
        .subscriber(tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no subscriber `{id}`")))?;
    let choices = state.store.choices(tenant, id).await?;
    let policy = state.store.tenant_policy(tenant).await?;
    Ok(summary(
        &choices,
        row.quiet_hours.as_deref(),
        row.contact.timezone.as_deref(),
        &policy,
    ))
}

/// A subscriber's preferences
#[utoipa::path(get, path = "/v1/subscribers/{external_id}/preferences", tag = "subscribers",
    params(("external_id" = String, Path)),
    responses((status = 200, body = Preferences), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(external_id): ApiPath<String>,
) -> ApiResult<Json<Preferences>> {
    auth.require(Scope::Read)?;
    Ok(Json(current(&state, &auth.tenant_id, &external_id).await?))
}

/// Change a subscriber's preferences
///
/// Each choice that changes is an opt-in or opt-out in the consent ledger,
/// made by this key; critical workflows (safety recalls) are sent whatever
/// the preferences say.
#[utoipa::path(put, path = "/v1/subscribers/{external_id}/preferences", tag = "subscribers",
    request_body = PreferencesInput,
    params(("external_id" = String, Path)),
    responses((status = 200, body = Preferences),
        (status = 404, body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["events:write"]), ("bearer" = ["admin"])))]
pub async fn put(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(external_id): ApiPath<String>,
    ApiJson(input): ApiJson<PreferencesInput>,
) -> ApiResult<Json<Preferences>> {
    auth.require_any(Scope::EventsWrite, Scope::Admin)?;
    let policy = state.store.tenant_policy(&auth.tenant_id).await?;
    let consent_text = input
        .consent_text
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    if consent_text
        .as_ref()
        .is_some_and(|t| t.len() > MAX_CONSENT_TEXT)
    {
        return Err(ApiError::validation(
            "consent_text",
            format!("at most {MAX_CONSENT_TEXT} bytes"),
        ));
    }
    let mut choices = Vec::new();
    for (cat, per_channel) in &input.categories {
        valid_category(&format!("categories.{cat}"), cat)?;
        for (&channel, &wanted) in per_channel {
            let field = format!("categories.{cat}.{channel}");
            person_channel(&field, channel)?;
            let marketing = policy.categories.get(cat).is_some_and(|c| c.marketing);
            if wanted && marketing && channel == Channel::Sms && consent_text.is_none() {
                return Err(ApiError::validation(
                    "consent_text",
                    format!("a yes to SMS of the marketing category `{cat}` needs the words the person agreed to (TCPA prior express written consent)"),
                ));
            }
            choices.push(Choice {
                channel,
                category: cat.clone(),
                wanted,
            });
        }
    }
    for (&channel, &wanted) in &input.channels {
        person_channel(&format!("channels.{channel}"), channel)?;
        choices.push(Choice {
            channel,
            category: String::new(),
            wanted,
        });
    }
    let change = PreferenceChange {
        choices,
        quiet_hours: input.quiet_hours,
        source: "api".into(),
        consent_text,
    };
    let found = state
        .store
        .put_preferences(
            &auth.tenant_id,
            &external_id,
            &change,
            &auth.audit("subscriber.preferences", &external_id),
            clock::now_ms(),
        )
        .await?;
    if !found {
        return Err(ApiError::not_found(format!(
            "no subscriber `{external_id}`"
        )));
    }
    Ok(Json(current(&state, &auth.tenant_id, &external_id).await?))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoriesDoc {
    /// By name: what it is called, whether it is on until someone says no
    /// (`default`, true when left out), per-channel exceptions, and whether
    /// it is marketing (SMS then needs a recorded opt-in).
    pub categories: BTreeMap<String, Category>,
}

/// The tenant's notification categories
#[utoipa::path(get, path = "/v1/preferences/categories", tag = "preferences",
    responses((status = 200, body = CategoriesDoc)),
    security(("bearer" = ["read"])))]
pub async fn get_categories(
    State(state): State<Arc<AppState>>,
    auth: Auth,
) -> ApiResult<Json<CategoriesDoc>> {
    auth.require(Scope::Read)?;
    let policy = state.store.tenant_policy(&auth.tenant_id).await?;
    Ok(Json(CategoriesDoc {
        categories: policy.categories,
    }))
}

/// Declare the tenant's categories
///
/// Replaces the whole list. A workflow whose category is not declared is
/// on for everyone until they say no.
#[utoipa::path(put, path = "/v1/preferences/categories", tag = "preferences",
    request_body = CategoriesDoc,
    responses((status = 200, body = CategoriesDoc),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn put_categories(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(doc): ApiJson<CategoriesDoc>,
) -> ApiResult<Json<CategoriesDoc>> {
    auth.require(Scope::Admin)?;
    if doc.categories.len() > MAX_CATEGORIES {
        return Err(ApiError::validation(
            "categories",
            format!("at most {MAX_CATEGORIES} categories"),
        ));
    }
    for (name, c) in &doc.categories {
        valid_category(&format!("categories.{name}"), name)?;
        if c.label.as_ref().is_some_and(|l| l.len() > 200) {
            return Err(ApiError::validation(
                format!("categories.{name}.label"),
                "at most 200 bytes",
            ));
        }
        for &ch in c.channels.keys() {
            person_channel(&format!("categories.{name}.channels.{ch}"), ch)?;
        }
    }
    let categories: Categories = doc.categories;
    state
        .store
        .put_tenant_policy(
            &auth.tenant_id,
            PolicyPart::Categories(&categories),
            &auth.audit("preferences.categories", "categories"),
            clock::now_ms(),
        )
        .await?;
    Ok(Json(CategoriesDoc { categories }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursDoc {
    /// The default for subscribers without their own; null for none.
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// The zone of subscribers who give none (IANA name); null is UTC.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// The tenant's default quiet hours
#[utoipa::path(get, path = "/v1/preferences/quiet-hours", tag = "preferences",
    responses((status = 200, body = QuietHoursDoc)),
    security(("bearer" = ["read"])))]
pub async fn get_quiet_hours(
    State(state): State<Arc<AppState>>,
    auth: Auth,
) -> ApiResult<Json<QuietHoursDoc>> {
    auth.require(Scope::Read)?;
    let policy = state.store.tenant_policy(&auth.tenant_id).await?;
    Ok(Json(QuietHoursDoc {
        quiet_hours: policy.quiet_hours,
        timezone: policy.timezone,
    }))
}

/// Set the tenant's default quiet hours
///
/// Notifications that are not critical and fall due inside a person's
/// quiet hours are scheduled for the end of them.
#[utoipa::path(put, path = "/v1/preferences/quiet-hours", tag = "preferences",
    request_body = QuietHoursDoc,
    responses((status = 200, body = QuietHoursDoc),
        (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn put_quiet_hours(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(doc): ApiJson<QuietHoursDoc>,
) -> ApiResult<Json<QuietHoursDoc>> {
    auth.require(Scope::Admin)?;
    if let Some(tz) = &doc.timezone {
        fields::time_zone("timezone", tz)?;
    }
    let quiet_hours = doc.quiet_hours.filter(|q| !q.is_empty());
    state
        .store
        .put_tenant_policy(
            &auth.tenant_id,
            PolicyPart::QuietHours {
                quiet_hours,
                timezone: doc.timezone.as_deref(),
            },
            &auth.audit("preferences.quiet_hours", "quiet-hours"),
            clock::now_ms(),
        )
        .await?;
    Ok(Json(QuietHoursDoc {
        quiet_hours,
        timezone: doc.timezone,
    }))
}
