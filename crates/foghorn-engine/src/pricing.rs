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
use foghorn_core::kind::{ListPrice, Spec};
use foghorn_core::{Channel, Money};
use std::collections::BTreeMap;

const USD: &str = "USD";

/// A kind's built-in list price (its row in the providers' table, where
/// each price's source is cited), in the form a configured one takes.
fn builtin(kinds: &[&Spec], kind: &str) -> Option<PriceEntry> {
    let entry = |email, sms| PriceEntry {
        currency: Some(USD.into()),
        email,
        sms,
    };
    match kinds.iter().find(|s| s.name == kind)?.list_price {
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
    kinds: &'static [&'static Spec],
}

impl PriceTable {
    /// `kinds` give the built-in list prices.
    pub fn new(
        configured: &BTreeMap<String, PriceEntry>,
        kinds: &'static [&'static Spec],
    ) -> PriceTable {
        PriceTable {
            configured: configured.clone(),
            kinds,
        }
    }

    /// The tables that may price provider `name` of `kind`, in precedence order.
    fn sources(&self, name: &str, kind: &str) -> Vec<PriceEntry> {
        let mut out: Vec<PriceEntry> = Vec::new();
        out.extend(self.configured.get(name).cloned());
        if name != kind {
            out.extend(self.configured.get(kind).cloned());
        }
        out.extend(builtin(self.kinds, kind));
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
