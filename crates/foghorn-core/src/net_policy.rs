//! Which network targets Foghorn may reach: the address ranges that are not
//! the public internet (loopback, private ranges, cloud metadata) and the
//! build-time judgement of a target URL. Pure, so the engine checks a
//! workflow's URL with the same rule the providers' connections obey.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("scheme `{scheme}` is not allowed (only {allowed})")]
    Scheme {
        scheme: String,
        allowed: &'static str,
    },
    #[error("the URL has no host")]
    NoHost,
    #[error("host `{host}` is {ip}, a private or reserved address")]
    Forbidden { host: String, ip: IpAddr },
}

/// IPv4 ranges that are not the public internet (IANA special-purpose
/// registry, RFC 6890 and its updates).
const FORBIDDEN_V4: [([u8; 4], u32); 14] = [
    ([0, 0, 0, 0], 8),       // "this network"
    ([10, 0, 0, 0], 8),      // RFC 1918
    ([100, 64, 0, 0], 10),   // CGNAT, RFC 6598
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local, cloud metadata 169.254.169.254
    ([172, 16, 0, 0], 12),   // RFC 1918
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // TEST-NET-1
    ([192, 168, 0, 0], 16),  // RFC 1918
    ([198, 18, 0, 0], 15),   // benchmarking, RFC 2544
    ([198, 51, 100, 0], 24), // TEST-NET-2
    ([203, 0, 113, 0], 24),  // TEST-NET-3
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, includes broadcast 255.255.255.255
];

/// IPv6 ranges that are not the public internet.
const FORBIDDEN_V6: [(u128, u32); 5] = [
    (0xfc00 << 112, 7),      // unique local, RFC 4193
    (0xfe80 << 112, 10),     // link-local
    (0xfec0 << 112, 10),     // deprecated site-local
    (0xff00 << 112, 8),      // multicast
    (0x2001_0db8 << 96, 32), // documentation, RFC 3849
];

fn in_prefix(addr: u128, net: u128, prefix: u32, width: u32) -> bool {
    let mask = u128::MAX.checked_shl(width - prefix).unwrap_or(0);
    addr & mask == net & mask
}

fn v4_forbidden(ip: Ipv4Addr) -> bool {
    let a = u128::from(u32::from(ip));
    FORBIDDEN_V4
        .iter()
        .any(|(net, p)| in_prefix(a, u128::from(u32::from_be_bytes(*net)), *p, 32))
}

/// The IPv4 address an IPv6 address carries, for the forms that route to it:
/// IPv4-mapped `::ffff:a.b.c.d`, deprecated IPv4-compatible `::a.b.c.d`, and
/// the NAT64 well-known prefix `64:ff9b::/96` (RFC 6052).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    let high = bits >> 32;
    matches!(high, 0 | 0xffff | 0x0064_ff9b_0000_0000_0000_0000).then_some(low)
}

/// Whether connecting to `ip` could reach the host itself or its private
/// network rather than the public internet.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_forbidden(v4),
        IpAddr::V6(v6) => {
            if v6.is_loopback() || v6.is_unspecified() {
                return true;
            }
            if let Some(v4) = embedded_v4(v6) {
                return v4_forbidden(v4);
            }
            let a = u128::from(v6);
            FORBIDDEN_V6
                .iter()
                .any(|(net, p)| in_prefix(a, *net, *p, 128))
        }
    }
}

/// What a target URL is for, which decides the schemes it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Http,
    Smtp,
}

impl Family {
    fn schemes(self) -> (&'static [&'static str], &'static str) {
        match self {
            Family::Http => (&["http", "https"], "http and https"),
            Family::Smtp => (&["smtp", "smtps"], "smtp and smtps"),
        }
    }
}

/// Refuses a URL that is not http(s) or whose IP-literal host is forbidden.
/// Hostnames pass here; the resolver judges them when connecting.
pub fn check_url(url: &Url, allow_private: bool) -> Result<(), GuardError> {
    check_literal(url, Family::Http, allow_private)
}

/// The build-time half of the guard, for every provider target: as
/// [`check_url`] with the schemes of `family`, and `localhost` names
/// (loopback by definition, RFC 6761 §6.3) judged as loopback up front, so
/// a configuration naming one is refused when it is written rather than on
/// its first send.
pub fn check_target(url: &Url, family: Family, allow_private: bool) -> Result<(), GuardError> {
    check_literal(url, family, allow_private)?;
    let host = url.host_str().unwrap_or_default();
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if !allow_private && (name == "localhost" || name.ends_with(".localhost")) {
        return Err(GuardError::Forbidden {
            host: host.to_string(),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        });
    }
    Ok(())
}

fn check_literal(url: &Url, family: Family, allow_private: bool) -> Result<(), GuardError> {
    let (schemes, allowed) = family.schemes();
    if !schemes.contains(&url.scheme()) {
        return Err(GuardError::Scheme {
            scheme: url.scheme().to_string(),
            allowed,
        });
    }
    let host = url.host_str().ok_or(GuardError::NoHost)?;
    // The URL parser has already normalised IPv4 spellings (decimal, octal)
    // to dotted quads, so parsing the host text sees every literal.
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) if !allow_private && is_forbidden(ip) => Err(GuardError::Forbidden {
            host: host.to_string(),
            ip,
        }),
        _ => Ok(()),
    }
}

/// A send to a refused target is never retried: the address will not change.
impl From<GuardError> for crate::ProviderError {
    fn from(e: GuardError) -> Self {
        crate::ProviderError::permanent(format!("target refused as private or not allowed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_addresses() {
        let forbidden = "127.0.0.1 0.0.0.0 0.1.2.3 10.1.2.3 172.31.255.255 192.168.1.1 100.64.0.1
            169.254.169.254 224.0.0.1 255.255.255.255 192.0.2.7 198.51.100.1 203.0.113.9
            198.19.0.1 :: ::1 fc00::1 fd12::1 fe80::1 ff02::1 2001:db8::1 ::ffff:127.0.0.1
            ::ffff:10.0.0.1 ::127.0.0.1 64:ff9b::a9fe:a9fe";
        for ip in forbidden.split_whitespace() {
            assert!(
                is_forbidden(ip.parse().unwrap()),
                "{ip} should be forbidden"
            );
        }
        let allowed = "8.8.8.8 1.1.1.1 172.32.0.1 100.128.0.1 2606:4700::1111 ::ffff:8.8.8.8
            64:ff9b::808:808";
        for ip in allowed.split_whitespace() {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip} should be allowed");
        }
    }

    #[test]
    fn checks_urls() {
        let check = |u: &str, allow| check_url(&Url::parse(u).unwrap(), allow);
        for ok in ["https://example.com/hook", "http://8.8.8.8/"] {
            assert_eq!(check(ok, false), Ok(()), "{ok}");
        }
        assert_eq!(check("http://127.0.0.1:8080/", true), Ok(()));
        for (url, allow) in [("ftp://example.com/", false), ("file:///etc/passwd", true)] {
            assert!(
                matches!(check(url, allow), Err(GuardError::Scheme { .. })),
                "{url}"
            );
        }
        // The URL parser normalises decimal IPv4 (2130706433 is 127.0.0.1).
        for url in [
            "http://2130706433/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/x",
        ] {
            let err = check(url, false).unwrap_err();
            assert!(matches!(err, GuardError::Forbidden { .. }), "{url}");
        }
        let err = check("http://169.254.169.254/latest", false).unwrap_err();
        assert!(err.to_string().contains("169.254.169.254"), "{err}");
    }
}
