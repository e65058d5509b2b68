//! What Foghorn knows about each provider kind besides the code that talks
//! to it: its channels, its place in the default failover order, its list
//! price, the environment variables its own documentation names, which
//! setting is its sender, how its callbacks are answered and whether it
//! answers SMS keywords itself.
//!
//! Each provider's folder states its facts once, as the [`Spec`] (a core
//! type, so the engine reads it without knowing providers) of its
//! [`crate::registry::ProviderKind`] implementation; the registry's one
//! list of kinds makes them [`all`]. Configuration, failover, pricing and
//! the callback endpoint read them from here and name no provider.

pub use foghorn_core::kind::{Callbacks, EnvVars, ListPrice, Pairs, Sender, Spec};
use foghorn_core::Channel;

/// Every kind, in the registry's order.
pub fn all() -> &'static [&'static Spec] {
    crate::registry::KINDS
}

pub fn find(name: &str) -> Option<&'static Spec> {
    all().iter().copied().find(|s| s.name == name)
}

/// `kind`'s place in `channel`'s default failover order
/// ([`Spec::rank_for`]); an unknown kind sorts last.
pub fn failover_rank(channel: Channel, kind: &str) -> u16 {
    find(kind).map_or(u16::MAX, |s| s.rank_for(channel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProviderConfig;

    #[test]
    fn every_kind_is_configured_by_its_own_name() {
        for spec in all() {
            let err =
                serde_json::from_value::<ProviderConfig>(serde_json::json!({"kind": spec.name}))
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
            assert!(!err.contains("unknown variant"), "{}: {err}", spec.name);
        }
        let mut names: Vec<_> = all().iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all().len(), "two kinds share a name");
    }

    #[test]
    fn email_and_sms_follow_the_documented_order() {
        let mut kinds = ["smtp", "webhook", "postmark", "mailgun", "sendgrid"];
        kinds.sort_by_key(|k| (failover_rank(Channel::Email, k), *k));
        assert_eq!(
            kinds,
            ["mailgun", "sendgrid", "postmark", "smtp", "webhook"]
        );
        let mut kinds = ["bandwidth", "messagebird", "plivo", "vonage", "twilio"];
        kinds.sort_by_key(|k| (failover_rank(Channel::Sms, k), *k));
        assert_eq!(
            kinds,
            ["twilio", "vonage", "plivo", "messagebird", "bandwidth"]
        );
    }

    #[test]
    fn variables_belong_to_one_kind_and_carry_its_prefix() {
        let mut seen = std::collections::HashSet::new();
        for spec in all() {
            for var in spec.env.names() {
                assert!(seen.insert(var), "{var} is named twice");
                assert!(
                    var.starts_with(&spec.name.to_ascii_uppercase()),
                    "{var} of {}",
                    spec.name
                );
            }
        }
    }
}
