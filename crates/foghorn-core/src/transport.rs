//! A configured provider account as the engine sees it: something that
//! sends a rendered message and reads that provider's callbacks. The
//! providers implement it; the engine holds `Arc<dyn Transport>`, so it
//! neither knows any provider nor depends on an HTTP client.

use crate::kind::Spec;
use crate::voice::{CallInput, CallPage};
use crate::{
    Answer, Channel, InboundError, InboundEvent, InboundRequest, Interaction, Outbound,
    ProviderError, Receipt, Reply,
};
use std::future::Future;
use std::pin::Pin;

/// A boxed future: the trait is used as `dyn`, and one allocation per send
/// is nothing beside the provider's round trip.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Transport: std::fmt::Debug + Send + Sync {
    /// The instance's name (`[providers.NAME]`).
    fn name(&self) -> &str;
    /// The kind's facts.
    fn spec(&self) -> &'static Spec;
    /// The kind (`twilio`), which names its callback path.
    fn kind(&self) -> &'static str {
        self.spec().name
    }
    fn supports(&self, channel: Channel) -> bool;
    fn send<'a>(&'a self, msg: &'a Outbound) -> BoxFuture<'a, Result<Receipt, ProviderError>>;
    /// Verifies a callback (delivery status, incoming message) by the
    /// provider's own scheme and reads it into events.
    fn inbound<'a>(
        &'a self,
        req: &'a InboundRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<InboundEvent>, InboundError>>;

    /// Verifies and reads a team app's interaction (a button, a slash
    /// command) by the app's own scheme. Kinds that are no team app answer
    /// `NotConfigured`.
    fn interaction(&self, req: &InboundRequest<'_>) -> Result<Interaction, InboundError> {
        let _ = req;
        Err(InboundError::NotConfigured(format!(
            "provider `{}` receives no interactions",
            self.name()
        )))
    }
    /// The HTTP answer to an interaction, in the app's words.
    fn reply(&self, interaction: &Interaction, answer: &Answer) -> Reply {
        let _ = (interaction, answer);
        Reply::empty()
    }
    /// What the answer changes beyond the reply (Slack: `chat.update` of
    /// the acknowledged message).
    fn follow_up<'a>(
        &'a self,
        interaction: &'a Interaction,
        answer: &'a Answer,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        let _ = (interaction, answer);
        Box::pin(async { Ok(()) })
    }

    /// Voice providers read the requests their calls make to the call's
    /// page, after checking them by their own scheme; other kinds serve no
    /// calls.
    fn call_input(&self, req: &InboundRequest<'_>) -> Result<CallInput, InboundError> {
        let _ = req;
        Err(InboundError::NotConfigured(format!(
            "provider `{}` places no calls",
            self.name()
        )))
    }

    /// The page in the provider's markup.
    fn call_page(&self, page: &CallPage<'_>) -> Reply {
        let _ = page;
        Reply::empty()
    }

    /// Team apps add `note` (said at `at_ms`) to a message they posted
    /// earlier, drawn again from `msg` (Slack's `chat.update`); other kinds
    /// have nothing to update.
    fn annotate<'a>(
        &'a self,
        msg: &'a Outbound,
        message_id: &'a str,
        note: &'a str,
        at_ms: i64,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        let _ = (msg, message_id, note, at_ms);
        Box::pin(async { Ok(()) })
    }

    /// A provider's webhook subscription check (Meta's `hub.challenge`),
    /// answered only when its token matches; other kinds have none.
    fn handshake(&self, req: &InboundRequest<'_>) -> Result<Reply, InboundError> {
        let _ = req;
        Err(InboundError::NotConfigured(format!(
            "provider `{}` has no webhook handshake",
            self.name()
        )))
    }

    /// Downloads a file someone sent (WhatsApp media), at most
    /// `max_bytes`, checked against the provider's hash.
    fn fetch_media<'a>(
        &'a self,
        media: &'a crate::InboundMedia,
        max_bytes: usize,
    ) -> BoxFuture<'a, Result<crate::FetchedMedia, ProviderError>> {
        let _ = (media, max_bytes);
        Box::pin(async {
            Err(ProviderError::permanent(format!(
                "provider `{}` keeps no media",
                self.name()
            )))
        })
    }
}
