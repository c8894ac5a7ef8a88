//! The Stripe client's integration tests, one binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod checkout;
mod events;
