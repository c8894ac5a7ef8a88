//! Stripe: the tenant's account (`/api/v1/integrations/stripe`), the intake of
//! Stripe's signed events as orders, and payment links for a cart.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use cartback_domain::bounds::check_amount;
use cartback_domain::{CartStatus, Currency, EmailAddress, SessionId, validate_link};
use cartback_store::carts::{CartRow, find_cart, find_cart_by_session};
use cartback_store::crypto::Purpose;
use cartback_store::orders::{NewOrder, record_order};
use cartback_store::stripe::{
    StripeAccount, StripeAccountRow, delete_stripe_account, find_stripe_account, set_stripe_account,
};
use cartback_store::tenants::{Tenant, find_tenant};
use cartback_store::write_transaction;
use cartback_stripe::{
    CheckoutRequest, DEFAULT_TOLERANCE_SECS, LineItem, StripeError, StripeOrder, StripeSignature,
    StripeSignatureError, parse_order_event,
};

use crate::error::{ApiError, ErrorCode};
use crate::input::body::{read_body, read_raw_body};
use crate::input::fields::{Problems, boolean, integer, nullable, object, time, unknown_fields};
use crate::routes::email_provider::secret_caller;
use crate::state::AppState;

const MAX_WEBHOOK_SECRETS: usize = 5;
const MAX_KEY_LEN: usize = 255;
const MIN_LINK_SECS: i64 = 1_800;
const MAX_LINK_SECS: i64 = 86_400;
/// Longer references are not Stripe's: refuse rather than store them.
const MAX_REF_LEN: usize = 200;
/// Largest Stripe event accepted (or the server's body limit, if lower). An
/// event carries one API object, which Stripe keeps well under this; the cap
/// bounds the hashing one signed-looking request can cost.
const MAX_STRIPE_EVENT_BYTES: usize = 256 * 1024;

fn no_master_key() -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        "the server has no CARTBACK_MASTER_KEY, so it cannot store Stripe secrets",
    )
}

fn webhook_url(tenant_id: &str) -> String {
    format!("/api/v1/integrations/stripe/webhook/{tenant_id}")
}

/// `sk_test_…4242`: the mode stays visible, the rest is hidden.
fn key_hint(key: &str) -> String {
    let prefix = ["sk_test_", "sk_live_", "rk_test_", "rk_live_"]
        .into_iter()
        .find(|p| key.starts_with(p))
        .unwrap_or(&key[..3.min(key.len())]);
    // Short keys would give too much away with their last four.
    let tail = if key.len() >= prefix.len() + 12 {
        &key[key.len() - 4..]
    } else {
        ""
    };
    format!("{prefix}…{tail}")
}

fn shown(row: Option<&StripeAccountRow>, tenant_id: &str) -> Value {
    let masked: Value = row
        .and_then(|r| serde_json::from_str(&r.masked).ok())
        .unwrap_or(Value::Null);
    json!({
        "success": true,
        // Something to work with: a key for links or secrets for intake.
        "configured": row.is_some_and(|r| r.secret_key.is_some() || r.webhook_secrets.is_some()),
        "secretKey": row.and_then(|r| r.secret_key.as_ref()).and(masked.get("secretKey").cloned()),
        "webhookSecrets": masked.get("webhookSecrets").and_then(Value::as_u64).unwrap_or(0),
        "successUrl": row.and_then(|r| r.success_url.clone()),
        "cancelUrl": row.and_then(|r| r.cancel_url.clone()),
        "linksInEmails": row.is_some_and(|r| r.links_in_emails != 0),
        "webhookUrl": webhook_url(tenant_id),
        "updatedAt": row.map(|r| time(r.updated_at)),
    })
}

fn secret_key_field(body: &Map<String, Value>, problems: &mut Problems) -> Option<Option<String>> {
    let value = nullable(body, "secretKey")?;
    let Some(value) = value else {
        return Some(None);
    };
    let Some(key) = value.as_str().map(str::trim) else {
        problems.add("secretKey", "must be a string or null");
        return None;
    };
    if key.starts_with("pk_") {
        problems.add(
            "secretKey",
            "that is a publishable key: give the secret (sk_…) or restricted (rk_…) key",
        );
    } else if !(key.starts_with("sk_") || key.starts_with("rk_")) {
        problems.add("secretKey", "must start with sk_ or rk_");
    } else if key.len() < 8 || key.len() > MAX_KEY_LEN {
        problems.add(
            "secretKey",
            format!("must be 8 to {MAX_KEY_LEN} characters"),
        );
    } else if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        problems.add("secretKey", "may hold only letters, digits and _");
    } else {
        return Some(Some(key.to_owned()));
    }
    None
}

