//! The default provider: each email becomes an `.eml` file in a directory.

use std::path::PathBuf;

use crate::error::EmailError;
use crate::message::{EmailMessage, SendReceipt};
use crate::mime::build_mime;
use crate::provider::{CommitPoint, EmailProvider, run_commit};

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

    fn has_commit_point(&self) -> bool {
        true
    }

    async fn send(
        &self,
        message: &EmailMessage,
        commit: &dyn CommitPoint,
    ) -> Result<SendReceipt, EmailError> {
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
        // The rename is the delivery: record it first, and deliver nothing if that fails.
        if let Err(error) = run_commit(commit) {
            let _ = tokio::fs::remove_file(&temp_path).await;
            return Err(EmailError::transient(format!(
                "could not record the send: {error}"
            )));
        }
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
