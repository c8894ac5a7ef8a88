use crate::error::EmailError;
use crate::message::{EmailMessage, SendReceipt};

/// Called by a provider at the last moment before delivery becomes irrevocable, so
/// the caller can durably record "sent" first. An error means the caller could not
/// record it.
pub trait CommitPoint: Send + Sync {
    fn commit(&self) -> Result<(), String>;
}

/// A commit point that records nothing (tests, previews, one-off sends).
pub struct NoCommit;

impl CommitPoint for NoCommit {
    fn commit(&self) -> Result<(), String> {
        Ok(())
    }
}

/// An email service a tenant sends through.
#[async_trait::async_trait]
pub trait EmailProvider: Send + Sync {
    /// Short stable name for logs and metrics: "smtp", "file", …
    fn kind(&self) -> &'static str;

    /// Whether `send` calls `commit` right before the irrevocable step. When false
    /// the caller records the outcome after `send` returns (at least once; the
    /// idempotency key makes repeats harmless where the provider honours it).
    fn has_commit_point(&self) -> bool;

    async fn send(
        &self,
        message: &EmailMessage,
        commit: &dyn CommitPoint,
    ) -> Result<SendReceipt, EmailError>;
}

/// Runs a commit point from async code without stalling other tasks on the
/// runtime: the callback may do blocking database work.
pub(crate) fn run_commit(commit: &dyn CommitPoint) -> Result<(), String> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| commit.commit())
        }
        _ => commit.commit(),
    }
}
