//! What Foghorn knows about each provider kind besides the code that talks
//! to it: its channels, its place in the default failover order, its list
//! price, the environment variables its own documentation names, which
//! setting is its sender, how its callbacks are answered and whether it
//! answers SMS keywords itself.
//!
//! Each provider's folder states its facts once, as the [`Spec`] of its
//! [`crate::registry::ProviderKind`] implementation; the registry's one
//! list of kinds makes them [`all`]. Configuration, failover, pricing and
//! the callback endpoint read them from here and name no provider.

use foghorn_core::Channel;

/// (environment variable, configuration key) pairs.
pub type Pairs = &'static [(&'static str, &'static str)];

/// One provider kind's facts.
#[derive(Debug)]
pub struct Spec {
    /// The `kind` of a `[providers.NAME]` table, and the callback path
    /// segment (`/hooks/{name}`).
    pub name: &'static str,
    /// Channels the kind can carry (an instance may serve fewer).
    pub channels: &'static [Channel],
    /// Place in the default failover order of its channels, lower first;
    /// kinds without one come after the ranked ones, by name.
    pub failover_rank: Option<u16>,
    pub list_price: ListPrice,
    /// The variables that configure it with no config file at all.
    pub env: EnvVars,
    /// Which setting is the sender, and the shared default it takes.
    pub sender: Option<Sender>,
    pub callbacks: Callbacks,
    /// Whether the provider itself answers STOP, START and HELP, so a
    /// confirmation from Foghorn would reach the person twice.
    pub answers_keywords: bool,
}

/// A built-in list price in US dollars (micro-units), used when the
/// configuration prices the provider at none of its channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListPrice {
    /// No published price to assume.
    None,
    /// Per email.
    Email(i64),
    /// Per SMS segment to numbers of one country.
    SmsSegment { country: &'static str, micros: i64 },
}

/// The provider's own variables: all of `required`, one complete set of
/// `one_of` when it has any (best first; every complete set is passed on),
/// and whichever of `optional` are set.
#[derive(Debug)]
pub struct EnvVars {
    pub required: Pairs,
    pub one_of: &'static [Pairs],
    pub optional: Pairs,
}

impl EnvVars {
    /// A kind configured only through a file.
    pub const NONE: EnvVars = EnvVars {
        required: &[],
        one_of: &[],
        optional: &[],
    };

    /// Every variable named, for documentation and checks.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.required
            .iter()
            .chain(self.one_of.iter().flat_map(|set| set.iter()))
            .chain(self.optional)
            .map(|(var, _)| *var)
    }
}

/// The setting that holds a provider's sender, filled from the shared
/// default (`email.from` or `sms.from`) when the provider names none.
#[derive(Debug, Clone, Copy)]
pub struct Sender {
    pub key: &'static str,
    /// Whose shared default: `Email` reads `email.from`, `Sms` `sms.from`.
    pub shared: Channel,
    /// A setting that makes the sender unnecessary (Twilio's Messaging
    /// Service picks one from its pool).
    pub unless: Option<&'static str>,
    /// Without a shared default, `noreply@` the value of this setting (a
    /// sending domain the provider is certain to accept).
    pub or_noreply_at: Option<&'static str>,
}

/// How `/hooks/{kind}` answers a verified callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callbacks {
    /// The kind calls back nothing.
    None,
    /// `{}` as JSON: the provider reads only the status.
    Json,
    /// An empty TwiML document: the provider reads the answer to an
    /// incoming message as instructions, and an empty one means "no
    /// reply" (replies go through the outbox).
    EmptyTwiml,
}

/// Every kind, in the registry's order.
pub fn all() -> &'static [&'static Spec] {
    crate::registry::KINDS
}

pub fn find(name: &str) -> Option<&'static Spec> {
    all().iter().copied().find(|s| s.name == name)
}

/// A sort key: a kind's place in `channel`'s default failover order. Kinds
/// without a rank, or not of this channel, sort after every ranked one.
pub fn failover_rank(channel: Channel, kind: &str) -> u16 {
    find(kind)
        .filter(|s| s.channels.contains(&channel))
        .and_then(|s| s.failover_rank)
        .unwrap_or(u16::MAX)
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
