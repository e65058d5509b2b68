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