fn webhook_secrets_field(
    body: &Map<String, Value>,
    problems: &mut Problems,
) -> Option<Option<Vec<String>>> {
    let value = nullable(body, "webhookSecrets")?;
    let Some(value) = value else {
        return Some(None);
    };
    let Some(list) = value.as_array() else {
        problems.add(
            "webhookSecrets",
            "must be a list of whsec_… strings, or null",
        );
        return None;
    };
    if list.is_empty() || list.len() > MAX_WEBHOOK_SECRETS {
        problems.add(
            "webhookSecrets",
            format!("must hold 1 to {MAX_WEBHOOK_SECRETS} secrets"),
        );
        return None;
    }
    let before = problems.0.len();
    let mut secrets: Vec<String> = Vec::new();
    for (i, value) in list.iter().enumerate() {
        let path = format!("webhookSecrets[{i}]");
        let Some(secret) = value.as_str().map(str::trim) else {
            problems.add(path, "must be a string");
            continue;
        };
        let rest = secret.strip_prefix("whsec_").unwrap_or_default();
        if !secret.starts_with("whsec_") {
            problems.add(path, "must start with whsec_ (Stripe's signing secret)");
        } else if rest.len() < 8 || secret.len() > MAX_KEY_LEN {
            problems.add(path, format!("must be 14 to {MAX_KEY_LEN} characters"));
        } else if !rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'/' | b'=' | b'-'))
        {
            problems.add(path, "may hold only letters, digits and _ + / = -");
        } else if secrets.iter().any(|s| s == secret) {
            problems.add(path, "is listed twice");
        } else {
            secrets.push(secret.to_owned());
        }
    }
    (problems.0.len() == before).then_some(Some(secrets))
}

fn url_field(
    body: &Map<String, Value>,
    name: &str,
    problems: &mut Problems,
) -> Option<Option<String>> {
    match nullable(body, name)? {
        None => Some(None),
        // Kept as written: Stripe fills in `{CHECKOUT_SESSION_ID}` itself.
        Some(Value::String(url)) => match validate_link(url.trim()) {
            Ok(url) => Some(Some(url)),
            Err(e) => {
                problems.add(name, e.to_string());
                None
            }
        },
        Some(_) => {
            problems.add(name, "must be a URL or null");
            None
        }
    }
}

