//! Email senders as configuration and the engine write them,
//! `Name <address>` or a bare address, parsed once for every layer.

use std::fmt;

/// A parsed `Name <address>` or bare `address`, as configuration and the
/// engine write senders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailboxError {
    #[error("`{0}` is not an email address")]
    NotAnAddress(String),
    #[error("`{0}` has an unterminated `<`")]
    Unterminated(String),
}

impl Mailbox {
    /// Accepts `addr@example.com`, `Name <addr@example.com>` and
    /// `"Doe, Jane" <addr@example.com>`. Only the shape is checked (one `@`,
    /// no spaces or brackets in the address): the provider is the judge of
    /// deliverability.
    pub fn parse(text: &str) -> Result<Mailbox, MailboxError> {
        let text = text.trim();
        let (name, email) = match text.rfind('<') {
            None => (None, text),
            Some(open) => {
                let rest = &text[open + 1..];
                let close = rest
                    .find('>')
                    .ok_or_else(|| MailboxError::Unterminated(text.to_string()))?;
                if !rest[close + 1..].trim().is_empty() {
                    return Err(MailboxError::NotAnAddress(text.to_string()));
                }
                let name = text[..open].trim();
                let name = name
                    .strip_prefix('"')
                    .and_then(|n| n.strip_suffix('"'))
                    .unwrap_or(name)
                    .trim();
                let name = (!name.is_empty()).then(|| name.to_string());
                (name, rest[..close].trim())
            }
        };
        let plausible = email.split('@').count() == 2
            && !email.starts_with('@')
            && !email.ends_with('@')
            && !email
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'));
        if !plausible {
            return Err(MailboxError::NotAnAddress(text.to_string()));
        }
        Ok(Mailbox {
            name,
            email: email.to_string(),
        })
    }

    /// The domain part, for Message-IDs.
    pub fn domain(&self) -> &str {
        self.email.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            None => f.write_str(&self.email),
            Some(name) if name.contains(|c: char| ",.;:<>@\"()[]\\".contains(c)) => {
                let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
                write!(f, "\"{escaped}\" <{}>", self.email)
            }
            Some(name) => write!(f, "{name} <{}>", self.email),
        }
    }
}
