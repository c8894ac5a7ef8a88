//! What wraps every request: request ids and rate limits, CORS, refusals that
//! hold for every route, and the request metrics.

pub(crate) mod cors;
pub(crate) mod guard;
pub(crate) mod metrics;
pub(crate) mod rate_limit;
pub(crate) mod request_id;
