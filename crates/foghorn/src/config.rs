//! Configuration: defaults, then `foghorn.toml`, then `FOGHORN_…` environment
//! overrides. Secrets may be written `env:NAME` or `file:PATH`
//! anywhere a string is expected, so no secret has to live in the file.
//!
//! The providers' own variable names (`MAILGUN_API_KEY`, …) are read too, as
//! the lowest layer (see [`native_env`]).
//!
//! Environment values stay text until the key's type reads them (see
//! `foghorn_engine::config::typed`): `FOGHORN_SMS__FROM=+12025550142` is a
//! sender, not a number.
//!
//! Every error names the key, and the file line when the file is at fault.

pub mod native_env;

pub use foghorn_engine::config::*;

use foghorn_engine::config::typed::Typed;
use serde::Deserialize;
use std::path::{Path, PathBuf};

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
    from_sources(text.as_deref(), &path, &env)
}

/// The configuration from a file's text (or none) and an environment.
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
    let mut config =
        Config::deserialize(Typed(toml::Value::Table(value))).map_err(|e| ConfigError::Key {
            key: "(config)".into(),
            message: e.message().to_string(),
        })?;
    config.validate()?;
    Ok(config)
}

/// Gives every provider without a sender of its own the shared default:
/// `email.from` for email kinds, `sms.from` for SMS kinds, at the key its
/// kind names for its sender (`foghorn_providers::kinds::Sender`).
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
        let kind = t.get("kind").and_then(toml::Value::as_str).unwrap_or(name);
        let Some(sender) = foghorn_providers::kinds::find(kind).and_then(|k| k.sender) else {
            continue;
        };
        if t.contains_key(sender.key) || sender.unless.is_some_and(|k| t.contains_key(k)) {
            continue;
        }
        let default = match sender.shared {
            foghorn_core::Channel::Email => email_from.clone(),
            _ => sms_from.clone(),
        }
        .or_else(|| {
            let setting = sender.or_noreply_at?;
            let at = t.get(setting).and_then(toml::Value::as_str)?;
            Some(format!("noreply@{at}"))
        });
        if let Some(v) = default {
            t.insert(sender.key.into(), toml::Value::String(v));
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

/// How the operator's own workflow files read their `env:`/`file:`
/// references: against this process's environment and files, as the
/// configuration does.
pub fn operator_references() -> foghorn_engine::workflow::Resolve {
    Box::new(|s| resolve_secret(s, &std::env::vars().collect::<Vec<_>>()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use foghorn_core::Channel;
    use std::time::Duration;

    fn load(text: Option<&str>, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_sources(text, Path::new("foghorn.toml"), &env)
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
