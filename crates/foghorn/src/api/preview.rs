//! `POST /v1/workflows/{name}/preview`: a workflow's steps rendered with
//! sample data, exactly as they would be sent, without sending anything.
//! SMS steps show their text with short links (stand-in codes) and their
//! encoding, segments, characters, the step's
//! `max_segments` (and whether the text was cut to it) and what the first
//! SMS provider would charge for the recipient's number.

use super::auth::{Auth, Scope};
use super::extract::ApiPath;
use super::json::ApiJson;
use super::notifications::Cost;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use crate::engine::sms_text;
use crate::workflow::{EventFacts, RenderContext};
use axum::extract::State;
use axum::Json;
use foghorn_core::Channel;
use foghorn_core::Recipient;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// One step (0-based); every step when absent.
    pub step: Option<usize>,
    /// The event data; the pack's sample for this event when absent.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    /// Recipient facts templates may use (`name`, `email`, `phone`,
    /// `country`, `locale`, …).
    #[schema(value_type = Option<Object>)]
    pub recipient: Option<Value>,
    /// Overrides the recipient's locale, e.g. `fr`.
    pub locale: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub workflow: String,
    pub locale: Option<String>,
    pub steps: Vec<StepPreview>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepPreview {
    pub step: usize,
    pub channel: Channel,
    /// Whether the step's `if` holds for this data.
    pub applies: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Webhook steps: the JSON body.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub body: Option<Value>,
    /// SMS: `gsm7` or `ucs2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub characters: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_segments: Option<u32>,
    /// SMS: the text was cut to fit `max_segments`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
    /// SMS: the provider the estimate is for (the channel's first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// SMS: the country of the recipient's number the estimate is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// SMS: segments × the provider's price for the country; absent when
    /// the price table has no price for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_cost: Option<Cost>,
}

pub(crate) fn sample_data(event: &str) -> Option<Value> {
    let samples: Value = serde_json::from_str(crate::workflow::samples_json()).ok()?;
    samples["events"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == event)
        .map(|e| e["data"].clone())
}

