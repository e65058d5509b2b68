//! The configuration model: what `foghorn.toml` and the `FOGHORN_…` variables
//! describe, with the checks a whole configuration must pass. Reading the
//! file, the environment and `env:`/`file:` references is the binary's job;
//! the engine only ever sees a finished `Config`.

pub mod typed;

use foghorn_core::{Channel, Money};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    File {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("config key `{key}`: {message}")]
    Key { key: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    /// The address providers and browsers reach this server at; callback
    /// signatures are checked against it.
    pub public_url: Option<String>,
    pub workflows_dir: PathBuf,
    pub templates_dir: PathBuf,
    /// The master key ring file, used (and created on first start) when
    /// `FOGHORN_MASTER_KEY` is not set.
    pub master_key_file: PathBuf,
    pub log: LogConfig,
    pub security: SecurityConfig,
    pub delivery: DeliveryConfig,
    pub breaker: BreakerConfig,
    pub channels: BTreeMap<Channel, ChannelConfig>,
    pub providers: BTreeMap<String, ProviderEntry>,
    pub email: EmailConfig,
    pub sms: SmsConfig,
    /// Prices per provider (by name, else by kind); see `engine::pricing`.
    pub pricing: BTreeMap<String, PriceEntry>,
    pub retention: RetentionConfig,
    pub dev: DevConfig,
}

/// `[retention]`: how long each kind of kept data lives; a kind left out
/// is kept. The notifications themselves (status, provider, cost, times)
/// stay, and so do the monthly spend totals: the cost and delivery reports
/// read those, so they stay right however much detail has gone.
///
/// ```toml
/// [retention]
/// sandbox = "30d"     # captured messages: the rendered content
/// attempts = "90d"    # each provider call, with its error text
/// receipts = "90d"    # provider reports after the send (timeline)
/// clicks = "90d"      # short-link clicks
/// inbound = "30d"     # forwarded inbound messages (event data)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    #[serde(with = "duration_opt")]
    pub sandbox: Option<Duration>,
    #[serde(with = "duration_opt")]
    pub attempts: Option<Duration>,
    #[serde(with = "duration_opt")]
    pub receipts: Option<Duration>,
    #[serde(with = "duration_opt")]
    pub clicks: Option<Duration>,
    #[serde(with = "duration_opt")]
    pub inbound: Option<Duration>,
    /// How often a node sweeps.
    #[serde(with = "duration_text")]
    pub every: Duration,
    /// Rows per statement: small enough that no sweep holds a lock long.
    pub batch: usize,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            sandbox: None,
            attempts: None,
            receipts: None,
            clicks: None,
            inbound: None,
            every: Duration::from_secs(3600),
            batch: 1_000,
        }
    }
}

/// Rehearsal aids, off in production.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevConfig {
    /// Lets an operator key move this node's clock forward
    /// (`POST /v1/admin/clock`), to see quiet hours end and reminders come
    /// due without waiting. Never on a node that serves real people: the
    /// queue and every time-based rule follow the moved clock.
    pub clock: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://foghorn.db".into(),
            public_url: None,
            workflows_dir: "workflows".into(),
            templates_dir: "templates".into(),
            master_key_file: "foghorn.master.key".into(),
            log: LogConfig::default(),
            security: SecurityConfig::default(),
            delivery: DeliveryConfig::default(),
            breaker: BreakerConfig::default(),
            channels: BTreeMap::new(),
            providers: BTreeMap::new(),
            email: EmailConfig::default(),
            sms: SmsConfig::default(),
            pricing: BTreeMap::new(),
            retention: RetentionConfig::default(),
            dev: DevConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// The default sender of every email provider that names none of its
    /// own (`EMAIL_FROM` sets it too), e.g. `NaviDocs <noreply@navidocs.example>`.
    pub from: Option<String>,
    /// The address of the `mailto:` half of `List-Unsubscribe`; defaults to
    /// `unsubscribe@` + the sender's domain.
    pub unsubscribe_mailto: Option<String>,
    /// How long an unsubscribe link keeps working.
    #[serde(with = "duration_text")]
    pub unsubscribe_ttl: Duration,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            from: None,
            unsubscribe_mailto: None,
            // Long enough for an email read weeks later; the link must work
            // whenever the person finds the message.
            unsubscribe_ttl: Duration::from_secs(90 * 86_400),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// The default sender (number or sender id) of every SMS provider that
    /// names none of its own (`SMS_FROM` sets it too).
    pub from: Option<String>,
    /// Sender per recipient country: a long code, short code or, where the
    /// country allows it, an alphanumeric sender id (`GB = "NaviDocs"`). A
    /// tenant's `sms_senders` setting overrides these.
    pub senders: BTreeMap<String, String>,
}

