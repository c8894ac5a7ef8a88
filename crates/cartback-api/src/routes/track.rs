//! `POST /api/v1/track`: Retake's wire contract. CART_UPDATE upserts the session's
//! cart and answers when its first recovery email is due; ORDER_COMPLETE records the
//! order and closes the cart, cancelling what was pending.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use cartback_domain::{
    CartItem, CartStatus, Currency, CustomerName, EmailAddress, MAX_ITEMS_PER_CART, Money,
    RecoveryPolicy, SessionId, items_total, next_send_with, parse_locale, validate_item_id,
    validate_item_name, validate_link, validate_quantity, validate_unit_price,
};
use cartback_store::api_keys::KeyKind;
use cartback_store::carts::CartUpsert;
use cartback_store::orders::{NewOrder, record_order};

use crate::auth::authenticate_request;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::body::{malformed, read_body};
use crate::input::capture_links::{
    LinkPolicy, MIN_PUBLISHABLE_SESSION_CHARS, drop_foreign_links, warnings,
};
use crate::middleware::cors::enforce_origin;
use crate::state::AppState;

/// The request as JSON, every field kept raw so each can be checked on its own and
/// numbers keep their exact text (never an f64).
pub(crate) type RawObject<'a> = BTreeMap<&'a str, &'a RawValue>;

/// Collects field errors so one answer names every problem.
#[derive(Default)]
pub(crate) struct Problems(pub(crate) Vec<FieldError>);

impl Problems {
    pub(crate) fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
}

pub(crate) fn is_null(value: &RawValue) -> bool {
    value.get() == "null"
}

pub(crate) fn parse_object<'a>(text: &'a RawValue) -> Option<RawObject<'a>> {
    serde_json::from_str::<RawObject<'a>>(text.get()).ok()
}

/// A JSON string field; None when absent or null.
pub(crate) fn optional_string(
    object: &RawObject<'_>,
    field: &str,
    path: &str,
    problems: &mut Problems,
) -> Option<String> {
    let value = object.get(field).filter(|v| !is_null(v))?;
    match serde_json::from_str::<String>(value.get()) {
        Ok(text) => Some(text),
        Err(_) => {
            problems.add(path, "must be a string");
            None
        }
    }
}

fn required_string(
    object: &RawObject<'_>,
    field: &str,
    path: &str,
    problems: &mut Problems,
) -> Option<String> {
    if object.get(field).is_none_or(|v| is_null(v)) {
        problems.add(path, "is required");
        return None;
    }
    optional_string(object, field, path, problems)
}

/// The exact text of a JSON number field; None when absent or null.
pub(crate) fn number_text<'a>(
    object: &RawObject<'a>,
    field: &str,
    path: &str,
    problems: &mut Problems,
) -> Option<&'a str> {
    let value = object.get(field).filter(|v| !is_null(v))?;
    let text = value.get();
    if text.starts_with('"')
        || text.starts_with('{')
        || text.starts_with('[')
        || text == "true"
        || text == "false"
    {
        problems.add(path, "must be a number");
        return None;
    }
    Some(text)
}

fn money(text: &str, currency: Currency, path: &str, problems: &mut Problems) -> Option<Money> {
    match Money::parse_major(text, currency) {
        Ok(m) => Some(m),
        Err(error) => {
            problems.add(path, error.to_string());
            None
        }
    }
}

/// The `total` field: an exact amount of zero or more.
fn non_negative_total(text: &str, currency: Currency, problems: &mut Problems) -> Option<Money> {
    let total = money(text, currency, "total", problems)?;
    if let Err(message) = cartback_domain::bounds::check_amount(total.minor()) {
        problems.add("total", message);
        return None;
    }
    Some(total)
}

/// An id a storefront may send as a string or as an integer.
fn item_id(object: &RawObject<'_>, path: &str, problems: &mut Problems) -> Option<String> {
    let Some(value) = object.get("id").filter(|v| !is_null(v)) else {
        problems.add(path, "is required");
        return None;
    };
    let text = value.get();
    let raw = if text.starts_with('"') {
        serde_json::from_str::<String>(text).ok()
    } else if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        Some(text.to_owned())
    } else {
        None
    };
    let Some(raw) = raw else {
        problems.add(path, "must be a string or an integer");
        return None;
    };
    match validate_item_id(&raw) {
        Ok(id) => Some(id),
        Err(e) => {
            problems.add(path, e.to_string());
            None
        }
    }
}

