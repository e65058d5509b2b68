//! Acknowledging a notification from the message itself: the signed link
//! an email or SMS carries (`{public_url}/a/{token}`; its page's button
//! acknowledges, so link scanners that fetch it cannot), and what an
//! acknowledgement sets going. An acknowledgement covers everything the
//! person was sent about the event and cancels the escalations still
//! waiting (see `Store::acknowledge`).

use foghorn_core::TenantId;
use foghorn_store::crypto::Crypto;
use foghorn_store::{Acknowledgement, Store, StoreError};
use std::time::Duration;

const PURPOSE: &str = "acknowledge";

/// Long enough for a reminder read weeks later, short enough that an old
/// message cannot speak for its reader forever.
pub const LINK_TTL: Duration = Duration::from_secs(30 * 86_400);

pub use crate::signed_token::{LinkClaims as Claims, LinkError};

/// The acknowledgement links messages carry: `{public_url}/a/{token}`.
pub type AckLinks = crate::signed_token::Links;

pub fn links(crypto: Crypto, public_url: Option<&str>) -> AckLinks {
    AckLinks::new(crypto, public_url, PURPOSE, "a", LINK_TTL)
}

/// The claims of a genuine link that has not expired at `now_s`.
pub fn verify(crypto: &Crypto, token: &str, now_s: i64) -> Result<Claims, LinkError> {
    crate::signed_token::verify_link(crypto, PURPOSE, token, now_s)
}

/// Records an acknowledgement by `by` through `via` (`link`, `voice`,
/// `sms reply`); None when the tenant has no such notification.
pub async fn acknowledge(
    store: &Store,
    tenant: &TenantId,
    notification: &str,
    by: &str,
    via: &str,
) -> Result<Option<Acknowledgement>, StoreError> {
    let now = foghorn_core::clock::now_ms();
    let ack = store
        .acknowledge(tenant, notification, by, via, now)
        .await?;
    if let Some(a) = &ack {
        if a.first {
            metrics::counter!("foghorn_acknowledgements_total", "via" => via.to_string())
                .increment(1);
        }
        if !a.cancelled.is_empty() {
            tracing::info!(%notification, cancelled = a.cancelled.len(), "acknowledged: escalations cancelled");
        }
    }
    Ok(ack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_only_whole_fresh_and_for_acknowledging() {
        let crypto = Crypto::ephemeral();
        let url = super::links(crypto.clone(), Some("https://foghorn.example/"))
            .url(&"default".into(), "ntf_1", 1_000)
            .unwrap();
        let token = url.strip_prefix("https://foghorn.example/a/").unwrap();
        let claims = verify(&crypto, token, 1_001).unwrap();
        assert_eq!(
            (claims.tenant.as_str(), claims.id.as_str()),
            ("default", "ntf_1")
        );
        let late = 1_000 + LINK_TTL.as_secs() as i64 + 1;
        assert_eq!(verify(&crypto, token, late), Err(LinkError::Expired));
        let mut tampered = token.to_string();
        tampered.insert(3, 'x');
        assert_eq!(verify(&crypto, &tampered, 1_001), Err(LinkError::Invalid));
        assert_eq!(
            verify(&Crypto::ephemeral(), token, 1_001),
            Err(LinkError::Invalid)
        );
        // An unsubscribe token (another purpose) is no acknowledgement.
        let other = crate::signed_token::sign(&crypto, "unsubscribe", &claims).unwrap();
        assert_eq!(verify(&crypto, &other, 1_001), Err(LinkError::Invalid));
        assert!(super::links(crypto.clone(), None)
            .url(&"default".into(), "n", 0)
            .is_none());
        // A media link (another purpose) is no acknowledgement either.
        let media =
            crate::inbound::whatsapp::media_links(crypto.clone(), Some("https://f.example"))
                .url(&"default".into(), "ntf_1", 1_000)
                .unwrap();
        let token = media.rsplit('/').next().unwrap();
        assert_eq!(verify(&crypto, token, 1_001), Err(LinkError::Invalid));
    }
}
