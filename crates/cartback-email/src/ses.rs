//! AWS SES v2: `SendEmail` with Raw content, so the MIME message built by
//! [`build_mime`] (and every header in it, List-Unsubscribe included) reaches the
//! recipient exactly as built.

use std::fmt;

use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, RawMessage};
use aws_smithy_http_client::tls;

use crate::error::EmailError;
use crate::guard::{self, GuardedAwsResolver};
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
    /// Refuse private, loopback and reserved addresses ([`crate::Trust`]): the
    /// endpoint is resolved with the guard at every connection.
    pub refuse_private: bool,
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
            .field("refuse_private", &self.refuse_private)
            .finish()
    }
}

pub struct SesProvider {
    config: SesConfig,
    /// Built on first use: the default chain is only resolvable asynchronously.
    client: tokio::sync::OnceCell<aws_sdk_sesv2::Client>,
}

/// rustls with ring, like every other TLS client in cartback: one crypto stack.
/// With the guard on, names resolve through the guarded resolver (the SDK's client
/// uses no proxy unless given one).
fn http_client(refuse_private: bool) -> aws_sdk_sesv2::config::SharedHttpClient {
    let builder = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(
        tls::rustls_provider::CryptoMode::Ring,
    ));
    if refuse_private {
        builder.build_with_resolver(GuardedAwsResolver)
    } else {
        builder.build_https()
    }
}

impl SesProvider {
    pub fn new(config: SesConfig) -> Result<SesProvider, EmailError> {
        let invalid = |what: &str| {
            EmailError::InvalidMessage(format!(
                "SES needs {what} (or neither key, for AWS's default credential chain)"
            ))
        };
        // The region names a host (`email.{region}.amazonaws.com`): AWS's own
        // spelling only.
        let region_ok = (1..=32).contains(&config.region.len())
            && config
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(EmailError::InvalidMessage(
                "SES needs a region such as eu-west-1 (a-z, 0-9 and -)".into(),
            ));
        }
        // Keys are signed into headers: visible ASCII only.
        let key_ok = |key: &str| {
            !key.is_empty() && key.len() <= 4096 && key.bytes().all(|b| b.is_ascii_graphic())
        };
        if let SesCredentials::Static {
            access_key_id,
            secret_access_key,
        } = &config.credentials
        {
            if !key_ok(access_key_id) {
                return Err(invalid("an access key id"));
            }
            if !key_ok(secret_access_key) {
                return Err(invalid("a secret access key"));
            }
        }
        if let Some(url) = &config.endpoint_url
            && config.refuse_private
        {
            // Literal addresses never reach the resolver: check them now.
            guard::check_url("endpointUrl", url, true)?;
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
                        .http_client(http_client(self.config.refuse_private)),
                    SesCredentials::DefaultChain => {
                        let shared = aws_config::defaults(BehaviorVersion::latest())
                            .region(region)
                            .http_client(http_client(self.config.refuse_private))
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
/// sender, rejected message, bad credentials) is final. A redirect is not an SES
/// answer: neither followed nor quoted. Other failures are described by their
/// causes' texts, never by a response body.
fn classify<E>(error: &SdkError<E, HttpResponse>) -> EmailError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(service) if service.raw().status().as_u16() / 100 == 3 => {
            EmailError::Permanent {
                message: format!(
                    "SES endpoint answered HTTP {}: redirects are not followed",
                    service.raw().status().as_u16()
                ),
            }
        }
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("Unknown");
            let detail: String = err
                .message()
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect();
            let message = format!("SES {code}: {detail}");
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
        SdkError::ResponseError(response) if response.raw().status().as_u16() / 100 == 3 => {
            EmailError::Permanent {
                message: format!(
                    "SES endpoint answered HTTP {}: redirects are not followed",
                    response.raw().status().as_u16()
                ),
            }
        }
        other => {
            if let Some(refused) = guard::find_refusal(other) {
                return refused.clone().into();
            }
            let message: String = format!("SES request failed: {}", causes(other))
                .chars()
                .take(300)
                .collect();
            match other {
                // Nothing reached SES: building the request or dispatching it failed.
                SdkError::ConstructionFailure(_) | SdkError::DispatchFailure(_) => {
                    EmailError::Transient {
                        message,
                        retry_after: None,
                    }
                }
                // The request went out; what SES did with it is not known.
                _ => EmailError::Unknown { message },
            }
        }
    }
}

/// An error and its causes, joined: the texts of errors, not of answers.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut current = error.source();
    while let Some(e) = current {
        parts.push(e.to_string());
        current = e.source();
    }
    parts.join(": ")
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
