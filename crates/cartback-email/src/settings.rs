//! A tenant's (or the server's) choice of provider and its credentials, as stored
//! (encrypted) and as accepted by the API: one tagged JSON object per provider.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::EmailError;
use crate::file::FileProvider;
use crate::guard::Trust;
use crate::mailgun::{MailgunConfig, MailgunProvider, MailgunRegion};
use crate::provider::EmailProvider;
use crate::resend::{ResendConfig, ResendProvider};
use crate::sendgrid::{SendGridConfig, SendGridProvider};
use crate::ses::{SesConfig, SesCredentials, SesProvider};
use crate::smtp::{SmtpConfig, SmtpProvider};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    #[default]
    Us,
    Eu,
}

/// Provider settings. Secrets live only here; [`ProviderSettings::masked`] is what
/// may be shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase", deny_unknown_fields)]
pub enum ProviderSettings {
    File {
        dir: PathBuf,
    },
    Smtp {
        url: String,
        /// Extra trusted root certificates (PEM) for a relay signed by a private CA.
        #[serde(
            rename = "caCertificate",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        ca_certificate: Option<String>,
    },
    Resend {
        #[serde(rename = "apiKey")]
        api_key: String,
        #[serde(rename = "baseUrl", default, skip_serializing_if = "Option::is_none")]
        base_url: Option<String>,
    },
    Sendgrid {
        #[serde(rename = "apiKey")]
        api_key: String,
        #[serde(rename = "baseUrl", default, skip_serializing_if = "Option::is_none")]
        base_url: Option<String>,
    },
    /// Without `accessKeyId` and `secretAccessKey`, AWS's default credential chain
    /// of the process (environment, profile files, container or instance role).
    Ses {
        region: String,
        #[serde(
            rename = "accessKeyId",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        access_key_id: Option<String>,
        #[serde(
            rename = "secretAccessKey",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        secret_access_key: Option<String>,
        #[serde(
            rename = "endpointUrl",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        endpoint_url: Option<String>,
    },
    Mailgun {
        #[serde(rename = "apiKey")]
        api_key: String,
        domain: String,
        #[serde(default)]
        region: Region,
        #[serde(rename = "baseUrl", default, skip_serializing_if = "Option::is_none")]
        base_url: Option<String>,
    },
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret, even in a debug log.
        f.write_str(&self.masked().to_string())
    }
}

/// `re_…abcd`: enough to recognise a key, useless to anyone else.
fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return "…".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

