//! The handlers, one module per resource. Each handler answers with types
//! declared beside it (`#[derive(Serialize, ToSchema)]`): what it serializes is
//! what the OpenAPI document says.

pub(crate) mod analytics;
pub(crate) mod api_keys;
pub(crate) mod carts;
pub(crate) mod compat;
pub(crate) mod customers;
pub(crate) mod email_provider;
pub(crate) mod experiments;
pub(crate) mod health;
pub(crate) mod history;
pub(crate) mod languages;
pub(crate) mod links;
pub(crate) mod preview;
pub(crate) mod public;
pub(crate) mod restore;
pub(crate) mod settings;
pub(crate) mod shop;
pub(crate) mod stripe;
pub(crate) mod suppressions;
pub(crate) mod templates;
pub(crate) mod track;
pub(crate) mod tracker;
pub(crate) mod webhook_endpoints;

use serde::Serialize;
use utoipa::ToSchema;

/// `{"success": true}`: the answer of a change with nothing else to tell.
#[derive(Serialize, ToSchema)]
pub(crate) struct Done {
    success: bool,
}

impl Done {
    pub(crate) const SUCCESS: Done = Done { success: true };
}
