use std::sync::Arc;

use actix_web::web;
use cartback_store::connection::DbConn;
use cartback_store::crypto::MasterKeys;
use cartback_store::{Store, StoreError};
use cartback_stripe::StripeClient;

use crate::auth::AuthCache;
use crate::error::ApiError;
use crate::ingest::Ingest;

/// Limits on what a client may send.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Longest a client may take to send a whole request body (408 beyond), and
    /// its request head: a stalled upload must not hold a connection for ever.
    pub body_read_timeout: std::time::Duration,
}

impl Default for ApiLimits {
    fn default() -> Self {
        // 500 items with long names and URLs fit comfortably.
        ApiLimits {
            max_body_bytes: 1024 * 1024,
            body_read_timeout: std::time::Duration::from_secs(5),
        }
    }
}

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub limits: ApiLimits,
    /// Seals and opens provider credentials; empty when none is configured.
    pub master_keys: Arc<MasterKeys>,
    /// Group-committed cart writes.
    pub ingest: Ingest,
    /// Recently resolved API keys.
    pub auth_cache: Arc<AuthCache>,
    /// Accept tenants' webhook endpoints and email providers on private,
    /// loopback and link-local addresses (tests, private networks); refused
    /// otherwise as an SSRF guard (`--allow-private-targets`).
    pub allow_private_targets: bool,
    /// Creates Checkout Sessions for payment links.
    pub stripe: StripeClient,
    /// Per-IP and per-key request limits (`rate_limit`).
    pub rate_limits: Arc<crate::middleware::rate_limit::RateLimiter>,
    /// Request counters and the `/metrics` token.
    pub metrics: Arc<crate::middleware::metrics::Metrics>,
    /// Where the api is reached from outside (`--public-url`): the dashboard's
    /// sign-in links start with it, and an https one makes its cookie Secure.
    pub public_url: String,
}

impl AppState {
    /// Runs `work` on a pooled connection on the blocking thread pool: diesel
    /// blocks, and an async worker must not wait on the database. Store errors
    /// become their API answers (404, 503, or a logged 500); `work` may also
    /// answer with an `ApiError` of its own.
    pub async fn db<T, E, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        ApiError: From<E>,
    {
        let store = self.store.clone();
        let run = move || -> Result<T, E> { work(&mut *store.conn()?) };
        Ok(web::block(run).await??)
    }
}
