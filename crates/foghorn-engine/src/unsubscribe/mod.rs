//! Unsubscribing from email (RFC 2369 `List-Unsubscribe`, RFC 8058 one-click):
//! the headers and footer link each non-critical email carries, built from a
//! signed token (see [`token`]). The pages that act on the link are in
//! `api::unsubscribe`.

pub mod token;

use foghorn_core::TenantId;
use foghorn_store::crypto::Crypto;
use std::time::Duration;
use token::Claims;

/// The links of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// For the footer: the https page when Foghorn knows its public URL,
    /// else the mailto address.
    pub footer_url: String,
    /// `List-Unsubscribe` and, with an https link, `List-Unsubscribe-Post`.
    pub headers: Vec<(String, String)>,
    /// The preference centre (`/p/{token}`), for a stored subscriber when
    /// Foghorn knows its public URL: the footer's "manage preferences".
    pub preferences_url: Option<String>,
}

/// Who a message went to, as the link must name them.
pub struct Recipient<'a> {
    pub tenant: &'a TenantId,
    pub subscriber: Option<&'a str>,
    pub email: &'a str,
    pub notification: &'a str,
    pub category: Option<&'a str>,
}

/// Builds every email's unsubscribe links.
#[derive(Debug, Clone)]
pub struct Unsubscribe {
    crypto: Crypto,
    /// `https://foghorn.example`, no trailing slash.
    public_url: Option<String>,
    /// `unsubscribe@example.com`.
    mailto: Option<String>,
    ttl: Duration,
}

impl Unsubscribe {
    pub fn new(
        crypto: Crypto,
        public_url: Option<&str>,
        mailto: Option<String>,
        ttl: Duration,
    ) -> Unsubscribe {
        Unsubscribe {
            crypto,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
            mailto,
            ttl,
        }
    }

    /// The page for `token`.
    pub fn page_url(&self, token: &str) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|base| format!("{base}/p/{token}/unsubscribe"))
    }

    /// The preference centre for `token`.
    pub fn preferences_url(&self, token: &str) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|base| format!("{base}/p/{token}"))
    }

    /// A working preference-centre link for subscriber `id` at `now`
    /// (unix seconds), signed like an unsubscribe link of `channel`.
    pub fn preferences_link(
        &self,
        tenant: &TenantId,
        id: &str,
        channel: foghorn_core::Channel,
        now: i64,
    ) -> Option<String> {
        let claims = Claims {
            tenant: tenant.clone(),
            subscriber: Some(id.to_string()),
            address_hash: None,
            channel,
            category: None,
            notification: None,
            expires: now + self.ttl.as_secs() as i64,
        };
        token::sign(&self.crypto, &claims).and_then(|t| self.preferences_url(&t))
    }

    /// A stand-in footer link for previews: the page's shape without a
    /// working token (a preview must not hand out real unsubscribe links).
    pub fn preview_url(&self) -> Option<String> {
        self.page_url("preview").or_else(|| {
            self.mailto
                .as_ref()
                .map(|m| format!("mailto:{m}?subject=unsubscribe"))
        })
    }

    /// The links for one email at `now` (unix seconds); None when there is
    /// neither a public URL nor a mailto address to offer.
    pub fn links(&self, r: &Recipient<'_>, now: i64) -> Option<Links> {
        let claims = Claims {
            tenant: r.tenant.clone(),
            subscriber: r.subscriber.map(str::to_string),
            address_hash: self.crypto.lookup_hash(r.email),
            channel: foghorn_core::Channel::Email,
            category: r.category.map(str::to_string),
            notification: Some(r.notification.to_string()),
            expires: now + self.ttl.as_secs() as i64,
        };
        let signed = token::sign(&self.crypto, &claims);
        let page = signed.as_deref().and_then(|t| self.page_url(t));
        let preferences_url = signed
            .as_deref()
            .filter(|_| r.subscriber.is_some())
            .and_then(|t| self.preferences_url(t));
        let mailto = self
            .mailto
            .as_ref()
            .map(|m| format!("mailto:{m}?subject=unsubscribe"));
        let mut list = Vec::new();
        list.extend(page.iter().map(|u| format!("<{u}>")));
        list.extend(mailto.iter().map(|u| format!("<{u}>")));
        let footer_url = page.clone().or(mailto)?;
        let mut headers = vec![("List-Unsubscribe".to_string(), list.join(", "))];
        // RFC 8058 §3.1: one-click needs an HTTPS URI to POST to.
        if page.as_deref().is_some_and(|u| u.starts_with("https://")) {
            headers.push((
                "List-Unsubscribe-Post".to_string(),
                "List-Unsubscribe=One-Click".to_string(),
            ));
        }
        Some(Links {
            footer_url,
            headers,
            preferences_url,
        })
    }
}

