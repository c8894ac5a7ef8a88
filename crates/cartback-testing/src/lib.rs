//! Test support for the whole workspace, and nothing else (`publish = false`):
//!
//! - [`db`]: a database per test on SQLite or PostgreSQL (PostgreSQL copies of a
//!   migrated template database), and the one [`on_both_backends!`] macro.
//! - The end-to-end helper set: [`app`] (the real api, worker and CLI binaries:
//!   `Api`, `spawn_worker`, tenants), [`process`], and the peers on loopback:
//!   [`maildev`] (SMTP), [`moto`] (SES), [`http_stub`] (HTTP providers, webhook
//!   receivers, Stripe), [`python`] (reference verifiers), [`tls`] (certificates).
//!
//! The end-to-end helpers spawn the binaries from the target directory: build them
//! first with `cargo build --workspace --bins` (`scripts/test.sh` does).
#![expect(
    clippy::expect_used,
    reason = "test support: a setup that cannot go on fails the test that asked for it"
)]

pub mod app;
pub mod db;
pub mod http_stub;
pub mod maildev;
pub mod moto;
pub mod process;
pub mod python;
pub mod tls;

pub use db::{Backend, TestDatabase, execute_raw};

/// The workspace's root directory (the peers' scripts and `.tools/` live under it).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
