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
use actix_web::{App, HttpServer, web};
use middleware::{cors, guard, metrics};
use routes::{
    analytics, carts, customers, email_provider, health, history, links, preview, public, restore,
    settings, stripe, suppressions, templates, track, tracker, webhook_endpoints,
};

pub use actix_web::dev::{Server, ServerHandle};
pub use cartback_stripe::{DEFAULT_BASE_URL as STRIPE_API_BASE, StripeClient};
pub use error::{ApiError, ErrorCode, FieldError};
pub use ingest::{Ingest, IngestConfig};
pub use middleware::metrics::Metrics;
pub use middleware::rate_limit::{Cidr, RateLimitConfig, RateLimiter, TrustedProxies};
pub use middleware::request_id::{REQUEST_ID, RequestLayer};
pub use state::{ApiLimits, AppState};

/// Registers every route on an app.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let dashboard = dashboard::dashboard(&state);
        cfg.app_data(web::Data::new(state))
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route("/metrics", web::get().to(metrics::metrics))
            .route("/tracker.js", web::get().to(tracker::tracker_js))
            .route("/openapi.json", web::get().to(openapi::openapi_json))
            .route("/r/{token}", web::get().to(links::recover))
            .route("/u/{token}", web::get().to(links::unsubscribe_page))
            .route("/u/{token}", web::post().to(links::unsubscribe_now))
            .configure(cartback_dashboard::configure(dashboard))
            .service(
                web::scope("/api/v1")
                    .route("/track", web::post().to(track::track))
                    .route("/track", web::method(Method::OPTIONS).to(cors::preflight))
                    .route("/public/abandoned-carts", web::post().to(public::capture))
                    .route(
                        "/public/abandoned-carts",
                        web::method(Method::OPTIONS).to(cors::preflight),
                    )
                    .route(
                        "/settings/allowed-origins",
                        web::get().to(cors::get_origins),
                    )
                    .route(
                        "/settings/allowed-origins",
                        web::put().to(cors::put_origins),
                    )
                    .route("/carts/restore/{token}", web::get().to(restore::restore))
                    .route("/carts/{id}/history", web::get().to(history::history))
                    .route("/analytics", web::get().to(analytics::analytics))
                    .route("/stats/carts", web::get().to(analytics::cart_counts))
                    .route("/carts", web::get().to(carts::list))
                    .route("/carts", web::put().to(carts::upsert))
                    .route("/carts/{id}", web::get().to(carts::get))
                    .route("/carts/{id}", web::patch().to(carts::patch))
                    .route("/carts/{id}", web::delete().to(carts::delete))
                    .route("/carts/{id}/erase", web::post().to(carts::erase))
                    .route("/customers/erase", web::post().to(customers::erase))
                    .route("/carts/{id}/items", web::get().to(carts::items))
                    .route("/carts/{id}/items", web::post().to(carts::add_item))
                    .route(
                        "/carts/{id}/items/{item_id}",
                        web::delete().to(carts::remove_item),
                    )
                    .route("/carts/{id}/timeline", web::get().to(carts::timeline))
                    .route("/templates/preview", web::post().to(preview::preview))
                    .route("/templates", web::get().to(templates::list))
                    .route("/templates/{name}/{locale}", web::get().to(templates::get))
                    .route("/templates/{name}/{locale}", web::put().to(templates::put))
                    .route(
                        "/templates/{name}/{locale}",
                        web::delete().to(templates::delete),
                    )
                    .route("/settings/recovery", web::get().to(settings::get))
                    .route("/settings/recovery", web::put().to(settings::put))
                    .route("/suppressions", web::get().to(suppressions::list))
                    .route("/suppressions", web::post().to(suppressions::add))
                    .route(
                        "/suppressions/{email}",
                        web::delete().to(suppressions::remove),
                    )
                    .route("/email-provider", web::put().to(email_provider::put))
                    .route("/email-provider", web::get().to(email_provider::get))
                    .route("/email-provider", web::delete().to(email_provider::delete))
                    .route("/email-provider/test", web::post().to(email_provider::test))
                    .route(
                        "/webhook-endpoints",
                        web::post().to(webhook_endpoints::create),
                    )
                    .route("/webhook-endpoints", web::get().to(webhook_endpoints::list))
                    .route(
                        "/webhook-endpoints/{id}",
                        web::get().to(webhook_endpoints::get),
                    )
                    .route(
                        "/webhook-endpoints/{id}",
                        web::patch().to(webhook_endpoints::update),
                    )
                    .route(
                        "/webhook-endpoints/{id}",
                        web::delete().to(webhook_endpoints::delete),
                    )
                    .route(
                        "/webhook-endpoints/{id}/rotate-secret",
                        web::post().to(webhook_endpoints::rotate),
                    )
                    .route(
                        "/webhook-endpoints/{id}/deliveries",
                        web::get().to(webhook_endpoints::deliveries),
                    )
                    .route(
                        "/webhook-endpoints/{id}/deliveries/{delivery_id}",
                        web::get().to(webhook_endpoints::delivery),
                    )
                    .route(
                        "/webhook-endpoints/{id}/deliveries/{delivery_id}/replay",
                        web::post().to(webhook_endpoints::replay),
                    )
                    .route("/integrations/stripe", web::put().to(stripe::put))
                    .route("/integrations/stripe", web::get().to(stripe::get))
                    .route("/integrations/stripe", web::delete().to(stripe::delete))
                    .route(
                        "/integrations/stripe/webhook/{tenant_id}",
                        web::post().to(stripe::intake),
                    )
                    .route(
                        "/carts/{id}/payment-link",
                        web::post().to(stripe::payment_link),
                    ),
            )
            .default_service(web::to(health::not_found));
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
