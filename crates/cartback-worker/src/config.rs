use std::time::Duration;

/// How a worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Unique among running workers: it owns leases.
    pub worker_id: String,
    /// Pause between polls when nothing was due (milliseconds are fine for tests).
    pub poll_interval: Duration,
    /// Carts claimed per pass.
    pub batch_size: i64,
    /// Concurrent sends per provider (the server default, and each tenant's own).
    pub concurrency: usize,
    /// How long a claim lasts; a crashed worker's carts come back after it.
    /// Must exceed the provider timeout.
    pub lease: Duration,
    /// Attempts before a transiently failing send is given up as dead.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt.
    pub retry_base: Duration,
    /// Public base URL of the api, for links in emails.
    pub public_url: String,
    /// Outgoing webhooks.
    pub webhooks: crate::WebhookConfig,
    /// Stripe's API, for payment links in emails.
    pub stripe_api_base: String,
    /// Finished carts, finished webhook deliveries and history older than this
    /// many days are deleted (orders lose their address and session); 0 keeps
    /// everything forever.
    pub retention_days: u32,
    /// How often the retention pass runs.
    pub retention_interval: Duration,
    /// Rows per table and retention transaction: small, so the pass never
    /// holds the SQLite write lock for long.
    pub retention_batch: i64,
    /// How often the worker brings every tenant's analytics summary up to
    /// date (`cartback_store::analytics::summary`): the local days that
    /// ended are counted once, here, rather than by the first report after
    /// midnight. A pass with nothing to count reads one row per tenant.
    pub analytics_interval: Duration,
    /// Let tenants' own email providers connect to private, loopback and
    /// link-local addresses (tests, private networks). The server's default
    /// provider is the operator's and is never checked.
    pub allow_private_targets: bool,
}

/// The documented default of `--retention-days`.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;

impl WorkerConfig {
    /// A process-unique id: host, pid and a random suffix.
    pub fn generate_worker_id() -> String {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned());
        format!(
            "{host}-{}-{}",
            std::process::id(),
            cartback_store::ids::random_id("", 6)
        )
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            worker_id: WorkerConfig::generate_worker_id(),
            poll_interval: Duration::from_secs(1),
            batch_size: 100,
            concurrency: 16,
            lease: Duration::from_secs(120),
            max_attempts: 8,
            retry_base: Duration::from_secs(30),
            public_url: "http://127.0.0.1:8080".to_owned(),
            webhooks: crate::WebhookConfig::default(),
            stripe_api_base: cartback_stripe::DEFAULT_BASE_URL.to_owned(),
            retention_days: DEFAULT_RETENTION_DAYS,
            retention_interval: Duration::from_secs(3600),
            retention_batch: 500,
            analytics_interval: Duration::from_secs(300),
            allow_private_targets: false,
        }
    }
}
