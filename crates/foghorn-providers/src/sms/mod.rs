//! SMS providers: Twilio, Vonage (SMS API), MessageBird (legacy REST API),
//! Bandwidth (Messaging API v2) and Plivo.
//!
//! Each provider folder has the same shape: `mod.rs` (configuration and the
//! provider with `send` and `inbound`), `api.rs` (the provider's wire format,
//! with the documentation and SDK facts it relies on), `inbound.rs` (callback
//! authentication and parsing) and `tests.rs`. What they all share — the
//! recipient and sender rules, callback URLs, prices — is here, so the five agree on it.

pub mod bandwidth;
pub mod messagebird;
pub mod plivo;
pub use foghorn_core::segments;
pub mod twilio;
pub mod vonage;

#[cfg(test)]
pub(crate) mod testkit;

use crate::BuildError;
use foghorn_core::{Address, InboundError, InboundRequest, Money, Outbound, ProviderError};
use reqwest::{StatusCode, Url};

/// The receipt for a 2xx answer whose body could not be read: the provider
/// took the message (so reporting a failure would get it sent twice), but
/// there is no id to correlate callbacks with.
pub(crate) fn accepted_untracked(status: StatusCode) -> foghorn_core::Receipt {
    foghorn_core::Receipt {
        http_status: Some(status.as_u16()),
        ..foghorn_core::Receipt::default()
    }
}

/// ITU-T E.164: `+`, a country code not starting with 0, at most 15 digits.
pub fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// The recipient's number; SMS goes to E.164 phone numbers only, and anything
/// else will never be deliverable, so it is a permanent error.
pub(crate) fn recipient(msg: &Outbound) -> Result<&str, ProviderError> {
    match &msg.to {
        Address::Phone(number) if is_e164(number) => Ok(number),
        Address::Phone(number) => Err(ProviderError::permanent(format!(
            "`{number}` is not an E.164 phone number (+ and up to 15 digits)"
        ))),
        Address::Email(_) | Address::Url(_) | Address::Channel(_) => Err(ProviderError::permanent(
            "SMS can only be sent to a phone number",
        )),
    }
}

/// The text to send; an empty message is refused here rather than by the
/// provider, which would bill nothing but still fail.
pub(crate) fn text(msg: &Outbound) -> Result<&str, ProviderError> {
    match msg.content.text.as_deref() {
        Some(text) if !text.trim().is_empty() => Ok(text),
        _ => Err(ProviderError::permanent("the rendered SMS text is empty")),
    }
}

/// The sender: the engine's choice for this message (per tenant and
/// country) when it made one, else the provider's configured default.
pub(crate) fn sender<'a>(msg: &'a Outbound, configured: &'a str) -> &'a str {
    match msg.from.as_deref() {
        Some(from) if !from.trim().is_empty() => from,
        _ => configured,
    }
}

/// Digits only, for the APIs that take MSISDNs without the `+` (Vonage,
/// MessageBird); alphanumeric sender ids pass unchanged.
pub(crate) fn msisdn(number: &str) -> &str {
    match number.strip_prefix('+') {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => digits,
        _ => number,
    }
}

/// The reverse of [`msisdn`] for numbers reported in callbacks, so that they
/// compare equal to the E.164 addresses Foghorn stores. Sender ids and short
/// codes (fewer than 7 digits) are left alone.
pub(crate) fn e164(number: &str) -> String {
    if (7..=15).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{number}")
    } else {
        number.to_string()
    }
}

/// The status callback URL a provider takes with each send, when Foghorn
/// knows its public URL: `{public_url}/hooks/{kind}?tenant=…`, plus `&n=` our
/// notification id for providers that sign the whole URL (so the id comes
/// back authenticated without relying on the provider's message id).
pub(crate) fn callback_url(
    public_url: Option<&str>,
    kind: &str,
    tenant: &str,
    notification_id: Option<&str>,
) -> Option<String> {
    let base = public_url?.trim_end_matches('/');
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("tenant", tenant);
    if let Some(id) = notification_id {
        query.append_pair("n", id);
    }
    Some(format!("{base}/hooks/{kind}?{}", query.finish()))
}

/// Our notification id from a callback URL built by [`callback_url`].
pub(crate) fn notification_from_url(url: &str) -> Option<String> {
    crate::signature::non_empty(&crate::signature::query_params(url), "n").map(str::to_string)
}

