//! SSRF protection: keeps user-supplied webhook targets away from the
//! machine's own network (loopback, private ranges, cloud metadata).
//!
//! Two checks are needed because a URL can be judged twice: an IP-literal host
//! is never handed to a resolver (hyper connects to it directly), so
//! [`check_url`] judges it up front; a hostname can resolve differently by the
//! time of connecting (DNS rebinding), so [`GuardedResolver`] judges the
//! addresses actually used.

use crate::BuildError;
pub use foghorn_core::net_policy::{check_target, check_url, is_forbidden, Family, GuardError};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;

/// The connect-time half for clients that resolve names themselves (SMTP):
/// every address of `host` is judged, as [`GuardedResolver`] does for HTTP,
/// and the caller connects to one of the addresses returned.
pub async fn resolve_allowed(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| ResolveError::Lookup(e.to_string()))?
        .collect();
    if !allow_private {
        if let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
            return Err(ResolveError::Guard(GuardError::Forbidden {
                host: host.to_string(),
                ip: bad.ip(),
            }));
        }
    }
    if addrs.is_empty() {
        return Err(ResolveError::Lookup(format!("`{host}` has no address")));
    }
    Ok(addrs)
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    #[error("cannot resolve: {0}")]
    Lookup(String),
    #[error(transparent)]
    Guard(GuardError),
}

/// DNS resolution that refuses a name when any of its addresses is forbidden,
/// so a public-looking name cannot be pointed at 127.0.0.1 between the
/// up-front check and the connection.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    allow_private: bool,
}

impl GuardedResolver {
    pub fn new(allow_private: bool) -> Self {
        GuardedResolver { allow_private }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = match resolve_allowed(&host, 0, allow_private).await {
                Ok(addrs) => addrs,
                Err(ResolveError::Guard(e)) => return Err(e.into()),
                Err(ResolveError::Lookup(e)) => return Err(e.into()),
            };
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// A URL from provider `provider`'s setting `field` (a webhook, an API
/// origin), parsed and judged by the guard's rule at build time, so a bad
/// one fails at start-up rather than on every send.
pub(crate) fn setting_url(
    provider: &str,
    field: &str,
    text: &str,
    allow_private: bool,
) -> Result<reqwest::Url, BuildError> {
    let invalid = |e: String| BuildError::invalid(provider, format!("{field}: {e}"));
    let url = reqwest::Url::parse(text.trim()).map_err(|e| invalid(e.to_string()))?;
    check_url(&url, allow_private).map_err(|e| invalid(e.to_string()))?;
    Ok(url)
}

/// Parses and checks a configured API base URL: http(s), and not private
/// unless the operator allowed private targets (an IP literal never reaches
/// the guarded resolver, so it is judged here). No trailing slash.
pub(crate) fn base_url(
    provider: &str,
    text: &str,
    allow_private: bool,
) -> Result<reqwest::Url, BuildError> {
    let invalid = |reason: String| BuildError::invalid(provider, reason);
    let url = setting_url(
        provider,
        "base_url",
        text.trim().trim_end_matches('/'),
        allow_private,
    )?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "base_url must not carry a query or fragment".into(),
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn resolver_refuses_names_that_resolve_privately() {
        let resolve = |allow| GuardedResolver::new(allow).resolve("localhost".parse().unwrap());
        let err = resolve(false).await.err().unwrap();
        assert!(err.downcast_ref::<GuardError>().is_some(), "{err}");
        assert!(resolve(true).await.is_ok());
    }
}
