#![doc = include_str!("../README.md")]

mod config;
mod experiments;
mod process;
mod providers;
mod render;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use cartback_email::EmailProvider;
use cartback_store::Store;
use cartback_store::carts::claim_due_carts;
use cartback_store::crypto::MasterKeys;

pub use cartback_store::erasure::PurgeCounts;
pub use config::{DEFAULT_RETENTION_DAYS, WorkerConfig};
pub use render::{Offer, render_recovery_email};
pub use webhooks::WebhookConfig;

/// Longest pause between failed passes.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The pause after `failures` failed passes in a row: the poll interval (at
/// least 100 ms), doubled per failure after the first, at most [`MAX_BACKOFF`].
fn backoff(poll_interval: Duration, failures: u32) -> Duration {
    let base = poll_interval.max(Duration::from_millis(100));
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

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
    webhooks: Option<webhooks::WebhookSender>,
    /// Creates payment links for tenants that put them into emails.
    stripe: Option<cartback_stripe::StripeClient>,
    config: WorkerConfig,
}

fn stripe_client(config: &WorkerConfig) -> Option<cartback_stripe::StripeClient> {
    match cartback_stripe::StripeClient::new(&config.stripe_api_base) {
        Ok(client) => Some(client),
        Err(error) => {
            tracing::error!(%error, "payment links in emails are off: bad Stripe API base URL");
            None
        }
    }
}

fn webhook_sender(
    store: &Store,
    keys: Arc<MasterKeys>,
    config: &WorkerConfig,
) -> Option<webhooks::WebhookSender> {
    match webhooks::WebhookSender::new(
        store.clone(),
        keys,
        config.webhooks.clone(),
        config.worker_id.clone(),
    ) {
        Ok(sender) => Some(sender),
        Err(error) => {
            tracing::error!(%error, "webhook delivery is off: no HTTP client");
            None
        }
    }
}

impl Worker {
    /// `provider` sends for tenants without their own.
    pub fn new(store: Store, provider: Arc<dyn EmailProvider>, config: WorkerConfig) -> Worker {
        let keys = Arc::new(MasterKeys::default());
        Worker {
            webhooks: webhook_sender(&store, keys.clone(), &config),
            providers: providers::Providers::new(
                provider,
                keys,
                config.concurrency,
                config.allow_private_targets,
            ),
            stripe: stripe_client(&config),
            store,
            config,
        }
    }

    /// The master keys that open tenants' own provider settings.
    pub fn with_master_keys(mut self, keys: Arc<MasterKeys>) -> Worker {
        self.webhooks = webhook_sender(&self.store, keys.clone(), &self.config);
        self.providers = providers::Providers::new(
            self.providers.default.provider.clone(),
            keys,
            self.config.concurrency,
            self.config.allow_private_targets,
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
        let lease_until = cartback_domain::bounds::shift(
            now,
            chrono::TimeDelta::from_std(self.config.lease).unwrap_or_default(),
        );
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
            stripe: self.stripe.clone(),
        };
        if let Err(error) = batch.run(claimed).await {
            // Leases run out and another pass takes the carts again.
            tracing::warn!(%error, "batch failed; its carts come back when their leases expire");
        }
        Ok(count)
    }

    /// Attempts one batch of due webhook deliveries. Returns how many.
    pub async fn deliver_webhooks_once(&self) -> Result<usize, WorkerError> {
        match &self.webhooks {
            Some(sender) => sender.run_once().await,
            None => Ok(0),
        }
    }

    /// One retention pass: deletes what is older than `retention_days` and
    /// finished, batch after batch, each its own short transaction, until a
    /// batch comes back short. Nothing when retention is 0 (keep forever).
    pub async fn purge_once(&self) -> Result<PurgeCounts, WorkerError> {
        let mut total = PurgeCounts::default();
        if self.config.retention_days == 0 {
            return Ok(total);
        }
        let cutoff = Utc::now() - chrono::TimeDelta::days(i64::from(self.config.retention_days));
        let batch = self.config.retention_batch.max(1);
        loop {
            let store = self.store.clone();
            let counts = tokio::task::spawn_blocking(move || {
                cartback_store::erasure::purge_expired(&mut *store.conn()?, cutoff, batch)
            })
            .await??;
            total.carts += counts.carts;
            total.sends += counts.sends;
            total.events += counts.events;
            total.deliveries += counts.deliveries;
            total.orders += counts.orders;
            if !counts.full(batch) {
                break;
            }
            // Let the other writers in between batches.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if total.total() > 0 {
            tracing::info!(
                days = self.config.retention_days,
                carts = total.carts,
                sends = total.sends,
                events = total.events,
                deliveries = total.deliveries,
                orders = total.orders,
                "retention purged old data"
            );
        }
        Ok(total)
    }

