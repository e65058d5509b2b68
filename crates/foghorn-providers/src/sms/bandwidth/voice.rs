//! Bandwidth Voice API v2: placing a call whose BXML Foghorn serves
//! itself, each page of the call, and the call's disconnect callback. The
//! account, OAuth 2.0 credentials and number are the messaging account's.
//!
//! Facts relied on (the `bandwidth.yml` OpenAPI spec Bandwidth/python-sdk
//! is generated from, its `CreateCall`, `AnswerCallback`, `GatherCallback`,
//! `DisconnectCallback` and BXML verb models, and Bandwidth/node-sdk):
//! - create: `POST https://voice.bandwidth.com/api/v2/accounts/{accountId}/calls`,
//!   JSON with `to`, `from`, `applicationId`, `answerUrl` (all required),
//!   `answerMethod`, `username`/`password` (the Basic credentials Bandwidth
//!   sends on the call's webhooks; https only), `disconnectUrl`,
//!   `disconnectMethod`, `machineDetection` (`mode` `sync` puts the result
//!   in the answer webhook), `tag` (echoed in every webhook), with the same
//!   bearer token as messaging;
//! - success is `201` with `callId` (`c-…`), `callUrl`; errors are
//!   `{"type", "description", "id"}` with 400/401/403/404/415/429/500;
//! - webhooks are JSON: the answer (`eventType` `answer`, `callId`, `tag`,
//!   `machineDetectionResult.value`: `human`, `answering-machine`,
//!   `silence`, `timeout`, `error`), the gather (`digits`, "" when the
//!   prompt timed out) and the disconnect (`cause`: `hangup`, `busy`,
//!   `timeout`, `cancel`, `rejected`, `error`, … and `answerTime`, absent
//!   when nobody answered); answer and gather expect BXML;
//! - BXML: `<Response>`, `<SpeakSentence voice=…>`, `<Gather gatherUrl=…
//!   gatherMethod=… maxDigits=… firstDigitTimeout=…>` holding the
//!   sentences, `<Hangup/>`; `voice` overrides `locale`.

use crate::xml::escape;
use foghorn_core::voice::{CallInput, CallPage, Scene};
use foghorn_core::{DeliveryState, InboundError, InboundEvent, Reply};
use serde::{Deserialize, Serialize};

/// The Voice API's origin.
pub const VOICE_ORIGIN: &str = "https://voice.bandwidth.com";

/// Bandwidth's pay-as-you-go list price for an outbound call to a US
/// number, $0.0100 a minute (bandwidth.com/pricing, "Voice Local
/// Outbound"); other destinations take the account's `voice_prices`.
pub const US_MICROS_PER_MINUTE: i64 = 10_000;

/// Seconds a prompt waits for the first key.
const FIRST_DIGIT_TIMEOUT_S: u32 = 8;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCall<'a> {
    pub to: &'a str,
    pub from: &'a str,
    pub application_id: &'a str,
    pub answer_url: &'a str,
    pub answer_method: &'static str,
    pub username: &'a str,
    pub password: &'a str,
    pub disconnect_url: &'a str,
    pub disconnect_method: &'static str,
    pub machine_detection: MachineDetection,
    pub tag: &'a str,
}

/// Synchronous detection: the answer webhook waits for the result and
/// carries it, so the first page already knows a machine from a person.
#[derive(Debug, Serialize)]
pub struct MachineDetection {
    pub mode: &'static str,
}

impl MachineDetection {
    pub const SYNC: MachineDetection = MachineDetection { mode: "sync" };
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedCall {
    pub call_id: String,
}

/// The parts of a call webhook Foghorn reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    #[serde(default)]
    pub event_type: String,
    #[serde(default)]
    pub call_id: Option<String>,
    #[serde(default)]
    pub digits: Option<String>,
    #[serde(default)]
    pub machine_detection_result: Option<MachineResult>,
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default)]
    pub answer_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct MachineResult {
    #[serde(default)]
    pub value: String,
}

