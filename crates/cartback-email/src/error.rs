use std::time::Duration;

/// How a send failed, classified for the worker's retry decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("transient: {message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("rate limited: {message}")]
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("permanent: {message}")]
    Permanent { message: String },
    /// The message may have reached the provider, but its answer never came (a
    /// timeout or a connection lost after the message was handed over): it may or
    /// may not go out. Not retryable as such: only a provider that drops repeated
    /// idempotency keys can be asked again safely.
    #[error("outcome unknown: {message}")]
    Unknown { message: String },
    /// The message itself is unusable (bad address, header injection attempt…).
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// The guard refused to connect (a tenant's provider pointing at a private,
    /// loopback or reserved address). Final: retrying reaches the same address.
    #[error("refused: private address: {message}")]
    Refused { message: String },
}

impl EmailError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            EmailError::Transient { .. } | EmailError::RateLimited { .. }
        )
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            EmailError::Transient { retry_after, .. }
            | EmailError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn transient(message: impl Into<String>) -> EmailError {
        EmailError::Transient {
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn unknown(message: impl Into<String>) -> EmailError {
        EmailError::Unknown {
            message: message.into(),
        }
    }
}
