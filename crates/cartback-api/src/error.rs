//! The error envelope every endpoint answers with: stable codes, a message, and
//! the failing fields. [`ErrorEnvelope`] is both what is serialized and the
//! document's schema; the `…Errors` enums list the answers routes share.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    /// The key is good but its shop is suspended or closed by the operator.
    TenantInactive,
    NotFound,
    MethodNotAllowed,
    Conflict,
    /// An `If-Match` precondition failed: the object changed since the caller read it.
    PreconditionFailed,
    PayloadTooLarge,
    /// The client did not send its request body in time.
    RequestTimeout,
    UnsupportedMediaType,
    ValidationError,
    RateLimited,
    InternalError,
    /// A service we called on the caller's behalf (Stripe) failed or refused.
    UpstreamError,
    ServiceUnavailable,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::TenantInactive => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::ValidationError => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::UpstreamError => StatusCode::BAD_GATEWAY,
            ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// One failing input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<FieldError>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn validation(details: Vec<FieldError>) -> ApiError {
        let message = match details.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", details.len()),
        };
        ApiError {
            code: ErrorCode::ValidationError,
            message,
            details,
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            ErrorCode::Unauthorized,
            "a valid API key is required in X-API-Key or Authorization: Bearer",
        )
    }

    /// 403: the key's shop is suspended or closed.
    pub fn tenant_inactive() -> ApiError {
        ApiError::new(
            ErrorCode::TenantInactive,
            "this shop is suspended or closed; its operator can resume it",
        )
    }

    /// 503: the database cannot be reached for now.
    pub fn unavailable() -> ApiError {
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            "the database is unavailable for now; try again shortly",
        )
    }

    /// Hides the cause from the client (it is logged) and answers 500.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(ErrorCode::InternalError, "internal error")
    }
}

impl From<cartback_store::StoreError> for ApiError {
    fn from(error: cartback_store::StoreError) -> ApiError {
        match error {
            cartback_store::StoreError::NotFound => ApiError::new(ErrorCode::NotFound, "not found"),
            // A restart or failover, not a bug: 503 and Retry-After, so clients
            // (and Stripe) try again shortly.
            error if error.is_unavailable() => {
                tracing::warn!(%error, "database unavailable");
                ApiError::unavailable()
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> ApiError {
        ApiError::internal(error)
    }
}

/// `Retry-After` on a 503: a pool reconnects, and a failover completes, in seconds.
const RETRY_UNAVAILABLE_SECS: u64 = 2;

/// Every error: `success` is false.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    /// Always false.
    pub success: bool,
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// The failing fields, on 422 (left out when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

/// Errors of a route that needs the secret key, as the document lists them.
pub struct SecretKeyErrors;

impl utoipa::IntoResponses for SecretKeyErrors {
    fn responses() -> ResponseMap {
        let mut responses = SecretKeyRefusals::responses();
        responses.extend(ServerErrors::responses());
        responses
    }
}

/// Errors of a route that takes either kind of key.
pub struct AnyKeyErrors;

impl utoipa::IntoResponses for AnyKeyErrors {
    fn responses() -> ResponseMap {
        let mut responses = AnyKeyRefusals::responses();
        responses.extend(ServerErrors::responses());
        responses
    }
}

type ResponseMap =
    std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>>;

#[derive(utoipa::IntoResponses)]
#[expect(
    dead_code,
    reason = "never built: only the responses it documents are used"
)]
enum SecretKeyRefusals {
    #[response(
        status = 401,
        description = "UNAUTHORIZED: no key, or an unknown or revoked one"
    )]
    Unauthorized(ErrorEnvelope),
    #[response(
        status = 403,
        description = "FORBIDDEN: a publishable key; this route needs the secret key. TENANT_INACTIVE: the shop is suspended or closed"
    )]
    Forbidden(ErrorEnvelope),
    #[response(
        status = 429,
        description = "RATE_LIMITED: over the per-key limit, or too many unauthenticated or failed-auth requests from this client IP",
        headers(("Retry-After" = u64, description = "Seconds to wait"))
    )]
    RateLimited(ErrorEnvelope),
}

#[derive(utoipa::IntoResponses)]
#[expect(
    dead_code,
    reason = "never built: only the responses it documents are used"
)]
enum AnyKeyRefusals {
    #[response(
        status = 401,
        description = "UNAUTHORIZED: no key, or an unknown or revoked one"
    )]
    Unauthorized(ErrorEnvelope),
    #[response(
        status = 403,
        description = "TENANT_INACTIVE: the shop is suspended or closed"
    )]
    TenantInactive(ErrorEnvelope),
    #[response(
        status = 429,
        description = "RATE_LIMITED: over the per-IP (publishable key) or per-key (secret key) limit, or too many unauthenticated or failed-auth requests from this client IP",
        headers(("Retry-After" = u64, description = "Seconds to wait"))
    )]
    RateLimited(ErrorEnvelope),
}

/// Failures of any route that needs the database, with or without a key.
#[derive(utoipa::IntoResponses)]
pub enum ServerErrors {
    #[response(
        status = 500,
        description = "INTERNAL_ERROR: an unexpected failure (logged)"
    )]
    Internal(ErrorEnvelope),
    #[response(
        status = 503,
        description = "SERVICE_UNAVAILABLE: the database cannot be reached for now (a restart or failover); nothing was changed unless the answer says so, and the request can be repeated",
        headers(("Retry-After" = u64, description = "Seconds to wait"))
    )]
    Unavailable(ErrorEnvelope),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if self.code == ErrorCode::ServiceUnavailable {
            response.insert_header((actix_web::http::header::RETRY_AFTER, RETRY_UNAVAILABLE_SECS));
        }
        response.json(ErrorEnvelope {
            success: false,
            error: ErrorBody {
                code: self.code,
                message: self.message.clone(),
                details: self.details.clone(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartback_store::StoreError;

    #[test]
    fn a_lost_database_is_503_with_retry_after_not_500() {
        // Which diesel errors count as unavailable is the store's own test.
        for error in [
            StoreError::Unavailable("server closed the connection unexpectedly".into()),
            StoreError::Unavailable("pool timed out".into()),
        ] {
            let api = ApiError::from(error);
            assert_eq!(api.code, ErrorCode::ServiceUnavailable);
            let response = api.error_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            let retry = response
                .headers()
                .get(actix_web::http::header::RETRY_AFTER)
                .expect("Retry-After");
            assert_eq!(retry.to_str().unwrap(), "2");
        }
    }

    #[test]
    fn a_bug_is_still_500_without_retry_after() {
        let api = ApiError::from(StoreError::Corrupt("bad json".into()));
        assert_eq!(api.code, ErrorCode::InternalError);
        let response = api.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            response
                .headers()
                .get(actix_web::http::header::RETRY_AFTER)
                .is_none()
        );
    }
}