/// Preview a workflow's messages
#[utoipa::path(post, path = "/v1/workflows/{name}/preview", tag = "workflows", params(("name" = String, Path)),
    request_body = PreviewRequest,
    responses((status = 200, body = Preview),
        (status = 404, body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown step, bad data, or a template that fails on it", body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])))]
pub async fn preview(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<PreviewRequest>,
) -> ApiResult<Json<Preview>> {
    auth.require(Scope::Read)?;
    let workflow = state
        .workflows
        .get(&auth.tenant_id, &name)
        .ok_or_else(|| ApiError::not_found(format!("no workflow `{name}`")))?;
    let data = match req.data {
        Some(v @ Value::Object(_)) => v,
        None | Some(Value::Null) => sample_data(&name).unwrap_or_else(|| json!({})),
        Some(_) => return Err(ApiError::validation("data", "must be a JSON object")),
    };
    let mut recipient: Recipient = match req.recipient {
        Some(v @ Value::Object(_)) => serde_json::from_value(v)
            .map_err(|e| ApiError::validation("recipient", e.to_string()))?,
        None | Some(Value::Null) => Recipient::default(),
        Some(_) => return Err(ApiError::validation("recipient", "must be a JSON object")),
    };
    if let Some(l) = &req.locale {
        recipient.contact.locale = Some(l.clone());
    }
    let person = recipient.template_view();
    let locale = recipient.contact.locale.clone();
    let steps: Vec<usize> = match req.step {
        Some(i) if i < workflow.doc.steps.len() => vec![i],
        Some(i) => {
            return Err(ApiError::validation(
                "step",
                format!(
                    "the workflow has {} step(s); step {i} does not exist",
                    workflow.doc.steps.len()
                ),
            ))
        }
        None => (0..workflow.doc.steps.len()).collect(),
    };
    let cond_ctx = json!({"data": &data, "event": {"name": &name}});
    let footer = (!workflow.doc.critical)
        .then(|| state.outbound.unsubscribe.preview_url())
        .flatten();
    // The preference centre's shape, without a working token, as the
    // unsubscribe link's stand-in.
    let preferences = (!workflow.doc.critical)
        .then(|| state.outbound.unsubscribe.preferences_url("preview"))
        .flatten();
    let mut out = Vec::new();
    for i in steps {
        let s = &workflow.doc.steps[i];
        let applies = workflow
            .step_applies(i, &cond_ctx)
            .map_err(|e| ApiError::validation(format!("steps[{i}].if"), e.to_string()))?;
        let ctx = RenderContext {
            event: EventFacts {
                id: "evt_preview",
                name: &name,
            },
            data: &data,
            recipient: &person,
            notification_id: "ntf_preview",
            locale: locale.as_deref(),
            unsubscribe_url: if s.channel == Channel::Email {
                footer.as_deref()
            } else {
                None
            },
            preferences_url: if s.channel == Channel::Email {
                preferences.as_deref()
            } else {
                None
            },
            acknowledge_url: (s.acknowledge || s.escalate.is_some())
                .then_some("https://foghorn.example/a/preview"),
        };
        let rendered = workflow
            .render_off_runtime(i, s.channel, &ctx)
            .await
            .map_err(|e| ApiError::validation(format!("steps[{i}]"), e.to_string()))?;
        let mut p = StepPreview {
            step: i,
            channel: s.channel,
            applies,
            subject: rendered.subject,
            html: rendered.html,
            text: rendered.text,
            body: rendered.json,
            encoding: None,
            segments: None,
            characters: None,
            max_segments: None,
            truncated: None,
            provider: None,
            country: None,
            estimated_cost: None,
        };
        if s.channel == Channel::Sms {
            if let (true, Some(base)) = (s.short_links, state.outbound.public_url.as_deref()) {
                // Stand-in codes of the real length, so the count is right.
                let placeholder = "x".repeat(crate::engine::short_links::CODE_LEN);
                let (text, _) = crate::engine::short_links::rewrite(
                    p.text.as_deref().unwrap_or_default(),
                    base,
                    |_| Some(placeholder.clone()),
                );
                p.text = Some(text);
            }
            sms_facts(&state, &mut p, s.max_segments, &recipient);
        }
        out.push(p);
    }
    Ok(Json(Preview {
        workflow: workflow.doc.name.clone(),
        locale,
        steps: out,
    }))
}

/// Fills in what an SMS costs: the text as it will go (cut to the cap),
/// its segments, and the first provider's price for the number's country.
fn sms_facts(state: &AppState, p: &mut StepPreview, cap: Option<u32>, recipient: &Recipient) {
    let fitted = sms_text::fit(p.text.as_deref().unwrap_or_default(), cap);
    let c = &recipient.contact;
    let country = c
        .phone
        .as_deref()
        .and_then(|ph| crate::phone::normalize(ph, c.country.as_deref()).ok())
        .and_then(|ph| ph.country)
        .or_else(|| c.country.as_ref().map(|c| c.to_ascii_uppercase()));
    let slot = state.routing.for_channel(Channel::Sms).first();
    p.estimated_cost = slot.and_then(|slot| {
        let cost = if slot.provider.kind() == "sandbox" {
            Some(foghorn_core::Money::new(0, "USD"))
        } else {
            state.outbound.pricing.cost(
                slot.provider.name(),
                slot.provider.kind(),
                Channel::Sms,
                fitted.info.segments,
                country.as_deref(),
            )
        };
        cost.map(|c| Cost {
            amount: c.amount_string(),
            currency: c.currency,
        })
    });
    p.provider = slot.map(|s| s.provider.name().to_string());
    p.country = country;
    p.encoding = Some(sms_text::encoding_name(fitted.info.encoding).to_string());
    p.segments = Some(fitted.info.segments);
    p.characters = Some(fitted.characters);
    p.max_segments = cap;
    p.truncated = Some(fitted.truncated);
    p.text = Some(fitted.text);
}
