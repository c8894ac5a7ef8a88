//! The domain's integration tests, one binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bounds;
mod properties;
mod recovery_policy;
