//! Quick Checkout Tracker's merchant API (seed 003), at its own paths under
//! `/api`: carts (list, get, create, status, delete, payment link), analytics
//! and Stripe's events. Authentication is the shop's secret key in
//! `x-api-key`; errors use the native envelope, which is the seed's
//! (`{"success": false, "error": {"code", "message"}}`).
//!
//! Every route translates into the store functions and domain rules the
//! native API uses: a status change is `patch_cart` (recovered records an
//! order), a new cart is stored as tracked and abandoned by hand, the numbers
//! are `tenant_report`'s.

use std::collections::HashMap;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use serde_json::{Number, Value};

use cartback_domain::{
    AnalyticsPeriod, CartItem, CartStatus, Currency, CustomerName, EmailAddress, Money,
    PeriodPreset, Tz, items_total, validate_item_name,
};
use cartback_store::StoreResult;
use cartback_store::analytics::tenant_report;
use cartback_store::api_keys::KeyKind;
use cartback_store::cart_admin::{
    CartFilter, CartPatch, Edited, PatchOutcome, StatusFilter, create_abandoned_cart,
    find_cart_by_any_id, list_carts, patch_cart, soft_delete_cart,
};
use cartback_store::carts::{CartRow, CartUpsert};
use cartback_store::ids::random_id;
use cartback_store::stripe::{PaymentLinkRow, live_payment_links, sole_stripe_intake_tenant};
use cartback_store::view::major_number;

use crate::auth::{Caller, authenticate_request};
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::Problems;
use crate::input::body::json_body;
use crate::input::cart::{item_id, quantity, unit_price};
use crate::input::fields::{MAX_PAGE, query_map, query_number};
use crate::input::raw::{RawObject, is_null, optional_string, parse_object, required_string};
use crate::routes::stripe::intake::receive;
use crate::routes::stripe::payment_link::make_payment_link;
use crate::state::AppState;

/// The seed's page size and its largest.
const DEFAULT_LIMIT: i64 = 10;
const MAX_LIMIT: i64 = 100;

/// The caller of a Quick Checkout route: a secret key. A publishable key is
/// not this API's key (401 like a wrong one, as the seed documents); a
/// suspended or closed shop gets the native 403 `TENANT_INACTIVE`.
pub(crate) struct QuickCaller(Caller);

impl FromRequest for QuickCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<QuickCaller, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = request
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError::internal("the app state is not registered"))?;
            let caller = authenticate_request(&state, &request).await?;
            if caller.kind != KeyKind::Secret {
                return Err(ApiError::new(
                    ErrorCode::Unauthorized,
                    "Missing or invalid API key: x-api-key must be the shop's secret key",
                ));
            }
            Ok(QuickCaller(caller))
        })
    }
}

/// The refusals of every keyed route here, as the document lists them.
#[derive(utoipa::IntoResponses)]
#[expect(
    dead_code,
    reason = "never built: only the responses it documents are used"
)]
enum KeyRefusals {
    #[response(
        status = 401,
        description = "UNAUTHORIZED: no key, or not the shop's secret key"
    )]
    Unauthorized(crate::error::ErrorEnvelope),
    #[response(
        status = 403,
        description = "TENANT_INACTIVE: the shop is suspended or closed"
    )]
    TenantInactive(crate::error::ErrorEnvelope),
}

/// One line as the seed shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = QuickCheckoutItem)]
pub(crate) struct Item {
    /// The line's id (generated as `item-1`, `item-2`… when the cart was
    /// created without ids).
    id: String,
    name: String,
    quantity: u32,
    /// The unit price in the cart's currency, as a JSON number.
    #[schema(value_type = Option<f64>)]
    price: Option<Number>,
}

