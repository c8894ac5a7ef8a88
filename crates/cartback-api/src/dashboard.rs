//! Mounts the merchant dashboard (crate `cartback-dashboard`) on the api's
//! port, with the api's own rules for finding a client's address.

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderValue;

use crate::middleware::rate_limit::{TrustedProxies, client_ip};
use crate::state::AppState;

/// The dashboard over the same store, its sign-in throttle keyed by the client
/// address the rate limiter would use (`--trusted-proxies`).
pub(crate) fn dashboard(state: &AppState) -> cartback_dashboard::Dashboard {
    let trusted = state.rate_limits.config().trusted_proxies.clone();
    let find = move |request: &HttpRequest| -> Option<IpAddr> {
        let forwarded: Vec<&HeaderValue> = if trusted == TrustedProxies::None {
            Vec::new()
        } else {
            request.headers().get_all("x-forwarded-for").collect()
        };
        client_ip(
            request.peer_addr().map(|a| a.ip()),
            forwarded.into_iter(),
            &trusted,
        )
    };
    cartback_dashboard::Dashboard::new(state.store.clone(), state.public_url.clone())
        .with_client_ip(Arc::new(find))
        .with_master_keys(state.master_keys.clone(), state.allow_private_targets)
        .with_stripe(state.stripe.clone())
}