/// `[pricing.<provider>]`: what one provider charges.
///
/// ```toml
/// [pricing.mailgun]
/// email = "0.0005"            # per message
/// [pricing.twilio]
/// currency = "USD"            # the default
/// [pricing.twilio.sms]        # per segment, by ISO country of the number
/// US = "0.0075"
/// default = "0.0079"          # any other country
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceEntry {
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub email: Option<Price>,
    #[serde(default)]
    pub sms: BTreeMap<String, Price>,
}

/// An exact price in micro-units, written as decimal text (`"0.0075"`) or
/// a whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price(pub i64);

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Whole(i64),
            Float(f64),
        }
        let bad = |t: &str| {
            serde::de::Error::custom(format!(
                "`{t}` is not a price such as \"0.0075\" (at most six decimals, not negative)"
            ))
        };
        match Raw::deserialize(d)? {
            Raw::Text(t) => match Money::parse_amount(&t) {
                Some(m) if m >= 0 => Ok(Price(m)),
                _ => Err(bad(&t)),
            },
            Raw::Whole(n) if n >= 0 => n
                .checked_mul(1_000_000)
                .map(Price)
                .ok_or_else(|| bad(&n.to_string())),
            Raw::Whole(n) => Err(bad(&n.to_string())),
            // Binary floats cannot hold 0.0075 exactly; text can.
            Raw::Float(f) => Err(serde::de::Error::custom(format!(
                "write the price {f} as text, e.g. \"{f}\", so it stays exact"
            ))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A `tracing` filter such as `info` or `foghorn=debug,info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Lets webhook-style targets resolve to loopback and private networks
    /// (tests, the sandbox, an all-in-one install).
    pub allow_private_targets: bool,
    /// The same for targets a tenant supplies through the API (its own
    /// provider accounts, URLs in its workflows). Separate, so an operator
    /// who opens the local network to its own configuration does not open
    /// it to every tenant.
    pub allow_private_targets_for_tenants: bool,
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
    /// Requests per second one API key may make (429 beyond, with
    /// Retry-After); bursts up to `key_burst`.
    pub key_rate_per_second: u32,
    pub key_burst: u32,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            allow_private_targets: false,
            allow_private_targets_for_tenants: false,
            max_body_bytes: 256 * 1024,
            key_rate_per_second: 1_000,
            key_burst: 2_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Sends per node whose outcome is not yet committed: the provider
    /// calls in flight plus those waiting for the recorder. A crash repeats
    /// at most this many. It must cover the provider's latency and a group
    /// commit (Little's law): 64 held a one-node drain to about 5,000/s
    /// on a sink answering in under a millisecond, and a provider that
    /// takes 200 ms to about 300/s.
    pub workers: usize,
    /// Most jobs taken in one claim.
    pub claim_batch: usize,
    #[serde(with = "duration_text")]
    pub lease: Duration,
    /// Waits between attempts on one provider; the last repeats.
    #[serde(with = "duration_list")]
    pub retry_schedule: Vec<Duration>,
    /// Attempts per provider before moving on.
    pub max_attempts: u32,
    /// Spread of each wait, as a fraction (0.2 = ±20%).
    pub jitter: f64,
    /// How often an idle worker looks for due jobs it was not woken for
    /// (scheduled sends, retries, other nodes' events).
    #[serde(with = "duration_text")]
    pub poll_interval: Duration,
    /// Longest single provider call.
    #[serde(with = "duration_text")]
    pub send_timeout: Duration,
    /// SMS one subscriber may receive in 24 hours; beyond it notifications
    /// are suppressed (`daily cap`). Critical events bypass it; 0 turns it off.
    pub sms_daily_cap: u32,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            workers: 256,
            claim_batch: 128,
            lease: Duration::from_secs(60),
            retry_schedule: vec![
                Duration::from_secs(60),
                Duration::from_secs(300),
                Duration::from_secs(900),
                Duration::from_secs(3600),
            ],
            max_attempts: 5,
            jitter: 0.2,
            poll_interval: Duration::from_millis(250),
            send_timeout: Duration::from_secs(15),
            sms_daily_cap: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Consecutive transient failures that open a provider's circuit.
    pub failure_threshold: u32,
    /// How long an open circuit stays open before one probe is let through.
    #[serde(with = "duration_text")]
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// Providers in failover order.
    #[serde(default)]
    pub providers: Vec<String>,
    /// Failover order for recipients in one country (ISO 3166-1 alpha-2,
    /// e.g. `GB = ["vonage", "twilio"]`); other countries use `providers`.
    #[serde(default)]
    pub countries: BTreeMap<String, Vec<String>>,
}

/// One `[providers.NAME]` table. `kind` defaults to NAME, so
/// `[providers.sandbox]` needs no `kind`; the rest is the provider's own
/// settings, checked by that provider.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderEntry {
    pub kind: Option<String>,
    /// Sends per second this node makes through the provider (pacing).
    // Read beside a flattened table, so serde buffers the value and the
    // type has to be applied here.
    #[serde(default, deserialize_with = "typed::value")]
    pub rate_per_second: Option<f64>,
    /// Channels this instance serves; defaults to every channel its kind supports.
    #[serde(default, deserialize_with = "typed::value")]
    pub channels: Option<Vec<Channel>>,
    #[serde(flatten)]
    pub settings: toml::Table,
}
impl Config {
    /// A configuration from TOML text alone, checked: no environment, no
    /// `env:`/`file:` references (those are the binary's loader's).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Key {
            key: "(config)".into(),
            message: e.message().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the whole configuration and normalises what it reads
    /// (listen address, country codes); every error names its key.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: String| ConfigError::Key {
            key: key.into(),
            message,
        };
        self.listen = parse_listen(&self.listen)
            .map_err(|m| bad("listen", m))?
            .to_string();
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"))
        {
            return Err(bad(
                "database_url",
                "expected sqlite://FILE or postgres://…".into(),
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(bad(
                "log.format",
                format!("`{}`: expected text or json", self.log.format),
            ));
        }
        let r = &self.retention;
        if !(1..=100_000).contains(&r.batch) {
            return Err(bad("retention.batch", "must be 1 to 100000 rows".into()));
        }
        if r.every < Duration::from_secs(1) {
            return Err(bad("retention.every", "must be at least 1s".into()));
        }
        let d = &self.delivery;
        if d.workers == 0 || d.claim_batch == 0 || d.max_attempts == 0 {
            return Err(bad(
                "delivery",
                "workers, claim_batch and max_attempts must be at least 1".into(),
            ));
        }
        if d.retry_schedule.is_empty() {
            return Err(bad(
                "delivery.retry_schedule",
                "needs at least one wait".into(),
            ));
        }
        if !(0.0..1.0).contains(&d.jitter) {
            return Err(bad("delivery.jitter", "must be in [0, 1)".into()));
        }
        // A lease that ends while its provider call may still be running
        // lets a second worker claim the job and send it again.
        if d.lease <= d.send_timeout {
            return Err(bad(
                "delivery.lease",
                format!(
                    "{:?} must be longer than delivery.send_timeout ({:?}), or a job still being sent \
                     is claimed and sent again",
                    d.lease, d.send_timeout
                ),
            ));
        }
        for (provider, p) in self.pricing.iter_mut() {
            if let Some(c) = &p.currency {
                if c.len() != 3 || !c.chars().all(|x| x.is_ascii_uppercase()) {
                    return Err(bad(
                        &format!("pricing.{provider}.currency"),
                        format!("`{c}` is not an ISO 4217 code such as USD"),
                    ));
                }
            }
            // Environment keys arrive in lower case: country codes are
            // compared in upper case.
            p.sms = std::mem::take(&mut p.sms)
                .into_iter()
                .map(|(k, v)| match k.as_str() {
                    "default" => (k, v),
                    _ => (k.to_ascii_uppercase(), v),
                })
                .collect();
            for country in p.sms.keys() {
                let ok = country == "default"
                    || (country.len() == 2 && country.chars().all(|x| x.is_ascii_alphabetic()));
                if !ok {
                    return Err(bad(
                        &format!("pricing.{provider}.sms.{country}"),
                        "expected an ISO 3166-1 alpha-2 country such as US, or `default`".into(),
                    ));
                }
            }
        }
        for (channel, c) in &self.channels {
            for country in c.countries.keys() {
                if country.len() != 2 || !country.chars().all(|x| x.is_ascii_uppercase()) {
                    return Err(bad(
                        &format!("channels.{channel}.countries.{country}"),
                        "expected an ISO 3166-1 alpha-2 code in capitals, such as GB".into(),
                    ));
                }
            }
            for p in c.providers.iter().chain(c.countries.values().flatten()) {
                if p != "sandbox" && !self.providers.contains_key(p) {
                    return Err(bad(
                        &format!("channels.{channel}.providers"),
                        format!("names provider `{p}`, which has no [providers.{p}] table"),
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> std::net::SocketAddr {
        // validate() checked it.
        self.listen
            .parse()
            .unwrap_or_else(|_| ([127, 0, 0, 1], 8080).into())
    }
}
/// The `listen` address. A bare port keeps the default interface
/// (`8080` → `127.0.0.1:8080`): an operator who writes only a port gets that
/// port, and opening the server to other machines stays an explicit choice
/// (`0.0.0.0:8080`).
pub fn parse_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    let t = text.trim();
    if let Ok(addr) = t.parse() {
        return Ok(addr);
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<u16>()
            .map(|port| std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            .map_err(|_| format!("`{text}`: a port is at most 65535"));
    }
    Err(format!(
        "`{text}` is not an address such as 127.0.0.1:8080 or 0.0.0.0:8080, nor a port such as 8080"
    ))
}
/// Whether a value is an `env:`/`file:` reference. Anything that arrives
/// through the API is refused when it is one (the operator's environment
/// and files are not a tenant's to read), the same test everywhere.
pub fn is_reference(s: &str) -> bool {
    let s = s.trim_start();
    s.starts_with("env:") || s.starts_with("file:")
}

/// The first string in a JSON value (by its path, `a.b[0]`) that is an
/// `env:`/`file:` reference.
pub fn find_reference(v: &serde_json::Value, path: &str) -> Option<String> {
    match v {
        serde_json::Value::String(s) if is_reference(s) => Some(path.to_string()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_reference(x, &format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, x)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            find_reference(x, &p)
        }),
        _ => None,
    }
}
/// `500ms`, `30s`, `5m`, `1h`, `2d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 30s, 5m or 1h"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}` (use ms, s, m, h or d)"
            ))
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{text}` is not a valid duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

mod duration_text {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

mod duration_opt {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_duration(&s)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

mod duration_list {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| super::parse_duration(s).map_err(serde::de::Error::custom))
            .collect()
    }
}
