//! `POST /interactions/discord`: Ed25519 over `X-Signature-Timestamp` +
//! the raw body, under the application's public key (hex), checked before
//! the JSON is read (interactions/overview.mdx, "Validating Security
//! Request Headers"; discord-interactions-python signs the timestamp's
//! bytes followed by the body's). Discord sends bad signatures on purpose
//! and drops endpoints that accept them: every failure is a 401. A
//! timestamp older than 5 minutes is a replay.

use super::api;
use crate::signature::signed_timestamp;
use foghorn_core::team::{Actor, ButtonAction, Command};
use foghorn_core::{InboundError, InboundRequest, Interaction};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

pub const SIGNATURE_HEADER: &str = "x-signature-ed25519";
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";
pub const WINDOW: Duration = Duration::from_secs(5 * 60);

/// A public key from its hex form (32 bytes).
pub fn public_key(hex_key: &str) -> Result<Vec<u8>, String> {
    let bytes = decode_hex(hex_key.trim()).ok_or("public_key: not hex")?;
    if bytes.len() != 32 {
        return Err(format!(
            "public_key: {} bytes, an Ed25519 key has 32",
            bytes.len()
        ));
    }
    Ok(bytes)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn verify(key: &[u8], req: &InboundRequest<'_>) -> Result<(), InboundError> {
    let unauthorized = |why: &str| InboundError::Unauthorized(why.to_string());
    let signature = req
        .header(SIGNATURE_HEADER)
        .and_then(|s| decode_hex(s.trim()))
        .ok_or_else(|| unauthorized("no valid X-Signature-Ed25519 header"))?;
    signed_timestamp(req, TIMESTAMP_HEADER, WINDOW)?;
    // Signed as Discord sent it.
    let timestamp = req.header(TIMESTAMP_HEADER).unwrap_or_default();
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(req.body);
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key)
        .verify(&message, &signature)
        .map_err(|_| unauthorized("X-Signature-Ed25519 does not match the body"))
}

#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    application_id: Option<String>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    member: Option<Member>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    message: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Data {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    custom_id: Option<String>,
    #[serde(default)]
    options: Vec<CommandOption>,
}

#[derive(Debug, Deserialize)]
struct CommandOption {
    #[serde(default)]
    value: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Member {
    #[serde(default)]
    user: Option<User>,
}

#[derive(Debug, Deserialize)]
struct User {
    #[serde(default)]
    id: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    global_name: Option<String>,
}

/// Snowflakes are digits; anything else is dropped so an id can be written
/// into a mention (`<@…>`) safely.
fn digits(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).collect()
}

/// Reads a verified interaction.
pub fn read(body: &[u8]) -> Result<Interaction, InboundError> {
    let p: Payload = serde_json::from_slice(body)
        .map_err(|e| InboundError::Malformed(format!("interaction: {e}")))?;
    // In a server the person is `member.user`; in a DM, `user`.
    let user = p.member.and_then(|m| m.user).or(p.user);
    let actor = Actor {
        id: user.as_ref().map(|u| digits(&u.id)).unwrap_or_default(),
        name: user
            .and_then(|u| u.global_name.or(u.username))
            .unwrap_or_default(),
    };
    let data = p.data;
    match p.kind {
        api::PING => Ok(Interaction::Ping),
        api::APPLICATION_COMMAND => {
            let Some(data) = data else {
                return Err(InboundError::Malformed("a command without data".into()));
            };
            let text = data
                .options
                .first()
                .and_then(|o| o.value.as_ref())
                .map(|v| match v {
                    Value::String(s) => s.trim().to_string(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            let follow_up = match (&p.application_id, &p.token) {
                (Some(app), Some(token)) => Some(format!("{}/{token}", digits(app))),
                _ => None,
            };
            let command = match data.name.as_deref() {
                Some("find") => Command::Find(text),
                Some("boat-status") => Command::BoatStatus(text),
                other => {
                    return Ok(Interaction::Other(format!(
                        "unknown command `{}`",
                        other.unwrap_or_default()
                    )))
                }
            };
            Ok(Interaction::Command {
                command,
                actor,
                follow_up,
            })
        }
        api::MESSAGE_COMPONENT => {
            let custom_id = data.and_then(|d| d.custom_id).unwrap_or_default();
            let Some((action, id)) = custom_id
                .split_once(':')
                .and_then(|(a, id)| Some((ButtonAction::parse(a)?, id)))
            else {
                return Ok(Interaction::Other(format!("component `{custom_id}`")));
            };
            if id.is_empty() {
                return Err(InboundError::Malformed("a button without an id".into()));
            }
            let message = p
                .message
                .as_ref()
                .and_then(|m| m["id"].as_str())
                .map(str::to_string);
            Ok(Interaction::Button {
                action,
                notification_id: id.to_string(),
                actor,
                channel: p.channel_id,
                message,
                original: p.message,
            })
        }
        other => Ok(Interaction::Other(format!("interaction type {other}"))),
    }
}
