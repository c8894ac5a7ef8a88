//! `POST /api/v1/track`: Retake's wire contract. CART_UPDATE upserts the session's
//! cart and answers when its first recovery email is due; ORDER_COMPLETE records the
//! order and closes the cart, cancelling what was pending.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use cartback_domain::{
    CartItem, CartStatus, EmailAddress, OrderSource, RecoveryPolicy, SessionId, next_send_with,
};
use cartback_store::api_keys::KeyKind;
use cartback_store::carts::CartUpsert;
use cartback_store::orders::{NewOrder, record_order};

use crate::auth::AnyCaller;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::Problems;
use crate::input::body::{malformed, read_body};
use crate::input::capture_links::{
    LinkPolicy, MIN_PUBLISHABLE_SESSION_CHARS, drop_foreign_links, warnings,
};
use crate::input::cart::{
    ParsedCart, non_negative_total, parse_cart, parse_currency, parse_session,
};
use crate::input::raw::{
    RawObject, is_null, number_text, optional_string, parse_object, required_string,
};
use crate::middleware::cors::enforce_origin;
use crate::state::AppState;

/// `CartUpdated` for `CART_UPDATE`, `OrderCompleted` for `ORDER_COMPLETE`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum TrackAnswer {
    CartUpdated(CartUpdated),
    OrderCompleted(OrderCompleted),
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CartUpdated {
    success: bool,
    cart_id: String,
    /// When the next recovery email is due; null when none can be sent.
    #[schema(required = true, format = DateTime)]
    scheduled_at: Option<String>,
    /// With a publishable key: how many item links (`url`, image) were
    /// dropped because they point outside the shop's allowed origins and
    /// its recovery URL's host. Left out when none were, so the answer stays
    /// Retake's.
    #[serde(skip_serializing_if = "is_zero")]
    #[schema(value_type = u32, minimum = 1)]
    dropped_links: usize,
    /// One message per dropped link, naming it by path (`items[0].url`).
    /// Left out when none were dropped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize, ToSchema)]
pub(crate) struct OrderCompleted {
    success: bool,
    message: &'static str,
    /// The shop's order id, or one generated when it sent none.
    #[serde(rename = "orderId")]
    order_id: String,
    /// What the order made of the session's cart (`recovered`, `converted`);
    /// left out when no open cart was closed.
    #[serde(rename = "cartStatus", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    cart_status: Option<&'static str>,
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
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
    request_body = request::TrackRequest,
    responses(
        (status = 200, description = "`CartUpdated` for CART_UPDATE, `OrderCompleted` for ORDER_COMPLETE",
            body = TrackAnswer),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 403, description = "FORBIDDEN: a publishable key sent ORDER_COMPLETE, or came from an origin the tenant did not allow",
            body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::error::ErrorEnvelope),
        crate::error::AnyKeyErrors,
    ),
    security(
        ("ApiKey" = ["secret"]), ("Bearer" = ["secret"]),
        ("ApiKey" = ["publishable"]), ("Bearer" = ["publishable"]),
    )
)]
pub async fn track(
    state: web::Data<AppState>,
    AnyCaller(caller): AnyCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
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
    let cart = parse_cart(
        &object,
        &mut problems,
        true,
        caller.tenant.default_currency(),
    );
    if caller.kind == KeyKind::Publishable {
        check_publishable_session(&object, &mut problems);
    }
    if !problems.is_empty() {
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
    Ok(
        HttpResponse::Ok().json(TrackAnswer::CartUpdated(CartUpdated {
            success: true,
            cart_id: row.id,
            scheduled_at: scheduled_at.map(rfc3339),
            dropped_links: dropped.len(),
            warnings: warnings(&dropped),
        })),
    )
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
        subtotal_minor: cart.subtotal,
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
    let currency = parse_currency(object, tenant.default_currency(), &mut problems);
    let order_ref = match object.get("orderId").filter(|v| !is_null(v)) {
        None => None,
        Some(raw) => match crate::input::raw::id_text(raw) {
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
        },
    };
    let total = number_text(object, "total", "total", &mut problems)
        .and_then(|text| non_negative_total(text, currency, &mut problems));
    // Weaker keys for orders placed away from the tracked session: the recovery
    // link's cart_token, then the shopper's address.
    let cart_token =
        optional_string(object, "cartToken", "cartToken", &mut problems).filter(|t| !t.is_empty());
    if cart_token.as_ref().is_some_and(|t| t.chars().count() > 200) {
        problems.add("cartToken", "must be at most 200 characters");
    }
    let email = optional_string(object, "customerEmail", "customerEmail", &mut problems)
        .filter(|e| !e.trim().is_empty())
        .and_then(|e| {
            EmailAddress::parse(&e)
                .map_err(|err| problems.add("customerEmail", err.to_string()))
                .ok()
        });
    if !problems.is_empty() {
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
        source: OrderSource::Track,
        attribution_mode: policy.attribution_mode,
        attribution_window: policy.attribution_window(),
        now: Utc::now(),
    };
    let outcome = state.db(move |conn| record_order(conn, &new)).await?;
    let (message, cart_status) = match (&outcome.closed_cart, outcome.duplicate) {
        (_, true) => ("Order already recorded; nothing changed", None),
        (Some((_, status)), false) => (
            "Order completed, pending recovery emails cancelled",
            Some(status_str(*status)),
        ),
        (None, false) => ("Order recorded; no open cart matched this session", None),
    };
    Ok(
        HttpResponse::Ok().json(TrackAnswer::OrderCompleted(OrderCompleted {
            success: true,
            message,
            order_id: outcome.order.order_ref,
            cart_status,
        })),
    )
}

fn status_str(status: CartStatus) -> &'static str {
    status.as_str()
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
    use utoipa::ToSchema;

    use crate::input::documented::{CartUpdate, StringOrInteger};

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
}