/// A cart as the seed shows it, plus its `currency`, `sessionId` and native
/// status (`active` and `converted` carts exist too when the shop also tracks
/// through other routes).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = QuickCheckoutCart)]
pub(crate) struct QuickCart {
    id: String,
    #[schema(required = true)]
    customer_email: Option<String>,
    #[schema(required = true)]
    customer_name: Option<String>,
    items: Vec<Item>,
    /// The cart's total in its currency, as a JSON number.
    #[schema(required = true, value_type = Option<f64>)]
    total_value: Option<Number>,
    currency: String,
    /// `abandoned`, `recovered`, `expired` (or `active`, `converted`).
    #[schema(value_type = String)]
    status: CartStatus,
    #[schema(required = true, format = DateTime)]
    abandoned_at: Option<String>,
    /// The latest Stripe payment link made for the cart, until it expires.
    #[schema(required = true)]
    payment_link: Option<String>,
    /// Null once the cart was erased.
    #[schema(required = true)]
    session_id: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

fn instant(at: chrono::NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl QuickCart {
    fn of(cart: &CartRow, link: Option<&PaymentLinkRow>) -> QuickCart {
        let erased = cart.erased_at.is_some();
        QuickCart {
            id: cart.id.clone(),
            customer_email: cart.customer_email.clone(),
            customer_name: cart.customer_name.clone(),
            items: cart
                .items
                .iter()
                .map(|item| Item {
                    id: item.id.clone(),
                    name: item.name.clone(),
                    quantity: item.quantity,
                    price: major_number(item.unit_price_minor, &cart.currency),
                })
                .collect(),
            total_value: major_number(cart.total_minor, &cart.currency),
            currency: cart.currency.clone(),
            status: cart.status,
            abandoned_at: cart.abandoned_at.map(instant),
            payment_link: link.map(|l| l.url.clone()),
            session_id: (!erased).then(|| cart.session_id.clone()),
            created_at: instant(cart.created_at),
            updated_at: instant(cart.updated_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = QuickCheckoutCartAnswer)]
pub(crate) struct CartAnswer {
    /// Always true.
    success: bool,
    data: QuickCart,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = QuickCheckoutPagination)]
pub(crate) struct Pagination {
    page: i64,
    limit: i64,
    total: i64,
    #[serde(rename = "totalPages")]
    total_pages: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = QuickCheckoutCartList)]
pub(crate) struct CartList {
    carts: Vec<QuickCart>,
    pagination: Pagination,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = QuickCheckoutCartListAnswer)]
pub(crate) struct CartListAnswer {
    /// Always true.
    success: bool,
    data: CartList,
}

/// The carts with their live payment links, read together.
fn with_links(
    conn: &mut cartback_store::DbConn,
    tenant_id: &str,
    carts: &[CartRow],
) -> StoreResult<HashMap<String, PaymentLinkRow>> {
    let ids: Vec<&str> = carts.iter().map(|c| c.id.as_str()).collect();
    live_payment_links(conn, tenant_id, &ids, Utc::now())
}

fn cart_not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "Cart not found")
}

/// One cart by id with its link, or 404.
async fn one_cart(state: &AppState, tenant_id: &str, id: String) -> Result<QuickCart, ApiError> {
    let tenant_id = tenant_id.to_owned();
    let found = state
        .db(move |conn| -> StoreResult<_> {
            let Some(cart) = find_cart_by_any_id(conn, &tenant_id, &id, false)? else {
                return Ok(None);
            };
            let links = with_links(conn, &tenant_id, std::slice::from_ref(&cart))?;
            Ok(Some(QuickCart::of(&cart, links.get(&cart.id))))
        })
        .await?;
    found.ok_or_else(cart_not_found)
}

