//! `POST /api/v1/carts/{id}/payment-link`: a Stripe Checkout Session for a cart.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use cartback_domain::CartStatus;
use cartback_store::carts::{CartRow, find_cart, find_cart_by_session};
use cartback_store::crypto::Purpose;
use cartback_store::stripe::{StripeAccountRow, find_stripe_account};
use cartback_store::tenants::Tenant;
use cartback_stripe::{CheckoutRequest, LineItem, StripeError};

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode};
use crate::input::Problems;
use crate::input::body::read_body;
use crate::input::fields::{integer, object, unknown_fields};
use crate::state::AppState;

const MIN_LINK_SECS: i64 = 1_800;
const MAX_LINK_SECS: i64 = 86_400;

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

fn link_expiry(now: DateTime<Utc>, lifetime: i64) -> i64 {
    // Stripe refuses a reused idempotency key with different parameters, so the
    // expiry must be the same for every call inside one minute: rounded down for
    // long lifetimes (still ≥ 30 min), up for short ones (still ≤ 24 h).
    let minute = now.timestamp() - now.timestamp().rem_euclid(60);
    if lifetime - 60 >= MIN_LINK_SECS {
        minute + lifetime
    } else {
        minute + 60 + lifetime
    }
}

fn upstream(error: &StripeError) -> ApiError {
    tracing::warn!(%error, "Stripe call failed");
    ApiError::new(ErrorCode::UpstreamError, error.to_string())
}

fn checkout_request(
    cart: &CartRow,
    tenant: &Tenant,
    account: &StripeAccountRow,
    expires_at: i64,
) -> Result<CheckoutRequest, ApiError> {
    let items = cart.items.clone();
    if items.is_empty() {
        return Err(ApiError::new(
            ErrorCode::ValidationError,
            "the cart is empty",
        ));
    }
    let Some(success_url) = account
        .success_url
        .clone()
        .or_else(|| tenant.recovery_url.clone())
    else {
        return Err(ApiError::new(
            ErrorCode::ValidationError,
            "no page to return to after payment: set successUrl with PUT \
             /api/v1/integrations/stripe, or the tenant's recovery URL",
        ));
    };
    Ok(CheckoutRequest {
        client_reference_id: cart.id.clone(),
        customer_email: cart.customer_email.clone(),
        currency: cart.currency.clone(),
        line_items: items
            .into_iter()
            .map(|item| LineItem {
                name: item.name,
                unit_amount_minor: item.unit_price_minor,
                quantity: item.quantity,
                image_url: item.image_url,
            })
            .collect(),
        success_url,
        cancel_url: account
            .cancel_url
            .clone()
            .or_else(|| tenant.recovery_url.clone()),
        metadata: vec![
            ("cart_id".to_owned(), cart.id.clone()),
            ("session_id".to_owned(), cart.session_id.clone()),
        ],
        expires_at: Some(expires_at),
        discount_code_hint: None,
    })
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
    request_body(content = Option<crate::openapi::PaymentLinkRequest>, description = "Optional"),
    responses(
        (status = 200, description = "The link", body = PaymentLink),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "CONFLICT: Stripe is not connected or has no key, the cart was already ordered, or the key cannot be opened", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `expiresInSeconds` out of range, an empty cart, or nowhere to return to", body = crate::openapi::ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: Stripe refused or could not be reached", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
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
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
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
    let expires_at = link_expiry(now, lifetime);
    let checkout = checkout_request(&cart, &caller.tenant, &account, expires_at)?;
    // Like the email provider's test: a key sealed under a master key this
    // server lacks is a setup problem the merchant's operator must fix.
    let key = state
        .master_keys
        .open(Purpose::StripeSecretKey, &caller.tenant.id, sealed_key)
        .map_err(|e| ApiError::new(ErrorCode::Conflict, e.to_string()))?;
    let key = String::from_utf8(key).map_err(ApiError::internal)?;
    let idempotency_key = format!(
        "paylink-{}-{}-{lifetime}-{expires_at}",
        cart.id,
        cart.updated_at.and_utc().timestamp()
    );
    let session = state
        .stripe
        .create_checkout_session(&key, &checkout, Some(&idempotency_key))
        .await
        .map_err(|e| upstream(&e))?;
    let expires = session.expires_at.unwrap_or(expires_at);
    Ok(HttpResponse::Ok().json(PaymentLink {
        success: true,
        payment_link: session.url,
        checkout_session_id: session.id,
        expires_at: DateTime::from_timestamp(expires, 0)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_expiry_is_stable_within_a_minute_and_inside_stripes_limits() {
        for lifetime in [MIN_LINK_SECS, 3_600, MAX_LINK_SECS] {
            let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
            let first = link_expiry(start, lifetime);
            for offset in 0..60 {
                let now = start + chrono::TimeDelta::seconds(offset);
                let at = link_expiry(now, lifetime);
                assert_eq!(at, first);
                let left = at - now.timestamp();
                assert!(
                    (MIN_LINK_SECS..=MAX_LINK_SECS).contains(&left),
                    "{lifetime} {left}"
                );
            }
        }
    }
}
