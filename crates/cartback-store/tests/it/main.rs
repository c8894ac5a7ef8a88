//! The storage tests, one binary: every test on SQLite and PostgreSQL, each on
//! its own database (`cartback_testing::TestDatabase`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is how a test fails, helpers included"
)]

mod analytics;
mod analytics_summary;
mod backup;
mod cart_filters;
mod common;
mod dashboard_lists;
mod erasure;
mod experience;
mod experiments;
mod origins;
mod store;
mod stripe;
mod tenant_status;
mod users;
mod webhooks;
