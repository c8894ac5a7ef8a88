//! Reading a JSON object field by field, so one 422 names every problem.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorCode};
use crate::input::Problems;
use crate::input::body::malformed;

/// The body as a JSON object; an empty body counts as `{}` for the routes whose
/// body is optional.
pub(crate) fn object(body: &[u8], optional: bool) -> Result<Map<String, Value>, ApiError> {
    if optional && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body).map_err(|e| malformed(&e))? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::new(
            ErrorCode::BadRequest,
            "the body must be a JSON object",
        )),
    }
}

/// Names every field that is not in `known`.
pub(crate) fn unknown_fields(object: &Map<String, Value>, known: &[&str], problems: &mut Problems) {
    for key in object.keys() {
        if !known.contains(&key.as_str()) {
            let shown: String = key.chars().take(40).collect();
            problems.add(
                shown,
                format!("unknown field; expected one of {}", known.join(", ")),
            );
        }
    }
}

/// A present field: `Some(None)` when it is null.
pub(crate) fn nullable<'a>(
    object: &'a Map<String, Value>,
    name: &str,
) -> Option<Option<&'a Value>> {
    object
        .get(name)
        .map(|v| if v.is_null() { None } else { Some(v) })
}

pub(crate) fn boolean(
    object: &Map<String, Value>,
    name: &str,
    problems: &mut Problems,
) -> Option<bool> {
    match object.get(name)? {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        _ => {
            problems.add(name, "must be true or false");
            None
        }
    }
}

/// A whole number in `range` (absent or null: None).
pub(crate) fn integer(
    object: &Map<String, Value>,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
    problems: &mut Problems,
) -> Option<i64> {
    let value = object.get(name).filter(|v| !v.is_null())?;
    match whole_number(value) {
        Some(n) if range.contains(&n) => Some(n),
        _ => {
            problems.add(
                name,
                format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }
}

pub(crate) use cartback_domain::whole_number;

/// Rewrites every whole number written as a float (`3.0`) into an integer, so
/// a body read into typed fields (`u32`, `u64`) takes what the document's
/// `integer` allows: serde itself refuses `3.0` for an integer field.
/// Fractions stay as they are and are refused by those fields.
pub(crate) fn whole_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(whole) = whole_number(value) {
                *value = Value::from(whole);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// The body read into `T`, whole numbers written as floats counting as
/// integers ([`whole_numbers_as_integers`]).
pub(crate) fn typed<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    let mut value: Value = serde_json::from_slice(body)?;
    whole_numbers_as_integers(&mut value);
    serde_json::from_value(value)
}

/// The highest `page` a list accepts: far beyond any real list, and low enough
/// that `(page - 1) * per_page` cannot overflow the query's offset.
pub(crate) const MAX_PAGE: i64 = 1_000_000;

/// A whole-number query parameter in `range`, or `default` when absent.
pub(crate) fn query_number(
    query: &HashMap<String, String>,
    name: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    problems: &mut Problems,
) -> i64 {
    match query.get(name).map(|v| v.trim().parse::<i64>()) {
        None => default,
        Some(Ok(n)) if range.contains(&n) => n,
        Some(Ok(_)) if *range.end() == i64::MAX => {
            problems.add(name, format!("must be {} or more", range.start()));
            default
        }
        Some(Ok(_)) => {
            problems.add(
                name,
                format!("must be from {} to {}", range.start(), range.end()),
            );
            default
        }
        Some(Err(_)) => {
            problems.add(name, "must be a whole number");
            default
        }
    }
}

/// Names every parameter of `query` that is not in `known` (cut to 40
/// characters) as a problem listing the known ones.
pub(crate) fn unknown_params(
    query: &HashMap<String, String>,
    known: &[&str],
    problems: &mut Problems,
) {
    for key in query.keys() {
        if !known.contains(&key.as_str()) {
            let shown: String = key.chars().take(40).collect();
            problems.add(
                shown,
                format!("unknown parameter; expected one of {}", known.join(", ")),
            );
        }
    }
}

/// The request's query parameters; a string that does not parse is a 422.
pub(crate) fn query_map(query: &str, problems: &mut Problems) -> HashMap<String, String> {
    actix_web::web::Query::<HashMap<String, String>>::from_query(query)
        .map(actix_web::web::Query::into_inner)
        .unwrap_or_else(|_| {
            problems.add("query", "is not a valid query string");
            HashMap::new()
        })
}

/// `YYYY-MM-DD`, exactly: four, two and two digits (chrono alone also takes
/// `2026-3-1`).
pub(crate) fn exact_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}