pub(crate) fn parse_item(
    value: &RawValue,
    index: usize,
    currency: Currency,
    problems: &mut Problems,
) -> Option<CartItem> {
    let base = format!("items[{index}]");
    let Some(object) = parse_object(value) else {
        problems.add(base, "must be an object");
        return None;
    };
    let before = problems.0.len();
    let id = item_id(&object, &format!("{base}.id"), problems);
    let name =
        optional_string(&object, "name", &format!("{base}.name"), problems).unwrap_or_default();
    let name = match validate_item_name(&name) {
        Ok(name) => Some(name),
        Err(e) => {
            problems.add(format!("{base}.name"), e.to_string());
            None
        }
    };
    let price_path = format!("{base}.price");
    let price = match number_text(&object, "price", &price_path, problems) {
        Some(text) => money(text, currency, &price_path, problems).and_then(|m| {
            validate_unit_price(m)
                .map_err(|e| problems.add(&price_path, e.to_string()))
                .ok()
        }),
        None => {
            if !object.contains_key("price") {
                problems.add(&price_path, "is required");
            }
            None
        }
    };
    let quantity_path = format!("{base}.quantity");
    let quantity = match number_text(&object, "quantity", &quantity_path, problems) {
        Some(text) => match text.parse::<i64>() {
            Ok(q) => validate_quantity(q)
                .map_err(|e| problems.add(&quantity_path, e.to_string()))
                .ok(),
            Err(_) => {
                problems.add(&quantity_path, "must be a whole number");
                None
            }
        },
        None => {
            if !object.contains_key("quantity") {
                problems.add(&quantity_path, "is required");
            }
            None
        }
    };
    let mut link = |field: &str, keys: &[&str]| -> Option<String> {
        let key = keys.iter().find(|k| object.contains_key(**k))?;
        let path = format!("{base}.{key}");
        let text = optional_string(&object, key, &path, problems)?;
        validate_link(&text)
            .map_err(|e| problems.add(&path, e.to_string()))
            .ok()
            .filter(|_| !field.is_empty())
    };
    let image_url = link("image", &["imageUrl", "image_url", "image"]);
    let url = link("url", &["url", "productUrl"]);
    if problems.0.len() > before {
        return None;
    }
    Some(CartItem {
        id: id?,
        name: name?,
        unit_price_minor: price?,
        quantity: quantity?,
        image_url,
        url,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CartUpdated {
    success: bool,
    cart_id: String,
    scheduled_at: Option<String>,
    /// Item links a publishable capture could not keep; left out when none, so
    /// the answer stays Retake's.
    #[serde(skip_serializing_if = "is_zero")]
    dropped_links: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct OrderCompleted {
    success: bool,
    message: &'static str,
    #[serde(rename = "orderId")]
    order_id: String,
    #[serde(rename = "cartStatus", skip_serializing_if = "Option::is_none")]
    cart_status: Option<&'static str>,
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_currency(object: &RawObject<'_>, problems: &mut Problems) -> Currency {
    match optional_string(object, "currency", "currency", problems) {
        Some(code) => Currency::parse(&code).unwrap_or_else(|e| {
            problems.add("currency", e.to_string());
            Currency::USD
        }),
        None => Currency::USD,
    }
}

fn parse_session(object: &RawObject<'_>, problems: &mut Problems) -> Option<SessionId> {
    let text = required_string(object, "sessionId", "sessionId", problems)?;
    SessionId::parse(&text)
        .map_err(|e| problems.add("sessionId", e.to_string()))
        .ok()
}

/// The array at `key` (reported as `path`), each element checked by `parse`;
/// None when absent, not an array, too long, or any element was wrong.
pub(crate) fn item_list<T>(
    object: &RawObject<'_>,
    key: &str,
    path: &str,
    problems: &mut Problems,
    mut parse: impl FnMut(&RawValue, usize, &mut Problems) -> Option<T>,
) -> Option<Vec<T>> {
    let Some(raw) = object.get(key).filter(|v| !is_null(v)) else {
        problems.add(path, "is required");
        return None;
    };
    match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
        Err(_) => {
            problems.add(path, "must be an array");
            None
        }
        Ok(list) if list.len() > MAX_ITEMS_PER_CART => {
            problems.add(
                path,
                format!(
                    "at most {MAX_ITEMS_PER_CART} items per cart, got {}",
                    list.len()
                ),
            );
            None
        }
        Ok(list) => {
            let parsed: Vec<Option<T>> = list
                .iter()
                .enumerate()
                .map(|(i, v)| parse(v, i, problems))
                .collect();
            parsed.into_iter().collect()
        }
    }
}

/// A CART_UPDATE's cart, validated.
pub(crate) struct ParsedCart {
    pub session: Option<SessionId>,
    pub items: Vec<CartItem>,
    pub total: Money,
    pub currency: Currency,
    pub email: Option<EmailAddress>,
    pub name: Option<CustomerName>,
    pub locale: Option<String>,
    pub consent: Option<bool>,
}

/// Checks a CART_UPDATE's cart fields (everything but `event`), adding every
/// problem to `problems`; None when any field was wrong.
pub(crate) fn parse_cart(
    object: &RawObject<'_>,
    problems: &mut Problems,
    session_required: bool,
) -> Option<ParsedCart> {
    let before = problems.0.len();
    let session = if session_required {
        parse_session(object, problems)
    } else {
        optional_session(object, problems)
    };
    let currency = parse_currency(object, problems);
    let items = item_list(object, "items", "items", problems, |v, i, problems| {
        parse_item(v, i, currency, problems)
    });
    let total = match number_text(object, "total", "total", problems) {
        Some(text) => non_negative_total(text, currency, problems),
        None => {
            if !object.contains_key("total") {
                // Retake requires it; we can work it out when a client leaves it out.
                items
                    .as_ref()
                    .and_then(|items| items_total(items, currency).ok())
            } else {
                None
            }
        }
    };
    let email = optional_string(object, "customerEmail", "customerEmail", problems)
        .filter(|e| !e.trim().is_empty())
        .and_then(|e| {
            EmailAddress::parse(&e)
                .map_err(|err| problems.add("customerEmail", err.to_string()))
                .ok()
        });
    let name = optional_string(object, "customerName", "customerName", problems)
        .filter(|n| !n.trim().is_empty())
        .and_then(|n| {
            CustomerName::parse(&n)
                .map_err(|err| problems.add("customerName", err.to_string()))
                .ok()
        });
    let locale = optional_string(object, "locale", "locale", problems)
        .filter(|l| !l.trim().is_empty())
        .and_then(|l| {
            parse_locale(&l)
                .map_err(|err| problems.add("locale", err.to_string()))
                .ok()
        });
    let consent = match object.get("consent").filter(|v| !is_null(v)) {
        None => None,
        Some(value) => match value.get() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                problems.add("consent", "must be true or false");
                None
            }
        },
    };
    if problems.0.len() > before {
        return None;
    }
    Some(ParsedCart {
        session,
        items: items?,
        total: total?,
        currency,
        email,
        name,
        locale,
        consent,
    })
}

fn optional_session(object: &RawObject<'_>, problems: &mut Problems) -> Option<SessionId> {
    if object.get("sessionId").is_none_or(|v| is_null(v)) {
        return None;
    }
    parse_session(object, problems)
}

#[utoipa::path(
    post,
    path = "/api/v1/track",
    tag = "tracking",
    operation_id = "track",
    summary = "Track a cart update or a completed order (Retake's contract)",
    description = "`CART_UPDATE` upserts the session's cart and answers when its first recovery \
        email is due; `ORDER_COMPLETE` records the order and closes the cart. A publishable key may \
        send `CART_UPDATE` only, only from the tenant's allowed origins, with a session id of at \
        least 16 characters; item links outside the allowed origins and the recovery URL's host are \
        dropped and counted in `droppedLinks`.",
    request_body = crate::openapi::TrackRequest,
    responses(
        (status = 200, description = "`CartUpdated` for CART_UPDATE, `OrderCompleted` for ORDER_COMPLETE",
            body = crate::openapi::TrackAnswer),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::openapi::ErrorEnvelope),
        (status = 403, description = "FORBIDDEN: a publishable key sent ORDER_COMPLETE, or came from an origin the tenant did not allow",
            body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::openapi::ErrorEnvelope),
        crate::openapi::AnyKeyErrors,
    ),
    security(
        ("ApiKey" = ["secret"]), ("Bearer" = ["secret"]),
        ("ApiKey" = ["publishable"]), ("Bearer" = ["publishable"]),
    )
)]
pub async fn track(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let caller = authenticate_request(&state, &request).await?;
    if caller.kind == KeyKind::Publishable {
        // A publishable key is a browser's: only from the tenant's origins.
        enforce_origin(&request, &caller.tenant)?;
    }
    let body = read_body(&request, payload, state.limits.max_body_bytes).await?;
    let root: &RawValue = serde_json::from_slice(&body).map_err(|e| malformed(&e))?;
    let Some(object) = parse_object(root) else {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "the body must be a JSON object",
        ));
    };
    let mut problems = Problems::default();
    let event = required_string(&object, "event", "event", &mut problems);
    match event.as_deref() {
        Some("CART_UPDATE") => {}
        Some("ORDER_COMPLETE") if caller.kind == KeyKind::Publishable => {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "a publishable key may only send CART_UPDATE",
            ));
        }
        Some("ORDER_COMPLETE") => {
            return order_complete(&state, caller.tenant, &object, problems).await;
        }
        Some(other) => {
            let shown: String = other.chars().take(40).collect();
            problems.add(
                "event",
                format!("unknown event {shown:?}: expected CART_UPDATE or ORDER_COMPLETE"),
            );
        }
        None => {}
    }
    let cart = parse_cart(&object, &mut problems, true);
    if caller.kind == KeyKind::Publishable {
        check_publishable_session(&object, &mut problems);
    }
    if !problems.0.is_empty() {
        return Err(ApiError::validation(problems.0));
    }
    let Some((session, mut cart)) = cart.and_then(|mut cart| Some((cart.session.take()?, cart)))
    else {
        return Err(ApiError::validation(vec![FieldError {
            field: "body".into(),
            message: "incomplete cart".into(),
        }]));
    };
    let dropped = screen_links(caller.kind, &caller.tenant, &mut cart.items, "items");
    let (row, policy) = store_cart(&state, &caller.tenant, session, cart).await?;
    let scheduled_at = scheduled_send(&row, &policy)?;
    Ok(HttpResponse::Ok().json(CartUpdated {
        success: true,
        cart_id: row.id,
        scheduled_at: scheduled_at.map(rfc3339),
        dropped_links: dropped.len(),
        warnings: warnings(&dropped),
    }))
}

