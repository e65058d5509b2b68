//! What Foghorn knows about a provider kind besides the code that talks to
//! it: its channels, its place in the default failover order, its list
//! price, the environment variables its own documentation names, which
//! setting is its sender, how its callbacks are answered and whether it
//! answers SMS keywords itself. The providers state one [`Spec`] each; the
//! engine and the configuration read them without naming a provider.

use crate::Channel;

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
    /// Messages to one destination (a chat channel, a webhook) at most
    /// once per this many milliseconds, as the provider documents it
    /// (Slack: about one a second); 0 paces nothing. The queue keeps to it
    /// instead of letting the provider refuse.
    pub pace_per_destination_ms: u32,
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

impl Spec {
    /// A sort key: the kind's place in `channel`'s default failover order.
    /// Without a rank, or not of this channel, it sorts after every ranked
    /// kind.
    pub fn rank_for(&self, channel: Channel) -> u16 {
        match self.failover_rank {
            Some(rank) if self.channels.contains(&channel) => rank,
            _ => u16::MAX,
        }
    }
}
