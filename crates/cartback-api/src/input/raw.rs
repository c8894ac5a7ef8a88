//! Reading a JSON object whose fields stay raw, so each is checked on its own
//! and numbers keep their exact text (never an f64): the tracking contracts
//! (`/track`, public capture) and the cart upsert read bodies this way.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::input::Problems;

/// The request as JSON, every field kept raw so each can be checked on its own and
/// numbers keep their exact text (never an f64).
pub(crate) type RawObject<'a> = BTreeMap<&'a str, &'a RawValue>;

pub(crate) fn is_null(value: &RawValue) -> bool {
    value.get() == "null"
}

pub(crate) fn parse_object<'a>(text: &'a RawValue) -> Option<RawObject<'a>> {
    serde_json::from_str::<RawObject<'a>>(text.get()).ok()
}

/// A JSON string field; None when absent or null.
pub(crate) fn optional_string(
    object: &RawObject<'_>,
    field: &str,
    path: &str,
    problems: &mut Problems,
) -> Option<String> {
    let value = object.get(field).filter(|v| !is_null(v))?;
    match serde_json::from_str::<String>(value.get()) {
        Ok(text) => Some(text),
        Err(_) => {
            problems.add(path, "must be a string");
            None
        }
    }
}

pub(crate) fn required_string(
    object: &RawObject<'_>,
    field: &str,
    path: &str,
    problems: &mut Problems,
) -> Option<String> {
    if object.get(field).is_none_or(|v| is_null(v)) {
        problems.add(path, "is required");
        return None;
    }
    optional_string(object, field, path, problems)
}

/// The exact text of a JSON number field; None when absent or null.
pub(crate) fn number_text<'a>(
    object: &RawObject<'a>,
    field: &str,
    path: &str,
    problems: &mut Problems,
) -> Option<&'a str> {
    let value = object.get(field).filter(|v| !is_null(v))?;
    let text = value.get();
    if text.starts_with('"')
        || text.starts_with('{')
        || text.starts_with('[')
        || text == "true"
        || text == "false"
    {
        problems.add(path, "must be a number");
        return None;
    }
    Some(text)
}