/// The `mailto` address: configured, or `unsubscribe@` + the sender's domain.
pub fn mailto_address(configured: Option<&str>, senders: &[&str]) -> Option<String> {
    if let Some(m) = configured.map(str::trim).filter(|m| !m.is_empty()) {
        return Some(m.to_string());
    }
    senders.iter().find_map(|s| {
        let m = foghorn_core::mailbox::Mailbox::parse(s).ok()?;
        let domain = m.domain();
        (!domain.is_empty()).then(|| format!("unsubscribe@{domain}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient() -> Recipient<'static> {
        Recipient {
            tenant: Box::leak(Box::new(TenantId::from("default"))),
            subscriber: Some("owner-42"),
            email: "Elena@Example.com",
            notification: "ntf_1",
            category: Some("warranty"),
        }
    }

    #[test]
    fn one_click_needs_https_and_both_links_are_listed() {
        let crypto = Crypto::ephemeral();
        let u = Unsubscribe::new(
            crypto.clone(),
            Some("https://fh.example/"),
            Some("unsubscribe@navidocs.example".into()),
            Duration::from_secs(60),
        );
        let links = u.links(&recipient(), 1_000).unwrap();
        let (name, value) = &links.headers[0];
        assert_eq!(name, "List-Unsubscribe");
        assert!(value.starts_with("<https://fh.example/p/"), "{value}");
        assert!(value
            .ends_with("/unsubscribe>, <mailto:unsubscribe@navidocs.example?subject=unsubscribe>"));
        assert_eq!(
            links.headers[1],
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into()
            )
        );
        assert!(value.contains(&links.footer_url));
        let token = links.footer_url.split('/').nth(4).unwrap();
        let claims = token::verify(&crypto, token, 1_050).unwrap();
        assert_eq!(claims.subscriber.as_deref(), Some("owner-42"));
        assert_eq!(claims.address_hash, crypto.lookup_hash("elena@example.com"));
        assert_eq!(
            token::verify(&crypto, token, 1_061),
            Err(token::TokenError::Expired)
        );

        let plain = Unsubscribe::new(
            crypto.clone(),
            Some("http://127.0.0.1:8080"),
            None,
            Duration::from_secs(60),
        );
        let links = plain.links(&recipient(), 0).unwrap();
        assert_eq!(links.headers.len(), 1, "no one-click without https");
        let mail_only = Unsubscribe::new(
            crypto.clone(),
            None,
            Some("u@x.example".into()),
            Duration::from_secs(60),
        );
        let links = mail_only.links(&recipient(), 0).unwrap();
        assert_eq!(links.footer_url, "mailto:u@x.example?subject=unsubscribe");
        assert!(Unsubscribe::new(crypto, None, None, Duration::from_secs(1))
            .links(&recipient(), 0)
            .is_none());
    }

    #[test]
    fn the_mailto_defaults_to_the_senders_domain() {
        assert_eq!(
            mailto_address(None, &["NaviDocs <noreply@mg.navidocs.example>"]).as_deref(),
            Some("unsubscribe@mg.navidocs.example")
        );
        assert_eq!(
            mailto_address(Some("opt-out@navidocs.example"), &["a@b.example"]).as_deref(),
            Some("opt-out@navidocs.example")
        );
        assert_eq!(mailto_address(None, &[]), None);
    }
}
