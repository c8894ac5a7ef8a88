//! SendGrid: v3 `POST /v3/mail/send` with a Bearer key. No idempotency support, so
//! the key travels as a custom argument for tracing only.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::error::EmailError;
use crate::http::{ApiKeyConfig, checked_headers, clean_name, execute, guarded_client};
use crate::message::{EmailMessage, Mailbox, SendReceipt};
use crate::provider::EmailProvider;

pub const SENDGRID_API: &str = "https://api.sendgrid.com";

/// Resend's and SendGrid's settings are the same: a key and where the API lives.
pub type SendGridConfig = ApiKeyConfig;

pub struct SendGridProvider {
    config: SendGridConfig,
    http: reqwest::Client,
}

impl SendGridProvider {
    pub fn new(config: SendGridConfig) -> Result<SendGridProvider, EmailError> {
        let http = guarded_client(&config.base_url, config.refuse_private)?;
        Ok(SendGridProvider { config, http })
    }
}

#[derive(Serialize)]
struct Address {
    email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

impl From<&Mailbox> for Address {
    fn from(mailbox: &Mailbox) -> Address {
        Address {
            email: mailbox.email.clone(),
            name: clean_name(mailbox),
        }
    }
}

#[derive(Serialize)]
struct Personalization {
    to: Vec<Address>,
}

#[derive(Serialize)]
struct Content<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct MailSend<'a> {
    personalizations: Vec<Personalization>,
    from: Address,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<Address>,
    subject: &'a str,
    /// SendGrid wants text/plain before text/html.
    content: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    categories: Vec<String>,
    custom_args: BTreeMap<&'static str, &'a str>,
}

#[async_trait::async_trait]
impl EmailProvider for SendGridProvider {
    fn kind(&self) -> &'static str {
        "sendgrid"
    }

    async fn send(&self, message: &EmailMessage) -> Result<SendReceipt, EmailError> {
        let body = MailSend {
            personalizations: vec![Personalization {
                to: vec![Address::from(&message.to)],
            }],
            from: Address::from(&message.from),
            reply_to: message.reply_to.as_ref().map(Address::from),
            subject: &message.subject,
            content: vec![
                Content {
                    kind: "text/plain",
                    value: &message.text,
                },
                Content {
                    kind: "text/html",
                    value: &message.html,
                },
            ],
            headers: checked_headers(&message.headers)?.into_iter().collect(),
            // At most 10 categories of 255 characters.
            categories: message
                .tags
                .iter()
                .take(10)
                .map(|t| t.chars().take(255).collect())
                .collect(),
            custom_args: BTreeMap::from([("cartback_key", message.idempotency_key.as_str())]),
        };
        let request = self
            .http
            .post(format!(
                "{}/v3/mail/send",
                self.config.base_url.trim_end_matches('/')
            ))
            .bearer_auth(&self.config.api_key)
            .json(&body);
        let response = execute("SendGrid", request).await?;
        let id = response
            .headers()
            .get("x-message-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(SendReceipt {
            provider_message_id: id,
        })
    }
}
