//! A shop's own language ids and the locales they stand for.
//!
//! Systems that scope carts by language name their languages as they like: a
//! locale code (`en`), a number (a store view's id, `1`), a store code
//! (`default`). A shop whose ids are not locale codes tells cartback what
//! each one means, and a cart written under an id gets that locale.

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;
use crate::locale::parse_locale;

/// The most language ids a shop may keep.
pub const MAX_LANGUAGE_IDS: usize = 100;
/// The longest language id.
pub const MAX_LANGUAGE_ID_LEN: usize = 64;

/// One of the shop's language ids and the locale (BCP 47, normalised) it
/// stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageId {
    pub id: String,
    pub locale: String,
}

/// An id as it may appear in a URL's path: 1 to 64 ASCII letters, digits,
/// `-` or `_`.
fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_LANGUAGE_ID_LEN {
        return Err(format!("must be 1 to {MAX_LANGUAGE_ID_LEN} characters"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("may hold only letters, digits, - and _".to_owned());
    }
    Ok(())
}

/// A whole list of `(id, locale)` pairs, checked: each id well formed, each
/// locale a language tag (normalised), at most [`MAX_LANGUAGE_IDS`] entries.
/// Ids are compared exactly, as URL paths are; an id given twice means what
/// its last entry says. The errors name `languages[i].id` or
/// `languages[i].locale`, or `languages` when the list is too long.
///
/// ```
/// use cartback_domain::parse_language_ids;
/// let ids = parse_language_ids(&[("1", "en"), ("2", "nl_nl"), ("1", "en-GB")]).unwrap();
/// assert_eq!((ids[0].id.as_str(), ids[0].locale.as_str()), ("2", "nl-NL"));
/// assert_eq!((ids[1].id.as_str(), ids[1].locale.as_str()), ("1", "en-GB"));
/// let errors = parse_language_ids(&[("1", "en"), ("1 2", "de")]).unwrap_err();
/// assert_eq!(errors[0].field.as_deref(), Some("languages[1].id"));
/// ```
pub fn parse_language_ids<I: AsRef<str>, L: AsRef<str>>(
    pairs: &[(I, L)],
) -> Result<Vec<LanguageId>, Vec<InvalidValue>> {
    if pairs.len() > MAX_LANGUAGE_IDS {
        return Err(vec![
            InvalidValue::new(format!(
                "at most {MAX_LANGUAGE_IDS} languages, got {}",
                pairs.len()
            ))
            .at("languages"),
        ]);
    }
    let mut problems = Vec::new();
    let mut ids: Vec<LanguageId> = Vec::with_capacity(pairs.len());
    for (index, (id, locale)) in pairs.iter().enumerate() {
        let (id, locale) = (id.as_ref(), locale.as_ref());
        let checked_id = check_id(id)
            .map_err(|message| {
                problems.push(InvalidValue::new(message).at(format!("languages[{index}].id")));
            })
            .is_ok();
        let checked_locale = parse_locale(locale)
            .map_err(|invalid| problems.push(invalid.at(format!("languages[{index}].locale"))))
            .ok();
        if let (true, Some(locale)) = (checked_id, checked_locale) {
            ids.retain(|known| known.id != id);
            ids.push(LanguageId {
                id: id.to_owned(),
                locale,
            });
        }
    }
    if problems.is_empty() {
        Ok(ids)
    } else {
        Err(problems)
    }
}

/// The locale `id` stands for among `ids`, when the shop gave it one.
///
/// ```
/// use cartback_domain::{locale_of_language, parse_language_ids};
/// let ids = parse_language_ids(&[("3", "de-DE")]).unwrap();
/// assert_eq!(locale_of_language(&ids, "3"), Some("de-DE"));
/// assert_eq!(locale_of_language(&ids, "4"), None);
/// ```
pub fn locale_of_language<'a>(ids: &'a [LanguageId], id: &str) -> Option<&'a str> {
    ids.iter()
        .find(|known| known.id == id)
        .map(|known| known.locale.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<String> {
        parse_language_ids(pairs)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field.unwrap_or_default())
            .collect()
    }

    #[test]
    fn ids_and_locales_are_checked_entry_by_entry() {
        let ids =
            parse_language_ids(&[("1", "EN"), ("default", "nl_be"), ("de-shop", "de")]).unwrap();
        assert_eq!(
            ids.iter()
                .map(|l| (l.id.as_str(), l.locale.as_str()))
                .collect::<Vec<_>>(),
            [("1", "en"), ("default", "nl-BE"), ("de-shop", "de")]
        );
        assert_eq!(
            fields(&[("", "en"), ("a b", "en"), ("ok", "english"), ("é", "xx-")]),
            [
                "languages[0].id",
                "languages[1].id",
                "languages[2].locale",
                "languages[3].id",
                "languages[3].locale"
            ]
        );
        // An id given twice means what its last entry says.
        let twice = parse_language_ids(&[("7", "en"), ("8", "de"), ("7", "fr")]).unwrap();
        assert_eq!(
            twice
                .iter()
                .map(|l| (l.id.as_str(), l.locale.as_str()))
                .collect::<Vec<_>>(),
            [("8", "de"), ("7", "fr")]
        );
        assert_eq!(fields(&[(&"9".repeat(65), "en")]), ["languages[0].id"]);
        assert!(parse_language_ids(&[(&"9".repeat(64), "en")]).is_ok());
        // Ids are exact: `A` and `a` are two languages.
        assert!(parse_language_ids(&[("A", "en"), ("a", "de")]).is_ok());
        assert!(parse_language_ids::<&str, &str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn the_list_is_bounded() {
        let ids: Vec<(String, &str)> = (0..=MAX_LANGUAGE_IDS)
            .map(|n| (n.to_string(), "en"))
            .collect();
        assert_eq!(
            parse_language_ids(&ids).unwrap_err()[0].field.as_deref(),
            Some("languages")
        );
        assert!(parse_language_ids(&ids[..MAX_LANGUAGE_IDS]).is_ok());
    }
}
