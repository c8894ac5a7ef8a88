//! A test send through a tenant's stored provider: the settings opened by the
//! caller (the store seals them), built with the tenant's trust, one message
//! sent, and the provider's answer reported as it came. The api's test route
//! and the dashboard's test buttons both go through here.

use std::sync::Arc;

use crate::error::EmailError;
use crate::guard::Trust;
use crate::message::EmailMessage;
use crate::provider::EmailProvider;
use crate::settings::ProviderSettings;

/// Why a test could not be sent at all (as opposed to a provider's refusal,
/// which is an answer: [`TestAnswer::Failed`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestSendError {
    /// The guard refused the stored settings' target before any connection:
    /// the settings are what is wrong. `field` names the settings field.
    #[error(
        "{error}; the provider was not contacted. Private targets are refused unless the server runs with --allow-private-targets (CARTBACK_ALLOW_PRIVATE_TARGETS)"
    )]
    Refused {
        field: &'static str,
        error: EmailError,
    },
    /// The stored settings no longer read or build.
    #[error("the stored provider settings are unusable: {0}")]
    Unusable(String),
}

/// What the provider answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestAnswer {
    Delivered {
        provider: &'static str,
        provider_message_id: Option<String>,
    },
    Failed {
        provider: &'static str,
        /// `transient`, `rate_limited`, `permanent`, `unknown` or `invalid_message`.
        class: &'static str,
        message: String,
    },
}

impl EmailError {
    /// A short stable name of the error's class, for answers and logs.
    ///
    /// ```
    /// use cartback_email::EmailError;
    /// assert_eq!(EmailError::Permanent { message: "no such mailbox".into() }.class(), "permanent");
    /// ```
    pub fn class(&self) -> &'static str {
        match self {
            EmailError::Transient { .. } => "transient",
            EmailError::RateLimited { .. } => "rate_limited",
            EmailError::Permanent { .. } => "permanent",
            EmailError::Unknown { .. } => "unknown",
            EmailError::InvalidMessage(_) => "invalid_message",
            EmailError::Refused { .. } => "refused",
        }
    }
}

/// The tenant's provider from its opened settings (JSON), built as a tenant's:
/// guarded unless `allow_private`.
pub fn tenant_provider(
    settings_json: &str,
    allow_private: bool,
) -> Result<(ProviderSettings, Arc<dyn EmailProvider>), TestSendError> {
    let settings: ProviderSettings =
        serde_json::from_str(settings_json).map_err(|e| TestSendError::Unusable(e.to_string()))?;
    match settings.build(Trust::Tenant { allow_private }) {
        Ok(provider) => Ok((settings, provider)),
        Err(error @ EmailError::Refused { .. }) => Err(TestSendError::Refused {
            field: settings.target_field(),
            error,
        }),
        Err(error) => Err(TestSendError::Unusable(error.to_string())),
    }
}

/// Sends `message` through the tenant's provider (opened settings JSON) and
/// reports the answer.
pub async fn send_test(
    settings_json: &str,
    allow_private: bool,
    message: &EmailMessage,
) -> Result<TestAnswer, TestSendError> {
    let (settings, provider) = tenant_provider(settings_json, allow_private)?;
    match provider.send(message).await {
        Ok(receipt) => Ok(TestAnswer::Delivered {
            provider: provider.kind(),
            provider_message_id: receipt.provider_message_id,
        }),
        // No connection was made, so there is no answer to report.
        Err(error @ EmailError::Refused { .. }) => Err(TestSendError::Refused {
            field: settings.target_field(),
            error,
        }),
        Err(error) => Ok(TestAnswer::Failed {
            provider: provider.kind(),
            class: error.class(),
            message: error.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_settings_are_unusable() {
        assert!(matches!(
            tenant_provider("{", false),
            Err(TestSendError::Unusable(_))
        ));
    }

    #[test]
    fn a_private_target_is_refused_with_its_field() {
        let settings = r#"{"provider":"resend","apiKey":"re_x","baseUrl":"http://127.0.0.1:9/"}"#;
        match tenant_provider(settings, false) {
            Err(TestSendError::Refused { field, .. }) => assert_eq!(field, "baseUrl"),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("a private target was accepted"),
        }
        assert!(tenant_provider(settings, true).is_ok());
    }
}
