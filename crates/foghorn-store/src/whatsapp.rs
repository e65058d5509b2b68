//! What WhatsApp needs kept: when each number last wrote (the 24-hour
//! window for free-form text), and the files people sent (sealed, as
//! base64 so both backends keep them alike), served by signed links.

use crate::{on_db, on_read, Result, Store};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use foghorn_core::{ids, TenantId};

/// How long after a person last wrote a business may send them text.
pub const WINDOW_MS: i64 = 24 * 3_600_000;

/// A file as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMedia {
    pub id: String,
    pub mime_type: String,
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

/// A file someone sent, to be kept.
#[derive(Debug, Clone, Copy)]
pub struct NewMedia<'a> {
    /// The sender's number: its hash goes with the file, so erasing the
    /// person erases the file.
    pub sender: &'a str,
    pub mime_type: &'a str,
    pub filename: Option<&'a str>,
    pub sha256_hex: &'a str,
    pub bytes: &'a [u8],
}

impl Store {
    /// `phone` wrote at `now`: its window is open for a day from now.
    pub async fn touch_whatsapp_window(
        &self,
        tenant_id: &TenantId,
        phone: &str,
        now: i64,
    ) -> Result<()> {
        let Some(hash) = self.crypto.lookup_hash(phone) else {
            return Ok(());
        };
        on_db!(self, |pool, DB| {
            sqlx::query(
                "INSERT INTO whatsapp_windows (tenant_id, address_hash, last_inbound_at) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant_id, address_hash) DO UPDATE SET last_inbound_at =
                   CASE WHEN excluded.last_inbound_at > whatsapp_windows.last_inbound_at
                        THEN excluded.last_inbound_at ELSE whatsapp_windows.last_inbound_at END",
            )
            .bind(tenant_id)
            .bind(&hash)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Whether `phone` wrote within the last 24 hours.
    pub async fn whatsapp_window_open(
        &self,
        tenant_id: &TenantId,
        phone: &str,
        now: i64,
    ) -> Result<bool> {
        let hashes = self.crypto.lookup_hashes(phone);
        if hashes.is_empty() {
            return Ok(false);
        }
        let last: Option<(i64,)> = on_read!(self, |pool, DB| {
            let mut q = sqlx::QueryBuilder::<DB>::new(
                "SELECT MAX(last_inbound_at) FROM whatsapp_windows WHERE tenant_id = ",
            );
            q.push_bind(tenant_id.to_string());
            q.push(" AND address_hash IN ");
            crate::push_list(&mut q, hashes.iter());
            q.build_query_as::<(Option<i64>,)>()
                .fetch_optional(pool)
                .await?
                .and_then(|(at,)| at.map(|a| (a,)))
        });
        Ok(last.is_some_and(|(at,)| now - at < WINDOW_MS))
    }

    /// Keeps a file someone sent; returns its id.
    pub async fn put_media(
        &self,
        tenant_id: &TenantId,
        media: &NewMedia<'_>,
        now: i64,
    ) -> Result<String> {
        let id = ids::media_id();
        let data = self
            .crypto
            .seal("inbound_media.data", &B64.encode(media.bytes));
        let filename = media
            .filename
            .map(|f| self.crypto.seal("inbound_media.filename", f));
        let sender = self.crypto.lookup_hash(media.sender);
        on_db!(self, |pool, DB| {
            sqlx::query(
                "INSERT INTO inbound_media (id, tenant_id, mime_type, size, sha256, filename, data, created_at, address_hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&id)
            .bind(tenant_id)
            .bind(media.mime_type)
            .bind(media.bytes.len() as i64)
            .bind(media.sha256_hex)
            .bind(&filename)
            .bind(&data)
            .bind(now)
            .bind(&sender)
            .execute(pool)
            .await?;
        });
        Ok(id)
    }

    /// A kept file of the tenant's.
    pub async fn media(&self, tenant_id: &TenantId, id: &str) -> Result<Option<StoredMedia>> {
        let row: Option<(String, Option<String>, String)> = on_read!(self, |pool, DB| {
            sqlx::query_as(
                "SELECT mime_type, filename, data FROM inbound_media WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        let Some((mime_type, filename, data)) = row else {
            return Ok(None);
        };
        let encoded = self.crypto.open("inbound_media.data", &data)?;
        let bytes = B64
            .decode(encoded)
            .map_err(|e| crate::StoreError::Corrupt(format!("media {id}: {e}")))?;
        Ok(Some(StoredMedia {
            id: id.to_string(),
            mime_type,
            filename: self
                .crypto
                .open_opt("inbound_media.filename", filename.as_deref())?,
            bytes,
        }))
    }
}
