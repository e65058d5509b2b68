//! Signed, expiring unsubscribe tokens: who (tenant, subscriber or address
//! hash), what (channel, category), until when — in the URL itself, so the
//! link needs no stored state and no login.
//!
//! The format is [`crate::signed_token`]'s, under this purpose's key.

use foghorn_core::{Channel, TenantId};
use foghorn_store::crypto::Crypto;
use serde::{Deserialize, Serialize};

const PURPOSE: &str = "unsubscribe";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(rename = "t")]
    pub tenant: TenantId,
    /// The stored subscriber's external id, when the message went to one.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub subscriber: Option<String>,
    /// Keyed hash of the address, for recipients who are not subscribers.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub address_hash: Option<String>,
    #[serde(rename = "c")]
    pub channel: Channel,
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The notification the link came in, for the audit trail.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<String>,
    /// Unix seconds after which the link no longer works.
    #[serde(rename = "e")]
    pub expires: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the link is not a valid unsubscribe link")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

/// The token for `claims`; None only when the key ring is empty.
pub fn sign(crypto: &Crypto, claims: &Claims) -> Option<String> {
    crate::signed_token::sign(crypto, PURPOSE, claims)
}

/// The claims of a genuine token that has not expired at `now` (unix seconds).
pub fn verify(crypto: &Crypto, token: &str, now: i64) -> Result<Claims, TokenError> {
    let claims: Claims =
        crate::signed_token::open(crypto, PURPOSE, token).ok_or(TokenError::Invalid)?;
    if claims.subscriber.is_none() && claims.address_hash.is_none() {
        return Err(TokenError::Invalid);
    }
    if now > claims.expires {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;

    fn claims(expires: i64) -> Claims {
        Claims {
            tenant: "default".into(),
            subscriber: Some("owner-42".into()),
            address_hash: Some("ab12".into()),
            channel: Channel::Email,
            category: Some("warranty".into()),
            notification: Some("ntf_1".into()),
            expires,
        }
    }

    #[test]
    fn round_trips_and_refuses_tampering_and_age() {
        let crypto = Crypto::ephemeral();
        let token = sign(&crypto, &claims(1_000)).unwrap();
        assert!(token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
        assert_eq!(verify(&crypto, &token, 999).unwrap(), claims(1_000));
        assert_eq!(verify(&crypto, &token, 1_001), Err(TokenError::Expired));
        // Another subscriber's id in the same signature.
        let (_, tag) = token.split_once('.').unwrap();
        let mut other = claims(1_000);
        other.subscriber = Some("owner-43".into());
        let forged = format!("{}.{tag}", B64.encode(serde_json::to_vec(&other).unwrap()));
        assert_eq!(verify(&crypto, &forged, 0), Err(TokenError::Invalid));
        // A later expiry in the same signature.
        let later = format!(
            "{}.{tag}",
            B64.encode(serde_json::to_vec(&claims(9_999)).unwrap())
        );
        assert_eq!(verify(&crypto, &later, 0), Err(TokenError::Invalid));
        for bad in ["", "abc", "a.b", &token.replace('.', "")] {
            assert_eq!(verify(&crypto, bad, 0), Err(TokenError::Invalid), "{bad}");
        }
        assert_eq!(
            verify(&Crypto::ephemeral(), &token, 0),
            Err(TokenError::Invalid),
            "another installation's key"
        );
    }
}
