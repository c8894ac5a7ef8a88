//! The Sending page's email provider: the shop's own account (SMTP, Resend,
//! SendGrid, Mailgun or Amazon SES) or the server's default, changed with the
//! rules of `PUT /api/v1/email-provider` (`cartback_email::vet_tenant_settings`)
//! and sealed as the API seals it; a test send as `POST
//! /api/v1/email-provider/test` makes it. Secrets are never put back into the
//! form: an empty secret field keeps the stored one when the provider stays.

use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use cartback_email::{
    ProviderSettings, Region, ShopSender, SmtpConfig, SmtpSecurity, provider_test_message,
    smtp_url, vet_tenant_settings,
};
use cartback_store::email_providers::{ProviderRow, delete_provider, set_provider};

use crate::Dashboard;
use crate::format;
use crate::layout::csrf_field;
use crate::pages::emails::test_send::{TestResult, test_result};
use crate::pages::fields::{FieldErrors, Input};
use crate::session::SignedIn;

/// The choices of the provider select: form value and what a merchant reads.
const CHOICES: [(&str, &str); 6] = [
    ("default", "The server's default provider"),
    ("smtp", "SMTP server"),
    ("resend", "Resend"),
    ("sendgrid", "SendGrid"),
    ("mailgun", "Mailgun"),
    ("ses", "Amazon SES"),
];

fn provider_name(kind: &str) -> &str {
    CHOICES
        .iter()
        .find(|(value, _)| *value == kind)
        .map_or(kind, |(_, name)| name)
}

/// The provider form as posted. Secrets are read, never shown again.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProviderForm {
    pub csrf: Option<String>,
    provider: String,
    smtp_host: String,
    smtp_port: String,
    smtp_security: String,
    smtp_username: String,
    smtp_password: String,
    resend_api_key: String,
    sendgrid_api_key: String,
    mailgun_api_key: String,
    mailgun_domain: String,
    mailgun_region: String,
    ses_region: String,
    ses_access_key_id: String,
    ses_secret_access_key: String,
}

impl ProviderForm {
    /// The non-secret values of the stored settings (from their masked form),
    /// to fill the form with.
    pub fn of_stored(row: Option<&ProviderRow>) -> ProviderForm {
        let mut form = ProviderForm {
            provider: "default".to_owned(),
            smtp_security: "starttls".to_owned(),
            smtp_port: "587".to_owned(),
            mailgun_region: "us".to_owned(),
            ..ProviderForm::default()
        };
        let Some(row) = row else {
            return form;
        };
        let masked: serde_json::Value = serde_json::from_str(&row.masked).unwrap_or_default();
        let text = |key: &str| {
            masked
                .get(key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        form.provider = row.kind.clone();
        match row.kind.as_str() {
            "smtp" => {
                if let Ok(config) = SmtpConfig::from_url(&text("url")) {
                    form.smtp_host = config.host;
                    form.smtp_port = config.port.to_string();
                    form.smtp_security = security_value(config.security).to_owned();
                    form.smtp_username = config.username.unwrap_or_default();
                }
            }
            "mailgun" => {
                form.mailgun_domain = text("domain");
                form.mailgun_region = text("region");
            }
            "ses" => {
                form.ses_region = text("region");
                form.ses_access_key_id = text("accessKeyId");
            }
            _ => {}
        }
        form
    }

    /// Whether the form asks for the server's default provider.
    pub fn is_default(&self) -> bool {
        self.provider == "default"
    }

    /// What is shown again after a refusal: what was typed, secrets blanked.
    fn without_secrets(mut self) -> ProviderForm {
        for secret in [
            &mut self.smtp_password,
            &mut self.resend_api_key,
            &mut self.sendgrid_api_key,
            &mut self.mailgun_api_key,
            &mut self.ses_secret_access_key,
        ] {
            secret.clear();
        }
        self
    }
}

fn security_value(security: SmtpSecurity) -> &'static str {
    match security {
        SmtpSecurity::StartTls => "starttls",
        SmtpSecurity::Tls => "tls",
        SmtpSecurity::None => "none",
    }
}

/// A secret typed, or the stored one when the field was left empty.
fn typed_or_stored(typed: &str, stored: Option<&String>) -> Option<String> {
    let typed = typed.trim();
    if typed.is_empty() {
        stored.cloned()
    } else {
        Some(typed.to_owned())
    }
}

/// A required text field, or its problem beside `control`.
fn required(value: &str, control: &str, what: &str, errors: &mut FieldErrors) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.add(control, format!("Enter the {what}."));
    }
    value.to_owned()
}

