//! The templates' integration tests, one binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod builtin;
mod common;
mod custom;
mod snapshots;