/// `GET /api/carts?status=&page=&limit=`.
#[utoipa::path(
    get,
    path = "/api/carts",
    tag = "compat-quick-checkout",
    operation_id = "quickCheckoutListCarts",
    summary = "Quick Checkout Tracker: carts, newest first, by status, page and limit (seed 003)",
    params(request::QuickCheckoutListQuery),
    responses(
        (status = 200, description = "One page of carts", body = CartListAnswer),
        KeyRefusals,
        (status = 422, description = "VALIDATION_ERROR: a bad `status`, `page` or `limit`", body = crate::error::ErrorEnvelope),
        (status = 429, description = "RATE_LIMITED: over 100 requests a minute from this address", body = crate::error::ErrorEnvelope),
        crate::error::ServerErrors,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    QuickCaller(caller): QuickCaller,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let query = query_map(request.query_string(), &mut problems);
    let mut filter = CartFilter::default();
    if let Some(status) = query.get("status") {
        match StatusFilter::parse(status) {
            Ok(status) => filter.status = status,
            Err(_) => problems.add(
                "status",
                "must be one of abandoned, recovered, expired, active, converted, all",
            ),
        }
    }
    let page = query_number(&query, "page", 1, 1..=MAX_PAGE, &mut problems);
    let limit = query_number(&query, "limit", DEFAULT_LIMIT, 1..=MAX_LIMIT, &mut problems);
    problems.check()?;
    let tenant_id = caller.tenant.id.clone();
    let (carts, total) = state
        .db(move |conn| -> StoreResult<_> {
            let (rows, total) = list_carts(conn, &tenant_id, &filter, page, limit)?;
            let links = with_links(conn, &tenant_id, &rows)?;
            let carts = rows
                .iter()
                .map(|cart| QuickCart::of(cart, links.get(&cart.id)))
                .collect::<Vec<_>>();
            Ok((carts, total))
        })
        .await?;
    Ok(HttpResponse::Ok().json(CartListAnswer {
        success: true,
        data: CartList {
            carts,
            pagination: Pagination {
                page,
                limit,
                total,
                total_pages: (total + limit - 1) / limit,
            },
        },
    }))
}

/// `GET /api/carts/{id}`.
#[utoipa::path(
    get,
    path = "/api/carts/{id}",
    tag = "compat-quick-checkout",
    operation_id = "quickCheckoutGetCart",
    summary = "Quick Checkout Tracker: one cart (seed 003)",
    params(("id" = String, Path, description = "The cart id (its session id and the shop's own id are accepted too)")),
    responses(
        (status = 200, description = "The cart", body = CartAnswer),
        (status = 404, description = "NOT_FOUND: `Cart not found`", body = crate::error::ErrorEnvelope),
        KeyRefusals,
        crate::error::ServerErrors,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    QuickCaller(caller): QuickCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cart = one_cart(&state, &caller.tenant.id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(CartAnswer {
        success: true,
        data: cart,
    }))
}

