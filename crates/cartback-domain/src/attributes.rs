//! A cart's custom attributes: named, typed values the shop attaches to a cart
//! (where it came from, a loyalty tier, a delivery date) for its own filtering and
//! for templates.
//!
//! On the wire an attribute is `{"name": "tier", "integerValue": 3}`: exactly one
//! of `stringValue`, `integerValue`, `dateValue` (`YYYY-MM-DD`), `datetimeValue`
//! (RFC 3339) or `booleanValue`.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::InvalidValue;

/// At most this many attributes on one cart.
pub const MAX_ATTRIBUTES: usize = 50;
const MAX_NAME_CHARS: usize = 64;
const MAX_STRING_CHARS: usize = 1000;

/// One typed value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum AttributeValue {
    String(String),
    Integer(i64),
    /// `YYYY-MM-DD`.
    Date(String),
    /// RFC 3339, normalised to UTC.
    Datetime(String),
    Boolean(bool),
}

impl AttributeValue {
    /// The wire field this value travels in.
    pub fn field(&self) -> &'static str {
        match self {
            AttributeValue::String(_) => "stringValue",
            AttributeValue::Integer(_) => "integerValue",
            AttributeValue::Date(_) => "dateValue",
            AttributeValue::Datetime(_) => "datetimeValue",
            AttributeValue::Boolean(_) => "booleanValue",
        }
    }

    fn json(&self) -> Value {
        match self {
            AttributeValue::String(s) | AttributeValue::Date(s) | AttributeValue::Datetime(s) => {
                Value::String(s.clone())
            }
            AttributeValue::Integer(i) => Value::from(*i),
            AttributeValue::Boolean(b) => Value::Bool(*b),
        }
    }
}

/// A cart's attributes by name (sorted, so stored JSON is stable).
pub type Attributes = BTreeMap<String, AttributeValue>;

/// Checks an attribute name: 1–64 of letters, digits, `_`, `-`, `.`.
pub fn validate_attribute_name(name: &str) -> Result<(), InvalidValue> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "must be 1 to 64 letters, digits, '_', '-' or '.'",
        ))
    }
}

/// Parses one wire attribute. `Ok((name, None))` means "remove this attribute"
/// (every value field absent or null).
///
/// ```
/// use serde_json::json;
/// use cartback_domain::{AttributeValue, parse_attribute};
/// let (name, value) = parse_attribute(&json!({"name": "tier", "integerValue": 3})).unwrap();
/// assert_eq!((name.as_str(), value), ("tier", Some(AttributeValue::Integer(3))));
/// assert!(parse_attribute(&json!({"name": "d", "dateValue": "2026-02-30"})).is_err());
/// assert!(parse_attribute(&json!({"name": "x", "stringValue": "a", "booleanValue": true})).is_err());
/// ```
pub fn parse_attribute(wire: &Value) -> Result<(String, Option<AttributeValue>), InvalidValue> {
    let Some(object) = wire.as_object() else {
        return Err(InvalidValue::new(
            "must be an object with a name and one value field",
        ));
    };
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| InvalidValue::new("name is required and must be a string"))?;
    validate_attribute_name(name).map_err(|e| InvalidValue::new(format!("name {e}")))?;
    let fields = [
        "stringValue",
        "integerValue",
        "dateValue",
        "datetimeValue",
        "booleanValue",
    ];
    for key in object.keys() {
        if key != "name" && !fields.contains(&key.as_str()) {
            return Err(InvalidValue::new(format!(
                "unknown field {key:?}: use one of {}",
                fields.join(", ")
            )));
        }
    }
    let present: Vec<(&str, &Value)> = fields
        .iter()
        .filter_map(|f| object.get(*f).filter(|v| !v.is_null()).map(|v| (*f, v)))
        .collect();
    let (field, value) = match present.as_slice() {
        [] => return Ok((name.to_owned(), None)),
        [one] => *one,
        _ => return Err(InvalidValue::new("give exactly one value field")),
    };
    let typed = match field {
        "stringValue" => {
            let s = value
                .as_str()
                .ok_or_else(|| InvalidValue::new("stringValue must be a string"))?;
            if s.chars().count() > MAX_STRING_CHARS {
                return Err(InvalidValue::new(
                    "stringValue must be at most 1000 characters",
                ));
            }
            AttributeValue::String(s.to_owned())
        }
        "integerValue" => AttributeValue::Integer(
            whole_number(value)
                .ok_or_else(|| InvalidValue::new("integerValue must be a whole number"))?,
        ),
        "dateValue" => {
            let s = value
                .as_str()
                .ok_or_else(|| InvalidValue::new("dateValue must be a string"))?;
            let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| InvalidValue::new("dateValue must be a date like 2026-03-15"))?;
            // Years outside the stored range (year 0, five digits) would not
            // sort or round-trip as text; the same bounds as every other date.
            if !(crate::bounds::MIN_YEAR..=crate::bounds::MAX_YEAR).contains(&date.year()) {
                return Err(InvalidValue::new(year_range("dateValue")));
            }
            AttributeValue::Date(date.format("%Y-%m-%d").to_string())
        }
        "datetimeValue" => {
            let s = value
                .as_str()
                .ok_or_else(|| InvalidValue::new("datetimeValue must be a string"))?;
            let at = DateTime::parse_from_rfc3339(s).map_err(|_| {
                InvalidValue::new("datetimeValue must be RFC 3339, like 2026-03-15T14:22:00Z")
            })?;
            if !crate::bounds::in_range(at.to_utc()) {
                return Err(InvalidValue::new(year_range("datetimeValue")));
            }
            AttributeValue::Datetime(at.to_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true))
        }
        _ => AttributeValue::Boolean(
            value
                .as_bool()
                .ok_or_else(|| InvalidValue::new("booleanValue must be true or false"))?,
        ),
    };
    Ok((name.to_owned(), Some(typed)))
}

