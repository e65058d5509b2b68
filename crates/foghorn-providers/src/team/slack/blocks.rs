//! A card drawn in Block Kit: a header, a mrkdwn section with fields, a
//! context line and a row of buttons (links, Acknowledge, Dismiss).
//!
//! Limits from `slack_sdk/models/blocks` (counted in characters): header
//! text 150, section text 3000, 10 fields, button text 75, button value
//! 2000, 50 blocks a message. Event data in mrkdwn was escaped when the
//! template rendered (`&`, `<`, `>`), so it cannot ping `@channel`.

use super::super::clip;
use foghorn_core::team::{Actor, ButtonAction};
use foghorn_core::{Card, Severity};
use serde_json::{json, Value};

const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
const FIELDS_MAX: usize = 10;
const BUTTON_TEXT_MAX: usize = 75;
const URL_MAX: usize = 3000;

/// Reverses the template's mrkdwn escaping, for `plain_text` objects,
/// which Slack shows literally.
fn plain(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn severity_mark(s: Severity) -> Option<&'static str> {
    match s {
        Severity::Info => None,
        Severity::Success => Some(":large_green_circle:"),
        Severity::Warning => Some(":large_yellow_circle:"),
        Severity::Error => Some(":red_circle:"),
    }
}

fn button(text: &str, action: &str) -> Value {
    json!({
        "type": "button",
        "text": {"type": "plain_text", "text": clip(&plain(text), BUTTON_TEXT_MAX), "emoji": true},
        "action_id": action,
    })
}

/// The blocks of `card`, for notification `notification_id`.
pub fn draw(card: &Card, notification_id: &str) -> Vec<Value> {
    let mut blocks = Vec::new();
    if let Some(title) = card.title.as_deref().filter(|t| !t.trim().is_empty()) {
        blocks.push(json!({
            "type": "header",
            "text": {"type": "plain_text", "text": clip(&plain(title), HEADER_MAX), "emoji": true},
        }));
    }
    let mut text = String::new();
    if let Some(mention) = &card.mention {
        text.push_str(mention);
        text.push(' ');
    }
    text.push_str(&card.body);
    let fields: Vec<Value> = card
        .fields
        .iter()
        .take(FIELDS_MAX)
        .map(|(name, value)| {
            json!({"type": "mrkdwn", "text": clip(&format!("*{name}*\n{value}"), FIELD_MAX)})
        })
        .collect();
    if !text.trim().is_empty() || !fields.is_empty() {
        let mut section = json!({"type": "section"});
        if !text.trim().is_empty() {
            section["text"] = json!({"type": "mrkdwn", "text": clip(text.trim(), SECTION_MAX)});
        }
        if !fields.is_empty() {
            section["fields"] = Value::Array(fields);
        }
        blocks.push(section);
    }
    let mut context: Vec<String> = Vec::new();
    if let Some(mark) = severity_mark(card.severity) {
        context.push(format!("{mark} {}", card.severity.as_str()));
    }
    if let Some(line) = card.context.as_deref().filter(|c| !c.trim().is_empty()) {
        context.push(line.to_string());
    }
    if !context.is_empty() {
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": clip(&context.join("  ·  "), SECTION_MAX)}],
        }));
    }
    let mut buttons: Vec<Value> = Vec::new();
    for (i, (label, url)) in card.links.iter().enumerate().take(5) {
        let mut b = button(label, &format!("link_{i}"));
        b["url"] = json!(clip(url, URL_MAX));
        buttons.push(b);
    }
    if card.acknowledge {
        let mut ack = button("Acknowledge", ButtonAction::Acknowledge.id());
        ack["value"] = json!(notification_id);
        ack["style"] = json!("primary");
        buttons.push(ack);
        let mut dismiss = button("Dismiss", ButtonAction::Dismiss.id());
        dismiss["value"] = json!(notification_id);
        buttons.push(dismiss);
    }
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "block_id": "foghorn_actions", "elements": buttons}));
    }
    blocks
}

/// The clicked message as it reads afterwards: the original blocks without
/// Foghorn's buttons (links stay), and a line saying who did what, shown
/// in each reader's own time zone (`<!date^…>`, with UTC as the fallback).
pub fn settled(original: Option<&Value>, what: &str, actor: &Actor, at_ms: i64) -> Vec<Value> {
    let mut blocks: Vec<Value> = original
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for block in &mut blocks {
        if block["type"] == "actions" {
            if let Some(elements) = block["elements"].as_array_mut() {
                elements.retain(|e| {
                    e["action_id"]
                        .as_str()
                        .and_then(ButtonAction::parse)
                        .is_none()
                });
            }
        }
    }
    blocks.retain(|b| {
        b["type"] != "actions" || b["elements"].as_array().is_some_and(|e| !e.is_empty())
    });
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": settled_line(what, actor, at_ms)}],
    }));
    blocks
}

/// A note (its text escaped, as mrkdwn) with the time in the reader's zone.
pub fn noted_line(note: &str, at_ms: i64) -> String {
    let note = note
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(":white_check_mark: {note} at {}", when(at_ms))
}

/// A time Slack shows in each reader's zone, with a UTC fallback.
fn when(at_ms: i64) -> String {
    let secs = at_ms / 1000;
    let fallback = chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    format!("<!date^{secs}^{{date_short_pretty}} {{time}}|{fallback}>")
}

/// "Acknowledged by <@U123> at 14:02" in the reader's zone.
pub fn settled_line(what: &str, actor: &Actor, at_ms: i64) -> String {
    let who = if actor.id.is_empty() {
        "someone".to_string()
    } else {
        format!("<@{}>", actor.id)
    };
    format!(":white_check_mark: {what} by {who} at {}", when(at_ms))
}
