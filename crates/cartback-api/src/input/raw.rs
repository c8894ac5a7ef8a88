//! Reading a JSON object whose fields stay raw, so each is checked on its own
//! and numbers keep their exact text (never an f64): the tracking contracts
//! (`/track`, public capture) and the cart upsert read bodies this way.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::input::Problems;

/// The request as JSON, every field kept raw so each can be checked on its own and
/// numbers keep their exact text (never an f64). Keys are borrowed when they
/// can be and unescaped into their own string when they hold an escape.
pub(crate) type RawObject<'a> = BTreeMap<Cow<'a, str>, &'a RawValue>;

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

/// A whole number as JSON Schema counts one (`12` and `12.0` alike, see
/// [`crate::input::fields::whole_number`]); None for anything else.
pub(crate) fn whole_number(value: &RawValue) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(value.get())
        .ok()
        .as_ref()
        .and_then(crate::input::fields::whole_number)
}

/// An id a client may send as a string or as a whole number (the document's
/// `StringOrInteger`): the string as sent, or the number's decimal digits.
/// None for any other JSON value, and for integers beyond i64 (clients that
/// need larger ids send them as strings: many JSON parsers would round them).
pub(crate) fn id_text(value: &RawValue) -> Option<String> {
    let text = value.get();
    if text.starts_with('"') {
        serde_json::from_str::<String>(text).ok()
    } else {
        whole_number(value).map(|n| n.to_string())
    }
}