/// `text` checked by `parse`; a refusal is named under `field`.
fn checked<T, E: std::fmt::Display>(
    text: Option<String>,
    field: &str,
    problems: &mut Problems,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Option<T> {
    match parse(&text?) {
        Ok(value) => Some(value),
        Err(error) => {
            problems.add(field, error.to_string());
            None
        }
    }
}

/// One of the seed's lines: `{name, quantity, price}`, `id` optional.
fn parse_line(
    value: &serde_json::value::RawValue,
    index: usize,
    currency: Currency,
    problems: &mut Problems,
) -> Option<CartItem> {
    let base = format!("items[{index}]");
    let Some(object) = parse_object(value) else {
        problems.add(base, "must be an object");
        return None;
    };
    let before = problems.len();
    for key in object.keys() {
        if !["id", "name", "quantity", "price"].contains(&key.as_ref()) {
            let shown: String = key.chars().take(40).collect();
            problems.add(format!("{base}.{shown}"), "unknown field");
        }
    }
    // The seed's lines carry no id: one by position, unless the shop sends its own.
    let id = if object.get("id").is_none_or(|v| is_null(v)) {
        Some(format!("item-{}", index + 1))
    } else {
        item_id(&object, &format!("{base}.id"), problems)
    };
    let name_path = format!("{base}.name");
    let name = required_string(&object, "name", &name_path, problems);
    let name = checked(name, &name_path, problems, validate_item_name);
    let price_path = format!("{base}.price");
    let known = problems.len();
    let price = unit_price(&object, &price_path, currency, problems);
    // A null price is no price: the line must not be dropped in silence.
    if price.is_none() && problems.len() == known {
        problems.add(&price_path, "is required");
    }
    let quantity = quantity(&object, &format!("{base}.quantity"), problems);
    if problems.len() > before {
        return None;
    }
    Some(CartItem {
        id: id?,
        name: name?,
        unit_price_minor: price?,
        quantity: quantity?,
        image_url: None,
        url: None,
        variant_id: None,
    })
}

/// `POST /api/carts` `{customerEmail?, customerName?, items, currency?}`.
#[utoipa::path(
    post,
    path = "/api/carts",
    tag = "compat-quick-checkout",
    operation_id = "quickCheckoutCreateCart",
    summary = "Quick Checkout Tracker: record an abandoned cart (seed 003)",
    description = "The cart gets a generated session id and is abandoned now: the recovery \
        sequence starts from this moment. Prices are in `currency` (default: the shop's).",
    request_body = request::QuickCheckoutCreateRequest,
    responses(
        (status = 201, description = "The new cart, `status: abandoned`", body = CartAnswer),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        KeyRefusals,
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::error::ErrorEnvelope),
        crate::error::ServerErrors,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    QuickCaller(caller): QuickCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&state, &request, payload).await?;
    let object: RawObject<'_> =
        serde_json::from_slice(&body).map_err(|e| crate::input::body::malformed(&e))?;
    let mut problems = Problems::default();
    for key in object.keys() {
        if !["customerEmail", "customerName", "items", "currency"].contains(&key.as_ref()) {
            let shown: String = key.chars().take(40).collect();
            problems.add(shown, "unknown field");
        }
    }
    let currency = match optional_string(&object, "currency", "currency", &mut problems) {
        None => Some(caller.tenant.default_currency()),
        code => checked(code, "currency", &mut problems, |code| {
            Currency::parse(&code.to_ascii_uppercase())
        }),
    };
    let text = |field: &str, problems: &mut Problems| {
        optional_string(&object, field, field, problems).filter(|text| !text.trim().is_empty())
    };
    let email = checked(
        text("customerEmail", &mut problems),
        "customerEmail",
        &mut problems,
        |t| EmailAddress::parse(t).map(|e| e.as_str().to_owned()),
    );
    let name = checked(
        text("customerName", &mut problems),
        "customerName",
        &mut problems,
        |t| CustomerName::parse(t).map(|n| n.as_str().to_owned()),
    );
    let mut items = Vec::new();
    match object.get("items").filter(|v| !is_null(v)) {
        None => problems.add("items", "is required"),
        Some(raw) => match serde_json::from_str::<Vec<&serde_json::value::RawValue>>(raw.get()) {
            Err(_) => problems.add("items", "must be an array"),
            Ok(list) if list.is_empty() => problems.add("items", "must hold at least one item"),
            Ok(list) if list.len() > cartback_domain::MAX_ITEMS_PER_CART => problems.add(
                "items",
                format!(
                    "must hold at most {} items",
                    cartback_domain::MAX_ITEMS_PER_CART
                ),
            ),
            Ok(list) => {
                if let Some(currency) = currency {
                    for (index, value) in list.into_iter().enumerate() {
                        items.extend(parse_line(value, index, currency, &mut problems));
                    }
                }
            }
        },
    }
    problems.check()?;
    let Some(currency) = currency else {
        return Err(ApiError::validation(vec![FieldError {
            field: "currency".into(),
            message: "is not a currency".into(),
        }]));
    };
    let total: Money = items_total(&items, currency).map_err(|e| {
        ApiError::validation(vec![FieldError {
            field: "items".into(),
            message: e.to_string(),
        }])
    })?;
    if let Err(message) = cartback_domain::bounds::check_amount(total.minor()) {
        return Err(ApiError::validation(vec![FieldError {
            field: "items".into(),
            message: message.to_string(),
        }]));
    }
    let now = Utc::now();
    let policy = caller.tenant.recovery_policy()?;
    let upsert = CartUpsert {
        tenant_id: caller.tenant.id.clone(),
        // No storefront session: one of our own, never reused.
        session_id: random_id("qct_", 24),
        items,
        total_minor: total.minor(),
        // The seed's cart has one total, no separate subtotal.
        subtotal_minor: None,
        currency: currency.code().to_owned(),
        customer_email: email,
        customer_name: name,
        locale: None,
        consent: None,
        now,
        next_action_at: cartback_domain::bounds::shift(now, policy.abandon_delay()),
    };
    let cart = state
        .db(move |conn| create_abandoned_cart(conn, &upsert))
        .await?;
    tracing::info!(cart = %cart.id, "cart recorded as abandoned through the Quick Checkout API");
    Ok(HttpResponse::Created().json(CartAnswer {
        success: true,
        data: QuickCart::of(&cart, None),
    }))
}

