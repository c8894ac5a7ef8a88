#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod file;
mod message;
mod mime;
mod provider;
mod smtp;

pub use error::EmailError;
pub use file::FileProvider;
pub use message::{EmailMessage, Mailbox, SendReceipt};
pub use mime::build_mime;
pub use provider::{CommitPoint, EmailProvider, NoCommit};
pub use smtp::{SmtpConfig, SmtpProvider, SmtpSecurity};
