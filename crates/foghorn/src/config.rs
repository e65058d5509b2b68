//! Configuration: defaults, then `foghorn.toml`, then `FOGHORN_…` environment
//! overrides (DESIGN.md §4). Secrets may be written `env:NAME` or `file:PATH`
//! anywhere a string is expected, so no secret has to live in the file.
//!
//! The providers' own variable names (`MAILGUN_API_KEY`, …) are read too, as
//! the lowest layer (see [`native_env`]).
//!
//! Environment values stay text until the key's type reads them (see
//! [`typed`]): `FOGHORN_SMS__FROM=+12025550142` is a sender, not a number.
//!
//! Every error names the key, and the file line when the file is at fault.

pub mod native_env;
mod typed;

use foghorn_core::{Channel, Money};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use typed::Typed;

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
    /// Concurrent provider calls per node.
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
            workers: 64,
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
    /// Reads `path` (when given, or `foghorn.toml` when it exists) and the
    /// environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let (text, path) = match path {
            Some(p) => (
                Some(
                    std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                        path: p.to_path_buf(),
                        source,
                    })?,
                ),
                p.to_path_buf(),
            ),
            None => {
                let p = PathBuf::from("foghorn.toml");
                (std::fs::read_to_string(&p).ok(), p)
            }
        };
        Self::from_sources(text.as_deref(), &path, &env)
    }

    pub fn from_sources(
        text: Option<&str>,
        path: &Path,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let file = match text {
            Some(t) => {
                // Deserialising straight from the text keeps spans, so a bad
                // value is reported at its line.
                let parsed: Result<Config, toml::de::Error> = toml::from_str(t);
                if let Err(e) = parsed {
                    return Err(file_error(path, t, &e));
                }
                t.parse::<toml::Table>()
                    .map_err(|e| file_error(path, t, &e))?
            }
            None => toml::Table::new(),
        };
        // The providers' own variables lie under the file.
        let mut value = native_env::table(env);
        native_env::merge(&mut value, file);
        for (var, raw) in env {
            let Some(rest) = var.strip_prefix("FOGHORN_") else {
                continue;
            };
            if IGNORED_ENV.contains(&rest) || rest.starts_with("TEST_") {
                continue;
            }
            let keys: Vec<String> = rest.split("__").map(|k| k.to_ascii_lowercase()).collect();
            if keys.iter().any(|k| k.is_empty()) {
                return Err(ConfigError::Env {
                    var: var.clone(),
                    message: "empty key segment".into(),
                });
            }
            // Text stays text: the key's type decides what it becomes.
            set_path(&mut value, &keys, toml::Value::String(raw.clone()));
            // One variable at a time, so the error names the variable at fault.
            if let Err(e) = Config::deserialize(Typed(toml::Value::Table(value.clone()))) {
                return Err(ConfigError::Env {
                    var: var.clone(),
                    message: format!("{} (key `{}`)", e.message(), keys.join(".")),
                });
            }
        }
        resolve_secrets(&mut value, &mut Vec::new(), env)?;
        fill_senders(&mut value);
        let mut config = Config::deserialize(Typed(toml::Value::Table(value))).map_err(|e| {
            ConfigError::Key {
                key: "(config)".into(),
                message: e.message().to_string(),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&mut self) -> Result<(), ConfigError> {
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

/// Gives every provider without a sender of its own the shared default:
/// `email.from` for email kinds, `sms.from` for SMS kinds. Mailgun falls
/// back to `noreply@` its sending domain, which it is certain to accept.
fn fill_senders(value: &mut toml::Table) {
    let shared = |section: &str| {
        value
            .get(section)
            .and_then(|s| s.get("from"))
            .and_then(toml::Value::as_str)
            .map(str::to_string)
    };
    let (email_from, sms_from) = (shared("email"), shared("sms"));
    let Some(toml::Value::Table(providers)) = value.get_mut("providers") else {
        return;
    };
    for (name, entry) in providers.iter_mut() {
        let toml::Value::Table(t) = entry else {
            continue;
        };
        let kind = t
            .get("kind")
            .and_then(toml::Value::as_str)
            .unwrap_or(name)
            .to_string();
        let (key, default) = match kind.as_str() {
            "mailgun" => (
                "from",
                email_from.clone().or_else(|| {
                    t.get("domain")
                        .and_then(toml::Value::as_str)
                        .map(|d| format!("noreply@{d}"))
                }),
            ),
            "sendgrid" | "postmark" | "smtp" => ("from", email_from.clone()),
            "vonage" | "plivo" | "bandwidth" => ("from", sms_from.clone()),
            "messagebird" => ("originator", sms_from.clone()),
            "twilio" if !t.contains_key("messaging_service_sid") => {
                ("phone_number", sms_from.clone())
            }
            _ => continue,
        };
        if let (false, Some(v)) = (t.contains_key(key), default) {
            t.insert(key.into(), toml::Value::String(v));
        }
    }
}

/// FOGHORN_ variables that are not config keys.
const IGNORED_ENV: &[&str] = &["CONFIG", "MASTER_KEY"];

fn file_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
        .unwrap_or(0);
    ConfigError::File {
        path: path.to_path_buf(),
        line,
        message: e.message().to_string(),
    }
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) {
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut t = table;
    for k in parents {
        let entry = t
            .entry(k.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        t = next;
    }
    t.insert(last.clone(), value);
}

fn resolve_secrets(
    table: &mut toml::Table,
    path: &mut Vec<String>,
    env: &[(String, String)],
) -> Result<(), ConfigError> {
    for (k, v) in table.iter_mut() {
        path.push(k.clone());
        match v {
            toml::Value::String(s) => {
                if let Some(resolved) =
                    resolve_secret(s, env).map_err(|message| ConfigError::Key {
                        key: path.join("."),
                        message,
                    })?
                {
                    *s = resolved;
                }
            }
            toml::Value::Table(t) => resolve_secrets(t, path, env)?,
            _ => {}
        }
        path.pop();
    }
    Ok(())
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

/// `env:NAME` and `file:PATH` references; `Ok(None)` for a plain value.
pub fn resolve_secret(s: &str, env: &[(String, String)]) -> Result<Option<String>, String> {
    if let Some(name) = s.strip_prefix("env:") {
        return env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Some(v.clone()))
            .ok_or_else(|| format!("refers to environment variable {name}, which is not set"));
    }
    if let Some(file) = s.strip_prefix("file:") {
        return std::fs::read_to_string(file)
            .map(|t| Some(t.trim_end_matches(['\n', '\r']).to_string()))
            .map_err(|e| format!("cannot read secret file {file}: {e}"));
    }
    Ok(None)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: Option<&str>, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_sources(text, Path::new("foghorn.toml"), &env)
    }

    #[test]
    fn defaults_match_the_design() {
        let c = load(None, &[]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://foghorn.db");
        assert_eq!(c.delivery.max_attempts, 5);
        assert_eq!(c.delivery.sms_daily_cap, 10);
        assert_eq!(c.delivery.retry_schedule[0], Duration::from_secs(60));
        assert!(!c.security.allow_private_targets);
    }

    #[test]
    fn environment_overrides_the_file() {
        let file = "listen = \"127.0.0.1:9000\"\n[providers.hook]\nkind = \"webhook\"\nurl = \"https://a.example/x\"\n";
        let c = load(
            Some(file),
            &[
                ("FOGHORN_LISTEN", "0.0.0.0:7000"),
                ("FOGHORN_DATABASE_URL", "postgres://db/foghorn"),
                ("FOGHORN_SECURITY__ALLOW_PRIVATE_TARGETS", "true"),
                ("FOGHORN_PROVIDERS__HOOK__URL", "https://b.example/y"),
                ("FOGHORN_DELIVERY__RETRY_SCHEDULE", "[\"1s\", \"2s\"]"),
                ("FOGHORN_TEST_DATABASE_URL", "postgres://ignored"),
            ],
        )
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:7000");
        assert_eq!(c.database_url, "postgres://db/foghorn");
        assert!(c.security.allow_private_targets);
        assert_eq!(
            c.providers["hook"].settings["url"].as_str(),
            Some("https://b.example/y")
        );
        assert_eq!(
            c.delivery.retry_schedule,
            vec![Duration::from_secs(1), Duration::from_secs(2)]
        );
    }

    #[test]
    fn file_errors_name_the_line_and_key() {
        let err = load(
            Some("listen = \"127.0.0.1:1\"\n\n[delivery]\nworkers = \"many\"\n"),
            &[],
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("foghorn.toml:4:"), "{msg}");
        let err = load(Some("listn = \"x\"\n"), &[]).unwrap_err().to_string();
        assert!(
            err.contains("foghorn.toml:1") && err.contains("listn"),
            "{err}"
        );
        let err = load(Some("[delivery]\nlease = \"5 parsecs\"\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains(":2:") && err.contains("5 parsecs"), "{err}");
    }

    #[test]
    fn env_errors_name_the_variable() {
        let err = load(None, &[("FOGHORN_DELIVERY__WORKERS", "lots")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("FOGHORN_DELIVERY__WORKERS"), "{err}");
        let err = load(None, &[("FOGHORN_NO_SUCH_KEY", "1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("FOGHORN_NO_SUCH_KEY"), "{err}");
        let err = load(None, &[("FOGHORN_LISTEN", "nowhere")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`listen`"), "{err}");
    }

    #[test]
    fn secrets_come_from_env_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "whsec_c2VjcmV0\n").unwrap();
        let file = format!(
            "[providers.a]\nkind = \"webhook\"\nsecret = \"env:HOOK_SECRET\"\n[providers.b]\nkind = \"webhook\"\nsecret = \"file:{}\"\n",
            secret.display()
        );
        let c = load(Some(&file), &[("HOOK_SECRET", "whsec_ZnJvbWVudg==")]).unwrap();
        assert_eq!(
            c.providers["a"].settings["secret"].as_str(),
            Some("whsec_ZnJvbWVudg==")
        );
        assert_eq!(
            c.providers["b"].settings["secret"].as_str(),
            Some("whsec_c2VjcmV0")
        );
        let err = load(Some(&file), &[]).unwrap_err().to_string();
        assert!(
            err.contains("providers.a.secret") && err.contains("HOOK_SECRET"),
            "{err}"
        );
    }

    #[test]
    fn channels_must_name_configured_providers() {
        let err = load(Some("[channels.email]\nproviders = [\"mailgun\"]\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("channels.email.providers") && err.contains("mailgun"),
            "{err}"
        );
    }

    #[test]
    fn providers_come_from_their_own_variables_and_config_overrides_them() {
        let c = load(
            Some("[providers.mailgun]\nregion = \"us\"\n"),
            &[
                ("MAILGUN_API_KEY", "key-env"),
                ("MAILGUN_DOMAIN", "mg.navidocs.example"),
                ("MAILGUN_REGION", "eu"),
                ("FOGHORN_PROVIDERS__MAILGUN__BASE_URL", "http://127.0.0.1:9"),
                ("SENDGRID_API_KEY", "SG.key"),
                ("EMAIL_FROM", "NaviDocs <noreply@navidocs.example>"),
                ("TWILIO_ACCOUNT_SID", "AC123"),
                ("TWILIO_AUTH_TOKEN", "tok"),
                ("TWILIO_PHONE_NUMBER", "+12025550100"),
                ("PLIVO_AUTH_ID", "MA1"),
                ("PLIVO_AUTH_TOKEN", "tok"),
                ("SMS_FROM", "+12025550111"),
            ],
        )
        .unwrap();
        let mg = &c.providers["mailgun"].settings;
        assert_eq!(mg["api_key"].as_str(), Some("key-env"));
        assert_eq!(mg["region"].as_str(), Some("us"), "the file wins");
        assert_eq!(mg["base_url"].as_str(), Some("http://127.0.0.1:9"));
        assert_eq!(
            mg["from"].as_str(),
            Some("NaviDocs <noreply@navidocs.example>")
        );
        let sg = &c.providers["sendgrid"].settings;
        assert_eq!(
            sg["from"].as_str(),
            Some("NaviDocs <noreply@navidocs.example>")
        );
        let tw = &c.providers["twilio"].settings;
        assert_eq!(tw["phone_number"].as_str(), Some("+12025550100"));
        assert_eq!(
            c.providers["plivo"].settings["from"].as_str(),
            Some("+12025550111")
        );
        assert_eq!(
            c.email.from.as_deref(),
            Some("NaviDocs <noreply@navidocs.example>")
        );
        // Without EMAIL_FROM, Mailgun sends from its own domain.
        let c = load(
            None,
            &[
                ("MAILGUN_API_KEY", "k"),
                ("MAILGUN_DOMAIN", "mg.example.com"),
            ],
        )
        .unwrap();
        assert_eq!(
            c.providers["mailgun"].settings["from"].as_str(),
            Some("noreply@mg.example.com")
        );
        assert!(load(None, &[]).unwrap().providers.is_empty());
    }

    #[test]
    fn prices_are_exact_and_checked() {
        let c = load(
            Some("[pricing.mailgun]\nemail = \"0.0005\"\n[pricing.twilio.sms]\nUS = \"0.0075\"\ndefault = 1\n"),
            &[("FOGHORN_PRICING__TWILIO__SMS__FR", "0.0712")],
        )
        .unwrap();
        assert_eq!(c.pricing["mailgun"].email, Some(Price(500)));
        assert_eq!(c.pricing["twilio"].sms["US"], Price(7_500));
        assert_eq!(c.pricing["twilio"].sms["default"], Price(1_000_000));
        assert_eq!(c.pricing["twilio"].sms["FR"], Price(71_200));
        for (bad, says) in [
            ("[pricing.x]\nemail = 0.5\n", "as text"),
            ("[pricing.x]\nemail = \"-1\"\n", "not a price"),
            ("[pricing.x.sms]\nusa = \"1\"\n", "pricing.x.sms.USA"),
            (
                "[pricing.x]\ncurrency = \"dollars\"\n",
                "pricing.x.currency",
            ),
        ] {
            let err = load(Some(bad), &[]).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn environment_text_takes_the_type_of_its_key() {
        let c = load(
            None,
            &[
                ("FOGHORN_SMS__FROM", "+12025550142"),
                ("FOGHORN_DELIVERY__JITTER", "0.1"),
                ("FOGHORN_DELIVERY__WORKERS", "8"),
                ("FOGHORN_PROVIDERS__TWILIO__ACCOUNT_SID", "AC123"),
                ("FOGHORN_PROVIDERS__TWILIO__AUTH_TOKEN", "123456"),
                ("FOGHORN_PROVIDERS__TWILIO__RATE_PER_SECOND", "2.5"),
                ("FOGHORN_PROVIDERS__TWILIO__CHANNELS", "sms"),
                ("FOGHORN_PROVIDERS__BANDWIDTH__ACCOUNT_ID", "9900000"),
                ("FOGHORN_PROVIDERS__BANDWIDTH__USERNAME", "2024"),
                ("FOGHORN_CHANNELS__SMS__PROVIDERS", "twilio,bandwidth"),
            ],
        )
        .unwrap();
        assert_eq!(c.sms.from.as_deref(), Some("+12025550142"));
        assert_eq!(c.delivery.jitter, 0.1);
        assert_eq!(c.delivery.workers, 8);
        let tw = &c.providers["twilio"];
        assert_eq!(tw.settings["auth_token"].as_str(), Some("123456"));
        assert_eq!(tw.rate_per_second, Some(2.5));
        assert_eq!(tw.channels, Some(vec![Channel::Sms]));
        // `sms.from` fills the provider's sender as text too.
        assert_eq!(tw.settings["phone_number"].as_str(), Some("+12025550142"));
        let bw = &c.providers["bandwidth"].settings;
        assert_eq!(bw["account_id"].as_str(), Some("9900000"));
        assert_eq!(bw["username"].as_str(), Some("2024"));
        assert_eq!(c.channels[&Channel::Sms].providers, ["twilio", "bandwidth"]);
        let err = load(None, &[("FOGHORN_DELIVERY__JITTER", "lots")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("FOGHORN_DELIVERY__JITTER") && err.contains("lots"),
            "{err}"
        );
        let err = load(None, &[("FOGHORN_SECURITY__ALLOW_PRIVATE_TARGETS", "1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("true or false"), "{err}");
    }

    #[test]
    fn a_bare_port_listens_on_the_default_interface() {
        let c = load(None, &[("FOGHORN_LISTEN", "8080")]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.listen_addr(), ([127, 0, 0, 1], 8080).into());
        let c = load(Some("listen = \"9000\"\n"), &[]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9000");
        for bad in ["70000", ":8080", "localhost"] {
            let err = load(None, &[("FOGHORN_LISTEN", bad)])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("`listen`") && err.contains(bad),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_lease_must_outlast_the_send_timeout() {
        for (lease, timeout) in [("3s", "5s"), ("15s", "15s")] {
            let err = load(
                None,
                &[
                    ("FOGHORN_DELIVERY__LEASE", lease),
                    ("FOGHORN_DELIVERY__SEND_TIMEOUT", timeout),
                ],
            )
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("delivery.lease") && err.contains("delivery.send_timeout"),
                "{err}"
            );
        }
        assert!(load(None, &[("FOGHORN_DELIVERY__LEASE", "16s")]).is_ok());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("soon").is_err());
    }
}