/// `PATCH /api/carts/{id}` `{status}`.
#[utoipa::path(
    patch,
    path = "/api/carts/{id}",
    tag = "compat-quick-checkout",
    operation_id = "quickCheckoutPatchCart",
    summary = "Quick Checkout Tracker: change a cart's status (seed 003)",
    description = "`recovered` (or `converted`) records a manual order for the cart's total, so \
        analytics, `/api/v1/stats/carts` and the `cart.recovered` webhook count it. A closed cart \
        is not reopened (409).",
    params(("id" = String, Path, description = "The cart id")),
    request_body = request::QuickCheckoutPatchRequest,
    responses(
        (status = 200, description = "The changed cart", body = CartAnswer),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        KeyRefusals,
        (status = 404, description = "NOT_FOUND: `Cart not found`", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: a closed cart is not reopened by hand", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `status` missing or not a status", body = crate::error::ErrorEnvelope),
        crate::error::ServerErrors,
    )
)]
pub async fn patch(
    state: web::Data<AppState>,
    QuickCaller(caller): QuickCaller,
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&state, &request, payload).await?;
    let object = crate::input::fields::object(&body, false)?;
    let mut problems = Problems::default();
    crate::input::fields::unknown_fields(&object, &["status"], &mut problems);
    let status = match object.get("status") {
        Some(Value::String(text)) => match CartStatus::parse(text) {
            Ok(status) => Some(status),
            Err(_) => {
                problems.add(
                    "status",
                    "must be one of abandoned, recovered, expired, active, converted",
                );
                None
            }
        },
        None | Some(Value::Null) => {
            problems.add("status", "is required");
            None
        }
        Some(_) => {
            problems.add("status", "must be a string");
            None
        }
    };
    problems.check()?;
    let change = CartPatch {
        status,
        ..CartPatch::default()
    };
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
    let outcome = state
        .db(move |conn| patch_cart(conn, &tenant_id, &id, &change, Utc::now()))
        .await?;
    let cart = match outcome {
        PatchOutcome::Updated(cart) => cart,
        PatchOutcome::NotFound => return Err(cart_not_found()),
        PatchOutcome::Refused(why) => return Err(ApiError::new(ErrorCode::Conflict, why)),
        PatchOutcome::Stale { .. } | PatchOutcome::Invalid { .. } => {
            return Err(ApiError::internal(
                "a status change without If-Match or attributes was refused as such",
            ));
        }
    };
    let view = one_cart(&state, &caller.tenant.id, cart.id.clone()).await?;
    Ok(HttpResponse::Ok().json(CartAnswer {
        success: true,
        data: view,
    }))
}

/// `{"success": true}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = QuickCheckoutDone)]
pub(crate) struct Done {
    success: bool,
}

