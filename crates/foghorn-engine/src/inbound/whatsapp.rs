//! What arrives by WhatsApp: every message opens the number's 24-hour
//! window, and a photo or document is fetched from the provider, checked
//! (type, size, hash), kept, added to the catalog under the sender's boat,
//! and announced to the tenant's webhook as `document.received` with a
//! signed, expiring download link.

use super::HookError;
use crate::routing::Slot;
use crate::signed_token::Links;
use crate::workflow::system::WHATSAPP_DOCUMENT;
use foghorn_core::team::CatalogHit;
use foghorn_core::{Channel, ErrorKind, InboundMedia, TenantId};
use foghorn_store::{NewMedia, Store, SystemMessage};
use serde_json::{json, Value};
use std::time::Duration;

pub const KIND: &str = "whatsapp";

/// The largest file kept (Meta's own cap for images is 5 MB).
pub const MAX_MEDIA_BYTES: usize = 5 * 1024 * 1024;

/// What NaviDocs files: photos and PDFs.
const ALLOWED_TYPES: [&str; 5] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "application/pdf",
];

pub const MEDIA_PURPOSE: &str = "media";

/// How long a download link works.
pub const MEDIA_LINK_TTL: Duration = Duration::from_secs(7 * 86_400);

/// The download links of kept files: `{public_url}/m/{token}`.
pub fn media_links(crypto: foghorn_store::crypto::Crypto, public_url: Option<&str>) -> Links {
    Links::new(crypto, public_url, MEDIA_PURPOSE, "m", MEDIA_LINK_TTL)
}

/// One message someone sent.
pub struct Arrived<'a> {
    pub message_id: &'a str,
    pub from: &'a str,
    pub media: Option<&'a InboundMedia>,
}

/// Opens the window and keeps what came with the message; the webhook
/// announcing a kept file, to queue with the callback's other effects.
/// A provider that cannot hand the file over now makes the callback fail,
/// so the provider sends it again: nothing a person sent is dropped.
pub async fn arrived(
    store: &Store,
    links: &Links,
    slot: &Slot,
    tenant: &TenantId,
    settings: &Value,
    m: &Arrived<'_>,
    now: i64,
) -> Result<Option<SystemMessage>, HookError> {
    store.touch_whatsapp_window(tenant, m.from, now).await?;
    let Some(media) = m.media else {
        return Ok(None);
    };
    let mime = media.mime_type.split(';').next().unwrap_or_default().trim();
    if !ALLOWED_TYPES.contains(&mime) {
        tracing::info!(%mime, "a WhatsApp file of a type NaviDocs does not file; not kept");
        return Ok(None);
    }
    let fetched = match slot.provider.fetch_media(media, MAX_MEDIA_BYTES).await {
        Ok(f) => f,
        Err(e)
            if matches!(
                e.error_kind(),
                ErrorKind::Retryable | ErrorKind::RateLimited
            ) =>
        {
            return Err(HookError::Unavailable(format!(
                "the file could not be fetched yet: {e}"
            )));
        }
        Err(e) => {
            tracing::warn!(error = %e, "a WhatsApp file was refused; not kept");
            return Ok(None);
        }
    };
    let fetched_mime = fetched
        .mime_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if !ALLOWED_TYPES.contains(&fetched_mime) {
        return Ok(None);
    }
    let filename = media.filename.as_deref();
    let media_id = store
        .put_media(
            tenant,
            &NewMedia {
                sender: m.from,
                mime_type: fetched_mime,
                filename,
                sha256_hex: &fetched.sha256_hex,
                bytes: &fetched.bytes,
            },
            now,
        )
        .await?;
    let owner = store.subscriber_by_phone(tenant, m.from).await?;
    let data: Value = owner
        .as_ref()
        .and_then(|o| serde_json::from_str(&o.data).ok())
        .unwrap_or(Value::Null);
    // A stored subscriber's own data is `{"name", "attributes"}`.
    let boat = data
        .pointer("/attributes/boat")
        .and_then(Value::as_str)
        .map(str::to_string);
    let title = media
        .caption
        .clone()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| filename.map(str::to_string))
        .unwrap_or_else(|| "Photo sent by WhatsApp".to_string());
    if let Some(boat) = &boat {
        let hit = CatalogHit {
            document_id: media_id.clone(),
            boat: boat.clone(),
            title: title.clone(),
            kind: Some(
                if fetched_mime == "application/pdf" {
                    "document"
                } else {
                    "photo"
                }
                .into(),
            ),
            link: None,
            expires_on: None,
            updated_at: now,
        };
        if let Err(e) = store.put_catalog(tenant, &hit, m.message_id).await {
            tracing::warn!(error = %e, "keeping a catalog entry failed");
        }
    }
    Ok(Some(SystemMessage {
        event_name: "document.received".into(),
        workflow: WHATSAPP_DOCUMENT.into(),
        channel: Channel::Webhook,
        data: json!({
            "document_id": media_id,
            "boat": boat,
            "title": title,
            "subscriber_id": owner.as_ref().map(|o| o.external_id.clone()),
            "from": m.from,
            "channel": "whatsapp",
            "mime_type": fetched_mime,
            "size": fetched.bytes.len(),
            "sha256": fetched.sha256_hex,
            "download_url": links.url(tenant, &media_id, now / 1000),
            "received_at": super::received_at(now),
        })
        .to_string(),
        recipient: super::tenant_inbound_webhook(settings),
    }))
}
