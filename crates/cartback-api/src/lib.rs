#![doc = include_str!("../README.md")]

pub mod auth;
mod dashboard;
pub mod error;
pub mod ingest;
mod input;
mod middleware;
mod openapi;
mod routes;
pub mod state;

use std::net::TcpListener;

use actix_web::http::Method;
use actix_web::{App, HttpServer, Route, web};
use middleware::{cors, guard, metrics};
use routes::compat::{litecommerce, reloadify};
use routes::{
    analytics, api_keys, carts, compat, customers, email_provider, experiments, health, history,
    languages, links, preview, public, restore, settings, shop, stripe, suppressions, templates,
    track, tracker, webhook_endpoints,
};

pub use actix_web::dev::{Server, ServerHandle};
pub use cartback_stripe::{DEFAULT_BASE_URL as STRIPE_API_BASE, StripeClient};
pub use error::{ApiError, ErrorCode, FieldError};
pub use ingest::{Ingest, IngestConfig};
pub use middleware::metrics::Metrics;
pub use middleware::rate_limit::{Cidr, RateLimitConfig, RateLimiter, TrustedProxies};
pub use middleware::request_id::{REQUEST_ID, RequestLayer};
pub use state::{ApiLimits, AppState};

/// The prefix of the versioned JSON API.
const API_PREFIX: &str = "/api/v1";