/// `DELETE /api/carts/{id}`.
#[utoipa::path(
    delete,
    path = "/api/carts/{id}",
    tag = "compat-quick-checkout",
    operation_id = "quickCheckoutDeleteCart",
    summary = "Quick Checkout Tracker: delete a cart (seed 003)",
    description = "A soft delete, as the native `DELETE /api/v1/carts/{id}`: the cart is no \
        longer listed or emailed; `POST /api/v1/carts/{id}/erase` removes personal data for good.",
    params(("id" = String, Path, description = "The cart id")),
    responses(
        (status = 200, description = "Deleted", body = Done),
        KeyRefusals,
        (status = 404, description = "NOT_FOUND: `Cart not found`", body = crate::error::ErrorEnvelope),
        crate::error::ServerErrors,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    QuickCaller(caller): QuickCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
    match state
        .db(move |conn| soft_delete_cart(conn, &tenant_id, &id, None, Utc::now()))
        .await?
    {
        Edited::Updated(_) => Ok(HttpResponse::Ok().json(Done { success: true })),
        Edited::NotFound => Err(cart_not_found()),
        Edited::Stale { .. } => Err(ApiError::internal("a delete without If-Match was stale")),
        Edited::Refused(never) => match never {},
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = QuickCheckoutPaymentLink)]
pub(crate) struct PaymentLinkData {
    payment_link: String,
    #[schema(required = true, format = DateTime)]
    expires_at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = QuickCheckoutPaymentLinkAnswer)]
pub(crate) struct PaymentLinkAnswer {
    success: bool,
    data: PaymentLinkData,
}

/// `POST /api/carts/{id}/payment-link`.
#[utoipa::path(
    post,
    path = "/api/carts/{id}/payment-link",
    tag = "compat-quick-checkout",
    operation_id = "quickCheckoutPaymentLink",
    summary = "Quick Checkout Tracker: a Stripe payment link for the cart (seed 003)",
    description = "A Stripe Checkout Session for exactly what the cart holds, valid 24 hours, \
        shown as the cart's `paymentLink` until it expires. Needs the shop's Stripe key \
        (`PUT /api/v1/integrations/stripe`).",
    params(("id" = String, Path, description = "The cart id")),
    responses(
        (status = 200, description = "The link", body = PaymentLinkAnswer),
        KeyRefusals,
        (status = 404, description = "NOT_FOUND: no such cart", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: Stripe is not connected, or the cart was already ordered", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: an empty cart, or nowhere to return to", body = crate::error::ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: Stripe refused or could not be reached", body = crate::error::ErrorEnvelope),
        crate::error::ServerErrors,
    )
)]
pub async fn payment_link(
    state: web::Data<AppState>,
    QuickCaller(caller): QuickCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let made = make_payment_link(
        &state,
        &caller.tenant,
        id.into_inner(),
        cartback_stripe::MAX_LINK_SECS,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PaymentLinkAnswer {
        success: true,
        data: PaymentLinkData {
            payment_link: made.url,
            expires_at: made
                .expires_at
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        },
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = QuickCheckoutSummary)]
pub(crate) struct Summary {
    total_abandoned: u64,
    total_recovered: u64,
    /// Recovered per abandoned, as a percentage with 2 decimals (`30.0`).
    recovery_rate: f64,
    /// In the shop's default currency (carts in other currencies are counted
    /// but not summed: there is no exchange rate).
    #[schema(value_type = f64)]
    total_abandoned_value: Number,
    #[schema(value_type = f64)]
    total_recovered_value: Number,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = QuickCheckoutDay)]
pub(crate) struct Day {
    #[schema(format = Date)]
    date: String,
    abandoned: u64,
    recovered: u64,
    #[schema(value_type = f64)]
    abandoned_value: Number,
    #[schema(value_type = f64)]
    recovered_value: Number,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = QuickCheckoutAnalytics)]
