//! Coupons a recovery email may carry: one fixed code, or a code made per email
//! from a pattern.

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

/// The placeholder a generated coupon's pattern holds exactly once.
pub const RANDOM_PLACEHOLDER: &str = "{random}";

/// How a step's coupon code is obtained.
///
/// JSON: `{"kind": "static", "code": "WELCOME10"}` or
/// `{"kind": "generated", "pattern": "SAVE10-{random}"}`.
///
/// Codes use `A-Z`, `0-9`, `-` and `_` only: they survive being typed, read
/// aloud, put in a URL and pasted into any shop's checkout.
///
/// ```
/// use cartback_domain::CouponRule;
/// let rule = CouponRule::Generated { pattern: "SAVE10-{random}".into() };
/// assert!(rule.validate().is_ok());
/// assert_eq!(rule.code_for("x7k2q9"), "SAVE10-X7K2Q9");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum CouponRule {
    /// The same code in every email.
    Static { code: String },
    /// A code per email: `pattern` with its `{random}` replaced by characters
    /// the caller draws.
    Generated { pattern: String },
}

impl CouponRule {
    /// Longest code, static or generated, in characters.
    pub const MAX_CODE_CHARS: usize = 64;
    /// How many random characters [`CouponRule::code_for`] puts in a generated
    /// code, at most.
    pub const RANDOM_CHARS: usize = 8;

    /// A static code is 1 to 64 characters of `A-Z0-9-_`. A pattern holds
    /// `{random}` exactly once, its other characters are `A-Z0-9-_`, and it is
    /// at most 64 characters long (so the code it makes is too). Errors name the
    /// field: `code` or `pattern`.
    ///
    /// ```
    /// use cartback_domain::CouponRule;
    /// assert!(CouponRule::Static { code: "WELCOME10".into() }.validate().is_ok());
    /// let lower = CouponRule::Static { code: "welcome10".into() }.validate().unwrap_err();
    /// assert_eq!(lower.field.as_deref(), Some("code"));
    /// assert!(CouponRule::Generated { pattern: "SAVE10".into() }.validate().is_err());
    /// assert!(CouponRule::Generated { pattern: "{random}-{random}".into() }.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), InvalidValue> {
        match self {
            CouponRule::Static { code } => {
                let count = code.chars().count();
                if count == 0 || count > Self::MAX_CODE_CHARS {
                    return Err(InvalidValue::new(format!(
                        "must be 1 to {} characters, got {count}",
                        Self::MAX_CODE_CHARS
                    ))
                    .at("code"));
                }
                check_code_chars(code).map_err(|e| e.at("code"))
            }
            CouponRule::Generated { pattern } => {
                let placeholders = pattern.matches(RANDOM_PLACEHOLDER).count();
                if placeholders != 1 {
                    return Err(InvalidValue::new(format!(
                        "must contain {RANDOM_PLACEHOLDER} exactly once, found it {placeholders} times"
                    ))
                    .at("pattern"));
                }
                let count = pattern.chars().count();
                if count > Self::MAX_CODE_CHARS {
                    return Err(InvalidValue::new(format!(
                        "must be at most {} characters, got {count}",
                        Self::MAX_CODE_CHARS
                    ))
                    .at("pattern"));
                }
                check_code_chars(&pattern.replacen(RANDOM_PLACEHOLDER, "", 1))
                    .map_err(|e| e.at("pattern"))
            }
        }
    }

    /// The code for one email. A static rule gives its code. A generated rule
    /// replaces `{random}` with the first [`CouponRule::RANDOM_CHARS`] letters
    /// and digits of `random_source`, upper-cased; anything else in it is
    /// skipped, so the code stays within `A-Z0-9-_`. The caller draws
    /// `random_source` (the domain has no random numbers) and makes sure the
    /// shop accepts the code.
    ///
    /// ```
    /// use cartback_domain::CouponRule;
    /// let fixed = CouponRule::Static { code: "WELCOME10".into() };
    /// assert_eq!(fixed.code_for("ignored"), "WELCOME10");
    /// let made = CouponRule::Generated { pattern: "CART_{random}_5".into() };
    /// assert_eq!(made.code_for("ab-cd/ef0123456789"), "CART_ABCDEF01_5");
    /// ```
    pub fn code_for(&self, random_source: &str) -> String {
        match self {
            CouponRule::Static { code } => code.clone(),
            CouponRule::Generated { pattern } => {
                let random: String = random_source
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(Self::RANDOM_CHARS)
                    .map(|c| c.to_ascii_uppercase())
                    .collect();
                pattern.replacen(RANDOM_PLACEHOLDER, &random, 1)
            }
        }
    }
}

fn check_code_chars(text: &str) -> Result<(), InvalidValue> {
    match text
        .chars()
        .find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        None => Ok(()),
        Some(bad) => Err(InvalidValue::new(format!(
            "may only use A-Z, 0-9, '-' and '_', found {bad:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(pattern: &str) -> CouponRule {
        CouponRule::Generated {
            pattern: pattern.to_owned(),
        }
    }

    #[test]
    fn static_codes() {
        let ok = |code: &str| CouponRule::Static { code: code.into() }.validate();
        assert!(ok("A").is_ok());
        assert!(ok("SAVE_10-NOW").is_ok());
        assert!(ok(&"X".repeat(64)).is_ok());
        assert!(ok(&"X".repeat(65)).is_err());
        assert!(ok("").is_err());
        assert!(ok("SAVE 10").is_err());
        assert!(ok("ÉTÉ").is_err());
    }

    #[test]
    fn patterns() {
        assert!(generated("{random}").validate().is_ok());
        assert!(generated("SAVE10-{random}").validate().is_ok());
        assert!(generated("{random}-VIP").validate().is_ok());
        let at_limit = format!("{}{RANDOM_PLACEHOLDER}", "X".repeat(56));
        assert!(generated(&at_limit).validate().is_ok());
        assert!(generated(&format!("X{at_limit}")).validate().is_err());
        assert!(generated("SAVE10-{RANDOM}").validate().is_err());
        assert!(generated("save-{random}").validate().is_err());
        assert!(generated("SAVE-{random").validate().is_err());
        let error = generated("").validate().unwrap_err();
        assert_eq!(error.field.as_deref(), Some("pattern"));
    }

    #[test]
    fn generated_codes_are_valid_codes() {
        let rule = generated(&format!("{}{RANDOM_PLACEHOLDER}", "X".repeat(56)));
        let code = rule.code_for("q1w2e3r4t5y6u7");
        assert_eq!(code.len(), 64);
        assert!(CouponRule::Static { code }.validate().is_ok());
        assert_eq!(generated("A-{random}").code_for("é!"), "A-");
    }

    #[test]
    fn json_shape() {
        let rule: CouponRule =
            serde_json::from_str(r#"{"kind":"generated","pattern":"SAVE-{random}"}"#).unwrap();
        assert_eq!(rule, generated("SAVE-{random}"));
        assert_eq!(
            serde_json::to_string(&CouponRule::Static { code: "X".into() }).unwrap(),
            r#"{"kind":"static","code":"X"}"#
        );
    }
}
