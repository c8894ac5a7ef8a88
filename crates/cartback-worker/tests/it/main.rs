//! The worker's integration tests, one binary, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod retention;
mod worker;
