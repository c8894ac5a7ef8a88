use crate::error::InvalidValue;

/// The storefront's identifier for a shopper's cart session.
///
/// ```
/// use cartback_domain::SessionId;
/// assert!(SessionId::parse("sess_42").is_ok());
/// assert!(SessionId::parse("").is_err());
/// assert!(SessionId::parse("line\nbreak").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub const MAX_CHARS: usize = 200;

    /// 1 to 200 characters, none of them a control character. Kept as given.
    pub fn parse(s: &str) -> Result<SessionId, InvalidValue> {
        let count = s.chars().count();
        if count == 0 {
            return Err(InvalidValue::new("must not be empty"));
        }
        if count > Self::MAX_CHARS {
            return Err(InvalidValue::new(format!(
                "must be at most {} characters, got {count}",
                Self::MAX_CHARS
            )));
        }
        if s.chars().any(char::is_control) {
            return Err(InvalidValue::new("must not contain control characters"));
        }
        Ok(SessionId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters() {
        assert!(SessionId::parse(&"é".repeat(200)).is_ok());
        assert!(SessionId::parse(&"é".repeat(201)).is_err());
        assert!(SessionId::parse("a\u{0}b").is_err());
        assert!(SessionId::parse("tab\there").is_err());
    }
}
