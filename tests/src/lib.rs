//! Shared harness of the end-to-end tests: spawns the real `cartback`,
//! `cartback-api` and `cartback-worker` binaries (build them first with
//! `cargo build --bins`; `scripts/test.sh` does) against real peers on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod http_stub;
pub mod maildev;
pub mod moto;
pub mod process;
pub mod python;
pub mod tls;
