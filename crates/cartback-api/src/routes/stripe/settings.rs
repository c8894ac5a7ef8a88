//! `/api/v1/integrations/stripe`: the tenant's Stripe account, shown only as hints.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use cartback_domain::validate_link;
use cartback_store::crypto::Purpose;
use cartback_store::stripe::{
    StripeAccount, StripeAccountRow, delete_stripe_account, find_stripe_account, set_stripe_account,
};
use cartback_store::view::time;
use cartback_store::write_transaction;

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode};
use crate::input::Problems;
use crate::input::body::read_body;
use crate::input::fields::{boolean, nullable, object, unknown_fields};
use crate::state::AppState;

const MAX_WEBHOOK_SECRETS: usize = 5;
const MAX_KEY_LEN: usize = 255;

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

/// The tenant's Stripe connection, with hints instead of secrets.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = StripeAccount)]
pub(crate) struct StripeShown {
    success: bool,
    /// A key for links or secrets for intake is stored.
    configured: bool,
    /// A hint (`sk_live_…4242`), never the key.
    #[schema(required = true)]
    secret_key: Option<String>,
    /// How many signing secrets are stored.
    webhook_secrets: u64,
    #[schema(required = true)]
    success_url: Option<String>,
    #[schema(required = true)]
    cancel_url: Option<String>,
    links_in_emails: bool,
    /// Where Stripe should send events (append to the api's public URL).
    webhook_url: String,
    #[schema(required = true, format = DateTime)]
    updated_at: Option<String>,
}

impl StripeShown {
    fn of(row: Option<&StripeAccountRow>, tenant_id: &str) -> StripeShown {
        let masked: Value = row
            .and_then(|r| serde_json::from_str(&r.masked).ok())
            .unwrap_or(Value::Null);
        StripeShown {
            success: true,
            // Something to work with: a key for links or secrets for intake.
            configured: row.is_some_and(|r| r.secret_key.is_some() || r.webhook_secrets.is_some()),
            secret_key: row.and_then(|r| r.secret_key.as_ref()).and(
                masked
                    .get("secretKey")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ),
            webhook_secrets: masked
                .get("webhookSecrets")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            success_url: row.and_then(|r| r.success_url.clone()),
            cancel_url: row.and_then(|r| r.cancel_url.clone()),
            links_in_emails: row.is_some_and(|r| r.links_in_emails != 0),
            webhook_url: webhook_url(tenant_id),
            updated_at: row.map(|r| time(r.updated_at)),
        }
    }
}

fn secret_key_field(body: &Map<String, Value>, problems: &mut Problems) -> Option<Option<String>> {
    let value = nullable(body, "secretKey")?;
    let Some(value) = value else {
        return Some(None);
    };
    let Some(key) = value.as_str() else {
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
    let before = problems.len();
    let mut secrets: Vec<String> = Vec::new();
    for (i, value) in list.iter().enumerate() {
        let path = format!("webhookSecrets[{i}]");
        let Some(secret) = value.as_str() else {
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
    (problems.len() == before).then_some(Some(secrets))
}

fn url_field(
    body: &Map<String, Value>,
    name: &str,
    problems: &mut Problems,
) -> Option<Option<String>> {
    match nullable(body, name)? {
        None => Some(None),
        // Kept as written: Stripe fills in `{CHECKOUT_SESSION_ID}` itself.
        Some(Value::String(url)) => match validate_link(url) {
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

/// The fields of the connection, as a body names them.
const STRIPE_FIELDS: [&str; 5] = [
    "secretKey",
    "webhookSecrets",
    "successUrl",
    "cancelUrl",
    "linksInEmails",
];

/// `PUT /api/v1/integrations/stripe`: every field replaced; one left out is
/// cleared (`linksInEmails` off).
#[utoipa::path(
    put,
    path = "/api/v1/integrations/stripe",
    tag = "stripe",
    operation_id = "putStripe",
    summary = "Connect the tenant's Stripe account, replacing every stored field",
    description = "A field left out is cleared, as `null` would (`linksInEmails`: `false`). To \
        change some fields and keep the rest (the secret key, say), use `PATCH`. See docs/api.md, \
        \"Changing settings\".",
    request_body = crate::openapi::StripeSettings,
    responses(
        (status = 200, description = "As `GET`", body = StripeShown),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "CONFLICT: a secret was given and the server has no CARTBACK_MASTER_KEY", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    )
)]
pub async fn put(
    state: web::Data<AppState>,
    caller: SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    write(state, caller, request, payload, true).await
}

/// `PATCH /api/v1/integrations/stripe`: what is given replaces, null clears,
/// what is left out stays.
#[utoipa::path(
    patch,
    path = "/api/v1/integrations/stripe",
    tag = "stripe",
    operation_id = "patchStripe",
    summary = "Change some fields of the Stripe connection, keeping the rest",
    description = "A JSON Merge Patch: a field given replaces the stored one, `null` clears it, \
        a field left out stays. `Content-Type: application/merge-patch+json` or `application/json`.",
    request_body(content((crate::openapi::StripeSettings = "application/merge-patch+json"))),
    responses(
        (status = 200, description = "As `GET`", body = StripeShown),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "CONFLICT: a secret was given and the server has no CARTBACK_MASTER_KEY", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    )
)]
pub async fn patch(
    state: web::Data<AppState>,
    caller: SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    write(state, caller, request, payload, false).await
}

/// Stores the connection; with `replace`, the fields left out are cleared
/// rather than kept.
async fn write(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
    replace: bool,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&request, payload, state.limits.max_body_bytes).await?;
    let mut body = object(&body, false)?;
    let mut problems = Problems::default();
    unknown_fields(&body, &STRIPE_FIELDS, &mut problems);
    if replace {
        for field in STRIPE_FIELDS {
            let cleared = if field == "linksInEmails" {
                Value::Bool(false)
            } else {
                Value::Null
            };
            body.entry(field).or_insert(cleared);
        }
    }
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
    let id = tenant_id.clone();
    let row = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
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
        .await?;
    Ok(HttpResponse::Ok().json(StripeShown::of(Some(&row), &tenant_id)))
}

/// `GET /api/v1/integrations/stripe`: hints only, never a secret.
#[utoipa::path(
    get,
    path = "/api/v1/integrations/stripe",
    tag = "stripe",
    operation_id = "getStripe",
    summary = "The Stripe connection: hints and counts, never a secret",
    responses(
        (status = 200, description = "The connection (`configured: false` before anything is stored)", body = StripeShown),
        crate::openapi::SecretKeyErrors,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = caller.tenant.id.clone();
    let row = state
        .db(move |conn| find_stripe_account(conn, &tenant_id))
        .await?;
    Ok(HttpResponse::Ok().json(StripeShown::of(row.as_ref(), &caller.tenant.id)))
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
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    let removed = state
        .db(move |conn| delete_stripe_account(conn, &caller.tenant.id))
        .await?;
    if !removed {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "Stripe is not connected",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_keep_the_mode_and_hide_short_keys() {
        assert_eq!(key_hint("sk_test_123"), "sk_test_…");
        assert_eq!(key_hint("sk_live_51Habcdefghijklmnop4242"), "sk_live_…4242");
        assert_eq!(key_hint("rk_abcdefghijklmnopqrst"), "rk_…qrst");
    }
}
