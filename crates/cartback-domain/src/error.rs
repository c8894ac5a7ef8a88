//! The one error of the domain: a value that cannot be accepted, and where it is.

use std::fmt;

/// A value a client sent that cannot be accepted, with the path of the field
/// it came from when the domain knows it (`steps[1].delayMs`), so the API can
/// answer 422 naming that field.
///
/// ```
/// use cartback_domain::InvalidValue;
/// let error = InvalidValue::new("must be at least 1 ms").at("delayMs").within("steps[1]");
/// assert_eq!(error.field.as_deref(), Some("steps[1].delayMs"));
/// assert_eq!(error.to_string(), "steps[1].delayMs: must be at least 1 ms");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InvalidValue {
    pub message: String,
    /// JSON path of the failing field (camelCase names, `[i]` for list items);
    /// None when the value is not part of a larger document.
    pub field: Option<String>,
}

impl InvalidValue {
    pub fn new(message: impl Into<String>) -> Self {
        InvalidValue {
            message: message.into(),
            field: None,
        }
    }

    /// The same error, located at `field` (replacing any location it had).
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The same error, its location nested under `parent`: `delayMs` within
    /// `steps[1]` becomes `steps[1].delayMs`; no location becomes `parent`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = Some(match self.field.take() {
            None => parent.to_owned(),
            Some(child) if child.starts_with('[') => format!("{parent}{child}"),
            Some(child) => format!("{parent}.{child}"),
        });
        self
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}
