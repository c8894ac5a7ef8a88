//! `POST /api/v1/integrations/stripe/webhook/{tenantId}`: Stripe's signed events
//! recorded as orders.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use cartback_domain::bounds::check_amount;
use cartback_domain::{CartStatus, Currency, EmailAddress, OrderSource, SessionId};
use cartback_store::crypto::Purpose;
use cartback_store::orders::{NewOrder, record_order};
use cartback_store::stripe::find_stripe_account;
use cartback_store::tenants::find_tenant;
use cartback_stripe::{
    DEFAULT_TOLERANCE_SECS, StripeOrder, StripeSignature, StripeSignatureError, parse_order_event,
};

use crate::error::{ApiError, ErrorCode};
use crate::input::body::read_raw_body;
use crate::state::AppState;

/// Longer references are not Stripe's: refuse rather than store them.
const MAX_REF_LEN: usize = 200;
/// Largest Stripe event accepted (or the server's body limit, if lower). An
/// event carries one API object, which Stripe keeps well under this; the cap
/// bounds the hashing one signed-looking request can cost.
const MAX_STRIPE_EVENT_BYTES: usize = 256 * 1024;

fn refused_intake() -> ApiError {
    // The same answer for an unknown tenant and a tenant without secrets, so the
    // URL reveals nothing about who uses cartback.
    ApiError::new(
        ErrorCode::BadRequest,
        "this URL does not accept Stripe events: check the tenant id in it and the signing \
         secrets stored with PUT /api/v1/integrations/stripe",
    )
}

fn signature_kind(error: &StripeSignatureError) -> &'static str {
    match error {
        StripeSignatureError::Missing => "missing",
        StripeSignatureError::Malformed => "malformed",
        StripeSignatureError::TooLong => "the header is too long",
        StripeSignatureError::TooManySignatures => "too many v1 signatures",
        StripeSignatureError::Expired => "timestamp outside the tolerance",
        StripeSignatureError::Mismatch => "no signature matches",
    }
}

fn bad_event(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadRequest, message)
}

/// What the intake answers Stripe.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum StripeIntakeAnswer {
    Order(OrderReceived),
    Ignored(StripeEventIgnored),
}