/// A publishable key's session id must be long enough not to be guessed
/// (a short one could be another shopper's cart). Other session problems are
/// `parse_session`'s to report.
pub(crate) fn check_publishable_session(object: &RawObject<'_>, problems: &mut Problems) {
    let Some(text) = object
        .get("sessionId")
        .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    else {
        return;
    };
    let count = text.chars().count();
    if (1..MIN_PUBLISHABLE_SESSION_CHARS).contains(&count) {
        problems.add(
            "sessionId",
            format!(
                "must be at least {MIN_PUBLISHABLE_SESSION_CHARS} characters with a publishable key \
                 (a random id, like the 32 hex characters tracker.js makes), got {count}"
            ),
        );
    }
}

/// With a publishable key, drops the item links that do not point at the shop
/// (module `capture_links`) and names them; a secret key's cart is kept as sent.
pub(crate) fn screen_links(
    kind: KeyKind,
    tenant: &cartback_store::tenants::Tenant,
    items: &mut [CartItem],
    prefix: &str,
) -> Vec<String> {
    if kind != KeyKind::Publishable {
        return Vec::new();
    }
    let dropped = drop_foreign_links(items, &LinkPolicy::for_tenant(tenant), prefix);
    if !dropped.is_empty() {
        tracing::info!(
            tenant = %tenant.id,
            dropped = dropped.len(),
            "dropped item links outside the shop's origins from a publishable capture"
        );
    }
    dropped
}

