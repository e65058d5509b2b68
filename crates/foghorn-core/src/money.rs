//! Exact money: micro-units of a currency.
//!
//! Provider prices go down to fractions of a cent ($0.0075 an SMS segment);
//! floats would drift when a month of them is summed, so amounts are integers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Millionths of one unit of `currency`.
    pub micros: i64,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
}

impl Money {
    pub fn new(micros: i64, currency: impl Into<String>) -> Self {
        Money {
            micros,
            currency: currency.into(),
        }
    }

    /// Decimal text with as many places as needed (`0.0075`, `0.425`, `0`).
    pub fn amount_string(&self) -> String {
        let sign = if self.micros < 0 { "-" } else { "" };
        let abs = self.micros.unsigned_abs();
        let whole = abs / 1_000_000;
        let frac = abs % 1_000_000;
        if frac == 0 {
            return format!("{sign}{whole}");
        }
        let digits = format!("{frac:06}");
        format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
    }

    /// Parses a decimal amount such as `0.0075` into micros.
    pub fn parse_amount(text: &str) -> Option<i64> {
        let text = text.trim();
        let (neg, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() && frac.is_empty() || frac.len() > 6 {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let frac_micros: i64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<6}").parse().ok()?
        };
        let v = whole.checked_mul(1_000_000)?.checked_add(frac_micros)?;
        Some(if neg { -v } else { v })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_sub_cent_amounts() {
        assert_eq!(Money::parse_amount("0.0075"), Some(7_500));
        assert_eq!(Money::parse_amount("0.425"), Some(425_000));
        assert_eq!(Money::parse_amount("12"), Some(12_000_000));
        assert_eq!(Money::parse_amount("-0.5"), Some(-500_000));
        assert_eq!(Money::parse_amount("0.1234567"), None);
        assert_eq!(Money::parse_amount("abc"), None);
        assert_eq!(Money::new(425_000, "USD").amount_string(), "0.425");
        assert_eq!(Money::new(7_500, "USD").amount_string(), "0.0075");
        assert_eq!(Money::new(0, "USD").amount_string(), "0");
        assert_eq!(Money::new(3_000_000, "USD").amount_string(), "3");
    }
}
