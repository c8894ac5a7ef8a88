//! Configuration and wiring shared by the three binaries (`cartback`,
//! `cartback-api`, `cartback-worker`): parse flags and environment, open the
//! store, hand over to the library crates.

pub mod commands;
pub mod entry;
pub mod options;
pub mod public_url;
pub mod run;
