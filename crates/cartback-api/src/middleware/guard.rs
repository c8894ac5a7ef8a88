//! Refusals that hold for every route, before any handler runs.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError, web};

use crate::error::{ApiError, ErrorCode, FieldError};

/// A path or query string that decodes to text with U+0000 never reaches a
/// handler: PostgreSQL cannot hold NUL in text, so no id can contain one (404),
/// and a query parameter with one is a 422 naming the parameter. `%00` is the
/// only way to spell NUL in a request target (a raw NUL byte does not parse).
pub(crate) async fn refuse_nul_target(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if let Some(error) = nul_in_target(req.path(), req.query_string()) {
        let response = error.error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn nul_in_target(path: &str, query: &str) -> Option<ApiError> {
    if path.contains("%00") {
        return Some(ApiError::new(
            ErrorCode::NotFound,
            "no such resource: the path contains a NUL character",
        ));
    }
    if !query.contains("%00") {
        return None;
    }
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let mut details: Vec<FieldError> = pairs
        .iter()
        .filter(|(name, value)| name.contains('\0') || value.contains('\0'))
        .take(20)
        .map(|(name, _)| FieldError {
            field: name.replace('\0', "\\u0000").chars().take(60).collect(),
            message: "must not contain a NUL character (U+0000)".into(),
        })
        .collect();
    if details.is_empty() {
        details.push(FieldError {
            field: "query".into(),
            message: "must not contain a NUL character (U+0000)".into(),
        });
    }
    Some(ApiError::validation(details))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_in_a_path_is_not_found_and_in_a_query_is_named() {
        assert!(nul_in_target("/api/v1/carts/abc", "email=a%40b.c").is_none());
        // An encoded percent sign followed by 00 is text, not NUL.
        assert!(nul_in_target("/api/v1/carts/%2500", "q=%2500").is_none());
        let error = nul_in_target("/api/v1/carts/%00", "").unwrap();
        assert_eq!(error.code, ErrorCode::NotFound);
        let error = nul_in_target("/api/v1/carts", "status=active&email=%00x").unwrap();
        assert_eq!(error.code, ErrorCode::ValidationError);
        assert_eq!(error.details[0].field, "email");
    }
}
