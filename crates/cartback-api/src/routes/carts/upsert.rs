//! `PUT /api/v1/carts`: the cart with the shop's own id, created or updated.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use cartback_store::StoreResult;
use cartback_store::cart_admin::{ExternalOutcome, ExternalUpsert, upsert_external};
use cartback_store::carts::CartUpsert;
use cartback_store::view::CartView;

use super::{attributes_field, json_object};
use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::Problems;
use crate::input::cart::{self, ParsedCart};
use crate::input::raw::RawObject;
use crate::state::AppState;

/// The cart after an upsert by the shop's own id.
#[derive(Serialize, ToSchema)]
pub(crate) struct CartUpserted {
    success: bool,
    /// True the first time (201), false afterwards (200).
    created: bool,
    data: CartView,
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
    request_body = request::CartUpsertRequest,
    responses(
        (status = 200, description = "Updated", body = CartUpserted),
        (status = 201, description = "Created", body = CartUpserted),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: the `sessionId` belongs to another of the shop's carts, or a concurrent change", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn upsert(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (body, object) = json_object(&state, &request, payload, false).await?;
    let raw: RawObject<'_> =
        serde_json::from_slice(&body).map_err(|e| crate::input::body::malformed(&e))?;
    let mut problems = Problems::default();
    // The document's integer: any whole number within i64 (a negative one is
    // text like any other).
    let number = object
        .get("externalId")
        .and_then(crate::input::fields::whole_number);
    let external_id = match object.get("externalId") {
        Some(Value::String(id)) if valid_external_id(id) => Some(id.clone()),
        Some(Value::Number(_)) if number.is_some() => number.map(|n| n.to_string()),
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
    // Accepted so a CART_UPDATE body can be sent as it is; any other event
    // means the caller meant another route.
    match object.get("event") {
        None | Some(Value::Null) => {}
        Some(Value::String(event)) if event == "CART_UPDATE" => {}
        Some(_) => problems.add("event", "must be CART_UPDATE or left out"),
    }
    let wire_attributes = attributes_field(&object, &mut problems);
    let mut cart_problems = Problems::default();
    let cart = cart::parse_cart(
        &raw,
        &mut cart_problems,
        false,
        caller.tenant.default_currency(),
    );
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
            subtotal: _,
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
            subtotal_minor: None,
            currency: currency.code().to_owned(),
            customer_email: email.map(|e| e.as_str().to_owned()),
            customer_name: name.map(|n| n.as_str().to_owned()),
            locale,
            consent,
            now,
            next_action_at: cartback_domain::bounds::shift(now, policy.abandon_delay()),
        },
        external_id,
        merge_attributes: wire_attributes,
        shop: cartback_store::cart_admin::ShopFields::default(),
    };
    let outcome = state.db(move |conn| store_upsert(conn, &upsert)).await??;
    let (cart, created) = match outcome {
        ExternalOutcome::Saved { cart, created } => (cart, created),
        ExternalOutcome::Invalid { field, message } => {
            return Err(ApiError::validation(vec![FieldError { field, message }]));
        }
    };
    let status = if created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(CartUpserted {
        success: true,
        created,
        data: CartView::of(&cart),
    }))
}

/// [`upsert_external`], with what the client must hear about as a 409: the
/// session belongs to another of the shop's carts, or a concurrent upsert of
/// the same new id won.
pub(crate) fn store_upsert(
    conn: &mut cartback_store::DbConn,
    upsert: &ExternalUpsert,
) -> StoreResult<Result<ExternalOutcome, ApiError>> {
    match upsert_external(conn, upsert) {
        Ok(outcome) => Ok(Ok(outcome)),
        Err(cartback_store::StoreError::Rejected(why)) => {
            Ok(Err(ApiError::new(ErrorCode::Conflict, why)))
        }
        Err(e) if e.is_unique_violation() => Ok(Err(ApiError::new(
            ErrorCode::Conflict,
            "another request changed this cart at the same time; try again",
        ))),
        Err(e) => Err(e),
    }
}

pub(super) fn valid_external_id(id: &str) -> bool {
    let count = id.chars().count();
    (1..=200).contains(&count) && !id.chars().any(char::is_control)
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

    use crate::input::documented::{Attribute, StringOrInteger, TrackItem};

    /// `PUT /api/v1/carts`: a CART_UPDATE's fields plus `externalId` and `attributes`.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct CartUpsertRequest {
        /// The shop's id for the cart: 1–200 characters, or an integer.
        pub external_id: StringOrInteger,
        /// A new cart without one gets `ext:{externalId}`.
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub session_id: Option<String>,
        #[schema(max_items = 500)]
        pub items: Vec<TrackItem>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = f64, minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub total: Option<f64>,
        #[schema(schema_with = crate::input::shapes::optional_currency)]
        pub currency: Option<String>,
        #[schema(schema_with = crate::input::shapes::optional_email)]
        pub customer_email: Option<String>,
        /// No control characters; blank means none.
        #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub customer_name: Option<String>,
        /// BCP 47 tag, normalised; `""` means none.
        #[schema(max_length = 35, pattern = "^([A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*)?$")]
        pub locale: Option<String>,
        pub consent: Option<bool>,
        #[schema(schema_with = crate::input::shapes::attributes_input)]
        pub attributes: Option<Vec<Attribute>>,
        /// Accepted so a CART_UPDATE body can be sent as it is; another event is a 422.
        #[schema(inline)]
        pub event: Option<CartUpdateEvent>,
    }

    /// The only `event` `PUT /api/v1/carts` takes.
    #[derive(Serialize, ToSchema)]
    pub enum CartUpdateEvent {
        #[serde(rename = "CART_UPDATE")]
        CartUpdate,
    }
}
