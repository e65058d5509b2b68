//! The checks every edge applies to the fields people and events arrive
//! with (ids, addresses, locales, zones, countries), written once so the
//! API, the CLI and the intake refuse the same values with the same words.
//! Each error names the field, so an edge can point at it.

use foghorn_core::Contact;

/// A field that fails its check, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The first control character in `s`, if any: C0 (NUL to US), DEL and C1.
pub fn control_char(s: &str) -> Option<char> {
    s.chars().find(|c| c.is_control())
}

/// Refuses a text value holding a control character; ids, keys, cursors,
/// locales and the like never need one, and PostgreSQL cannot store NUL.
pub fn plain_text(field: &str, value: &str) -> Result<(), FieldError> {
    match control_char(value) {
        Some(c) => Err(FieldError::new(
            field,
            format!(
                "must not contain control characters (found U+{:04X})",
                c as u32
            ),
        )),
        None => Ok(()),
    }
}

pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && s.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
}

/// A phone field normalised to E.164. `country` reads a national number.
pub fn phone(
    field: &str,
    value: Option<String>,
    country: Option<&str>,
) -> Result<Option<String>, FieldError> {
    match value {
        None => Ok(None),
        Some(v) => crate::phone::normalize(&v, country)
            .map(|p| Some(p.e164))
            .map_err(|e| {
                FieldError::new(
                    field,
                    format!("{e}; expected a number such as +12025550142"),
                )
            }),
    }
}

/// An ISO 3166-1 alpha-2 code, returned in capitals.
pub fn country_code(field: &str, c: &str) -> Result<String, FieldError> {
    if c.len() != 2 || !c.chars().all(|x| x.is_ascii_alphabetic()) {
        return Err(FieldError::new(
            field,
            "expected an ISO 3166-1 alpha-2 code such as US",
        ));
    }
    Ok(c.to_ascii_uppercase())
}

/// An IANA time zone name known to the tz database (`Europe/Paris`): a
/// zone the database lacks cannot place a quiet hour or a local send time.
pub fn time_zone(field: &str, tz: &str) -> Result<(), FieldError> {
    tz.parse::<chrono_tz::Tz>().map(|_| ()).map_err(|_| {
        FieldError::new(
            field,
            "not a time zone of the IANA tz database; expected a name such as Europe/Paris",
        )
    })
}

/// A BCP 47 language tag's shape (`en`, `fr-FR`, `zh-Hant-TW`): subtags
/// of 1 to 8 letters or digits joined by `-` (or `_`, as POSIX writes
/// them), at most 35 bytes.
pub fn locale(field: &str, l: &str) -> Result<(), FieldError> {
    let ok = !l.is_empty()
        && l.len() <= 35
        && l.split(['-', '_'])
            .all(|s| (1..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()))
        && l.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "expected a BCP 47 language tag such as en or fr-FR",
        ))
    }
}

/// The name of `field` inside the object at `at` (`to[3].email`); at the
/// top level (`at` empty) the field's own name.
pub fn under(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_string()
    } else {
        format!("{at}.{field}")
    }
}

/// A person's contact fields checked, countries in capitals and phones in
/// E.164, for an inline recipient (`at` = `to[3]`) and a subscriber (`at`
/// empty) alike; errors name the field under `at`.
pub fn contact(at: &str, mut c: Contact) -> Result<Contact, FieldError> {
    let name = |f: &str| under(at, f);
    if let Some(l) = &c.locale {
        locale(&name("locale"), l)?;
    }
    if let Some(tz) = &c.timezone {
        time_zone(&name("timezone"), tz)?;
    }
    if c.email.as_deref().is_some_and(|e| !valid_email(e)) {
        return Err(FieldError::new(name("email"), "not a valid email address"));
    }
    if let Some(code) = &c.country {
        c.country = Some(country_code(&name("country"), code)?);
    }
    let country = c.country.as_deref();
    let phone_e164 = phone(&name("phone"), c.phone.take(), country)?;
    let whatsapp = phone(&name("whatsapp"), c.whatsapp.take(), country)?;
    c.phone = phone_e164;
    c.whatsapp = whatsapp;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        assert!(valid_email("owner@example.com"));
        assert!(!valid_email("owner@example"));
        assert!(!valid_email("a b@example.com"));
        assert!(!valid_email("@example.com"));
        assert_eq!(
            phone("phone", Some("+1 202 555 0142".into()), None).unwrap(),
            Some("+12025550142".into())
        );
        let e = phone("to[0].phone", Some("+15555550142".into()), None).unwrap_err();
        assert_eq!(e.field, "to[0].phone");
    }

    #[test]
    fn control_characters_are_refused_and_named() {
        assert!(plain_text("id", "owner-42 é ✓").is_ok());
        for bad in ["a\0b", "tab\there", "\u{7f}", "\u{85}"] {
            let e = plain_text("id", bad).unwrap_err();
            assert_eq!(e.field, "id");
            assert!(e.message.contains("control characters"), "{e}");
        }
    }
}
