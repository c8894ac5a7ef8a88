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
    /// The template compiled but failed while rendering (a value missing for
    /// some carts, a filter applied to the wrong type, ...).
    Render,
    /// The template names a variable (or a field of one) that no email has.
    UnknownVariable,
    /// The recovery or unsubscribe link is missing (every recovery email must
    /// let the shopper back to the cart and out of the emails).
    MissingLink,
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
/// `{"part":"html","kind":"syntax","line":3,"column":7,"message":"..."}`, and
/// displays as `html line 3, column 7: ...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{part}{}: {message}", where_in_part(*.line, *.column))]
pub struct TemplateError {
    pub part: Part,
    pub kind: ErrorKind,
    /// 1-based line in the template source, when known.
    pub line: Option<u32>,
    /// 1-based column (in characters) on that line, when known.
    #[serde(default)]
    pub column: Option<u32>,
    pub message: String,
}

fn where_in_part(line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" line {line}, column {column}"),
        (Some(line), None) => format!(" line {line}"),
        _ => String::new(),
    }
}

impl TemplateError {
    pub(crate) fn new(part: Part, kind: ErrorKind, message: impl Into<String>) -> TemplateError {
        TemplateError {
            part,
            kind,
            line: None,
            column: None,
            message: message.into(),
        }
    }

    pub(crate) fn at_line(mut self, line: Option<usize>) -> TemplateError {
        self.line = line.and_then(|l| u32::try_from(l).ok()).filter(|l| *l > 0);
        self
    }

    /// At the line and column of byte `offset` of `source`.
    pub(crate) fn at_offset(mut self, source: &str, offset: usize) -> TemplateError {
        let before = source.get(..offset).unwrap_or(source);
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        let line = 1 + before.matches('\n').count();
        let column = 1 + before[line_start..].chars().count();
        self.line = u32::try_from(line).ok();
        self.column = u32::try_from(column).ok();
        self
    }

    pub(crate) fn invalid(part: Part, message: impl Into<String>) -> TemplateError {
        TemplateError::new(part, ErrorKind::Invalid, message)
    }
}

/// Every problem found in a template, in the order of its parts; one 422
/// reports them all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(transparent)]
#[error("{}", .errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct TemplateErrors {
    pub errors: Vec<TemplateError>,
}

impl TemplateErrors {
    /// The problems of one part.
    pub fn of(&self, part: Part) -> impl Iterator<Item = &TemplateError> {
        self.errors.iter().filter(move |e| e.part == part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_part_and_line() {
        let e =
            TemplateError::new(Part::Html, ErrorKind::Syntax, "unexpected end").at_line(Some(3));
        assert_eq!(e.to_string(), "html line 3: unexpected end");
        let e = TemplateError::new(Part::Text, ErrorKind::Syntax, "x").at_offset("ab\ncdé{{", 7);
        assert_eq!((e.line, e.column), (Some(2), Some(4)));
        assert_eq!(e.to_string(), "text line 2, column 4: x");
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
            serde_json::json!({"part": "subject", "kind": "render", "line": 1, "column": null, "message": "boom"})
        );
        let all = TemplateErrors {
            errors: vec![
                e.clone(),
                TemplateError::new(Part::Text, ErrorKind::MissingLink, "no link"),
            ],
        };
        assert_eq!(all.to_string(), "subject line 1: boom; text: no link");
        assert_eq!(all.of(Part::Text).count(), 1);
        assert_eq!(
            serde_json::to_value(&all).unwrap()[1]["kind"],
            "missingLink"
        );
    }
}
