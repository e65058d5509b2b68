//! How a provider call failed, classified so the engine knows what to do next.
//!
//! The classification is the whole contract between providers and the delivery
//! engine: retry later, move on to the next provider, wait, or stop using a
//! provider whose configuration is wrong.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// A transient failure (5xx, timeout, connection reset): try the same
    /// provider again after a back-off.
    #[error("retryable: {reason}")]
    Retryable {
        reason: String,
        http_status: Option<u16>,
    },
    /// The provider will never accept this message (bad address, 4xx): move on.
    #[error("permanent: {reason}")]
    Permanent {
        reason: String,
        http_status: Option<u16>,
    },
    /// The provider asked us to slow down; `retry_after` is its own hint.
    #[error("rate limited: {reason}")]
    RateLimited {
        reason: String,
        retry_after: Option<Duration>,
        http_status: Option<u16>,
    },
    /// Credentials or settings are wrong: every message would fail the same
    /// way, so the engine skips the provider instead of burning attempts.
    #[error("misconfigured: {reason}")]
    Misconfigured {
        reason: String,
        http_status: Option<u16>,
    },
}

impl ProviderError {
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ProviderError::Retryable { http_status, .. }
            | ProviderError::Permanent { http_status, .. }
            | ProviderError::RateLimited { http_status, .. }
            | ProviderError::Misconfigured { http_status, .. } => *http_status,
        }
    }

    /// Short, stable name for metrics and the attempts timeline.
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderError::Retryable { .. } => "retryable",
            ProviderError::Permanent { .. } => "permanent",
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::Misconfigured { .. } => "misconfigured",
        }
    }

    pub fn retryable(reason: impl Into<String>) -> Self {
        ProviderError::Retryable {
            reason: reason.into(),
            http_status: None,
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        ProviderError::Permanent {
            reason: reason.into(),
            http_status: None,
        }
    }

    pub fn misconfigured(reason: impl Into<String>) -> Self {
        ProviderError::Misconfigured {
            reason: reason.into(),
            http_status: None,
        }
    }
}