/// `PUT /api/v1/integrations/stripe`: what is given replaces, null clears,
/// what is left out stays.
#[utoipa::path(
    put,
    path = "/api/v1/integrations/stripe",
    tag = "stripe",
    operation_id = "putStripe",
    summary = "Connect or change the tenant's Stripe account",
    request_body = crate::openapi::StripeSettings,
    responses(
        (status = 200, description = "As `GET`", body = crate::openapi::StripeAccount),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "CONFLICT: a secret was given and the server has no CARTBACK_MASTER_KEY", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn put(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let body = read_body(&request, payload, state.limits.max_body_bytes).await?;
    let body = object(&body, false)?;
    let mut problems = Problems::default();
    unknown_fields(
        &body,
        &[
            "secretKey",
            "webhookSecrets",
            "successUrl",
            "cancelUrl",
            "linksInEmails",
        ],
        &mut problems,
    );
    let secret_key = secret_key_field(&body, &mut problems);
    let webhook_secrets = webhook_secrets_field(&body, &mut problems);
    let success_url = url_field(&body, "successUrl", &mut problems);
    let cancel_url = url_field(&body, "cancelUrl", &mut problems);
    let links_in_emails = boolean(&body, "linksInEmails", &mut problems);
    problems.check()?;
    let tenant_id = caller.tenant.id.clone();
    let needs_sealing =
        matches!(secret_key, Some(Some(_))) || matches!(webhook_secrets, Some(Some(_)));
    if needs_sealing && !state.master_keys.is_configured() {
        return Err(no_master_key());
    }
    let seal = |purpose: Purpose, plain: &[u8]| {
        state
            .master_keys
            .seal(purpose, &tenant_id, plain)
            .map_err(ApiError::internal)
    };
    // Sealed and hinted now; merged with the stored row below.
    let secret_key = match secret_key {
        Some(Some(key)) => Some(Some((
            seal(Purpose::StripeSecretKey, key.as_bytes())?,
            key_hint(&key),
        ))),
        Some(None) => Some(None),
        None => None,
    };
    let webhook_secrets = match webhook_secrets {
        Some(Some(list)) => {
            let text = serde_json::to_string(&list).map_err(ApiError::internal)?;
            Some(Some((
                seal(Purpose::StripeWebhookSecret, text.as_bytes())?,
                list.len(),
            )))
        }
        Some(None) => Some(None),
        None => None,
    };
    let store = state.store.clone();
    let id = tenant_id.clone();
    let row = web::block(move || {
        write_transaction(&mut *store.conn()?, |conn| {
            let old = find_stripe_account(conn, &id)?;
            let old_masked: Value = old
                .as_ref()
                .and_then(|r| serde_json::from_str(&r.masked).ok())
                .unwrap_or(Value::Null);
            let (key, key_hint) = match secret_key {
                Some(Some((sealed, hint))) => (Some(sealed), Some(Value::String(hint))),
                Some(None) => (None, None),
                None => (
                    old.as_ref().and_then(|r| r.secret_key.clone()),
                    old_masked.get("secretKey").cloned(),
                ),
            };
            let (secrets, count) = match webhook_secrets {
                Some(Some((sealed, count))) => (Some(sealed), count as u64),
                Some(None) => (None, 0),
                None => (
                    old.as_ref().and_then(|r| r.webhook_secrets.clone()),
                    old_masked
                        .get("webhookSecrets")
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                ),
            };
            let keep = |new: Option<Option<String>>, old: Option<String>| match new {
                Some(value) => value,
                None => old,
            };
            let success = keep(
                success_url,
                old.as_ref().and_then(|r| r.success_url.clone()),
            );
            let cancel = keep(cancel_url, old.as_ref().and_then(|r| r.cancel_url.clone()));
            let links = links_in_emails
                .unwrap_or_else(|| old.as_ref().is_some_and(|r| r.links_in_emails != 0));
            let masked = json!({"secretKey": key_hint, "webhookSecrets": count}).to_string();
            set_stripe_account(
                conn,
                &StripeAccount {
                    tenant_id: &id,
                    sealed_secret_key: key.as_deref(),
                    sealed_webhook_secrets: secrets.as_deref(),
                    masked: &masked,
                    success_url: success.as_deref(),
                    cancel_url: cancel.as_deref(),
                    links_in_emails: links,
                    now: Utc::now(),
                },
            )
        })
    })
    .await??;
    Ok(HttpResponse::Ok().json(shown(Some(&row), &tenant_id)))
}

/// `GET /api/v1/integrations/stripe`: hints only, never a secret.
#[utoipa::path(
    get,
    path = "/api/v1/integrations/stripe",
    tag = "stripe",
    operation_id = "getStripe",
    summary = "The Stripe connection: hints and counts, never a secret",
    responses(
        (status = 200, description = "The connection (`configured: false` before anything is stored)", body = crate::openapi::StripeAccount),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn get(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let store = state.store.clone();
    let tenant_id = caller.tenant.id.clone();
    let row = web::block(move || find_stripe_account(&mut *store.conn()?, &tenant_id)).await??;
    Ok(HttpResponse::Ok().json(shown(row.as_ref(), &caller.tenant.id)))
}

/// `DELETE /api/v1/integrations/stripe` → 204; 404 when nothing was there.
#[utoipa::path(
    delete,
    path = "/api/v1/integrations/stripe",
    tag = "stripe",
    operation_id = "deleteStripe",
    summary = "Forget the Stripe key, signing secrets and URLs",
    responses(
        (status = 204, description = "Forgotten"),
        (status = 404, description = "NOT_FOUND: Stripe was not connected", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn delete(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let store = state.store.clone();
    let removed =
        web::block(move || delete_stripe_account(&mut *store.conn()?, &caller.tenant.id)).await??;
    if !removed {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "Stripe is not connected",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

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
    request_body = crate::openapi::StripeEvent,
    responses(
        (status = 200, description = "An order (`orderId`), or acknowledged and ignored (`ignored: true`)",
            body = crate::openapi::StripeIntakeAnswer),
        (status = 400, description = "BAD_REQUEST: an invalid or missing signature (a header over 1 KiB or with more than 8 `v1` entries is refused before anything else), an unknown tenant or one without signing secrets (the same answer), or an event that cannot be read",
            body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over 256 KiB (or the server's body limit, if lower)", body = crate::openapi::ErrorEnvelope),
        (status = 429, description = "RATE_LIMITED: too many events from this address; `Retry-After` says when to try again (Stripe retries)", body = crate::openapi::ErrorEnvelope),
        crate::openapi::ServerErrors,
    )
)]
pub async fn intake(
    state: web::Data<AppState>,
    request: HttpRequest,
    tenant_id: web::Path<String>,
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
    let body = read_raw_body(&request, payload, limit).await?.freeze();
    let tenant_id = tenant_id.into_inner();
    if tenant_id.is_empty()
        || tenant_id.len() > 64
        || !tenant_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(refused_intake());
    }
    let store = state.store.clone();
    let id = tenant_id.clone();
    let found = web::block(move || -> cartback_store::StoreResult<_> {
        let mut conn = store.conn()?;
        let Some(account) = find_stripe_account(&mut conn, &id)? else {
            return Ok(None);
        };
        Ok(find_tenant(&mut conn, &id)?.map(|tenant| (account, tenant)))
    })
    .await??;
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
    let order = match parse_order_event(&body) {
        Err(e) => return Err(bad_event(format!("not a Stripe event we can read: {e}"))),
        Ok(None) => {
            return Ok(HttpResponse::Ok().json(json!({
                "success": true, "received": true, "ignored": true,
            })));
        }
        Ok(Some(order)) => order,
    };
    // A signed event we will not record is still acknowledged: Stripe retries
    // anything but a 2xx for days, and a retry would carry the same content.
    if let Some(why) = unrecordable(&order) {
        tracing::warn!(tenant = %tenant.id, why, "Stripe event ignored");
        return Ok(HttpResponse::Ok().json(json!({
            "success": true, "received": true, "ignored": true,
        })));
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
        source: "stripe",
        attribution_mode: policy.attribution_mode,
        attribution_window: policy.attribution_window(),
        now: Utc::now(),
    };
    let store = state.store.clone();
    let outcome = web::block(move || record_order(&mut *store.conn()?, &new)).await??;
    tracing::info!(
        tenant = %tenant.id,
        event = %order.event_id,
        order = %outcome.order.order_ref,
        duplicate = outcome.duplicate,
        "Stripe order received"
    );
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "received": true,
        "orderId": outcome.order.order_ref,
        "duplicate": outcome.duplicate,
        "cartStatus": outcome.closed_cart.map(|(_, status)| status.as_str()),
    })))
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
        (status = 200, description = "The link", body = crate::openapi::PaymentLink),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "CONFLICT: Stripe is not connected or has no key, the cart was already ordered, or the key cannot be opened", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `expiresInSeconds` out of range, an empty cart, or nowhere to return to", body = crate::openapi::ErrorEnvelope),
        (status = 502, description = "UPSTREAM_ERROR: Stripe refused or could not be reached", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    ),
    security(("ApiKey" = ["secret"]), ("Bearer" = ["secret"]))
)]
pub async fn payment_link(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
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
    let store = state.store.clone();
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
    let (cart, account) = web::block(move || -> cartback_store::StoreResult<_> {
        let mut conn = store.conn()?;
        let cart = match find_cart(&mut conn, &tenant_id, &id)? {
            Some(cart) => Some(cart),
            None => find_cart_by_session(&mut conn, &tenant_id, &id)?,
        };
        Ok((cart, find_stripe_account(&mut conn, &tenant_id)?))
    })
    .await??;
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
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "paymentLink": session.url,
        "checkoutSessionId": session.id,
        "expiresAt": DateTime::from_timestamp(expires, 0)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
    })))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
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

    #[test]
    fn hints_keep_the_mode_and_hide_short_keys() {
        assert_eq!(key_hint("sk_test_123"), "sk_test_…");
        assert_eq!(key_hint("sk_live_51Habcdefghijklmnop4242"), "sk_live_…4242");
        assert_eq!(key_hint("rk_abcdefghijklmnopqrst"), "rk_…qrst");
    }

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
