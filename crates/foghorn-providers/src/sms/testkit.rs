//! What the SMS providers' tests share: the workspace's recording HTTP mock
//! and form helpers (from foghorn-testkit), the client options as in
//! production but allowed onto loopback, and one SMS.

use crate::http::{build_client, HttpOptions};
use foghorn_core::{Address, Channel, Outbound, Rendered};
use std::time::Duration;

pub use foghorn_testkit::form::{basic, form_body, headers, pairs};
pub use foghorn_testkit::http::{mock, mock_routes, to_path, Log, Recorded, Reply};

pub const PUBLIC_URL: &str = "https://foghorn.example.com";

/// Options as in production except that loopback is allowed (the mock lives
/// there) and the public URL is set, so callback URLs are sent.
pub fn opts() -> HttpOptions {
    HttpOptions {
        allow_private_targets: true,
        allow_private_targets_for_tenants: false,
        timeout: Duration::from_secs(5),
        public_url: Some(PUBLIC_URL.to_string()),
    }
}

pub fn client() -> reqwest::Client {
    build_client(&opts()).unwrap()
}

pub fn sms(to: &str, text: &str) -> Outbound {
    Outbound {
        notification_id: "ntf_01hx7".into(),
        tenant_id: "ten_1".into(),
        event_id: "evt_01hx7".into(),
        event_name: "order.shipped".into(),
        channel: Channel::Sms,
        to: Address::Phone(to.to_string()),
        content: Rendered {
            text: Some(text.to_string()),
            ..Rendered::default()
        },
        tags: vec![],
        headers: vec![],
        from: None,
        tenant_target: false,
        thread: None,
    }
}

/// Compares `actual` with `tests/golden/{name}`; `FOGHORN_UPDATE_GOLDEN=1`
/// writes it instead.
pub fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("FOGHORN_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing (FOGHORN_UPDATE_GOLDEN=1 writes it)",
            path.display()
        )
    });
    assert_eq!(actual, expected, "{name}");
}

/// The NaviDocs pack's recall script as its `voice.txt` templates render
/// it (English, French), for the call markups' golden files.
pub const RECALL_EN: &str = "This is NaviDocs, with a safety notice about Sea Breeze. Volvo Penta has issued recall RC-2026-114 for the fuel pump on your boat. Do not use the affected equipment until it has been inspected, and contact your dealer to arrange the fix. The details have been sent to you by email and text message.";
pub const RECALL_FR: &str = "Ici NaviDocs, avec un avis de sécurité concernant Sea Breeze. Volvo Penta a émis le rappel RC-2026-114 pour l'équipement fuel pump de votre bateau. N'utilisez pas l'équipement concerné avant son inspection, et contactez votre concessionnaire pour organiser la réparation. Les détails vous ont été envoyés par e-mail et par SMS.";
