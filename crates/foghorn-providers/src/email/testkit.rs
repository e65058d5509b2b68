//! What the email providers' tests share: the workspace's recording HTTP
//! mock (from foghorn-testkit), the client as production builds it but
//! allowed onto loopback, and one realistic message.

use crate::http::{build_client, HttpOptions};
use foghorn_core::{Address, Channel, Outbound, Rendered};
use std::time::Duration;

pub use foghorn_testkit::form::{form_parts, headers};
pub use foghorn_testkit::http::{mock, only, Reply};

/// The shared client as production builds it, except that loopback targets
/// are let through the SSRF guard so the mock can be reached.
pub fn client(timeout: Duration) -> reqwest::Client {
    let opts = HttpOptions {
        allow_private_targets: true,
        allow_private_targets_for_tenants: false,
        timeout,
        public_url: None,
    };
    build_client(&opts).unwrap()
}

/// A NaviDocs-style notification: both bodies, two tags, the unsubscribe
/// headers the engine adds, and a Reply-To.
pub fn message() -> Outbound {
    Outbound {
        notification_id: "ntf_01hx7k3q9e8w2m5n4b6v1c0z9y".into(),
        tenant_id: "ten_navidocs".into(),
        event_id: "evt_01hx7k3q9e8w2m5n4b6v1c0z9x".into(),
        event_name: "document.shared".into(),
        channel: Channel::Email,
        to: Address::Email("ana@example.com".into()),
        content: Rendered {
            card: None,
            subject: Some("Ana, a document was shared with you".into()),
            html: Some("<p>Open <b>Q3 report</b></p>".into()),
            text: Some("Open Q3 report".into()),
            json: None,
            template: None,
        },
        tags: vec!["document-shared".into(), "transactional".into()],
        headers: vec![
            (
                "List-Unsubscribe".into(),
                "<https://navidocs.example/u/abc>, <mailto:unsub@navidocs.example>".into(),
            ),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
            ("Reply-To".into(), "Support <help@navidocs.example>".into()),
        ],
        from: None,
        tenant_target: false,
        thread: None,
    }
}