    /// Brings every tenant's analytics summary up to date: the local days
    /// that ended since the last pass (and, the first time, the year before)
    /// counted once. Returns how many tenants' summaries are complete.
    pub async fn summarise_once(&self) -> Result<usize, WorkerError> {
        let store = self.store.clone();
        let done = tokio::task::spawn_blocking(move || {
            cartback_store::analytics::summary::ensure_all(&mut *store.conn()?, Utc::now())
        })
        .await??;
        Ok(done)
    }

    /// Runs [`Worker::summarise_once`] every `analytics_interval` until stopped.
    async fn analytics_loop(&self, mut stopped: tokio::sync::watch::Receiver<bool>) {
        while !*stopped.borrow() {
            if let Err(error) = self.summarise_once().await {
                tracing::warn!(%error, "analytics summary pass failed; retrying after its interval");
            }
            tokio::select! {
                _ = stopped.changed() => {}
                () = tokio::time::sleep(self.config.analytics_interval) => {}
            }
        }
    }

    /// Runs [`Worker::purge_once`] every `retention_interval` until stopped.
    async fn retention_loop(&self, mut stopped: tokio::sync::watch::Receiver<bool>) {
        if self.config.retention_days == 0 {
            return;
        }
        while !*stopped.borrow() {
            if let Err(error) = self.purge_once().await {
                tracing::warn!(%error, "retention pass failed; retrying after its interval");
            }
            tokio::select! {
                _ = stopped.changed() => {}
                () = tokio::time::sleep(self.config.retention_interval) => {}
            }
        }
    }

    /// Polls until `shutdown` resolves: recovery emails and webhooks in two
    /// loops, so a slow webhook receiver never holds up an email, the
    /// retention pass in a third and the analytics summary in a fourth. A
    /// pass in progress is finished before
    /// returning, so no claim is left hanging on a clean stop.
    pub async fn run(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), WorkerError> {
        tracing::info!(worker = %self.config.worker_id, default_provider = self.providers.default.provider.kind(), "worker started");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let signal = async {
            shutdown.await;
            let _ = stop.send(true);
        };
        let webhook_batch = self.webhooks.as_ref().map_or(1, |w| w.batch_size());
        tokio::join!(
            signal,
            self.poll(
                "recovery emails",
                stopped.clone(),
                self.config.batch_size,
                || self.run_once()
            ),
            self.poll("webhooks", stopped.clone(), webhook_batch, || self
                .deliver_webhooks_once()),
            self.retention_loop(stopped.clone()),
            self.analytics_loop(stopped),
        );
        tracing::info!(worker = %self.config.worker_id, "worker stopped");
        Ok(())
    }

    async fn poll<F, Fut>(
        &self,
        what: &'static str,
        mut stopped: tokio::sync::watch::Receiver<bool>,
        full_batch: i64,
        pass: F,
    ) where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<usize, WorkerError>>,
    {
        // Consecutive failed passes: the pause doubles with each (a database
        // restart or failover, a provider outage) up to MAX_BACKOFF, and the loop
        // carries on. Nothing here ends the process.
        let mut failures: u32 = 0;
        while !*stopped.borrow() {
            let handled = match pass().await {
                Ok(n) => {
                    if failures > 0 {
                        tracing::info!(what, failures, "worker pass succeeded again");
                    }
                    failures = 0;
                    n
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let unavailable = matches!(&error, WorkerError::Store(e) if e.is_unavailable());
                    tracing::warn!(
                        %error,
                        what,
                        failures,
                        database_unavailable = unavailable,
                        "worker pass failed; retrying after a pause"
                    );
                    0
                }
            };
            // A full batch means more may be waiting: go again at once.
            let pause = if failures > 0 {
                backoff(self.config.poll_interval, failures)
            } else if handled as i64 >= full_batch {
                Duration::ZERO
            } else {
                self.config.poll_interval
            };
            tokio::select! {
                _ = stopped.changed() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let second = Duration::from_secs(1);
        assert_eq!(backoff(second, 1), second);
        assert_eq!(backoff(second, 2), 2 * second);
        assert_eq!(backoff(second, 4), 8 * second);
        assert_eq!(backoff(second, 10), MAX_BACKOFF);
        assert_eq!(backoff(second, u32::MAX), MAX_BACKOFF);
        assert_eq!(backoff(Duration::ZERO, 1), Duration::from_millis(100));
    }
}