/// A JSON number that is a whole number, as JSON Schema counts integers: `3`
/// and `3.0` alike (the API documents `integer`, and a client serialising
/// through a float sends the latter). Fractions and floats past ±2^53, where a
/// float no longer holds every whole number, are not.
///
/// ```
/// use serde_json::json;
/// use cartback_domain::whole_number;
/// assert_eq!(whole_number(&json!(3.0)), Some(3));
/// assert_eq!(whole_number(&json!(-7)), Some(-7));
/// assert_eq!(whole_number(&json!(2.5)), None);
/// assert_eq!(whole_number(&json!(1e300)), None);
/// ```
pub fn whole_number(value: &Value) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() <= EXACT)
            // Exact: a whole number within ±2^53.
            .map(|f| f as i64)
    })
}

fn year_range(field: &str) -> String {
    format!(
        "{field} must lie in the years {} to {}",
        crate::bounds::MIN_YEAR,
        crate::bounds::MAX_YEAR
    )
}

/// Applies wire attributes to `current`: each sets or (with no value) removes one
/// name. Fails on the first bad entry with its index, or when the result would
/// hold more than [`MAX_ATTRIBUTES`].
pub fn apply_attributes(
    current: &mut Attributes,
    wire: &[Value],
) -> Result<(), (Option<usize>, InvalidValue)> {
    for (at, entry) in wire.iter().enumerate() {
        let (name, value) = parse_attribute(entry).map_err(|e| (Some(at), e))?;
        match value {
            Some(value) => {
                current.insert(name, value);
            }
            None => {
                current.remove(&name);
            }
        }
    }
    if current.len() > MAX_ATTRIBUTES {
        return Err((
            None,
            InvalidValue::new(format!("at most {MAX_ATTRIBUTES} attributes per cart")),
        ));
    }
    Ok(())
}

/// The wire form: `[{"name": …, "<type>Value": …}]`, sorted by name.
pub fn attributes_to_wire(attributes: &Attributes) -> Vec<Value> {
    attributes
        .iter()
        .map(|(name, value)| {
            let mut entry = Map::new();
            entry.insert("name".into(), Value::String(name.clone()));
            entry.insert(value.field().into(), value.json());
            Value::Object(entry)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_outside_the_stored_years_are_refused() {
        for bad in [
            json!({"name": "d", "dateValue": "0000-01-01"}),
            json!({"name": "d", "dateValue": "1969-12-31"}),
            json!({"name": "d", "datetimeValue": "0000-01-01T00:00:00Z"}),
            json!({"name": "d", "datetimeValue": "1969-12-31T23:59:59Z"}),
        ] {
            let error = parse_attribute(&bad).unwrap_err();
            assert!(error.to_string().contains("1970 to 9999"), "{error}");
        }
        assert!(parse_attribute(&json!({"name": "d", "dateValue": "1970-01-01"})).is_ok());
        assert!(
            parse_attribute(&json!({"name": "d", "datetimeValue": "9999-12-31T23:59:59Z"})).is_ok()
        );
    }

    #[test]
    fn each_type_round_trips_through_the_wire_form() {
        let wire = vec![
            json!({"name": "source", "stringValue": "mobile_app"}),
            json!({"name": "tier", "integerValue": -3}),
            json!({"name": "delivery", "dateValue": "2026-03-15"}),
            json!({"name": "seen", "datetimeValue": "2026-03-15T15:22:00+01:00"}),
            json!({"name": "vip", "booleanValue": true}),
        ];
        let mut attributes = Attributes::new();
        apply_attributes(&mut attributes, &wire).unwrap();
        assert_eq!(
            attributes["seen"],
            AttributeValue::Datetime("2026-03-15T14:22:00Z".into())
        );
        let stored = serde_json::to_string(&attributes).unwrap();
        let back: Attributes = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, attributes);
        let out = attributes_to_wire(&back);
        assert_eq!(out.len(), 5);
        assert_eq!(out[4], json!({"name": "vip", "booleanValue": true}));
        // A name without a value removes it.
        apply_attributes(&mut attributes, &[json!({"name": "vip"})]).unwrap();
        assert!(!attributes.contains_key("vip"));
    }

    #[test]
    fn bad_entries_name_their_index_and_problem() {
        let mut attributes = Attributes::new();
        let cases = [
            json!({"name": "x", "integerValue": 1.5}),
            json!({"name": "x", "booleanValue": "yes"}),
            json!({"name": "x y", "stringValue": "a"}),
            json!({"name": "x", "colour": "red"}),
            json!({"name": "x", "datetimeValue": "yesterday"}),
            json!("just text"),
        ];
        for case in cases {
            let wire = vec![json!({"name": "ok", "stringValue": "a"}), case.clone()];
            let (at, _) = apply_attributes(&mut attributes, &wire).unwrap_err();
            assert_eq!(at, Some(1), "{case}");
        }
        let many: Vec<Value> = (0..=MAX_ATTRIBUTES)
            .map(|i| json!({"name": format!("a{i}"), "integerValue": i}))
            .collect();
        let (at, _) = apply_attributes(&mut Attributes::new(), &many).unwrap_err();
        assert_eq!(at, None);
    }
}
