//! The providers' own environment variable names (`MAILGUN_API_KEY`,
//! `TWILIO_AUTH_TOKEN`, …) turned into `[providers.<kind>]` tables. The
//! names are each kind's, in the providers' table
//! (`foghorn_providers::kinds`): the ones its documentation and SDKs use.
//!
//! A provider comes into being when every one of its required variables is
//! set (and not empty), and one of its alternative credential sets when it
//! has some; its optional ones are added when present. These
//! tables are the lowest layer: the config file and `FOGHORN_…` variables
//! override or add to them key by key. Senders come from `EMAIL_FROM` and
//! `SMS_FROM` (the `email.from` and `sms.from` keys), applied later by
//! [`super::Config`] to every provider that has none of its own.

use foghorn_providers::kinds;

/// Sender defaults: (variable, section, key).
const SENDERS: &[(&str, &str, &str)] =
    &[("EMAIL_FROM", "email", "from"), ("SMS_FROM", "sms", "from")];

/// The variables this module reads, for documentation and `--help` texts.
#[cfg(test)]
pub fn variable_names() -> impl Iterator<Item = &'static str> {
    kinds::all()
        .iter()
        .flat_map(|k| k.env.names())
        .chain(SENDERS.iter().map(|(var, _, _)| *var))
}

/// The configuration the providers' own variables describe, as a table to
/// lay under the file.
pub fn table(env: &[(String, String)]) -> toml::Table {
    let get = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let mut root = toml::Table::new();
    let mut providers = toml::Table::new();
    for k in kinds::all() {
        let n = &k.env;
        if n.required.is_empty() && n.one_of.is_empty() {
            continue;
        }
        let Some(required): Option<Vec<(&str, &str)>> = n
            .required
            .iter()
            .map(|(var, key)| get(var).map(|v| (*key, v)))
            .collect()
        else {
            continue;
        };
        let complete: Vec<Vec<(&str, &str)>> = n
            .one_of
            .iter()
            .filter_map(|set| {
                set.iter()
                    .map(|(var, key)| get(var).map(|v| (*key, v)))
                    .collect()
            })
            .collect();
        if !n.one_of.is_empty() && complete.is_empty() {
            continue;
        }
        let mut t = toml::Table::new();
        let optional = n
            .optional
            .iter()
            .filter_map(|(var, key)| get(var).map(|v| (*key, v)));
        for (key, value) in required
            .into_iter()
            .chain(complete.into_iter().flatten())
            .chain(optional)
        {
            let value = if key == "region" {
                value.to_ascii_lowercase()
            } else {
                value.to_string()
            };
            t.insert(key.to_string(), toml::Value::String(value));
        }
        providers.insert(k.name.to_string(), toml::Value::Table(t));
    }
    if !providers.is_empty() {
        root.insert("providers".into(), toml::Value::Table(providers));
    }
    for (var, section, key) in SENDERS {
        if let Some(v) = get(var) {
            let mut t = toml::Table::new();
            t.insert(key.to_string(), toml::Value::String(v.to_string()));
            root.insert(section.to_string(), toml::Value::Table(t));
        }
    }
    root
}

