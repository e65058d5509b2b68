//! `POST /interactions/slack`: button clicks (`block_actions`, a form with
//! one `payload` field of JSON) and slash commands (a form with `command`
//! and `text`), both signed the same way.
//!
//! The scheme, as `slack_sdk.signature.SignatureVerifier` checks it:
//! `X-Slack-Signature` is `v0=` + the lower-case hex HMAC-SHA256, under the
//! app's signing secret, of `v0:{X-Slack-Request-Timestamp}:{raw body}`;
//! a timestamp more than 5 minutes from now either way is refused; the
//! comparison is constant-time.

use crate::signature::{constant_time_eq, hex, hmac_sha256, param, parse_form, signed_timestamp};
use foghorn_core::team::{Actor, ButtonAction, Command};
use foghorn_core::{InboundError, InboundRequest, Interaction};
use serde::Deserialize;
use std::time::Duration;

pub const SIGNATURE_HEADER: &str = "x-slack-signature";
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
pub const WINDOW: Duration = Duration::from_secs(5 * 60);

/// `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> Result<String, InboundError> {
    let mut base = format!("v0:{timestamp}:").into_bytes();
    base.extend_from_slice(body);
    Ok(format!(
        "v0={}",
        hex(&hmac_sha256(secret.as_bytes(), &base)?)
    ))
}

pub fn verify(secret: &str, req: &InboundRequest<'_>) -> Result<(), InboundError> {
    let unauthorized = |why: &str| InboundError::Unauthorized(why.to_string());
    let given = req
        .header(SIGNATURE_HEADER)
        .ok_or_else(|| unauthorized("no X-Slack-Signature header"))?;
    signed_timestamp(req, TIMESTAMP_HEADER, WINDOW)?;
    // Signed as Slack sent it.
    let timestamp = req.header(TIMESTAMP_HEADER).unwrap_or_default();
    let expected = signature(secret, timestamp, req.body)?;
    if !constant_time_eq(expected.as_bytes(), given.trim().as_bytes()) {
        return Err(unauthorized("X-Slack-Signature does not match the body"));
    }
    Ok(())
}

/// A `block_actions` payload, as far as Foghorn reads it (every field but
/// `type` may be missing: an ephemeral message has no `message`).
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    channel: Option<Id>,
    #[serde(default)]
    container: Option<Container>,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Debug, Deserialize)]
struct User {
    #[serde(default)]
    id: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Id {
    #[serde(default)]
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Container {
    #[serde(default)]
    message_ts: Option<String>,
    #[serde(default)]
    channel_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    ts: Option<String>,
    #[serde(default)]
    blocks: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Action {
    #[serde(default)]
    action_id: String,
    #[serde(default)]
    value: Option<String>,
}

/// Slack ids are letters and digits (`U0123ABC`); anything else is dropped
/// so an id can be written into mrkdwn (`<@U…>`) safely.
fn id_only(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// Reads a verified request.
pub fn read(body: &[u8]) -> Result<Interaction, InboundError> {
    let form = parse_form(body);
    if let Some(payload) = param(&form, "payload") {
        return read_payload(payload);
    }
    let Some(command) = param(&form, "command") else {
        return Err(InboundError::Malformed(
            "neither a `payload` nor a `command` field".into(),
        ));
    };
    let actor = Actor {
        id: id_only(param(&form, "user_id").unwrap_or_default()),
        name: param(&form, "user_name").unwrap_or_default().to_string(),
    };
    let text = param(&form, "text").unwrap_or_default().trim().to_string();
    Ok(match command.trim() {
        "/find" => Interaction::Command {
            command: Command::Find(text),
            actor,
            follow_up: None,
        },
        "/boat-status" => Interaction::Command {
            command: Command::BoatStatus(text),
            actor,
            follow_up: None,
        },
        other => Interaction::Other(format!("unknown command `{other}`")),
    })
}

fn read_payload(json: &str) -> Result<Interaction, InboundError> {
    let p: Payload =
        serde_json::from_str(json).map_err(|e| InboundError::Malformed(format!("payload: {e}")))?;
    if p.kind != "block_actions" {
        return Ok(Interaction::Other(format!("payload type `{}`", p.kind)));
    }
    let Some((action, value)) = p
        .actions
        .iter()
        .find_map(|a| ButtonAction::parse(&a.action_id).map(|action| (action, a.value.clone())))
    else {
        // A link button also reports its click; nothing to do.
        return Ok(Interaction::Other("no Foghorn button".into()));
    };
    let Some(notification_id) = value.filter(|v| !v.is_empty()) else {
        return Err(InboundError::Malformed("the button has no value".into()));
    };
    let user = p.user;
    let actor = Actor {
        id: user.as_ref().map(|u| id_only(&u.id)).unwrap_or_default(),
        name: user.and_then(|u| u.username.or(u.name)).unwrap_or_default(),
    };
    let channel = p
        .channel
        .and_then(|c| c.id)
        .or_else(|| p.container.as_ref().and_then(|c| c.channel_id.clone()));
    let message_ts = p
        .message
        .as_ref()
        .and_then(|m| m.ts.clone())
        .or_else(|| p.container.as_ref().and_then(|c| c.message_ts.clone()));
    Ok(Interaction::Button {
        action,
        notification_id,
        actor,
        channel,
        message: message_ts,
        original: p.message.and_then(|m| m.blocks),
    })
}
