//! Prefixed, time-ordered identifiers (`evt_…`, `ntf_…`).
//!
//! The prefix tells a reader in a log or a support ticket what kind of thing an
//! id names; the ULID body sorts by creation time, which keeps B-tree inserts
//! append-mostly and makes ids usable as pagination cursors.

use ulid::Ulid;

fn with_prefix(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 27);
    s.push_str(prefix);
    s.push('_');
    s.push_str(&Ulid::new().to_string().to_ascii_lowercase());
    s
}

pub fn event_id() -> String {
    with_prefix("evt")
}

pub fn notification_id() -> String {
    with_prefix("ntf")
}

pub fn attempt_id() -> String {
    with_prefix("att")
}

pub fn api_key_id() -> String {
    with_prefix("key")
}

pub fn message_id() -> String {
    with_prefix("msg")
}

pub fn suppression_id() -> String {
    with_prefix("sup")
}

/// A consent ledger row.
pub fn consent_id() -> String {
    with_prefix("cns")
}

pub fn media_id() -> String {
    with_prefix("med")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_time() {
        let a = event_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = event_id();
        assert!(a.starts_with("evt_") && a.len() == 30, "{a}");
        assert!(a < b, "{a} should sort before {b}");
        assert!(notification_id().starts_with("ntf_"));
    }
}
