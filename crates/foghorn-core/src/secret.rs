//! A credential's type: it prints as `[redacted]` and is read only through
//! an explicit [`Secret::expose`], where it is sent.

use serde::Deserialize;
use std::fmt;

/// An API key, token, password or signing key. Configurations deserialize
/// it from a plain string (files, environment, tenants' JSON accounts), so
/// the type costs nothing on the way in; on the way out, `{:?}` and `{}`
/// show no part of it, so a struct holding one can derive `Debug`. There is
/// no `Serialize`: nothing writes a secret back out.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends or checks it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Empty or whitespace only: a setting left blank counts as unset.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

const REDACTED: &str = "[redacted]";

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Account {
        user: String,
        password: Secret,
        token: Option<Secret>,
    }

    #[test]
    fn reads_from_a_plain_string_and_never_prints_it() {
        let json = r#"{"user": "ana", "password": "hush-123", "token": "tok-456"}"#;
        let account: Account = serde_json::from_str(json).unwrap();
        assert_eq!(account.user, "ana");
        assert_eq!(account.password.expose(), "hush-123");
        assert_eq!(account.token.as_ref().map(Secret::expose), Some("tok-456"));
        let shown = format!("{account:?} {} {:#?}", account.password, account.token);
        assert!(
            !shown.contains("hush") && !shown.contains("tok-"),
            "{shown}"
        );
        assert!(shown.contains("ana") && shown.contains(REDACTED), "{shown}");
        assert!(serde_json::from_str::<Secret>("42").is_err());
    }

    #[test]
    fn blank_means_unset() {
        assert!(Secret::new(" \t").is_blank());
        assert!(Secret::default().is_blank());
        assert!(!Secret::from("k").is_blank());
    }
}
