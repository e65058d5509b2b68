//! Discord's wire format (discord-api-docs: resources/webhook.mdx "Execute
//! Webhook", resources/message.mdx "Embed Object"/"Allowed Mentions",
//! topics/rate-limits.mdx, interactions/receiving-and-responding.mdx):
//!
//! - Webhooks: `POST {webhook url}?wait=true[&thread_id=…]` with a JSON body
//!   (`content`, `embeds` ≤ 10, `allowed_mentions`); with `wait` the answer
//!   is the message object (`id`, `channel_id`), and a failure is an error
//!   instead of a silent drop. A webhook not owned by an application cannot
//!   carry buttons.
//! - Bot: `POST /api/v10/channels/{id}/messages` with `Authorization: Bot
//!   <token>` and a `User-Agent: DiscordBot ($url, $version)`, which Discord
//!   requires.
//! - Embeds: title 256, description 4096, 25 fields (name 256, value 1024),
//!   footer 2048, 6000 in all; colour an integer.
//! - Rate limits: `X-RateLimit-Remaining` and `X-RateLimit-Reset-After`
//!   (seconds, a float) on every answer; a 429's JSON `retry_after` (float
//!   seconds) and `global`. 401, 403 and 429 count towards the 10,000
//!   invalid requests in 10 minutes that get an IP banned.
//! - Errors: `{"code": 10003, "message": "Unknown Channel"}`; match the code,
//!   not the message.

use serde::Deserialize;

pub const DEFAULT_BASE_URL: &str = "https://discord.com/api/v10";
pub const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/foghorn-notify/foghorn, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);

/// Discord's palette (discord.js `Colors`: Green, Yellow, Red, Blurple).
pub const GREEN: u32 = 0x57F287;
pub const YELLOW: u32 = 0xFEE75C;
pub const RED: u32 = 0xED4245;
pub const BLURPLE: u32 = 0x5865F2;

pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 4096;
pub const FIELDS_MAX: usize = 25;
pub const FIELD_NAME_MAX: usize = 256;
pub const FIELD_VALUE_MAX: usize = 1024;
pub const FOOTER_MAX: usize = 2048;
pub const CONTENT_MAX: usize = 2000;

/// Button styles (components/reference.mdx): 1 primary, 2 secondary,
/// 3 success, 4 danger, 5 link.
pub const STYLE_SECONDARY: u8 = 2;
pub const STYLE_SUCCESS: u8 = 3;
pub const STYLE_LINK: u8 = 5;

/// Interaction types and callback types.
pub const PING: u8 = 1;
pub const APPLICATION_COMMAND: u8 = 2;
pub const MESSAGE_COMPONENT: u8 = 3;
pub const PONG: u8 = 1;
pub const CHANNEL_MESSAGE_WITH_SOURCE: u8 = 4;
pub const DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: u8 = 5;
pub const UPDATE_MESSAGE: u8 = 7;
/// Message flag: only the person who asked sees it.
pub const EPHEMERAL: u32 = 1 << 6;

/// The message object, as far as Foghorn reads it.
#[derive(Debug, Deserialize)]
pub struct Message {
    pub id: String,
    #[serde(default)]
    pub channel_id: Option<String>,
}

/// An error body.
#[derive(Debug, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
}

/// A 429's body.
#[derive(Debug, Deserialize)]
pub struct RateLimited {
    #[serde(default)]
    pub retry_after: Option<f64>,
    #[serde(default)]
    pub global: bool,
}

/// The commands Foghorn answers, as `PUT /applications/{id}/commands`
/// takes them (option type 3 is STRING).
pub fn commands() -> serde_json::Value {
    serde_json::json!([
        {
            "name": "find",
            "type": 1,
            "description": "Find documents by words in their title, boat or kind",
            "options": [{"type": 3, "name": "query", "description": "What to look for", "required": true}]
        },
        {
            "name": "boat-status",
            "type": 1,
            "description": "A boat's latest documents, upcoming expiries and open alerts",
            "options": [{"type": 3, "name": "boat", "description": "The boat's name", "required": true}]
        }
    ])
}
