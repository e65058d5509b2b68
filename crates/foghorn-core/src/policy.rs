//! What a tenant declares about its people: the categories of notification
//! it sends (and which are on until someone says no), and the quiet hours
//! that hold back what is not critical.

use crate::Channel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A tenant's categories by name.
pub type Categories = BTreeMap<String, Category>;

/// One kind of notification a person can choose to receive or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// What the preference centre calls it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Whether it is sent to people who have not chosen (opt-out); false
    /// needs a recorded opt-in first.
    #[serde(default = "yes")]
    pub default: bool,
    /// Per-channel exceptions to `default`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channels: BTreeMap<Channel, bool>,
    /// Marketing: by SMS it needs the person's recorded opt-in whatever the
    /// default says (TCPA prior express written consent).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub marketing: bool,
}

fn yes() -> bool {
    true
}

impl Category {
    /// Whether a person who has not chosen gets this category on `channel`.
    pub fn on_by_default(&self, channel: Channel) -> bool {
        if self.marketing && channel == Channel::Sms {
            return false;
        }
        self.channels.get(&channel).copied().unwrap_or(self.default)
    }
}

/// A daily window, in the person's local time, in which nothing that can
/// wait is sent. `start > end` spans midnight (21:00–08:00); `start == end`
/// is no window at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`, 24-hour.
    #[serde(with = "hhmm")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "21:00"))]
    pub start: u16,
    /// `HH:MM`, 24-hour; the first minute sending may resume.
    #[serde(with = "hhmm")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "08:00"))]
    pub end: u16,
}

impl QuietHours {
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// The stored form: `21:00-08:00`.
impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", hhmm::show(self.start), hhmm::show(self.end))
    }
}

impl FromStr for QuietHours {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("`{s}` is not HH:MM-HH:MM"))?;
        Ok(QuietHours {
            start: hhmm::parse(a)?,
            end: hhmm::parse(b)?,
        })
    }
}

/// Minutes after midnight as `HH:MM`.
mod hhmm {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn parse(s: &str) -> Result<u16, String> {
        let bad = || format!("`{s}` is not a time of day as HH:MM (00:00 to 23:59)");
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(h * 60 + m)
    }

    pub fn show(min: u16) -> String {
        format!("{:02}:{:02}", min / 60, min % 60)
    }

    pub fn serialize<S: Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&show(*v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A sum of money as the API writes it: exact decimal text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Amount {
    /// Decimal text, e.g. `250.00`.
    #[cfg_attr(feature = "openapi", schema(example = "250.00"))]
    pub amount: String,
    /// ISO 4217, e.g. `USD`.
    #[cfg_attr(feature = "openapi", schema(example = "USD"))]
    pub currency: String,
}

impl Amount {
    /// Millionths, when the text is a non-negative decimal.
    pub fn micros(&self) -> Option<i64> {
        crate::Money::parse_amount(&self.amount).filter(|m| *m >= 0)
    }
}

/// What a tenant may spend per calendar month (UTC), in total and per
/// channel, and where the alerts go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    /// `total`, or a channel name (`sms`, `email`, …).
    #[serde(default)]
    pub monthly: BTreeMap<String, Amount>,
    /// The tenant's team destination for the 80% and 100% alerts (a
    /// webhook receiving JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_url: Option<String>,
}

/// A tenant's named team destinations (`alerts` for a step's `#alerts`),
/// each with where it is on every chat channel the tenant uses.
pub type Destinations = BTreeMap<String, BTreeMap<Channel, Route>>;

/// Where a named destination is on one chat channel, and whom a message
/// there pings. The workflow names the destination; the tenant says where
/// it is, so one pack serves dealers whose channels all differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The chat channel's id (Slack `C0123456789`, a Discord snowflake).
    pub channel: String,
    /// Pinged on every message there, in place of the step's own mention
    /// (`<@&ROLE>`, `<!subteam^GROUP>`, `<!here>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention: Option<String>,
}

/// The share of a budget at which the tenant is warned.
pub const BUDGET_WARNING_PERCENT: i64 = 80;

/// A tenant's policy as stored: categories, default quiet hours, default
/// time zone, budgets, named team destinations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantPolicy {
    pub categories: Categories,
    pub quiet_hours: Option<QuietHours>,
    pub timezone: Option<String>,
    pub budgets: Budgets,
    pub destinations: Destinations,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_round_trip_and_refuse_nonsense() {
        let q: QuietHours = "21:00-08:00".parse().unwrap();
        assert_eq!((q.start, q.end), (21 * 60, 8 * 60));
        assert_eq!(q.to_string(), "21:00-08:00");
        for bad in ["21-08", "24:00-08:00", "21:60-08:00", "9:00-08:00", "x"] {
            assert!(bad.parse::<QuietHours>().is_err(), "{bad}");
        }
    }

    #[test]
    fn marketing_by_sms_is_never_on_by_default() {
        let c: Category = serde_json::from_str(r#"{"default": true, "marketing": true}"#).unwrap();
        assert!(c.on_by_default(Channel::Email));
        assert!(!c.on_by_default(Channel::Sms));
        let c: Category =
            serde_json::from_str(r#"{"default": false, "channels": {"email": true}}"#).unwrap();
        assert!(c.on_by_default(Channel::Email));
        assert!(!c.on_by_default(Channel::Whatsapp));
    }
}