/// Stores a validated cart through the group-commit writer (the transaction is
/// shared with concurrent captures), with its abandonment check due after the
/// tenant's delay: the stored row and the policy it was scheduled by. Every
/// cart capture (`/track`, the public endpoint) goes through here.
pub(crate) async fn store_cart(
    state: &AppState,
    tenant: &cartback_store::tenants::Tenant,
    session: SessionId,
    cart: ParsedCart,
) -> Result<(cartback_store::carts::CartRow, RecoveryPolicy), ApiError> {
    let policy = tenant.recovery_policy()?;
    let now = Utc::now();
    let upsert = CartUpsert {
        tenant_id: tenant.id.clone(),
        session_id: session.into_inner(),
        items: cart.items,
        total_minor: cart.total.minor(),
        currency: cart.currency.code().to_owned(),
        customer_email: cart.email.map(|e| e.as_str().to_owned()),
        customer_name: cart.name.map(|n| n.as_str().to_owned()),
        locale: cart.locale,
        consent: cart.consent,
        now,
        next_action_at: cartback_domain::bounds::shift(now, policy.abandon_delay()),
    };
    let row = state.ingest.upsert(upsert).await?;
    Ok((row, policy))
}

fn scheduled_send(
    row: &cartback_store::carts::CartRow,
    policy: &RecoveryPolicy,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    Ok(next_send_with(&row.facts()?, &row.send_context(), policy)
        .ok()
        .map(|s| s.at))
}

