//! The merchant's carts API (secret key): list with filters and pages, get,
//! change, hide or erase one, its items and timeline, and upsert by the shop's
//! own id. `{id}` is cartback's cart id, the storefront's session id or the shop's
//! own id. Another tenant's cart is a 404 for every verb.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use cartback_domain::{
    Attributes, CartItem, CartStatus, Currency, CustomerName, EmailAddress, MAX_ITEMS_PER_CART,
    Money, apply_attributes, attributes_to_wire, items_total,
};
use cartback_store::StoreResult;
use cartback_store::cart_admin::{
    CartFilter, CartPatch, Edited, ExternalUpsert, PatchOutcome, StatusFilter, edit_items,
    erase_cart, find_cart_by_any_id, list_carts, patch_cart, soft_delete_cart, upsert_external,
};
use cartback_store::carts::{CartRow, CartUpsert};
use cartback_store::erasure::flush_erased;
use cartback_store::events::list_events;
use cartback_store::orders::list_orders_for_cart;
use cartback_store::sends::list_sends_for_cart;

use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::fields::{self, MAX_PAGE, Problems, nullable, query_map, query_number, time};
use crate::routes::email_provider::secret_caller;
use crate::routes::track::{self, ParsedCart, RawObject};
use crate::state::AppState;

const DEFAULT_PER_PAGE: i64 = 10;
const MAX_PER_PAGE: i64 = 250;

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such cart")
}

fn amount(minor: i64, currency: &str) -> Value {
    match Currency::parse(currency) {
        Ok(c) => Value::String(Money::from_minor(minor, c).to_major_string()),
        Err(_) => Value::Null,
    }
}

/// A cart as the API shows it.
pub(crate) fn cart_view(cart: &CartRow) -> Value {
    let items: Vec<Value> = cart
        .items
        .iter()
        .map(|item| item_view(item, &cart.currency))
        .collect();
    json!({
        "id": cart.id,
        "externalId": cart.external_id,
        "sessionId": if cart.erased_at.is_some() { Value::Null } else { Value::String(cart.session_id.clone()) },
        "status": cart.status,
        "items": items,
        "itemCount": cart.item_count,
        "total": amount(cart.total_minor, &cart.currency),
        "totalMinor": cart.total_minor,
        "currency": cart.currency,
        "customerEmail": cart.customer_email,
        "customerName": cart.customer_name,
        "locale": cart.locale,
        "consent": cart.consent.map(|c| c != 0),
        "attributes": attributes_to_wire(&cart.attributes),
        "emailsSent": cart.next_step,
        "cycle": cart.cycle,
        "createdAt": time(cart.created_at),
        "updatedAt": time(cart.updated_at),
        "lastActivityAt": time(cart.last_activity_at),
        "abandonedAt": cart.abandoned_at.map(time),
        "orderedAt": cart.ordered_at.map(time),
        "unsubscribedAt": cart.unsubscribed_at.map(time),
        "lastEmailAt": cart.last_sent_at.map(time),
        "nextActionAt": cart.next_action_at.map(time),
        "deleted": cart.deleted_at.is_some(),
        "erasedAt": cart.erased_at.map(time),
        "version": cart.version,
    })
}

/// The cart's entity tag: its version, quoted.
fn etag(cart: &CartRow) -> String {
    format!("\"{}\"", cart.version)
}

/// 200 with the cart and its `ETag`.
fn cart_answer(cart: &CartRow) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::ETAG, etag(cart)))
        .json(json!({"success": true, "data": cart_view(cart)}))
}

/// A tag `If-Match` may carry that can never be a cart's version (they start
/// at 1): a foreign or malformed tag never matches.
const NO_VERSION: i64 = -1;

/// The version an `If-Match` header asks for: None without the header or with
/// `*` (any current cart), else the one tag's version (`"7"`, or weak `W/"7"`:
/// versions are compared as they are). A tag that is not a version never
/// matches; a list of several tags is refused.
fn if_match(request: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let mut tags = Vec::new();
    for value in request.headers().get_all(actix_web::http::header::IF_MATCH) {
        let text = value
            .to_str()
            .map_err(|_| ApiError::new(ErrorCode::BadRequest, "If-Match must be visible ASCII"))?;
        tags.extend(
            text.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        );
    }
    match tags.as_slice() {
        [] => Ok(None),
        [tag] if tag == "*" => Ok(None),
        [tag] => {
            let opaque = tag.strip_prefix("W/").unwrap_or(tag);
            Ok(Some(
                opaque
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .and_then(|t| t.parse::<i64>().ok())
                    .filter(|v| *v > 0)
                    .unwrap_or(NO_VERSION),
            ))
        }
        _ => Err(ApiError::new(
            ErrorCode::BadRequest,
            "If-Match takes one entity tag (the ETag of GET /api/v1/carts/{id}) or *",
        )),
    }
}