impl StripeIntakeAnswer {
    fn ignored() -> StripeIntakeAnswer {
        StripeIntakeAnswer::Ignored(StripeEventIgnored {
            success: true,
            received: true,
            ignored: true,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct StripeEventIgnored {
    success: bool,
    received: bool,
    /// Not a paid checkout or payment intent: acknowledged, nothing stored.
    ignored: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = StripeOrder)]
pub(crate) struct OrderReceived {
    success: bool,
    received: bool,
    /// The PaymentIntent id, or the Checkout Session's.
    order_id: String,
    /// The same payment was already recorded.
    duplicate: bool,
    /// `recovered` or `converted`; null when no open cart matched.
    #[schema(required = true, value_type = Option<String>)]
    cart_status: Option<CartStatus>,
}

/// `POST /api/v1/integrations/stripe/webhook/{tenantId}`: Stripe calls it, so
/// no API key; the signature over the raw body under one of the tenant's
/// secrets is the authentication. `checkout.session.completed` (paid) and
/// `payment_intent.succeeded` become orders; a repeat of the same payment is a
/// duplicate through its order reference. Anything else is acknowledged.
#[utoipa::path(
    post,
    path = "/api/v1/integrations/stripe/webhook/{tenant_id}",
    tag = "stripe",
    operation_id = "stripeIntake",
    summary = "Stripe's signed events: paid checkouts and payment intents become orders",
    description = "No API key: the `Stripe-Signature` over the raw body, made with one of the \
        tenant's signing secrets and at most five minutes old, is the authentication.",
    params(
        ("tenant_id" = String, Path, description = "The tenant id, as in `webhookUrl`"),
        ("Stripe-Signature" = String, Header, description = "Stripe's signature header"),
    ),
    request_body = crate::input::documented::StripeEvent,
    responses(
        (status = 200, description = "An order (`orderId`), or acknowledged and ignored (`ignored: true`)",
            body = StripeIntakeAnswer),
        (status = 400, description = "BAD_REQUEST: an invalid or missing signature (a header over 1 KiB or with more than 8 `v1` entries is refused before anything else), an unknown tenant or one without signing secrets (the same answer), or an event that cannot be read",
            body = crate::error::ErrorEnvelope),
        (status = 403, description = "TENANT_INACTIVE: a signed event for a shop its operator suspended or closed (Stripe retries, so a shop resumed within three days still gets it)", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over 256 KiB (or the server's body limit, if lower)", body = crate::error::ErrorEnvelope),
        (status = 429, description = "RATE_LIMITED: too many events from this address; `Retry-After` says when to try again (Stripe retries)", body = crate::error::ErrorEnvelope),
        crate::error::ServerErrors,
    ),
    // Open to anyone: no key.
    security()
)]
pub async fn intake(
    state: web::Data<AppState>,
    request: HttpRequest,
    tenant_id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    receive(&state, &request, tenant_id.into_inner(), payload).await
}

/// One of Stripe's events for `tenant_id`, however the URL named the tenant.
pub(crate) async fn receive(
    state: &AppState,
    request: &HttpRequest,
    tenant_id: String,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // The header is parsed first: a hostile one is refused before the body is
    // read, the database asked, or anything hashed.
    let invalid = |e: &StripeSignatureError| {
        bad_event(format!("invalid Stripe signature: {}", signature_kind(e)))
    };
    let signature = StripeSignature::parse(
        request
            .headers()
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    )
    .map_err(|e| invalid(&e))?;
    let limit = state.limits.max_body_bytes.min(MAX_STRIPE_EVENT_BYTES);
    // Raw: the signature covers these bytes; hostile text inside is judged below.
    let body = read_raw_body(request, payload, limit).await?.freeze();
    if tenant_id.is_empty()
        || tenant_id.len() > 64
        || !tenant_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(refused_intake());
    }
    let id = tenant_id.clone();
    let found = state
        .db(move |conn| -> cartback_store::StoreResult<_> {
            let Some(account) = find_stripe_account(conn, &id)? else {
                return Ok(None);
            };
            Ok(find_tenant(conn, &id)?.map(|tenant| (account, tenant)))
        })
        .await?;
    let Some((account, tenant)) = found else {
        return Err(refused_intake());
    };
    let Some(sealed) = &account.webhook_secrets else {
        return Err(refused_intake());
    };
    // A secret we cannot open is our fault: 500, so Stripe tries again later.
    let plain = state
        .master_keys
        .open(Purpose::StripeWebhookSecret, &tenant.id, sealed)
        .map_err(ApiError::internal)?;
    let secrets: Vec<String> = serde_json::from_slice(&plain).map_err(ApiError::internal)?;
    // Hashing the body is CPU work: it runs on the blocking pool, never on the
    // thread that serves other requests (and /healthz).
    let signed = body.clone();
    web::block(move || {
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        signature.verify(
            &signed,
            &secrets,
            Utc::now().timestamp(),
            DEFAULT_TOLERANCE_SECS,
        )
    })
    .await?
    .map_err(|e| invalid(&e))?;
    // Only a signed event learns the shop's status. Stripe retries a non-2xx
    // for days, so a shop resumed in that time still gets its orders.
    if !tenant.status.is_served() {
        return Err(ApiError::tenant_inactive());
    }
    let order = match parse_order_event(&body) {
        Err(e) => return Err(bad_event(format!("not a Stripe event we can read: {e}"))),
        Ok(None) => {
            return Ok(HttpResponse::Ok().json(StripeIntakeAnswer::ignored()));
        }
        Ok(Some(order)) => order,
    };
    // A signed event we will not record is still acknowledged: Stripe retries
    // anything but a 2xx for days, and a retry would carry the same content.
    if let Some(why) = unrecordable(&order) {
        tracing::warn!(tenant = %tenant.id, why, "Stripe event ignored");
        return Ok(HttpResponse::Ok().json(StripeIntakeAnswer::ignored()));
    }
    let currency = match (&order.currency, order.amount_minor) {
        (Some(code), _) => Currency::parse(code)
            .map_err(|_| bad_event(format!("unsupported currency {code:?}")))?,
        // Nothing to count in any currency.
        (None, None) => Currency::USD,
        (None, Some(_)) => return Err(bad_event("the event has an amount but no currency")),
    };
    let order_ref = order.order_ref().to_owned();
    if order_ref.is_empty() || order_ref.len() > MAX_REF_LEN {
        return Err(bad_event("the event's object id is not a Stripe id"));
    }
    let bounded = |value: Option<String>| value.filter(|v| v.len() <= MAX_REF_LEN);
    // client_reference_id may be the shop's own reference: prefer what looks
    // like one of our cart ids, then metadata.cart_id.
    let cart_id = match (
        bounded(order.client_reference_id.clone()),
        bounded(order.metadata_cart_id.clone()),
    ) {
        (Some(reference), _) if reference.starts_with("cart_") => Some(reference),
        (reference, metadata) => metadata.or(reference),
    };
    let policy = tenant.recovery_policy()?;
    let new = NewOrder {
        tenant_id: tenant.id.clone(),
        order_ref: Some(order_ref),
        session_id: order
            .metadata_session_id
            .as_deref()
            .and_then(|s| SessionId::parse(s).ok())
            .map(SessionId::into_inner),
        cart_id,
        cart_token: None,
        customer_email: order
            .email
            .as_deref()
            .and_then(|e| EmailAddress::parse(e).ok())
            .map(|e| e.as_str().to_owned()),
        total_minor: order.amount_minor,
        currency: currency.code().to_owned(),
        source: OrderSource::Stripe,
        attribution_mode: policy.attribution_mode,
        attribution_window: policy.attribution_window(),
        now: Utc::now(),
    };
    let outcome = state.db(move |conn| record_order(conn, &new)).await?;
    tracing::info!(
        tenant = %tenant.id,
        event = %order.event_id,
        order = %outcome.order.order_ref,
        duplicate = outcome.duplicate,
        "Stripe order received"
    );
    Ok(
        HttpResponse::Ok().json(StripeIntakeAnswer::Order(OrderReceived {
            success: true,
            received: true,
            order_id: outcome.order.order_ref,
            duplicate: outcome.duplicate,
            cart_status: outcome.closed_cart.map(|(_, status)| status),
        })),
    )
}

/// Why an order event is not recorded: text no database column may hold (NUL),
/// or an amount outside `0..=MAX_AMOUNT_MINOR` (refunds and adjustments are not
/// orders; a larger amount is not a real one).
fn unrecordable(order: &StripeOrder) -> Option<&'static str> {
    let texts = [
        Some(&order.event_id),
        Some(&order.event_type),
        Some(&order.object_id),
        order.client_reference_id.as_ref(),
        order.metadata_cart_id.as_ref(),
        order.metadata_session_id.as_ref(),
        order.email.as_ref(),
        order.currency.as_ref(),
        order.payment_intent_id.as_ref(),
    ];
    if texts.into_iter().flatten().any(|t| t.contains('\0')) {
        return Some("a NUL character in an id, the email or the currency");
    }
    match order.amount_minor {
        Some(minor) if check_amount(minor).is_err() => Some("the amount is negative or too large"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(amount: Option<i64>) -> StripeOrder {
        StripeOrder {
            event_id: "evt_1".into(),
            event_type: "payment_intent.succeeded".into(),
            object_id: "pi_1".into(),
            client_reference_id: None,
            metadata_cart_id: Some("cart_1".into()),
            metadata_session_id: None,
            email: None,
            amount_minor: amount,
            currency: Some("USD".into()),
            created: None,
            payment_intent_id: Some("pi_1".into()),
        }
    }

    #[test]
    fn nul_ids_and_impossible_amounts_are_not_recorded() {
        assert_eq!(unrecordable(&order(Some(1999))), None);
        assert_eq!(unrecordable(&order(None)), None);
        assert_eq!(unrecordable(&order(Some(0))), None);
        assert!(unrecordable(&order(Some(-1))).is_some());
        assert!(unrecordable(&order(Some(i64::MAX))).is_some());
        let mut nul = order(Some(10));
        nul.metadata_cart_id = Some("cart_\0".into());
        assert!(unrecordable(&nul).is_some());
        let mut nul = order(Some(10));
        nul.object_id = "pi_\0".into();
        assert!(unrecordable(&nul).is_some());
    }
}
