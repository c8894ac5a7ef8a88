use crate::error::InvalidValue;

/// A deliverable email address: trimmed, domain lower-cased.
///
/// ```
/// use cartback_domain::EmailAddress;
/// let email = EmailAddress::parse(" Sam@Example.COM ").unwrap();
/// assert_eq!(email.as_str(), "Sam@example.com");
/// assert!(EmailAddress::parse("not-an-email").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

const LOCAL_SPECIALS: &[char] = &[
    ' ', '<', '>', '(', ')', '[', ']', ',', ';', ':', '"', '\\', '@',
];

impl EmailAddress {
    pub fn parse(s: &str) -> Result<EmailAddress, InvalidValue> {
        let s = s.trim();
        if s.chars().any(char::is_control) {
            return Err(InvalidValue::new("must not contain control characters"));
        }
        if s.len() > 254 {
            return Err(InvalidValue::new("must be at most 254 characters"));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(InvalidValue::new("is not an email address (no @)"));
        };
        if local.is_empty() || local.len() > 64 {
            return Err(InvalidValue::new(
                "the part before @ must be 1 to 64 characters",
            ));
        }
        if !local.is_ascii() {
            return Err(InvalidValue::new(
                "non-ASCII addresses are not supported yet",
            ));
        }
        if local.contains(LOCAL_SPECIALS)
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return Err(InvalidValue::new(
                "the part before @ contains characters not allowed there",
            ));
        }
        if !domain.is_ascii() {
            return Err(InvalidValue::new(
                "internationalised domains are not supported yet; use the xn-- form",
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(InvalidValue::new("the domain needs at least one dot"));
        }
        for label in &labels {
            let valid = !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !valid {
                return Err(InvalidValue::new(format!(
                    "the domain label {label:?} is not valid"
                )));
            }
        }
        Ok(EmailAddress(format!(
            "{local}@{}",
            domain.to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

/// A shopper's display name: trimmed, 1 to 200 characters, no control characters
/// (so it can never break an email header).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomerName(String);

impl CustomerName {
    pub fn parse(s: &str) -> Result<CustomerName, InvalidValue> {
        let s = s.trim();
        let count = s.chars().count();
        if count == 0 || count > 200 {
            return Err(InvalidValue::new("must be 1 to 200 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(InvalidValue::new("must not contain control characters"));
        }
        Ok(CustomerName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org", "x_y-z@a-b.io"] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            EmailAddress::parse("a@B.Co").map(|e| e.domain().to_owned()),
            Ok("b.co".to_owned())
        );
    }

    #[test]
    fn rejects_broken_or_dangerous_ones() {
        for bad in [
            "",
            "@b.co",
            "a@",
            "a@b",
            "a b@c.de",
            "a@b..co",
            "a@-b.co",
            "a@b.co\r\nBcc: x@y.z",
            ".a@b.co",
            "a..b@c.de",
            "ä@b.co",
            "a@bü.de",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        assert!(EmailAddress::parse(&format!("{}@b.co", "a".repeat(65))).is_err());
    }

    #[test]
    fn names_cannot_inject_headers() {
        assert!(CustomerName::parse("Sam\r\nBcc: x@y.z").is_err());
        assert!(CustomerName::parse("   ").is_err());
        assert_eq!(
            CustomerName::parse(" Zoë ").map(|n| n.as_str().to_owned()),
            Ok("Zoë".to_owned())
        );
    }
}
