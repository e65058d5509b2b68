//! Rows as stored. Plain data: the API layer turns them into its own shapes.

use crate::crypto::{Crypto, CryptoError};
use foghorn_core::TenantId;
use foghorn_core::{Channel, Contact, Status};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub tenant_id: TenantId,
    pub prefix: String,
    pub hash: String,
    /// Space-separated scopes.
    pub scopes: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct NotificationRow {
    pub id: String,
    pub tenant_id: TenantId,
    pub event_id: String,
    pub workflow: String,
    pub step: i64,
    pub channel: Channel,
    pub subscriber_id: Option<String>,
    /// JSON: the address and the recipient facts templates may use.
    pub recipient: String,
    pub status: Status,
    pub status_reason: Option<String>,
    pub grouping_key: Option<String>,
    pub idempotency_key: Option<String>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub cost_micros: Option<i64>,
    pub currency: Option<String>,
    pub attempts: i64,
    pub parent_id: Option<String>,
    pub send_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Who acknowledged it (sealed), when and how (a Slack or Discord
    /// button); separate from the status.
    #[sqlx(default)]
    pub acknowledged_at: Option<i64>,
    #[sqlx(default)]
    pub acknowledged_by: Option<String>,
    #[sqlx(default)]
    pub acknowledged_via: Option<String>,
    /// The notification this one escalates (sent only while that one is
    /// unacknowledged).
    #[sqlx(default)]
    pub escalates: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct AttemptRow {
    pub id: String,
    pub tenant_id: TenantId,
    pub notification_id: String,
    pub provider: String,
    pub outcome: String,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default, FromRow)]
pub struct SubscriberRow {
    pub tenant_id: TenantId,
    pub external_id: String,
    /// The name is not a column: it is kept in `data`.
    #[sqlx(flatten)]
    pub contact: Contact,
    /// JSON object of free-form attributes.
    pub data: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Keyed hashes (HMAC) of the normalised email and phone, for look-ups
    /// without decrypting.
    pub email_hash: Option<String>,
    pub phone_hash: Option<String>,
    /// The subscriber's own quiet hours (`21:00-08:00`, `""` for none);
    /// None follows the tenant's. Set through the preferences only.
    #[sqlx(default)]
    pub quiet_hours: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct WorkflowRow {
    pub tenant_id: TenantId,
    pub name: String,
    /// The workflow document as JSON.
    pub document: String,
    pub updated_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct SandboxMessageRow {
    pub id: String,
    pub tenant_id: TenantId,
    pub notification_id: String,
    pub channel: Channel,
    pub recipient: String,
    pub content: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: String,
    pub tenant_id: TenantId,
    pub name: String,
    pub idempotency_key: Option<String>,
    pub grouping_key: Option<String>,
    pub data: String,
    pub response: String,
    pub created_at: i64,
}

/// A provider's report about a notification, after the send.
#[derive(Debug, Clone, FromRow)]
pub struct TimelineRow {
    pub id: String,
    pub tenant_id: TenantId,
    pub notification_id: String,
    pub at: i64,
    /// `delivered`, `bounced`, `complained`, `opened`, `clicked`, …
    pub kind: String,
    /// The configured provider instance that reported it.
    pub provider: Option<String>,
    /// The provider's or carrier's error code, verbatim.
    pub code: Option<String>,
    pub detail: Option<String>,
}

/// An address no notification of the channel may go to.
#[derive(Debug, Clone, FromRow)]
pub struct SuppressionRow {
    pub tenant_id: TenantId,
    pub channel: Channel,
    pub address_hash: String,
    pub id: String,
    /// None when the entry came from an unsubscribe link (hash only).
    pub address: Option<String>,
    /// `bounced`, `complained` or `unsubscribed`.
    pub reason: String,
    pub source: String,
    pub created_at: i64,
}

/// One opt-out or opt-in, of an address (an SMS keyword, an unsubscribe
/// link of a recipient who is no subscriber) or of a subscriber.
#[derive(Debug, Clone, FromRow)]
pub struct ConsentRow {
    pub id: String,
    pub tenant_id: TenantId,
    pub channel: Channel,
    pub address_hash: Option<String>,
    pub address: Option<String>,
    pub subscriber_id: Option<String>,
    /// The one category the change is about; None for the whole channel.
    pub category: Option<String>,
    /// `opt_out` or `opt_in`.
    pub action: String,
    pub keyword: Option<String>,
    pub provider: Option<String>,
    /// `sms-keyword`, `one-click`, `page`, `api`, …
    pub source: String,
    /// Who made the change, as the audit trail names them (`key:<id>`,
    /// `recipient:one-click`); None for provider reports.
    pub actor: Option<String>,
    /// The words the person agreed to, for an opt-in that showed some.
    #[sqlx(default)]
    pub consent_text: Option<String>,
    pub at: i64,
}

/// A choice a subscriber made not to receive a channel — all of it, or one
/// category of it. Kept apart from the profile, so a PUT of the profile
/// cannot undo it by leaving it out.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct OptOutRow {
    pub tenant_id: TenantId,
    pub subscriber_id: String,
    pub channel: Channel,
    /// Empty for every category of the channel.
    pub category: String,
    pub source: String,
    pub actor: String,
    pub created_at: i64,
}

/// A subscriber's yes to a category on a channel: needed where the
/// category is off by default, and for SMS marketing.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct OptInRow {
    pub tenant_id: TenantId,
    pub subscriber_id: String,
    pub channel: Channel,
    pub category: String,
    pub source: String,
    pub actor: String,
    pub consent_text: Option<String>,
    pub created_at: i64,
}

impl OptOutRow {
    /// Whether this opt-out stops a `channel` message of `category`.
    pub fn covers(&self, channel: Channel, category: Option<&str>) -> bool {
        self.channel == channel
            && (self.category.is_empty() || Some(self.category.as_str()) == category)
    }
}

// Which columns are sealed, and how each row opens. The column name is the
// associated data of its ciphertexts.
impl NotificationRow {
    pub(crate) fn open(mut self, c: &Crypto) -> Result<Self, CryptoError> {
        self.recipient = c.open("notifications.recipient", &self.recipient)?;
        self.acknowledged_by = c.open_opt(
            "notifications.acknowledged_by",
            self.acknowledged_by.as_deref(),
        )?;
        Ok(self)
    }
}

impl AttemptRow {
    pub(crate) fn open(mut self, c: &Crypto) -> Result<Self, CryptoError> {
        self.error = c.open_opt("attempts.error", self.error.as_deref())?;
        Ok(self)
    }
}

impl SubscriberRow {
    pub(crate) fn open(mut self, c: &Crypto) -> Result<Self, CryptoError> {
        let k = &mut self.contact;
        k.email = c.open_opt("subscribers.email", k.email.as_deref())?;
        k.phone = c.open_opt("subscribers.phone", k.phone.as_deref())?;
        k.whatsapp = c.open_opt("subscribers.whatsapp", k.whatsapp.as_deref())?;
        self.data = c.open("subscribers.data", &self.data)?;
        Ok(self)
    }

    /// The row as stored: sealed fields, look-up hashes computed.
    pub(crate) fn sealed(&self, c: &Crypto) -> SubscriberRow {
        let k = &self.contact;
        SubscriberRow {
            contact: Contact {
                email: c.seal_opt("subscribers.email", k.email.as_deref()),
                phone: c.seal_opt("subscribers.phone", k.phone.as_deref()),
                whatsapp: c.seal_opt("subscribers.whatsapp", k.whatsapp.as_deref()),
                ..k.clone()
            },
            data: c.seal("subscribers.data", &self.data),
            email_hash: k.email.as_deref().and_then(|e| c.lookup_hash(e)),
            phone_hash: k.phone.as_deref().and_then(|p| c.lookup_hash(p)),
            ..self.clone()
        }
    }
}

impl SandboxMessageRow {
    pub(crate) fn open(mut self, c: &Crypto) -> Result<Self, CryptoError> {
        self.recipient = c.open("sandbox_messages.recipient", &self.recipient)?;
        self.content = c.open("sandbox_messages.content", &self.content)?;
        Ok(self)
    }
}

impl EventRow {
    pub(crate) fn open(mut self, c: &Crypto) -> Result<Self, CryptoError> {
        self.data = c.open("events.data", &self.data)?;
        Ok(self)
    }
}

impl TimelineRow {
    pub(crate) fn open(mut self, c: &Crypto) -> Result<Self, CryptoError> {
        self.detail = c.open_opt("timeline.detail", self.detail.as_deref())?;
        Ok(self)
    }
}

impl SuppressionRow {
    pub(crate) fn open(mut self, c: &Crypto) -> Result<Self, CryptoError> {
        self.address = c.open_opt("suppressions.address", self.address.as_deref())?;
        Ok(self)
    }
}

impl ConsentRow {
    pub(crate) fn open(mut self, c: &Crypto) -> Result<Self, CryptoError> {
        self.address = c.open_opt("consent_ledger.address", self.address.as_deref())?;
        Ok(self)
    }
}
