#![doc = include_str!("../README.md")]

mod commit;
mod config;
mod process;
mod providers;
mod render;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use cartback_email::EmailProvider;
use cartback_store::Store;
use cartback_store::carts::claim_due_carts;
use cartback_store::crypto::MasterKeys;

pub use config::WorkerConfig;
pub use render::render_recovery_email;

/// Everything went through the pool or the provider; nothing here is fatal to the loop.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Store(#[from] cartback_store::StoreError),
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

pub struct Worker {
    store: Store,
    providers: providers::Providers,
    config: WorkerConfig,
}

impl Worker {
    /// `provider` sends for tenants without their own.
    pub fn new(store: Store, provider: Arc<dyn EmailProvider>, config: WorkerConfig) -> Worker {
        Worker {
            store,
            providers: providers::Providers::new(
                provider,
                Arc::new(MasterKeys::default()),
                config.concurrency,
            ),
            config,
        }
    }

    /// The master keys that open tenants' own provider settings.
    pub fn with_master_keys(mut self, keys: Arc<MasterKeys>) -> Worker {
        self.providers = providers::Providers::new(
            self.providers.default.provider.clone(),
            keys,
            self.config.concurrency,
        );
        self
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// Claims one batch of due carts and processes it completely. Returns how many
    /// carts it handled (0 when nothing was due).
    pub async fn run_once(&self) -> Result<usize, WorkerError> {
        let now = Utc::now();
        let lease_until = now + chrono::TimeDelta::from_std(self.config.lease).unwrap_or_default();
        let store = self.store.clone();
        let worker_id = self.config.worker_id.clone();
        let limit = self.config.batch_size;
        let claimed = tokio::task::spawn_blocking(move || {
            claim_due_carts(&mut *store.conn()?, &worker_id, now, lease_until, limit)
        })
        .await??;
        let count = claimed.len();
        if count == 0 {
            return Ok(0);
        }
        tracing::debug!(count, "claimed due carts");
        let batch = process::Batch {
            store: self.store.clone(),
            providers: self.providers.clone(),
            config: self.config.clone(),
        };
        if let Err(error) = batch.run(claimed).await {
            // Leases run out and another pass takes the carts again.
            tracing::warn!(%error, "batch failed; its carts come back when their leases expire");
        }
        Ok(count)
    }

    /// Polls until `shutdown` resolves. A batch in progress is finished before
    /// returning, so no claim is left hanging on a clean stop.
    pub async fn run(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), WorkerError> {
        tokio::pin!(shutdown);
        tracing::info!(worker = %self.config.worker_id, default_provider = self.providers.default.provider.kind(), "worker started");
        loop {
            let handled = match self.run_once().await {
                Ok(n) => n,
                Err(error) => {
                    tracing::warn!(%error, "worker pass failed; retrying after the poll interval");
                    0
                }
            };
            // A full batch means more may be waiting: go again at once.
            let pause = if handled as i64 >= self.config.batch_size {
                Duration::ZERO
            } else {
                self.config.poll_interval
            };
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!(worker = %self.config.worker_id, "worker stopped");
        Ok(())
    }
}
