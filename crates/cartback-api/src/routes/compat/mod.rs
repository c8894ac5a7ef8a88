//! The seed systems' own APIs at their own paths, as thin adapters onto the
//! native store functions and domain rules (docs/compat.md): each translates
//! its paths, fields and error bodies, and adds no rule of its own.

pub(crate) mod quick_checkout;
pub(crate) mod retargeting;
