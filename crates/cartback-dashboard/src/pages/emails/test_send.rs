//! Test sends through the shop's own provider, shared by the branding and the
//! template editor.

use maud::{Markup, html};

use cartback_domain::EmailAddress;
use cartback_email::{EmailMessage, Mailbox, TestAnswer, send_test};
use cartback_store::email_providers::find_provider;
use cartback_store::tenants::Tenant;
use cartback_templates::{Experience, RenderedEmail};

use crate::Dashboard;
use crate::error::PageError;
use crate::layout::csrf_field;
use crate::pages::fields::{FieldErrors, Input};
use crate::session::SignedIn;

// ---------------------------------------------------------------- test sends

/// What a test send came to.
pub(crate) enum TestResult {
    Delivered {
        provider: &'static str,
        message_id: Option<String>,
    },
    Failed {
        provider: &'static str,
        class: &'static str,
        message: String,
    },
    NotSent(String),
}

pub(crate) fn test_result(result: &TestResult) -> Markup {
    html! {
        @match result {
            TestResult::Delivered { provider, message_id } => {
                div.alert.success role="status" #test-result {
                    strong { "Sent. " }
                    (provider) " accepted the test email"
                    @if let Some(id) = message_id { " (message id " code { (id) } ")" }
                    "."
                }
            }
            TestResult::Failed { provider, class, message } => {
                div.alert.error role="status" #test-result {
                    strong { "Not sent. " }
                    (provider) " answered (" (class) "): " (message)
                }
            }
            TestResult::NotSent(why) => {
                div.alert.error role="status" #test-result { strong { "Not sent. " } (why) }
            }
        }
    }
}

/// Sends the rendered `email` to `to` as a test, its subject marked `[Test]`.
pub(super) async fn send_test_email(
    dashboard: &Dashboard,
    tenant: &Tenant,
    experience: &Experience,
    to: &EmailAddress,
    email: RenderedEmail,
) -> Result<TestResult, PageError> {
    let message = EmailMessage {
        from: Mailbox {
            name: experience
                .sender_name
                .clone()
                .or_else(|| tenant.from_name.clone())
                .or_else(|| Some(tenant.name.clone())),
            email: tenant.from_email.clone(),
        },
        to: Mailbox {
            name: None,
            email: to.as_str().to_owned(),
        },
        reply_to: None,
        subject: format!("[Test] {}", email.subject),
        html: email.html,
        text: email.text,
        headers: Vec::new(),
        idempotency_key: cartback_store::ids::random_id("test_", 16),
        tags: vec!["cartback-test".to_owned()],
    };
    send_through_shop_provider(dashboard, tenant, &message).await
}

/// Sends `message` through the shop's own provider, as the API's test route
/// does, and says what the provider answered.
pub(crate) async fn send_through_shop_provider(
    dashboard: &Dashboard,
    tenant: &Tenant,
    message: &EmailMessage,
) -> Result<TestResult, PageError> {
    let tenant_id = tenant.id.clone();
    let Some(row) = dashboard
        .db(move |conn| find_provider(conn, &tenant_id))
        .await?
    else {
        return Ok(TestResult::NotSent(
            "This shop has no email provider of its own (set one on the Sending page). Its emails \
             go through the server's default provider, which only the operator can test."
                .to_owned(),
        ));
    };
    let plain = match row.open(&dashboard.master_keys) {
        Ok(plain) => plain,
        Err(error) => {
            return Ok(TestResult::NotSent(format!(
                "The provider's settings cannot be opened: {error}."
            )));
        }
    };
    let answer = send_test(&plain, dashboard.allow_private_targets, message).await;
    tracing::info!(tenant = %tenant.id, delivered = matches!(answer, Ok(TestAnswer::Delivered { .. })), "dashboard: test email");
    Ok(match answer {
        Ok(TestAnswer::Delivered {
            provider,
            provider_message_id,
        }) => TestResult::Delivered {
            provider,
            message_id: provider_message_id,
        },
        Ok(TestAnswer::Failed {
            provider,
            class,
            message,
        }) => TestResult::Failed {
            provider,
            class,
            message,
        },
        Err(error) => TestResult::NotSent(error.to_string()),
    })
}

pub(super) fn test_form(
    signed: &SignedIn,
    action: &str,
    to: &str,
    errors: &FieldErrors,
    what: &str,
) -> Markup {
    let label = format!("Send {what} to");
    html! {
        form.inline-form.test-form.settings-form method="post" action=(action) {
            (csrf_field(signed))
            (errors.input(Input { kind: "email", grow: true, ..Input::new("test-to", "to", &label, to) }))
            button.button type="submit" { "Send test" }
        }
    }
}
