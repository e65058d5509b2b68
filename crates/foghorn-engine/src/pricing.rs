//! What one send costs, from the price table: `[pricing.<provider>]` in the
//! config over built-in list prices.
//!
//! A provider's prices are looked up by its name (`[pricing.mailgun-eu]`),
//! then by its kind (`[pricing.mailgun]`), then in the built-in table. The
//! first of those that prices the channel at all is used whole, so a
//! `[pricing.twilio.sms]` table replaces the built-in Twilio one rather than
//! mixing with it. Email costs a price per message; SMS costs segments ×
//! the price per segment for the country of the recipient's number (or the
//! table's `default`). A provider that reports its own price on the send
//! answer is believed over this table.

use crate::config::{Price, PriceEntry};
use foghorn_core::{Channel, Money};
use foghorn_providers::kinds::ListPrice;
use std::collections::BTreeMap;

const USD: &str = "USD";

/// A kind's built-in list price (its row in the providers' table, where
/// each price's source is cited), in the form a configured one takes.
fn builtin(kind: &str) -> Option<PriceEntry> {
    let entry = |email, sms| PriceEntry {
        currency: Some(USD.into()),
        email,
        sms,
    };
    match foghorn_providers::kinds::find(kind)?.list_price {
        ListPrice::None => None,
        ListPrice::Email(micros) => Some(entry(Some(Price(micros)), BTreeMap::new())),
        ListPrice::SmsSegment { country, micros } => Some(entry(
            None,
            [(country.to_string(), Price(micros))].into_iter().collect(),
        )),
    }
}

#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    configured: BTreeMap<String, PriceEntry>,
}

impl PriceTable {
    pub fn new(configured: &BTreeMap<String, PriceEntry>) -> PriceTable {
        PriceTable {
            configured: configured.clone(),
        }
    }

    /// The tables that may price provider `name` of `kind`, in precedence order.
    fn sources(&self, name: &str, kind: &str) -> Vec<PriceEntry> {
        let mut out: Vec<PriceEntry> = Vec::new();
        out.extend(self.configured.get(name).cloned());
        if name != kind {
            out.extend(self.configured.get(kind).cloned());
        }
        out.extend(builtin(kind));
        out
    }

    /// The price of one email, or of one SMS segment to `country`.
    pub fn unit_price(
        &self,
        name: &str,
        kind: &str,
        channel: Channel,
        country: Option<&str>,
    ) -> Option<Money> {
        let sources = self.sources(name, kind);
        let (entry, price) = match channel {
            Channel::Email => sources.iter().find_map(|e| e.email.map(|p| (e, p)))?,
            Channel::Sms => {
                let entry = sources.iter().find(|e| !e.sms.is_empty())?;
                let by_country =
                    country.and_then(|c| entry.sms.get(&c.to_ascii_uppercase()).copied());
                (
                    entry,
                    by_country.or_else(|| entry.sms.get("default").copied())?,
                )
            }
            _ => return None,
        };
        Some(Money::new(
            price.0,
            entry.currency.clone().unwrap_or_else(|| USD.into()),
        ))
    }

    /// What a message costs: one email, or `segments` SMS segments.
    pub fn cost(
        &self,
        name: &str,
        kind: &str,
        channel: Channel,
        segments: usize,
        country: Option<&str>,
    ) -> Option<Money> {
        let unit = self.unit_price(name, kind, channel, country)?;
        let units = if channel == Channel::Sms {
            segments as i64
        } else {
            1
        };
        Some(Money::new(unit.micros.checked_mul(units)?, unit.currency))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(toml_text: &str) -> PriceTable {
        #[derive(serde::Deserialize)]
        struct T {
            pricing: BTreeMap<String, PriceEntry>,
        }
        let t: T = toml::from_str(toml_text).unwrap();
        PriceTable::new(&t.pricing)
    }

    #[test]
    fn the_seed_scenario_costs_what_the_issue_says() {
        let t = PriceTable::default();
        let email = t
            .cost("mailgun", "mailgun", Channel::Email, 0, None)
            .unwrap();
        let sms = t
            .cost("twilio", "twilio", Channel::Sms, 1, Some("US"))
            .unwrap();
        assert_eq!((email.micros * 100 + sms.micros * 50), 425_000);
        assert_eq!(sms.currency, "USD");
        assert_eq!(
            t.cost("twilio", "twilio", Channel::Sms, 3, Some("us"))
                .unwrap()
                .micros,
            22_500
        );
        // No built-in price for another country, nor for the sandbox.
        assert_eq!(
            t.cost("twilio", "twilio", Channel::Sms, 1, Some("FR")),
            None
        );
        assert_eq!(t.cost("sandbox", "sandbox", Channel::Email, 0, None), None);
    }

    #[test]
    fn configured_prices_win_by_name_then_kind() {
        let t = table(
            "[pricing.twilio]\ncurrency = \"EUR\"\n[pricing.twilio.sms]\nFR = \"0.07\"\ndefault = \"0.05\"\n\
             [pricing.mg-eu]\nemail = \"0.0009\"\n",
        );
        let fr = t
            .cost("twilio", "twilio", Channel::Sms, 2, Some("FR"))
            .unwrap();
        assert_eq!((fr.micros, fr.currency.as_str()), (140_000, "EUR"));
        // The configured table replaces the built-in one: US is `default` now.
        assert_eq!(
            t.cost("twilio", "twilio", Channel::Sms, 1, Some("US"))
                .unwrap()
                .micros,
            50_000
        );
        assert_eq!(
            t.cost("mg-eu", "mailgun", Channel::Email, 0, None)
                .unwrap()
                .micros,
            900
        );
        assert_eq!(
            t.cost("mg-us", "mailgun", Channel::Email, 0, None)
                .unwrap()
                .micros,
            500
        );
    }
}
