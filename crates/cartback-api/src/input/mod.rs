//! Reading what clients send: JSON bodies, objects field by field, and the
//! links of publicly captured carts.

pub(crate) mod body;
pub(crate) mod capture_links;
pub(crate) mod fields;
