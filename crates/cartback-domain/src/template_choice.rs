//! Which email design a recovery step uses.

use crate::error::InvalidValue;

/// The built-in designs, by their JSON names.
pub const BUILTIN_DESIGNS: [&str; 4] = ["minimal", "product_grid", "bold_banner", "text_first"];

/// The prefix that marks a tenant's own template: `custom:<name>`.
pub const CUSTOM_PREFIX: &str = "custom:";

/// A step's template, parsed from its text form: a built-in design name, or
/// `custom:<name>` for one of the tenant's own templates.
///
/// ```
/// use cartback_domain::TemplateChoice;
/// assert_eq!(TemplateChoice::parse("bold_banner"), Ok(TemplateChoice::Builtin("bold_banner")));
/// assert_eq!(TemplateChoice::parse("custom:spring-sale"), Ok(TemplateChoice::Custom("spring-sale")));
/// assert!(TemplateChoice::parse("fancy").is_err());
/// assert!(TemplateChoice::parse("custom:").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateChoice<'a> {
    Builtin(&'a str),
    Custom(&'a str),
}

impl<'a> TemplateChoice<'a> {
    /// Longest custom template name, in characters.
    pub const MAX_CUSTOM_NAME_CHARS: usize = 64;

    /// A custom name is 1 to 64 characters of ASCII letters, digits, `-` and `_`.
    pub fn parse(text: &'a str) -> Result<TemplateChoice<'a>, InvalidValue> {
        if let Some(name) = text.strip_prefix(CUSTOM_PREFIX) {
            let count = name.chars().count();
            if count == 0 || count > Self::MAX_CUSTOM_NAME_CHARS {
                return Err(InvalidValue::new(format!(
                    "a custom template name is 1 to {} characters, got {count}",
                    Self::MAX_CUSTOM_NAME_CHARS
                )));
            }
            if let Some(bad) = name
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            {
                return Err(InvalidValue::new(format!(
                    "a custom template name may only use letters, digits, '-' and '_', found {bad:?}"
                )));
            }
            return Ok(TemplateChoice::Custom(name));
        }
        if BUILTIN_DESIGNS.contains(&text) {
            return Ok(TemplateChoice::Builtin(text));
        }
        let shown: String = text.chars().take(40).collect();
        Err(InvalidValue::new(format!(
            "unknown template {shown:?}; use {}, or custom:<name>",
            BUILTIN_DESIGNS.join(", ")
        )))
    }
}

/// The name a tenant's own template is saved under: 1 to 64 characters of
/// `a-z`, `0-9`, `_` and `-` (lower case, so a name means one template whatever
/// the case it was typed in). A step then uses it as `custom:<name>`.
///
/// ```
/// use cartback_domain::parse_template_name;
/// assert_eq!(parse_template_name("spring-sale_2"), Ok("spring-sale_2"));
/// assert!(parse_template_name("Spring").is_err());
/// assert!(parse_template_name("").is_err());
/// assert!(parse_template_name("../etc").is_err());
/// ```
pub fn parse_template_name(text: &str) -> Result<&str, InvalidValue> {
    let valid = !text.is_empty()
        && text.len() <= TemplateChoice::MAX_CUSTOM_NAME_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(text)
    } else {
        Err(InvalidValue::new("1 to 64 characters of a-z, 0-9, _ and -"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses() {
        for name in BUILTIN_DESIGNS {
            assert_eq!(
                TemplateChoice::parse(name),
                Ok(TemplateChoice::Builtin(name))
            );
        }
    }

    #[test]
    fn custom_names() {
        assert!(TemplateChoice::parse(&format!("custom:{}", "a".repeat(64))).is_ok());
        assert!(TemplateChoice::parse(&format!("custom:{}", "a".repeat(65))).is_err());
        assert!(TemplateChoice::parse("custom:two words").is_err());
        assert!(TemplateChoice::parse("custom:../etc").is_err());
        assert!(TemplateChoice::parse("Minimal").is_err());
        assert!(TemplateChoice::parse("").is_err());
    }
}
