//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, assembled by
//! utoipa from the `#[utoipa::path]` attribute on each handler. The answers are
//! the handlers' own types (`#[derive(Serialize, ToSchema)]`, declared beside
//! each route; the cart is `cartback_store::view::CartView`), so what the
//! document says is what is serialized. `mod schemas` below still describes
//! the request bodies and queries, which are read field by field. The unit test
//! below fails when the route table in lib.rs and the document differ.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub(crate) use schemas::*;

/// Security scheme names, as the handlers' `security(...)` use them. The
/// "roles" of a requirement say which kind of key: `secret` (`sk_…`) or
/// `publishable` (`pk_…`).
const API_KEY: &str = "ApiKey";
const BEARER: &str = "Bearer";
const QUERY_KEY: &str = "QueryKey";
const METRICS_TOKEN: &str = "MetricsToken";
const REST_KEY: &str = "RestKey";

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "The tenant's secret key (`sk_…`, merchant routes) or publishable key \
                 (`pk_…`, browser routes). The requirement's role says which.",
            ))),
        );
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some(
            "The same keys as `Authorization: Bearer sk_…` or `Bearer pk_…`; \
             `X-API-Key` wins when both are sent."
                .to_owned(),
        );
        components.add_security_scheme(BEARER, SecurityScheme::Http(bearer));
        components.add_security_scheme(
            QUERY_KEY,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "key",
                "A publishable key in the URL, for `navigator.sendBeacon` (public capture \
                 only; a secret key there is refused with 401).",
            ))),
        );
        let mut metrics = Http::new(HttpAuthScheme::Bearer);
        metrics.description = Some(
            "The operator's metrics token (`CARTBACK_METRICS_TOKEN`), when the server has one."
                .to_owned(),
        );
        components.add_security_scheme(METRICS_TOKEN, SecurityScheme::Http(metrics));
        components.add_security_scheme(
            REST_KEY,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "rest_key",
                "Retargeting's REST key (seed 002 only): the tenant's secret key, in the URL \
                 as that API's clients send it (docs/compat.md).",
            ))),
        );
    }
}

/// utoipa marks an optional body (`Option<T>`) by making its schema nullable, but
/// ours are left out, never `null`: keep the body optional and drop the null.
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Schema, Type};
        use utoipa::openapi::{RefOr, Required};
        let is_null = |schema: &RefOr<Schema>| {
            matches!(schema, RefOr::T(Schema::Object(object))
                if object.schema_type == Type::Null.into())
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                let Some(body) = &mut operation.request_body else {
                    continue;
                };
                if body.required == Some(Required::True) {
                    continue;
                }
                for content in body.content.values_mut() {
                    if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema
                        && let [first, second] = one_of.items.as_slice()
                        && is_null(first)
                    {
                        content.schema = Some(second.clone());
                    }
                }
            }
        }
    }
}

/// `ProviderSettings` refuses unknown fields (`deny_unknown_fields`), which
/// utoipa states on a struct but not on the variants of a tagged enum: close
/// each variant here.
struct ClosedProviderSettings;

impl Modify for ClosedProviderSettings {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{AdditionalProperties, Schema};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::OneOf(variants))) =
            components.schemas.get_mut("ProviderSettings")
        {
            for variant in &mut variants.items {
                if let RefOr::T(Schema::Object(object)) = variant {
                    object.additional_properties =
                        Some(Box::new(AdditionalProperties::FreeForm(false)));
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        description = "Self-hostable abandoned-cart recovery: track carts, send recovery \
            emails, attribute orders.\n\nEvery error answers in one envelope: \
            `{\"success\": false, \"error\": {\"code\", \"message\", \"details\": [{\"field\", \"message\"}]}}`. \
            Another tenant's object is a 404, never a 403. Field names are camelCase; times \
            are RFC 3339 in UTC.\n\nOn every route: a JSON string or key holding U+0000 is a \
            422 VALIDATION_ERROR naming its JSON path, a path with `%00` a 404, a query \
            parameter with one a 422; a method the path does not serve is a 405 \
            METHOD_NOT_ALLOWED with an `Allow` header; a body not received within the \
            server's body read timeout is a 408 REQUEST_TIMEOUT. \
            Guides: docs/api.md and docs/api/*.md in the repository."
    ),
    modifiers(&SecuritySchemes, &OptionalBodies, &ClosedProviderSettings),
    // Every operation needs a secret key unless it says otherwise: `security()`
    // on the open routes, publishable keys named where they are accepted.
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"])),
    paths(
        crate::routes::health::healthz,
        crate::routes::health::readyz,
        crate::middleware::metrics::metrics,
        crate::routes::tracker::tracker_js,
        openapi_json,
        crate::routes::links::recover,
        crate::routes::links::unsubscribe_page,
        crate::routes::links::unsubscribe_now,
        crate::routes::track::track,
        crate::middleware::cors::preflight,
        crate::middleware::cors::capture_preflight,
        crate::routes::public::capture,
        crate::middleware::cors::get_origins,
        crate::middleware::cors::put_origins,
        crate::routes::restore::restore,
        crate::routes::history::history,
        crate::routes::analytics::analytics,
        crate::routes::analytics::cart_counts,
        crate::routes::carts::manage::list,
        crate::routes::carts::upsert::upsert,
        crate::routes::carts::manage::get,
        crate::routes::carts::manage::patch,
        crate::routes::carts::manage::delete,
        crate::routes::carts::manage::erase,
        crate::routes::customers::erase,
        crate::routes::carts::items::items,
        crate::routes::carts::items::add_item,
        crate::routes::carts::items::remove_item,
        crate::routes::carts::timeline::timeline,
        crate::routes::preview::preview,
        crate::routes::templates::list,
        crate::routes::templates::get,
        crate::routes::templates::put,
        crate::routes::templates::delete,
        crate::routes::settings::get,
        crate::routes::settings::put,
        crate::routes::settings::patch,
        crate::routes::shop::get,
        crate::routes::shop::put,
        crate::routes::shop::patch,
        crate::routes::api_keys::list,
        crate::routes::api_keys::create,
        crate::routes::api_keys::revoke,
        crate::routes::suppressions::list,
        crate::routes::suppressions::add,
        crate::routes::suppressions::remove,
        crate::routes::email_provider::put,
        crate::routes::email_provider::get,
        crate::routes::email_provider::delete,
        crate::routes::email_provider::test,
        crate::routes::webhook_endpoints::create,
        crate::routes::webhook_endpoints::list,
        crate::routes::webhook_endpoints::get,
        crate::routes::webhook_endpoints::update,
        crate::routes::webhook_endpoints::delete,
        crate::routes::webhook_endpoints::rotate,
        crate::routes::webhook_endpoints::deliveries,
        crate::routes::webhook_endpoints::delivery,
        crate::routes::webhook_endpoints::replay,
        crate::routes::stripe::settings::put,
        crate::routes::stripe::settings::patch,
        crate::routes::stripe::settings::get,
        crate::routes::stripe::settings::delete,
        crate::routes::stripe::intake::intake,
        crate::routes::stripe::payment_link::payment_link,
        crate::routes::experiments::create,
        crate::routes::experiments::list,
        crate::routes::experiments::get,
        crate::routes::experiments::start,
        crate::routes::experiments::stop,
        crate::routes::experiments::promote,
        crate::routes::compat::litecommerce::list,
        crate::routes::compat::reloadify::list,
        crate::routes::compat::reloadify::put,
        crate::routes::compat::reloadify::get,
        crate::routes::compat::reloadify::delete,
        crate::routes::compat::reloadify::products,
        crate::routes::compat::reloadify::add_product,
        crate::routes::compat::reloadify::remove_product,
        crate::routes::languages::get,
        crate::routes::languages::put,
        crate::routes::compat::retargeting::shopping_carts,
        crate::routes::compat::quick_checkout::list,
        crate::routes::compat::quick_checkout::create,
        crate::routes::compat::quick_checkout::get,
        crate::routes::compat::quick_checkout::patch,
        crate::routes::compat::quick_checkout::delete,
        crate::routes::compat::quick_checkout::payment_link,
        crate::routes::compat::quick_checkout::analytics,
        crate::routes::compat::quick_checkout::stripe_webhook,
    ),
    // Referenced only through the shared error responses, which utoipa does not
    // collect by itself; and what the worker POSTs to webhook endpoints, which no
    // route answers with (docs/webhooks.md).
    components(schemas(
        ErrorEnvelope,
        ErrorBody,
        crate::error::ErrorCode,
        crate::error::FieldError,
        cartback_store::view::WebhookPayload
    )),
    tags(
        (name = "operations", description = "Health, readiness, metrics, the tracker script and this document"),
        (name = "links", description = "The links in recovery emails, opened by shoppers (docs/api/links.md)"),
        (name = "tracking", description = "Retake-compatible tracking (docs/api/track.md)"),
        (name = "browser capture", description = "Cart capture from the storefront's pages and CORS (docs/api/public-capture.md)"),
        (name = "carts", description = "The merchant's carts (docs/api/carts.md)"),
        (name = "customers", description = "Erasing a person by email address (docs/api/carts.md)"),
        (name = "analytics", description = "Reports (docs/api/analytics.md)"),
        (name = "settings", description = "Recovery policy and email look (docs/api/settings.md); the shop's own settings (docs/api/shop.md)"),
        (name = "api keys", description = "The tenant's secret and publishable keys (docs/api/api-keys.md)"),
        (name = "templates", description = "The tenant's own templates and previews (docs/api/settings.md)"),
        (name = "suppressions", description = "Addresses never emailed (docs/api/links.md)"),
        (name = "email provider", description = "The tenant's own email provider (docs/api/email-provider.md)"),
        (name = "webhook endpoints", description = "Outgoing webhooks and their deliveries (docs/api/webhook-endpoints.md)"),
        (name = "stripe", description = "Stripe intake and payment links (docs/api/stripe.md)"),
        (name = "experiments", description = "Holdouts and A/B tests on the recovery flow (docs/api/experiments.md)"),
        (name = "compat-litecommerce", description = "Seed 001, the litecommerce module's merchant list, wire-compatible (docs/compat.md)"),
        (name = "compat-reloadify", description = "Seed 004, Reloadify's shopping carts API, wire-compatible (docs/compat.md)"),
        (name = "compat-retargeting", description = "Seed 002, Retargeting's partner API, wire-compatible (docs/compat.md)"),
        (name = "compat-quick-checkout", description = "Seed 003, Quick Checkout Tracker's API, wire-compatible (docs/compat.md)"),
    )
)]
pub struct ApiDoc;

