//! What providers tell us after a send (delivery receipts, bounces,
//! inbound messages), in one vocabulary for every provider.
//!
//! A provider's `inbound` module turns its own callback (verified by its own
//! signature scheme) into these; the engine applies them.

use crate::Money;

/// A callback as it reached us. `url` is the full URL the provider called
/// (public URL + path + query), which several schemes sign.
#[derive(Debug, Clone)]
pub struct InboundRequest<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// Lower-case header names.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// Unix seconds, for replay windows.
    pub now: i64,
}

impl InboundRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Delivery states providers report, mapped to Foghorn's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Accepted by the carrier / mail server, not yet delivered.
    Sent,
    Delivered,
    Read,
    /// The provider gave up (carrier error, rejected).
    Failed,
    /// SMS: the carrier could not deliver.
    Undelivered,
    /// Email: permanent bounce; the address should be suppressed.
    BouncedHard,
    /// Email: temporary bounce.
    BouncedSoft,
    /// Email: the recipient marked it as spam; suppress.
    Complained,
    /// Timeline entries only.
    Opened,
    Clicked,
    /// The recipient unsubscribed through the provider.
    Unsubscribed,
}

/// One thing a callback reported.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundEvent {
    Status {
        /// The provider's id for the message (as returned by send).
        provider_message_id: Option<String>,
        /// Our notification id, when the provider echoes our metadata.
        notification_id: Option<String>,
        state: DeliveryState,
        /// The provider's or carrier's error code, verbatim.
        error_code: Option<String>,
        /// Short description (never the message body).
        detail: Option<String>,
        /// The recipient address the event is about (for suppression lists).
        recipient: Option<String>,
        /// The final price, when the provider reports it.
        price: Option<Money>,
        /// The provider's own id for this event, for de-duplication.
        event_id: Option<String>,
    },
    /// A message someone sent to one of our numbers.
    Message {
        provider_message_id: Option<String>,
        from: String,
        to: String,
        text: String,
        /// A photo or document sent with it (WhatsApp), still at the
        /// provider.
        media: Option<InboundMedia>,
    },
}

/// A file someone sent, as the provider announced it: fetched by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMedia {
    pub id: String,
    pub mime_type: String,
    /// The provider's SHA-256 of the file (hex or base64), checked after
    /// the download.
    pub sha256: Option<String>,
    pub filename: Option<String>,
    pub caption: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// Bad or missing signature, wrong key, stale timestamp: answer 401.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Signature fine but the payload cannot be read: answer 400.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The provider is not set up to receive callbacks (no verification secret).
    #[error("not configured: {0}")]
    NotConfigured(String),
}

/// A file downloaded from the provider, checked against the provider's
/// own hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMedia {
    pub bytes: Vec<u8>,
    pub mime_type: String,
    pub sha256_hex: String,
}
