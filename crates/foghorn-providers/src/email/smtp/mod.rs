//! SMTP: email handed to any mail server (a relay, a smarthost, an ESP's SMTP
//! endpoint) through `lettre`.
//!
//! The connection URL follows `lettre`'s `AsyncSmtpTransport::from_url`:
//!
//! | URL | transport |
//! | --- | --- |
//! | `smtps://user:pass@host` | implicit TLS (port 465 by default), the recommended form |
//! | `smtp://user:pass@host?tls=required` | STARTTLS, refusing to go on without it (port 587 by default) |
//! | `smtp://user:pass@host?tls=opportunistic` | STARTTLS when offered, plain text otherwise |
//! | `smtp://host` | plain text (port 25 by default) |
//!
//! Credentials percent-encoded in the URL are decoded by `lettre`; a path
//! (`smtps://…/mail.example.org`) sets the EHLO name. Because plain text would
//! expose the password, credentials are refused with a plain or
//! opportunistic URL unless the host is loopback (a local relay).
//!
//! The SSRF guard applies as to the HTTP providers: the URL's scheme and an
//! IP-literal host are judged when the provider is built (in the registry),
//! and a hostname is resolved and judged on every send when private targets
//! are not allowed — the connection then goes to the address judged, with
//! TLS still verified against the name, so a name cannot be re-pointed at
//! a private address between the check and the connection.
//!
//! Each message is `multipart/alternative` (text, then HTML) when both bodies
//! exist, carries the engine's extra headers (`List-Unsubscribe`, …), the
//! notification id as `X-Foghorn-Notification-Id`, and a Message-ID built
//! from the notification id and the sender's domain. That id is the same on
//! every retry of one notification, so a receiver that saw an earlier attempt
//! can recognise the duplicate; it is also the `provider_message_id`, without
//! angle brackets.

#[cfg(test)]
mod tests;

use crate::email::{EmailParts, Mailbox};
use crate::kinds::{Callbacks, EnvVars, ListPrice, Sender, Spec};
use crate::registry::{BuildContext, ProviderKind, Target};
use crate::BuildError;
use foghorn_core::{Channel, Outbound, ProviderError, Receipt};
use foghorn_core::{InboundError, InboundEvent, InboundRequest};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox as LettreMailbox, MultiPart, SinglePart};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::Error as SmtpError;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use reqwest::Url;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// The `kind` this provider is configured with.
pub const KIND: &str = "smtp";

pub const NOTIFICATION_HEADER: &str = "X-Foghorn-Notification-Id";

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// See the module documentation for the forms accepted.
    pub url: String,
    /// Default sender, `Name <address>` or a bare address.
    pub from: String,
    /// How long one send may take, connection and whole SMTP dialogue, such
    /// as `30s` or `500ms`; defaults to the delivery send timeout.
    #[serde(default, deserialize_with = "duration_text")]
    pub timeout: Option<Duration>,
}

/// Shows the URL without its password.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("url", &redacted(&self.url))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn redacted(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                // Only fails for URLs that cannot have credentials at all.
                let _ = u.set_password(Some("..."));
            }
            u.to_string()
        }
        Err(_) => "<unparseable>".to_string(),
    }
}

#[derive(Clone)]
pub struct Smtp {
    name: String,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// The URL without its password, for logs.
    server: String,
    from: Mailbox,
    timeout: Duration,
    /// Set when hostnames must be resolved and judged before each send.
    guarded: Option<Guarded>,
}

/// What a guarded send needs to connect to a judged address itself.
#[derive(Clone)]
struct Guarded {
    url: Url,
    host: String,
    port: u16,
}

impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp")
            .field("name", &self.name)
            .field("server", &self.server)
            .field("from", &self.from.email)
            .finish_non_exhaustive()
    }
}

