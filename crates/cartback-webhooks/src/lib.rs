#![doc = include_str!("../README.md")]

pub mod deliver;
pub mod schedule;
pub mod secret;
pub mod signature;
pub mod target;

pub use deliver::{DeliverError, Deliverer, DelivererConfig, DeliveryOutcome, parse_retry_after};
pub use schedule::{RetrySchedule, ScheduleError};
pub use secret::{SECRET_PREFIX, SecretError, generate_secret, secret_key_bytes};
pub use signature::{retake_signature, signed_headers, standard_signature, verify_standard};
pub use target::{MAX_URL_LEN, TargetError, check_url, is_forbidden_ip};

/// The `user-agent` of every attempt unless configured otherwise.
pub const USER_AGENT: &str = concat!("cartback-webhooks/", env!("CARGO_PKG_VERSION"));
