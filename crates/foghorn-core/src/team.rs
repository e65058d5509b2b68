//! What team channels (Slack, Discord) share: the card a template renders
//! into, which each provider draws in its own format (Block Kit, an embed),
//! and the interactions people send back (a button, a slash command), read
//! by the provider and answered by the engine.

use serde::{Deserialize, Serialize};

/// How serious an alert is; Discord colours the embed by it, Slack's
/// context line names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Success,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Success => "success",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A message for people in a channel, independent of the app that shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// The headline (a Slack header block, an embed's title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Markdown body: Slack mrkdwn, with event data already escaped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// Short name/value pairs shown side by side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<(String, String)>,
    /// A small line under the message (an embed's footer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Buttons that open a page: (label, URL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<(String, String)>,
    /// Whether the message carries Acknowledge and Dismiss buttons.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub acknowledge: bool,
    #[serde(default)]
    pub severity: Severity,
    /// Who is pinged, as the app writes it (`<@&123>` for a Discord role,
    /// `<!subteam^S123>` for a Slack user group); nobody else can be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention: Option<String>,
}

impl Card {
    /// The plain text of the card, for notifications, previews and
    /// clients that show no blocks.
    pub fn fallback_text(&self) -> String {
        let mut out = String::new();
        if let Some(mention) = &self.mention {
            out.push_str(mention);
            out.push(' ');
        }
        if let Some(title) = &self.title {
            out.push_str(title);
            if !self.body.is_empty() {
                out.push_str(": ");
            }
        }
        out.push_str(&self.body);
        out
    }
}

/// Who clicked or typed, as the app names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub name: String,
}

impl Actor {
    /// How an acknowledgement records them: `slack:U123 (alice)`.
    pub fn label(&self, app: &str) -> String {
        if self.name.is_empty() {
            format!("{app}:{}", self.id)
        } else {
            format!("{app}:{} ({})", self.id, self.name)
        }
    }
}

/// A button on one of Foghorn's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonAction {
    Acknowledge,
    Dismiss,
    Renew,
}

impl ButtonAction {
    pub fn id(self) -> &'static str {
        match self {
            ButtonAction::Acknowledge => "acknowledge",
            ButtonAction::Dismiss => "dismiss",
            ButtonAction::Renew => "renew",
        }
    }

    pub fn parse(id: &str) -> Option<ButtonAction> {
        match id {
            "acknowledge" => Some(ButtonAction::Acknowledge),
            "dismiss" => Some(ButtonAction::Dismiss),
            "renew" => Some(ButtonAction::Renew),
            _ => None,
        }
    }
}

/// A question asked in the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/find query`: documents matching the words.
    Find(String),
    /// `/boat-status boat`: a boat's documents, expiries and open alerts.
    BoatStatus(String),
}

/// What a person did, as the app reported it (signature already checked).
#[derive(Debug, Clone, PartialEq)]
pub enum Interaction {
    /// Discord checking the endpoint.
    Ping,
    Button {
        action: ButtonAction,
        notification_id: String,
        actor: Actor,
        /// Where the clicked message is, to update it: Slack's channel and
        /// `ts`.
        channel: Option<String>,
        message: Option<String>,
        /// The clicked message as the app sent it along (Slack's blocks,
        /// Discord's message), to redraw it settled.
        original: Option<serde_json::Value>,
    },
    Command {
        command: Command,
        actor: Actor,
        /// Discord: `{application id}/{interaction token}`, to answer later
        /// than the 3 s the first reply has.
        follow_up: Option<String>,
    },
    /// A valid request Foghorn has nothing to do with (another app's
    /// button, an unknown command): answered politely, nothing changes.
    Other(String),
}

/// One document of the catalog, as answers list it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogHit {
    pub document_id: String,
    pub boat: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// `YYYY-MM-DD`, when the document expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
    pub updated_at: i64,
}

/// An alert nobody has acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenAlert {
    pub notification_id: String,
    pub workflow: String,
    pub created_at: i64,
}

/// The engine's answer to an interaction, for the provider to word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Pong,
    /// The message was acknowledged (now, or earlier by someone else).
    Acknowledged {
        /// Who acknowledged it first, as recorded.
        by: String,
        at_ms: i64,
        /// False when someone else had already.
        first: bool,
    },
    Dismissed {
        by: String,
        at_ms: i64,
    },
    Found {
        query: String,
        hits: Vec<CatalogHit>,
    },
    BoatStatus {
        boat: String,
        documents: Vec<CatalogHit>,
        expiring: Vec<CatalogHit>,
        open_alerts: Vec<OpenAlert>,
    },
    /// The answer is on its way (Discord: type 5, then the follow-up).
    Deferred,
    /// Something the person should read (an unknown notification, an
    /// empty query); never a secret or another tenant's fact.
    Notice(String),
}

/// The HTTP answer to the app's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(value: &serde_json::Value) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json",
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    pub fn empty() -> Reply {
        Reply {
            status: 200,
            content_type: "text/plain",
            body: Vec::new(),
        }
    }
}