impl Smtp {
    /// `default_timeout` is the delivery send timeout, used when the config
    /// sets none. Nothing connects here: the first send does.
    pub fn new(
        name: &str,
        config: Config,
        default_timeout: Duration,
        allow_private: bool,
    ) -> Result<Self, BuildError> {
        let invalid = |reason: String| BuildError::invalid(name, reason);
        let url = Url::parse(config.url.trim()).map_err(|e| invalid(format!("url: {e}")))?;
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let encrypted = match (url.scheme(), tls.as_deref()) {
            ("smtps", _) | ("smtp", Some("required")) => true,
            ("smtp", None | Some("opportunistic")) => false,
            (scheme, tls) => {
                return Err(invalid(format!(
                    "url: scheme `{scheme}` with tls={tls:?} is not smtp, smtp?tls=required, \
                     smtp?tls=opportunistic or smtps"
                )))
            }
        };
        let has_credentials = !url.username().is_empty() || url.password().is_some();
        if has_credentials && !encrypted && !is_loopback(&url) {
            return Err(invalid(
                "url: credentials would cross the network in plain text; use smtps:// or \
                 smtp://…?tls=required"
                    .into(),
            ));
        }
        let timeout = config.timeout.unwrap_or(default_timeout);
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(config.url.trim())
            .map_err(|e| invalid(format!("url: {e}")))?
            .timeout(Some(timeout))
            .build();
        let from = Mailbox::parse(&config.from).map_err(|e| invalid(format!("from: {e}")))?;
        let host = url.host_str().unwrap_or_default();
        // An IP literal was judged when the provider was built and cannot
        // change; a name can, so it is judged again on every send.
        let is_literal = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok();
        let guarded = (!allow_private && !is_literal).then(|| Guarded {
            host: host.to_string(),
            // lettre's defaults for each form (its `from_connection_url`).
            port: url.port().unwrap_or(match (url.scheme(), &tls) {
                ("smtps", _) => 465,
                (_, Some(_)) => 587,
                _ => 25,
            }),
            url: url.clone(),
        });
        Ok(Smtp {
            name: name.to_string(),
            transport,
            server: redacted(config.url.trim()),
            from,
            timeout,
            guarded,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn supports(&self, channel: Channel) -> bool {
        channel == Channel::Email
    }

    pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        let reserved = NOTIFICATION_HEADER.to_ascii_lowercase();
        let parts = EmailParts::from_message(msg, &self.from, &[reserved.as_str()])?;
        let message_id = message_id(&msg.notification_id, &parts.from);
        let email = build_message(&parts, &message_id, &msg.notification_id)?;
        // `lettre`'s tokio transport applies its timeout to connecting only;
        // a server that stops answering mid-dialogue is bounded here.
        let sent = match &self.guarded {
            None => tokio::time::timeout(self.timeout, self.transport.send(email)).await,
            Some(g) => {
                let transport = self.judged_transport(g).await?;
                tokio::time::timeout(self.timeout, transport.send(email)).await
            }
        };
        match sent {
            Err(_) => Err(ProviderError::retryable(format!(
                "timed out: no complete answer from {} within {:?}",
                self.server, self.timeout
            ))),
            Ok(Ok(response)) => {
                tracing::debug!(provider = %self.name, notification_id = %msg.notification_id,
                    message_id = %message_id, code = %response.code(), "smtp server accepted the message");
                Ok(Receipt {
                    provider_message_id: Some(message_id),
                    ..Receipt::default()
                })
            }
            Ok(Err(e)) => Err(classify(&e)),
        }
    }
}

impl Smtp {
    /// A transport to an address of the server's name that the guard
    /// allows; TLS keeps verifying the certificate against the name.
    async fn judged_transport(
        &self,
        g: &Guarded,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, ProviderError> {
        let addrs = crate::net_guard::resolve_allowed(&g.host, g.port, false)
            .await
            .map_err(|e| match e {
                crate::net_guard::ResolveError::Guard(e) => ProviderError::from(e),
                e @ crate::net_guard::ResolveError::Lookup(_) => {
                    ProviderError::retryable(e.to_string())
                }
            })?;
        let ip = addrs[0].ip();
        let mut url = g.url.clone();
        url.set_ip_host(ip)
            .map_err(|()| ProviderError::permanent("cannot address the SMTP server"))?;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
            .map_err(|e| ProviderError::misconfigured(format!("url: {e}")))?;
        let params = || {
            TlsParameters::new(g.host.clone())
                .map_err(|e| ProviderError::misconfigured(format!("tls: {e}")))
        };
        let tls_mode = g
            .url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let tls = match (g.url.scheme(), tls_mode.as_deref()) {
            ("smtps", _) => Tls::Wrapper(params()?),
            (_, Some("required")) => Tls::Required(params()?),
            (_, Some("opportunistic")) => Tls::Opportunistic(params()?),
            _ => Tls::None,
        };
        Ok(builder.tls(tls).timeout(Some(self.timeout)).build())
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// `notification-id@sender-domain`, kept to RFC 5322 `dot-atom-text`.
fn message_id(notification_id: &str, from: &Mailbox) -> String {
    let local: String = notification_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let local = local.trim_matches('.');
    let local = if local.is_empty() { "foghorn" } else { local };
    let domain = from.domain();
    let domain = if domain.is_empty() || !domain.is_ascii() {
        "foghorn.invalid"
    } else {
        domain
    };
    format!("{local}@{domain}")
}

fn mailbox(m: &Mailbox) -> Result<LettreMailbox, ProviderError> {
    let address: Address = m
        .email
        .parse()
        .map_err(|e| ProviderError::permanent(format!("`{}`: {e}", m.email)))?;
    Ok(LettreMailbox::new(m.name.clone(), address))
}

fn header(name: &str, value: &str) -> Result<HeaderValue, ProviderError> {
    let name = HeaderName::new_from_ascii(name.to_string())
        .map_err(|_| ProviderError::permanent(format!("`{name}` is not a usable header name")))?;
    Ok(HeaderValue::new(name, value.to_string()))
}

fn build_message(
    parts: &EmailParts<'_>,
    message_id: &str,
    notification_id: &str,
) -> Result<Message, ProviderError> {
    let to = Mailbox::parse(parts.to).map_err(|e| ProviderError::permanent(e.to_string()))?;
    let mut builder = Message::builder()
        .from(mailbox(&parts.from)?)
        .to(mailbox(&to)?)
        .subject(parts.subject)
        .message_id(Some(format!("<{message_id}>")))
        .raw_header(header(NOTIFICATION_HEADER, notification_id)?);
    if let Some(reply_to) = &parts.reply_to {
        builder = builder.reply_to(mailbox(reply_to)?);
    }
    for (name, value) in &parts.headers {
        builder = builder.raw_header(header(name, value)?);
    }
    let built = match (parts.text, parts.html) {
        (Some(text), Some(html)) => builder.multipart(MultiPart::alternative_plain_html(
            text.to_string(),
            html.to_string(),
        )),
        (Some(text), None) => builder.singlepart(SinglePart::plain(text.to_string())),
        (None, Some(html)) => builder.singlepart(SinglePart::html(html.to_string())),
        // `EmailParts` guarantees a body.
        (None, None) => return Err(ProviderError::permanent("the email has no body")),
    };
    built.map_err(|e| ProviderError::permanent(format!("cannot build the message: {e}")))
}

/// SMTP reply classes (RFC 5321 §4.2.1): 4xx is transient, 5xx permanent;
/// among the permanent ones, the authentication replies (RFC 4954: 530
/// authentication required, 534 mechanism too weak, 535 credentials invalid,
/// 538 encryption required) mean the configuration is wrong. No reply at all
/// (refused, reset, timed out) is transient; a TLS failure or a server that
/// lacks what the URL demands (STARTTLS, an auth mechanism) is configuration.
fn classify(err: &SmtpError) -> ProviderError {
    let reason = err.to_string();
    if let Some(code) = err.status() {
        let code = u16::from(code);
        return match code {
            530 | 534 | 535 | 538 => ProviderError::misconfigured(reason),
            400..=499 => ProviderError::retryable(reason),
            _ => ProviderError::permanent(reason),
        };
    }
    if err.is_timeout() {
        return ProviderError::retryable(format!("timed out: {reason}"));
    }
    if err.is_tls() {
        return ProviderError::misconfigured(reason);
    }
    if err.is_client() {
        // `lettre`'s client errors are about the server's abilities, except
        // for a message whose addresses need SMTPUTF8 the server lacks.
        return if reason.contains("non-ascii") {
            ProviderError::permanent(reason)
        } else {
            ProviderError::misconfigured(reason)
        };
    }
    ProviderError::retryable(reason)
}

/// `500ms`, `30s`, `5m`, the duration form the rest of the configuration
/// uses.
fn duration_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 30s or 500ms"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        _ => Err(format!("`{text}`: unknown unit `{unit}` (use ms, s or m)")),
    }
}

impl ProviderKind for Smtp {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &[Channel::Email],
        failover_rank: Some(40),
        // Your own server: no per-message charge.
        list_price: ListPrice::Email(0),
        env: EnvVars {
            required: &[("SMTP_URL", "url")],
            one_of: &[],
            optional: &[],
        },
        sender: Some(Sender {
            key: "from",
            shared: Channel::Email,
            unless: None,
            or_noreply_at: None,
        }),
        // SMTP servers report nothing back: bounces arrive as mail.
        callbacks: Callbacks::None,
        answers_keywords: false,
        pace_per_destination_ms: 0,
    };

    fn targets(config: &Config) -> Vec<Target<'_>> {
        vec![("url", config.url.as_str(), crate::net_guard::Family::Smtp)]
    }

    fn build(name: &str, config: Config, ctx: &BuildContext<'_>) -> Result<Self, BuildError> {
        Smtp::new(
            name,
            config,
            ctx.opts.timeout,
            ctx.opts.allow_private_targets,
        )
    }
}

impl Smtp {
    /// Receives no callbacks.
    pub fn inbound(&self, _req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        Err(crate::registry::no_callbacks(self.name(), KIND))
    }
}
