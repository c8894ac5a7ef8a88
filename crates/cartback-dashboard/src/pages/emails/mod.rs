//! `/dashboard/emails`: the look of the recovery emails (`PUT
//! /api/v1/settings/recovery`'s `email`: design and branding) and the shop's own
//! templates per language (`/api/v1/templates`), each with a preview and a test
//! send through the shop's own provider.

pub mod branding;
pub mod templates;
mod test_send;