pub(crate) struct Analytics {
    summary: Summary,
    /// One row per day of the shop's time zone, in order.
    daily_stats: Vec<Day>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = QuickCheckoutAnalyticsAnswer)]
pub(crate) struct AnalyticsAnswer {
    success: bool,
    data: Analytics,
}

/// The amount of `currency` among `amounts`, as a JSON number (0 when none).
fn in_currency(amounts: &[Money], currency: Currency) -> Number {
    let amount = amounts
        .iter()
        .find(|m| m.currency() == currency)
        .copied()
        .unwrap_or_else(|| Money::zero(currency));
    amount
        .to_major_string()
        .parse()
        .unwrap_or_else(|_| Number::from(0))
}

/// What the caller asked for: a preset, or local days.
enum Asked {
    Preset(PeriodPreset),
    Days(Option<String>, Option<String>),
}

/// A date as `YYYY-MM-DD`, or an ISO 8601 instant taken as its day in `zone`.
fn day_of(text: &str, zone: Tz) -> Option<NaiveDate> {
    if let Some(date) = crate::input::fields::exact_date(text) {
        return Some(date);
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&zone).date_naive())
}

fn resolve(asked: &Asked, now: DateTime<Utc>, zone: Tz) -> Result<AnalyticsPeriod, ApiError> {
    let invalid = |field: &str, message: String| {
        ApiError::validation(vec![FieldError {
            field: field.to_owned(),
            message,
        }])
    };
    match asked {
        Asked::Preset(preset) => preset
            .period(now, zone)
            .map_err(|e| invalid("period", e.message)),
        Asked::Days(start, end) => {
            let mut problems = Problems::default();
            let mut day = |name: &str, value: &Option<String>, other: &str| match value {
                None => {
                    problems.add(name, format!("is required when {other} is present"));
                    None
                }
                Some(text) => day_of(text, zone).or_else(|| {
                    problems.add(name, "must be an ISO 8601 date (YYYY-MM-DD) or date-time");
                    None
                }),
            };
            let first = day("startDate", start, "endDate");
            let last = day("endDate", end, "startDate");
            problems.check()?;
            match (first, last) {
                (Some(first), Some(last)) => AnalyticsPeriod::local_days(first, last, zone)
                    .map_err(|e| invalid("endDate", e.message)),
                _ => Err(ApiError::internal("dates checked above")),
            }
        }
    }
}