/// 412: the cart changed since the client read it.
fn stale(version: i64) -> ApiError {
    ApiError::new(
        ErrorCode::PreconditionFailed,
        format!(
            "the cart changed since it was read (If-Match); its current ETag is \"{version}\": read it again and retry"
        ),
    )
}

fn item_view(item: &CartItem, currency: &str) -> Value {
    json!({
        "id": item.id,
        "name": item.name,
        "price": amount(item.unit_price_minor, currency),
        "priceMinor": item.unit_price_minor,
        "quantity": item.quantity,
        "imageUrl": item.image_url,
        "url": item.url,
    })
}

/// `2026-03-15T14:22:00Z`, `2026-03-15` (midnight UTC) or unix seconds.
fn instant(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.naive_utc());
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0);
    }
    text.parse::<i64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .map(|at| at.naive_utc())
}

const LIST_PARAMS: &[&str] = &[
    "status",
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
    "locale",
    "email",
    "page",
    "per_page",
];

/// `GET /api/v1/carts`.
#[utoipa::path(
    get,
    path = "/api/v1/carts",
    tag = "carts",
    operation_id = "listCarts",
    summary = "A page of carts, newest first, with filters",
    params(crate::openapi::CartListQuery),
    responses(
        (status = 200, description = "The page (`data: []` past the end)", body = crate::openapi::CartPage),
        (status = 422, description = "VALIDATION_ERROR: an unknown parameter or a bad value, named in `details`", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let mut problems = Problems::default();
    let query = query_map(request.query_string(), &mut problems);
    for key in query.keys() {
        if !LIST_PARAMS.contains(&key.as_str()) {
            let shown: String = key.chars().take(40).collect();
            problems.add(
                shown,
                format!(
                    "unknown parameter; expected one of {}",
                    LIST_PARAMS.join(", ")
                ),
            );
        }
    }
    let mut filter = CartFilter::default();
    if let Some(status) = query.get("status").map(|s| s.trim()) {
        filter.status = match status {
            "pending" => Some(StatusFilter::Pending),
            "all" | "" => None,
            other => match CartStatus::parse(other) {
                Ok(s) => Some(StatusFilter::Is(s)),
                Err(_) => {
                    problems.add(
                        "status",
                        "must be one of active, abandoned, pending, recovered, converted, expired, all",
                    );
                    None
                }
            },
        };
    }
    let mut when = |name: &str| -> Option<NaiveDateTime> {
        let text = query.get(name)?;
        let at = instant(text);
        if at.is_none() {
            problems.add(
                name,
                "must be an RFC 3339 time, a date (YYYY-MM-DD) or unix seconds",
            );
        }
        at
    };
    filter.created_after = when("created_after");
    filter.created_before = when("created_before");
    filter.updated_after = when("updated_after");
    filter.updated_before = when("updated_before");
    if let Some(locale) = query
        .get("locale")
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
    {
        match cartback_domain::parse_locale(locale) {
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
    let store = state.store.clone();
    let tenant_id = caller.tenant.id.clone();
    let (rows, total) =
        web::block(move || list_carts(&mut *store.conn()?, &tenant_id, &filter, page, per_page))
            .await??;
    let total_pages = (total + per_page - 1) / per_page;
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "data": rows.iter().map(cart_view).collect::<Vec<_>>(),
        "page": page,
        "perPage": per_page,
        "total": total,
        "totalPages": total_pages,
    })))
}