/// The settings the form describes, over the stored ones (`stored`, opened):
/// empty secrets and what the form does not show (API base URLs, an SMTP CA
/// certificate) are kept when the provider stays the same. None: back to the
/// server's default.
fn settings_of(
    form: &ProviderForm,
    stored: Option<&ProviderSettings>,
) -> Result<Option<ProviderSettings>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let secret = |typed: &str,
                  stored_secret: Option<&String>,
                  control: &str,
                  what: &str,
                  errors: &mut FieldErrors| {
        typed_or_stored(typed, stored_secret).unwrap_or_else(|| {
            errors.add(control, format!("Enter the {what}."));
            String::new()
        })
    };
    let settings = match form.provider.as_str() {
        "default" => return Ok(None),
        "smtp" => {
            let (stored_url, ca_certificate) = match stored {
                Some(ProviderSettings::Smtp {
                    url,
                    ca_certificate,
                }) => (SmtpConfig::from_url(url).ok(), ca_certificate.clone()),
                _ => (None, None),
            };
            let host = required(
                &form.smtp_host,
                "smtp-host",
                "server's host name",
                &mut errors,
            );
            let port = match form.smtp_port.trim().parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => {
                    errors.add("smtp-port", "Enter a port from 1 to 65535, such as 587.");
                    0
                }
            };
            let security = match form.smtp_security.as_str() {
                "tls" => SmtpSecurity::Tls,
                "none" => SmtpSecurity::None,
                _ => SmtpSecurity::StartTls,
            };
            let username = form.smtp_username.trim();
            let password = typed_or_stored(
                &form.smtp_password,
                stored_url
                    .as_ref()
                    .filter(|config| config.username.as_deref() == Some(username))
                    .and_then(|config| config.password.as_ref()),
            );
            let credentials = match (username.is_empty(), &password) {
                (true, _) => None,
                (false, Some(password)) => Some((username, password.as_str())),
                (false, None) => {
                    errors.add("smtp-password", "Enter the password of this user name.");
                    None
                }
            };
            if username.is_empty() && !form.smtp_password.trim().is_empty() {
                errors.add(
                    "smtp-username",
                    "Enter the user name the password belongs to.",
                );
            }
            ProviderSettings::Smtp {
                url: smtp_url(&host, port, security, credentials),
                ca_certificate,
            }
        }
        "resend" => {
            let (stored_key, base_url) = match stored {
                Some(ProviderSettings::Resend { api_key, base_url }) => {
                    (Some(api_key), base_url.clone())
                }
                _ => (None, None),
            };
            ProviderSettings::Resend {
                api_key: secret(
                    &form.resend_api_key,
                    stored_key,
                    "resend-api-key",
                    "API key",
                    &mut errors,
                ),
                base_url,
            }
        }
        "sendgrid" => {
            let (stored_key, base_url) = match stored {
                Some(ProviderSettings::Sendgrid { api_key, base_url }) => {
                    (Some(api_key), base_url.clone())
                }
                _ => (None, None),
            };
            ProviderSettings::Sendgrid {
                api_key: secret(
                    &form.sendgrid_api_key,
                    stored_key,
                    "sendgrid-api-key",
                    "API key",
                    &mut errors,
                ),
                base_url,
            }
        }
        "mailgun" => {
            let (stored_key, base_url) = match stored {
                Some(ProviderSettings::Mailgun {
                    api_key, base_url, ..
                }) => (Some(api_key), base_url.clone()),
                _ => (None, None),
            };
            ProviderSettings::Mailgun {
                api_key: secret(
                    &form.mailgun_api_key,
                    stored_key,
                    "mailgun-api-key",
                    "API key",
                    &mut errors,
                ),
                domain: required(
                    &form.mailgun_domain,
                    "mailgun-domain",
                    "sending domain",
                    &mut errors,
                ),
                region: if form.mailgun_region == "eu" {
                    Region::Eu
                } else {
                    Region::Us
                },
                base_url,
            }
        }
        "ses" => {
            let (stored_secret, endpoint_url) = match stored {
                Some(ProviderSettings::Ses {
                    secret_access_key,
                    endpoint_url,
                    access_key_id,
                    ..
                }) if access_key_id.as_deref() == Some(form.ses_access_key_id.trim()) => {
                    (secret_access_key.as_ref(), endpoint_url.clone())
                }
                Some(ProviderSettings::Ses { endpoint_url, .. }) => (None, endpoint_url.clone()),
                _ => (None, None),
            };
            ProviderSettings::Ses {
                region: required(
                    &form.ses_region,
                    "ses-region",
                    "AWS region, such as eu-west-1",
                    &mut errors,
                ),
                access_key_id: Some(required(
                    &form.ses_access_key_id,
                    "ses-access-key-id",
                    "access key id",
                    &mut errors,
                )),
                secret_access_key: Some(secret(
                    &form.ses_secret_access_key,
                    stored_secret,
                    "ses-secret-access-key",
                    "secret access key",
                    &mut errors,
                )),
                endpoint_url,
            }
        }
        _ => {
            errors.add("provider-kind", "Pick one of the listed providers.");
            return Err(errors);
        }
    };
    if errors.is_empty() {
        Ok(Some(settings))
    } else {
        Err(errors)
    }
}

