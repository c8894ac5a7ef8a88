//! AWS SES v2: `SendEmail` with Raw content, so the MIME message built by
//! [`build_mime`] (and every header in it, List-Unsubscribe included) reaches the
//! recipient exactly as built.

use std::fmt;

use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, RawMessage};
use aws_smithy_http_client::tls;

use crate::error::EmailError;
use crate::message::{EmailMessage, SendReceipt};
use crate::mime::build_mime;
use crate::provider::EmailProvider;

/// Where SES credentials come from.
#[derive(Clone, PartialEq, Eq)]
pub enum SesCredentials {
    /// An access key stored with the settings.
    Static {
        access_key_id: String,
        secret_access_key: String,
    },
    /// AWS's default chain: environment, shared config/credentials files, web
    /// identity, ECS container or EC2 instance role. For a server that runs in AWS
    /// and should hold no long-lived key.
    DefaultChain,
}

#[derive(Clone)]
pub struct SesConfig {
    pub region: String,
    pub credentials: SesCredentials,
    /// Another endpoint than AWS's (a VPC endpoint, or a local test server).
    pub endpoint_url: Option<String>,
}

impl fmt::Debug for SesConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials = match &self.credentials {
            SesCredentials::Static { access_key_id, .. } => format!("static {access_key_id} ***"),
            SesCredentials::DefaultChain => "default chain".to_owned(),
        };
        f.debug_struct("SesConfig")
            .field("region", &self.region)
            .field("credentials", &credentials)
            .field("endpoint_url", &self.endpoint_url)
            .finish()
    }
}

pub struct SesProvider {
    config: SesConfig,
    /// Built on first use: the default chain is only resolvable asynchronously.
    client: tokio::sync::OnceCell<aws_sdk_sesv2::Client>,
}

/// rustls with ring, like every other TLS client in cartback: one crypto stack.
fn http_client() -> aws_sdk_sesv2::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

impl SesProvider {
    pub fn new(config: SesConfig) -> Result<SesProvider, EmailError> {
        let invalid = |what: &str| {
            EmailError::InvalidMessage(format!(
                "SES needs {what} (or neither key, for AWS's default credential chain)"
            ))
        };
        if config.region.trim().is_empty() {
            return Err(EmailError::InvalidMessage("SES needs a region".into()));
        }
        if let SesCredentials::Static {
            access_key_id,
            secret_access_key,
        } = &config.credentials
        {
            if access_key_id.trim().is_empty() {
                return Err(invalid("an access key id"));
            }
            if secret_access_key.trim().is_empty() {
                return Err(invalid("a secret access key"));
            }
        }
        Ok(SesProvider {
            config,
            client: tokio::sync::OnceCell::new(),
        })
    }

    async fn client(&self) -> &aws_sdk_sesv2::Client {
        self.client
            .get_or_init(|| async {
                let region = Region::new(self.config.region.clone());
                let mut builder = match &self.config.credentials {
                    SesCredentials::Static {
                        access_key_id,
                        secret_access_key,
                    } => aws_sdk_sesv2::Config::builder()
                        .behavior_version(BehaviorVersion::latest())
                        .region(region)
                        .credentials_provider(Credentials::new(
                            access_key_id.clone(),
                            secret_access_key.clone(),
                            None,
                            None,
                            "cartback",
                        ))
                        .http_client(http_client()),
                    SesCredentials::DefaultChain => {
                        let shared = aws_config::defaults(BehaviorVersion::latest())
                            .region(region)
                            .http_client(http_client())
                            .load()
                            .await;
                        aws_sdk_sesv2::config::Builder::from(&shared)
                    }
                };
                // The worker owns retries (backoff, Retry-After, attempt limits): the
                // SDK's own would hide throttling from it and hold a send slot.
                builder = builder.retry_config(RetryConfig::disabled());
                if let Some(url) = &self.config.endpoint_url {
                    builder = builder.endpoint_url(url.clone());
                }
                aws_sdk_sesv2::Client::from_conf(builder.build())
            })
            .await
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
        // Nothing reached SES: building the request or dispatching it failed.
        SdkError::ConstructionFailure(_) | SdkError::DispatchFailure(_) => EmailError::Transient {
            message: sdk_error_text(error),
            retry_after: None,
        },
        // The request went out; what SES did with it is not known.
        other => EmailError::Unknown {
            message: sdk_error_text(other),
        },
    }
}

fn sdk_error_text<E: fmt::Debug, R: fmt::Debug>(error: &SdkError<E, R>) -> String {
    format!("SES request failed: {error:?}")
        .chars()
        .take(300)
        .collect()
}

#[async_trait::async_trait]
impl EmailProvider for SesProvider {
    fn kind(&self) -> &'static str {
        "ses"
    }

    async fn send(&self, message: &EmailMessage) -> Result<SendReceipt, EmailError> {
        let raw = build_mime(message)?.formatted();
        let raw = RawMessage::builder()
            .data(Blob::new(raw))
            .build()
            .map_err(|e| EmailError::InvalidMessage(e.to_string()))?;
        let sent = self
            .client()
            .await
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
