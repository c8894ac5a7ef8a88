//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, assembled by
//! utoipa from the `#[utoipa::path]` attribute on each handler. This module
//! only assembles. The answers are the handlers' own types
//! (`#[derive(Serialize, ToSchema)]`, declared beside each route; the cart is
//! `cartback_store::view::CartView`), so what the document says is what is
//! serialized. The requests, which the handlers read field by field to name
//! every bad field, are described beside their route too (each route's
//! `request` module; shapes several routes share in `crate::input::documented`),
//! and schemathesis checks the document against the running API both ways. The
//! unit tests below fail when the route table and the document differ.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorEnvelope};

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
