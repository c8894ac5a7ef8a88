//! `GET /api/v1/carts` and one cart's `GET`, `PATCH`, `DELETE` and erase.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use cartback_domain::{CartStatus, CustomerName, EmailAddress};
use cartback_store::cart_admin::{
    CartFilter, CartPatch, Edited, PatchOutcome, StatusFilter, erase_cart_for_good, list_carts,
    patch_cart, soft_delete_cart,
};
use cartback_store::view::CartView;

use super::time_filter::{TIME_FILTERS, apply_time_filters, read_time_filters};
use super::{
    CartAnswer, attributes_field, cart_answer, if_match, json_object, load, not_found, stale,
};
use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::Problems;
use crate::input::fields::{self, MAX_PAGE, nullable, query_map, query_number};
use crate::state::AppState;

pub(super) const DEFAULT_PER_PAGE: i64 = 10;
pub(super) const MAX_PER_PAGE: i64 = 250;
pub(super) const LIST_PARAMS: &[&str] = &[
    "status",
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
    "abandoned_after",
    "abandoned_before",
    "locale",
    "email",
    "page",
    "per_page",
];

/// A page of carts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CartPage {
    success: bool,
    data: Vec<CartView>,
    page: i64,
    per_page: i64,
    total: i64,
    total_pages: i64,
}

