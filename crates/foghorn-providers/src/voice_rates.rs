//! What a call costs: its billed minutes (each begun minute whole) at the
//! per-minute rate for the number's calling-code prefix, the account's
//! `voice_prices` over the provider's list price. Carriers' rate decks are
//! prefix tables too, so `+44` and `+447` may differ.

use foghorn_core::Money;
use std::collections::BTreeMap;

/// Per-minute rates by E.164 prefix, longest prefix first.
#[derive(Debug, Clone, Default)]
pub struct MinuteRates {
    rates: Vec<(String, i64)>,
}

impl MinuteRates {
    /// `configured` (`{"+33" = "0.0395"}`) over `list` (the provider's list
    /// prices in micro-dollars); a key is `+` and 1 to 6 digits, a value
    /// an amount.
    pub fn new(
        configured: &BTreeMap<String, String>,
        list: &[(&str, i64)],
    ) -> Result<Self, String> {
        let mut by_prefix: BTreeMap<String, i64> = list
            .iter()
            .map(|(prefix, micros)| (prefix.to_string(), *micros))
            .collect();
        for (prefix, rate) in configured {
            let digits = prefix.strip_prefix('+').unwrap_or_default();
            if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(format!(
                    "`voice_prices.{prefix}` is not a calling-code prefix such as \"+33\""
                ));
            }
            let micros = Money::parse_amount(rate)
                .filter(|m| *m >= 0)
                .ok_or_else(|| {
                    format!("`voice_prices.{prefix}` is an amount such as \"0.0140\"")
                })?;
            by_prefix.insert(prefix.clone(), micros);
        }
        let mut rates: Vec<(String, i64)> = by_prefix.into_iter().collect();
        rates.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Ok(MinuteRates { rates })
    }

    /// A call to `to` that lasted `seconds` once answered, in USD; None
    /// when it was not answered or no rate covers the number.
    pub fn cost(&self, to: &str, seconds: i64) -> Option<Money> {
        if seconds <= 0 {
            return None;
        }
        let (_, per_minute) = self
            .rates
            .iter()
            .find(|(p, _)| to.starts_with(p.as_str()))?;
        let minutes = (seconds + 59) / 60;
        Some(Money::new(minutes.checked_mul(*per_minute)?, "USD"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(configured: &[(&str, &str)]) -> Result<MinuteRates, String> {
        let configured = configured
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        MinuteRates::new(&configured, &[("+1", 14_000)])
    }

    #[test]
    fn each_begun_minute_at_the_longest_prefixs_rate() {
        let r = rates(&[("+33", "0.0395"), ("+336", "0.0600")]).unwrap();
        let micros = |to: &str, secs: i64| r.cost(to, secs).map(|m| m.micros);
        assert_eq!(micros("+12025550142", 1), Some(14_000));
        assert_eq!(micros("+12025550142", 60), Some(14_000));
        assert_eq!(micros("+12025550142", 61), Some(28_000));
        assert_eq!(micros("+33140000000", 90), Some(79_000));
        assert_eq!(micros("+33612345678", 30), Some(60_000));
        assert_eq!(micros("+4915112345678", 30), None, "no rate for Germany");
        assert_eq!(micros("+12025550142", 0), None, "not answered");
        // The account's own rate replaces the list price.
        let r = rates(&[("+1", "0.0100")]).unwrap();
        assert_eq!(r.cost("+12025550142", 30).map(|m| m.micros), Some(10_000));
    }

    #[test]
    fn a_bad_prefix_or_amount_names_its_key() {
        for (k, v) in [
            ("33", "0.01"),
            ("+3x", "0.01"),
            ("+1234567", "0.01"),
            ("+33", "cheap"),
            ("+33", "-1"),
        ] {
            let e = rates(&[(k, v)]).unwrap_err();
            assert!(e.contains(&format!("voice_prices.{k}")), "{e}");
        }
    }
}
