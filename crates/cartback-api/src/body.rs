//! Reading JSON bodies ourselves, so every failure answers in the error envelope:
//! 413 over the limit, 400 for JSON that does not parse.

use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

use crate::error::{ApiError, ErrorCode};

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("request body is larger than {limit} bytes"),
    )
}

/// Collects the body, refusing more than `limit` bytes before reading them all.
pub async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    if let Some(length) = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && length > limit
    {
        return Err(too_large(limit));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                ErrorCode::BadRequest,
                format!("could not read the body: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A 400 that says where the JSON broke.
pub fn malformed(error: &serde_json::Error) -> ApiError {
    ApiError::new(
        ErrorCode::BadRequest,
        format!(
            "malformed JSON at line {} column {}: {}",
            error.line(),
            error.column(),
            error
        ),
    )
}
