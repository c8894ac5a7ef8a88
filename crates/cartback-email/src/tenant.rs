//! What a tenant may store as its own provider: the rules `PUT
//! /api/v1/email-provider` and the dashboard's Sending page both apply before
//! sealing the settings, and the message of a provider's test send.

use crate::error::EmailError;
use crate::guard::{Trust, check_host};
use crate::message::{EmailMessage, Mailbox};
use crate::settings::ProviderSettings;
use crate::smtp::SmtpConfig;

/// Why a tenant's settings were refused, and the settings field to blame
/// (`provider`, `accessKeyId`, `url`, `baseUrl` or `endpointUrl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsRefusal {
    pub field: &'static str,
    pub message: String,
}

impl SettingsRefusal {
    fn new(field: &'static str, message: impl Into<String>) -> SettingsRefusal {
        SettingsRefusal {
            field,
            message: message.into(),
        }
    }
}

/// The refusal of a private target, with the way out for the operator.
pub fn private_target_refusal(host: &str) -> String {
    format!(
        "refused: private address: {host} is a private, loopback or otherwise reserved address; \
         such targets are refused unless the server runs with --allow-private-targets \
         (CARTBACK_ALLOW_PRIVATE_TARGETS)"
    )
}

/// What a tenant may not configure, though the operator may (server-wide
/// flags, `cartback provider set`): writing files on the server, sending with
/// the server's own AWS credentials, or pointing the provider at private
/// addresses (unless the server allows private outbound targets).
fn tenant_may_use(settings: &ProviderSettings, allow_private: bool) -> Result<(), SettingsRefusal> {
    let check = |field: &'static str, url: &Option<String>| match url {
        Some(url) => cartback_webhooks::check_url(url, allow_private)
            .map(|_| ())
            .map_err(|e| SettingsRefusal::new(field, e.to_string())),
        None => Ok(()),
    };
    match settings {
        ProviderSettings::File { .. } => Err(SettingsRefusal::new(
            "provider",
            "the file provider writes on the server's disk and is for the server-wide default only; use smtp, resend, sendgrid, mailgun or ses",
        )),
        ProviderSettings::Ses {
            access_key_id,
            secret_access_key,
            endpoint_url,
            ..
        } => {
            if access_key_id.is_none() || secret_access_key.is_none() {
                return Err(SettingsRefusal::new(
                    "accessKeyId",
                    "give accessKeyId and secretAccessKey: a tenant may not send with the server's own AWS credentials",
                ));
            }
            check("endpointUrl", endpoint_url)
        }
        ProviderSettings::Resend { base_url, .. }
        | ProviderSettings::Sendgrid { base_url, .. }
        | ProviderSettings::Mailgun { base_url, .. } => check("baseUrl", base_url),
        ProviderSettings::Smtp { url, .. } => match SmtpConfig::from_url(url) {
            Ok(config)
                if !allow_private
                    && cartback_domain::net::is_forbidden_host_literal(&config.host) =>
            {
                Err(SettingsRefusal::new(
                    "url",
                    private_target_refusal(&config.host),
                ))
            }
            // A URL that does not parse is reported by `build`.
            _ => Ok(()),
        },
    }
}

/// Checks settings a tenant wants to store: what a tenant may use, that they
/// build into a provider, and that the host they name (resolved now, so a name
/// pointing at the server's own network is refused when saved; the provider
/// checks again at every connection) is not private unless `allow_private`.
pub async fn vet_tenant_settings(
    settings: &ProviderSettings,
    allow_private: bool,
) -> Result<(), SettingsRefusal> {
    tenant_may_use(settings, allow_private)?;
    match settings.build(Trust::Tenant { allow_private }) {
        Ok(_) => {}
        Err(EmailError::Refused { .. }) => {
            let host = settings
                .chosen_target()
                .map(|(_, host, _)| host)
                .unwrap_or_default();
            return Err(SettingsRefusal::new(
                settings.target_field(),
                private_target_refusal(&host),
            ));
        }
        Err(error) => return Err(SettingsRefusal::new("provider", error.to_string())),
    }
    if let Some((field, host, port)) = settings.chosen_target()
        && check_host(&host, port, allow_private).await.is_err()
    {
        return Err(SettingsRefusal::new(field, private_target_refusal(&host)));
    }
    Ok(())
}