/// Every route the api serves: method, full path and handler, in matching
/// order (the `/api/v1` routes form one scope, tried before the root's).
/// `configure` registers exactly these and [`routes`] lists them, so the route
/// table the tests check is the one the app runs.
fn table() -> Vec<(Method, &'static str, Route)> {
    vec![
        on(Method::GET, "/healthz", health::healthz),
        on(Method::GET, "/readyz", health::readyz),
        on(Method::GET, "/metrics", metrics::metrics),
        on(Method::GET, "/tracker.js", tracker::tracker_js),
        on(Method::GET, "/openapi.json", openapi::openapi_json),
        on(Method::GET, "/r/{token}", links::recover),
        on(Method::GET, "/u/{token}", links::unsubscribe_page),
        on(Method::POST, "/u/{token}", links::unsubscribe_now),
        on(Method::POST, "/api/v1/track", track::track),
        on(Method::OPTIONS, "/api/v1/track", cors::preflight),
        on(
            Method::POST,
            "/api/v1/public/abandoned-carts",
            public::capture,
        ),
        on(
            Method::OPTIONS,
            "/api/v1/public/abandoned-carts",
            cors::preflight,
        ),
        on(
            Method::GET,
            "/api/v1/settings/allowed-origins",
            cors::get_origins,
        ),
        on(
            Method::PUT,
            "/api/v1/settings/allowed-origins",
            cors::put_origins,
        ),
        on(
            Method::GET,
            "/api/v1/carts/restore/{token}",
            restore::restore,
        ),
        on(Method::GET, "/api/v1/carts/{id}/history", history::history),
        on(Method::GET, "/api/v1/analytics", analytics::analytics),
        on(Method::GET, "/api/v1/stats/carts", analytics::cart_counts),
        on(Method::GET, "/api/v1/carts", carts::manage::list),
        on(Method::PUT, "/api/v1/carts", carts::upsert::upsert),
        on(Method::GET, "/api/v1/carts/{id}", carts::manage::get),
        on(Method::PATCH, "/api/v1/carts/{id}", carts::manage::patch),
        on(Method::DELETE, "/api/v1/carts/{id}", carts::manage::delete),
        on(
            Method::POST,
            "/api/v1/carts/{id}/erase",
            carts::manage::erase,
        ),
        on(Method::POST, "/api/v1/customers/erase", customers::erase),
        on(Method::GET, "/api/v1/carts/{id}/items", carts::items::items),
        on(
            Method::POST,
            "/api/v1/carts/{id}/items",
            carts::items::add_item,
        ),
        on(
            Method::DELETE,
            "/api/v1/carts/{id}/items/{item_id}",
            carts::items::remove_item,
        ),
        on(
            Method::GET,
            "/api/v1/carts/{id}/timeline",
            carts::timeline::timeline,
        ),
        on(Method::POST, "/api/v1/templates/preview", preview::preview),
        on(Method::GET, "/api/v1/templates", templates::list),
        on(
            Method::GET,
            "/api/v1/templates/{name}/{locale}",
            templates::get,
        ),
        on(
            Method::PUT,
            "/api/v1/templates/{name}/{locale}",
            templates::put,
        ),
        on(
            Method::DELETE,
            "/api/v1/templates/{name}/{locale}",
            templates::delete,
        ),
        on(Method::GET, "/api/v1/settings/recovery", settings::get),
        on(Method::PUT, "/api/v1/settings/recovery", settings::put),
        on(Method::PATCH, "/api/v1/settings/recovery", settings::patch),
        on(Method::GET, "/api/v1/settings/shop", shop::get),
        on(Method::PUT, "/api/v1/settings/shop", shop::put),
        on(Method::PATCH, "/api/v1/settings/shop", shop::patch),
        on(Method::GET, "/api/v1/settings/languages", languages::get),
        on(Method::PUT, "/api/v1/settings/languages", languages::put),
        on(Method::GET, "/api/v1/api-keys", api_keys::list),
        on(Method::POST, "/api/v1/api-keys", api_keys::create),
        on(Method::DELETE, "/api/v1/api-keys/{id}", api_keys::revoke),
        on(Method::GET, "/api/v1/suppressions", suppressions::list),
        on(Method::POST, "/api/v1/suppressions", suppressions::add),
        on(
            Method::DELETE,
            "/api/v1/suppressions/{email}",
            suppressions::remove,
        ),
        on(Method::PUT, "/api/v1/email-provider", email_provider::put),
        on(Method::GET, "/api/v1/email-provider", email_provider::get),
        on(
            Method::DELETE,
            "/api/v1/email-provider",
            email_provider::delete,
        ),
        on(
            Method::POST,
            "/api/v1/email-provider/test",
            email_provider::test,
        ),
        on(
            Method::POST,
            "/api/v1/webhook-endpoints",
            webhook_endpoints::create,
        ),
        on(
            Method::GET,
            "/api/v1/webhook-endpoints",
            webhook_endpoints::list,
        ),
        on(
            Method::GET,
            "/api/v1/webhook-endpoints/{id}",
            webhook_endpoints::get,
        ),
        on(
            Method::PATCH,
            "/api/v1/webhook-endpoints/{id}",
            webhook_endpoints::update,
        ),
        on(
            Method::DELETE,
            "/api/v1/webhook-endpoints/{id}",
            webhook_endpoints::delete,
        ),
        on(
            Method::POST,
            "/api/v1/webhook-endpoints/{id}/rotate-secret",
            webhook_endpoints::rotate,
        ),
        on(
            Method::GET,
            "/api/v1/webhook-endpoints/{id}/deliveries",
            webhook_endpoints::deliveries,
        ),
        on(
            Method::GET,
            "/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}",
            webhook_endpoints::delivery,
        ),
        on(
            Method::POST,
            "/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/replay",
            webhook_endpoints::replay,
        ),
        on(Method::POST, "/api/v1/experiments", experiments::create),
        on(Method::GET, "/api/v1/experiments", experiments::list),
        on(Method::GET, "/api/v1/experiments/{id}", experiments::get),
        on(
            Method::POST,
            "/api/v1/experiments/{id}/start",
            experiments::start,
        ),
        on(
            Method::POST,
            "/api/v1/experiments/{id}/stop",
            experiments::stop,
        ),
        on(
            Method::POST,
            "/api/v1/experiments/{id}/promote",
            experiments::promote,
        ),
        on(
            Method::PUT,
            "/api/v1/integrations/stripe",
            stripe::settings::put,
        ),
        on(
            Method::PATCH,
            "/api/v1/integrations/stripe",
            stripe::settings::patch,
        ),
        on(
            Method::GET,
            "/api/v1/integrations/stripe",
            stripe::settings::get,
        ),
        on(
            Method::DELETE,
            "/api/v1/integrations/stripe",
            stripe::settings::delete,
        ),
        on(
            Method::POST,
            "/api/v1/integrations/stripe/webhook/{tenant_id}",
            stripe::intake::intake,
        ),
        on(
            Method::POST,
            "/api/v1/carts/{id}/payment-link",
            stripe::payment_link::payment_link,
        ),
        // Compatibility with the seed systems (docs/compat.md).
        on(
            Method::GET,
            "/api/v1/merchant/abandoned-carts",
            litecommerce::list,
        ),
        on(
            Method::GET,
            "/api/v2/languages/{language_id}/shopping_carts",
            reloadify::list,
        ),
        on(
            Method::PUT,
            "/api/v2/languages/{language_id}/shopping_carts",
            reloadify::put,
        ),
        on(
            Method::GET,
            "/api/v2/languages/{language_id}/shopping_carts/{shopping_cart_id}",
            reloadify::get,
        ),
        on(
            Method::DELETE,
            "/api/v2/languages/{language_id}/shopping_carts/{shopping_cart_id}",
            reloadify::delete,
        ),
        on(
            Method::GET,
            "/api/v2/languages/{language_id}/shopping_carts/{shopping_cart_id}/products",
            reloadify::products,
        ),
        on(
            Method::PUT,
            "/api/v2/languages/{language_id}/shopping_carts/{shopping_cart_id}/products/{product_id}",
            reloadify::add_product,
        ),
        on(
            Method::DELETE,
            "/api/v2/languages/{language_id}/shopping_carts/{shopping_cart_id}/products/{product_id}",
            reloadify::remove_product,
        ),
        // Seed 002: Retargeting's partner API.
        on(
            Method::GET,
            "/v1/partners-api/shopping-carts",
            compat::retargeting::shopping_carts,
        ),
        // Seed 003: Quick Checkout Tracker.
        on(Method::GET, "/api/carts", compat::quick_checkout::list),
        on(Method::POST, "/api/carts", compat::quick_checkout::create),
        on(Method::GET, "/api/carts/{id}", compat::quick_checkout::get),
        on(
            Method::PATCH,
            "/api/carts/{id}",
            compat::quick_checkout::patch,
        ),
        on(
            Method::DELETE,
            "/api/carts/{id}",
            compat::quick_checkout::delete,
        ),
        on(
            Method::POST,
            "/api/carts/{id}/payment-link",
            compat::quick_checkout::payment_link,
        ),
        on(
            Method::GET,
            "/api/analytics",
            compat::quick_checkout::analytics,
        ),
        on(
            Method::POST,
            "/api/webhooks/stripe",
            compat::quick_checkout::stripe_webhook,
        ),
    ]
}

