//! Phone numbers at the API edge: validated against the numbering plan and
//! normalised to E.164 (`+12025550142`), so a bad number is a clear 422 when
//! it is given, not a failed send later. A national number (`(202) 555-0142`)
//! is read with the subscriber's country. The number's own country, not the
//! subscriber's, is what SMS pricing uses.

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber};
use std::str::FromStr;

/// A valid number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub e164: String,
    /// ISO 3166-1 alpha-2 of the number's region, when it has one (not for
    /// non-geographic numbers).
    pub country: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("`{0}` is not a country code (expected ISO 3166-1 alpha-2 such as US)")]
    UnknownCountry(String),
    #[error("not a phone number")]
    NotANumber,
    #[error("a national number needs a country: write it as +<country code>… or set `country`")]
    NeedsCountry,
    #[error("not a valid phone number for its country")]
    Invalid,
}

/// Validates `input` (international, or national when `country` is given)
/// and returns it in E.164.
pub fn normalize(input: &str, country: Option<&str>) -> Result<Phone, PhoneError> {
    let input = input.trim();
    let hint = match country {
        Some(c) => Some(
            Id::from_str(&c.trim().to_ascii_uppercase())
                .map_err(|_| PhoneError::UnknownCountry(c.to_string()))?,
        ),
        None => None,
    };
    if input.is_empty() || input.chars().filter(char::is_ascii_digit).count() < 3 {
        return Err(PhoneError::NotANumber);
    }
    if hint.is_none() && !input.starts_with('+') {
        return Err(PhoneError::NeedsCountry);
    }
    let number = phonenumber::parse(hint, input).map_err(|_| PhoneError::NotANumber)?;
    if !phonenumber::is_valid(&number) {
        return Err(PhoneError::Invalid);
    }
    Ok(view(&number))
}

fn view(number: &PhoneNumber) -> Phone {
    Phone {
        e164: number.format().mode(Mode::E164).to_string(),
        country: number.country().id().map(|id| id.as_ref().to_string()),
    }
}

/// The country of an E.164 number, for pricing; None when it cannot be told.
pub fn country_of(e164: &str) -> Option<String> {
    phonenumber::parse(None, e164)
        .ok()
        .and_then(|n| view(&n).country)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_international_and_national_numbers() {
        let us = normalize("+1 (202) 555-0142", None).unwrap();
        assert_eq!(us.e164, "+12025550142");
        assert_eq!(us.country.as_deref(), Some("US"));
        assert_eq!(normalize("(202) 555-0142", Some("us")).unwrap(), us);
        let fr = normalize("06 12 34 56 78", Some("FR")).unwrap();
        assert_eq!(fr.e164, "+33612345678");
        assert_eq!(fr.country.as_deref(), Some("FR"));
        // An international number keeps its own country whatever the hint.
        assert_eq!(normalize("+33 6 12 34 56 78", Some("US")).unwrap(), fr);
        assert_eq!(country_of("+33612345678").as_deref(), Some("FR"));
        assert_eq!(country_of("+12025550142").as_deref(), Some("US"));
    }

    #[test]
    fn refuses_what_cannot_be_dialled() {
        assert_eq!(normalize("555-0142", None), Err(PhoneError::NeedsCountry));
        assert_eq!(normalize("call me", None), Err(PhoneError::NotANumber));
        // 555 is not an area code in the North American plan.
        assert_eq!(normalize("+15555550142", None), Err(PhoneError::Invalid));
        assert_eq!(normalize("+1202555", None), Err(PhoneError::Invalid));
        assert!(matches!(
            normalize("2025550142", Some("USA")),
            Err(PhoneError::UnknownCountry(_))
        ));
    }
}