async fn load(state: &AppState, tenant_id: &str, id: String) -> Result<CartRow, ApiError> {
    let store = state.store.clone();
    let tenant_id = tenant_id.to_owned();
    web::block(move || find_cart_by_any_id(&mut *store.conn()?, &tenant_id, &id, false))
        .await??
        .ok_or_else(not_found)
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
        (status = 200, description = "The cart", body = crate::openapi::CartAnswer, headers(("ETag" = String, description = "The cart's version, quoted (`\"8\"`), for `If-Match`"))),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn get(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let cart = load(&state, &caller.tenant.id, id.into_inner()).await?;
    Ok(cart_answer(&cart))
}

async fn json_object(
    state: &AppState,
    request: &HttpRequest,
    payload: web::Payload,
    optional: bool,
) -> Result<(web::BytesMut, serde_json::Map<String, Value>), ApiError> {
    let body = crate::input::body::read_body(request, payload, state.limits.max_body_bytes).await?;
    let object = fields::object(&body, optional)?;
    Ok((body, object))
}

/// `PATCH /api/v1/carts/{id}`: `status`, `customerEmail`, `customerName`,
/// `attributes` (merged by name; an entry without a value removes it).
#[utoipa::path(
    patch,
    path = "/api/v1/carts/{id}",
    tag = "carts",
    operation_id = "patchCart",
    summary = "Change a cart's status, shopper or attributes",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id"), ("If-Match" = Option<String>, Header, description = "The cart's `ETag` from a GET (`\"7\"`): the change is made only if the cart is still at that version, else 412. Without it the last writer wins (each change is still atomic).")),
    request_body = crate::openapi::CartPatchRequest,
    responses(
        (status = 200, description = "The changed cart", body = crate::openapi::CartAnswer, headers(("ETag" = String, description = "The cart's version, quoted (`\"8\"`), for `If-Match`"))),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "CONFLICT: a closed cart is not reopened by hand", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::openapi::ErrorEnvelope),
        (status = 412, description = "PRECONDITION_FAILED: `If-Match` names an older version; nothing was changed", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn patch(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
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
    let store = state.store.clone();
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
    let outcome =
        web::block(move || patch_cart(&mut *store.conn()?, &tenant_id, &id, &change, Utc::now()))
            .await??;
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
fn clearable_text(
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

fn attributes_field(
    object: &serde_json::Map<String, Value>,
    problems: &mut Problems,
) -> Option<Vec<Value>> {
    match nullable(object, "attributes")? {
        None => Some(Vec::new()),
        Some(Value::Array(list)) => Some(list.clone()),
        Some(_) => {
            problems.add("attributes", "must be an array of {name, <type>Value}");
            None
        }
    }
}

fn merge_attributes(current: &mut Attributes, wire: &[Value]) -> Result<(), ApiError> {
    apply_attributes(current, wire).map_err(|(at, e)| {
        ApiError::validation(vec![FieldError {
            field: at.map_or_else(|| "attributes".to_owned(), |i| format!("attributes[{i}]")),
            message: e.to_string(),
        }])
    })
}

/// `DELETE /api/v1/carts/{id}`: hidden from the API and never emailed again.
#[utoipa::path(
    delete,
    path = "/api/v1/carts/{id}",
    tag = "carts",
    operation_id = "deleteCart",
    summary = "Soft delete: hidden from the API and never emailed again",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id"), ("If-Match" = Option<String>, Header, description = "The cart's `ETag` from a GET (`\"7\"`): the change is made only if the cart is still at that version, else 412. Without it the last writer wins (each change is still atomic).")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::openapi::ErrorEnvelope),
        (status = 412, description = "PRECONDITION_FAILED: `If-Match` names an older version; nothing was changed", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn delete(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let store = state.store.clone();
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
    let expected = if_match(&request)?;
    let deleted = web::block(move || {
        soft_delete_cart(&mut *store.conn()?, &tenant_id, &id, expected, Utc::now())
    })
    .await??;
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
        (status = 200, description = "The erased cart", body = crate::openapi::CartAnswer),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn erase(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let store = state.store.clone();
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
    let (erased, flushed) = web::block(move || -> StoreResult<_> {
        let mut conn = store.conn()?;
        let erased = erase_cart(&mut conn, &tenant_id, &id, Utc::now())?;
        let flushed = erased.is_none() || flush_erased(&mut conn)?;
        Ok((erased, flushed))
    })
    .await??;
    let erased = erased.ok_or_else(not_found)?;
    if !flushed {
        tracing::warn!(
            "the SQLite WAL could not be emptied after an erasure; the next checkpoint that starts it over does"
        );
    }
    tracing::info!(cart = %erased.id, "cart erased");
    Ok(HttpResponse::Ok().json(json!({"success": true, "data": cart_view(&erased)})))
}

/// `GET /api/v1/carts/{id}/items`.
#[utoipa::path(
    get,
    path = "/api/v1/carts/{id}/items",
    tag = "carts",
    operation_id = "listCartItems",
    summary = "A cart's lines and total",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id")),
    responses(
        (status = 200, description = "The lines", body = crate::openapi::CartItems),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn items(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let cart = load(&state, &caller.tenant.id, id.into_inner()).await?;
    let view = cart_view(&cart);
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "data": view["items"],
        "total": view["total"],
        "totalMinor": cart.total_minor,
        "currency": cart.currency,
    })))
}

/// Changes a cart's lines atomically: `edit` runs on the cart as it is under
/// its row lock, so parallel edits all stay and removed lines never come back.
async fn change_items(
    state: &AppState,
    request: &HttpRequest,
    tenant_id: &str,
    id: String,
    edit: impl FnOnce(&CartRow) -> Result<Vec<CartItem>, ApiError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(request)?;
    let store = state.store.clone();
    let tenant_id = tenant_id.to_owned();
    let edited = web::block(move || {
        edit_items(
            &mut *store.conn()?,
            &tenant_id,
            &id,
            expected,
            Utc::now(),
            |cart| {
                let items = edit(cart)?;
                let currency = Currency::parse(&cart.currency).map_err(ApiError::internal)?;
                let total = items_total(&items, currency).map_err(|e| {
                    ApiError::validation(vec![FieldError {
                        field: "price".into(),
                        message: e.to_string(),
                    }])
                })?;
                Ok((items, total.minor()))
            },
        )
    })
    .await??;
    match edited {
        Edited::Updated(cart) => Ok(cart_answer(&cart)),
        Edited::NotFound => Err(not_found()),
        Edited::Stale { version } => Err(stale(version)),
        Edited::Refused(error) => Err(error),
    }
}

/// `POST /api/v1/carts/{id}/items`: adds a line, or replaces the line with the
/// same item id. Body: one item as `/track` takes it (`id`, `name`, `price` in the
/// cart's currency, `quantity`, `imageUrl`, `url`).
#[utoipa::path(
    post,
    path = "/api/v1/carts/{id}/items",
    tag = "carts",
    operation_id = "addCartItem",
    summary = "Add a line, or replace the line with the same item id",
    description = "`price` is in the cart's currency; the total is recomputed from the lines.",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id"), ("If-Match" = Option<String>, Header, description = "The cart's `ETag` from a GET (`\"7\"`): the change is made only if the cart is still at that version, else 412. Without it the last writer wins (each change is still atomic).")),
    request_body = crate::openapi::TrackItem,
    responses(
        (status = 200, description = "The cart", body = crate::openapi::CartAnswer, headers(("ETag" = String, description = "The cart's version, quoted (`\"8\"`), for `If-Match`"))),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::openapi::ErrorEnvelope),
        (status = 412, description = "PRECONDITION_FAILED: `If-Match` names an older version; nothing was changed", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn add_item(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let (body, _) = json_object(&state, &request, payload, false).await?;
    let id = id.into_inner();
    // The price is read in the cart's currency, which never changes.
    let cart = load(&state, &caller.tenant.id, id.clone()).await?;
    let currency = Currency::parse(&cart.currency).map_err(ApiError::internal)?;
    let raw: &RawValue =
        serde_json::from_slice(&body).map_err(|e| crate::input::body::malformed(&e))?;
    let mut problems = track::Problems::default();
    let item = track::parse_item(raw, 0, currency, &mut problems);
    let Some(item) = item.filter(|_| problems.0.is_empty()) else {
        // Paths read `items[0].price`; here the body is the item.
        let details = problems
            .0
            .into_iter()
            .map(|p| FieldError {
                field: p.field.trim_start_matches("items[0].").to_owned(),
                message: p.message,
            })
            .collect();
        return Err(ApiError::validation(details));
    };
    change_items(&state, &request, &caller.tenant.id, id, move |cart| {
        let mut items = cart.items.clone();
        let full = items.len() >= MAX_ITEMS_PER_CART;
        match items.iter_mut().find(|line| line.id == item.id) {
            Some(line) => *line = item,
            None if full => {
                return Err(ApiError::validation(vec![FieldError {
                    field: "items".into(),
                    message: format!("at most {MAX_ITEMS_PER_CART} items per cart"),
                }]));
            }
            None => items.push(item),
        }
        Ok(items)
    })
    .await
}

/// `DELETE /api/v1/carts/{id}/items/{itemId}`.
#[utoipa::path(
    delete,
    path = "/api/v1/carts/{id}/items/{item_id}",
    tag = "carts",
    operation_id = "removeCartItem",
    summary = "Remove a line",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id"), ("item_id" = String, Path, description = "The line's item id"), ("If-Match" = Option<String>, Header, description = "The cart's `ETag` from a GET (`\"7\"`): the change is made only if the cart is still at that version, else 412. Without it the last writer wins (each change is still atomic).")),
    responses(
        (status = 200, description = "The cart", body = crate::openapi::CartAnswer, headers(("ETag" = String, description = "The cart's version, quoted (`\"8\"`), for `If-Match`"))),
        (status = 404, description = "NOT_FOUND: no such cart, or the cart has no line with this id", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: the remaining lines' total is out of range", body = crate::openapi::ErrorEnvelope),
        (status = 412, description = "PRECONDITION_FAILED: `If-Match` names an older version; nothing was changed", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn remove_item(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let (id, item_id) = path.into_inner();
    change_items(&state, &request, &caller.tenant.id, id, move |cart| {
        let mut items = cart.items.clone();
        let before = items.len();
        items.retain(|line| line.id != item_id);
        if items.len() == before {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "the cart has no item with this id",
            ));
        }
        Ok(items)
    })
    .await
}

/// `GET /api/v1/carts/{id}/timeline`: history events, emails and orders in one
/// list, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/carts/{id}/timeline",
    tag = "carts",
    operation_id = "cartTimeline",
    summary = "A cart's creation, history events, emails and orders in one list, oldest first",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id")),
    responses(
        (status = 200, description = "The timeline", body = crate::openapi::Timeline),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn timeline(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let store = state.store.clone();
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
    let found = web::block(move || -> StoreResult<_> {
        let mut conn = store.conn()?;
        let Some(cart) = find_cart_by_any_id(&mut conn, &tenant_id, &id, false)? else {
            return Ok(None);
        };
        let events = list_events(&mut conn, &tenant_id, &cart.id)?;
        let sends = list_sends_for_cart(&mut conn, &tenant_id, &cart.id)?;
        let orders = list_orders_for_cart(&mut conn, &tenant_id, &cart.id)?;
        Ok(Some((cart, events, sends, orders)))
    })
    .await??;
    let (cart, events, sends, orders) = found.ok_or_else(not_found)?;
    let mut entries: Vec<(NaiveDateTime, Value)> = Vec::new();
    entries.push((
        cart.created_at,
        json!({"type": "created", "at": time(cart.created_at)}),
    ));
    for e in events {
        entries.push((
            e.created_at,
            json!({"type": "event", "kind": e.kind.as_str(), "step": e.step.map(|s| s + 1), "detail": e.detail, "at": time(e.created_at)}),
        ));
    }
    for s in sends {
        let at = s.sent_at.unwrap_or(s.updated_at);
        entries.push((
            at,
            json!({"type": "email", "step": s.step + 1, "cycle": s.cycle, "status": s.status.as_str(),
                   "attempts": s.attempts, "provider": s.provider, "coupon": s.coupon_code,
                   "clicks": s.click_count, "lastError": s.last_error, "at": time(at)}),
        ));
    }
    for o in orders {
        entries.push((
            o.created_at,
            json!({"type": "order", "orderId": o.order_ref, "attribution": o.attribution,
                   "matchedBy": o.matched_by, "source": o.source,
                   "total": o.total_minor.map(|t| amount(t, &o.currency)), "totalMinor": o.total_minor,
                   "currency": o.currency, "at": time(o.created_at)}),
        ));
    }
    // Stable: equal times keep the order they were added in.
    entries.sort_by_key(|(at, _)| *at);
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "cartId": cart.id,
        "status": cart.status,
        "data": entries.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    })))
}

/// `PUT /api/v1/carts`: creates or updates the cart with the shop's own id
/// (`externalId`). The other fields are those of a CART_UPDATE (`sessionId` is
/// optional here), plus `attributes`.
#[utoipa::path(
    put,
    path = "/api/v1/carts",
    tag = "carts",
    operation_id = "upsertCart",
    summary = "Create or update a cart by the shop's own id (`externalId`)",
    request_body = crate::openapi::CartUpsertRequest,
    responses(
        (status = 200, description = "Updated", body = crate::openapi::CartUpserted),
        (status = 201, description = "Created", body = crate::openapi::CartUpserted),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "CONFLICT: the `sessionId` belongs to another of the shop's carts, or a concurrent change", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn upsert(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let (body, object) = json_object(&state, &request, payload, false).await?;
    let raw: RawObject<'_> =
        serde_json::from_slice(&body).map_err(|e| crate::input::body::malformed(&e))?;
    let mut problems = Problems::default();
    let external_id = match object.get("externalId") {
        Some(Value::String(id)) if valid_external_id(id) => Some(id.clone()),
        Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
        None | Some(Value::Null) => {
            problems.add("externalId", "is required");
            None
        }
        Some(_) => {
            problems.add(
                "externalId",
                "must be 1 to 200 characters without control characters",
            );
            None
        }
    };
    let wire_attributes = attributes_field(&object, &mut problems);
    let mut cart_problems = track::Problems::default();
    let cart = track::parse_cart(&raw, &mut cart_problems, false);
    problems.0.extend(cart_problems.0);
    for key in object.keys() {
        let known = [
            "externalId",
            "sessionId",
            "items",
            "total",
            "currency",
            "customerEmail",
            "customerName",
            "locale",
            "consent",
            "attributes",
            "event",
        ];
        if !known.contains(&key.as_str()) {
            let shown: String = key.chars().take(40).collect();
            problems.add(shown, "unknown field");
        }
    }
    problems.check()?;
    let (
        Some(external_id),
        Some(ParsedCart {
            session,
            items,
            total,
            currency,
            email,
            name,
            locale,
            consent,
        }),
    ) = (external_id, cart)
    else {
        return Err(ApiError::validation(vec![FieldError {
            field: "body".into(),
            message: "incomplete cart".into(),
        }]));
    };
    let policy = caller.tenant.recovery_policy()?;
    let now = Utc::now();
    let upsert = ExternalUpsert {
        cart: CartUpsert {
            tenant_id: caller.tenant.id.clone(),
            session_id: session.map_or_else(|| format!("ext:{external_id}"), |s| s.into_inner()),
            items,
            total_minor: total.minor(),
            currency: currency.code().to_owned(),
            customer_email: email.map(|e| e.as_str().to_owned()),
            customer_name: name.map(|n| n.as_str().to_owned()),
            locale,
            consent,
            now,
            next_action_at: cartback_domain::bounds::shift(now, policy.abandon_delay()),
        },
        external_id,
        attributes: None,
    };
    let store = state.store.clone();
    let result = web::block(move || -> StoreResult<Result<(CartRow, bool), ApiError>> {
        let mut conn = store.conn()?;
        let mut upsert = upsert;
        if let Some(wire) = &wire_attributes {
            let existing =
                find_cart_by_any_id(&mut conn, &upsert.cart.tenant_id, &upsert.external_id, true)?
                    .filter(|c| c.external_id.as_deref() == Some(upsert.external_id.as_str()));
            let mut attributes = existing
                .as_ref()
                .map(|cart| cart.attributes.clone())
                .unwrap_or_default();
            if let Err(e) = merge_attributes(&mut attributes, wire) {
                return Ok(Err(e));
            }
            upsert.attributes = Some(attributes);
        }
        match upsert_external(&mut conn, &upsert) {
            Ok(done) => Ok(Ok(done)),
            Err(cartback_store::StoreError::Rejected(why)) => {
                Ok(Err(ApiError::new(ErrorCode::Conflict, why)))
            }
            Err(e) if e.is_unique_violation() => Ok(Err(ApiError::new(
                ErrorCode::Conflict,
                "another request changed this cart at the same time; try again",
            ))),
            Err(e) => Err(e),
        }
    })
    .await???;
    let (cart, created) = result;
    let status = if created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status)
        .json(json!({"success": true, "created": created, "data": cart_view(&cart)})))
}

fn valid_external_id(id: &str) -> bool {
    let count = id.chars().count();
    (1..=200).contains(&count) && !id.chars().any(char::is_control)
}