/// One entry of the table.
fn on<F, Args>(method: Method, path: &'static str, handler: F) -> (Method, &'static str, Route)
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    let route = web::method(method.clone()).to(handler);
    (method, path, route)
}

/// `(method, path)` of every route [`configure`] registers, in its order.
pub fn routes() -> Vec<(Method, &'static str)> {
    table()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect()
}

/// Registers every route on an app.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let dashboard = dashboard::dashboard(&state);
        cfg.app_data(web::Data::new(state));
        cfg.configure(cartback_dashboard::configure(dashboard));
        // The versioned API is one scope, registered before the routes at the
        // root: actix tries resources in order and matches every path with a
        // parameter by regex, so a tracked event (the hot path) should not be
        // tried against every compat and link route first. No root route
        // starts with the scope's prefix, so the order changes no match.
        let mut api = web::scope(API_PREFIX);
        let mut root = Vec::new();
        for (_, path, route) in table() {
            match path.strip_prefix(API_PREFIX) {
                Some(rest) => api = api.route(rest, route),
                None => root.push((path, route)),
            }
        }
        cfg.service(api);
        for (path, route) in root {
            cfg.route(path, route);
        }
        cfg.default_service(web::to(health::not_found));
    }
}

/// Builds the HTTP server on `listener`. Await the returned server to run it; stop it
/// through its handle (in-flight requests finish first). Signals are left to the
/// caller so the api and the worker can share one process and one shutdown.
pub fn build_server(
    state: AppState,
    listener: TcpListener,
    workers: usize,
) -> std::io::Result<actix_web::dev::Server> {
    let head_timeout = state.limits.body_read_timeout;
    Ok(HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(guard::refuse_nul_target))
            .wrap(RequestLayer::new(&state))
            .configure(configure(state.clone()))
    })
    .workers(workers.max(1))
    .client_request_timeout(head_timeout)
    .shutdown_timeout(10)
    .disable_signals()
    .listen(listener)?
    .run())
}