/// Whether a webhook body is about a call (an object with `eventType`),
/// not a messaging callback (an array).
pub fn is_call_webhook(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// What a call's page request says (already authenticated).
pub fn input(body: &[u8], url: &str) -> Result<CallInput, InboundError> {
    let hook: Webhook = serde_json::from_slice(body)
        .map_err(|e| InboundError::Malformed(format!("not a Bandwidth call webhook: {e}")))?;
    let turn = crate::signature::query_params(url)
        .into_iter()
        .find(|(k, _)| k == "turn")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    Ok(CallInput {
        digits: hook.digits.filter(|d| !d.is_empty()),
        machine: hook
            .machine_detection_result
            .is_some_and(|m| m.value == "answering-machine"),
        turn,
        call_id: hook.call_id,
    })
}

/// The page as BXML.
pub fn bxml(page: &CallPage<'_>) -> Reply {
    let voice = page.language.bandwidth_voice;
    let speak = |text: &str| {
        format!(
            "<SpeakSentence voice=\"{voice}\">{}</SpeakSentence>",
            escape(text)
        )
    };
    let body = match &page.scene {
        Scene::Script { text, turn } => {
            let next = escape(&format!("{}?turn={}", page.url, turn + 1));
            format!(
                "<Gather gatherUrl=\"{next}\" gatherMethod=\"POST\" maxDigits=\"1\" firstDigitTimeout=\"{FIRST_DIGIT_TIMEOUT_S}\">{}{}</Gather>",
                speak(text),
                speak(page.language.prompt)
            )
        }
        Scene::Voicemail { text } => format!("{}<Hangup/>", speak(text)),
        Scene::Acknowledged => format!("{}<Hangup/>", speak(page.language.thanks)),
        Scene::Goodbye => format!("{}<Hangup/>", speak(page.language.goodbye)),
    };
    Reply {
        status: 200,
        content_type: "application/xml; charset=utf-8",
        body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{body}</Response>")
            .into_bytes(),
    }
}

/// A call's disconnect webhook as a status event; other call webhooks
/// sent to the callback endpoint change nothing.
pub fn events(
    body: &[u8],
    rates: &crate::voice_rates::MinuteRates,
) -> Result<Vec<InboundEvent>, InboundError> {
    let hook: Webhook = serde_json::from_slice(body)
        .map_err(|e| InboundError::Malformed(format!("not a Bandwidth call webhook: {e}")))?;
    match hook.event_type.as_str() {
        "disconnect" => {}
        "" => {
            return Err(InboundError::Malformed(
                "neither a call webhook (no eventType) nor a message callback array".into(),
            ))
        }
        _ => return Ok(Vec::new()),
    }
    let price = call_price(&hook, rates);
    let call_id = hook
        .call_id
        .ok_or_else(|| InboundError::Malformed("disconnect without callId".into()))?;
    let cause = hook.cause.unwrap_or_default();
    let answered = hook.answer_time.as_ref().is_some_and(|t| !t.is_empty());
    let state = match cause.as_str() {
        "hangup" if answered => DeliveryState::Delivered,
        // Nobody picked up: the escalation tries again on its schedule.
        "hangup" | "timeout" | "busy" => DeliveryState::Undelivered,
        _ => DeliveryState::Failed,
    };
    Ok(vec![InboundEvent::Status {
        event_id: Some(format!("{call_id}:disconnect")),
        provider_message_id: Some(call_id),
        notification_id: hook.tag.filter(|t| !t.is_empty()),
        state,
        error_code: None,
        detail: Some(match hook.error_message {
            Some(m) if !m.is_empty() => format!("{cause}: {m}"),
            _ => cause,
        }),
        price,
        recipient: hook.to,
    }])
}

/// What an answered call cost: its minutes from answer to end at the
/// account's rate for the number (the US list price unless set).
fn call_price(
    hook: &Webhook,
    rates: &crate::voice_rates::MinuteRates,
) -> Option<foghorn_core::Money> {
    let at = |t: &Option<String>| {
        chrono::DateTime::parse_from_rfc3339(t.as_deref()?)
            .ok()
            .map(|t| t.timestamp_millis())
    };
    let millis = at(&hook.end_time)? - at(&hook.answer_time)?;
    // Whole seconds, each begun one counted.
    rates.cost(hook.to.as_deref()?, (millis + 999) / 1000)
}
