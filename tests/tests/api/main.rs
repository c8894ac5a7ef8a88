//! The end-to-end tests, one binary (zero-to-production's `tests/api/main.rs`
//! layout): each module drives the real `cartback`, `cartback-api` and
//! `cartback-worker` binaries against real peers on loopback, through the helpers
//! of `cartback-testing`. Build the binaries first (`cargo build --workspace
//! --bins`; `scripts/test.sh` does).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is how a test fails, helpers included"
)]

mod analytics_api;
mod api_webhooks;
mod bad_input;
mod cli;
mod compat_quick_checkout;
mod compat_reloadify;
mod dashboard_browser;
mod db_faults;
mod deploy;
mod dev;
mod docs_examples;
mod e2e;
mod experiment_stats;
mod experiments_e2e;
mod ingest;
mod kill_sends;
mod openapi;
mod platform;
mod public_capture;
mod settings_documents;
mod shop_api;
mod tenant_provider;
mod webhooks_e2e;
