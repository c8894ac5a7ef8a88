//! Mailgun: `POST /v3/{domain}/messages` as a multipart form, basic auth `api:KEY`,
//! custom headers as `h:` fields and tags as `o:tag`.

use std::fmt;

use reqwest::multipart::Form;
use serde::Deserialize;

use crate::error::EmailError;
use crate::http::{checked_headers, execute, format_mailbox, guarded_client};
use crate::message::{EmailMessage, SendReceipt};
use crate::provider::EmailProvider;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailgunRegion {
    Us,
    Eu,
}

impl MailgunRegion {
    pub fn base_url(self) -> &'static str {
        match self {
            MailgunRegion::Us => "https://api.mailgun.net",
            MailgunRegion::Eu => "https://api.eu.mailgun.net",
        }
    }
}

#[derive(Clone)]
pub struct MailgunConfig {
    pub api_key: String,
    /// The sending domain configured in Mailgun.
    pub domain: String,
    pub base_url: String,
    /// Refuse private, loopback and reserved addresses ([`crate::Trust`]).
    pub refuse_private: bool,
}

impl MailgunConfig {
    pub fn new(
        api_key: impl Into<String>,
        domain: impl Into<String>,
        region: MailgunRegion,
    ) -> MailgunConfig {
        MailgunConfig {
            api_key: api_key.into(),
            domain: domain.into(),
            base_url: region.base_url().to_owned(),
            refuse_private: false,
        }
    }
}

impl fmt::Debug for MailgunConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailgunConfig")
            .field("api_key", &"***")
            .field("domain", &self.domain)
            .field("base_url", &self.base_url)
            .finish()
    }
}

pub struct MailgunProvider {
    config: MailgunConfig,
    http: reqwest::Client,
}

impl MailgunProvider {
    pub fn new(config: MailgunConfig) -> Result<MailgunProvider, EmailError> {
        let domain_ok = !config.domain.is_empty()
            && config
                .domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !domain_ok {
            return Err(EmailError::InvalidMessage(format!(
                "invalid Mailgun domain {:?}",
                config.domain
            )));
        }
        let http = guarded_client(&config.base_url, config.refuse_private)?;
        Ok(MailgunProvider { config, http })
    }
}

#[derive(Deserialize)]
struct Queued {
    id: Option<String>,
}

#[async_trait::async_trait]
impl EmailProvider for MailgunProvider {
    fn kind(&self) -> &'static str {
        "mailgun"
    }

    async fn send(&self, message: &EmailMessage) -> Result<SendReceipt, EmailError> {
        let mut form = Form::new()
            .text("from", format_mailbox(&message.from))
            .text("to", format_mailbox(&message.to))
            .text("subject", message.subject.clone())
            .text("text", message.text.clone())
            .text("html", message.html.clone())
            // A custom variable: shows up in Mailgun's events for tracing.
            .text("v:cartback-key", message.idempotency_key.clone());
        if let Some(reply_to) = &message.reply_to {
            form = form.text("h:Reply-To", format_mailbox(reply_to));
        }
        for (name, value) in checked_headers(&message.headers)? {
            form = form.text(format!("h:{name}"), value);
        }
        // Mailgun keeps at most three tags per message.
        for tag in message.tags.iter().take(3) {
            form = form.text("o:tag", tag.clone());
        }
        let request = self
            .http
            .post(format!(
                "{}/v3/{}/messages",
                self.config.base_url.trim_end_matches('/'),
                self.config.domain
            ))
            .basic_auth("api", Some(&self.config.api_key))
            .multipart(form);
        let response = execute("Mailgun", request).await?;
        let queued: Queued = response.json().await.unwrap_or(Queued { id: None });
        Ok(SendReceipt {
            provider_message_id: queued.id,
        })
    }
}
