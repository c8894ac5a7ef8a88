//! `POST /api/v1/customers/erase` (secret key): one person erased by address
//! (GDPR art. 17): every cart, order and webhook delivery of theirs, in one
//! transaction; the address stays suppressed as a keyed hash only.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use cartback_domain::EmailAddress;
use cartback_store::erasure::{erase_customer, flush_erased};

use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::input::Problems;
use crate::input::fields;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub(crate) struct CustomerErased {
    success: bool,
    data: ErasedCounts,
}

/// How many of the person's rows were erased.
#[derive(Serialize, ToSchema)]
#[schema(as = CustomerErasedCounts)]
pub(crate) struct ErasedCounts {
    /// Carts with the address.
    #[schema(value_type = u64)]
    carts: usize,
    /// Orders with the address or tied to one of those carts (they stay,
    /// without address or session, for the revenue figures).
    #[schema(value_type = u64)]
    orders: usize,
    /// Webhook deliveries scrubbed (pending ones are cancelled).
    #[schema(value_type = u64)]
    deliveries: usize,
}

/// `POST /api/v1/customers/erase` `{"email"}`: 200 with what was erased, zeros
/// when nothing matched (so a repeated request is a success too).
#[utoipa::path(
    post,
    path = "/api/v1/customers/erase",
    tag = "customers",
    operation_id = "eraseCustomer",
    summary = "GDPR erasure of one person by email address",
    description = "Erases every cart, order and webhook delivery of the address (any case) in \
        one transaction, like `POST /api/v1/carts/{id}/erase` for each cart; provider error \
        texts and history details that quote it become `erased`. The address stays on the \
        suppression list as a keyed hash only, so it is never emailed again. Idempotent: \
        nothing left to erase answers 200 with zeros.",
    request_body = request::CustomerEraseRequest,
    responses(
        (status = 200, description = "What was erased (zeros when nothing matched)", body = CustomerErased),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `email` missing or not an address", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn erase(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body =
        crate::input::body::read_body(&request, payload, state.limits.max_body_bytes).await?;
    let object = fields::object(&body, false)?;
    let mut problems = Problems::default();
    fields::unknown_fields(&object, &["email"], &mut problems);
    let email = match object.get("email") {
        Some(Value::String(text)) => match EmailAddress::parse(text) {
            Ok(email) => Some(email),
            Err(e) => {
                problems.add("email", e.to_string());
                None
            }
        },
        Some(_) => {
            problems.add("email", "must be a string");
            None
        }
        None => {
            problems.add("email", "is required");
            None
        }
    };
    problems.check()?;
    let Some(email) = email else {
        return Err(ApiError::validation(Vec::new()));
    };
    let tenant_id = caller.tenant.id.clone();
    let address = email.as_str().to_owned();
    let (erased, flushed) = state
        .db(move |conn| -> cartback_store::StoreResult<_> {
            let erased = erase_customer(conn, &tenant_id, &address, Utc::now())?;
            let flushed = flush_erased(conn)?;
            Ok((erased, flushed))
        })
        .await?;
    if !flushed {
        tracing::warn!(
            "the SQLite WAL could not be emptied after an erasure; the next checkpoint that starts it over does"
        );
    }
    // Counts only: the address itself is never logged.
    tracing::info!(
        tenant = %caller.tenant.id,
        carts = erased.carts,
        orders = erased.orders,
        deliveries = erased.deliveries,
        "customer erased"
    );
    Ok(HttpResponse::Ok().json(CustomerErased {
        success: true,
        data: ErasedCounts {
            carts: erased.carts,
            orders: erased.orders,
            deliveries: erased.deliveries,
        },
    }))
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// Whom to erase. Unknown fields are a 422.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct CustomerEraseRequest {
        /// The person's address, matched case-insensitively.
        #[schema(format = Email)]
        pub email: String,
    }
}
