//! Standard Webhooks signatures (<https://www.standardwebhooks.com>, the scheme
//! Svix uses), so receivers can check our deliveries with an existing library.
//!
//! Facts from the spec: the signed content is `{id}.{timestamp}.{body}`; the
//! signature is HMAC-SHA256 with the base64-decoded part of a `whsec_…`
//! secret, sent as `v1,<base64>`; `webhook-signature` may hold several
//! space-separated signatures (key rotation) and one match is enough.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::time::Duration;
use subtle::ConstantTimeEq;

const PREFIX: &str = "whsec_";
/// The spec asks for keys of 24 to 64 bytes; shorter ones are refused because
/// they are the ones that weaken the signature.
const MIN_KEY_BYTES: usize = 24;
/// How far a timestamp may be from the receiver's clock: the spec's
/// replay-protection window.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret must start with `whsec_`")]
    MissingPrefix,
    #[error("the part after `whsec_` is not valid base64")]
    BadBase64,
    #[error("the key is {0} bytes; at least {MIN_KEY_BYTES} are required")]
    TooShort(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("webhook-timestamp is not a unix time in seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is older than the tolerance")]
    Stale,
    #[error("webhook-timestamp is in the future beyond the tolerance")]
    Future,
    #[error("webhook-signature holds no `version,signature` entry")]
    Malformed,
    #[error("no signature matches")]
    Mismatch,
}

/// A signing key, kept as a keyed HMAC so signing cannot fail later.
#[derive(Clone)]
pub struct Secret(Hmac<Sha256>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let key = B64.decode(encoded).map_err(|_| SecretError::BadBase64)?;
        if key.len() < MIN_KEY_BYTES {
            return Err(SecretError::TooShort(key.len()));
        }
        Hmac::new_from_slice(&key)
            .map(Secret)
            .map_err(|_| SecretError::TooShort(key.len()))
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// The `webhook-signature` value for one delivery.
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1,{}",
        B64.encode(secret.mac(id, &timestamp.to_string(), body))
    )
}

/// Checks a delivery as a receiver would; used by our tests and available to
/// anyone receiving Foghorn webhooks in Rust. `now` (unix seconds) is passed
/// in so the replay window can be tested without a clock.
pub fn verify(
    secret: &Secret,
    id: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let timestamp: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if timestamp < now.saturating_sub(tolerance) {
        return Err(VerifyError::Stale);
    }
    if timestamp > now.saturating_add(tolerance) {
        return Err(VerifyError::Future);
    }
    let expected = secret.mac(id, timestamp_header.trim(), body);
    let mut well_formed = false;
    for entry in signature_header.split_whitespace() {
        let Some((version, sig)) = entry.split_once(',') else {
            continue;
        };
        well_formed = true;
        // Other versions (e.g. `v1a`, asymmetric) are ignored, as the spec asks.
        if version != "v1" {
            continue;
        }
        if let Ok(sig) = B64.decode(sig) {
            if bool::from(sig.as_slice().ct_eq(&expected)) {
                return Ok(());
            }
        }
    }
    Err(if well_formed {
        VerifyError::Mismatch
    } else {
        VerifyError::Malformed
    })
}