async fn order_complete(
    state: &AppState,
    tenant: cartback_store::tenants::Tenant,
    object: &RawObject<'_>,
    mut problems: Problems,
) -> Result<HttpResponse, ApiError> {
    let session = parse_session(object, &mut problems);
    let currency = parse_currency(object, &mut problems);
    let order_ref = match object.get("orderId").filter(|v| !is_null(v)) {
        None => None,
        Some(raw) => {
            let text = raw.get();
            let value = if text.starts_with('"') {
                serde_json::from_str::<String>(text).ok()
            } else if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                Some(text.to_owned())
            } else {
                None
            };
            match value {
                Some(v)
                    if !v.is_empty()
                        && v.chars().count() <= 200
                        && !v.chars().any(char::is_control) =>
                {
                    Some(v)
                }
                _ => {
                    problems.add(
                        "orderId",
                        "must be a string or integer of 1 to 200 characters",
                    );
                    None
                }
            }
        }
    };
    let total = number_text(object, "total", "total", &mut problems)
        .and_then(|text| non_negative_total(text, currency, &mut problems));
    // Weaker keys for orders placed away from the tracked session: the recovery
    // link's cart_token, then the shopper's address.
    let cart_token =
        optional_string(object, "cartToken", "cartToken", &mut problems).filter(|t| !t.is_empty());
    if cart_token.as_ref().is_some_and(|t| t.len() > 200) {
        problems.add("cartToken", "must be at most 200 characters");
    }
    let email = optional_string(object, "customerEmail", "customerEmail", &mut problems)
        .filter(|e| !e.trim().is_empty())
        .and_then(|e| {
            EmailAddress::parse(&e)
                .map_err(|err| problems.add("customerEmail", err.to_string()))
                .ok()
        });
    if !problems.0.is_empty() {
        return Err(ApiError::validation(problems.0));
    }
    let policy = tenant.recovery_policy()?;
    let new = NewOrder {
        tenant_id: tenant.id.clone(),
        order_ref,
        session_id: session.map(SessionId::into_inner),
        cart_id: None,
        cart_token,
        customer_email: email.map(|e| e.as_str().to_owned()),
        total_minor: total.map(|m| m.minor()),
        currency: currency.code().to_owned(),
        source: "track",
        attribution_mode: policy.attribution_mode,
        attribution_window: policy.attribution_window(),
        now: Utc::now(),
    };
    let store = state.store.clone();
    let outcome = web::block(move || record_order(&mut *store.conn()?, &new)).await??;
    let (message, cart_status) = match (&outcome.closed_cart, outcome.duplicate) {
        (_, true) => ("Order already recorded; nothing changed", None),
        (Some((_, status)), false) => (
            "Order completed, pending recovery emails cancelled",
            Some(status_str(*status)),
        ),
        (None, false) => ("Order recorded; no open cart matched this session", None),
    };
    Ok(HttpResponse::Ok().json(OrderCompleted {
        success: true,
        message,
        order_id: outcome.order.order_ref,
        cart_status,
    }))
}

fn status_str(status: CartStatus) -> &'static str {
    status.as_str()
}
