//! Noise control: digests (many events, one message), throttles (at most N
//! a window) and duplicate suppression (the same alert twice inside a
//! window is sent once).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `digest = { key = "boat_id", window = "30m" }`, or `at = "18:00"` for
/// a daily schedule: the step's events for one person and one value of
/// `data.<key>` become one message. The window starts with the first
/// event; the digest takes every event until it starts sending, and an
/// event after that starts the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Digest {
    /// The field of `data` whose value groups events (a boat's id); an
    /// event without it is sent on its own.
    pub key: String,
    /// How long after its first event a digest is sent: `30m`, `2h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "30m"))]
    pub window: Option<String>,
    /// Or the local time of day it is sent at (the person's zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "18:00"))]
    pub at: Option<String>,
}

/// Most events one digest message lists; the count says how many in all.
pub const DIGEST_LISTED: usize = 200;

impl Digest {
    /// The value events are grouped by, if the event has one.
    pub fn value(&self, data: &Value) -> Option<String> {
        match data.get(&self.key)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// When a digest opened at `opened_ms` is sent, for a person in `zone`.
    pub fn closes_at(&self, opened_ms: i64, zone: Option<&str>) -> Option<i64> {
        if let Some(w) = &self.window {
            let w = crate::config::parse_duration(w).ok()?;
            return Some(opened_ms + w.as_millis() as i64);
        }
        let minute = super::series::parse_at(self.at.as_deref()?)?;
        let tz: chrono_tz::Tz = zone.and_then(|t| t.parse().ok()).unwrap_or(chrono_tz::UTC);
        let today = chrono::DateTime::from_timestamp_millis(opened_ms)?
            .with_timezone(&tz)
            .date_naive();
        let at_today = crate::preferences::local_instant(&tz, today, minute)?;
        if at_today > opened_ms {
            return Some(at_today);
        }
        crate::preferences::local_instant(&tz, today.succ_opt()?, minute)
    }

    pub fn problem(&self) -> Option<String> {
        if self.key.is_empty()
            || self.key.len() > 64
            || !self
                .key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Some("digest.key names a field of data: letters, digits and _".into());
        }
        match (&self.window, &self.at) {
            (Some(w), None) => {
                let ok = crate::config::parse_duration(w).is_ok_and(|d| {
                    d >= std::time::Duration::from_secs(1)
                        && d <= std::time::Duration::from_secs(7 * 86_400)
                });
                (!ok).then(|| "digest.window is a duration from 1s to 7d, such as 30m".into())
            }
            (None, Some(a)) => super::series::parse_at(a)
                .is_none()
                .then(|| "digest.at is a local time of day, HH:MM, such as 18:00".into()),
            _ => Some("a digest has a window or an at, one of the two".into()),
        }
    }
}

/// Whose notifications a throttle counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// Each person's own.
    Subscriber,
    /// All of the tenant's.
    Tenant,
}

/// `throttle = [{ per = "subscriber", max = 3, window = "1d" }]`: at most
/// `max` notifications of the workflow's category per window; the rest are
/// suppressed with the reason `throttled`. Counted when a notification is
/// planned to go now; a scheduled one (a reminder) is counted when sent
/// by no throttle, being planned already.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    pub per: Per,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max: u32,
    #[cfg_attr(feature = "openapi", schema(example = "1d"))]
    pub window: String,
}

impl Throttle {
    pub fn window_ms(&self) -> i64 {
        crate::config::parse_duration(&self.window).map_or(0, |d| d.as_millis() as i64)
    }

    /// The reason a throttled notification carries.
    pub fn reason(&self, category: &str) -> String {
        let whose = match self.per {
            Per::Subscriber => "per subscriber",
            Per::Tenant => "for the tenant",
        };
        format!(
            "throttled: at most {} {category} notifications {whose} per {}",
            self.max, self.window
        )
    }

    pub fn problem(&self) -> Option<String> {
        let ok = crate::config::parse_duration(&self.window).is_ok_and(|d| {
            d >= std::time::Duration::from_secs(1)
                && d <= std::time::Duration::from_secs(31 * 86_400)
        });
        if !ok {
            return Some("throttle.window is a duration from 1s to 31d, such as 1d".into());
        }
        (!(1..=100_000).contains(&self.max)).then(|| "throttle.max is 1 to 100000".into())
    }
}

/// What `dedupe = "1h"` may say.
pub fn dedupe_problem(window: &str) -> Option<String> {
    let ok = crate::config::parse_duration(window).is_ok_and(|d| {
        d >= std::time::Duration::from_secs(1) && d <= std::time::Duration::from_secs(31 * 86_400)
    });
    (!ok).then(|| "dedupe is a duration from 1s to 31d, such as 1h".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn a_digest_closes_a_window_after_its_first_event_or_at_the_next_local_time() {
        let window = Digest {
            key: "boat_id".into(),
            window: Some("30m".into()),
            at: None,
        };
        assert_eq!(window.closes_at(1_000, None), Some(1_000 + 1_800_000));
        let daily = Digest {
            key: "boat_id".into(),
            window: None,
            at: Some("18:00".into()),
        };
        // 17:00 in Paris (16:00 UTC): today at 18:00; 19:00: tomorrow.
        assert_eq!(
            daily.closes_at(at("2027-01-15T16:00:00Z"), Some("Europe/Paris")),
            Some(at("2027-01-15T17:00:00Z"))
        );
        assert_eq!(
            daily.closes_at(at("2027-01-15T18:00:00Z"), Some("Europe/Paris")),
            Some(at("2027-01-16T17:00:00Z"))
        );
        assert_eq!(
            window.value(&json!({"boat_id": "B-1"})).as_deref(),
            Some("B-1")
        );
        assert_eq!(window.value(&json!({"boat_id": 7})).as_deref(), Some("7"));
        assert_eq!(window.value(&json!({"boat_id": ""})), None);
        assert_eq!(window.value(&json!({})), None);
        assert!(window.problem().is_none() && daily.problem().is_none());
        let both = Digest {
            key: "boat_id".into(),
            window: Some("30m".into()),
            at: Some("18:00".into()),
        };
        assert!(both.problem().is_some());
        let bad = Digest {
            key: "a.b".into(),
            window: Some("30m".into()),
            at: None,
        };
        assert!(bad.problem().is_some());
        let t = Throttle {
            per: Per::Subscriber,
            max: 3,
            window: "1d".into(),
        };
        assert!(t.problem().is_none());
        assert_eq!(t.window_ms(), 86_400_000);
        assert!(Throttle {
            max: 0,
            ..t.clone()
        }
        .problem()
        .is_some());
        assert!(dedupe_problem("1h").is_none() && dedupe_problem("1y").is_some());
    }
}
