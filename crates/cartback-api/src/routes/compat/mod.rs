//! Thin adapters that answer a seed system's documented API at its own paths,
//! in its own field names and error bodies, over the native store functions and
//! domain rules (docs/compat.md): one module per seed, none with a rule of its
//! own.

pub(crate) mod litecommerce;
pub(crate) mod quick_checkout;
pub(crate) mod reloadify;
pub(crate) mod retargeting;