/// The document as served, serialized once.
pub fn document() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        // Serializing our own document cannot fail; an empty object beats a panic.
        ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|_| "{}".to_owned())
    })
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    operation_id = "openapi",
    summary = "This OpenAPI 3.1 document",
    responses((status = 200, description = "The document", content_type = "application/json", body = Object)),
    // Open to anyone: no key.
    security()
)]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .body(document())
}

/// Types that only describe JSON for the document, never constructed: the
/// request bodies and queries (read field by field by `crate::input`), and the
/// pieces of the recovery policy and email settings that requests and answers
/// share (the answers serialize the domain's and the templates' own types).
#[expect(
    dead_code,
    reason = "schema-only types: the document describes them, nothing builds them"
)]
mod schemas {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use utoipa::{IntoParams, ToSchema};

    // The error envelope and the shared error answers live in error.rs; the
    // handlers' attributes name them through this module.
    pub use crate::error::{AnyKeyErrors, ErrorBody, ErrorEnvelope, SecretKeyErrors, ServerErrors};

    // ---- shared pieces ----

    /// A key the shop may send as a string (1–200 characters, no control
    /// characters) or as an integer (within 64 bits; larger ids go as strings).
    #[derive(Serialize)]
    pub struct StringOrInteger;

    impl utoipa::PartialSchema for StringOrInteger {
        fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
            crate::input::shapes::string_or_integer().into()
        }
    }

    impl ToSchema for StringOrInteger {}

    /// A typed custom attribute: `name` and exactly one `<type>Value`. In a
    /// request, an entry with only a name removes that attribute.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct Attribute {
        /// 1–64 letters, digits, `_`, `-` or `.`.
        #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.-]+$")]
        pub name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(max_length = 1000)]
        pub string_value: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub integer_value: Option<i64>,
        /// `YYYY-MM-DD`.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(format = Date)]
        pub date_value: Option<String>,
        /// RFC 3339; shown in UTC.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(format = DateTime)]
        pub datetime_value: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub boolean_value: Option<bool>,
    }

    // ---- /api/v1/track ----

    /// One cart line as `/api/v1/track` takes it (also `POST /api/v1/carts/{id}/items`).
    /// Other fields are ignored.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct TrackItem {
        /// 1–200 characters.
        pub id: StringOrInteger,
        /// Up to 500 characters, no control characters.
        #[schema(max_length = 500, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub name: Option<String>,
        /// Unit price in major units (`12.5`), ≥ 0, no more decimals than the currency
        /// has, at most 100000000000000 minor units (`cartback_domain::bounds::MAX_AMOUNT_MINOR`).
        #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub price: f64,
        #[schema(minimum = 1, maximum = 1_000_000)]
        pub quantity: i64,
        /// An http(s) URL (`image` is accepted too). With a publishable key it is
        /// kept only when it points at an allowed origin or the recovery URL's host.
        #[schema(
            max_length = 2048,
            pattern = "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub image_url: Option<String>,
        /// An http(s) URL (`productUrl` is accepted too). With a publishable key it
        /// is kept only when it points at an allowed origin or the recovery URL's host.
        #[schema(
            max_length = 2048,
            pattern = "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub url: Option<String>,
    }

    /// `CART_UPDATE`: upserts the session's cart.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct CartUpdate {
        /// 1–200 characters, no control characters; at least 16 with a
        /// publishable key (a random id, so no one can guess another shopper's).
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub session_id: String,
        #[schema(max_items = 500)]
        pub items: Vec<TrackItem>,
        /// The cart's value in major units, ≥ 0; the sum of the items when left out.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = f64, minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub total: Option<f64>,
        #[schema(schema_with = crate::input::shapes::optional_currency)]
        pub currency: Option<String>,
        /// Without it (or null or `""`) the cart is tracked but not emailed.
        #[schema(schema_with = crate::input::shapes::optional_email)]
        pub customer_email: Option<String>,
        /// No control characters; blank means none.
        #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub customer_name: Option<String>,
        /// BCP 47 tag (`nl-NL`), normalised; `""` means none.
        #[schema(max_length = 35, pattern = "^([A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*)?$")]
        pub locale: Option<String>,
        /// The shopper's answer to the shop's consent question.
        pub consent: Option<bool>,
    }

    /// `ORDER_COMPLETE`: records the order and closes the session's cart.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct OrderComplete {
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub session_id: String,
        /// The shop's order id (1–200 characters); one order per id.
        pub order_id: Option<StringOrInteger>,
        /// Major units, ≥ 0.
        #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub total: Option<f64>,
        #[schema(schema_with = crate::input::shapes::optional_currency)]
        pub currency: Option<String>,
        /// The recovery link's `cart_token`, for orders placed away from the session.
        #[schema(max_length = 200)]
        pub cart_token: Option<String>,
        #[schema(schema_with = crate::input::shapes::optional_email)]
        pub customer_email: Option<String>,
    }

    /// The body of `POST /api/v1/track`, by `event`.
    #[derive(Serialize, ToSchema)]
    #[serde(tag = "event")]
    pub enum TrackRequest {
        #[serde(rename = "CART_UPDATE")]
        CartUpdate(CartUpdate),
        #[serde(rename = "ORDER_COMPLETE")]
        OrderComplete(OrderComplete),
    }

    // ---- public capture ----

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct CaptureItem {
        /// With `variantId` the line's id is `itemId:variantId`; without either, `line-<n>`.
        pub item_id: Option<StringOrInteger>,
        pub variant_id: Option<StringOrInteger>,
        /// Not blank, no control characters.
        #[schema(
            max_length = 500,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub name: String,
        #[schema(minimum = 1, maximum = 1_000_000)]
        pub quantity: i64,
        /// Whole minor units (cents for USD), ≥ 0. Fractions and strings are refused.
        #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub unit_price_in_cents: i64,
        /// With a publishable key, kept only when it points at one of the
        /// tenant's allowed origins or its recovery URL's host (else dropped
        /// and counted in `droppedLinks`).
        #[schema(
            max_length = 2048,
            pattern = "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub image_url: Option<String>,
        /// The same rule as `imageUrl`.
        #[schema(
            max_length = 2048,
            pattern = "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub url: Option<String>,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct CaptureSnapshot {
        #[schema(max_items = 500)]
        pub items: Vec<CaptureItem>,
        /// The value when `totalInCents` is absent.
        #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub subtotal_in_cents: Option<i64>,
        #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub total_in_cents: Option<i64>,
        #[schema(schema_with = crate::input::shapes::optional_currency)]
        pub currency: Option<String>,
    }

    /// litecommerce's shape. Other fields are ignored.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct CaptureRequest {
        /// 16–200 characters with a publishable key (`tracker.js` makes 32
        /// random hex characters), 8–200 with a secret key; no control characters.
        #[schema(
            min_length = 8,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub session_id: String,
        pub snapshot: CaptureSnapshot,
        #[schema(schema_with = crate::input::shapes::optional_email)]
        pub email: Option<String>,
        /// No control characters; blank means none.
        #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub name: Option<String>,
        /// BCP 47 tag, normalised; `""` means none.
        #[schema(max_length = 35, pattern = "^([A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*)?$")]
        pub locale: Option<String>,
        pub consent: Option<bool>,
    }

    // ---- allowed origins ----

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct AllowedOriginsUpdate {
        /// Origins such as `https://shop.example` or `http://localhost:3000`
        /// (scheme, host and port; no path); at most 50.
        #[schema(schema_with = crate::input::shapes::origins)]
        pub allowed_origins: Vec<String>,
    }

    // ---- carts ----

    /// Whom to erase. Unknown fields are a 422.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct CustomerEraseRequest {
        /// The person's address, matched case-insensitively.
        #[schema(format = Email)]
        pub email: String,
    }

    /// `status` filter of the carts list.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum CartStatusFilter {
        Active,
        Abandoned,
        /// Abandoned with a recovery email still to come under the current
        /// policy: an address, not unsubscribed, fewer emails than the policy
        /// sends a cart, at least the minimum value, consent when required.
        Pending,
        Recovered,
        Converted,
        Expired,
        All,
    }

    /// Query of `GET /api/v1/carts`; any other parameter is a 422.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct CartListQuery {
        /// Default `all`.
        #[param(inline)]
        pub status: Option<CartStatusFilter>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub created_after: Option<String>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub created_before: Option<String>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub updated_after: Option<String>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub updated_before: Option<String>,
        /// When the cart was last abandoned; carts never abandoned, or
        /// active again since, are left out.
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub abandoned_after: Option<String>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub abandoned_before: Option<String>,
        /// `nl` matches `nl` and every `nl-…`; `nl-NL` only itself; `""` is no filter.
        #[param(max_length = 35, pattern = "^([A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*)?$")]
        pub locale: Option<String>,
        /// The shopper's address, case-insensitively.
        #[param(max_length = 320)]
        pub email: Option<String>,
        #[param(minimum = 1, maximum = 1_000_000)]
        pub page: Option<i64>,
        #[param(minimum = 1, maximum = 250)]
        pub per_page: Option<i64>,
    }

    /// `status` values a PATCH may set.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum CartStatus {
        Active,
        Abandoned,
        Recovered,
        Converted,
        Expired,
    }

    /// One line of a Quick Checkout cart.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct QuickCheckoutLine {
        /// Optional: `item-1`, `item-2`… by position when left out or null.
        pub id: Option<StringOrInteger>,
        /// Up to 500 characters, no control characters.
        #[schema(max_length = 500, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub name: String,
        #[schema(minimum = 1, maximum = 1_000_000)]
        pub quantity: i64,
        /// The unit price in major units, an exact decimal with no more
        /// decimals than the cart's currency has.
        #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub price: f64,
    }

    /// `POST /api/carts` (seed 003); unknown fields are a 422.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct QuickCheckoutCreateRequest {
        #[schema(schema_with = crate::input::shapes::optional_email)]
        pub customer_email: Option<String>,
        /// No control characters; blank means none.
        #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub customer_name: Option<String>,
        /// At least one line.
        #[schema(min_items = 1)]
        pub items: Vec<QuickCheckoutLine>,
        /// ISO 4217; the shop's default currency when left out.
        #[schema(schema_with = crate::input::shapes::optional_currency)]
        pub currency: Option<String>,
    }

    /// `PATCH /api/carts/{id}` (seed 003).
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct QuickCheckoutPatchRequest {
        /// `recovered` records a manual order; `abandoned`, `expired` as the native PATCH.
        #[schema(value_type = CartStatus)]
        pub status: String,
    }

    /// Any of the fields; unknown ones are a 422.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct CartPatchRequest {
        /// `recovered`, `converted` or `expired` close the cart; a closed cart is not reopened (409).
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = CartStatus)]
        pub status: Option<CartStatus>,
        /// Null or `""` removes it.
        #[schema(schema_with = crate::input::shapes::optional_email)]
        pub customer_email: Option<String>,
        /// No control characters; null or blank removes it.
        #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub customer_name: Option<String>,
        /// Merged by name; null changes nothing.
        #[schema(schema_with = crate::input::shapes::attributes_input)]
        pub attributes: Option<Vec<Attribute>>,
    }

    /// `PUT /api/v1/carts`: a CART_UPDATE's fields plus `externalId` and `attributes`.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct CartUpsertRequest {
        /// The shop's id for the cart: 1–200 characters, or an integer.
        pub external_id: StringOrInteger,
        /// A new cart without one gets `ext:{externalId}`.
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub session_id: Option<String>,
        #[schema(max_items = 500)]
        pub items: Vec<TrackItem>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = f64, minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub total: Option<f64>,
        #[schema(schema_with = crate::input::shapes::optional_currency)]
        pub currency: Option<String>,
        #[schema(schema_with = crate::input::shapes::optional_email)]
        pub customer_email: Option<String>,
        /// No control characters; blank means none.
        #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub customer_name: Option<String>,
        /// BCP 47 tag, normalised; `""` means none.
        #[schema(max_length = 35, pattern = "^([A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*)?$")]
        pub locale: Option<String>,
        pub consent: Option<bool>,
        #[schema(schema_with = crate::input::shapes::attributes_input)]
        pub attributes: Option<Vec<Attribute>>,
        /// Accepted so a CART_UPDATE body can be sent as it is; another event is a 422.
        #[schema(inline)]
        pub event: Option<CartUpdateEvent>,
    }

    /// The only `event` `PUT /api/v1/carts` takes.
    #[derive(Serialize, ToSchema)]
    pub enum CartUpdateEvent {
        #[serde(rename = "CART_UPDATE")]
        CartUpdate,
    }

    /// Optional body of the payment-link route.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct PaymentLinkRequest {
        /// How long the link works; default 86400.
        #[schema(minimum = 1800, maximum = 86400)]
        pub expires_in_seconds: Option<i64>,
    }

    // ---- analytics ----

    /// `cartback_domain::PeriodPreset`: in the shop's time zone, each up to now.
    #[derive(Serialize, ToSchema)]
    pub enum AnalyticsPreset {
        #[serde(rename = "today")]
        Today,
        #[serde(rename = "7d")]
        Days7,
        #[serde(rename = "30d")]
        Days30,
        #[serde(rename = "90d")]
        Days90,
        #[serde(rename = "month")]
        Month,
        #[serde(rename = "year")]
        Year,
    }

    /// Either `period` or both dates; other parameters are ignored.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct AnalyticsQuery {
        /// Up to now in the shop's time zone: `today`; the last 7, 30 or 90
        /// local days (today included); this calendar `month` or `year` so
        /// far. Default `30d`.
        #[param(inline)]
        pub period: Option<AnalyticsPreset>,
        /// First local day, `YYYY-MM-DD` in the years 1970 to 9999; needs
        /// `endDate`, and no `period`.
        #[param(rename = "startDate", format = Date, pattern = "^(19[7-9][0-9]|[2-9][0-9]{3})-")]
        pub start_date: Option<String>,
        /// Last local day, included: not before `startDate`, at most 366 days
        /// after it.
        #[param(rename = "endDate", format = Date, pattern = "^(19[7-9][0-9]|[2-9][0-9]{3})-")]
        pub end_date: Option<String>,
    }

    /// `GET /api/carts` (seed 003).
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct QuickCheckoutListQuery {
        /// `abandoned`, `recovered`, `expired` (also `active`, `converted`,
        /// `pending`, `all`; empty is no filter).
        #[param(pattern = "^(abandoned|recovered|expired|active|converted|pending|all)?$")]
        pub status: Option<String>,
        #[param(minimum = 1, maximum = 1_000_000)]
        pub page: Option<i64>,
        /// Carts per page; default 10.
        #[param(minimum = 1, maximum = 100)]
        pub limit: Option<i64>,
    }

    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct CartCountsQuery {
        /// Unix seconds (years 1970 to 9999); default 30 days before now;
        /// required with `date_to`.
        #[param(minimum = 0, maximum = 253_402_300_799_i64)]
        pub date_from: Option<i64>,
        /// Unix seconds (years 1970 to 9999); default now; at most 30 days
        /// after `date_from`.
        #[param(minimum = 0, maximum = 253_402_300_799_i64)]
        pub date_to: Option<i64>,
    }

    // ---- templates ----

    /// The built-in designs.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Design {
        Minimal,
        ProductGrid,
        BoldBanner,
        TextFirst,
    }

    /// Every field optional; unknown ones are a 422.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct PreviewRequest {
        /// 1-based step, default 1.
        #[schema(minimum = 1, maximum = 10)]
        pub step: Option<i64>,
        /// Default: the cart's, else the tenant's default language.
        #[schema(max_length = 35, pattern = "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")]
        pub locale: Option<String>,
        /// A cart id or session id of the tenant; a sample cart when absent.
        pub cart_id: Option<String>,
        /// Email settings to try instead of the saved ones.
        pub email: Option<EmailSettingsInput>,
        /// A built-in design to try.
        pub design: Option<Design>,
    }

    /// minijinja; `html` may be MJML. Each part at most 64 KiB.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct TemplateParts {
        /// Renders to something other than blanks.
        #[schema(pattern = "[^\\s\\u0085]")]
        pub subject: String,
        /// MJML (starting with `<mjml>`) or HTML; must have a visible link to
        /// `{{ recovery_url }}` and one to `{{ unsubscribe_url }}`.
        pub html: String,
        /// Must contain `{{ recovery_url }}` and `{{ unsubscribe_url }}`.
        pub text: String,
    }

    // ---- recovery settings ----

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct RecoveryStep {
        /// After the cart's last activity; at most 365 days
        /// (`cartback_domain::bounds::MAX_STEP_DELAY_MS`).
        #[schema(minimum = 1, maximum = 31_536_000_000_u64)]
        pub delay_ms: u64,
    }

    /// A step's coupon, by `kind`.
    #[derive(Serialize, ToSchema)]
    #[serde(tag = "kind", rename_all = "camelCase")]
    pub enum CouponRule {
        /// The same code in every email: 1–64 of `A-Z 0-9 - _`.
        Static {
            #[schema(max_length = 64, pattern = "^[A-Z0-9_-]+$")]
            code: String,
        },
        /// `pattern` with `{random}` (exactly once) replaced per cart; the rest
        /// `A-Z 0-9 - _`, 64 characters at most.
        Generated {
            #[schema(max_length = 64, pattern = "^[A-Z0-9_-]*\\{random\\}[A-Z0-9_-]*$")]
            pattern: String,
        },
    }

    #[derive(Serialize, ToSchema)]
    pub struct StepSettings {
        /// `minimal`, `product_grid`, `bold_banner`, `text_first` or `custom:{name}`.
        #[schema(
            pattern = "^(minimal|product_grid|bold_banner|text_first|custom:[A-Za-z0-9_-]{1,64})$"
        )]
        pub template: Option<String>,
        pub coupon: Option<CouponRule>,
    }

    /// A daily window (`HH:MM`, local time) when no email goes out.
    #[derive(Serialize, ToSchema)]
    pub struct QuietHours {
        #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
        pub start: String,
        /// Different from `start`, leaving at least an hour a day open.
        #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
        pub end: String,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum AttributionMode {
        Sent,
        Clicked,
    }

    /// A policy to store: fields left out take their defaults.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct RecoveryPolicyInput {
        /// 1 to 10 steps, strictly increasing.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Vec<RecoveryStep>, min_items = 1, max_items = 10)]
        pub steps: Option<Vec<RecoveryStep>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Vec<StepSettings>, max_items = 10)]
        pub step_settings: Option<Vec<StepSettings>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = u32, minimum = 1, maximum = 10)]
        pub max_emails_per_cart: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = u32, minimum = 0, maximum = 50)]
        pub max_emails_per_address_per_day: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = i64, minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub min_cart_value_minor: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = u64, minimum = 1, maximum = 94_608_000_000_u64)]
        pub expire_after_ms: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = u64, minimum = 0, maximum = 31_536_000_000_u64)]
        pub attribution_window_ms: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = AttributionMode)]
        pub attribution_mode: Option<AttributionMode>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = u64, minimum = 0, maximum = 7_776_000_000_u64)]
        pub customer_cooldown_ms: Option<u64>,
        pub quiet_hours: Option<QuietHours>,
        /// An IANA zone name; default `UTC`.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(schema_with = crate::input::shapes::time_zone)]
        pub time_zone: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = bool)]
        pub require_consent: Option<bool>,
    }

    /// The merchant's words for one step; each optional (null is the same as
    /// left out: the built-in text).
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct StepCopy {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub subject: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub preheader: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub headline: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub body: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub button_text: Option<String>,
    }

    /// Email settings to store or preview: every field optional, unknown ones refused.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct EmailSettingsInput {
        /// Null is the same as left out (`minimal`).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub design: Option<Design>,
        /// An absolute http(s) URL, at most 2048 characters.
        #[schema(schema_with = crate::input::shapes::logo_url)]
        pub logo_url: Option<String>,
        /// `#rgb` or `#rrggbb`.
        #[schema(pattern = "^\\s*#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})\\s*$")]
        pub brand_color: Option<String>,
        /// Up to 200 characters, no control characters.
        #[schema(schema_with = crate::input::shapes::short_text)]
        pub button_text: Option<String>,
        /// Up to 200 characters, no control characters.
        #[schema(schema_with = crate::input::shapes::short_text)]
        pub sender_name: Option<String>,
        /// Up to 500 characters; line breaks allowed.
        #[schema(schema_with = crate::input::shapes::address_text)]
        pub footer_address: Option<String>,
        pub default_locale: Option<String>,
        /// Locale → one entry per step; at most 50 locales of 10 steps.
        #[schema(schema_with = crate::input::shapes::copy)]
        pub copy: Option<BTreeMap<String, Vec<StepCopy>>>,
    }

    /// The whole document, as a `PUT` replaces it: both parts required; a
    /// field left out inside one takes its default.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RecoverySettingsDocument {
        pub policy: RecoveryPolicyInput,
        pub email: EmailSettingsInput,
    }

    /// A change to some fields of the policy (JSON Merge Patch): a field left
    /// out stays as stored, `null` resets it to its default, a value (an array
    /// too: `steps` is sent whole) replaces it.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct RecoveryPolicyPatch {
        /// 1 to 10 steps, strictly increasing; null: the default 1 h, 24 h, 72 h.
        #[schema(min_items = 1, max_items = 10)]
        pub steps: Option<Vec<RecoveryStep>>,
        /// No more entries than the resulting policy has steps; null: none.
        #[schema(max_items = 10)]
        pub step_settings: Option<Vec<StepSettings>>,
        #[schema(minimum = 1, maximum = 10)]
        pub max_emails_per_cart: Option<u32>,
        #[schema(minimum = 0, maximum = 50)]
        pub max_emails_per_address_per_day: Option<u32>,
        #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub min_cart_value_minor: Option<i64>,
        /// After the resulting policy's last step.
        #[schema(minimum = 1, maximum = 94_608_000_000_u64)]
        pub expire_after_ms: Option<u64>,
        #[schema(minimum = 0, maximum = 31_536_000_000_u64)]
        pub attribution_window_ms: Option<u64>,
        pub attribution_mode: Option<AttributionMode>,
        #[schema(minimum = 0, maximum = 7_776_000_000_u64)]
        pub customer_cooldown_ms: Option<u64>,
        /// Null turns quiet hours off. An object merges: `{"end": "09:00"}`
        /// keeps the stored start (without one, both are needed).
        pub quiet_hours: Option<QuietHours>,
        /// Null: `UTC`.
        #[schema(schema_with = crate::input::shapes::optional_time_zone)]
        pub time_zone: Option<String>,
        pub require_consent: Option<bool>,
    }

    /// A change to some fields of the email settings (JSON Merge Patch): a
    /// field left out stays as stored, `null` resets it (unset; `design` back
    /// to `minimal`), a value replaces it. `copy` merges per locale: a locale
    /// given replaces that locale's list, a locale given as null removes it.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct EmailSettingsPatch {
        pub design: Option<Design>,
        /// An absolute http(s) URL, at most 2048 characters.
        #[schema(schema_with = crate::input::shapes::logo_url)]
        pub logo_url: Option<String>,
        /// `#rgb` or `#rrggbb`.
        #[schema(pattern = "^\\s*#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})\\s*$")]
        pub brand_color: Option<String>,
        /// Up to 200 characters, no control characters.
        #[schema(schema_with = crate::input::shapes::short_text)]
        pub button_text: Option<String>,
        /// Up to 200 characters, no control characters.
        #[schema(schema_with = crate::input::shapes::short_text)]
        pub sender_name: Option<String>,
        /// Up to 500 characters; line breaks allowed.
        #[schema(schema_with = crate::input::shapes::address_text)]
        pub footer_address: Option<String>,
        pub default_locale: Option<String>,
        /// Locale → one entry per step, or null to remove the locale; at most
        /// 50 locales of 10 steps once merged.
        #[schema(schema_with = crate::input::shapes::copy_patch)]
        pub copy: Option<BTreeMap<String, Vec<StepCopy>>>,
    }

    /// A JSON Merge Patch (RFC 7396) of the recovery settings: either part,
    /// both, or null to reset a part to its defaults.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RecoverySettingsPatch {
        pub policy: Option<RecoveryPolicyPatch>,
        pub email: Option<EmailSettingsPatch>,
    }

    /// Every shop setting, as a `PUT` replaces them: the required ones must
    /// be given; an optional one left out or null is cleared.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct ShopSettingsDocument {
        /// 1 to 200 characters, no control characters.
        #[schema(schema_with = crate::input::shapes::shop_name)]
        pub name: String,
        /// An http(s) URL of at most 2048 characters; null or left out: none.
        #[schema(schema_with = crate::input::shapes::recovery_url)]
        pub recovery_url: Option<String>,
        /// An email address.
        #[schema(schema_with = crate::input::shapes::email_address)]
        pub from_email: String,
        /// 1 to 100 characters, no control characters; null or left out: the shop's name.
        #[schema(schema_with = crate::input::shapes::sender_name)]
        pub from_name: Option<String>,
        /// An email address; null or left out: replies go to the sender.
        #[schema(schema_with = crate::input::shapes::optional_email_address)]
        pub reply_to: Option<String>,
        /// An IANA time zone name (`Europe/Amsterdam`).
        #[schema(schema_with = crate::input::shapes::time_zone)]
        pub time_zone: String,
        /// An ISO 4217 code (`EUR`).
        #[schema(schema_with = crate::input::shapes::currency)]
        pub default_currency: String,
        /// A BCP 47 language tag (`nl-NL`, `en`).
        #[schema(schema_with = crate::input::shapes::locale)]
        pub default_locale: String,
    }

    // ---- suppressions ----

    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct SuppressionQuery {
        #[param(minimum = 1, maximum = 1_000_000)]
        pub page: Option<i64>,
        #[param(minimum = 1, maximum = 250)]
        pub per_page: Option<i64>,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum SuppressionReason {
        Unsubscribed,
        Bounced,
        Complained,
        Manual,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct NewSuppression {
        #[schema(format = Email, min_length = 3, max_length = 320)]
        pub email: String,
        /// Default `manual`.
        pub reason: Option<SuppressionReason>,
        #[schema(max_length = 500)]
        pub note: Option<String>,
    }

    // ---- email provider ----

    /// A provider and its credentials, by `provider`. Unknown fields are a 422.
    #[derive(Serialize, ToSchema)]
    #[serde(tag = "provider", rename_all = "lowercase", deny_unknown_fields)]
    pub enum ProviderSettings {
        Smtp {
            /// `smtp://user:pass@host:587?tls=starttls` or `smtps://…`.
            #[schema(schema_with = crate::input::shapes::smtp_url)]
            url: String,
            /// Extra trusted roots (PEM).
            #[serde(rename = "caCertificate")]
            ca_certificate: Option<String>,
        },
        Resend {
            /// 1–4096 visible ASCII characters (it travels in a header).
            #[serde(rename = "apiKey")]
            #[schema(min_length = 1, max_length = 4096, pattern = "^[!-~]*$")]
            api_key: String,
            #[serde(rename = "baseUrl")]
            #[schema(schema_with = crate::input::shapes::provider_url)]
            base_url: Option<String>,
        },
        Sendgrid {
            /// 1–4096 visible ASCII characters (it travels in a header).
            #[serde(rename = "apiKey")]
            #[schema(min_length = 1, max_length = 4096, pattern = "^[!-~]*$")]
            api_key: String,
            #[serde(rename = "baseUrl")]
            #[schema(schema_with = crate::input::shapes::provider_url)]
            base_url: Option<String>,
        },
        /// Without both keys, AWS's default credential chain.
        /// A tenant gives both keys (the server's own AWS credentials are not
        /// lent out).
        Ses {
            /// An AWS region such as `eu-west-1`.
            #[schema(pattern = "^[a-z0-9-]{1,32}$")]
            region: String,
            #[serde(rename = "accessKeyId")]
            #[schema(schema_with = crate::input::shapes::provider_secret)]
            access_key_id: String,
            #[serde(rename = "secretAccessKey")]
            #[schema(schema_with = crate::input::shapes::provider_secret)]
            secret_access_key: String,
            #[serde(rename = "endpointUrl")]
            #[schema(schema_with = crate::input::shapes::provider_url)]
            endpoint_url: Option<String>,
        },
        Mailgun {
            /// 1–4096 visible ASCII characters (it travels in a header).
            #[serde(rename = "apiKey")]
            #[schema(min_length = 1, max_length = 4096, pattern = "^[!-~]*$")]
            api_key: String,
            /// The sending domain: letters, digits, `.` and `-`.
            #[schema(pattern = "^[A-Za-z0-9.-]+$")]
            domain: String,
            /// `us` (default) or `eu`.
            #[serde(skip_serializing_if = "Option::is_none")]
            #[schema(value_type = String, pattern = "^(us|eu)$")]
            region: Option<String>,
            #[serde(rename = "baseUrl")]
            #[schema(schema_with = crate::input::shapes::provider_url)]
            base_url: Option<String>,
        },
    }

    #[derive(Serialize, ToSchema)]
    pub struct TestEmailRequest {
        pub to: String,
    }

    // ---- webhook endpoints ----

    /// What an endpoint subscribes to: one event, or `*` for all.
    #[derive(Serialize, ToSchema)]
    pub enum WebhookEventName {
        #[serde(rename = "*")]
        All,
        #[serde(rename = "cart.abandoned")]
        CartAbandoned,
        #[serde(rename = "cart.recovered")]
        CartRecovered,
        #[serde(rename = "cart.converted")]
        CartConverted,
        #[serde(rename = "cart.unsubscribed")]
        CartUnsubscribed,
        #[serde(rename = "cart.expired")]
        CartExpired,
        #[serde(rename = "email.sent")]
        EmailSent,
        #[serde(rename = "email.failed")]
        EmailFailed,
        #[serde(rename = "email.clicked")]
        EmailClicked,
    }

    /// `url` and `events` required; unknown fields are a 422.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct NewWebhookEndpoint {
        /// http(s), public unless the server allows private targets.
        #[schema(
            max_length = 2048,
            pattern = "^https?://([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?(/[^\\s\\u0000-\\u001F\\u007F-\\u009F]*)?$"
        )]
        pub url: String,
        /// Each at most once.
        #[schema(min_items = 1)]
        pub events: std::collections::BTreeSet<WebhookEventName>,
        #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub description: Option<String>,
        /// Default true.
        pub enabled: Option<bool>,
        /// Default `all` (also when null).
        #[serde(rename = "abandonedEvent")]
        pub abandoned_event: Option<AbandonedEventScope>,
    }

    /// Which abandoned carts `cart.abandoned` tells an endpoint of: `all`
    /// (the default), or only those cartback cannot email for want of a usable
    /// address (`unemailable`: none, or it bounced), Retake's meaning
    /// (docs/webhooks.md).
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum AbandonedEventScope {
        All,
        Unemailable,
    }

    /// The query of Reloadify's cart list.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ReloadifyListQuery {
        /// From 1 (default 1).
        #[param(minimum = 1, maximum = 1_000_000)]
        pub page: Option<i64>,
        /// Default 10, at most 250.
        #[param(minimum = 1, maximum = 250)]
        pub per_page: Option<i64>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub created_after: Option<String>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub created_before: Option<String>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub updated_after: Option<String>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub updated_before: Option<String>,
    }

    /// The path of one Reloadify cart.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct ReloadifyCartPath {
        /// A locale code (`en`, `nl-NL`), or one of the shop's own language
        /// ids (`GET /api/v1/settings/languages`).
        pub language_id: String,
        /// The shop's own id of the cart.
        pub shopping_cart_id: String,
    }

    /// The shop's whole list of language ids.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ShopLanguagesUpdate {
        /// At most 100; an id given twice means what its last entry says.
        #[schema(max_items = 100)]
        pub languages: Vec<ShopLanguageEntry>,
    }

    /// One language id and the locale it stands for.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ShopLanguageEntry {
        /// The id the shop's client puts in the path: 1 to 64 letters,
        /// digits, `-` or `_` (`1`, `default`).
        #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")]
        pub id: String,
        /// A BCP 47 language tag (`nl-NL`, `en`).
        #[schema(schema_with = crate::input::shapes::locale)]
        pub locale: String,
    }

    /// Reloadify's `PUT …/shopping_carts` body: the cart inside `shopping_cart`.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ReloadifyCartRequest {
        pub shopping_cart: ReloadifyCartFields,
    }

    /// `id` and `profile_id` required; a field left out keeps the stored value.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ReloadifyCartFields {
        /// The shop's own id of the cart: a string of 1 to 200 characters, or an integer.
        #[schema(schema_with = crate::input::shapes::string_or_integer)]
        pub id: String,
        /// The shop's id of the shopper's profile: a string or an integer.
        #[schema(schema_with = crate::input::shapes::string_or_integer)]
        pub profile_id: String,
        /// The products in the cart (each a string or an integer, a repeat
        /// counted once); replaces the list when given.
        #[schema(schema_with = crate::input::shapes::ids_of_products)]
        pub product_ids: Option<Vec<String>>,
        #[schema(schema_with = crate::input::shapes::optional_currency)]
        pub currency: Option<String>,
        /// The total in the currency's decimals, as a string (`"134.95"`) or a number.
        #[schema(schema_with = crate::input::shapes::reloadify_price)]
        pub price: Option<String>,
        /// Where recovery emails lead for this cart, instead of the shop's recovery URL.
        #[schema(schema_with = crate::input::shapes::cart_link)]
        pub recovery_url: Option<String>,
        /// The shop's token for that link, kept as given.
        #[schema(schema_with = crate::input::shapes::optional_reference)]
        pub recovery_token: Option<String>,
        /// Backfilled creation time (RFC 3339), not in the future.
        #[schema(format = DateTime)]
        pub created_at: Option<String>,
        /// Backfilled last activity (RFC 3339), not in the future.
        #[schema(format = DateTime)]
        pub updated_at: Option<String>,
        /// `[{"name", "<type>_value"}]` with at most one of `string_value`,
        /// `integer_value`, `date_value`, `datetime_value`, `boolean_value`
        /// (none: the attribute is left out); the cart's whole set when given.
        #[schema(schema_with = crate::input::shapes::reloadify_attributes)]
        pub custom_attributes: Option<Vec<serde_json::Value>>,
        /// True hides the cart (a soft delete); false or a later PUT shows it again.
        pub deleted: Option<bool>,
        /// cartback's addition: the shopper's address, without which cartback cannot email the cart.
        #[schema(schema_with = crate::input::shapes::optional_email)]
        pub email: Option<String>,
    }

    /// Any of the fields; what is left out stays.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct WebhookEndpointChanges {
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = String, max_length = 2048, pattern = "^https?://([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?(/[^\\s\\u0000-\\u001F\\u007F-\\u009F]*)?$")]
        pub url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        /// Each at most once.
        #[schema(min_items = 1, nullable = false)]
        pub events: Option<std::collections::BTreeSet<WebhookEventName>>,
        /// Null or `""` removes it.
        #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub description: Option<String>,
        /// False stops deliveries and cancels pending ones.
        pub enabled: Option<bool>,
        #[serde(rename = "abandonedEvent", skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        pub abandoned_event: Option<AbandonedEventScope>,
    }

    /// Optional body.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct RotateSecretRequest {
        /// How long the previous secret keeps signing; default 86400.
        #[schema(minimum = 0, maximum = 604_800)]
        pub overlap_seconds: Option<i64>,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum DeliveryStatus {
        Pending,
        Succeeded,
        Dead,
        Cancelled,
    }

    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct DeliveryQuery {
        #[param(inline)]
        pub status: Option<DeliveryStatus>,
        #[param(minimum = 1, maximum = 1_000_000)]
        pub page: Option<i64>,
        #[param(minimum = 1, maximum = 100)]
        pub per_page: Option<i64>,
    }

    // ---- stripe ----

    /// Every field optional: given replaces, null clears, left out stays.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct StripeSettings {
        /// `sk_…` or `rk_…`, 8–255 letters, digits and `_`.
        #[schema(min_length = 8, max_length = 255, pattern = "^(sk|rk)_[A-Za-z0-9_]*$")]
        pub secret_key: Option<String>,
        /// 1 to 5 different `whsec_…` signing secrets.
        #[schema(schema_with = crate::input::shapes::webhook_secrets)]
        pub webhook_secrets: Option<Vec<String>>,
        /// An http(s) URL of at most 2048 characters, no spaces.
        #[schema(
            max_length = 2048,
            pattern = "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub success_url: Option<String>,
        #[schema(
            max_length = 2048,
            pattern = "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub cancel_url: Option<String>,
        pub links_in_emails: Option<bool>,
    }

    /// A Stripe event, verified against `Stripe-Signature`.
    #[derive(Serialize, ToSchema)]
    pub struct StripeEvent {
        pub id: String,
        #[serde(rename = "type")]
        pub kind: String,
        #[schema(value_type = Object)]
        pub data: serde_json::Value,
    }

    /// The words of one step's email an A/B variant replaces.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct VariantCopy {
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub subject: Option<String>,
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub preheader: Option<String>,
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub headline: Option<String>,
        /// Not blank; a blank line starts a paragraph.
        #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
        pub body: Option<String>,
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub button_text: Option<String>,
    }

    /// What a variant changes in one step; what it leaves out stays the shop's.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct StepVariant {
        /// The step (0-based); the sequence must have it.
        #[schema(minimum = 0, maximum = 9)]
        pub step: u32,
        /// Must keep the sequence's delays increasing.
        #[schema(minimum = 1, maximum = 31_536_000_000_u64)]
        pub delay_ms: Option<u64>,
        #[schema(
            pattern = "^(minimal|product_grid|bold_banner|text_first|custom:[A-Za-z0-9_-]{1,64})$"
        )]
        pub template: Option<String>,
        pub coupon: Option<CouponRule>,
        /// No coupon in this step (not together with `coupon`).
        #[schema(nullable = false)]
        pub no_coupon: Option<bool>,
        pub copy: Option<VariantCopy>,
    }

    /// A whole sequence in place of the shop's.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct VariantSequence {
        #[schema(min_items = 1, max_items = 10)]
        pub steps: Vec<RecoveryStep>,
        #[schema(max_items = 10, nullable = false)]
        pub step_settings: Option<Vec<StepSettings>>,
    }

    /// What a group changes in the recovery flow; `{}` is the shop's own.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct Variant {
        pub sequence: Option<VariantSequence>,
        /// At most one entry per step.
        #[schema(max_items = 10, nullable = false)]
        pub steps: Option<Vec<StepVariant>>,
    }

    /// One group of an experiment.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct ExperimentGroup {
        /// Unique within the experiment.
        #[schema(pattern = "^[a-z0-9_-]{1,32}$")]
        pub name: String,
        /// Share of shoppers in hundredths of a percent; the groups' add up to 10000.
        #[schema(minimum = 1, maximum = 10000)]
        pub basis_points: u32,
        /// Gets no recovery email; at most one group, without a variant.
        #[schema(nullable = false)]
        pub holdout: Option<bool>,
        #[schema(nullable = false)]
        pub variant: Option<Variant>,
    }

    /// `name` and `groups` required; unknown fields are a 422.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct NewExperiment {
        #[schema(
            min_length = 1,
            max_length = 100,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub name: String,
        /// 2 to 10 groups whose `basisPoints` add up to 10000.
        #[schema(min_items = 2, max_items = 10)]
        pub groups: Vec<ExperimentGroup>,
    }

    /// Which group's variant becomes the policy.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct PromoteWinner {
        pub group: String,
        /// Promote even though the group is not clearly better than the control.
        pub force: Option<bool>,
    }

    /// The RFC 8058 one-click body mail providers send.
    #[derive(Serialize, ToSchema)]
    pub struct OneClickUnsubscribe {
        /// `One-Click`.
        #[serde(rename = "List-Unsubscribe")]
        pub list_unsubscribe: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// `(METHOD, path)` of every route the app registers.
    fn routed() -> BTreeSet<(String, String)> {
        crate::routes()
            .into_iter()
            .map(|(method, path)| (method.to_string(), path.to_owned()))
            .collect()
    }

    fn documented() -> BTreeSet<(String, String)> {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        let mut found = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if [
                    "get", "put", "post", "delete", "options", "head", "patch", "trace",
                ]
                .contains(&method.as_str())
                {
                    found.insert((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        found
    }

    #[test]
    fn the_route_table_has_no_route_twice() {
        let routes = crate::routes();
        assert_eq!(routed().len(), routes.len(), "{routes:?}");
        assert!(routed().contains(&("OPTIONS".into(), "/api/v1/track".into())));
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let routes = routed();
        let documented = documented();
        let missing: Vec<_> = routes.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "routed but not in the document: {missing:?}"
        );
        let extra: Vec<_> = documented.difference(&routes).collect();
        assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    }

    #[test]
    fn the_document_is_openapi_3_1_with_unique_operation_ids() {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        let mut ids = BTreeSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                let Some(id) = operation.get("operationId") else {
                    continue;
                };
                assert!(ids.insert(id.as_str().unwrap()), "operationId {id} twice");
            }
        }
        let schemes = &doc["components"]["securitySchemes"];
        for scheme in [API_KEY, BEARER, QUERY_KEY, METRICS_TOKEN] {
            assert!(schemes[scheme].is_object(), "{scheme}");
        }
        // The handlers name schemes as string literals: each must exist.
        for requirement in doc["security"].as_array().unwrap() {
            for name in requirement.as_object().unwrap().keys() {
                assert!(schemes[name].is_object(), "default: {name}");
            }
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for requirement in operation["security"].as_array().into_iter().flatten() {
                    for name in requirement.as_object().unwrap().keys() {
                        assert!(schemes[name].is_object(), "{method} {path}: {name}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        let text = document();
        let doc: serde_json::Value = serde_json::from_str(text).unwrap();
        for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap();
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{name} is referenced but not defined"
            );
        }
    }

    /// `RecoveryPolicy` and `EmailSettings` (with the pieces requests share)
    /// describe the domain's and the templates' own serde types: every field
    /// they serialize is documented, and every documented field is one they
    /// can serialize.
    #[test]
    fn the_settings_schemas_name_the_fields_that_are_serialized() {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let properties = |schema: &str| -> BTreeSet<String> {
            schemas[schema]["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{schema} has no properties"))
                .keys()
                .cloned()
                .collect()
        };
        let keys = |value: serde_json::Value| -> BTreeSet<String> {
            value.as_object().unwrap().keys().cloned().collect()
        };
        let policy = cartback_domain::RecoveryPolicy {
            quiet_hours: Some(cartback_domain::QuietHours {
                start: "22:00".into(),
                end: "08:00".into(),
            }),
            ..Default::default()
        };
        assert_eq!(
            keys(serde_json::to_value(&policy).unwrap()),
            properties("RecoveryPolicy")
        );
        let email: cartback_templates::Experience = serde_json::from_value(serde_json::json!({
            "design": "bold_banner", "logoUrl": "https://shop.example/logo.png",
            "brandColor": "#0f766e", "buttonText": "Back to my cart", "senderName": "Acme",
            "footerAddress": "1 Main St", "defaultLocale": "en",
            "copy": {"en": [{"subject": "s", "preheader": "p", "headline": "h", "body": "b", "buttonText": "t"}]},
        }))
        .unwrap();
        let shown = serde_json::to_value(&email).unwrap();
        assert_eq!(keys(shown.clone()), properties("EmailSettings"));
        assert_eq!(keys(shown["copy"]["en"][0].clone()), properties("StepCopy"));
        assert_eq!(
            keys(serde_json::to_value(cartback_domain::RecoveryStep::after(1)).unwrap()),
            properties("RecoveryStep")
        );
    }

    /// The documented bounds are the domain's: a change to a constant shows here.
    #[test]
    fn policy_bounds_match_the_domain() {
        use cartback_domain::bounds;
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let max = |schema: &str, field: &str| {
            schemas[schema]["properties"][field]["maximum"]
                .as_f64()
                .unwrap_or_else(|| panic!("{schema}.{field} has no maximum"))
        };
        for schema in ["RecoveryPolicy", "RecoveryPolicyInput"] {
            assert_eq!(
                max(schema, "expireAfterMs"),
                bounds::MAX_EXPIRE_AFTER_MS as f64
            );
            assert_eq!(
                max(schema, "attributionWindowMs"),
                bounds::MAX_ATTRIBUTION_WINDOW_MS as f64
            );
            assert_eq!(
                max(schema, "customerCooldownMs"),
                bounds::MAX_CUSTOMER_COOLDOWN_MS as f64
            );
            assert_eq!(
                max(schema, "maxEmailsPerCart"),
                f64::from(bounds::MAX_EMAILS_PER_CART)
            );
            assert_eq!(
                max(schema, "maxEmailsPerAddressPerDay"),
                f64::from(bounds::MAX_EMAILS_PER_ADDRESS_PER_DAY)
            );
            assert_eq!(
                max(schema, "minCartValueMinor"),
                bounds::MAX_AMOUNT_MINOR as f64
            );
        }
        assert_eq!(
            max("RecoveryStep", "delayMs"),
            bounds::MAX_STEP_DELAY_MS as f64
        );
    }
}
