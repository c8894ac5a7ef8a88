//! AWS SES v2: `SendEmail` with Raw content, so the MIME message built by
//! [`build_mime`] (and every header in it, List-Unsubscribe included) reaches the
//! recipient exactly as built.

use std::fmt;

use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, RawMessage};
use aws_smithy_http_client::tls;

use crate::error::EmailError;
use crate::message::{EmailMessage, SendReceipt};
use crate::mime::build_mime;
use crate::provider::{CommitPoint, EmailProvider};

#[derive(Clone)]
pub struct SesConfig {
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Another endpoint than AWS's (a VPC endpoint, or a local test server).
    pub endpoint_url: Option<String>,
}

impl fmt::Debug for SesConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SesConfig")
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("endpoint_url", &self.endpoint_url)
            .finish()
    }
}

pub struct SesProvider {
    client: aws_sdk_sesv2::Client,
}

impl SesProvider {
    pub fn new(config: SesConfig) -> Result<SesProvider, EmailError> {
        if config.region.trim().is_empty()
            || config.access_key_id.trim().is_empty()
            || config.secret_access_key.trim().is_empty()
        {
            return Err(EmailError::InvalidMessage(
                "SES needs a region, an access key id and a secret access key".into(),
            ));
        }
        // rustls with ring, like every other TLS client in cartback: one crypto stack.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut builder = aws_sdk_sesv2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(Credentials::new(
                config.access_key_id.clone(),
                config.secret_access_key.clone(),
                None,
                None,
                "cartback",
            ))
            .http_client(http);
        if let Some(url) = &config.endpoint_url {
            builder = builder.endpoint_url(url.clone());
        }
        Ok(SesProvider {
            client: aws_sdk_sesv2::Client::from_conf(builder.build()),
        })
    }
}

/// Throttling and service trouble are worth another try; the rest (unverified
/// sender, rejected message, bad credentials) is final.
fn classify<E: ProvideErrorMetadata + fmt::Debug, R: fmt::Debug>(
    error: &SdkError<E, R>,
) -> EmailError {
    match error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("Unknown");
            let message = format!("SES {code}: {}", err.message().unwrap_or_default());
            match code {
                "TooManyRequestsException"
                | "Throttling"
                | "ThrottlingException"
                | "LimitExceededException" => EmailError::RateLimited {
                    message,
                    retry_after: None,
                },
                "InternalFailure" | "ServiceUnavailable" | "InternalServerError" => {
                    EmailError::Transient {
                        message,
                        retry_after: None,
                    }
                }
                _ => EmailError::Permanent { message },
            }
        }
        other => EmailError::Transient {
            message: format!("SES request failed: {other:?}")
                .chars()
                .take(300)
                .collect(),
            retry_after: None,
        },
    }
}

#[async_trait::async_trait]
impl EmailProvider for SesProvider {
    fn kind(&self) -> &'static str {
        "ses"
    }

    fn has_commit_point(&self) -> bool {
        false
    }

    async fn send(
        &self,
        message: &EmailMessage,
        _commit: &dyn CommitPoint,
    ) -> Result<SendReceipt, EmailError> {
        let raw = build_mime(message)?.formatted();
        let raw = RawMessage::builder()
            .data(Blob::new(raw))
            .build()
            .map_err(|e| EmailError::InvalidMessage(e.to_string()))?;
        let sent = self
            .client
            .send_email()
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map_err(|e| classify(&e))?;
        Ok(SendReceipt {
            provider_message_id: sent.message_id().map(str::to_owned),
        })
    }
}
