//! The api's handlers in process, on both backends (the api crate's one
//! integration binary): input validation, error envelopes, authentication and
//! what the merchant routes answer, where a real process adds nothing. The
//! binaries themselves (HTTP parsing, middleware layers, the worker, kills)
//! are tested in the end-to-end crate, `tests/`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is how a test fails, helpers included"
)]

mod analytics_api;
mod bad_input;
mod carts_api;
mod compat_litecommerce;
mod compat_quick_checkout;
mod compat_reloadify;
mod compat_retargeting;
mod document_edges;
mod harness;
mod shop_api;
mod tenant_status;
