//! Reading JSON bodies ourselves, so every failure answers in the error envelope:
//! 413 over the limit, 400 for JSON that does not parse, 422 for text holding
//! a NUL character.

use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use serde_json::Value;

use crate::error::{ApiError, ErrorCode, FieldError};

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("request body is larger than {limit} bytes"),
    )
}

/// Collects a JSON body, refusing more than `limit` bytes before reading them all,
/// and any string (or key) holding U+0000: PostgreSQL cannot store it in text, so
/// the same rule holds on both backends and is enforced here, where every JSON
/// body enters. A body that does not parse is left to the caller's own 400.
pub async fn read_body(
    request: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    let body = read_raw_body(request, payload, limit).await?;
    refuse_nul(&body)?;
    Ok(body)
}

/// The 422 naming every JSON path whose string holds a NUL character.
pub fn refuse_nul(body: &[u8]) -> Result<(), ApiError> {
    // JSON can only carry NUL escaped (a raw control byte does not parse), so a
    // body without the escape is clean and costs no second parse.
    if !body.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Ok(());
    };
    let mut fields = Vec::new();
    nul_paths(&value, String::new(), &mut fields);
    if fields.is_empty() {
        return Ok(());
    }
    Err(ApiError::validation(
        fields
            .into_iter()
            .map(|field| FieldError {
                field,
                message: "must not contain a NUL character (U+0000)".into(),
            })
            .collect(),
    ))
}

/// At most this many offending paths are named; the rest add nothing.
const MAX_NUL_PATHS: usize = 20;

/// Collects the paths (`items[0].name`, `metadata.key`) of strings and keys with NUL.
fn nul_paths(value: &Value, path: String, found: &mut Vec<String>) {
    if found.len() >= MAX_NUL_PATHS {
        return;
    }
    match value {
        Value::String(text) if text.contains('\0') => found.push(root(path)),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                nul_paths(item, format!("{path}[{index}]"), found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let shown: String = key.replace('\0', "\\u0000").chars().take(60).collect();
                let child = if path.is_empty() {
                    shown
                } else {
                    format!("{path}.{shown}")
                };
                if key.contains('\0') {
                    if found.len() < MAX_NUL_PATHS {
                        found.push(child);
                    }
                } else {
                    nul_paths(item, child, found);
                }
            }
        }
        _ => {}
    }
}

fn root(path: String) -> String {
    if path.is_empty() { "body".into() } else { path }
}

/// A body that is well-formed JSON (400 otherwise), for handlers that read it
/// into a type or field by field afterwards.
pub(crate) async fn json_body(
    state: &crate::state::AppState,
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<web::BytesMut, ApiError> {
    let body = read_body(request, payload, state.limits.max_body_bytes).await?;
    // Every body these routes take is an object: serde would otherwise read a
    // struct from an array (`[null, null]`) and take it for "nothing to change".
    crate::input::fields::object(&body, false)?;
    Ok(body)
}

/// The body as a JSON object (module `fields` reads it); with `optional`, an
/// empty body counts as `{}`.
pub(crate) async fn object_body(
    state: &crate::state::AppState,
    request: &HttpRequest,
    payload: web::Payload,
    optional: bool,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    let body = read_body(request, payload, state.limits.max_body_bytes).await?;
    crate::input::fields::object(&body, optional)
}

/// Collects the body as it came (no text checks: the Stripe intake verifies
/// the signature over these bytes and decides itself).
pub async fn read_raw_body(
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
    let timeout = request
        .app_data::<web::Data<crate::state::AppState>>()
        .map_or(std::time::Duration::from_secs(5), |state| {
            state.limits.body_read_timeout
        });
    let read = async move {
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
    };
    // The whole body within the deadline: a client that stalls mid-upload gets
    // a 408 and its connection back to the pool, not a worker held for ever.
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::new(
                ErrorCode::RequestTimeout,
                format!(
                    "the request body did not arrive within {} ms",
                    timeout.as_millis()
                ),
            ))
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(body: &str) -> Vec<String> {
        match refuse_nul(body.as_bytes()) {
            Ok(()) => Vec::new(),
            Err(error) => error.details.into_iter().map(|d| d.field).collect(),
        }
    }

    #[test]
    fn nul_anywhere_is_named_by_its_path() {
        assert!(fields(r#"{"a": "fine", "b": [1, "x"]}"#).is_empty());
        // An escaped backslash before u0000 is text, not NUL.
        assert!(fields(r#"{"a": "\\u0000"}"#).is_empty());
        assert_eq!(fields(r#"{"a": "x\u0000"}"#), ["a"]);
        assert_eq!(
            fields(r#"{"items": [{"id": "ok"}, {"id": "\u0000"}], "m": {"k": "\u0000"}}"#),
            ["items[1].id", "m.k"]
        );
        assert_eq!(fields(r#"{"m": {"k\u0000": 1}}"#), ["m.k\\u0000"]);
        assert_eq!(fields(r#""\u0000""#), ["body"]);
        // Not JSON: the caller's own 400.
        assert!(fields("{\"a\": \"\\u0000").is_empty());
    }
}
