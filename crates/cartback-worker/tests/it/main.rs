//! The worker's integration tests, one binary, on both backends.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is how a test fails, helpers included"
)]

mod analytics;
mod retention;
mod worker;
