//! Twilio Programmable Voice: placing a call whose script Foghorn serves
//! itself, the TwiML of each page of the call, and the call's status
//! callbacks. The account, credentials and number are the messaging
//! account's (one Twilio account, one set of `TWILIO_*` variables).
//!
//! Facts relied on (Twilio "Call resource" and "TwiML Voice" references;
//! `CallList.create` in twilio-python and twilio-node):
//! - create: `POST {base}/2010-04-01/Accounts/{AccountSid}/Calls.json`,
//!   Basic auth, form fields `To`, `From`, `Url` (or inline `Twiml`, at
//!   most 4,000 characters), `Method`, `StatusCallback`,
//!   `StatusCallbackMethod`, `StatusCallbackEvent` (a list: the SDKs send
//!   one field per event: `initiated`, `ringing`, `answered`,
//!   `completed`), `MachineDetection` (`Enable`, or `DetectMessageEnd` to
//!   wait for the greeting's end so a voicemail is recorded whole);
//! - success is `201` with the Call resource: `sid` (`CA…`), `status`
//!   (`queued`); errors are the same `{code, message}` body as messages
//!   (21210 `From` not verified, 21215/21216 geographic permission,
//!   13223/13224 invalid number);
//! - with machine detection, Twilio's request to `Url` carries
//!   `AnsweredBy`: `human`, `machine_start`, `machine_end_beep`,
//!   `machine_end_silence`, `machine_end_other`, `fax` or `unknown`;
//! - `<Gather numDigits="1" action=… method="POST">` posts `Digits`; with
//!   no key pressed before its `timeout` the next verb runs;
//! - status callbacks post `CallSid`, `CallStatus` (`queued`,
//!   `initiated`, `ringing`, `in-progress`, `completed`, `busy`,
//!   `no-answer`, `failed`, `canceled`), `CallDuration` (seconds, on
//!   `completed`), `To`, `From`, signed like every Twilio callback;
//! - Twilio bills outbound calls per started minute; its pricing page
//!   lists $0.0140 a minute to US numbers.

use crate::signature::non_empty;
use crate::xml::escape;
use foghorn_core::voice::{CallInput, CallPage, Scene};
use foghorn_core::{DeliveryState, InboundEvent, Reply};

/// The progress events a call reports (every one the SDK offers).
pub const STATUS_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];

/// Waits for the end of a voicemail greeting, so the message is recorded
/// from its start.
pub const MACHINE_DETECTION: &str = "DetectMessageEnd";

/// US list price per started minute, in micro-dollars.
pub const US_MICROS_PER_MINUTE: i64 = 14_000;

/// Seconds a prompt waits for a key.
const GATHER_TIMEOUT_S: u32 = 8;

/// The create-call form, field by field in the SDK's order; a list field
/// repeats its name, as the SDKs send it.
pub fn create_call<'a>(
    to: &'a str,
    from: &'a str,
    page_url: &'a str,
    status_callback: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut form = vec![
        ("To", to),
        ("From", from),
        ("Url", page_url),
        ("Method", "POST"),
    ];
    if let Some(cb) = status_callback {
        form.push(("StatusCallback", cb));
        form.extend(STATUS_EVENTS.iter().map(|e| ("StatusCallbackEvent", *e)));
        form.push(("StatusCallbackMethod", "POST"));
    }
    form.push(("MachineDetection", MACHINE_DETECTION));
    form
}

/// What the call's page request says, from its verified parameters and
/// URL.
pub fn input(params: &[(String, String)], url: &str) -> CallInput {
    let get = |k: &str| non_empty(params, k).map(str::trim);
    let turn = crate::signature::query_params(url)
        .into_iter()
        .find(|(k, _)| k == "turn")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    CallInput {
        digits: get("Digits").map(str::to_string),
        machine: get("AnsweredBy").is_some_and(|a| a.starts_with("machine") || a == "fax"),
        turn,
        call_id: get("CallSid").map(str::to_string),
    }
}

/// The page as TwiML.
pub fn twiml(page: &CallPage<'_>) -> Reply {
    let lang = page.language;
    let say = |text: &str| {
        format!(
            "<Say language=\"{}\" voice=\"{}\">{}</Say>",
            lang.tag,
            lang.twilio_voice,
            escape(text)
        )
    };
    let body = match &page.scene {
        Scene::Script { text, turn } => {
            let next = escape(&format!("{}?turn={}", page.url, turn + 1));
            format!(
                "<Gather numDigits=\"1\" action=\"{next}\" method=\"POST\" timeout=\"{GATHER_TIMEOUT_S}\">{}{}</Gather><Redirect method=\"POST\">{next}</Redirect>",
                say(text),
                say(lang.prompt)
            )
        }
        Scene::Voicemail { text } => format!("{}<Hangup/>", say(text)),
        Scene::Acknowledged => format!("{}<Hangup/>", say(lang.thanks)),
        Scene::Goodbye => format!("{}<Hangup/>", say(lang.goodbye)),
    };
    Reply {
        status: 200,
        content_type: "text/xml",
        body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{body}</Response>")
            .into_bytes(),
    }
}

/// A call's status callback as an event; None for progress that changes
/// nothing (`initiated`, `ringing`, `in-progress`).
pub fn status_event(
    params: &[(String, String)],
    notification_id: Option<String>,
    rates: &crate::voice_rates::MinuteRates,
) -> Option<InboundEvent> {
    let get = |k: &str| non_empty(params, k).map(str::trim);
    let sid = get("CallSid")?;
    let status = get("CallStatus")?;
    let (state, detail) = match status {
        "completed" => (
            DeliveryState::Delivered,
            get("AnsweredBy").map(|a| format!("answered by {a}")),
        ),
        // Nobody answered: the escalation tries again, by its own schedule.
        "busy" | "no-answer" => (DeliveryState::Undelivered, Some(status.to_string())),
        "failed" | "canceled" => (DeliveryState::Failed, Some(status.to_string())),
        _ => return None,
    };
    let to = get("To");
    let price = match (
        status,
        get("CallDuration").and_then(|d| d.parse::<i64>().ok()),
        to,
    ) {
        ("completed", Some(secs), Some(to)) => rates.cost(to, secs),
        _ => None,
    };
    Some(InboundEvent::Status {
        provider_message_id: Some(sid.to_string()),
        notification_id,
        state,
        error_code: get("ErrorCode").map(str::to_string),
        detail,
        recipient: to.map(str::to_string),
        price,
        event_id: Some(format!("{sid}:{status}")),
    })
}
