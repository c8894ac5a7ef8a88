//! The email adapters' integration tests, one binary: real peers (maildev,
//! moto, HTTP stubs) on loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is how a test fails, helpers included"
)]

mod common {
    pub mod raw;
}
mod guard;
mod http_providers;
mod providers;
mod ses;
