//! Team channels: Slack and Discord, each an app that posts cards to a
//! channel (an incoming webhook or a bot) and hears back from people
//! (buttons, slash commands) through a signed interactions endpoint.
//!
//! Each folder has the same shape as the other providers': `mod.rs`
//! (configuration, `send`, the interaction hooks), `api.rs` (the wire format
//! and the facts it relies on), a drawing of the card in the app's format,
//! `interactions.rs` (signature and payloads) and `tests.rs`. What both
//! share — where a message goes and under which trust rule, and text limits —
//! is here.

pub mod discord;
pub mod slack;

#[cfg(test)]
pub(crate) mod testkit;

use crate::net_guard;
use crate::webhook::Reach;
use foghorn_core::{Address, Card, Outbound, ProviderError};
use reqwest::Url;

/// The card to draw: the rendered one, else the text as its body.
pub(crate) fn card(msg: &Outbound) -> Card {
    match &msg.content.card {
        Some(card) => card.clone(),
        None => Card {
            body: msg.content.text.clone().unwrap_or_default(),
            ..Card::default()
        },
    }
}

/// At most `max` characters (the apps count characters, not bytes), with an
/// ellipsis where it was cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A webhook URL to post to, and the client and rule that may reach it: a
/// URL from a tenant's own workflow obeys the tenants' rule.
pub(crate) fn webhook_target<'a>(
    msg: &Outbound,
    fixed: Option<&Url>,
    reach: &'a Reach,
    tenant_reach: &'a Reach,
    what: &str,
) -> Result<(Url, &'a Reach), ProviderError> {
    let (url, reach) = match (&msg.to, fixed) {
        (Address::Url(text), _) if !text.is_empty() => {
            let url = Url::parse(text)
                .map_err(|e| ProviderError::permanent(format!("invalid {what} URL: {e}")))?;
            (
                url,
                if msg.tenant_target {
                    tenant_reach
                } else {
                    reach
                },
            )
        }
        (Address::Url(_), Some(url)) => (url.clone(), reach),
        (Address::Url(_), None) => {
            return Err(ProviderError::misconfigured(format!(
                "no {what} URL: the step names none and none is configured"
            )))
        }
        (Address::Email(_) | Address::Phone(_) | Address::Channel(_), _) => {
            return Err(ProviderError::permanent(format!(
                "a {what} goes to a URL, not to `{}`",
                msg.to.as_str()
            )))
        }
    };
    net_guard::check_url(&url, reach.allow_private)?;
    Ok((url, reach))
}