pub(crate) use crate::net_guard::base_url;

/// `base` + `path`, `path` starting with `/`.
pub(crate) fn endpoint(base: &Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}

/// Refuses an empty required setting at start-up.
pub(crate) fn required(provider: &str, key: &str, value: &str) -> Result<(), BuildError> {
    if value.trim().is_empty() {
        Err(BuildError::invalid(
            provider,
            format!("`{key}` is required"),
        ))
    } else {
        Ok(())
    }
}

/// A price as providers write it (`"0.04120000"`, `"-0.00750"`), as the
/// absolute amount: Twilio reports charges as negative numbers. Vonage
/// writes eight decimals; digits past the micro are rounded half up.
pub(crate) fn price(amount: &str, currency: &str) -> Option<Money> {
    let currency = currency.trim();
    if currency.is_empty() {
        return None;
    }
    let amount = amount.trim();
    let amount = amount.strip_prefix('-').unwrap_or(amount);
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
    // Digits only on either side of the point (which also keeps the split
    // below on a character boundary).
    if !whole
        .bytes()
        .chain(frac.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    let (kept, rest) = frac.split_at(frac.len().min(6));
    let mut micros = Money::parse_amount(&format!("{whole}.{kept}"))?;
    if rest.as_bytes().first().is_some_and(|d| *d >= b'5') {
        micros = micros.checked_add(1)?;
    }
    Some(Money::new(micros, currency.to_ascii_uppercase()))
}

/// The callback's parameters: the query string for GET, else the body as
/// form fields or — for providers that post JSON — a flat JSON object's
/// members as text (numbers and booleans as written, nested values skipped).
pub(crate) fn callback_params(
    req: &InboundRequest<'_>,
) -> Result<Vec<(String, String)>, InboundError> {
    use crate::signature::{is_content_type, parse_form, query_params};
    if req.method.eq_ignore_ascii_case("GET") {
        return Ok(query_params(req.url));
    }
    if is_content_type(req.header("content-type"), "application/json") {
        let value: serde_json::Value = serde_json::from_slice(req.body)
            .map_err(|e| InboundError::Malformed(format!("body is not JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| InboundError::Malformed("body is not a JSON object".into()))?;
        let pairs = object
            .iter()
            .filter_map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    _ => return None,
                };
                Some((k.clone(), text))
            })
            .collect();
        return Ok(pairs);
    }
    Ok(parse_form(req.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_e164() {
        for ok in ["+15550100123", "+447700900000", "+12", "+123456789012345"] {
            assert!(is_e164(ok), "{ok}");
        }
        for bad in [
            "15550100",
            "+",
            "+1",
            "+0123",
            "+1234567890123456",
            "+1 555",
            "+1555-01",
            "",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn converts_numbers_both_ways() {
        assert_eq!(msisdn("+447700900000"), "447700900000");
        assert_eq!(msisdn("Foghorn"), "Foghorn");
        assert_eq!(msisdn("+"), "+");
        assert_eq!(e164("447700900000"), "+447700900000");
        assert_eq!(e164("Foghorn"), "Foghorn");
        assert_eq!(e164("12345"), "12345");
    }

    #[test]
    fn builds_callback_urls() {
        assert_eq!(callback_url(None, "twilio", "t", None), None);
        assert_eq!(
            callback_url(
                Some("https://fh.example/"),
                "twilio",
                "ten 1&x",
                Some("ntf_1")
            )
            .as_deref(),
            Some("https://fh.example/hooks/twilio?tenant=ten+1%26x&n=ntf_1")
        );
        let url = "https://fh.example/hooks/plivo?tenant=t&n=ntf_9";
        assert_eq!(notification_from_url(url).as_deref(), Some("ntf_9"));
        assert_eq!(
            notification_from_url("https://fh.example/hooks/plivo"),
            None
        );
    }

    #[test]
    fn prices_are_absolute() {
        assert_eq!(price("-0.00750", "usd"), Some(Money::new(7_500, "USD")));
        assert_eq!(price("0.04120000", "EUR"), Some(Money::new(41_200, "EUR")));
        assert_eq!(price("0.03330000", "eur"), Some(Money::new(33_300, "EUR")));
        assert_eq!(price("0.00000049", "EUR"), Some(Money::new(0, "EUR")));
        assert_eq!(price("0.0000005", "EUR"), Some(Money::new(1, "EUR")));
        assert_eq!(price("12", "USD"), Some(Money::new(12_000_000, "USD")));
        assert_eq!(price("0.1x", "USD"), None);
        assert_eq!(price("", "EUR"), None);
        assert_eq!(price("0.1", ""), None);
        // Found by fuzzing the SMS callbacks: a multi-byte character across
        // the sixth decimal panicked in the split instead of being refused.
        for bad in [
            "0.00750\u{fffd}\u{fffd}",
            ".0012\u{fffd}456789",
            "1.23456\u{e9}",
        ] {
            assert_eq!(price(bad, "USD"), None, "{bad}");
        }
        for bad in ["0.+1", "+1", "--0.5", "1 .5"] {
            assert_eq!(price(bad, "USD"), None, "{bad}");
        }
    }

    /// Each SMS kind builds from its tagged configuration, reports its kind,
    /// supports SMS only and keeps its secrets out of `Debug`.
    #[tokio::test]
    async fn the_registry_builds_every_sms_kind() {
        use crate::registry::{Provider, ProviderConfig};
        use foghorn_core::Channel;
        use serde_json::json;
        let configs = [
            json!({"kind": "twilio", "account_sid": "AC1", "auth_token": "hush-1", "phone_number": "+15005550006"}),
            json!({"kind": "vonage", "api_key": "k", "api_secret": "hush-2", "from": "Acme",
                   "signature_secret": "hush-3", "signature_method": "sha256"}),
            json!({"kind": "messagebird", "access_key": "hush-4", "originator": "Acme", "signing_key": "hush-5"}),
            json!({"kind": "bandwidth", "account_id": "9900000", "client_id": "c", "client_secret": "hush-6",
                   "messaging_application_id": "app", "from": "+19195551212",
                   "webhook_username": "w", "webhook_password": "hush-7"}),
            json!({"kind": "plivo", "auth_id": "MAXXXXXXXXXXXXXXXXXX", "auth_token": "hush-8", "from": "14155550000"}),
        ];
        let opts = crate::http::HttpOptions::default();
        let client = crate::http::Clients::new(&opts).unwrap();
        let origin = crate::registry::Origin::Operator;
        for config in configs {
            let kind = config["kind"].as_str().unwrap().to_string();
            let parsed: ProviderConfig = serde_json::from_value(config).unwrap();
            let provider = Provider::build("p", parsed, &opts, &client, origin).unwrap();
            assert_eq!(provider.kind(), kind);
            assert!(provider.supports(Channel::Sms) && !provider.supports(Channel::Email));
            let debug = format!("{provider:?}");
            assert!(!debug.contains("hush"), "{debug}");
        }
        let bad = json!({"kind": "vonage", "api_key": "k", "api_secret": "s", "from": "A", "signature_method": "crc32"});
        assert!(serde_json::from_value::<ProviderConfig>(bad).is_err());
        let extra =
            json!({"kind": "plivo", "auth_id": "MA1", "auth_token": "t", "from": "1", "to": "2"});
        assert!(serde_json::from_value::<ProviderConfig>(extra).is_err());
        // Providers without callbacks say so.
        let sandbox: ProviderConfig = serde_json::from_value(json!({"kind": "sandbox"})).unwrap();
        let sandbox = Provider::build("s", sandbox, &opts, &client, origin).unwrap();
        let req = InboundRequest {
            method: "POST",
            url: "https://x/hooks/s",
            headers: &[],
            body: b"",
            now: 0,
        };
        assert!(matches!(
            sandbox.inbound(&req).await,
            Err(InboundError::NotConfigured(_))
        ));
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(base_url("p", "https://api.twilio.com/", false).is_ok());
        assert!(base_url("p", "http://127.0.0.1:9", true).is_ok());
        let refused = base_url("p", "http://127.0.0.1:9", false).unwrap_err();
        assert!(refused.to_string().contains("private"), "{refused}");
        assert!(base_url("p", "not a url", true).is_err());
        assert!(base_url("p", "https://a.example/?x=1", true).is_err());
        let base = base_url("p", "https://a.example/v1/", true).unwrap();
        assert_eq!(endpoint(&base, "/m"), "https://a.example/v1/m");
    }
}
