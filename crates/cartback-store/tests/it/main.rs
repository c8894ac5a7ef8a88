//! The storage tests, one binary: every test on SQLite and PostgreSQL, each on
//! its own database (`cartback_testing::TestDatabase`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod analytics;
mod backup;
mod common;
mod erasure;
mod experience;
mod origins;
mod store;
mod stripe;
mod users;
mod webhooks;
