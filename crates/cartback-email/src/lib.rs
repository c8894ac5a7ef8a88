#![doc = include_str!("../README.md")]

pub mod conformance;
mod error;
mod file;
mod guard;
mod http;
mod mailgun;
mod message;
mod mime;
mod provider;
mod resend;
mod sendgrid;
mod ses;
mod settings;
mod smtp;
mod tenant;
mod test_send;

pub use error::EmailError;
pub use file::FileProvider;
pub use guard::{Refused, Trust, check_host, url_host_port};
pub use http::{ApiKeyConfig, HTTP_TIMEOUT};
pub use mailgun::{MailgunConfig, MailgunProvider, MailgunRegion};
pub use message::{EmailMessage, Mailbox, SendReceipt};
pub use mime::build_mime;
pub use provider::{EmailProvider, Idempotency};
pub use resend::{RESEND_API, ResendConfig, ResendProvider};
pub use sendgrid::{SENDGRID_API, SendGridConfig, SendGridProvider};
pub use ses::{SesConfig, SesCredentials, SesProvider};
pub use settings::{ProviderSettings, Region, ses_credentials};
pub use smtp::{SmtpConfig, SmtpProvider, SmtpSecurity, smtp_url};
pub use tenant::{
    SettingsRefusal, ShopSender, private_target_refusal, provider_test_message, vet_tenant_settings,
};
pub use test_send::{TestAnswer, TestSendError, send_test, tenant_provider};
