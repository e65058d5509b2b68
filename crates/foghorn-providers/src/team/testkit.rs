//! What the team providers' tests share: the recording mock, loopback
//! clients and a message to a destination.

use crate::http::{build_client, HttpOptions};
use crate::webhook::Reach;
use foghorn_core::{Address, Card, Channel, Outbound, Rendered};
use std::time::Duration;

pub use foghorn_testkit::http::{mock, mock_routes, to_path, Reply};

pub fn reach() -> Reach {
    let opts = HttpOptions {
        allow_private_targets: true,
        allow_private_targets_for_tenants: false,
        timeout: Duration::from_secs(5),
        public_url: None,
    };
    Reach {
        client: build_client(&opts).unwrap(),
        allow_private: true,
    }
}

/// The tenants' reach: loopback is refused.
pub fn tenant_reach() -> Reach {
    Reach {
        allow_private: false,
        ..reach()
    }
}

pub fn message(channel: Channel, to: Address, card: Card) -> Outbound {
    Outbound {
        notification_id: "ntf_01hx7".into(),
        tenant_id: "ten_1".into(),
        event_id: "evt_01hx7".into(),
        event_name: "warranty.expiring".into(),
        channel,
        to,
        content: Rendered {
            text: Some(card.fallback_text()),
            card: Some(card),
            ..Rendered::default()
        },
        tags: vec![],
        headers: vec![],
        from: None,
        tenant_target: false,
        thread: None,
    }
}
