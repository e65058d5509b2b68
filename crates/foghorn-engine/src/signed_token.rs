//! Claims carried in a URL and signed, so a link needs no stored state and
//! no login: `base64url(JSON claims) "." base64url(HMAC-SHA256)`, the MAC
//! over the first part under a key derived from the master key ring for one
//! purpose only (an unsubscribe token is no acknowledgement token).
//! Verification tries every key of the ring in constant time, so links
//! survive a key rotation until they expire.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use foghorn_store::crypto::Crypto;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Longest token accepted; real ones are a few hundred characters.
const MAX_LEN: usize = 2048;

/// The token for `claims`; None only when the key ring is empty.
pub fn sign(crypto: &Crypto, purpose: &str, claims: &impl Serialize) -> Option<String> {
    let json = serde_json::to_vec(claims).ok()?;
    let payload = B64.encode(json);
    let tag = crypto.sign(purpose, payload.as_bytes())?;
    Some(format!("{payload}.{}", B64.encode(tag)))
}

/// The claims of a genuine token for `purpose`; None for anything else.
/// Expiry is the caller's, as its claims say it.
pub fn open<T: DeserializeOwned>(crypto: &Crypto, purpose: &str, token: &str) -> Option<T> {
    if token.len() > MAX_LEN {
        return None;
    }
    let (payload, tag) = token.split_once('.')?;
    let tag = B64.decode(tag).ok()?;
    if !crypto.verify(purpose, payload.as_bytes(), &tag) {
        return None;
    }
    serde_json::from_slice(&B64.decode(payload).ok()?).ok()
}

/// Links to one thing of one tenant's (`{public_url}/{path}/{token}`),
/// signed for one purpose and expiring: acknowledgement pages, the files
/// people sent.
#[derive(Debug, Clone)]
pub struct Links {
    crypto: Crypto,
    /// `https://foghorn.example`, no trailing slash.
    public_url: Option<String>,
    purpose: &'static str,
    path: &'static str,
    ttl: std::time::Duration,
}

/// What a link names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkClaims {
    #[serde(rename = "t")]
    pub tenant: foghorn_core::TenantId,
    /// The notification, file … the link is for.
    #[serde(rename = "n")]
    pub id: String,
    /// Unix seconds after which the link no longer works.
    #[serde(rename = "e")]
    pub expires: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is not valid")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

impl Links {
    pub fn new(
        crypto: Crypto,
        public_url: Option<&str>,
        purpose: &'static str,
        path: &'static str,
        ttl: std::time::Duration,
    ) -> Links {
        Links {
            crypto,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
            purpose,
            path,
            ttl,
        }
    }

    /// The link for `id`; None without a public URL.
    pub fn url(&self, tenant: &foghorn_core::TenantId, id: &str, now_s: i64) -> Option<String> {
        let base = self.public_url.as_deref()?;
        let claims = LinkClaims {
            tenant: tenant.clone(),
            id: id.to_string(),
            expires: now_s + self.ttl.as_secs() as i64,
        };
        let token = sign(&self.crypto, self.purpose, &claims)?;
        Some(format!("{base}/{}/{token}", self.path))
    }
}

/// The claims of a genuine `purpose` link that has not expired at `now_s`.
pub fn verify_link(
    crypto: &Crypto,
    purpose: &str,
    token: &str,
    now_s: i64,
) -> Result<LinkClaims, LinkError> {
    let claims: LinkClaims = open(crypto, purpose, token).ok_or(LinkError::Invalid)?;
    if now_s > claims.expires {
        return Err(LinkError::Expired);
    }
    Ok(claims)
}
