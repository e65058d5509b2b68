//! Foghorn's own workflows: the messages it sends on its own account in
//! answer to provider callbacks. They are ordinary workflows (rendered and
//! delivered by the same engine, retried and failed over alike), present for
//! every tenant, and a workflow file of the same name replaces them.

use super::{Step, Workflow};
use foghorn_core::Channel;

/// The answer to an SMS keyword (STOP, START, HELP): `data.text` to the
/// number that sent it.
pub const SMS_REPLY: &str = "system.sms_reply";

/// An incoming SMS that is not a keyword, forwarded to the tenant's webhook.
/// The event name is the webhook's `type`.
pub const SMS_RECEIVED: &str = "sms.received";

/// A photo or document someone sent by WhatsApp, announced to the
/// tenant's webhook as `document.received` with its download link.
pub const WHATSAPP_DOCUMENT: &str = "system.whatsapp_document";

/// A budget's 80% or 100% mark, to the tenant's `alert_url`. The
/// webhook's `type` is `budget.threshold`.
pub const BUDGET_ALERT: &str = "system.budget_alert";

/// Names no application event may use.
pub fn is_system(name: &str) -> bool {
    name.starts_with("system.")
}

pub(super) fn documents() -> Vec<Workflow> {
    let step = |channel: Channel, text: Option<&str>| Step {
        channel,
        template: None,
        fallback: None,
        condition: None,
        url: None,
        destination: None,
        mention: None,
        severity: foghorn_core::Severity::Info,
        acknowledge: false,
        escalate: None,
        whatsapp_template: None,
        subject: None,
        html: None,
        text: text.map(str::to_string),
        body: None,
        // Keyword confirmations are short; they are never cut or rewritten.
        max_segments: None,
        short_links: false,
        digest: None,
    };
    vec![
        Workflow {
            name: SMS_REPLY.into(),
            category: Some("system".into()),
            description: Some("Confirms an SMS keyword (STOP, START, HELP) to its sender".into()),
            // A confirmation of an opt-out must go out whatever the caps.
            critical: true,
            steps: vec![step(Channel::Sms, Some("{{ data.text }}"))],
            ..Workflow::default()
        },
        Workflow {
            name: SMS_RECEIVED.into(),
            category: Some("inbound".into()),
            description: Some(
                "Forwards an incoming SMS to the tenant's webhook (setting `inbound_webhook_url`, else the webhook provider's url)"
                    .into(),
            ),
            critical: false,
            steps: vec![step(Channel::Webhook, None)],
            ..Workflow::default()
        },
        Workflow {
            name: WHATSAPP_DOCUMENT.into(),
            category: Some("inbound".into()),
            description: Some(
                "Announces a file sent by WhatsApp to the tenant's webhook as document.received (setting `inbound_webhook_url`, else the webhook provider's url)"
                    .into(),
            ),
            critical: false,
            steps: vec![step(Channel::Webhook, None)],
            ..Workflow::default()
        },
        Workflow {
            name: BUDGET_ALERT.into(),
            category: Some("system".into()),
            description: Some(
                "Tells the tenant's team destination (budget `alert_url`) that a monthly budget reached 80% or 100%"
                    .into(),
            ),
            // It must reach the team even when the budget is spent.
            critical: true,
            steps: vec![step(Channel::Webhook, None)],
            ..Workflow::default()
        },
    ]
}