/// Who a shop's emails come from, for a provider's test send.
#[derive(Debug, Clone, Copy)]
pub struct ShopSender<'a> {
    pub shop_name: &'a str,
    pub from_email: &'a str,
    pub from_name: Option<&'a str>,
    pub reply_to: Option<&'a str>,
}

/// The short message that proves a provider works, from the shop's sender to
/// `to`; `idempotency_key` is fresh for every test.
pub fn provider_test_message(
    sender: ShopSender<'_>,
    to: &str,
    idempotency_key: String,
) -> EmailMessage {
    EmailMessage {
        from: Mailbox {
            name: Some(sender.from_name.unwrap_or(sender.shop_name).to_owned()),
            email: sender.from_email.to_owned(),
        },
        to: Mailbox {
            name: None,
            email: to.to_owned(),
        },
        reply_to: sender.reply_to.map(|email| Mailbox {
            name: None,
            email: email.to_owned(),
        }),
        subject: format!("cartback test email for {}", sender.shop_name),
        html: "<p>This is a test from cartback: your email provider works.</p>".to_owned(),
        text: "This is a test from cartback: your email provider works.".to_owned(),
        headers: Vec::new(),
        idempotency_key,
        tags: vec!["cartback-test".to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str) -> ProviderSettings {
        serde_json::from_str(json).unwrap()
    }

    #[tokio::test]
    async fn a_tenant_may_not_use_the_file_provider_or_the_servers_aws_credentials() {
        let file =
            vet_tenant_settings(&settings(r#"{"provider":"file","dir":"/tmp"}"#), true).await;
        assert_eq!(file.unwrap_err().field, "provider");
        let ses = vet_tenant_settings(
            &settings(r#"{"provider":"ses","region":"eu-west-1"}"#),
            true,
        )
        .await;
        assert_eq!(ses.unwrap_err().field, "accessKeyId");
    }

    #[tokio::test]
    async fn private_targets_are_refused_on_their_field_unless_allowed() {
        let smtp = settings(r#"{"provider":"smtp","url":"smtp://127.0.0.1:2525"}"#);
        let refused = vet_tenant_settings(&smtp, false).await.unwrap_err();
        assert_eq!(refused.field, "url");
        assert!(refused.message.contains("--allow-private-targets"));
        assert_eq!(vet_tenant_settings(&smtp, true).await, Ok(()));
        let resend = settings(
            r#"{"provider":"resend","apiKey":"re_1234567890ab","baseUrl":"http://10.0.0.1/"}"#,
        );
        assert_eq!(
            vet_tenant_settings(&resend, false).await.unwrap_err().field,
            "baseUrl"
        );
    }

    #[tokio::test]
    async fn settings_that_do_not_build_are_refused_as_the_provider() {
        let resend = settings(r#"{"provider":"resend","apiKey":"has space"}"#);
        let refused = vet_tenant_settings(&resend, true).await.unwrap_err();
        assert_eq!(refused.field, "provider");
        assert!(refused.message.contains("apiKey"), "{}", refused.message);
    }

    #[test]
    fn the_test_message_comes_from_the_shop() {
        let message = provider_test_message(
            ShopSender {
                shop_name: "Mugs",
                from_email: "shop@mugs.example",
                from_name: None,
                reply_to: Some("help@mugs.example"),
            },
            "me@mugs.example",
            "test_1".to_owned(),
        );
        assert_eq!(message.from.name.as_deref(), Some("Mugs"));
        assert_eq!(message.subject, "cartback test email for Mugs");
        assert_eq!(message.reply_to.unwrap().email, "help@mugs.example");
    }
}
