//! Field errors collected over a whole request, so one 422 names every problem.

use crate::error::{ApiError, FieldError};

/// The failing fields of one request, in the order they were found.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub(crate) Vec<FieldError>);

impl Problems {
    pub(crate) fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many were found so far: a reader compares before and after to know
    /// whether its own fields failed.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Ok when nothing was wrong, else the 422 naming each field.
    pub(crate) fn check(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}
