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

/// The kinds of [`ProviderError`] without their fields, so that a
/// provider's table of its own error codes can name what each one means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Try the same provider again after a back-off.
    Retryable,
    /// This message will never go through this provider.
    Permanent,
    /// The provider asked us to slow down.
    RateLimited,
    /// Every message would fail the same way (credentials, sender, account).
    Misconfigured,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Retryable => "retryable",
            ErrorKind::Permanent => "permanent",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Misconfigured => "misconfigured",
        }
    }
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
        self.error_kind().as_str()
    }

    pub fn error_kind(&self) -> ErrorKind {
        match self {
            ProviderError::Retryable { .. } => ErrorKind::Retryable,
            ProviderError::Permanent { .. } => ErrorKind::Permanent,
            ProviderError::RateLimited { .. } => ErrorKind::RateLimited,
            ProviderError::Misconfigured { .. } => ErrorKind::Misconfigured,
        }
    }

    /// The error of `kind`; a rate limit built here carries no wait hint.
    pub fn new(kind: ErrorKind, reason: impl Into<String>, http_status: Option<u16>) -> Self {
        let reason = reason.into();
        match kind {
            ErrorKind::Retryable => ProviderError::Retryable {
                reason,
                http_status,
            },
            ErrorKind::Permanent => ProviderError::Permanent {
                reason,
                http_status,
            },
            ErrorKind::RateLimited => ProviderError::RateLimited {
                reason,
                retry_after: None,
                http_status,
            },
            ErrorKind::Misconfigured => ProviderError::Misconfigured {
                reason,
                http_status,
            },
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
