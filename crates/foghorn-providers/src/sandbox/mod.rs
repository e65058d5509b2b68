//! The built-in sandbox provider: accepts every message on every channel and
//! sends nothing, so workflows can be tried end to end without credentials or
//! side effects. What would have gone out is captured for the sandbox inbox.

use crate::kinds::{Callbacks, EnvVars, ListPrice, Spec};
use crate::registry::{BuildContext, ProviderKind, Target};
use crate::BuildError;
use foghorn_core::{ids, Channel, Outbound, ProviderError, Receipt};
use foghorn_core::{InboundError, InboundEvent, InboundRequest};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {}

#[derive(Debug, Clone)]
pub struct Sandbox {
    name: String,
}

impl Sandbox {
    pub fn new(name: &str, _config: Config) -> Self {
        Sandbox {
            name: name.to_string(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn supports(&self, _channel: Channel) -> bool {
        true
    }

    /// Async only to keep every provider's `send` the same shape.
    pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        if let foghorn_core::Address::Url(url) = &msg.to {
            if !url.is_empty() {
                // The step names a destination that nothing will call.
                tracing::warn!(notification_id = %msg.notification_id, channel = %msg.channel,
                    "captured by the sandbox: no provider serves this channel, so its URL was not called");
            }
        }
        Ok(Receipt {
            provider_message_id: Some(ids::message_id()),
            captured: Some(msg.content.clone()),
            cost: None,
            http_status: None,
            thread: None,
        })
    }
}

pub const KIND: &str = "sandbox";

impl ProviderKind for Sandbox {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &Channel::ALL,
        failover_rank: None,
        list_price: ListPrice::None,
        env: EnvVars::NONE,
        sender: None,
        callbacks: Callbacks::None,
        answers_keywords: false,
        pace_per_destination_ms: 0,
    };

    fn targets(_config: &Config) -> Vec<Target<'_>> {
        Vec::new()
    }

    fn build(name: &str, config: Config, _ctx: &BuildContext<'_>) -> Result<Self, BuildError> {
        Ok(Sandbox::new(name, config))
    }
}

impl Sandbox {
    /// Receives no callbacks.
    pub fn inbound(&self, _req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        Err(crate::registry::no_callbacks(self.name(), KIND))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foghorn_core::{Address, Rendered};

    #[tokio::test]
    async fn captures_instead_of_sending() {
        let sandbox = Sandbox::new("sandbox", Config {});
        let content = Rendered {
            text: Some("hello".into()),
            ..Rendered::default()
        };
        let msg = Outbound {
            notification_id: "ntf_1".into(),
            tenant_id: "ten_1".into(),
            event_id: "evt_1".into(),
            event_name: "order.shipped".into(),
            channel: Channel::Sms,
            to: Address::Phone("+15550100".into()),
            content: content.clone(),
            tags: vec![],
            headers: vec![],
            from: None,
            tenant_target: false,
            thread: None,
        };
        let receipt = sandbox.send(&msg).await.unwrap();
        assert!(receipt.provider_message_id.unwrap().starts_with("msg_"));
        assert_eq!(receipt.captured, Some(content));
        assert!(Channel::ALL.into_iter().all(|c| sandbox.supports(c)));
    }
}
