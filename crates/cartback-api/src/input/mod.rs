//! Reading what clients send: JSON bodies, objects field by field (serde
//! values in `fields`, raw ones keeping numbers' exact text in `raw`), the
//! tracked cart, and the links of publicly captured carts. One `Problems`
//! collects every failing field of a request.

pub(crate) mod body;
pub(crate) mod capture_links;
pub(crate) mod cart;
pub(crate) mod documented;
pub(crate) mod fields;
pub(crate) mod merge_patch;
mod problems;
pub(crate) mod raw;
pub(crate) mod shapes;

pub(crate) use problems::Problems;
