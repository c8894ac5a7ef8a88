//! The default provider: each email becomes an `.eml` file in a directory.

use std::path::PathBuf;

use crate::error::EmailError;
use crate::message::{EmailMessage, SendReceipt};
use crate::mime::build_mime;
use crate::provider::{EmailProvider, Idempotency};

pub struct FileProvider {
    dir: PathBuf,
}

impl FileProvider {
    pub fn new(dir: impl Into<PathBuf>) -> FileProvider {
        FileProvider { dir: dir.into() }
    }
}

/// The file name for a key: one file per key, so a retry overwrites instead of
/// adding a second email.
fn file_stem(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[async_trait::async_trait]
impl EmailProvider for FileProvider {
    fn kind(&self) -> &'static str {
        "file"
    }

    /// One file per key, for as long as the directory is kept: a repeat replaces
    /// the file instead of adding a second email.
    fn idempotency(&self) -> Idempotency {
        Idempotency::Keyed {
            window: std::time::Duration::MAX,
        }
    }

    async fn send(&self, message: &EmailMessage) -> Result<SendReceipt, EmailError> {
        let bytes = build_mime(message)?.formatted();
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| EmailError::transient(format!("create {}: {e}", self.dir.display())))?;
        let stem = file_stem(&message.idempotency_key);
        let final_path = self.dir.join(format!("{stem}.eml"));
        let temp_path = self.dir.join(format!(".{stem}.eml.tmp"));
        tokio::fs::write(&temp_path, &bytes)
            .await
            .map_err(|e| EmailError::transient(format!("write {}: {e}", temp_path.display())))?;
        // The rename is the delivery: a reader never sees half an email.
        tokio::fs::rename(&temp_path, &final_path)
            .await
            .map_err(|e| {
                EmailError::transient(format!("rename to {}: {e}", final_path.display()))
            })?;
        tracing::debug!(file = %final_path.display(), "email written to the outbox");
        Ok(SendReceipt {
            provider_message_id: Some(format!("{stem}.eml")),
        })
    }
}
