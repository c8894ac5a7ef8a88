//! `/api/v1/integrations/stripe`: the tenant's Stripe account, shown only as hints.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use cartback_domain::validate_link;
use cartback_store::stripe::{
    StripeAccountRow, StripeChange, change_stripe_account, delete_stripe_account,
    find_stripe_account,
};
use cartback_store::view::time;
use cartback_stripe::{MAX_WEBHOOK_SECRETS, check_secret_key, check_webhook_secret, key_hint};

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode};
use crate::input::Problems;
use crate::input::body::read_body;
use crate::input::fields::{boolean, nullable, object, unknown_fields};
use crate::state::AppState;

fn no_master_key() -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        "the server has no CARTBACK_MASTER_KEY, so it cannot store Stripe secrets",
    )
}

fn webhook_url(tenant_id: &str) -> String {
    format!("/api/v1/integrations/stripe/webhook/{tenant_id}")
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
        StripeShown {
            success: true,
            // Something to work with: a key for links or secrets for intake.
            configured: row.is_some_and(|r| r.secret_key.is_some() || r.webhook_secrets.is_some()),
            secret_key: row.and_then(StripeAccountRow::secret_key_hint),
            webhook_secrets: row.map_or(0, StripeAccountRow::webhook_secret_count),
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
    match check_secret_key(key) {
        Ok(()) => Some(Some(key.to_owned())),
        Err(message) => {
            problems.add("secretKey", message);
            None
        }
    }
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
        if let Err(message) = check_webhook_secret(secret) {
            problems.add(path, message);
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
    request_body = request::StripeSettings,
    responses(
        (status = 200, description = "As `GET`", body = StripeShown),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: a secret was given and the server has no CARTBACK_MASTER_KEY", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
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
    request_body(content((request::StripeSettings = "application/merge-patch+json"))),
    responses(
        (status = 200, description = "As `GET`", body = StripeShown),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: a secret was given and the server has no CARTBACK_MASTER_KEY", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
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
    let change = StripeChange {
        secret_key: secret_key.map(|key| {
            key.map(|key| {
                let hint = key_hint(&key);
                (key, hint)
            })
        }),
        webhook_secrets,
        success_url,
        cancel_url,
        links_in_emails,
    };
    if change.seals() && !state.master_keys.is_configured() {
        return Err(no_master_key());
    }
    let (keys, tenant_id) = (state.master_keys.clone(), caller.tenant.id.clone());
    let id = tenant_id.clone();
    let row = state
        .db(move |conn| change_stripe_account(conn, &keys, &id, change, Utc::now()))
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
        crate::error::SecretKeyErrors,
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
        (status = 404, description = "NOT_FOUND: Stripe was not connected", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
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

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// Every field optional: given replaces, null clears, left out stays.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct StripeSettings {
        /// `sk_…` or `rk_…`, 8–255 letters, digits and `_`.
        #[schema(min_length = 8, max_length = 255, pattern = "^(sk|rk)_[A-Za-z0-9_]*$")]
        pub secret_key: Option<String>,
        /// 1 to 5 different `whsec_…` signing secrets.
        #[schema(schema_with = crate::input::shapes::webhook_secrets)]
        pub webhook_secrets: Option<Vec<String>>,
        /// An http(s) URL of at most 2048 characters, no spaces.
        #[schema(
            max_length = 2048,
            pattern = "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub success_url: Option<String>,
        #[schema(
            max_length = 2048,
            pattern = "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub cancel_url: Option<String>,
        pub links_in_emails: Option<bool>,
    }
}