/// The control a refusal of `vet_tenant_settings` belongs beside.
fn control_of(kind: &str, field: &str, message: &str) -> Option<&'static str> {
    Some(match (kind, field) {
        ("smtp", "url") => "smtp-host",
        ("smtp", _) if message.contains("username and password") => "smtp-password",
        ("smtp", _) if message.contains("port") => "smtp-port",
        ("smtp", "provider") => "smtp-host",
        ("ses", "accessKeyId") => "ses-access-key-id",
        ("ses", "provider") if message.contains("region") => "ses-region",
        ("resend", "provider") => "resend-api-key",
        ("sendgrid", "provider") => "sendgrid-api-key",
        ("mailgun", "provider") if message.contains("domain") => "mailgun-domain",
        ("mailgun", "provider") => "mailgun-api-key",
        _ => return None,
    })
}

/// What saving the form came to.
pub enum Saved {
    /// Stored, or back to the default.
    Done,
    /// Refused: the form again with its problems, and the status to answer.
    Refused(Box<ProviderForm>, FieldErrors, actix_web::http::StatusCode),
}

/// Checks and stores the posted settings for the shop (a change already
/// checked by `signed_for_change`).
pub async fn save(
    dashboard: &Dashboard,
    signed: &SignedIn,
    form: ProviderForm,
) -> Result<Saved, crate::error::PageError> {
    use actix_web::http::StatusCode;
    let tenant_id = signed.tenant.id.clone();
    if form.is_default() {
        let removed = dashboard
            .db(move |conn| delete_provider(conn, &tenant_id))
            .await?;
        if removed {
            tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, "dashboard: email provider back to the server default");
        }
        return Ok(Saved::Done);
    }
    let row = dashboard
        .db(move |conn| cartback_store::email_providers::find_provider(conn, &tenant_id))
        .await?;
    // Secrets left empty are taken from what is stored; unreadable settings
    // (another master key) simply keep nothing.
    let stored: Option<ProviderSettings> = row
        .and_then(|row| row.open(&dashboard.master_keys).ok())
        .and_then(|plain| serde_json::from_str(&plain).ok());
    let settings = match settings_of(&form, stored.as_ref()) {
        Ok(Some(settings)) => settings,
        Ok(None) => return Err(crate::error::PageError::Internal),
        Err(errors) => {
            return Ok(Saved::Refused(
                Box::new(form.without_secrets()),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    if let Err(refused) = vet_tenant_settings(&settings, dashboard.allow_private_targets).await {
        let mut errors = FieldErrors::default();
        match control_of(&form.provider, refused.field, &refused.message) {
            Some(control) => errors.add(control, refused.message),
            None => errors.add_general(refused.message),
        }
        return Ok(Saved::Refused(
            Box::new(form.without_secrets()),
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    if !dashboard.master_keys.is_configured() {
        let mut errors = FieldErrors::default();
        errors.add_general(
            "The server has no CARTBACK_MASTER_KEY, so it cannot store provider credentials: ask whoever runs cartback to set one.",
        );
        return Ok(Saved::Refused(
            Box::new(form.without_secrets()),
            errors,
            StatusCode::CONFLICT,
        ));
    }
    let plain = serde_json::to_string(&settings).map_err(|error| {
        tracing::error!(%error, "provider settings do not serialize");
        crate::error::PageError::Internal
    })?;
    let (keys, tenant_id, kind, masked) = (
        dashboard.master_keys.clone(),
        signed.tenant.id.clone(),
        settings.kind(),
        settings.masked().to_string(),
    );
    dashboard
        .db(move |conn| set_provider(conn, &keys, &tenant_id, kind, &plain, &masked, Utc::now()))
        .await?;
    tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, provider = kind, "dashboard: email provider changed");
    Ok(Saved::Done)
}

/// The provider's test: the API's test message from the shop's sender to `to`.
pub async fn test_send(
    dashboard: &Dashboard,
    signed: &SignedIn,
    to: &cartback_domain::EmailAddress,
) -> Result<TestResult, crate::error::PageError> {
    let tenant = &signed.tenant;
    let message = provider_test_message(
        ShopSender {
            shop_name: &tenant.name,
            from_email: &tenant.from_email,
            from_name: tenant.from_name.as_deref(),
            reply_to: tenant.reply_to.as_deref(),
        },
        to.as_str(),
        cartback_store::ids::random_id("test_", 16),
    );
    crate::pages::emails::test_send::send_through_shop_provider(dashboard, tenant, &message).await
}

/// The provider's masked settings as label and value pairs, secrets already hidden.
fn provider_facts(row: &ProviderRow) -> Vec<(String, String)> {
    let masked: serde_json::Value = serde_json::from_str(&row.masked).unwrap_or_default();
    let mut facts = Vec::new();
    if let Some(object) = masked.as_object() {
        for (key, value) in object {
            if key == "provider" {
                continue;
            }
            let shown = match value {
                serde_json::Value::String(text) => text.clone(),
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            facts.push((key.clone(), shown));
        }
    }
    facts
}

/// The stored secret's hint for `kind`, when `row` is of that kind.
fn stored_hint(row: Option<&ProviderRow>, kind: &str, key: &str) -> Option<String> {
    let row = row.filter(|row| row.kind == kind)?;
    let masked: serde_json::Value = serde_json::from_str(&row.masked).ok()?;
    masked.get(key)?.as_str().map(str::to_owned)
}

/// What the card shows besides the stored settings.
pub struct CardState<'a> {
    pub form: &'a ProviderForm,
    pub errors: &'a FieldErrors,
    pub test_to: &'a str,
    pub test_errors: &'a FieldErrors,
    pub test: Option<&'a TestResult>,
}

/// A password input that never carries a value: its hint says whether one is
/// stored (masked) and that leaving it empty keeps it.
fn secret_input(
    errors: &FieldErrors,
    control: &str,
    name: &str,
    label: &str,
    stored: Option<String>,
) -> Markup {
    let hint_id = format!("{control}-hint");
    let described = match errors.described_by(control) {
        Some(error) => format!("{error} {hint_id}"),
        None => hint_id.clone(),
    };
    html! {
        div.field {
            label for=(control) { (label) }
            input id=(control) type="password" name=(name) value="" autocomplete="new-password"
                spellcheck="false" aria-invalid=[errors.invalid(control)] aria-describedby=(described);
            p.hint id=(hint_id) {
                @match stored {
                    Some(hint) => { "Stored: " code { (hint) } ". Leave empty to keep it." }
                    None => "Stored sealed; shown only masked after saving.",
                }
            }
            (errors.beside(control))
        }
    }
}

fn select(
    errors: &FieldErrors,
    control: &str,
    name: &str,
    label: &str,
    options: &[(&str, &str)],
    value: &str,
) -> Markup {
    // The provider choice shows its provider's fields (dashboard.js).
    let shows = (name == "provider").then_some("provider");
    html! {
        div.field {
            label for=(control) { (label) }
            select id=(control) name=(name) data-shows=[shows] aria-invalid=[errors.invalid(control)]
                aria-describedby=[errors.described_by(control)] {
                @for (option, text) in options {
                    option value=(option) selected[*option == value] { (text) }
                }
            }
            (errors.beside(control))
        }
    }
}

/// One provider's fields: shown when it is chosen (all of them without script).
fn choice(kind: &str, legend: &str, body: Markup) -> Markup {
    html! {
        fieldset.provider-fields data-choice-of="provider" data-choice=(kind) {
            legend { (legend) }
            div.form-grid { (body) }
        }
    }
}

/// The Sending page's provider card: what is stored, the form to change it,
/// and the test send.
pub fn card(signed: &SignedIn, row: Option<&ProviderRow>, state: &CardState<'_>) -> Markup {
    let may_change = signed.role.may_change_settings();
    let form = state.form;
    let errors = state.errors;
    let zone = signed.zone();
    html! {
        section.card aria-labelledby="provider-title" {
            (crate::pages::sending::card_header("provider-title", "Email provider", "Also available as", "/api/v1/email-provider"))
            @match row {
                Some(row) => {
                    p #provider-current { "Recovery emails go through " strong { (provider_name(&row.kind)) } ", changed "
                        (format::local_time(row.updated_at, zone)) "." }
                    dl.facts #provider-facts {
                        @for (key, value) in provider_facts(row) {
                            dt { (key) }
                            dd { code { (value) } }
                        }
                    }
                }
                None => {
                    p #provider-current { "Recovery emails go through " strong { "the server's default provider" }
                        ", set up by whoever runs cartback. Send through your own account for your own domain's reputation." }
                }
            }
            @if may_change {
                form #provider-form method="post" action="/dashboard/sending/provider" novalidate autocomplete="off" {
                    (csrf_field(signed))
                    (errors.summary())
                    (select(errors, "provider-kind", "provider", "Send through", &CHOICES, &form.provider))
                    div.provider-choices {
                        fieldset.provider-fields data-choice-of="provider" data-choice="default" {
                            legend { "The server's default provider" }
                            p.hint { "Nothing to fill in: saving removes the shop's own credentials." }
                        }
                        (choice("smtp", "SMTP server", html! {
                            (errors.input(Input { hint: Some("Such as smtp.mailprovider.example."), ..Input::new("smtp-host", "smtp_host", "Host", &form.smtp_host) }))
                            (errors.input(Input { numeric: true, hint: Some("587 with STARTTLS, 465 with TLS."), ..Input::new("smtp-port", "smtp_port", "Port", &form.smtp_port) }))
                            (select(errors, "smtp-security", "smtp_security", "Encryption", &[("starttls", "STARTTLS"), ("tls", "TLS from the start"), ("none", "None (local relays only)")], &form.smtp_security))
                            (errors.input(Input { hint: Some("Empty for a relay without sign-in."), ..Input::new("smtp-username", "smtp_username", "User name", &form.smtp_username) }))
                            (secret_input(errors, "smtp-password", "smtp_password", "Password",
                                row.filter(|r| r.kind == "smtp" && !form.smtp_username.is_empty()).map(|_| "••••••".to_owned())))
                        }))
                        (choice("resend", "Resend", html! {
                            (secret_input(errors, "resend-api-key", "resend_api_key", "Resend API key", stored_hint(row, "resend", "apiKeyHint")))
                        }))
                        (choice("sendgrid", "SendGrid", html! {
                            (secret_input(errors, "sendgrid-api-key", "sendgrid_api_key", "SendGrid API key", stored_hint(row, "sendgrid", "apiKeyHint")))
                        }))
                        (choice("mailgun", "Mailgun", html! {
                            (secret_input(errors, "mailgun-api-key", "mailgun_api_key", "Mailgun API key", stored_hint(row, "mailgun", "apiKeyHint")))
                            (errors.input(Input { hint: Some("The domain you send from in Mailgun, such as mg.shop.example."), ..Input::new("mailgun-domain", "mailgun_domain", "Sending domain", &form.mailgun_domain) }))
                            (select(errors, "mailgun-region", "mailgun_region", "Region", &[("us", "US"), ("eu", "EU")], &form.mailgun_region))
                        }))
                        (choice("ses", "Amazon SES", html! {
                            (errors.input(Input { hint: Some("Such as eu-west-1."), ..Input::new("ses-region", "ses_region", "AWS region", &form.ses_region) }))
                            (errors.input(Input::new("ses-access-key-id", "ses_access_key_id", "Access key id", &form.ses_access_key_id)))
                            (secret_input(errors, "ses-secret-access-key", "ses_secret_access_key", "Secret access key", stored_hint(row, "ses", "secretAccessKeyHint")))
                        }))
                    }
                    div.form-actions {
                        button.button.primary type="submit" { "Save email provider" }
                    }
                }
                h3.subhead #provider-test-title { "Send a test email" }
                p.muted.small { "A short message from your sender address through the shop's own provider, to check it works." }
                form.inline-form.test-form method="post" action="/dashboard/sending/test" novalidate aria-labelledby="provider-test-title" {
                    (csrf_field(signed))
                    (state.test_errors.input(Input { kind: "email", grow: true, ..Input::new("provider-test-to", "to", "Send a test to", state.test_to) }))
                    button.button type="submit" #provider-test-button { "Send test" }
                }
                @if let Some(result) = state.test { (test_result(result)) }
            } @else {
                p.muted.small { "Your role (viewer) can look but not change anything." }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> ProviderForm {
        let object: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
            .collect();
        serde_json::from_value(serde_json::Value::Object(object)).unwrap()
    }

    #[test]
    fn smtp_fields_make_the_url_the_api_takes() {
        let typed = form(&[
            ("provider", "smtp"),
            ("smtp_host", "mail.example"),
            ("smtp_port", "2525"),
            ("smtp_security", "none"),
            ("smtp_username", "me@shop"),
            ("smtp_password", "p:w"),
        ]);
        match settings_of(&typed, None) {
            Ok(Some(ProviderSettings::Smtp { url, .. })) => {
                assert_eq!(url, "smtp://me%40shop:p%3Aw@mail.example:2525");
            }
            other => panic!("{:?}", other.map(|s| s.map(|s| s.kind()))),
        }
    }

    #[test]
    fn an_empty_secret_keeps_the_stored_one_of_the_same_provider() {
        let stored: ProviderSettings = serde_json::from_str(
            r#"{"provider":"mailgun","apiKey":"key-stored-123456","domain":"mg.old.example","baseUrl":"https://mailgun.test"}"#,
        )
        .unwrap();
        let typed = form(&[
            ("provider", "mailgun"),
            ("mailgun_domain", "mg.new.example"),
            ("mailgun_region", "eu"),
        ]);
        match settings_of(&typed, Some(&stored)) {
            Ok(Some(ProviderSettings::Mailgun {
                api_key,
                domain,
                region,
                base_url,
            })) => {
                assert_eq!(api_key, "key-stored-123456");
                assert_eq!(domain, "mg.new.example");
                assert_eq!(region, Region::Eu);
                assert_eq!(base_url.as_deref(), Some("https://mailgun.test"));
            }
            other => panic!("{:?}", other.map(|s| s.map(|s| s.kind()))),
        }
        // Another provider starts without a key.
        let errors = settings_of(&form(&[("provider", "resend")]), Some(&stored)).unwrap_err();
        assert!(errors.has("resend-api-key"));
    }

    #[test]
    fn missing_fields_are_named_beside_their_controls() {
        let errors = settings_of(&form(&[("provider", "ses")]), None).unwrap_err();
        for control in ["ses-region", "ses-access-key-id", "ses-secret-access-key"] {
            assert!(errors.has(control), "{control}");
        }
        let errors = settings_of(
            &form(&[
                ("provider", "smtp"),
                ("smtp_port", "x"),
                ("smtp_username", "u"),
            ]),
            None,
        )
        .unwrap_err();
        for control in ["smtp-host", "smtp-port", "smtp-password"] {
            assert!(errors.has(control), "{control}");
        }
        assert!(
            settings_of(&form(&[("provider", "pigeon")]), None)
                .unwrap_err()
                .has("provider-kind")
        );
        assert!(matches!(
            settings_of(&form(&[("provider", "default")]), None),
            Ok(None)
        ));
    }

    #[test]
    fn the_form_is_filled_from_the_masked_settings_without_secrets() {
        let settings: ProviderSettings = serde_json::from_str(
            r#"{"provider":"smtp","url":"smtp://user:secret@mail.example:587?tls=starttls"}"#,
        )
        .unwrap();
        let row = ProviderRow {
            tenant_id: "t".into(),
            kind: "smtp".into(),
            settings: "sealed".into(),
            key_id: "k".into(),
            masked: settings.masked().to_string(),
            created_at: chrono::NaiveDateTime::default(),
            updated_at: chrono::NaiveDateTime::default(),
        };
        let shown = ProviderForm::of_stored(Some(&row));
        assert_eq!(shown.provider, "smtp");
        assert_eq!(shown.smtp_host, "mail.example");
        assert_eq!(shown.smtp_username, "user");
        assert_eq!(shown.smtp_security, "starttls");
        assert!(shown.smtp_password.is_empty());
    }
}