fn smtp_hint(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = url[scheme + 3..at].split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn base(url: &Option<String>, default: String) -> String {
    url.clone().unwrap_or(default)
}

/// Both keys, or neither (AWS's default chain); one without the other is a mistake.
pub fn ses_credentials(
    access_key_id: &Option<String>,
    secret_access_key: &Option<String>,
) -> Result<SesCredentials, EmailError> {
    match (access_key_id, secret_access_key) {
        (Some(id), Some(secret)) => Ok(SesCredentials::Static {
            access_key_id: id.clone(),
            secret_access_key: secret.clone(),
        }),
        (None, None) => Ok(SesCredentials::DefaultChain),
        _ => Err(EmailError::InvalidMessage(
            "SES takes accessKeyId and secretAccessKey together, or neither for the default credential chain".into(),
        )),
    }
}

impl ProviderSettings {
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderSettings::File { .. } => "file",
            ProviderSettings::Smtp { .. } => "smtp",
            ProviderSettings::Resend { .. } => "resend",
            ProviderSettings::Sendgrid { .. } => "sendgrid",
            ProviderSettings::Mailgun { .. } => "mailgun",
            ProviderSettings::Ses { .. } => "ses",
        }
    }

    /// The settings with every secret replaced by a short hint.
    pub fn masked(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            ProviderSettings::File { dir } => json!({"provider": "file", "dir": dir}),
            ProviderSettings::Smtp {
                url,
                ca_certificate,
            } => {
                json!({"provider": "smtp", "url": smtp_hint(url), "hasCaCertificate": ca_certificate.is_some()})
            }
            ProviderSettings::Resend { api_key, base_url } => {
                json!({"provider": "resend", "apiKeyHint": hint(api_key), "baseUrl": base_url})
            }
            ProviderSettings::Sendgrid { api_key, base_url } => {
                json!({"provider": "sendgrid", "apiKeyHint": hint(api_key), "baseUrl": base_url})
            }
            ProviderSettings::Ses {
                region,
                access_key_id,
                secret_access_key,
                endpoint_url,
            } => {
                json!({"provider": "ses", "region": region, "accessKeyId": access_key_id, "secretAccessKeyHint": secret_access_key.as_deref().map(hint), "defaultCredentialChain": access_key_id.is_none(), "endpointUrl": endpoint_url})
            }
            ProviderSettings::Mailgun {
                api_key,
                domain,
                region,
                base_url,
            } => {
                json!({"provider": "mailgun", "apiKeyHint": hint(api_key), "domain": domain, "region": region, "baseUrl": base_url})
            }
        }
    }

    /// The settings field naming where the provider connects, for error
    /// details: `url` (SMTP), `baseUrl`, or `endpointUrl` (SES).
    pub fn target_field(&self) -> &'static str {
        match self {
            ProviderSettings::File { .. } => "provider",
            ProviderSettings::Smtp { .. } => "url",
            ProviderSettings::Ses { .. } => "endpointUrl",
            ProviderSettings::Resend { .. }
            | ProviderSettings::Sendgrid { .. }
            | ProviderSettings::Mailgun { .. } => "baseUrl",
        }
    }

    /// The host and port a tenant chose for the provider to connect to, with the
    /// field that names it; None when it is the provider's own public API.
    pub fn chosen_target(&self) -> Option<(&'static str, String, u16)> {
        let from_url = |field: &'static str, url: &Option<String>| {
            let (host, port) = crate::guard::url_host_port(url.as_deref()?)?;
            Some((field, host, port))
        };
        match self {
            ProviderSettings::File { .. } => None,
            ProviderSettings::Smtp { url, .. } => {
                let config = SmtpConfig::from_url(url).ok()?;
                Some(("url", config.host, config.port))
            }
            ProviderSettings::Ses { endpoint_url, .. } => from_url("endpointUrl", endpoint_url),
            ProviderSettings::Resend { base_url, .. }
            | ProviderSettings::Sendgrid { base_url, .. }
            | ProviderSettings::Mailgun { base_url, .. } => from_url("baseUrl", base_url),
        }
    }

    /// Checks the settings and builds the provider they describe. `trust` says
    /// who chose them: a tenant's settings get the SSRF guard at every
    /// connection (unless the server allows private targets), the operator's do
    /// not.
    pub fn build(&self, trust: Trust) -> Result<Arc<dyn EmailProvider>, EmailError> {
        let refuse_private = trust.refuses_private();
        // A key travels in an HTTP header, where only visible ASCII is safe:
        // anything else is a paste mistake, refused now rather than at the
        // first send.
        let require = |value: &str, what: &str| {
            if value.is_empty()
                || value.len() > 4096
                || !value.bytes().all(|b| b.is_ascii_graphic())
            {
                Err(EmailError::InvalidMessage(format!(
                    "{what} is missing or invalid"
                )))
            } else {
                Ok(())
            }
        };
        Ok(match self {
            ProviderSettings::File { dir } => Arc::new(FileProvider::new(dir.clone())),
            ProviderSettings::Smtp {
                url,
                ca_certificate,
            } => {
                let mut config = SmtpConfig::from_url(url)?;
                config.ca_certificates_pem = ca_certificate.clone();
                config.refuse_private = refuse_private;
                Arc::new(SmtpProvider::new(config)?)
            }
            ProviderSettings::Resend { api_key, base_url } => {
                require(api_key, "apiKey")?;
                let mut config = ResendConfig::new(api_key.clone(), crate::resend::RESEND_API);
                config.base_url = base(base_url, config.base_url);
                config.refuse_private = refuse_private;
                Arc::new(ResendProvider::new(config)?)
            }
            ProviderSettings::Sendgrid { api_key, base_url } => {
                require(api_key, "apiKey")?;
                let mut config =
                    SendGridConfig::new(api_key.clone(), crate::sendgrid::SENDGRID_API);
                config.base_url = base(base_url, config.base_url);
                config.refuse_private = refuse_private;
                Arc::new(SendGridProvider::new(config)?)
            }
            ProviderSettings::Ses {
                region,
                access_key_id,
                secret_access_key,
                endpoint_url,
            } => Arc::new(SesProvider::new(SesConfig {
                region: region.clone(),
                credentials: ses_credentials(access_key_id, secret_access_key)?,
                endpoint_url: endpoint_url.clone(),
                refuse_private,
            })?),
            ProviderSettings::Mailgun {
                api_key,
                domain,
                region,
                base_url,
            } => {
                require(api_key, "apiKey")?;
                let region = match region {
                    Region::Us => MailgunRegion::Us,
                    Region::Eu => MailgunRegion::Eu,
                };
                let mut config = MailgunConfig::new(api_key.clone(), domain.clone(), region);
                config.base_url = base(base_url, config.base_url);
                config.refuse_private = refuse_private;
                Arc::new(MailgunProvider::new(config)?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_and_masking() {
        let settings: ProviderSettings = serde_json::from_str(
            r#"{"provider": "mailgun", "apiKey": "key-0123456789abcdef", "domain": "mg.shop.example", "region": "eu"}"#,
        )
        .unwrap();
        assert_eq!(settings.kind(), "mailgun");
        let masked = settings.masked().to_string();
        assert!(!masked.contains("0123456789abcdef"), "{masked}");
        assert!(masked.contains("key…cdef"));
        assert!(!format!("{settings:?}").contains("0123456789"));
        assert!(settings.build(Trust::Operator).is_ok());
        let smtp = ProviderSettings::Smtp {
            url: "smtp://me:secret@mail.example:587?tls=starttls".into(),
            ca_certificate: None,
        };
        assert!(!smtp.masked().to_string().contains("secret"));
        assert!(serde_json::from_str::<ProviderSettings>(r#"{"provider": "resend"}"#).is_err());
        assert!(serde_json::from_str::<ProviderSettings>(r#"{"provider": "pigeon"}"#).is_err());
        let empty = ProviderSettings::Resend {
            api_key: " ".into(),
            base_url: None,
        };
        assert!(empty.build(Trust::Operator).is_err());
    }
}