/// `GET /api/v1/carts`.
#[utoipa::path(
    get,
    path = "/api/v1/carts",
    tag = "carts",
    operation_id = "listCarts",
    summary = "A page of carts, newest first, with filters",
    params(request::CartListQuery),
    responses(
        (status = 200, description = "The page (`data: []` past the end)", body = CartPage),
        (status = 422, description = "VALIDATION_ERROR: an unknown parameter or a bad value, named in `details`", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let query = query_map(request.query_string(), &mut problems);
    fields::unknown_params(&query, LIST_PARAMS, &mut problems);
    let mut filter = CartFilter::default();
    if let Some(status) = query.get("status") {
        // An empty `?status=` is a mistake, not "no filter" (the document says so).
        filter.status = if status.trim().is_empty() {
            problems.add(
                "status",
                cartback_store::cart_admin::InvalidStatus.to_string(),
            );
            None
        } else {
            StatusFilter::parse(status)
                .map_err(|invalid| problems.add("status", invalid.to_string()))
                .ok()
                .flatten()
        };
    }
    let names: Vec<&str> = TIME_FILTERS.iter().map(|(name, _, _)| *name).collect();
    let times = read_time_filters(&query, &names, &mut problems);
    if let Some(locale) = query.get("locale").filter(|l| !l.is_empty()) {
        match cartback_domain::parse_locale(locale).and_then(|tag| {
            // As the document's pattern: a tag, no spaces around it.
            if locale.trim() == locale {
                Ok(tag)
            } else {
                Err(cartback_domain::InvalidValue::new(
                    "must not start or end with spaces",
                ))
            }
        }) {
            Ok(l) => filter.locale = Some(l),
            Err(e) => problems.add("locale", e.to_string()),
        }
    }
    if let Some(email) = query
        .get("email")
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
    {
        if email.chars().count() > 320 {
            problems.add("email", "must be at most 320 characters");
        } else {
            filter.email = Some(email.to_owned());
        }
    }
    let page = query_number(&query, "page", 1, 1..=MAX_PAGE, &mut problems);
    let per_page = query_number(
        &query,
        "per_page",
        DEFAULT_PER_PAGE,
        1..=MAX_PER_PAGE,
        &mut problems,
    );
    problems.check()?;
    let tenant_id = caller.tenant.id.clone();
    let (rows, total) = state
        .db(move |conn| {
            apply_time_filters(conn, &tenant_id, times, &mut filter)?;
            list_carts(conn, &tenant_id, &filter, page, per_page)
        })
        .await?;
    let total_pages = (total + per_page - 1) / per_page;
    Ok(HttpResponse::Ok().json(CartPage {
        success: true,
        data: rows.iter().map(CartView::of).collect(),
        page,
        per_page,
        total,
        total_pages,
    }))
}

/// `GET /api/v1/carts/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/carts/{id}",
    tag = "carts",
    operation_id = "getCart",
    summary = "One cart",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id")),
    responses(
        (status = 200, description = "The cart", body = CartAnswer, headers(("ETag" = String, description = "The cart's version, quoted (`\"8\"`), for `If-Match`"))),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cart = load(&state, &caller.tenant.id, id.into_inner()).await?;
    Ok(cart_answer(&cart))
}

/// `PATCH /api/v1/carts/{id}`: `status`, `customerEmail`, `customerName`,
/// `attributes` (merged by name; an entry without a value removes it).
#[utoipa::path(
    patch,
    path = "/api/v1/carts/{id}",
    tag = "carts",
    operation_id = "patchCart",
    summary = "Change a cart's status, shopper or attributes",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id"), ("If-Match" = Option<String>, Header, description = "The cart's `ETag` from a GET (`\"7\"`): the change is made only if the cart is still at that version, else 412. Without it the last writer wins (each change is still atomic).", pattern = "^[ -+\\--~]*$")),
    request_body = request::CartPatchRequest,
    responses(
        (status = 200, description = "The changed cart", body = CartAnswer, headers(("ETag" = String, description = "The cart's version, quoted (`\"8\"`), for `If-Match`"))),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: a closed cart is not reopened by hand", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::error::ErrorEnvelope),
        (status = 412, description = "PRECONDITION_FAILED: `If-Match` names an older version; nothing was changed", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn patch(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (_, object) = json_object(&state, &request, payload, false).await?;
    let mut problems = Problems::default();
    fields::unknown_fields(
        &object,
        &["status", "customerEmail", "customerName", "attributes"],
        &mut problems,
    );
    let mut change = CartPatch::default();
    if let Some(value) = nullable(&object, "status") {
        match value.and_then(Value::as_str).map(CartStatus::parse) {
            Some(Ok(status)) => change.status = Some(status),
            _ => problems.add(
                "status",
                "must be one of active, abandoned, recovered, converted, expired",
            ),
        }
    }
    change.customer_email = clearable_text(&object, "customerEmail", &mut problems, |text| {
        EmailAddress::parse(text)
            .map(|e| e.as_str().to_owned())
            .map_err(|e| e.to_string())
    });
    change.customer_name = clearable_text(&object, "customerName", &mut problems, |text| {
        CustomerName::parse(text)
            .map(|n| n.as_str().to_owned())
            .map_err(|e| e.to_string())
    });
    let wire_attributes = attributes_field(&object, &mut problems);
    problems.check()?;
    change.expected_version = if_match(&request)?;
    // Merged into the cart's current attributes under its row lock: parallel
    // PATCHes of different names all stay.
    change.merge_attributes = wire_attributes;
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
    let outcome = state
        .db(move |conn| patch_cart(conn, &tenant_id, &id, &change, Utc::now()))
        .await?;
    match outcome {
        PatchOutcome::Updated(cart) => Ok(cart_answer(&cart)),
        PatchOutcome::NotFound => Err(not_found()),
        PatchOutcome::Refused(why) => Err(ApiError::new(ErrorCode::Conflict, why)),
        PatchOutcome::Stale { version } => Err(stale(version)),
        PatchOutcome::Invalid { field, message } => {
            Err(ApiError::validation(vec![FieldError { field, message }]))
        }
    }
}

/// A text field a PATCH may set or clear: absent → None (unchanged), null or
/// blank → Some(None) (cleared), else the checked value.
pub(super) fn clearable_text(
    object: &serde_json::Map<String, Value>,
    field: &str,
    problems: &mut Problems,
    check: impl Fn(&str) -> Result<String, String>,
) -> Option<Option<String>> {
    match nullable(object, field)? {
        None => Some(None),
        Some(Value::String(text)) if text.trim().is_empty() => Some(None),
        Some(Value::String(text)) => match check(text) {
            Ok(value) => Some(Some(value)),
            Err(message) => {
                problems.add(field, message);
                None
            }
        },
        Some(_) => {
            problems.add(field, "must be a string or null");
            None
        }
    }
}

/// `DELETE /api/v1/carts/{id}`: hidden from the API and never emailed again.
#[utoipa::path(
    delete,
    path = "/api/v1/carts/{id}",
    tag = "carts",
    operation_id = "deleteCart",
    summary = "Soft delete: hidden from the API and never emailed again",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id"), ("If-Match" = Option<String>, Header, description = "The cart's `ETag` from a GET (`\"7\"`): the change is made only if the cart is still at that version, else 412. Without it the last writer wins (each change is still atomic).", pattern = "^[ -+\\--~]*$")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::error::ErrorEnvelope),
        (status = 400, description = "BAD_REQUEST: `If-Match` is not one entity tag or `*`", body = crate::error::ErrorEnvelope),
        (status = 412, description = "PRECONDITION_FAILED: `If-Match` names an older version; nothing was changed", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
    let expected = if_match(&request)?;
    let deleted = state
        .db(move |conn| soft_delete_cart(conn, &tenant_id, &id, expected, Utc::now()))
        .await?;
    match deleted {
        Edited::Updated(_) => Ok(HttpResponse::NoContent().finish()),
        Edited::NotFound => Err(not_found()),
        Edited::Stale { version } => Err(stale(version)),
        Edited::Refused(never) => match never {},
    }
}

/// `POST /api/v1/carts/{id}/erase`: personal data removed for good.
#[utoipa::path(
    post,
    path = "/api/v1/carts/{id}/erase",
    tag = "carts",
    operation_id = "eraseCart",
    summary = "GDPR erasure: the cart's personal data removed for good",
    description = "Also scrubs the cart's webhook deliveries (pending ones are cancelled; a replay \
        sends the scrubbed payload), its sends' provider error texts, its history details and \
        its orders' address and session, in the same transaction. Works on deleted carts too; \
        counts, totals and dates stay.",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id")),
    responses(
        (status = 200, description = "The erased cart", body = CartAnswer),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn erase(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
    let erased = state
        .db(move |conn| erase_cart_for_good(conn, &tenant_id, &id, Utc::now()))
        .await?
        .ok_or_else(not_found)?
        .cart;
    tracing::info!(cart = %erased.id, "cart erased");
    Ok(HttpResponse::Ok().json(CartAnswer::of(&erased)))
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
#[expect(
    dead_code,
    reason = "schema-only types: the document describes them, nothing builds them"
)]
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::{IntoParams, ToSchema};

    use crate::input::documented::{Attribute, CartStatus};

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
}
