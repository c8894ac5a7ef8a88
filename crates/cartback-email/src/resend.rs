//! Resend: `POST /emails` with a Bearer key; honours `Idempotency-Key`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::EmailError;
use crate::http::{ApiKeyConfig, checked_headers, execute, format_mailbox, guarded_client};
use crate::message::{EmailMessage, SendReceipt};
use crate::provider::{EmailProvider, Idempotency};

pub const RESEND_API: &str = "https://api.resend.com";

/// Resend's and SendGrid's settings are the same: a key and where the API lives.
pub type ResendConfig = ApiKeyConfig;

pub struct ResendProvider {
    config: ResendConfig,
    http: reqwest::Client,
}

impl ResendProvider {
    pub fn new(config: ResendConfig) -> Result<ResendProvider, EmailError> {
        let http = guarded_client(&config.base_url, config.refuse_private)?;
        Ok(ResendProvider { config, http })
    }
}

#[derive(Serialize)]
struct Tag {
    name: String,
    value: &'static str,
}

#[derive(Serialize)]
struct SendEmail<'a> {
    from: String,
    to: Vec<String>,
    subject: &'a str,
    html: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
struct Sent {
    id: Option<String>,
}

/// Resend tag names allow ASCII letters, digits, `_` and `-` only.
fn tag_name(tag: &str) -> String {
    tag.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect()
}

#[async_trait::async_trait]
impl EmailProvider for ResendProvider {
    fn kind(&self) -> &'static str {
        "resend"
    }

    /// Resend keeps a key for 24 hours and answers a repeat without sending.
    fn idempotency(&self) -> Idempotency {
        Idempotency::Keyed {
            window: std::time::Duration::from_secs(24 * 3600),
        }
    }

    async fn send(&self, message: &EmailMessage) -> Result<SendReceipt, EmailError> {
        let body = SendEmail {
            from: format_mailbox(&message.from),
            to: vec![format_mailbox(&message.to)],
            subject: &message.subject,
            html: &message.html,
            text: &message.text,
            reply_to: message.reply_to.as_ref().map(format_mailbox),
            headers: checked_headers(&message.headers)?.into_iter().collect(),
            tags: message
                .tags
                .iter()
                .map(|t| Tag {
                    name: tag_name(t),
                    value: "true",
                })
                .collect(),
        };
        let request = self
            .http
            .post(format!(
                "{}/emails",
                self.config.base_url.trim_end_matches('/')
            ))
            .bearer_auth(&self.config.api_key)
            // Resend drops a repeat with the same key: a retry after a lost answer
            // cannot send twice.
            .header("Idempotency-Key", &message.idempotency_key)
            .json(&body);
        let response = execute("Resend", request).await?;
        let sent: Sent = response.json().await.unwrap_or(Sent { id: None });
        Ok(SendReceipt {
            provider_message_id: sent.id,
        })
    }
}
