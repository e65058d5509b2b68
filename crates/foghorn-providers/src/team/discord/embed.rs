//! A card drawn as a Discord embed: title, description, inline fields, a
//! footer, the time and a colour by severity; the mention goes in
//! `content` (mentions in embeds do not ping) with `allowed_mentions`
//! naming only it, so nothing in the event data can ping anyone else.

use super::api;
use crate::team::clip;
use foghorn_core::team::{Actor, ButtonAction};
use foghorn_core::{Card, Severity};
use serde_json::{json, Value};

pub fn colour(s: Severity) -> u32 {
    match s {
        Severity::Info => api::BLURPLE,
        Severity::Success => api::GREEN,
        Severity::Warning => api::YELLOW,
        Severity::Error => api::RED,
    }
}

/// The card's template output is Slack-style mrkdwn escaped only where
/// a Slack template asked for it; Discord shows the characters as they are.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub fn embed(card: &Card, now_rfc3339: &str) -> Value {
    let mut description = unescape(&card.body);
    // A webhook cannot carry link buttons: links become markdown links.
    for (label, url) in &card.links {
        if !description.is_empty() {
            description.push('\n');
        }
        description.push_str(&format!("[{}]({url})", unescape(label)));
    }
    let mut e = json!({
        "type": "rich",
        "description": clip(&description, api::DESCRIPTION_MAX),
        "color": colour(card.severity),
        "timestamp": now_rfc3339,
    });
    if let Some(title) = &card.title {
        e["title"] = json!(clip(&unescape(title), api::TITLE_MAX));
    }
    if let Some((_, url)) = card.links.first() {
        e["url"] = json!(url);
    }
    if !card.fields.is_empty() {
        e["fields"] = card
            .fields
            .iter()
            .take(api::FIELDS_MAX)
            .map(|(n, v)| {
                json!({
                    "name": clip(&unescape(n), api::FIELD_NAME_MAX),
                    "value": clip(&unescape(v), api::FIELD_VALUE_MAX),
                    "inline": true,
                })
            })
            .collect();
    }
    if let Some(footer) = &card.context {
        e["footer"] = json!({"text": clip(&unescape(footer), api::FOOTER_MAX)});
    }
    e
}

/// Only the mention the step names may ping: `<@&ROLE>` a role, `<@USER>`
/// a user; `@everyone` and anything in the data never.
pub fn allowed_mentions(mention: Option<&str>) -> Value {
    let mut roles = Vec::new();
    let mut users = Vec::new();
    if let Some(m) = mention {
        for part in m.split_whitespace() {
            if let Some(id) = part.strip_prefix("<@&").and_then(|r| r.strip_suffix('>')) {
                roles.push(id.to_string());
            } else if let Some(id) = part
                .strip_prefix("<@")
                .and_then(|r| r.strip_suffix('>'))
                .map(|r| r.trim_start_matches('!'))
            {
                users.push(id.to_string());
            }
        }
    }
    json!({"parse": [], "roles": roles, "users": users})
}

/// The message body for a webhook or the bot; buttons only for the bot.
pub fn message(card: &Card, notification_id: &str, now_rfc3339: &str, buttons: bool) -> Value {
    let mut body = json!({
        "embeds": [embed(card, now_rfc3339)],
        "allowed_mentions": allowed_mentions(card.mention.as_deref()),
    });
    if let Some(m) = &card.mention {
        body["content"] = json!(clip(m, api::CONTENT_MAX));
    }
    if buttons {
        let mut row: Vec<Value> = card
            .links
            .iter()
            .take(3)
            .map(|(label, url)| json!({"type": 2, "style": api::STYLE_LINK, "label": clip(&unescape(label), 80), "url": url}))
            .collect();
        if card.acknowledge {
            row.push(
                json!({"type": 2, "style": api::STYLE_SUCCESS, "label": "Acknowledge",
                "custom_id": format!("{}:{notification_id}", ButtonAction::Acknowledge.id())}),
            );
            row.push(
                json!({"type": 2, "style": api::STYLE_SECONDARY, "label": "Dismiss",
                "custom_id": format!("{}:{notification_id}", ButtonAction::Dismiss.id())}),
            );
        }
        if !row.is_empty() {
            body["components"] = json!([{"type": 1, "components": row}]);
        }
    }
    body
}

/// `body` with `note` (said at `at_ms`) as a last field of its embed,
/// the time shown in each reader's zone.
pub fn noted(mut body: Value, note: &str, at_ms: i64) -> Value {
    let line = format!("{} at <t:{}:t>", clip(note, 900), at_ms / 1000);
    if let Some(fields) = body["embeds"][0]["fields"].as_array_mut() {
        fields.push(json!({"name": "Update", "value": line, "inline": false}));
    } else if body["embeds"][0].is_object() {
        body["embeds"][0]["fields"] = json!([{"name": "Update", "value": line, "inline": false}]);
    }
    body
}

/// The clicked message afterwards (an UPDATE_MESSAGE's data): its embeds
/// with a line saying who did what, and only its link buttons left.
pub fn settled(original: Option<&Value>, what: &str, actor: &Actor, at_ms: i64) -> Value {
    let mut embeds: Vec<Value> = original
        .and_then(|m| m["embeds"].as_array())
        .cloned()
        .unwrap_or_default();
    let who = if actor.id.is_empty() {
        "someone".to_string()
    } else {
        format!("<@{}>", actor.id)
    };
    // `<t:…:t>` shows the time in each reader's zone.
    let line = format!("{what} by {who} at <t:{}:t>", at_ms / 1000);
    match embeds.first_mut() {
        Some(first) => {
            let fields = first["fields"].as_array().cloned().unwrap_or_default();
            let mut fields = fields;
            fields.push(json!({"name": what, "value": line, "inline": false}));
            first["fields"] = Value::Array(fields);
        }
        None => embeds.push(json!({"type": "rich", "description": line})),
    }
    let mut rows: Vec<Value> = original
        .and_then(|m| m["components"].as_array())
        .cloned()
        .unwrap_or_default();
    for row in &mut rows {
        if let Some(items) = row["components"].as_array_mut() {
            items.retain(|c| c["style"] == api::STYLE_LINK);
        }
    }
    rows.retain(|r| r["components"].as_array().is_some_and(|c| !c.is_empty()));
    json!({"embeds": embeds, "components": rows, "allowed_mentions": {"parse": []}})
}
