use std::time::Duration;

use crate::error::EmailError;
use crate::message::{EmailMessage, SendReceipt};

/// What a provider does with a second request that carries the idempotency key of
/// one it already accepted. It decides what the worker may do with a send whose
/// outcome it could not learn (its process died while the request was in flight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Every request is a new email: a repeat would reach the shopper twice, so a
    /// send whose outcome is unknown is recorded as such and never repeated.
    None,
    /// Requests with a key already accepted within `window` are answered without a
    /// second email: an unknown outcome is settled by sending again with the same key.
    Keyed { window: Duration },
}

impl Idempotency {
    /// Whether a send first tried `age` ago may be repeated with its key.
    pub fn may_repeat_after(self, age: Duration) -> bool {
        match self {
            Idempotency::None => false,
            // A margin, so a repeat never lands just after the provider forgot the key.
            Idempotency::Keyed { window } => age + Duration::from_secs(600) < window,
        }
    }
}

/// An email service a tenant sends through.
///
/// `send` returns `Ok` only once the provider has accepted the message: the
/// caller records it as sent on that answer alone.
#[async_trait::async_trait]
pub trait EmailProvider: Send + Sync {
    /// Short stable name for logs and metrics: "smtp", "file", …
    fn kind(&self) -> &'static str;

    /// Whether the provider drops repeats of a key (see [`Idempotency`]). The
    /// default is the safe answer for a provider that does not document it.
    fn idempotency(&self) -> Idempotency {
        Idempotency::None
    }

    async fn send(&self, message: &EmailMessage) -> Result<SendReceipt, EmailError>;
}
