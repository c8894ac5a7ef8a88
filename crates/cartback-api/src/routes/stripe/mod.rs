//! Stripe: the tenant's account (`settings`: `/api/v1/integrations/stripe`), the
//! intake of Stripe's signed events as orders (`intake`), and payment links for
//! a cart (`payment_link`).

pub(crate) mod intake;
pub(crate) mod payment_link;
pub(crate) mod settings;
