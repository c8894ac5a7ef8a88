//! `POST /api/v1/carts/{id}/payment-link`: a Stripe Checkout Session for a cart.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use cartback_domain::CartStatus;
use cartback_store::carts::{find_cart, find_cart_by_session};
use cartback_store::crypto::Purpose;
use cartback_store::stripe::{PaymentLinkRow, find_stripe_account, save_payment_link};
use cartback_store::tenants::Tenant;
use cartback_stripe::{CartLink, MAX_LINK_SECS, MIN_LINK_SECS, StripeError, cart_checkout};

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode};
use crate::input::Problems;
use crate::input::body::read_body;
use crate::input::fields::{integer, object, unknown_fields};
use crate::state::AppState;

/// A Checkout Session for a cart.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentLink {
    success: bool,
    payment_link: String,
    checkout_session_id: String,
    #[schema(required = true, format = DateTime)]
    expires_at: Option<String>,
}

fn upstream(error: &StripeError) -> ApiError {
    tracing::warn!(%error, "Stripe call failed");
    ApiError::new(ErrorCode::UpstreamError, error.to_string())
}

/// `POST /api/v1/carts/{id}/payment-link` `{"expiresInSeconds"?}`: a Stripe
/// Checkout Session for exactly what the cart holds. `{id}` is the cart id or
/// the storefront's session id.
#[utoipa::path(
    post,
    path = "/api/v1/carts/{id}/payment-link",
    tag = "stripe",
    operation_id = "createPaymentLink",
    summary = "A Stripe Checkout Session for exactly what the cart holds",
    params(("id" = String, Path, description = "The cart id or the storefront's session id")),
    request_body(content = Option<request::PaymentLinkRequest>, description = "Optional"),
    responses(
        (status = 200, description = "The link", body = PaymentLink),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: Stripe is not connected or has no key, the cart was already ordered, or the key cannot be opened", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `expiresInSeconds` out of range, an empty cart, or nowhere to return to", body = crate::error::ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: Stripe refused or could not be reached", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn payment_link(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&request, payload, state.limits.max_body_bytes).await?;
    let body = object(&body, true)?;
    let mut problems = Problems::default();
    unknown_fields(&body, &["expiresInSeconds"], &mut problems);
    let lifetime = integer(
        &body,
        "expiresInSeconds",
        MIN_LINK_SECS..=MAX_LINK_SECS,
        &mut problems,
    )
    .unwrap_or(MAX_LINK_SECS);
    problems.check()?;
    let made = make_payment_link(&state, &caller.tenant, id.into_inner(), lifetime).await?;
    Ok(HttpResponse::Ok().json(PaymentLink {
        success: true,
        payment_link: made.url,
        checkout_session_id: made.checkout_session_id,
        expires_at: made
            .expires_at
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
    }))
}

/// A Checkout Session made for a cart.
pub(crate) struct MadeLink {
    pub(crate) url: String,
    pub(crate) checkout_session_id: String,
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

/// Makes a Checkout Session for exactly what the cart `id` (its id or session
/// id) holds, valid for `lifetime` seconds, and keeps it as the cart's payment
/// link. The errors are the native route's.
pub(crate) async fn make_payment_link(
    state: &AppState,
    tenant: &Tenant,
    id: String,
    lifetime: i64,
) -> Result<MadeLink, ApiError> {
    let tenant_id = tenant.id.clone();
    let (cart, account) = state
        .db(move |conn| -> cartback_store::StoreResult<_> {
            let cart = match find_cart(conn, &tenant_id, &id)? {
                Some(cart) => Some(cart),
                None => find_cart_by_session(conn, &tenant_id, &id)?,
            };
            Ok((cart, find_stripe_account(conn, &tenant_id)?))
        })
        .await?;
    let cart = cart
        .filter(|c| c.deleted_at.is_none())
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such cart"))?;
    if matches!(cart.status, CartStatus::Recovered | CartStatus::Converted) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the cart has already been ordered",
        ));
    }
    let not_connected = || {
        ApiError::new(
            ErrorCode::Conflict,
            "connect Stripe first: PUT /api/v1/integrations/stripe with a secretKey",
        )
    };
    let account = account.ok_or_else(not_connected)?;
    let sealed_key = account.secret_key.as_deref().ok_or_else(not_connected)?;
    let now = Utc::now();
    let link = CartLink {
        cart_id: &cart.id,
        session_id: &cart.session_id,
        customer_email: cart.customer_email.as_deref(),
        currency: &cart.currency,
        items: &cart.items,
        success_url: account.success_url.as_deref(),
        cancel_url: account.cancel_url.as_deref(),
        recovery_url: tenant.recovery_url.as_deref(),
        updated_at: cart.updated_at.and_utc().timestamp(),
    };
    let (checkout, idempotency_key) = cart_checkout(link, now.timestamp(), lifetime)
        .map_err(|refusal| ApiError::new(ErrorCode::ValidationError, refusal.to_string()))?;
    let expires_at = checkout.expires_at.unwrap_or_default();
    // Like the email provider's test: a key sealed under a master key this
    // server lacks is a setup problem the merchant's operator must fix.
    let key = state
        .master_keys
        .open(Purpose::StripeSecretKey, &tenant.id, sealed_key)
        .map_err(|e| ApiError::new(ErrorCode::Conflict, e.to_string()))?;
    let key = String::from_utf8(key).map_err(ApiError::internal)?;
    let session = state
        .stripe
        .create_checkout_session(&key, &checkout, Some(&idempotency_key))
        .await
        .map_err(|e| upstream(&e))?;
    let made = MadeLink {
        url: session.url,
        checkout_session_id: session.id,
        expires_at: DateTime::from_timestamp(session.expires_at.unwrap_or(expires_at), 0),
    };
    let kept = PaymentLinkRow {
        tenant_id: tenant.id.clone(),
        cart_id: cart.id.clone(),
        url: made.url.clone(),
        checkout_session_id: made.checkout_session_id.clone(),
        expires_at: made.expires_at.map(|t| t.naive_utc()),
        created_at: now.naive_utc(),
    };
    // The link exists at Stripe either way: failing to keep it only means the
    // cart does not show it.
    if let Err(error) = state.db(move |conn| save_payment_link(conn, &kept)).await {
        tracing::warn!(%error, "the payment link could not be kept with the cart");
    }
    Ok(made)
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// Optional body of the payment-link route.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct PaymentLinkRequest {
        /// How long the link works; default 86400.
        #[schema(minimum = 1800, maximum = 86400)]
        pub expires_in_seconds: Option<i64>,
    }
}