/// Lays `over` on top of `base`, table by table: a key in `over` replaces
/// the same key in `base`; nested tables merge.
pub fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_provider_exists_only_with_all_its_required_variables() {
        let t = table(&env(&[
            ("MAILGUN_API_KEY", "key-1"),
            ("MAILGUN_DOMAIN", "mg.example.com"),
            ("MAILGUN_REGION", "EU"),
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("VONAGE_API_KEY", "k"),
            ("PLIVO_AUTH_ID", "MA1"),
            ("PLIVO_AUTH_TOKEN", " "),
        ]));
        let providers = t["providers"].as_table().unwrap();
        let mailgun = providers["mailgun"].as_table().unwrap();
        assert_eq!(mailgun["api_key"].as_str(), Some("key-1"));
        assert_eq!(mailgun["domain"].as_str(), Some("mg.example.com"));
        assert_eq!(mailgun["region"].as_str(), Some("eu"));
        // Twilio lacks its token, Vonage its secret, Plivo's token is blank.
        assert_eq!(providers.len(), 1, "{providers:?}");
    }

    #[test]
    fn every_kind_maps_its_variables_to_its_config_keys() {
        let all: Vec<(String, String)> = variable_names()
            .map(|v| (v.to_string(), format!("value-of-{v}")))
            .collect();
        let t = table(&all);
        let providers = t["providers"].as_table().unwrap();
        for kind in [
            "mailgun",
            "sendgrid",
            "postmark",
            "smtp",
            "twilio",
            "vonage",
            "messagebird",
            "bandwidth",
            "plivo",
        ] {
            assert!(providers.contains_key(kind), "{kind}");
        }
        assert_eq!(
            providers["bandwidth"]["messaging_application_id"].as_str(),
            Some("value-of-BANDWIDTH_MESSAGING_APPLICATION_ID")
        );
        assert_eq!(
            providers["bandwidth"]["client_secret"].as_str(),
            Some("value-of-BANDWIDTH_CLIENT_SECRET")
        );
        assert_eq!(
            providers["bandwidth"]["from"].as_str(),
            Some("value-of-BANDWIDTH_PHONE_NUMBER")
        );
        assert_eq!(
            providers["postmark"]["webhook_password"].as_str(),
            Some("value-of-POSTMARK_WEBHOOK_PASSWORD")
        );
        assert_eq!(
            providers["twilio"]["messaging_service_sid"].as_str(),
            Some("value-of-TWILIO_MESSAGING_SERVICE_SID")
        );
        assert_eq!(t["email"]["from"].as_str(), Some("value-of-EMAIL_FROM"));
        assert_eq!(t["sms"]["from"].as_str(), Some("value-of-SMS_FROM"));
    }

    #[test]
    fn bandwidth_takes_client_credentials_or_a_legacy_api_user() {
        let base = [
            ("BANDWIDTH_ACCOUNT_ID", "9900000"),
            ("BANDWIDTH_MESSAGING_APPLICATION_ID", "app-1"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            table(&env(&all))
        };
        // Neither set: no provider.
        assert!(!with(&[]).contains_key("providers"));
        assert!(!with(&[("BANDWIDTH_CLIENT_ID", "c")]).contains_key("providers"));
        let oauth = with(&[
            ("BANDWIDTH_CLIENT_ID", "c-1"),
            ("BANDWIDTH_CLIENT_SECRET", "s-1"),
            ("BANDWIDTH_PHONE_NUMBER", "+19195551212"),
        ]);
        let bw = oauth["providers"]["bandwidth"].as_table().unwrap();
        assert_eq!(bw["client_id"].as_str(), Some("c-1"));
        assert_eq!(bw["client_secret"].as_str(), Some("s-1"));
        assert_eq!(bw["account_id"].as_str(), Some("9900000"));
        assert_eq!(bw["from"].as_str(), Some("+19195551212"));
        assert!(!bw.contains_key("username"));
        let legacy = with(&[("BANDWIDTH_USERNAME", "u"), ("BANDWIDTH_PASSWORD", "p")]);
        let bw = legacy["providers"]["bandwidth"].as_table().unwrap();
        assert_eq!(bw["username"].as_str(), Some("u"));
        assert!(!bw.contains_key("client_id"));
    }

    #[test]
    fn merging_keeps_what_the_upper_layer_does_not_say() {
        let mut base = table(&env(&[("SENDGRID_API_KEY", "SG.env")]));
        let file: toml::Table =
            "[providers.sendgrid]\nfrom = \"a@b.example\"\n[providers.other]\nkind = \"sandbox\"\n"
                .parse()
                .unwrap();
        merge(&mut base, file);
        let sg = base["providers"]["sendgrid"].as_table().unwrap();
        assert_eq!(sg["api_key"].as_str(), Some("SG.env"));
        assert_eq!(sg["from"].as_str(), Some("a@b.example"));
        assert!(base["providers"].as_table().unwrap().contains_key("other"));
    }
}