/// `GET /api/analytics?period=|startDate=&endDate=`.
#[utoipa::path(
    get,
    path = "/api/analytics",
    tag = "compat-quick-checkout",
    operation_id = "quickCheckoutAnalytics",
    summary = "Quick Checkout Tracker: summary and daily stats of a period (seed 003)",
    description = "The figures of `GET /api/v1/analytics` over the same period: `period` is \
        `7d`, `30d` or `90d` (also `today`, `month`, `year`; default `30d`), or `startDate` and \
        `endDate` (ISO 8601 dates, or date-times taken as their day in the shop's time zone).",
    params(crate::input::documented::AnalyticsQuery),
    responses(
        (status = 200, description = "The report", body = AnalyticsAnswer),
        KeyRefusals,
        (status = 422, description = "VALIDATION_ERROR: a bad parameter, named in `details`", body = crate::error::ErrorEnvelope),
        crate::error::ServerErrors,
    )
)]
pub async fn analytics(
    state: web::Data<AppState>,
    QuickCaller(caller): QuickCaller,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let query = query_map(request.query_string(), &mut problems);
    problems.check()?;
    let start = query.get("startDate").cloned();
    let end = query.get("endDate").cloned();
    let asked = match query.get("period").map(String::as_str) {
        Some(_) if start.is_some() || end.is_some() => {
            return Err(ApiError::validation(vec![FieldError {
                field: "period".into(),
                message: "give either period or startDate and endDate, not both".into(),
            }]));
        }
        Some(text) => Asked::Preset(PeriodPreset::parse(text).map_err(|e| {
            ApiError::validation(vec![FieldError {
                field: "period".into(),
                message: e.message,
            }])
        })?),
        None if start.is_none() && end.is_none() => Asked::Preset(PeriodPreset::DEFAULT),
        None => Asked::Days(start, end),
    };
    let tenant_id = caller.tenant.id.clone();
    let (_, report, currency) = state
        .db(move |conn| -> Result<_, ApiError> {
            let tenant = cartback_store::tenants::find_tenant(conn, &tenant_id)?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such tenant"))?;
            let now = Utc::now();
            let (period, report) =
                tenant_report(conn, &tenant_id, now, |zone| resolve(&asked, now, zone))?
                    .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such tenant"))?;
            Ok((period, report, tenant.default_currency()))
        })
        .await?;
    let summary = &report.summary;
    Ok(HttpResponse::Ok().json(AnalyticsAnswer {
        success: true,
        data: Analytics {
            summary: Summary {
                total_abandoned: summary.abandoned,
                total_recovered: summary.recovered,
                recovery_rate: (summary.recovery_rate * 10_000.0).round() / 100.0,
                total_abandoned_value: in_currency(&summary.abandoned_value, currency),
                total_recovered_value: in_currency(&summary.recovered_revenue, currency),
            },
            daily_stats: report
                .daily
                .iter()
                .map(|day| Day {
                    date: day.date.format("%Y-%m-%d").to_string(),
                    abandoned: day.abandoned,
                    recovered: day.recovered,
                    abandoned_value: in_currency(&day.abandoned_value, currency),
                    recovered_value: in_currency(&day.recovered_revenue, currency),
                })
                .collect(),
        },
    }))
}

/// `POST /api/webhooks/stripe[?tenant=ten_…]`: Stripe's events, onto the
/// native intake. Stripe cannot send a key, so the shop is named in the URL;
/// on a server with a single shop connected to Stripe the seed's bare URL works.
#[utoipa::path(
    post,
    path = "/api/webhooks/stripe",
    tag = "compat-quick-checkout",
    operation_id = "quickCheckoutStripeWebhook",
    summary = "Quick Checkout Tracker: Stripe's events (seed 003)",
    description = "The native Stripe intake (`checkout.session.completed`, \
        `payment_intent.succeeded` become orders), authenticated by `Stripe-Signature`. \
        `tenant` names the shop; it may be left out when exactly one shop on the server has \
        Stripe signing secrets.",
    params(
        ("tenant" = Option<String>, Query, description = "The shop's tenant id (`ten_…`)"),
        ("Stripe-Signature" = String, Header, description = "Stripe's signature header"),
    ),
    request_body = crate::input::documented::StripeEvent,
    responses(
        (status = 200, description = "An order, or acknowledged and ignored", body = crate::routes::stripe::intake::StripeIntakeAnswer),
        (status = 400, description = "BAD_REQUEST: a bad signature, an unknown shop, no `tenant` where several shops use Stripe, or an unreadable event", body = crate::error::ErrorEnvelope),
        (status = 403, description = "TENANT_INACTIVE: the shop is suspended or closed (Stripe retries)", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over 256 KiB", body = crate::error::ErrorEnvelope),
        crate::error::ServerErrors,
    ),
    security()
)]
pub async fn stripe_webhook(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let query = query_map(request.query_string(), &mut problems);
    problems.check()?;
    let tenant_id = match query.get("tenant").filter(|t| !t.is_empty()) {
        Some(tenant) => tenant.clone(),
        None => state.db(sole_stripe_intake_tenant).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::BadRequest,
                "name the shop: add ?tenant=<tenant id> to this URL in Stripe's dashboard",
            )
        })?,
    };
    receive(&state, &request, tenant_id, payload).await
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

    use crate::input::documented::{CartStatus, StringOrInteger};

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
}
