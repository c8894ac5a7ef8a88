//! The shopper's language, as storefronts send it.

use crate::error::InvalidValue;

/// A BCP 47 language tag, normalised: `nl_nl` → `nl-NL`, `EN` → `en`,
/// `zh-hant-tw` → `zh-Hant-TW`. A language of 2–3 letters, then subtags of 1–8
/// letters or digits; at most 35 characters.
///
/// ```
/// use cartback_domain::parse_locale;
/// assert_eq!(parse_locale("nl_nl").unwrap(), "nl-NL");
/// assert_eq!(parse_locale("zh-hant-tw").unwrap(), "zh-Hant-TW");
/// assert!(parse_locale("dutch please").is_err());
/// ```
pub fn parse_locale(text: &str) -> Result<String, InvalidValue> {
    let invalid = || InvalidValue::new("must be a BCP 47 language tag such as nl-NL or en");
    let text = text.trim();
    if text.is_empty() || text.len() > 35 {
        return Err(invalid());
    }
    let mut parts = text.split(['-', '_']);
    let language = parts.next().ok_or_else(invalid)?;
    if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(invalid());
    }
    let mut tag = language.to_ascii_lowercase();
    for part in parts {
        if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid());
        }
        tag.push('-');
        let all_letters = part.bytes().all(|b| b.is_ascii_alphabetic());
        match part.len() {
            // Region: DE, NL.
            2 if all_letters => tag.push_str(&part.to_ascii_uppercase()),
            // Script: Hant, Latn.
            4 if all_letters => {
                let mut chars = part.chars();
                if let Some(first) = chars.next() {
                    tag.push(first.to_ascii_uppercase());
                    tag.push_str(&chars.as_str().to_ascii_lowercase());
                }
            }
            _ => tag.push_str(&part.to_ascii_lowercase()),
        }
    }
    Ok(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalised_or_refused() {
        assert_eq!(parse_locale("de").unwrap(), "de");
        assert_eq!(parse_locale("FR-ca").unwrap(), "fr-CA");
        assert_eq!(parse_locale("es-419").unwrap(), "es-419");
        for bad in [
            "",
            "e",
            "english",
            "nl--NL",
            "nl-NL-",
            "n1",
            "nl-toolongsubtag",
            "nl NL",
        ] {
            assert!(parse_locale(bad).is_err(), "{bad:?}");
        }
    }
}
