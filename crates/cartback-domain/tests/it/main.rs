//! The domain's integration tests, one binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is how a test fails, helpers included"
)]

mod bounds;
mod experiments;
mod properties;
mod recovery_policy;
