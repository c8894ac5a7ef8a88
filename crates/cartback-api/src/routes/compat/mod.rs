//! Thin adapters that answer a seed system's documented API at its own paths,
//! in its own field names, over the native store functions and domain rules
//! (docs/compat.md). One module per seed.

pub(crate) mod litecommerce;
pub(crate) mod reloadify;
