//! Rows as stored. Plain data: the API layer turns them into its own shapes.

use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub tenant_id: String,
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
    pub tenant_id: String,
    pub event_id: String,
    pub workflow: String,
    pub step: i64,
    pub channel: String,
    pub subscriber_id: Option<String>,
    /// JSON: the address and the recipient facts templates may use.
    pub recipient: String,
    pub status: String,
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
}

#[derive(Debug, Clone, FromRow)]
pub struct AttemptRow {
    pub id: String,
    pub tenant_id: String,
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
    pub tenant_id: String,
    pub external_id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub whatsapp: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub country: Option<String>,
    /// JSON array of channel names the subscriber opted out of.
    pub opt_out: String,
    /// JSON object of free-form attributes.
    pub data: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Keyed hashes (HMAC) of the normalised email and phone, for look-ups
    /// without decrypting.
    pub email_hash: Option<String>,
    pub phone_hash: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct WorkflowRow {
    pub tenant_id: String,
    pub name: String,
    /// The workflow document as JSON.
    pub document: String,
    pub updated_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct SandboxMessageRow {
    pub id: String,
    pub tenant_id: String,
    pub notification_id: String,
    pub channel: String,
    pub recipient: String,
    pub content: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub idempotency_key: Option<String>,
    pub grouping_key: Option<String>,
    pub data: String,
    pub response: String,
    pub created_at: i64,
}
