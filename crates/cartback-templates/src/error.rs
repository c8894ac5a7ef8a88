//! The one error type: which part failed, where, and why, shaped for a 422 body.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which input an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Part {
    /// The subject template of a [`CustomTemplate`](crate::CustomTemplate).
    Subject,
    /// The HTML (or MJML) template of a [`CustomTemplate`](crate::CustomTemplate).
    Html,
    /// The plain-text template of a [`CustomTemplate`](crate::CustomTemplate).
    Text,
    /// A field of [`Branding`](crate::Branding).
    Branding,
    /// A field of [`EmailContext`](crate::EmailContext).
    Context,
}

impl Part {
    pub fn as_str(&self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Html => "html",
            Part::Text => "text",
            Part::Branding => "branding",
            Part::Context => "context",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong, in broad classes an API can map to stable codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// The template does not compile.
    Syntax,
    /// The template compiled but failed while rendering (an unknown variable,
    /// a filter applied to the wrong type, ...).
    Render,
    /// The rendered HTML part is not valid MJML.
    Markup,
    /// A size or work limit was reached.
    Limit,
    /// A branding or context value is not acceptable (a bad colour, a URL that
    /// is not http(s), ...).
    Invalid,
}

/// Why an email could not be rendered or a template was rejected.
///
/// Serializes to camelCase JSON that can be returned as is in a 422 body:
/// `{"part":"html","kind":"syntax","line":3,"message":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{part}{}: {message}", .line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct TemplateError {
    pub part: Part,
    pub kind: ErrorKind,
    /// 1-based line in the template source, when known.
    pub line: Option<u32>,
    pub message: String,
}

impl TemplateError {
    pub(crate) fn new(part: Part, kind: ErrorKind, message: impl Into<String>) -> TemplateError {
        TemplateError {
            part,
            kind,
            line: None,
            message: message.into(),
        }
    }

    pub(crate) fn at_line(mut self, line: Option<usize>) -> TemplateError {
        self.line = line.and_then(|l| u32::try_from(l).ok()).filter(|l| *l > 0);
        self
    }

    pub(crate) fn invalid(part: Part, message: impl Into<String>) -> TemplateError {
        TemplateError::new(part, ErrorKind::Invalid, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_part_and_line() {
        let e =
            TemplateError::new(Part::Html, ErrorKind::Syntax, "unexpected end").at_line(Some(3));
        assert_eq!(e.to_string(), "html, line 3: unexpected end");
        let e = TemplateError::invalid(Part::Branding, "brandColor must be #rgb or #rrggbb");
        assert_eq!(
            e.to_string(),
            "branding: brandColor must be #rgb or #rrggbb"
        );
    }

    #[test]
    fn serializes_for_a_422_body() {
        let e = TemplateError::new(Part::Subject, ErrorKind::Render, "boom").at_line(Some(1));
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"part": "subject", "kind": "render", "line": 1, "message": "boom"})
        );
    }
}
