#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod accounts;
mod assets;
mod error;
mod format;
mod layout;
mod pages;
pub mod password;
mod session;
mod widgets;

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::{HttpRequest, web};

use cartback_store::crypto::MasterKeys;
use cartback_store::users::SessionLimits;
use cartback_store::{DbConn, Store, StoreError};

pub use accounts::{SIGN_IN_LINK_TTL, sign_in_url};

/// How the server finds a request's client address (the api's trusted-proxy
/// rules), for the per-IP sign-in throttle.
pub type ClientIp = Arc<dyn Fn(&HttpRequest) -> Option<IpAddr> + Send + Sync>;

/// Everything the dashboard's handlers share.
#[derive(Clone)]
pub struct Dashboard {
    pub store: Store,
    /// The api's public URL (`--public-url`): sign-in links start with it, an
    /// `https` one makes the session cookie `Secure`, and its origin is the one
    /// a form may be posted from (besides the request's own host).
    pub public_url: String,
    pub sessions: SessionLimits,
    pub client_ip: ClientIp,
    /// Seals and opens what the api seals (the api's `CARTBACK_MASTER_KEY`):
    /// the signing secrets the Webhooks page creates (without a key, endpoints
    /// cannot be created) and the tenant's provider settings for test sends.
    pub master_keys: Arc<MasterKeys>,
    /// Webhook endpoints and a tenant's provider may reach private addresses
    /// (the api's `--allow-private-targets`).
    pub allow_private_targets: bool,
    /// Creates payment links (the api's Stripe client); None: the cart page
    /// offers none.
    pub stripe: Option<cartback_stripe::StripeClient>,
}

impl Dashboard {
    /// A dashboard whose client address is the peer's.
    pub fn new(store: Store, public_url: impl Into<String>) -> Dashboard {
        Dashboard {
            store,
            public_url: public_url.into(),
            sessions: SessionLimits::default(),
            client_ip: Arc::new(|request: &HttpRequest| request.peer_addr().map(|a| a.ip())),
            master_keys: Arc::new(MasterKeys::default()),
            allow_private_targets: false,
            stripe: None,
        }
    }

    /// Payment links through this Stripe client.
    pub fn with_stripe(mut self, stripe: cartback_stripe::StripeClient) -> Dashboard {
        self.stripe = Some(stripe);
        self
    }

    /// The api's master keys and private-target rule, for webhook endpoints
    /// and test sends through the tenant's provider.
    pub fn with_master_keys(
        mut self,
        master_keys: Arc<MasterKeys>,
        allow_private_targets: bool,
    ) -> Dashboard {
        self.master_keys = master_keys;
        self.allow_private_targets = allow_private_targets;
        self
    }

    /// Uses `client_ip` to find the client's address.
    pub fn with_client_ip(mut self, client_ip: ClientIp) -> Dashboard {
        self.client_ip = client_ip;
        self
    }

    /// Runs `work` on a pooled connection on the blocking thread pool: diesel
    /// blocks, and an async worker must not wait on the database. Store errors
    /// become their pages (404, 503, or a logged 500); `work` may also answer
    /// with a `PageError` of its own.
    pub(crate) async fn db<T, E, F>(&self, work: F) -> Result<T, error::PageError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        error::PageError: From<E>,
    {
        let store = self.store.clone();
        let run = move || -> Result<T, E> { work(&mut *store.conn()?) };
        Ok(actix_web::web::block(run).await??)
    }

    fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// Largest template form: three parts of 64 KiB, percent-encoded (up to three
/// bytes each), and the rest.
const TEMPLATE_FORM_LIMIT: usize = 3 * 3 * 64 * 1024 + 16 * 1024;

/// Largest A/B test form: ten groups of ten emails, each with a body and four
/// lines of words at their longest (5000 and 200 characters), percent-encoded
/// plain text, and the rest.
const AB_TEST_FORM_LIMIT: usize = 10 * 10 * 3 * (5000 + 4 * 200 + 200) + 16 * 1024;

/// Mounts the dashboard under `/dashboard` on an app.
pub fn configure(dashboard: Dashboard) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.service(
            web::scope("/dashboard")
                .app_data(web::Data::new(dashboard))
                .app_data(web::FormConfig::default().limit(16 * 1024))
                .wrap(actix_web::middleware::from_fn(session::security_headers))
                .route("", web::get().to(pages::overview::page))
                .route("/", web::get().to(pages::overview::page))
                .route("/assets/{file}", web::get().to(assets::serve))
                .route("/login", web::get().to(pages::login::form))
                .route("/login", web::post().to(pages::login::submit))
                .route(
                    "/login/link/{token}",
                    web::get().to(pages::login::link_form),
                )
                .route(
                    "/login/link/{token}",
                    web::post().to(pages::login::link_submit),
                )
                .route("/logout", web::post().to(pages::login::logout))
                .route("/carts", web::get().to(pages::carts::page))
                .route("/carts/{id}", web::get().to(pages::cart::page))
                .route("/carts/{id}/stop", web::post().to(pages::cart::stop))
                .route(
                    "/carts/{id}/payment-link",
                    web::post().to(pages::cart::payment_link),
                )
                .route("/carts/{id}/erase", web::get().to(pages::cart::erase_form))
                .route("/carts/{id}/erase", web::post().to(pages::cart::erase))
                .route(
                    "/carts/{id}/emails/{send}",
                    web::get().to(pages::cart::email_preview),
                )
                .route("/webhooks", web::get().to(pages::webhooks::page))
                .route("/webhooks", web::post().to(pages::webhooks::create))
                .route(
                    "/webhooks/{id}/enabled",
                    web::post().to(pages::webhooks::set_enabled),
                )
                .route(
                    "/webhooks/{id}/delete",
                    web::get().to(pages::webhooks::delete_form),
                )
                .route(
                    "/webhooks/{id}/delete",
                    web::post().to(pages::webhooks::delete),
                )
                .route(
                    "/webhooks/{id}/deliveries/{delivery}/replay",
                    web::post().to(pages::webhooks::replay),
                )
                .route("/experiments", web::get().to(pages::experiments::page))
                .route(
                    "/experiments/holdout",
                    web::post().to(pages::experiments::create_holdout),
                )
                .service(
                    web::resource("/experiments/new")
                        .app_data(web::FormConfig::default().limit(AB_TEST_FORM_LIMIT))
                        .route(web::get().to(pages::experiments::new_test))
                        .route(web::post().to(pages::experiments::submit_test)),
                )
                .route(
                    "/experiments/{id}",
                    web::get().to(pages::experiments::detail),
                )
                .route(
                    "/experiments/{id}/promote",
                    web::get().to(pages::experiments::promote_form),
                )
                .route(
                    "/experiments/{id}/promote",
                    web::post().to(pages::experiments::promote),
                )
                .route(
                    "/experiments/{id}/start",
                    web::post().to(pages::experiments::start),
                )
                .route(
                    "/experiments/{id}/stop",
                    web::post().to(pages::experiments::stop),
                )
                .route("/suppressions", web::get().to(pages::suppressions::page))
                .route(
                    "/suppressions/add",
                    web::post().to(pages::suppressions::add),
                )
                .route(
                    "/suppressions/remove",
                    web::post().to(pages::suppressions::remove),
                )
                .route("/recovery", web::get().to(pages::recovery::page))
                .route("/recovery", web::post().to(pages::recovery::submit))
                .route("/recovery/preview", web::get().to(pages::recovery::preview))
                .route("/emails", web::get().to(pages::emails::branding::page))
                .route(
                    "/emails/branding",
                    web::post().to(pages::emails::branding::save_branding),
                )
                .route(
                    "/emails/preview",
                    web::get().to(pages::emails::branding::branding_preview),
                )
                .route(
                    "/emails/test",
                    web::post().to(pages::emails::branding::test_branding),
                )
                .route("/emails/words", web::get().to(pages::emails::words::page))
                .route("/emails/words", web::post().to(pages::emails::words::save))
                .route(
                    "/emails/templates/new",
                    web::get().to(pages::emails::templates::new_template),
                )
                .route(
                    "/emails/templates/new/preview",
                    web::get().to(pages::emails::templates::starter_preview),
                )
                // A template's three parts may be 64 KiB each, encoded.
                .service(
                    web::resource("/emails/templates")
                        .app_data(web::FormConfig::default().limit(TEMPLATE_FORM_LIMIT))
                        .route(web::post().to(pages::emails::templates::submit_template)),
                )
                .service(
                    web::resource("/emails/templates/preview")
                        .app_data(web::FormConfig::default().limit(TEMPLATE_FORM_LIMIT))
                        .route(web::post().to(pages::emails::templates::preview_draft)),
                )
                .route(
                    "/emails/templates/{name}/{locale}",
                    web::get().to(pages::emails::templates::edit_template),
                )
                .route(
                    "/emails/templates/{name}/{locale}/preview",
                    web::get().to(pages::emails::templates::template_preview),
                )
                .route(
                    "/emails/templates/{name}/{locale}/delete",
                    web::post().to(pages::emails::templates::delete),
                )
                .route("/team", web::get().to(pages::team::page))
                .route("/team/invite", web::post().to(pages::team::invite))
                .route("/team/{id}/remove", web::post().to(pages::team::remove))
                .route("/sending", web::get().to(pages::sending::page))
                .route("/sending/shop", web::post().to(pages::sending::save_shop))
                .route(
                    "/sending/provider",
                    web::post().to(pages::sending::save_provider),
                )
                .route(
                    "/sending/test",
                    web::post().to(pages::sending::test_provider),
                )
                .route("/developers", web::get().to(pages::developers::page))
                .route(
                    "/developers/keys",
                    web::post().to(pages::developers::create),
                )
                .route(
                    "/developers/keys/{id}/revoke",
                    web::post().to(pages::developers::revoke),
                )
                .route(
                    "/developers/origins",
                    web::post().to(pages::developers::save_origins),
                )
                .route(
                    "/developers/stripe",
                    web::post().to(pages::developers::save_stripe),
                )
                .route(
                    "/developers/stripe/remove",
                    web::post().to(pages::developers::remove_stripe),
                )
                .route("/{section}", web::get().to(pages::soon::page))
                .default_service(web::to(pages::soon::not_found)),
        );
    }
}
