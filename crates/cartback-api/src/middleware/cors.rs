//! Browser access per tenant. A storefront's browser may capture carts with the
//! tenant's publishable key only from the origins the tenant listed
//! (`GET/PUT /api/v1/settings/allowed-origins`); an empty list allows no browser.
//!
//! On the browser routes (public capture, and tracking with a publishable key) a
//! request with an `Origin` header from a listed origin is answered with that
//! origin in `Access-Control-Allow-Origin`; from any other origin it is refused
//! with 403 before its body is read. Requests without `Origin` (servers, curl)
//! are not browser requests and are not checked. Preflights carry no key, so they
//! cannot be tied to a tenant: they are answered for any origin, and the rule is
//! enforced on the request that follows. Merchant routes never send CORS headers.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use cartback_store::origins::{get_allowed_origins, parse_origins, set_allowed_origins};
use cartback_store::tenants::Tenant;

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::body::json_body;
use crate::state::AppState;

pub(crate) use cartback_domain::normalize_origin;
use cartback_domain::parse_origins_list;

/// The origin a browser request was allowed from, left on the request for the
/// response layer to echo (on errors as well, so the page can read them).
#[derive(Debug, Clone)]
pub(crate) struct AllowedOrigin(pub(crate) HeaderValue);

/// Refuses a browser request whose `Origin` the tenant did not list; remembers
/// an allowed one for the answer. Requests without `Origin` pass.
pub(crate) fn enforce_origin(request: &HttpRequest, tenant: &Tenant) -> Result<(), ApiError> {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let allowed = origin.to_str().ok().is_some_and(|origin| {
        parse_origins(&tenant.allowed_origins)
            .iter()
            .any(|listed| listed.eq_ignore_ascii_case(origin))
    });
    if !allowed {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "this origin may not capture carts for the shop: add it with PUT /api/v1/settings/allowed-origins",
        ));
    }
    request
        .extensions_mut()
        .insert(AllowedOrigin(origin.clone()));
    Ok(())
}

/// The answer to a CORS preflight.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 204,
    description = "Allowed methods and headers; the request's `Origin` is echoed",
    headers(
        ("Access-Control-Allow-Origin" = String, description = "The request's Origin, when it sent one"),
        ("Access-Control-Allow-Methods" = String, description = "`POST, OPTIONS`"),
        ("Access-Control-Allow-Headers" = String, description = "`content-type, x-api-key, authorization`"),
        ("Access-Control-Max-Age" = String, description = "`600`"),
    )
)]
pub(crate) struct PreflightAnswer;

/// `OPTIONS` on the browser routes.
#[utoipa::path(
    options,
    path = "/api/v1/track",
    tag = "tracking",
    operation_id = "trackPreflight",
    summary = "CORS preflight of the tracking route",
    description = "Answered for any origin (a preflight carries no key); the tenant's allowed \
        origins are enforced on the request that follows.",
    responses(PreflightAnswer),
    // Open to anyone: no key.
    security()
)]
pub async fn preflight(request: HttpRequest) -> HttpResponse {
    let mut response = HttpResponse::NoContent();
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        response.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()));
    }
    response
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "content-type, x-api-key, authorization",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
        .insert_header((header::VARY, "Origin"))
        .finish()
}

/// The route table serves [`preflight`] at two paths; utoipa gives a handler
/// one, so the capture route's is described by this stand-in.
#[utoipa::path(
    options,
    path = "/api/v1/public/abandoned-carts",
    tag = "browser capture",
    operation_id = "capturePreflight",
    summary = "CORS preflight of the public capture route",
    description = "Answered for any origin (a preflight carries no key); the tenant's allowed \
        origins are enforced on the request that follows.",
    responses(PreflightAnswer),
    // Open to anyone: no key.
    security()
)]
#[expect(dead_code, reason = "documents the second path of `preflight`")]
pub(crate) fn capture_preflight() {}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AllowedOrigins)]
pub(crate) struct OriginsAnswer {
    success: bool,
    allowed_origins: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OriginsUpdate {
    allowed_origins: Vec<String>,
}

/// `GET /api/v1/settings/allowed-origins`.
#[utoipa::path(
    get,
    path = "/api/v1/settings/allowed-origins",
    tag = "browser capture",
    operation_id = "getAllowedOrigins",
    summary = "The origins whose pages may capture carts with the publishable key",
    responses(
        (status = 200, description = "The list (empty: no browser)", body = OriginsAnswer),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn get_origins(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    // Read afresh: the caller's tenant may be a few seconds old (auth cache).
    let origins = state
        .db(move |conn| get_allowed_origins(conn, &caller.tenant.id))
        .await?;
    Ok(HttpResponse::Ok().json(OriginsAnswer {
        success: true,
        allowed_origins: origins,
    }))
}

/// `PUT /api/v1/settings/allowed-origins`: replaces the list.
#[utoipa::path(
    put,
    path = "/api/v1/settings/allowed-origins",
    tag = "browser capture",
    operation_id = "putAllowedOrigins",
    summary = "Replace the allowed origins",
    request_body = request::AllowedOriginsUpdate,
    responses(
        (status = 200, description = "The list as stored (normalised, without duplicates)", body = OriginsAnswer),
        (status = 400, description = "BAD_REQUEST: the body is not JSON", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: an entry that is not an origin (`allowedOrigins[2]`), or more than 50", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn put_origins(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&state, &request, payload).await?;
    let update: OriginsUpdate = serde_json::from_slice(&body).map_err(|e| {
        ApiError::validation(vec![FieldError {
            field: "allowedOrigins".into(),
            message: format!("expected {{\"allowedOrigins\": [\"https://shop.example\"]}}: {e}"),
        }])
    })?;
    let origins = parse_origins_list(&update.allowed_origins).map_err(|problems| {
        ApiError::validation(
            problems
                .into_iter()
                .map(|p| FieldError {
                    field: p.field.unwrap_or_default(),
                    message: p.message,
                })
                .collect(),
        )
    })?;
    let saved = origins.clone();
    state
        .db(move |conn| {
            set_allowed_origins(conn, &caller.tenant.id, &saved, Utc::now().naive_utc())
        })
        .await?;
    Ok(HttpResponse::Ok().json(OriginsAnswer {
        success: true,
        allowed_origins: origins,
    }))
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::ToSchema;

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct AllowedOriginsUpdate {
        /// Origins such as `https://shop.example` or `http://localhost:3000`
        /// (scheme, host and port; no path); at most 50.
        #[schema(schema_with = crate::input::shapes::origins)]
        pub allowed_origins: Vec<String>,
    }
}
